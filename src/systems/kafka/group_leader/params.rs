//! Parameters of `kafka/group-leader`, under the names the consumer
//! (ConsumerConfig.java) and the broker (GroupCoordinatorConfig.java) use.

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "session.timeout.ms",
        kind: ParamKind::Int {
            min: 6000,
            max: 1_800_000,
        },
        default: ParamDefault::Int(45_000),
        unit: "ms",
        doc: "A member whose last heartbeat is older than this is removed by the coordinator \
              (ConsumerConfig.java default 45000 since 3.0, KAFKA-12874; the broker bounds it by \
              group.min.session.timeout.ms 6000 and group.max.session.timeout.ms 1800000, \
              GroupCoordinatorConfig.java).",
    },
    ParamSpec {
        name: "heartbeat.interval.ms",
        kind: ParamKind::Int {
            min: 1,
            max: 1_800_000,
        },
        default: ParamDefault::Int(3000),
        unit: "ms",
        doc: "How often a member's heartbeat thread sends Heartbeat; a member learns of a \
              rebalance from the REBALANCE_IN_PROGRESS answer (ConsumerConfig.java default 3000).",
    },
    ParamSpec {
        name: "max.poll.interval.ms",
        kind: ParamKind::Int {
            min: 1,
            max: 2_147_483_647,
        },
        default: ParamDefault::Int(300_000),
        unit: "ms",
        doc: "The Java consumer sends it as its JoinGroup rebalance.timeout.ms: how long the \
              coordinator waits for members to rejoin (DelayedJoin) and to send SyncGroup \
              (pending sync) before removing them (ConsumerConfig.java default 300000; \
              GroupRebalanceConfig.java).",
    },
    ParamSpec {
        name: "group.initial.rebalance.delay.ms",
        kind: ParamKind::Int {
            min: 0,
            max: 2_147_483_647,
        },
        default: ParamDefault::Int(3000),
        unit: "ms",
        doc: "The first rebalance of an Empty group waits this long (InitialDelayedJoin), again \
              while new members keep arriving, capped by the rebalance timeout \
              (GroupCoordinatorConfig.java default 3000; DelayedJoin.scala).",
    },
    ParamSpec {
        name: "member.stop",
        kind: ParamKind::Enum(&["kill", "close"]),
        default: ParamDefault::Enum("kill"),
        unit: "",
        doc: "Not a Kafka setting: how a faulted member's process stops. `kill` (kill -9, host \
              loss): no LeaveGroup, the coordinator notices after session.timeout.ms. `close` \
              (KafkaConsumer.close(), internal.leave.group.on.close = true): LeaveGroup, then the \
              socket closes; the model delivers it with the connection reset, so use it with \
              `crash` faults that have `host_alive = true`.",
    },
    ParamSpec::int(
        "offsets.topic.num.partitions",
        1,
        1000,
        50,
        "count",
        "Partitions of __consumer_offsets; the group's coordinator is the leader of partition \
         abs(hash(group.id)) % this (GroupMetadataManager.scala partitionFor; \
         GroupCoordinatorConfig.java default 50). The group id is `electbench`: partition 41 \
         with the default.",
    ),
    ParamSpec::int(
        "offsets.topic.replication.factor",
        1,
        64,
        3,
        "count",
        "Replicas of each __consumer_offsets partition, capped by the number of brokers \
         (GroupCoordinatorConfig.java default 3). The group's record is stored with acks=-1 on \
         every in-sync replica; when the coordinator's broker is fenced the next replica in \
         assignment order leads the partition and becomes the coordinator.",
    ),
    ParamSpec::int(
        "broker.heartbeat.interval.ms",
        1,
        3_600_000,
        2000,
        "ms",
        "How often a broker heartbeats the KRaft controller (KRaftConfigs.java default 2000).",
    ),
    ParamSpec::int(
        "broker.session.timeout.ms",
        1,
        3_600_000,
        9000,
        "ms",
        "The controller fences a broker whose last heartbeat is older than this and moves the \
         leadership of its partitions to the next in-sync replica (KRaftConfigs.java default \
         9000; BrokerHeartbeatManager.java).",
    ),
    ParamSpec::int(
        "coordinator.load.ms",
        0,
        3_600_000,
        50,
        "ms",
        "Not a Kafka setting: how long the new coordinator replays its __consumer_offsets \
         partition (scheduleLoadGroupAndOffsets) before it serves the group; it answers \
         COORDINATOR_LOAD_IN_PROGRESS meanwhile. The default is an estimate, not a \
         measurement: a compacted partition of 10 000 records (the group metadata and offset \
         commits of every group hashed to it) at 5 us per record read and decoded.",
    ),
    ParamSpec::int(
        "retry.backoff.ms",
        0,
        3_600_000,
        100,
        "ms",
        "The consumer waits this long between FindCoordinator attempts and before retrying a \
         request that failed with a retriable error (CommonClientConfigs.java default 100; the \
         heartbeat thread waits it as a fixed interval).",
    ),
    ParamSpec::int(
        "request.timeout.ms",
        1,
        3_600_000,
        30_000,
        "ms",
        "A consumer request unanswered this long fails and the connection is closed; a \
         heartbeat that times out marks the coordinator unknown (ConsumerConfig.java default \
         30000).",
    ),
    ParamSpec::int(
        "socket.connection.setup.timeout.ms",
        1,
        3_600_000,
        10_000,
        "ms",
        "How long a consumer's connection attempt to a broker whose host does not answer takes \
         to fail (CommonClientConfigs.java default 10000; the exponential growth to \
         socket.connection.setup.timeout.max.ms is not modelled).",
    ),
];

/// The typed parameters.
#[derive(Clone, Debug)]
pub struct GlParams {
    pub session_timeout: SimDuration,
    pub heartbeat_interval: SimDuration,
    /// The members' `rebalance.timeout.ms` (= `max.poll.interval.ms`).
    pub rebalance_timeout: SimDuration,
    pub initial_rebalance_delay: SimDuration,
    /// `member.stop = close`: a member's connection reset carries its LeaveGroup.
    pub leave_on_close: bool,
    pub offsets_partitions: u32,
    pub offsets_replication: usize,
    pub broker_heartbeat_interval: SimDuration,
    pub broker_session_timeout: SimDuration,
    pub load_time: SimDuration,
    pub retry_backoff: SimDuration,
    pub request_timeout: SimDuration,
    pub connection_setup_timeout: SimDuration,
}

impl GlParams {
    pub fn from_params(p: &Params) -> Self {
        let ms = |n: &str| SimDuration::from_ms(p.get_u64(n));
        GlParams {
            session_timeout: ms("session.timeout.ms"),
            heartbeat_interval: ms("heartbeat.interval.ms"),
            rebalance_timeout: ms("max.poll.interval.ms"),
            initial_rebalance_delay: ms("group.initial.rebalance.delay.ms"),
            leave_on_close: p.get_enum("member.stop") == "close",
            offsets_partitions: p.get_u64("offsets.topic.num.partitions") as u32,
            offsets_replication: p.get_u64("offsets.topic.replication.factor") as usize,
            broker_heartbeat_interval: ms("broker.heartbeat.interval.ms"),
            broker_session_timeout: ms("broker.session.timeout.ms"),
            load_time: ms("coordinator.load.ms"),
            retry_backoff: ms("retry.backoff.ms"),
            request_timeout: ms("request.timeout.ms"),
            connection_setup_timeout: ms("socket.connection.setup.timeout.ms"),
        }
    }
}

impl Default for GlParams {
    /// The real defaults.
    fn default() -> Self {
        GlParams {
            session_timeout: SimDuration::from_ms(45_000),
            heartbeat_interval: SimDuration::from_ms(3000),
            rebalance_timeout: SimDuration::from_ms(300_000),
            initial_rebalance_delay: SimDuration::from_ms(3000),
            leave_on_close: false,
            offsets_partitions: 50,
            offsets_replication: 3,
            broker_heartbeat_interval: SimDuration::from_ms(2000),
            broker_session_timeout: SimDuration::from_ms(9000),
            load_time: SimDuration::from_ms(50),
            retry_backoff: SimDuration::from_ms(100),
            request_timeout: SimDuration::from_ms(30_000),
            connection_setup_timeout: SimDuration::from_ms(10_000),
        }
    }
}
