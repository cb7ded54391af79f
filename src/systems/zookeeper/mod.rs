//! Apache ZooKeeper: FastLeaderElection and Zab (`zookeeper/fle`).
//! `PROTOCOLS.md` §1 holds the rules these models follow.

pub mod fle;
