//! Parameters of `kafka/controller-kraft`, under Kafka's own names.

use crate::systems::{ParamDefault, ParamKind, ParamSpec};

const MS: ParamKind = ParamKind::Int {
    min: 1,
    max: 600_000,
};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "controller.quorum.election.timeout.ms",
        kind: MS,
        default: ParamDefault::Int(1000),
        unit: "ms",
        doc: "Base election timeout T: an Unattached, Candidate or Resigned voter waits a random \
              whole number of ms in [T, 2T) (QuorumConfig.java; KafkaRaftClient.java \
              randomElectionTimeoutMs).",
    },
    ParamSpec {
        name: "controller.quorum.fetch.timeout.ms",
        kind: MS,
        default: ParamDefault::Int(2000),
        unit: "ms",
        doc: "A follower with no successful fetch from the leader for this long becomes a \
              candidate (an observer asks any voter); the leader resigns when a majority of voters \
              has not fetched within 1.5 x this (QuorumConfig.java; LeaderState.java \
              CHECK_QUORUM_TIMEOUT_FACTOR). BeginQuorumEpoch is resent every half of it.",
    },
    ParamSpec {
        name: "controller.quorum.election.backoff.max.ms",
        kind: MS,
        default: ParamDefault::Int(1000),
        unit: "ms",
        doc: "Cap of a candidate's binary exponential backoff, 100 ms x uniform[0, 2^retries) \
              (QuorumConfig.java; KafkaRaftClient.java binaryExponentialElectionBackoffMs), and of \
              the EndQuorumEpoch backoff by successor position.",
    },
    ParamSpec {
        name: "controller.quorum.request.timeout.ms",
        kind: MS,
        default: ParamDefault::Int(2000),
        unit: "ms",
        doc: "How long a Fetch may go unanswered before it is retried (QuorumConfig.java).",
    },
    ParamSpec {
        name: "controller.quorum.retry.backoff.ms",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(20),
        unit: "ms",
        doc: "Pause before the next Fetch after a failed or refused one (QuorumConfig.java).",
    },
    ParamSpec {
        name: "partitions",
        kind: ParamKind::Int {
            min: 0,
            max: 10_000_000,
        },
        default: ParamDefault::Int(1000),
        unit: "count",
        doc: "Partitions in the cluster's metadata (no Kafka setting: the size of the cluster). \
              It sizes the metadata image a process loads when it starts; a standby controller \
              has it loaded already, so a failover pays nothing per partition.",
    },
    ParamSpec {
        name: "model.image-load-us-per-partition",
        kind: ParamKind::Float {
            min: 0.0,
            max: 1000.0,
        },
        default: ParamDefault::Float(2.0),
        unit: "us",
        doc: "No Kafka setting: the model's cost of loading one partition of the metadata image \
              (snapshot and log replay) when a process starts; the controller activates no \
              earlier. An assumption of this model, not a measured or published figure.",
    },
    ParamSpec {
        name: "request.timeout.ms",
        kind: MS,
        default: ParamDefault::Int(30000),
        unit: "ms",
        doc: "The metadata client's deadline per write (AdminClientConfig.java \
              request.timeout.ms, default 30000); the model's client then tries another \
              controller.",
    },
];
