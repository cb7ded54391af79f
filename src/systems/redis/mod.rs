//! Redis: Sentinel-driven failover of a replicated master.

pub mod sentinel;
