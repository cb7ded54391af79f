//! Apache ZooKeeper: FastLeaderElection and Zab (`zookeeper/fle`), and
//! sessions, ephemeral znodes and watches on the same ensemble model
//! (`zookeeper/ephemeral`). `PROTOCOLS.md` §1 holds the rules these models
//! follow. Other models use the ensemble through `fle::app` (the client API).

pub mod ephemeral;
pub mod fle;
