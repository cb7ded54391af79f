//! The parameters of `kafka/controller-zk`: the ensemble's own
//! (`zookeeper/fle`'s, under ZooKeeper's names, but for the client's
//! `sessionTimeout`: the brokers ask for `zookeeper.session.timeout.ms`),
//! then the brokers', under Kafka's names.

use crate::systems::zookeeper::fle::{self, ZkParams};
use crate::systems::{ParamDefault, ParamKind, ParamSpec, ParamValue, Params};

/// The ensemble's parameter that Kafka's own replaces.
const REPLACED: &str = "sessionTimeout";

const ZK_SPECS: &[ParamSpec] = fle::PATH.params;

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A copy of `s` (`ParamSpec` is not `Copy`; its fields are).
const fn copy(s: &ParamSpec) -> ParamSpec {
    ParamSpec {
        name: s.name,
        kind: match s.kind {
            ParamKind::Int { min, max } => ParamKind::Int { min, max },
            ParamKind::Float { min, max } => ParamKind::Float { min, max },
            ParamKind::Bool => ParamKind::Bool,
            ParamKind::Enum(w) => ParamKind::Enum(w),
            ParamKind::PerNode { group, min, max } => ParamKind::PerNode { group, min, max },
        },
        default: match s.default {
            ParamDefault::Int(v) => ParamDefault::Int(v),
            ParamDefault::Float(v) => ParamDefault::Float(v),
            ParamDefault::Bool(v) => ParamDefault::Bool(v),
            ParamDefault::Enum(v) => ParamDefault::Enum(v),
            ParamDefault::Each(v) => ParamDefault::Each(v),
        },
        unit: s.unit,
        doc: s.doc,
    }
}

const N: usize = ZK_SPECS.len() - 1 + KAFKA_SPECS.len();

/// The ensemble's specs but [`REPLACED`], then Kafka's.
const fn all() -> [ParamSpec; N] {
    let mut out = [const { copy(&KAFKA_SPECS[0]) }; N];
    let (mut i, mut o) = (0, 0);
    while i < ZK_SPECS.len() {
        if !same(ZK_SPECS[i].name, REPLACED) {
            out[o] = copy(&ZK_SPECS[i]);
            o += 1;
        }
        i += 1;
    }
    let mut k = 0;
    while k < KAFKA_SPECS.len() {
        out[o] = copy(&KAFKA_SPECS[k]);
        o += 1;
        k += 1;
    }
    assert!(o == N, "exactly one ensemble parameter is replaced");
    out
}

/// Every parameter of the path.
pub(super) static SPECS: [ParamSpec; N] = all();

/// The ensemble's typed parameters from this path's: `zookeeper/fle`'s
/// values, with the brokers' `zookeeper.session.timeout.ms` as the
/// session timeout clients ask for.
pub fn zk_params(p: &Params, servers: usize) -> ZkParams {
    let path = crate::systems::find(fle::PATH.path).expect("zookeeper/fle is registered");
    let mut zp = path.default_params(&[servers]);
    for (name, v) in p.iter() {
        if path.param(name).is_some() {
            zp.set_value(name, v, &[servers])
                .expect("the same spec accepted it");
        }
    }
    let session = p.get_u64("zookeeper.session.timeout.ms") as i64;
    zp.set_value(REPLACED, &ParamValue::Int(session), &[servers])
        .expect("zookeeper.session.timeout.ms has sessionTimeout's range");
    ZkParams::from_params(&zp)
}

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
