//! Apache Kafka: the controller, in ZooKeeper mode (`controller_zk`, on the
//! `zookeeper/fle` ensemble through its client API) and in KRaft
//! (`controller_kraft`, on the shared Raft core); the controller's
//! partition-leader election algorithms as pure functions (`elect`); the
//! classic consumer-group coordinator (`group_leader`); partition leaders,
//! ISR replication and producer acks (`partition_leader`).

pub mod controller_kraft;
pub mod controller_zk;
pub mod elect;
pub mod group_leader;
pub mod partition_leader;
