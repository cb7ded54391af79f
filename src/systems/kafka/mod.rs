//! Apache Kafka: the controller, in ZooKeeper mode (`controller_zk`, on the
//! `zookeeper/fle` ensemble through its client API) and in KRaft
//! (`controller_kraft`, on the shared Raft core).

pub mod controller_kraft;
pub mod controller_zk;
