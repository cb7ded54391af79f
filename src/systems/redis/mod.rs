//! Redis: Sentinel-driven failover of a replicated master, and Redis
//! Cluster's own failover of a shard.

pub mod cluster;
pub mod sentinel;
