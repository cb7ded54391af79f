//! Apache RocketMQ: NameServers that hold soft-state routes and never talk to
//! each other.

pub mod nameserver;
