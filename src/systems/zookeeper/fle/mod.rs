//! `zookeeper/fle`: FastLeaderElection among the ensemble, then Zab discovery,
//! synchronisation and broadcast, with clients writing through the servers.
//!
//! Follows `PROTOCOLS.md` §1.2–1.4 and §1.6–1.7, read against apache/zookeeper
//! 3.8 (`FastLeaderElection.java`, `QuorumPeer.java`, `Leader.java`,
//! `LearnerHandler.java`, `Learner.java`, `Follower.java`,
//! `ZooKeeperServer.java`, `ClientCnxn.java`).
//!
//! What is modelled:
//! * FLE exactly as `lookForLeader`: vote order (peerEpoch, zxid, sid);
//!   logical-clock rounds (a higher round clears the received votes); the
//!   poll timeout starting at `minNotificationInterval` and doubling on each
//!   empty poll up to `maxNotificationInterval`, re-sending the proposal; the
//!   `finalizeWait` drain after a quorum agrees; FOLLOWING/LEADING
//!   notifications with `checkLeader` and the out-of-election set, so a
//!   restarted server joins an established ensemble; the receiver thread's
//!   replies to looking peers.
//! * What a server does outside those rules, as `QuorumPeer.run` does it, each
//!   a `model.*` parameter (0 turns it off): a follower or leader that loses
//!   its leader or quorum first shuts down (`model.shutdownMs` plus a uniform
//!   `model.shutdownJitterMs`) and meanwhile answers looking peers with its
//!   old FOLLOWING/LEADING vote, so the survivors start FLE staggered; the
//!   election threads process one notification at a time
//!   (`model.fleNotificationUs`), a server's notification to itself takes
//!   `model.fleSelfDeliveryUs`; after FLE decides, `makeLeader` binds the
//!   learner socket (`model.makeLeaderMs`; a learner that connects earlier is
//!   refused and retries after `leaderConnectDelayDuringRetryMs`), `lead()`
//!   loads its data before accepting learners (`model.leaderLoadDataMs`;
//!   connections wait in the backlog), `makeFollower` precedes the first
//!   connection attempt (`model.makeFollowerMs`), a learner starts its
//!   request processors before acking NEWLEADER (`model.learnerStartupMs`),
//!   and the leader's `ZooKeeperServer.startup` runs before it serves and
//!   before UPTODATE goes out (`model.leaderStartupMs`). The defaults were
//!   calibrated on ZooKeeper 3.8.0 servers sharing one 2-core VM
//!   (`scripts/zk-real-failover.sh`, `results/zookeeper.md`).
//! * Zab discovery (`getEpochToPropose`, LEADERINFO/ACKEPOCH with the −1
//!   ack, "follower is ahead" refusal), synchronisation (DIFF, TRUNC, SNAP by
//!   `zookeeper.commitLogCount`, NEWLEADER, ACK, UPTODATE), each wait bounded
//!   by `initLimit × tickTime`; broadcast with quorum ACKs and commits in zxid
//!   order; a follower connects up to 5 times, `leaderConnectDelayDuringRetryMs`
//!   apart, within `connectToLearnerMasterLimit × tickTime`. A learner that
//!   joins an established leader gets its outstanding proposals without their
//!   COMMIT (`startForwarding`), holds what arrives between NEWLEADER and
//!   UPTODATE, applies only what was committed, and acks the rest after
//!   UPTODATE. After sync, FOLLOWING/LEADING replies carry the new epoch
//!   (`updateElectionVote`, ZOOKEEPER-1732).
//! * Broadcast under load: proposals are pipelined (the leader does not
//!   wait for one's ACKs before the next), and what makes an ensemble
//!   saturate is the request pipeline's CPU time, one single-server stage
//!   per server: the leader's (`model.leaderRequestUs` plus
//!   `model.proposalSendUs` per learner, per write) before it proposes, a
//!   follower's (`model.followerRequestUs` per proposal) before its log
//!   write. Calibrated on the ZooKeeper paper's write saturation figures
//!   (`results/zookeeper-throughput.md`); `pipeline.rs` maps the stages to
//!   the real request processors and lists its simplifications.
//! * Failure detection: the follower's read timeout (`initLimit × tickTime`
//!   while syncing, `syncLimit × tickTime` after NEWLEADER); the leader's tick
//!   loop (pings every `tickTime/2`, a quorum of learners heard from within
//!   `syncLimit` ticks every tick, else it steps down); and the connection
//!   reset a crashed process on a live host produces (fault `host_alive`).
//! * Clients: a shuffled server list, connect timeout `sessionTimeout/n`,
//!   read timeout `2/3 sessionTimeout`, pings, 0–1000 ms random sleep before
//!   each reconnect, ConnectionLoss for in-flight requests, and refusal by a
//!   server whose state is older than the client's last zxid. Writes go to
//!   the connected server, which forwards them to the leader and answers the
//!   client after it applies the commit. Reads are answered locally.
//!
//! Simplifications (each changes costs, not the order of protocol steps):
//! * Connection set-up between servers costs no time beyond network latency,
//!   and the per-peer send queue of capacity 1 is not modelled (messages are
//!   never dropped by the sender); a notification to a dead peer is simply lost.
//! * Disk: the server's files are its durable state (`durable.rs`), written
//!   through the engine's disk model, which costs nothing unless a workload
//!   gives `[disk]` an fsync time. A follower waits for the disk where the
//!   real one does: its `acceptedEpoch` file before ACKEPOCH, the synced log
//!   and its `currentEpoch` file before acking NEWLEADER, each proposal
//!   before acking it (skipping the fsync with `zookeeper.forceSync = no`);
//!   the leader counts its own ACK once its log write is durable. The
//!   epoch files share the log's disk queue (group commit),
//!   and every write is sized 0 bytes (snapshot size is not modelled). With
//!   `forceSync = no` a write counts as durable when it completes; that the
//!   page cache survives a process crash but not a host crash is not
//!   modelled. A SNAP or DIFF is one message with network latency, whatever
//!   its size. On disk there is only the transaction log: the data tree and
//!   session table are derived from it (replayed after a restart, TRUNC or
//!   SNAP), not kept in a snapshot file. The leader's acceptedEpoch file is durable before LEADERINFO goes
//!   out, and it counts its own NEWLEADER ack once its currentEpoch file is.
//!   The snapshot `loadData` takes (no fsync) is part of
//!   `model.leaderLoadDataMs`.
//! * The modelled costs are fixed per server (the shutdown uniform in its
//!   range), not a distribution measured per step, and they do not grow with
//!   the data tree or with CPU contention among servers on one host. A
//!   killed JVM's teardown before its connections reset (10–25 ms) is the
//!   workload's `[network] reset_after_ms`, 0 unless given.
//! * The leader's per-learner `SyncLimitCheck` on un-acked proposals is not
//!   modelled (the tick loop's synced-quorum check is).
//! * This path's load clients write opaque transactions without sessions
//!   (no createSession, no session touches, no expiry). The servers do keep a
//!   data tree and session table applied from committed transactions, a
//!   leader session tracker and watches (`tree.rs`, `server.rs`), used by
//!   session clients hosting an app (`app.rs`, `session.rs`): that is the
//!   `zookeeper/ephemeral` path, and Kafka's ZooKeeper mode. Only voting
//!   participants, majority quorums, no observers, no dynamic
//!   reconfiguration, `maxTimeToWaitForEpoch` off.
//! * Sync decides DIFF/TRUNC/SNAP from the leader's own log (the model's
//!   learner logs are always a prefix of some leader's log plus a suffix of
//!   uncommitted proposals), except that an established leader truncates a
//!   learner that is ahead of its commit point to it, as `syncFollower` does
//!   with `maxCommittedLog`, and forwards its outstanding proposals after.
//!
//! A finding that differs from `PROTOCOLS.md` §1.3 step 3: when a learner's
//! ACKEPOCH shows it is ahead of the leader, `Leader.waitForEpochAck` throws
//! inside that learner's `LearnerHandler` thread, so only that connection is
//! closed; the leader keeps waiting for a quorum until `initLimit × tickTime`.

pub mod app;
mod checker;
mod client;
mod durable;
mod msg;
pub mod params;
mod pipeline;
mod server;
mod session;
pub mod tree;
pub mod vote;

#[cfg(test)]
mod broadcast_tests;
#[cfg(test)]
mod tests;

pub use app::{
    App, AppHost, NoApp, Op, Req, SessionState, WatchKind, ZkApi, ZkError, ZkEvent, ZkReply,
};
pub use checker::ZkChecker;
pub use client::Client;
pub use durable::{ZkDurable, ZkWrite};
pub use msg::{Msg, Notification, Txn, ZkOp};
pub use params::ZkParams;
pub use server::Server;

use crate::engine::sim::SimOutput;
use crate::engine::{ClientOp, Ctx, Model, Node, NodeId, SimDuration, SimTime, View};
use crate::engine::{Obs, Scope};
use crate::systems::{Better, ColumnSpec, GroupSpec, Params, PathInfo};
use crate::workload::Workload;

use vote::Zxid;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "zookeeper/fle",
    system: "zookeeper",
    summary: "FastLeaderElection among the ensemble, then Zab discovery, sync and broadcast",
    groups: &[GroupSpec {
        name: "servers",
        word: "server",
        min: 1,
        max: 255,
        default: None,
        doc: "Voting members of the ensemble (server.N lines of zoo.cfg); sids 1..=N.",
    }],
    params: params::SPECS,
    targets: &[],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<Fle>,
};

/// The result columns this path adds: `recover_ms` split into Zab's two
/// phases, ZooKeeper's own election figure, and the time until a quorum
/// serves.
const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "discovery_ms",
        unit: "ms",
        better: Better::Lower,
        doc: "Zab discovery after the fault: from the new leader's election to a quorum's \
              ACKEPOCH for its epoch (`epoch_agreed`); empty without a new leader serving.",
    },
    ColumnSpec {
        name: "sync_ms",
        unit: "ms",
        better: Better::Lower,
        doc: "Zab synchronisation after the fault: from `epoch_agreed` to the leader serving \
              (a quorum's ACK of NEWLEADER, then ZooKeeperServer.startup); discovery_ms + \
              sync_ms = recover_ms.",
    },
    ColumnSpec {
        name: "election_took_ms",
        unit: "ms",
        better: Better::Lower,
        doc: "What the new leader logs as \"LEADING - LEADER ELECTION TOOK\": from its own start \
              of FastLeaderElection (lookForLeader) to the start of Leader.lead(), so it \
              includes makeLeader but not the shutdown before the election.",
    },
    ColumnSpec {
        name: "quorum_serving_ms",
        unit: "ms",
        better: Better::Lower,
        doc: "From the fault until the new leader and enough followers to make a quorum serve in \
              the new epoch (each follower on UPTODATE).",
    },
];

/// The path's columns of a trial, about the leader that first serves after
/// the first applied fault: `discovery_ms`, `sync_ms`, `election_took_ms`,
/// `quorum_serving_ms`.
fn zab_phases(out: &SimOutput, servers: usize) -> Vec<Option<f64>> {
    let none = vec![None; 4];
    let Some(t0) = out.faults.iter().find(|f| f.applied).map(|f| f.at) else {
        return none;
    };
    let Some((served, leader)) = out.records.iter().find_map(|r| match r.obs {
        Obs::Serving {
            leader,
            scope: Scope::Whole,
            ..
        } if r.at > t0 => Some((r.at, leader)),
        _ => None,
    }) else {
        return none;
    };
    let last = |want: &dyn Fn(&Obs<()>) -> bool| {
        out.records
            .iter()
            .filter(|r| r.node == leader && r.at >= t0 && r.at <= served && want(&r.obs))
            .map(|r| r.at)
            .next_back()
    };
    let elected = last(&|o| matches!(o, Obs::Elected { .. }));
    let agreed = last(&|o| {
        matches!(
            o,
            Obs::Phase {
                name: "epoch_agreed",
                ..
            }
        )
    });
    let phase = |name: &'static str| move |o: &Obs<()>| matches!(o, Obs::Phase { name: n, .. } if *n == name);
    let (discovery, sync) = match (elected, agreed) {
        (Some(e), Some(a)) => (
            Some(a.since(e).as_ms_f64()),
            Some(served.since(a).as_ms_f64()),
        ),
        _ => (None, None),
    };
    // Leader.lead() began, and the lookForLeader that led to it.
    let lead = last(&phase("lead"));
    let looked = lead.and_then(|l| {
        out.records
            .iter()
            .filter(|r| r.node == leader && r.at <= l && phase("looking")(&r.obs))
            .map(|r| r.at)
            .next_back()
    });
    let took = match (looked, lead) {
        (Some(f), Some(l)) => Some(l.since(f).as_ms_f64()),
        _ => None,
    };
    // Followers serve on UPTODATE, which the leader sends once it serves.
    let need = servers / 2; // followers in a quorum besides the leader
    let quorum_at = if need == 0 {
        Some(served)
    } else {
        out.records
            .iter()
            .filter(|r| r.at >= served && r.node != leader && phase("serving")(&r.obs))
            .map(|r| r.at)
            .nth(need - 1)
    };
    vec![
        discovery,
        sync,
        took,
        quorum_at.map(|t| t.since(t0).as_ms_f64()),
    ]
}

/// Timers of servers and clients, keyed by value: setting one replaces the
/// pending timer equal to it, and a change of role cancels them all (a
/// session client hosting an app cancels only its own). `T` is the timer
/// type of a hosted app (`Timer::App`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer<T = ()> {
    Poll,
    ReadCheck,
    /// The follower's `attempt`-th connection attempt to its leader.
    Reconnect {
        attempt: u32,
    },
    LeaderPhase {
        phase: u8,
    },
    Tick,
    /// The work between two roles is done (`PeerRole::Between`).
    Between,
    /// A server's FLE notification to itself arrives.
    SelfNotification(Notification),
    /// The election threads finish processing the next notification.
    FleProcess,
    /// The new leader has loaded its data and accepts learners.
    LeaderReady,
    /// The new leader's `ZooKeeperServer.startup` is done.
    LeaderStarted,
    /// A learner's `startupWithoutServing` is done.
    LearnerStarted,
    ClientConnect,
    ClientReconnect,
    ClientRead,
    ClientPing,
    /// The request at the head of the server's pipeline stage is done
    /// (`pipeline.rs`).
    Pipeline,
    /// The leader's session tracker reaches its next expiry bucket
    /// (`SessionTrackerImpl.run`).
    SessionExpiry,
    /// Session client (ClientCnxn of an app host): connect timeout, the
    /// sleep before a reconnect, read timeout and ping.
    SessConnect,
    SessReconnect,
    SessRead,
    SessPing,
    /// A timer of the hosted app.
    App(T),
}

/// Facts for [`ZkChecker`]; `N` is a hosted app's own notes (`ZkNote::App`),
/// which the ZooKeeper checker ignores.
#[derive(Clone, Debug)]
pub enum ZkNote<N = ()> {
    /// FLE decided: `leader` leads with this vote, elected by `supporters`.
    Decided {
        leader: NodeId,
        peer_epoch: u64,
        zxid: Zxid,
        supporters: Vec<NodeId>,
    },
    /// A quorum acked `epoch`; `summary` is the leader's (currentEpoch,
    /// lastZxid) when it began leading.
    EpochAcked {
        leader: NodeId,
        epoch: u64,
        summary: (u64, Zxid),
        quorum: Vec<NodeId>,
    },
    /// A learner of `leader` starts serving (UPTODATE) having applied every
    /// transaction up to `applied`.
    UpToDate { leader: NodeId, applied: Zxid },
    /// A quorum acked NEWLEADER: `leader` serves `epoch`.
    Established { leader: NodeId, epoch: u64 },
    /// A client saw write `op` acknowledged with `zxid`.
    Acked { op: u64, zxid: Zxid },
    /// A session client got its session (a new one, not a reconnect).
    SessionStarted { session: u64, timeout: SimDuration },
    /// A watch event reached a session client; `registration` is the watch
    /// it fired (`None`: the client held no watch on the path, so a watch
    /// fired twice).
    WatchFired {
        session: u64,
        path: String,
        kind: WatchKind,
        registration: Option<u64>,
    },
    /// The leader's session tracker expires `session` (its bucket came):
    /// last touched at `touched` with `timeout`, in the bucket ending at
    /// `bucket`, buckets of `tick`.
    Expiring {
        session: u64,
        touched: SimTime,
        timeout: SimDuration,
        tick: SimDuration,
        bucket: SimTime,
    },
    /// A server applied the closeSession of `session` (zxid `zxid`).
    SessionClosed { session: u64, zxid: Zxid },
    /// A note of the hosted app.
    App(N),
}

/// A node of the ensemble, a load-generating client, or a client process
/// hosting an application `A` on a ZooKeeper session (a Kafka broker, a lock
/// holder). `zookeeper/fle` hosts none ([`NoApp`]).
#[derive(Clone, Debug)]
pub enum ZkNode<A: App = NoApp> {
    Server(Box<Server>),
    Client(Box<Client>),
    App(Box<AppHost<A>>),
}

impl<A: App> ZkNode<A> {
    pub fn server(&self) -> Option<&Server> {
        match self {
            ZkNode::Server(s) => Some(s),
            ZkNode::Client(_) | ZkNode::App(_) => None,
        }
    }

    /// The app host of an app node.
    pub fn host(&self) -> Option<&AppHost<A>> {
        match self {
            ZkNode::App(h) => Some(h),
            ZkNode::Server(_) | ZkNode::Client(_) => None,
        }
    }
}

impl<A: App> Node for ZkNode<A> {
    type Msg = Msg<A::Msg>;
    type Timer = Timer<A::Timer>;
    type Note = ZkNote<A::Note>;
    type Durable = ZkDurable;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            ZkNode::Server(s) => s.on_start(ctx),
            ZkNode::Client(c) => c.on_start(ctx),
            ZkNode::App(h) => h.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg<A::Msg>) {
        match self {
            ZkNode::Server(s) => s.on_message(ctx, from, msg),
            ZkNode::Client(c) => c.on_message(ctx, from, msg),
            ZkNode::App(h) => h.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer<A::Timer>) {
        match self {
            ZkNode::Server(s) => s.on_timer(ctx, timer),
            ZkNode::Client(c) => c.on_timer(ctx, timer),
            ZkNode::App(h) => h.on_timer(ctx, timer),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        if let ZkNode::Client(c) = self {
            c.on_client(ctx, op);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        match self {
            ZkNode::Server(s) => s.on_link_reset(ctx, peer),
            ZkNode::Client(c) => c.on_link_reset(ctx, peer),
            ZkNode::App(h) => h.on_link_reset(ctx, peer),
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, write: ZkWrite) {
        if let ZkNode::Server(s) = self {
            s.on_persisted(ctx, write);
        }
    }

    fn durable(&self) -> ZkDurable {
        match self {
            ZkNode::Server(s) => s.durable().clone(),
            ZkNode::Client(_) | ZkNode::App(_) => ZkDurable::default(),
        }
    }

    fn view(&self) -> View {
        match self {
            ZkNode::Server(s) => s.view(),
            ZkNode::Client(c) => c.view(),
            ZkNode::App(h) => h.view(),
        }
    }
}

/// The `zookeeper/fle` model of one sweep point.
#[derive(Clone, Debug)]
pub struct Fle {
    pub servers: usize,
    pub params: ZkParams,
}

impl Fle {
    pub fn new(servers: usize, params: &Params) -> Self {
        Fle {
            servers,
            params: ZkParams::from_params(params),
        }
    }
}

impl crate::runner::FromWorkload for Fle {
    fn from_workload(w: &Workload) -> Self {
        Fle::new(w.nodes, &w.params)
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        zab_phases(out, self.servers)
    }

    fn election_wait(&self) -> SimDuration {
        self.params.finalize_wait
    }
}

impl Model for Fle {
    type Node = ZkNode;
    type Checker = ZkChecker;

    fn servers(&self) -> usize {
        self.servers
    }

    fn build(&self, clients: usize) -> (Vec<ZkNode>, ZkChecker) {
        let mut nodes: Vec<ZkNode> = (0..self.servers)
            .map(|i| {
                ZkNode::Server(Box::new(Server::new(
                    NodeId(i as u32),
                    self.servers,
                    self.params.clone(),
                )))
            })
            .collect();
        nodes.extend(
            (0..clients).map(|_| ZkNode::Client(Box::new(Client::new(self.servers, &self.params)))),
        );
        (nodes, ZkChecker::default())
    }

    fn recover(&self, id: NodeId, durable: &ZkDurable) -> ZkNode {
        assert!(id.index() < self.servers, "clients are never faulted");
        ZkNode::Server(Box::new(Server::recover(
            id,
            self.servers,
            self.params.clone(),
            durable,
        )))
    }
}
