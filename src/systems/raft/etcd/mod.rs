//! `raft/etcd`: an etcd cluster's leader election and log replication, on
//! the shared Raft core with etcd's own parameters and defaults.
//!
//! Sources: `server/embed/config.go` (`DefaultTickMs = 100`,
//! `DefaultElectionMs = 1000`, the `--heartbeat-interval`,
//! `--election-timeout` and `--pre-vote` flags), `server/etcdserver/raft.go`
//! (`raft.Config` built with `ElectionTick = ElectionMs / TickMs`,
//! `HeartbeatTick = 1`, `CheckQuorum = true`, `PreVote` from the flag), and
//! `raft/raft.go` of etcd-io/raft for the protocol (see `raft/mod.rs`).
//!
//! etcd's clock is logical: a `Tick` every `heartbeat-interval`. A follower
//! campaigns when the ticks since it last heard from a leader reach its
//! randomized election timeout, a whole number of ticks drawn uniformly from
//! `[ElectionTick, 2 x ElectionTick - 1]` (`resetRandomizedElectionTimeout`),
//! so with the defaults 1000–1900 ms, quantised to the 100 ms tick. The
//! leader sends heartbeats every tick and, with check-quorum, steps down at
//! the end of an election timeout in which it did not hear from a majority.
//!
//! Pre-vote: `--pre-vote` defaults to `false` in etcd 3.4; etcd 3.5 changed
//! the default to `true`. This path defaults to 3.4's `false`, as issue 10
//! asks, so that a run shows what pre-vote adds when a workload turns it on;
//! set `pre-vote = true` for etcd 3.5 and later.
//!
//! Simplifications beyond those of `raft/mod.rs`: the election ticks etcd
//! fast-forwards when a member boots (`advanceTicksForElection`) are not
//! modelled, so a fresh cluster's first election takes one full randomized
//! timeout; etcd's check that `election-timeout` is at least five heartbeat
//! intervals is not made (the model rounds the election timeout down to
//! whole ticks, at least one); `command-timeout` is etcdctl's client-side
//! deadline, used as the client's deadline per write.
//!
//! Timeline phases: `pre-campaign` (a pre-candidate asks for pre-votes),
//! `campaign` (a candidate starts a term), `became-leader`, `step-down` (a
//! leader becomes follower: a higher term, or check-quorum), `timeout-now`
//! and `transfer-leader` (leader transfer).

mod params;

use crate::engine::SimDuration;
use crate::systems::{GroupSpec, PathInfo};
use crate::workload::Workload;

use super::{Config, Flavor, RaftModel, Setup};

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "raft/etcd",
    system: "raft",
    summary:
        "etcd's Raft: randomized election timeout in ticks, pre-vote, check-quorum, log replication",
    groups: &[GroupSpec {
        name: "servers",
        word: "server",
        min: 1,
        max: 15,
        default: None,
        doc: "Voting members of the etcd cluster (--initial-cluster).",
    }],
    params: params::SPECS,
    targets: &[],
    columns: super::COLUMNS,
    prepare: crate::runner::prepare::<Etcd>,
};

/// The `raft/etcd` flavour of the Raft core.
#[derive(Debug)]
pub struct EtcdFlavor;

/// The model of `raft/etcd`.
pub type Etcd = RaftModel<EtcdFlavor>;

/// etcd's settings read into the core's configuration.
pub fn config(p: &crate::systems::Params) -> Config {
    let tick = SimDuration::from_ms(p.get_u64("heartbeat-interval"));
    let ticks = (p.get_u64("election-timeout") / p.get_u64("heartbeat-interval")).max(1);
    Config {
        heartbeat: tick,
        election_min: tick.saturating_mul(ticks),
        election_max: tick.saturating_mul(2 * ticks),
        tick: Some(tick),
        pre_vote: p.get_bool("pre-vote"),
        check_quorum: p.get_bool("model.check-quorum"),
        reset_on_step_down: true,
        whole_ms_timeouts: false,
        replicate: true,
        max_batch: 64,
        client_timeout: SimDuration::from_ms(p.get_u64("command-timeout")),
        kraft: None,
        dledger: None,
    }
}

impl Flavor for EtcdFlavor {
    fn setup(w: &Workload) -> Setup {
        Setup {
            cfg: config(&w.params),
            preset_logs: Vec::new(),
            bootstrap_leader: false,
        }
    }
}

impl Etcd {
    /// A cluster of `n` servers with parameters `p`.
    pub fn etcd(n: usize, p: &crate::systems::Params) -> Self {
        RaftModel::new(
            n,
            Setup {
                cfg: config(p),
                preset_logs: Vec::new(),
                bootstrap_leader: false,
            },
        )
    }
}
