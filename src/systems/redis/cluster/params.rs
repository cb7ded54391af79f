//! Parameters of `redis/cluster`, under the names `redis.conf` uses, and the
//! client library's own.

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "cluster-node-timeout",
        kind: ParamKind::Int {
            min: 10,
            max: 3_600_000,
        },
        default: ParamDefault::Int(15_000),
        unit: "ms",
        doc: "A node not answering a PING for this long is PFAIL; failure reports are valid for \
              2 x this; the replica election times out after max(2 x this, 2000) (redis.conf, \
              config.c default 15000; cluster_legacy.c clusterCron).",
    },
    ParamSpec {
        name: "cluster-replica-validity-factor",
        kind: ParamKind::Int { min: 0, max: 1000 },
        default: ParamDefault::Int(10),
        unit: "count",
        doc: "A replica whose data is older than repl-ping-replica-period + this x \
              cluster-node-timeout (after subtracting one node timeout) does not try to fail \
              over; 0 = always try (config.c default 10; cluster_legacy.c \
              clusterHandleSlaveFailover).",
    },
    ParamSpec {
        name: "cluster-replica-no-failover",
        kind: ParamKind::Enum(&["yes", "no"]),
        default: ParamDefault::Enum("no"),
        unit: "",
        doc: "A replica with this set never starts a failover (alias cluster-slave-no-failover; \
              config.c default no).",
    },
    ParamSpec {
        name: "cluster-require-full-coverage",
        kind: ParamKind::Enum(&["yes", "no"]),
        default: ParamDefault::Enum("yes"),
        unit: "",
        doc: "With yes, a node whose view has a slot range served by a FAIL master stops \
              serving every key (-CLUSTERDOWN) until the range is covered again (config.c \
              default yes; cluster_legacy.c clusterUpdateState).",
    },
    ParamSpec {
        name: "repl-ping-replica-period",
        kind: ParamKind::Int { min: 1, max: 3600 },
        default: ParamDefault::Int(10),
        unit: "s",
        doc: "A master PINGs its replicas on the replication stream this often; it bounds a \
              replica's data age in the validity check (config.c default 10).",
    },
    ParamSpec {
        name: "client-timeout",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(1000),
        unit: "ms",
        doc: "The client library's socket timeout per command. redis-py's RedisCluster and \
              Jedis have no common default (none, 2000 ms); 1000 is the model's choice, as \
              for redis/sentinel.",
    },
    ParamSpec {
        name: "client-retry-interval",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(250),
        unit: "ms",
        doc: "How long the client waits after a timeout, a closed connection or -CLUSTERDOWN \
              before it refreshes its slot map with CLUSTER SLOTS (redis-py sleeps 0.25 s \
              before retrying on a cluster error: cluster.py).",
    },
];

/// Slots of Redis Cluster (cluster.h CLUSTER_SLOTS).
pub const SLOTS: u32 = 16_384;

/// The values the model reads, in engine units.
#[derive(Clone, Debug)]
pub struct RcParams {
    pub node_timeout: SimDuration,
    pub validity_factor: u64,
    pub no_failover: bool,
    pub full_coverage: bool,
    pub repl_ping_period: SimDuration,
    pub client_timeout: SimDuration,
    pub client_retry_interval: SimDuration,
}

impl RcParams {
    pub fn from_params(p: &Params) -> Self {
        let ms = |n: &str| SimDuration::from_ms(p.get_u64(n));
        RcParams {
            node_timeout: ms("cluster-node-timeout"),
            validity_factor: p.get_u64("cluster-replica-validity-factor"),
            no_failover: p.get_enum("cluster-replica-no-failover") == "yes",
            full_coverage: p.get_enum("cluster-require-full-coverage") == "yes",
            repl_ping_period: SimDuration::from_ms(p.get_u64("repl-ping-replica-period") * 1000),
            client_timeout: ms("client-timeout"),
            client_retry_interval: ms("client-retry-interval"),
        }
    }

    /// How long a failure report stays valid (CLUSTER_FAIL_REPORT_VALIDITY_MULT = 2).
    pub fn report_validity(&self) -> SimDuration {
        self.node_timeout.saturating_mul(2)
    }

    /// A replica's election times out after max(2 x node timeout, 2000 ms).
    pub fn auth_timeout(&self) -> SimDuration {
        self.node_timeout
            .saturating_mul(2)
            .max(SimDuration::from_ms(2000))
    }

    /// A new election may start twice the election timeout after the last.
    pub fn auth_retry(&self) -> SimDuration {
        self.auth_timeout().saturating_mul(2)
    }
}
