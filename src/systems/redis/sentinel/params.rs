//! Parameters of `redis/sentinel`, under the names `sentinel.conf`,
//! `redis.conf` and the `WAIT` command use.

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "quorum",
        kind: ParamKind::Int { min: 1, max: 15 },
        default: ParamDefault::Int(2),
        unit: "count",
        doc: "The <quorum> of `sentinel monitor <name> <ip> <port> <quorum>`: Sentinels that must \
              agree the master is down for ODOWN, and the least votes a leader needs. Sentinel \
              has no default (the line is required); 2 is the example in sentinel.conf.",
    },
    ParamSpec {
        name: "down-after-milliseconds",
        kind: ParamKind::Int {
            min: 1,
            max: 3_600_000,
        },
        default: ParamDefault::Int(30_000),
        unit: "ms",
        doc: "Time without a valid PING reply before a Sentinel marks an instance SDOWN \
              (sentinel.c SENTINEL_DEFAULT_DOWN_AFTER, sentinel.conf). The PING period is \
              min(this, 1000).",
    },
    ParamSpec {
        name: "failover-timeout",
        kind: ParamKind::Int {
            min: 1,
            max: 86_400_000,
        },
        default: ParamDefault::Int(180_000),
        unit: "ms",
        doc: "Bounds each failover step (promotion, reconfiguration); a Sentinel retries a \
              failover of the same master only 2 x this after its last attempt; the election \
              timeout is min(10000, this) (sentinel.c SENTINEL_DEFAULT_FAILOVER_TIMEOUT).",
    },
    ParamSpec {
        name: "parallel-syncs",
        kind: ParamKind::Int { min: 1, max: 64 },
        default: ParamDefault::Int(1),
        unit: "count",
        doc: "Replicas reconfigured to the promoted master at the same time \
              (sentinel.c SENTINEL_DEFAULT_PARALLEL_SYNCS).",
    },
    ParamSpec {
        name: "replica-priority",
        kind: ParamKind::PerNode {
            group: "redis",
            min: 0,
            max: 1_000_000,
        },
        default: ParamDefault::Each(100),
        unit: "",
        doc: "Per Redis instance: lower is preferred for promotion, 0 = never promoted \
              (redis.conf, config.c default 100). The first instance starts as master.",
    },
    ParamSpec {
        name: "repl-backlog-size",
        kind: ParamKind::Int {
            min: 16_384,
            max: 1_073_741_824,
        },
        default: ParamDefault::Int(1_048_576),
        unit: "bytes",
        doc: "Replication backlog a master keeps for partial resynchronisation (config.c, \
              1mb). The model sizes every SET at 64 bytes of stream.",
    },
    ParamSpec {
        name: "repl-diskless-sync-delay",
        kind: ParamKind::Int { min: 0, max: 600 },
        default: ParamDefault::Int(5),
        unit: "s",
        doc: "Seconds a master waits before it starts a full (diskless) resynchronisation, to \
              serve more replicas with one transfer (config.c; diskless sync is the 7.0 \
              default).",
    },
    ParamSpec {
        name: "repl-timeout",
        kind: ParamKind::Int { min: 1, max: 3600 },
        default: ParamDefault::Int(60),
        unit: "s",
        doc: "Seconds without traffic after which a replica drops its master link, and a \
              master a silent replica (config.c).",
    },
    ParamSpec {
        name: "repl-ping-replica-period",
        kind: ParamKind::Int { min: 1, max: 3600 },
        default: ParamDefault::Int(10),
        unit: "s",
        doc: "Seconds between the pings a master sends down the replication stream \
              (config.c).",
    },
    ParamSpec {
        name: "min-replicas-to-write",
        kind: ParamKind::Int { min: 0, max: 64 },
        default: ParamDefault::Int(0),
        unit: "count",
        doc: "A master refuses writes (-NOREPLICAS) unless this many replicas acked within \
              min-replicas-max-lag; 0 disables the check (config.c, replication.c \
              refreshGoodSlavesCount).",
    },
    ParamSpec {
        name: "min-replicas-max-lag",
        kind: ParamKind::Int { min: 1, max: 3600 },
        default: ParamDefault::Int(10),
        unit: "s",
        doc: "Largest lag, in whole seconds since its last REPLCONF ACK, of a replica that \
              counts for min-replicas-to-write (config.c).",
    },
    ParamSpec {
        name: "wait-numreplicas",
        kind: ParamKind::Int { min: 0, max: 64 },
        default: ParamDefault::Int(0),
        unit: "count",
        doc: "The numreplicas argument of a `WAIT numreplicas timeout` the client sends after \
              every SET (replication.c waitCommand); the SET counts as acknowledged only when \
              WAIT returns at least this many. 0: no WAIT is sent (the model's default, as \
              WAIT is opt-in).",
    },
    ParamSpec {
        name: "wait-timeout",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(1000),
        unit: "ms",
        doc: "The timeout argument of that WAIT (0 would block forever in Redis; the model \
              requires a bound). WAIT has no default timeout; 1000 is the model's choice.",
    },
    ParamSpec {
        name: "client-timeout",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(2000),
        unit: "ms",
        doc: "Client library socket timeout for a Sentinel query or a command (Jedis \
              Protocol.DEFAULT_TIMEOUT = 2000 ms); on expiry the connection is dropped.",
    },
    ParamSpec {
        name: "client-retry-interval",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(500),
        unit: "ms",
        doc: "How long the client waits after an error or a timeout before asking the \
              Sentinels for the master again. Client libraries leave retries to the \
              application and have no common default; 500 is the model's choice.",
    },
];

/// Bytes of replication stream one SET takes in the model (a short key and
/// value, RESP-framed); converts `repl-backlog-size` into writes.
pub const SET_BYTES: u64 = 64;

/// The values the model reads, in engine units.
#[derive(Clone, Debug)]
pub struct RsParams {
    pub quorum: usize,
    pub down_after: SimDuration,
    pub failover_timeout: SimDuration,
    pub parallel_syncs: usize,
    /// `replica-priority` of each Redis instance, in node order.
    pub priority: Vec<u32>,
    /// Backlog capacity in writes.
    pub backlog_writes: u64,
    pub diskless_sync_delay: SimDuration,
    pub repl_timeout: SimDuration,
    pub repl_ping_period: SimDuration,
    pub min_replicas_to_write: usize,
    /// In whole seconds, as replication.c compares it.
    pub min_replicas_max_lag_s: u64,
    pub wait_numreplicas: usize,
    pub wait_timeout: SimDuration,
    pub client_timeout: SimDuration,
    pub client_retry_interval: SimDuration,
}

impl RsParams {
    pub fn from_params(p: &Params) -> Self {
        let ms = |n: &str| SimDuration::from_ms(p.get_u64(n));
        let s = |n: &str| SimDuration::from_ms(p.get_u64(n) * 1000);
        RsParams {
            quorum: p.get_u64("quorum") as usize,
            down_after: ms("down-after-milliseconds"),
            failover_timeout: ms("failover-timeout"),
            parallel_syncs: p.get_u64("parallel-syncs") as usize,
            priority: p
                .get_list("replica-priority")
                .iter()
                .map(|&v| u32::try_from(v).expect("checked against 0..=1000000"))
                .collect(),
            backlog_writes: p.get_u64("repl-backlog-size") / SET_BYTES,
            diskless_sync_delay: s("repl-diskless-sync-delay"),
            repl_timeout: s("repl-timeout"),
            repl_ping_period: s("repl-ping-replica-period"),
            min_replicas_to_write: p.get_u64("min-replicas-to-write") as usize,
            min_replicas_max_lag_s: p.get_u64("min-replicas-max-lag"),
            wait_numreplicas: p.get_u64("wait-numreplicas") as usize,
            wait_timeout: ms("wait-timeout"),
            client_timeout: ms("client-timeout"),
            client_retry_interval: ms("client-retry-interval"),
        }
    }

    /// `min(down-after-milliseconds, 1000)`: how often a Sentinel PINGs
    /// (sentinel.c sentinelSendPeriodicCommands).
    pub fn ping_period(&self) -> SimDuration {
        self.down_after.min(SimDuration::from_ms(1000))
    }

    /// `min(SENTINEL_ELECTION_TIMEOUT, failover-timeout)`.
    pub fn election_timeout(&self) -> SimDuration {
        self.failover_timeout.min(SimDuration::from_ms(10_000))
    }
}
