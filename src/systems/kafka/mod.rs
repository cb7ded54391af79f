//! Apache Kafka's election paths.

pub mod controller_zk;
