//! Netflix Eureka: a registry of peer servers that replicate to each other,
//! with no election.

pub mod peer_replication;
