//! Parameters of `kafka/partition-leader`, under the names Kafka gives them
//! (broker: ReplicationConfigs.java, KRaftConfigs.java, ZkConfigs.java,
//! ServerLogConfigs.java, LogConfig.java; producer: ProducerConfig.java,
//! CommonClientConfigs.java). `model.*` names are the model's own.

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

const MS: ParamKind = ParamKind::Int {
    min: 1,
    max: 2_147_483_647,
};

const fn ms(name: &'static str, default: i64, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind: MS,
        default: ParamDefault::Int(default),
        unit: "ms",
        doc,
    }
}

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "controller.mode",
        kind: ParamKind::Enum(&["kraft", "zk"]),
        default: ParamDefault::Enum("kraft"),
        unit: "",
        doc: "Which controller elects partition leaders: `kraft` (QuorumController; the only mode \
              since Kafka 4.0) or `zk` (KafkaController.scala, ZooKeeper mode, removed in 4.0). \
              Not a single Kafka setting: ZooKeeper mode is `zookeeper.connect` without \
              `process.roles`.",
    },
    ParamSpec::int(
        "partitions",
        1,
        10_000_000,
        100,
        "",
        "Partitions of the one topic, replicas assigned round robin: partition p has replicas \
         (p + k) mod brokers for k < replication.factor, the first being its preferred leader. \
         No real default (the model's choice).",
    ),
    ParamSpec::int(
        "replication.factor",
        1,
        16,
        3,
        "",
        "Replicas per partition, as `kafka-topics --replication-factor` gives it (the broker's \
         `default.replication.factor` is 1; 3 is the common production choice the model uses). \
         Capped at the broker count.",
    ),
    ParamSpec::int(
        "min.insync.replicas",
        1,
        16,
        1,
        "",
        "acks=all writes are refused (NOT_ENOUGH_REPLICAS) while the ISR is smaller, and the high \
         watermark does not advance (3.7+, KAFKA-15583) (ServerLogConfigs.java default 1).",
    ),
    ParamSpec {
        name: "unclean.leader.election.enable",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(false),
        unit: "",
        doc: "Elect a live replica outside the ISR when no ISR member is live (LogConfig.java \
              default false).",
    },
    ParamSpec {
        name: "acks",
        kind: ParamKind::Enum(&["0", "1", "all"]),
        default: ParamDefault::Enum("all"),
        unit: "",
        doc: "Producer acknowledgements: 0 none, 1 after the leader's append, all after every \
              ISR member has the record (ProducerConfig.java default all since 3.0, KIP-679).",
    },
    ms(
        "replica.lag.time.max.ms",
        30_000,
        "A follower not caught up for this long leaves the ISR; the leader checks every half of \
         it (ReplicationConfigs.java default 30000, KIP-537).",
    ),
    ms(
        "replica.fetch.wait.max.ms",
        500,
        "How long the leader parks a follower's Fetch that finds no new data \
         (ReplicationConfigs.java default 500).",
    ),
    ms(
        "replica.fetch.backoff.ms",
        1000,
        "A follower's fetcher waits this long after a failed Fetch (ReplicationConfigs.java \
         default 1000).",
    ),
    ms(
        "replica.socket.timeout.ms",
        30_000,
        "A follower's Fetch with no answer fails after this long (ReplicationConfigs.java \
         default 30000).",
    ),
    ms(
        "zookeeper.session.timeout.ms",
        18_000,
        "zk mode: a broker's ZooKeeper session expires this long after its last ping; its \
         /brokers/ids znode goes and the controller's watch fires (ZkConfigs.java default 18000).",
    ),
    ms(
        "tickTime",
        2000,
        "zk mode: ZooKeeper's tick; session expiry times are rounded up to a multiple of it \
         (ExpiryQueue.roundToNextInterval; zoo.cfg default 2000).",
    ),
    ParamSpec::int(
        "zookeeper.max.in.flight.requests",
        1,
        1000,
        10,
        "",
        "zk mode: the controller's pipelined ZooKeeper requests in flight; a batch of N \
         partition-state writes takes ceil(N / this) round trips (ZkConfigs.java default 10).",
    ),
    ms(
        "broker.session.timeout.ms",
        9000,
        "kraft mode: a broker whose last heartbeat is older than this is fenced \
         (KRaftConfigs.java default 9000).",
    ),
    ms(
        "broker.heartbeat.interval.ms",
        2000,
        "kraft mode: brokers heartbeat to the active controller this often; in zk mode the \
         brokers' ZooKeeper pings go every session timeout / 3 instead (KRaftConfigs.java \
         default 2000).",
    ),
    ParamSpec {
        name: "auto.leader.rebalance.enable",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(true),
        unit: "",
        doc: "Periodically move leadership back to preferred replicas (ReplicationConfigs.java \
              default true).",
    },
    ParamSpec::int(
        "leader.imbalance.check.interval.seconds",
        1,
        1_000_000,
        300,
        "s",
        "How often the controller checks leader imbalance (ReplicationConfigs.java default 300).",
    ),
    ParamSpec::int(
        "leader.imbalance.per.broker.percentage",
        0,
        100,
        10,
        "%",
        "A broker whose share of non-preferred leaders exceeds this triggers preferred elections \
         (ReplicationConfigs.java default 10).",
    ),
    ms(
        "retry.backoff.ms",
        100,
        "Producer: first retry backoff, doubled per attempt with 20 % jitter \
         (CommonClientConfigs.java default 100).",
    ),
    ms(
        "retry.backoff.max.ms",
        1000,
        "Producer: cap of the exponential retry backoff (CommonClientConfigs.java default 1000).",
    ),
    ms(
        "metadata.max.age.ms",
        300_000,
        "Producer: metadata is refreshed at least this often (ProducerConfig.java default \
         300000).",
    ),
    ms(
        "request.timeout.ms",
        30_000,
        "Producer: a Produce with no answer fails (and is retried) after this long; also the \
         produce timeout the broker gets (ProducerConfig.java default 30000).",
    ),
    ms(
        "delivery.timeout.ms",
        120_000,
        "Producer: a record not acknowledged this long after send() fails for good \
         (ProducerConfig.java default 120000).",
    ),
    ms(
        "socket.connection.setup.timeout.ms",
        10_000,
        "Producer: a Metadata request that gets no answer is given up after this long and sent \
         to another broker (CommonClientConfigs.java default 10000; the model's stand-in for a \
         connection to a dead host).",
    ),
    ParamSpec {
        name: "broker.stop",
        kind: ParamKind::Enum(&["kill", "controlled"]),
        default: ParamDefault::Enum("kill"),
        unit: "",
        doc: "Not a Kafka setting: how a crashed broker stops. `kill`: the controller notices \
              only through the session (zk) or heartbeats (kraft). `controlled`: a controlled \
              shutdown (controlled.shutdown.enable = true): the controller moves leadership \
              with the controlled-shutdown election as the process exits; use it with `crash` \
              faults that have `host_alive = true` (the model hears of it through the reset).",
    },
    ParamSpec::int(
        "model.partitions-with-traffic",
        0,
        100_000,
        1000,
        "",
        "Partitions the producers write to, spread evenly over all partitions (all of them when \
         there are fewer). Only these have moving offsets; the others are idle.",
    ),
    ParamSpec {
        name: "model.zk-request-ms",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10_000.0,
        },
        default: ParamDefault::Float(2.0),
        unit: "ms",
        doc:
            "zk mode: round trip of one controller request to ZooKeeper, Zab commit included (the \
              2 ms per write of PROTOCOLS.md §2.11). An assumption of the model.",
    },
    ParamSpec {
        name: "model.kraft-commit-ms",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10_000.0,
        },
        default: ParamDefault::Float(5.0),
        unit: "ms",
        doc: "kraft mode: time to commit one batch of metadata records (append, a majority of \
              controllers fetching it, the high watermark moving). An assumption of the model.",
    },
    ParamSpec {
        name: "model.kraft-record-us",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10_000.0,
        },
        default: ParamDefault::Float(1.0),
        unit: "us",
        doc: "kraft mode: controller time per partition-change record (generating, appending and \
              replaying it). An assumption of the model.",
    },
];

/// Which controller runs the elections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Kraft,
    Zk,
}

/// Producer acknowledgements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    None,
    Leader,
    All,
}

/// The typed parameters.
#[derive(Clone, Debug)]
pub struct PlParams {
    pub mode: Mode,
    pub partitions: u32,
    pub replication_factor: u32,
    pub min_insync: u32,
    pub unclean: bool,
    pub acks: Acks,
    pub replica_lag_max: SimDuration,
    pub fetch_wait_max: SimDuration,
    pub fetch_backoff: SimDuration,
    pub replica_socket_timeout: SimDuration,
    pub zk_session_timeout: SimDuration,
    pub tick_time: SimDuration,
    pub zk_in_flight: u64,
    pub broker_session_timeout: SimDuration,
    pub broker_heartbeat_interval: SimDuration,
    pub auto_rebalance: bool,
    pub imbalance_check_interval: SimDuration,
    pub imbalance_pct: u32,
    pub retry_backoff: SimDuration,
    pub retry_backoff_max: SimDuration,
    pub metadata_max_age: SimDuration,
    pub request_timeout: SimDuration,
    pub delivery_timeout: SimDuration,
    pub metadata_timeout: SimDuration,
    pub controlled_stop: bool,
    pub partitions_with_traffic: u32,
    pub zk_request: SimDuration,
    pub kraft_commit: SimDuration,
    pub kraft_record: SimDuration,
}

impl PlParams {
    pub fn from_params(p: &Params) -> Self {
        let ms = |n: &str| SimDuration::from_ms(p.get_u64(n));
        PlParams {
            mode: if p.get_enum("controller.mode") == "zk" {
                Mode::Zk
            } else {
                Mode::Kraft
            },
            partitions: p.get_u64("partitions") as u32,
            replication_factor: p.get_u64("replication.factor") as u32,
            min_insync: p.get_u64("min.insync.replicas") as u32,
            unclean: p.get_bool("unclean.leader.election.enable"),
            acks: match p.get_enum("acks") {
                "0" => Acks::None,
                "1" => Acks::Leader,
                _ => Acks::All,
            },
            replica_lag_max: ms("replica.lag.time.max.ms"),
            fetch_wait_max: ms("replica.fetch.wait.max.ms"),
            fetch_backoff: ms("replica.fetch.backoff.ms"),
            replica_socket_timeout: ms("replica.socket.timeout.ms"),
            zk_session_timeout: ms("zookeeper.session.timeout.ms"),
            tick_time: ms("tickTime"),
            zk_in_flight: p.get_u64("zookeeper.max.in.flight.requests"),
            broker_session_timeout: ms("broker.session.timeout.ms"),
            broker_heartbeat_interval: ms("broker.heartbeat.interval.ms"),
            auto_rebalance: p.get_bool("auto.leader.rebalance.enable"),
            imbalance_check_interval: SimDuration::from_ms(
                1000 * p.get_u64("leader.imbalance.check.interval.seconds"),
            ),
            imbalance_pct: p.get_u64("leader.imbalance.per.broker.percentage") as u32,
            retry_backoff: ms("retry.backoff.ms"),
            retry_backoff_max: ms("retry.backoff.max.ms"),
            metadata_max_age: ms("metadata.max.age.ms"),
            request_timeout: ms("request.timeout.ms"),
            delivery_timeout: ms("delivery.timeout.ms"),
            metadata_timeout: ms("socket.connection.setup.timeout.ms"),
            controlled_stop: p.get_enum("broker.stop") == "controlled",
            partitions_with_traffic: p.get_u64("model.partitions-with-traffic") as u32,
            zk_request: SimDuration::from_ms_f64(p.get("model.zk-request-ms")),
            kraft_commit: SimDuration::from_ms_f64(p.get("model.kraft-commit-ms")),
            kraft_record: SimDuration::from_ms_f64(p.get("model.kraft-record-us") / 1000.0),
        }
    }
}

impl Default for PlParams {
    /// The real defaults (and the model's for `model.*`, 100 partitions).
    fn default() -> Self {
        let path = crate::systems::find(super::PATH.path).expect("registered");
        PlParams::from_params(&path.default_params(&[3, 1]))
    }
}
