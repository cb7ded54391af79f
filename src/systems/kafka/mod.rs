//! Apache Kafka: the consumer-group coordinator's leader choice
//! (`kafka/group-leader`) and the controller's partition-leader election
//! algorithms as pure functions (`elect`).

pub mod elect;
pub mod group_leader;
