//! Kafka: the controller (KRaft quorum; ZooKeeper mode elsewhere).

pub mod controller_kraft;
