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
        }
    }
}
