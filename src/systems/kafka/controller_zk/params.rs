//! The Kafka-side parameters of `kafka/controller-zk`, under Kafka's own
//! names (the ensemble's own parameters are `zookeeper/fle`'s).

use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub(super) const KAFKA_SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "zookeeper.session.timeout.ms",
        kind: ParamKind::Int {
            min: 1,
            max: 3_600_000,
        },
        default: ParamDefault::Int(18_000),
        unit: "ms",
        doc: "Session timeout each broker asks ZooKeeper for (ZkConfigs.java \
              ZK_SESSION_TIMEOUT_MS, 18000 since 2.5.0, KIP-537); the server clamps it to \
              [2, 20] x tickTime.",
    },
    ParamSpec {
        name: "zookeeper.max.in.flight.requests",
        kind: ParamKind::Int {
            min: 1,
            max: 1_000_000,
        },
        default: ParamDefault::Int(10),
        unit: "count",
        doc: "Unacknowledged ZooKeeper requests a broker's client sends before blocking \
              (ZkConfigs.java ZK_MAX_IN_FLIGHT_REQUESTS; ZooKeeperClient.scala handleRequests); \
              divides the round trips of every bulk controller step.",
    },
    ParamSpec {
        name: "partitions",
        kind: ParamKind::Int {
            min: 0,
            max: 100_000_000,
        },
        default: ParamDefault::Int(1000),
        unit: "count",
        doc: "Partitions in the cluster (all topics). Not a broker config: the model's \
              cluster size; 1000 is the model's choice.",
    },
    ParamSpec {
        name: "default.replication.factor",
        kind: ParamKind::Int { min: 1, max: 255 },
        default: ParamDefault::Int(1),
        unit: "count",
        doc: "Replicas of every partition, assigned round-robin over the brokers \
              (ReplicationConfigs.java DEFAULT_REPLICATION_FACTOR, default 1; the shipped \
              workloads use 3). Capped at the broker count.",
    },
];

/// The Kafka-side parameters, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaParams {
    pub session_timeout_ms: u64,
    pub max_in_flight: u64,
    pub partitions: u64,
    pub replication_factor: u32,
}

impl KafkaParams {
    pub fn from_params(p: &Params) -> Self {
        KafkaParams {
            session_timeout_ms: p.get_u64("zookeeper.session.timeout.ms"),
            max_in_flight: p.get_u64("zookeeper.max.in.flight.requests"),
            partitions: p.get_u64("partitions"),
            replication_factor: u32::try_from(p.get_u64("default.replication.factor"))
                .expect("spec caps it at 255"),
        }
    }
}

impl Default for KafkaParams {
    fn default() -> Self {
        KafkaParams {
            session_timeout_ms: 18_000,
            max_in_flight: 10,
            partitions: 1000,
            replication_factor: 1,
        }
    }
}
