//! Apache RocketMQ: NameServers that hold soft-state routes and never talk to
//! each other, and broker groups whose commit log is DLedger (Raft).

pub mod dledger;
pub mod nameserver;
