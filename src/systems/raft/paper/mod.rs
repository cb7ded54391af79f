//! `raft/paper`: the Raft paper's own election experiment (Ongaro &
//! Ousterhout, USENIX ATC 2014, §9.3 and Figure 16, run on LogCabin), on the
//! shared Raft core, for reproducing Figure 16 (`workloads/raft-figure16.toml`,
//! `results/raft.md`).
//!
//! The setup, as `PROTOCOLS.md` §6.3 gives it from the paper:
//! * continuous timers: each follower's election timeout is drawn from the
//!   chosen range whenever it hears from the leader, grants a vote or becomes
//!   a candidate (Figure 2: a server that steps down to a higher term keeps
//!   its running timeout). LogCabin, the paper's implementation, follows the
//!   same rules (`Server/RaftConsensus.cc`: `setElectionTimer` is called from
//!   `handleAppendEntries`, from `handleRequestVote` when it grants, and from
//!   `startNewElection`; `stepDown` re-arms it only when it was off, on a
//!   leader) and draws the timeout in **whole milliseconds**:
//!   `Core::Random::randomRange(min, max)` is `lround(min + U * (max - min))`,
//!   so the two ends come up half as often as the values between them
//!   (`Config::whole_ms_timeouts`; LogCabin moved to nanoseconds only in July
//!   2015, after the paper and the dissertation);
//! * the leader's heartbeat interval is half the minimum election timeout,
//!   and every heartbeat goes to all followers at once (a synchronised
//!   broadcast);
//! * the servers' logs have different lengths, so some candidates cannot
//!   win: the first `n/2 + 1` servers hold 10 entries of term 1, each further
//!   server one entry fewer than the one before (5 servers: 10, 10, 10, 9, 8);
//! * server 1 campaigns the moment the trial starts, so every trial begins
//!   from one known leader (the paper measured only the replacement);
//! * no pre-vote and no check-quorum (neither is in the paper's §5).
//!
//! The broadcast time (about 15 ms in the paper, "network round trip plus
//! disk write" in Ongaro's dissertation §9.4) is the workload's network
//! latency and disk, not a parameter here. The durable writes are LogCabin's:
//! a candidate saves term and vote before its vote requests leave
//! (`startNewElection` calls `updateLogMetadata` before `interruptAll` wakes
//! the peer threads), and a voter saves the new term and then its vote before
//! it answers (`handleRequestVote`: `stepDown` then `updateLogMetadata`), two
//! writes in a row; with a `[disk]` table each costs one fsync
//! (`workloads/raft-figure16-logcabin.toml`). The crash is the workload's fault
//! (`target = "leader"`) at a uniformly random time over a window that is a
//! whole number of heartbeat intervals long, so its phase within the
//! heartbeat interval is uniform.
//!
//! Simplifications: the experiment measures elections only, so the leader
//! replicates nothing (heartbeats carry no entries and the preset logs stay
//! as they are; client writes are refused) and counts as serving from its
//! election (the benchmark stopped its clock when the followers heard the
//! new leader's first heartbeat, one hop later than `leaderless_ms`, and
//! LogCabin's new leader appends an empty entry, which until February 2014
//! it wrote to disk, two files, before that heartbeat left). The
//! paper's own per-message costs on LogCabin are not known; the network's
//! latency and, if the workload gives one, the disk's are modelled, not the
//! CPU. LogCabin held its one lock through each write, so a server did
//! nothing else meanwhile; here a voter restarts its timer when the request
//! arrives rather than after its first write, and its own timer may fire
//! during a write.

mod params;

use crate::engine::SimDuration;
use crate::systems::{GroupSpec, PathInfo};
use crate::workload::Workload;

use super::{Config, Flavor, RaftModel, Setup};

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "raft/paper",
    system: "raft",
    summary: "the Raft paper's §9.3 election experiment (Figure 16): elections only, uneven logs",
    groups: &[GroupSpec {
        name: "servers",
        word: "server",
        min: 1,
        max: 15,
        default: Some(5),
        doc: "Servers of the cluster; the paper used 5 (\"results for nine servers are similar\").",
    }],
    params: params::SPECS,
    targets: &[],
    columns: super::COLUMNS,
    prepare: crate::runner::prepare::<Paper>,
};

#[derive(Debug)]
pub struct PaperFlavor;

/// The model of `raft/paper`.
pub type Paper = RaftModel<PaperFlavor>;

/// `(min, max)` of a Figure 16 line label such as `"150-155"`, in ms.
pub fn range_of(label: &str) -> (u64, u64) {
    let (a, b) = label.split_once('-').expect("labels are MIN-MAX");
    (a.parse().expect("number"), b.parse().expect("number"))
}

/// The paper's setup for `n` servers with election timeouts `min..=max` ms.
pub fn setup(n: usize, min_ms: u64, max_ms: u64) -> Setup {
    let min = SimDuration::from_ms(min_ms);
    let long = n / 2 + 1;
    Setup {
        cfg: Config {
            heartbeat: SimDuration(min.0 / 2),
            election_min: min,
            election_max: SimDuration::from_ms(max_ms),
            tick: None,
            pre_vote: false,
            check_quorum: false,
            reset_on_step_down: false,
            whole_ms_timeouts: true,
            replicate: false,
            max_batch: 64,
            client_timeout: SimDuration::from_ms(5000),
            kraft: None,
            dledger: None,
        },
        preset_logs: (0..n)
            .map(|i| {
                if i < long {
                    10
                } else {
                    10 - (i + 1 - long) as u64
                }
            })
            .collect(),
        bootstrap_leader: true,
    }
}

impl Flavor for PaperFlavor {
    fn setup(w: &Workload) -> Setup {
        let (min, max) = range_of(w.params.get_enum("election-timeout-range"));
        setup(w.nodes, min, max)
    }
}
