//! `redis/sentinel`: Redis Sentinel detects a failed master (SDOWN, then
//! ODOWN by quorum), elects a leader Sentinel per epoch, which selects and
//! promotes a replica and reconfigures the others; clients find the master
//! through the Sentinels. Replication is asynchronous, so acknowledged writes
//! can be lost, and the model counts them.
//!
//! Follows `PROTOCOLS.md` §3.1 and §3.3, read against redis/redis
//! (`src/sentinel.c`, `src/replication.c`, `src/config.c`, `sentinel.conf`).
//!
//! What is modelled:
//! * Sentinel's timer as `sentinelTimer`: one run every `1000 / hz` ms with
//!   hz re-drawn as `10 + rand() % 10` after every run; per instance the
//!   periodic commands of `sentinelSendPeriodicCommands` (PING every
//!   `min(down-after-milliseconds, 1000)` once the last PONG is that old and
//!   the last PING half that; INFO every 10 s, every 1 s to replicas while
//!   the master is ODOWN or failing over or their master link is down; a
//!   hello on `__sentinel__:hello` of every instance every 2 s), with at most
//!   100 commands pending per link. TILT after a timer run more than 2 s
//!   late (a paused Sentinel), for 30 s: no SDOWN/ODOWN/failover actions, "not
//!   down" answers, no INFO-driven actions; votes are still granted.
//! * SDOWN (`sentinelCheckSubjectivelyDown`): the oldest unanswered PING (or,
//!   on a reset link, the last valid reply) older than down-after, or a
//!   master reporting role:slave for down-after + 2 x INFO period. ODOWN
//!   (`sentinelCheckObjectivelyDown`): itself plus the peers whose last
//!   IS-MASTER-DOWN-BY-ADDR reply (asked each run of peers that have not
//!   replied within 1 s; replies older than 5 s forgotten) said down, at least
//!   `quorum`.
//! * The failover: `sentinelStartFailoverIfNeeded` (ODOWN, no failover under
//!   way, 2 x failover-timeout since the last start), a new epoch, a start
//!   time desynchronised by `rand() % 1000`, forced vote requests;
//!   `sentinelVoteLeader` (one vote per epoch, first request wins, the
//!   config written before the answer, a vote for another delays one's own
//!   failover); `sentinelGetLeader` (votes of the peers for this epoch plus
//!   its own, a majority of the known Sentinels + 1 and at least `quorum`);
//!   abort after min(10 s, failover-timeout) not elected. Then one state per
//!   timer run: SELECT_SLAVE (`sentinelSelectSlave`, in `select.rs`),
//!   SEND_SLAVEOF_NOONE, WAIT_PROMOTION (the promotion is seen only in the
//!   promoted replica's next INFO reply showing role:master, so the INFO
//!   period is on the critical path), RECONF_SLAVES with `parallel-syncs`
//!   (RECONF_SENT -> INPROG when INFO shows the new master -> DONE when INFO
//!   shows the link up; a RECONF_SENT older than 10 s counts as done),
//!   `sentinelFailoverDetectEnd` (every replica not SDOWN done, or
//!   failover-timeout), UPDATE_CONFIG (`+switch-master`, the old master
//!   becomes a replica entry, the retry gate is cleared). The leader answers
//!   `get-master-addr-by-name` with the promoted replica from RECONF_SLAVES
//!   on, and its hellos carry the new config epoch, on which the other
//!   Sentinels switch. A returning old master reporting role:master is sent
//!   SLAVEOF after 4 x the hello period (`+convert-to-slave`), a replica of
//!   the wrong master after failover-timeout (`+fix-slave-config`).
//! * Sentinels discover replicas from the master's INFO and each other from
//!   hellos, and keep both, the epochs and the vote in `sentinel.conf`
//!   (`durable.rs`). A trial starts from a settled deployment: every
//!   `sentinel.conf` already lists the replicas and the other Sentinels, and
//!   the replicas are in sync with the master (same replid, offset 0).
//! * Replication (`instance.rs`): the stream of SETs with its offset, the
//!   backlog (`repl-backlog-size`), PSYNC with replid/replid2 (partial when
//!   the history matches and the offset is in the backlog, else a full
//!   diskless sync after `repl-diskless-sync-delay`), REPLCONF ACK every
//!   second and on GETACK, `repl-timeout` on both sides, the master's
//!   stream pings every `repl-ping-replica-period`, WAIT, and
//!   `min-replicas-to-write` / `min-replicas-max-lag` recounted every second
//!   with the lag in whole seconds. SLAVEOF NO ONE shifts the replid; a
//!   demoted master keeps its replid and offset, so it resyncs partially
//!   when it has no writes the new master lacks, else fully (its extra
//!   writes are lost).
//! * Clients (`client.rs`): Sentinel discovery, a socket timeout, a retry
//!   interval, `-READONLY` and CLIENT KILL handling, optional WAIT.
//!
//! Simplifications:
//! * Offsets count SETs, not bytes (`repl-backlog-size` is converted at 64
//!   bytes per SET); a full sync is one message whatever the data size, with
//!   no RDB fork or load time.
//! * No persistence (no RDB, no AOF): a restarted instance comes back empty,
//!   as the master or replica its `redis.conf` names (CONFIG REWRITE after
//!   every SLAVEOF).
//! * No chained replication: only a master answers PSYNC. A replica that
//!   cannot reach its master retries the handshake every second (sentinel.c
//!   and replication.c wait up to repl-timeout for a connect to a dead host).
//! * Links: sending on a link needs no connection set-up; a link reset (a
//!   process dying on a live host) marks it disconnected until the next
//!   reply. Sentinels do not PING each other: a peer's liveness shows only in
//!   its replies and hellos.
//! * One master monitored, named by node id; run ids are random 64-bit
//!   numbers, compared as sentinel.c compares the hex strings.
//! * Sentinel writes its new epoch to `sentinel.conf` when it starts a
//!   failover (sentinel.c flushes on its self-vote a timer run later). Its
//!   own vote is counted at once, while sentinel.c waits for the fsync.
//! * Scripts, `master-reboot-down-after-period`, `SENTINEL FAILOVER`,
//!   replica-announce, `auth` and TLS are not modelled.
//! * Client reads go to the master and are served by any instance;
//!   the client treats a WAIT that returns fewer than `wait-numreplicas`
//!   replicas as a failed (unacknowledged) write.

mod checker;
mod client;
mod durable;
mod instance;
mod monitor;
mod msg;
mod params;
pub mod select;

#[cfg(test)]
mod tests;

pub use checker::{final_master, RsChecker};
pub use client::Client;
pub use durable::{RedisConf, RsDurable, RsWrite, SentinelConf};
pub use instance::Redis;
pub use monitor::{FailoverState, Sentinel};
pub use msg::Msg;
pub use params::RsParams;

use crate::engine::fault::{Action, Target};
use crate::engine::sim::SimOutput;
use crate::engine::{
    ClientOp, Ctx, Model, Node, NodeId, Obs, Scope, SimTime, Targeting, Topology, View,
};
use crate::systems::{ColumnSpec, GroupSpec, PathInfo, TargetSpec};
use crate::workload::Workload;

use select::{Candidate, MasterState};

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "redis/sentinel",
    system: "redis",
    summary: "Sentinel: SDOWN -> ODOWN (quorum) -> leader vote per epoch -> replica selection -> \
              promotion -> reconfiguration, over asynchronous replication",
    groups: &[
        GroupSpec {
            name: "redis",
            word: "redis",
            min: 2,
            max: 64,
            default: None,
            doc: "Redis instances: the first starts as master, the others as its replicas.",
        },
        GroupSpec {
            name: "sentinels",
            word: "sentinel",
            min: 1,
            max: 15,
            default: Some(3),
            doc: "Sentinel processes, each monitoring the master with the same quorum.",
        },
    ],
    params: params::SPECS,
    targets: &[
        TargetSpec {
            word: "master",
            takes_number: false,
            doc: "The current master: the one the live Sentinel with the highest config epoch \
                  names, if it is up; else the serving leader.",
        },
        TargetSpec {
            word: "replica",
            takes_number: false,
            doc: "A random live Redis instance other than the current master.",
        },
    ],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<RedisSentinel>,
};

const fn gap(name: &'static str, doc: &'static str) -> ColumnSpec {
    ColumnSpec::lower_ms(name, doc)
}

/// The failover timeline, one gap per column, along the path of the leader
/// whose promotion was seen first after the fault.
const COLUMNS: &[ColumnSpec] = &[
    gap(
        "sdown_ms",
        "From the fault to the first Sentinel's +sdown of the master (= detect_ms).",
    ),
    gap(
        "odown_ms",
        "From that +sdown to the first +odown (quorum agreement).",
    ),
    gap(
        "try_failover_ms",
        "From the first +odown to the winning leader's +try-failover of its winning epoch: 0 \
         when that Sentinel reached ODOWN first (it starts in the same timer run); lost \
         elections and their 2 x failover-timeout wait show here.",
    ),
    gap(
        "elected_leader_ms",
        "From that +try-failover to its +elected-leader (the vote round).",
    ),
    gap(
        "selected_slave_ms",
        "From +elected-leader to +selected-slave.",
    ),
    gap(
        "promoted_slave_ms",
        "From +selected-slave to +promoted-slave: SLAVEOF NO ONE, then the replica's next \
         INFO reply showing role:master (= recover_ms).",
    ),
    gap(
        "reconf_ms",
        "From +promoted-slave to the leader's +failover-end: the other replicas reconfigured, \
         parallel-syncs at a time.",
    ),
    gap(
        "switch_master_ms",
        "From +failover-end to the leader's +switch-master: 0 in sentinel.c's order (both \
         in the same timer run); kept so that a change to that order shows.",
    ),
];

/// The timeline gaps of a trial (see [`COLUMNS`]).
fn timeline_gaps(out: &SimOutput) -> Vec<Option<f64>> {
    let mut cols = vec![None; COLUMNS.len()];
    let Some(t0) = out.faults.iter().find(|f| f.applied).map(|f| f.at) else {
        return cols;
    };
    let phase = |r: &crate::engine::sim::Record, want: &str| matches!(r.obs, Obs::Phase { name, .. } if name == want);
    let first_after = |want: &str, t: SimTime| {
        out.records
            .iter()
            .find(|r| r.at >= t && phase(r, want))
            .map(|r| (r.at, r.node))
    };
    let ms = |a: SimTime, b: SimTime| Some(a.since(b).as_ms_f64());
    let Some((sdown, _)) = first_after("+sdown", t0) else {
        return cols;
    };
    cols[0] = ms(sdown, t0);
    let Some((odown, _)) = first_after("+odown", sdown) else {
        return cols;
    };
    cols[1] = ms(odown, sdown);
    let Some((promoted, leader)) = first_after("+promoted-slave", odown) else {
        return cols;
    };
    let last_before = |want: &str| {
        out.records
            .iter()
            .filter(|r| r.node == leader && r.at >= odown && r.at <= promoted && phase(r, want))
            .map(|r| r.at)
            .next_back()
    };
    let (Some(tried), Some(elected), Some(selected)) = (
        last_before("+try-failover"),
        last_before("+elected-leader"),
        last_before("+selected-slave"),
    ) else {
        return cols;
    };
    cols[2] = ms(tried, odown);
    cols[3] = ms(elected, tried);
    cols[4] = ms(selected, elected);
    cols[5] = ms(promoted, selected);
    let after = |want: &str, t: SimTime| {
        out.records
            .iter()
            .find(|r| r.node == leader && r.at >= t && phase(r, want))
            .map(|r| r.at)
    };
    if let Some(end) = after("+failover-end", promoted) {
        cols[6] = ms(end, promoted);
        if let Some(switch) = after("+switch-master", end) {
            cols[7] = ms(switch, end);
        }
    }
    cols
}

/// Timers of every node kind, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Sentinel's timer run.
    Tick,
    /// An instance's replicationCron.
    ReplCron,
    /// A master starts the pending diskless full syncs.
    Bgsave,
    /// The WAIT of write `op` times out.
    WaitTimeout { op: u64 },
    /// The client's Sentinel query times out.
    ClientAsk,
    /// The client asks the Sentinels again.
    ClientRetry,
    /// Client command `op` times out.
    ClientOp { op: u64 },
}

/// Facts for [`RsChecker`].
#[derive(Clone, Debug)]
pub enum RsNote {
    /// A Redis instance (re)started.
    Started { node: NodeId, incarnation: u32 },
    /// A Sentinel's durable epochs (written, or read at start).
    Epochs {
        sentinel: NodeId,
        current: u64,
        config: u64,
        leader_epoch: u64,
    },
    /// `sentinel` was elected leader for `epoch` (+elected-leader).
    Leader { sentinel: NodeId, epoch: u64 },
    /// The leader of `epoch` selected `chosen`, seeing the master as `master`.
    Selected {
        sentinel: NodeId,
        epoch: u64,
        chosen: Candidate,
        master: MasterState,
    },
    /// A Sentinel switched to `master` (+switch-master).
    Switched {
        sentinel: NodeId,
        master: NodeId,
        config_epoch: u64,
    },
    /// A client saw write `op` acknowledged by `master`.
    Acked {
        op: u64,
        master: NodeId,
        at: SimTime,
    },
}

/// A Redis instance, a Sentinel or a client.
#[derive(Clone, Debug)]
pub enum RsNode {
    Redis(Box<Redis>),
    Sentinel(Box<Sentinel>),
    Client(Box<Client>),
}

impl RsNode {
    pub fn redis(&self) -> Option<&Redis> {
        match self {
            RsNode::Redis(r) => Some(r),
            _ => None,
        }
    }

    pub fn sentinel(&self) -> Option<&Sentinel> {
        match self {
            RsNode::Sentinel(s) => Some(s),
            _ => None,
        }
    }
}

impl Node for RsNode {
    type Msg = Msg;
    type Timer = Timer;
    type Note = RsNote;
    type Durable = RsDurable;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            RsNode::Redis(r) => r.on_start(ctx),
            RsNode::Sentinel(s) => s.on_start(ctx),
            RsNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            RsNode::Redis(r) => r.on_message(ctx, from, msg),
            RsNode::Sentinel(s) => s.on_message(ctx, from, msg),
            RsNode::Client(c) => c.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            RsNode::Redis(r) => r.on_timer(ctx, timer),
            RsNode::Sentinel(s) => s.on_timer(ctx, timer),
            RsNode::Client(c) => c.on_timer(ctx, timer),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        if let RsNode::Client(c) = self {
            c.on_client(ctx, op);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        match self {
            RsNode::Redis(r) => r.on_link_reset(ctx, peer),
            RsNode::Sentinel(s) => s.on_link_reset(ctx, peer),
            RsNode::Client(c) => c.on_link_reset(ctx, peer),
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, write: RsWrite) {
        if let RsNode::Sentinel(s) = self {
            s.on_persisted(ctx, write);
        }
    }

    fn durable(&self) -> RsDurable {
        match self {
            RsNode::Redis(r) => RsDurable {
                redis: r.conf().clone(),
                ..RsDurable::default()
            },
            RsNode::Sentinel(s) => RsDurable {
                sentinel: s.conf().clone(),
                ..RsDurable::default()
            },
            RsNode::Client(_) => RsDurable::default(),
        }
    }

    fn view(&self) -> View {
        match self {
            RsNode::Redis(r) => r.view(),
            RsNode::Sentinel(s) => s.view(),
            RsNode::Client(c) => c.view(),
        }
    }
}

/// The `redis/sentinel` model of one sweep point.
#[derive(Clone, Debug)]
pub struct RedisSentinel {
    pub redis: usize,
    pub sentinels: usize,
    pub params: RsParams,
    /// The workload arms the lost-write guarantee (see `checker.rs`).
    pub writes_guaranteed: bool,
}

impl RedisSentinel {
    pub fn new(redis: usize, sentinels: usize, params: RsParams) -> Self {
        RedisSentinel {
            redis,
            sentinels,
            params,
            writes_guaranteed: false,
        }
    }

    fn sentinel_ids(&self) -> Vec<NodeId> {
        (self.redis..self.redis + self.sentinels)
            .map(|i| NodeId(i as u32))
            .collect()
    }
}

/// Whether a fault schedule is a single crash of the master, never restarted.
fn single_master_crash(faults: &[crate::engine::fault::FaultSpec]) -> bool {
    matches!(faults, [f] if matches!(f.action, Action::Crash { .. })
        && f.duration.is_none()
        && matches!(f.target, Target::Leader | Target::Path { word: "master", .. }))
}

impl crate::runner::FromWorkload for RedisSentinel {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        let params = RsParams::from_params(&w.params);
        let mut m = RedisSentinel::new(sizes[0], sizes[1], params);
        m.writes_guaranteed = m.params.min_replicas_to_write >= 1
            && m.params.wait_numreplicas >= 1
            && single_master_crash(&w.faults);
        m
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        timeline_gaps(out)
    }
}

impl Model for RedisSentinel {
    type Node = RsNode;
    type Checker = RsChecker;

    fn servers(&self) -> usize {
        self.redis + self.sentinels
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("redis", self.redis), ("sentinels", self.sentinels)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<RsNode>, RsChecker) {
        let mut nodes = Vec::with_capacity(self.servers() + clients);
        for i in 0..self.redis {
            let conf = RedisConf {
                replicaof: (i > 0).then_some(NodeId(0)),
            };
            nodes.push(RsNode::Redis(Box::new(Redis::new(
                NodeId(i as u32),
                self.params.clone(),
                conf,
            ))));
        }
        for id in self.sentinel_ids() {
            // A settled deployment: each sentinel.conf already lists the
            // replicas and the other Sentinels (Sentinel writes these lines
            // once it has discovered them).
            let conf = SentinelConf {
                master: NodeId(0),
                known_replicas: (1..self.redis).map(|i| NodeId(i as u32)).collect(),
                known_sentinels: self
                    .sentinel_ids()
                    .into_iter()
                    .filter(|s| *s != id)
                    .collect(),
                ..SentinelConf::default()
            };
            nodes.push(RsNode::Sentinel(Box::new(Sentinel::new(
                id,
                self.params.clone(),
                conf,
            ))));
        }
        for _ in 0..clients {
            nodes.push(RsNode::Client(Box::new(Client::new(
                self.sentinel_ids(),
                self.params.clone(),
            ))));
        }
        let checker = RsChecker::new(self.params.priority.clone(), self.writes_guaranteed);
        (nodes, checker)
    }

    fn recover(&self, id: NodeId, durable: &RsDurable) -> RsNode {
        assert!(id.index() < self.servers(), "clients are never faulted");
        if id.index() < self.redis {
            RsNode::Redis(Box::new(Redis::new(
                id,
                self.params.clone(),
                durable.redis.clone(),
            )))
        } else {
            RsNode::Sentinel(Box::new(Sentinel::new(
                id,
                self.params.clone(),
                durable.sentinel.clone(),
            )))
        }
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, RsNode>) -> Option<(usize, Scope)> {
        let master = || {
            let named = t
                .nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| t.up[*i])
                .filter_map(|(_, n)| n.sentinel())
                .max_by_key(|s| s.conf().config_epoch)
                .map(|s| s.current_master().index());
            match named {
                Some(m) if t.up[m] => Some(m),
                _ => t.leader(),
            }
        };
        let node = match target {
            Target::Path { word: "master", .. } => master(),
            Target::Path {
                word: "replica", ..
            } => {
                let m = master();
                t.random_live(0..self.redis, m)
            }
            other => t.common(other),
        };
        node.map(|i| (i, Scope::Whole))
    }
}
