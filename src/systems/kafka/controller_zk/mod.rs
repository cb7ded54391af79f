//! `kafka/controller-zk`: Kafka's ZooKeeper-mode controller election and
//! failover (work in progress: the pure broker rules, the cost model and the
//! checker; the path runs against the modelled ensemble once the ZooKeeper
//! client API is merged).

pub mod broker;
pub mod checker;
pub mod cost;
pub mod msg;
pub mod params;
pub mod zk;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use broker::Broker;
pub use checker::KafkaChecker;
pub use params::KafkaParams;
