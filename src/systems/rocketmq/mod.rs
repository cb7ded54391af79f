//! Apache RocketMQ: NameServers that hold soft-state routes and never talk to
//! each other, and the controller mode's SyncStateSet failover.

pub mod controller;
pub mod nameserver;
