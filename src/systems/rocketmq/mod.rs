//! Apache RocketMQ: NameServers that hold soft-state routes and never talk to
//! each other, broker groups whose commit log is DLedger (Raft), and the
//! controller mode's SyncStateSet failover.

pub mod controller;
pub mod dledger;
pub mod nameserver;
