//! Parameters of `raft/etcd`, under etcd's own flag names.

use crate::systems::{ParamDefault, ParamKind, ParamSpec};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "heartbeat-interval",
        kind: ParamKind::Int {
            min: 1,
            max: 60_000,
        },
        default: ParamDefault::Int(100),
        unit: "ms",
        doc: "Time of one raft tick and the leader's heartbeat interval (flag \
              --heartbeat-interval; DefaultTickMs in server/embed/config.go).",
    },
    ParamSpec {
        name: "election-timeout",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(1000),
        unit: "ms",
        doc: "Base election timeout (flag --election-timeout; DefaultElectionMs in \
              server/embed/config.go); ElectionTick = election-timeout / heartbeat-interval, \
              and each follower waits a random whole number of ticks in [ElectionTick, \
              2 x ElectionTick - 1] (raft.go resetRandomizedElectionTimeout).",
    },
    ParamSpec {
        name: "pre-vote",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(false),
        unit: "",
        doc: "Run a pre-vote round before a real campaign (flag --pre-vote; raft.Config.PreVote). \
              Default false as in etcd 3.4 (server/embed/config.go); etcd 3.5 changed it to true.",
    },
    ParamSpec {
        name: "model.check-quorum",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(true),
        unit: "",
        doc: "No etcd flag: server/etcdserver/raft.go always sets raft.Config.CheckQuorum = true \
              (a leader not hearing from a majority within an election timeout steps down; a \
              follower within a leader's lease ignores votes). Off only to show what it buys.",
    },
    ParamSpec {
        name: "command-timeout",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(5000),
        unit: "ms",
        doc: "Client-side deadline of one write (etcdctl flag --command-timeout, default 5s in \
              etcdctl/ctlv3/ctl.go); the model's client gives up on a write after it.",
    },
];
