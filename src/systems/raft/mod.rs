//! Raft: one server state machine ([`core`]) shared by every Raft-based
//! path, with its messages, client, checker and model. A path (`raft/etcd`,
//! `raft/paper`) is a [`Flavor`]: its parameters under the real system's
//! names, read into a [`core::Config`]. KRaft (`kafka/controller-kraft`) is
//! a configuration of the same core with [`kraft`] switched on and a model
//! of its own (two node groups); DLedger (`rocketmq/dledger`) likewise with
//! [`dledger`] switched on, its clients RocketMQ producers
//! ([`Client::producer`]).
//!
//! Modelled from the Raft paper (Ongaro & Ousterhout, USENIX ATC 2014,
//! Figure 2, §5, §9.3) and etcd's `raft/raft.go` (`tickElection`,
//! `tickHeartbeat`, `campaign`, `Step`, `stepLeader`, `handleAppendEntries`,
//! `maybeCommit`, `resetRandomizedElectionTimeout`): terms; a randomized
//! election timeout; RequestVote granted at most once per term and only to a
//! candidate whose log is at least as up to date (last term, then last
//! index); AppendEntries with the consistency check on `(prevIndex,
//! prevTerm)` and truncation at the first conflicting entry; heartbeats;
//! commitment only of entries of the leader's own term stored on a majority
//! (the leader counting itself once its own disk holds them); term and vote
//! and log written through the engine's disk model before any reply that
//! depends on them; optional pre-vote and check-quorum; leader transfer by
//! TimeoutNow (in the core, not yet driven by any fault or workload).
//!
//! Simplifications:
//! * The log holds entries only (no state machine, no snapshots, no log
//!   compaction); a far-behind follower is repaired entry by entry from the
//!   leader's log, up to `max_batch` entries per message.
//! * A rejected append moves the follower's next index back to the
//!   follower's hint (its last index, or one before the rejected index);
//!   etcd's probe/replicate/snapshot progress states and in-flight window
//!   are not modelled: the leader sends optimistically and re-probes from
//!   the match index on a heartbeat response of a follower behind.
//! * Membership is fixed (no joint consensus, no learners); every server
//!   votes.
//! * Reads are not modelled (a client's read fails at once); ReadIndex and
//!   lease reads are left out.
//! * The leader acknowledges a write when it commits it (etcd answers after
//!   applying, which here costs nothing).
//! * A client retries a refused write at the leader the server names, else
//!   at the next server, at most 10 times, and gives up after
//!   `client_timeout` without an answer.
//! * A message carries no size: network latency is per message, whatever
//!   the number of entries.

pub mod checker;
pub mod client;
pub mod core;
pub mod dledger;
pub mod etcd;
pub mod kraft;
pub mod paper;

#[cfg(test)]
pub(crate) mod tests;

use std::marker::PhantomData;

pub use checker::RaftChecker;
pub use client::Client;
pub use core::{Config, Entry, RaftDurable, RaftWrite, Server, State};

use crate::engine::sim::SimOutput;
use crate::engine::{ClientOp, Ctx, Model, Node, NodeId, Obs, Scope, View};
use crate::systems::{Better, ColumnSpec};
use crate::workload::Workload;

/// Messages between servers (etcd's `MsgVote`/`MsgPreVote`, `MsgApp`,
/// `MsgHeartbeat`, `MsgTimeoutNow` and their responses) and with clients.
#[derive(Clone, Debug)]
pub enum Msg {
    /// RequestVote; `pre` for a pre-vote, whose `term` is the term the
    /// sender would campaign in. `force`: a leader transfer, which
    /// disregards the lease.
    Vote {
        term: u64,
        pre: bool,
        last_index: u64,
        last_term: u64,
        force: bool,
    },
    VoteResp {
        term: u64,
        pre: bool,
        granted: bool,
    },
    App {
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        commit: u64,
    },
    /// `index`: the follower's last new index on success, the rejected
    /// `prev_index` on a reject; `hint`: where the leader should retry from.
    AppResp {
        term: u64,
        index: u64,
        reject: bool,
        hint: u64,
    },
    Heartbeat {
        term: u64,
        commit: u64,
    },
    HeartbeatResp {
        term: u64,
    },
    /// Campaign now, disregarding the timeout and the lease (leader transfer).
    TimeoutNow {
        term: u64,
    },
    /// KRaft: Fetch of the log from the fetcher's end offset `offset` (it
    /// holds entries `1..=offset`), `last_epoch` the epoch of its entry at
    /// `offset`; `epoch` is the fetcher's current epoch.
    Fetch {
        epoch: u64,
        offset: u64,
        last_epoch: u64,
    },
    /// KRaft: the answer to a Fetch, with the leader and epoch the responder
    /// knows (Kafka's `currentLeader`).
    FetchResp {
        epoch: u64,
        leader: Option<NodeId>,
        result: kraft::FetchResult,
    },
    /// KRaft: the sender leads `epoch` (BeginQuorumEpoch, to voters only).
    BeginEpoch {
        epoch: u64,
    },
    /// KRaft: the sender resigned `epoch`; `successors`: the other voters by
    /// descending fetch offset (EndQuorumEpoch's preferred successors).
    EndEpoch {
        epoch: u64,
        successors: Vec<NodeId>,
    },
    /// DLedger: a VoteRequest of the sender's vote round `round` (each
    /// round has its own response futures).
    DlVote {
        term: u64,
        last_index: u64,
        last_term: u64,
        round: u64,
    },
    /// DLedger: the answer to a VoteRequest (`VoteResponse.RESULT`).
    DlVoteResp {
        term: u64,
        result: dledger::VoteResult,
        round: u64,
    },
    /// DLedger: the answer to a HeartBeatRequest (`DLedgerResponseCode`).
    DlHeartbeatResp {
        term: u64,
        code: dledger::HeartbeatCode,
    },
    /// DLedger: the leader of `term` asks the transferee to take leadership
    /// once its ledger reaches `ledger_index` (LeadershipTransferRequest).
    TakeLeadership {
        term: u64,
        ledger_index: u64,
    },
    /// DLedger: the transferee's answer (`SUCCESS` or not).
    TakeLeadershipResp {
        term: u64,
        ok: bool,
    },
    /// A RocketMQ producer's route lookup (the NameServer's view of the
    /// broker group: which broker registered as master last).
    RouteQuery,
    /// `master`: the answering broker is master, elected in `term`.
    RouteResp {
        master: bool,
        term: u64,
    },
    ClientReq {
        op: ClientOp,
    },
    /// `leader`: who the server believes leads, for the client's redirect.
    ClientResp {
        op: u64,
        ok: bool,
        leader: Option<NodeId>,
    },
}

impl Msg {
    /// The Raft term a server message carries; `None` for client traffic.
    pub fn term(&self) -> Option<u64> {
        match self {
            Msg::Vote { term, .. }
            | Msg::VoteResp { term, .. }
            | Msg::App { term, .. }
            | Msg::AppResp { term, .. }
            | Msg::Heartbeat { term, .. }
            | Msg::HeartbeatResp { term }
            | Msg::TimeoutNow { term } => Some(*term),
            Msg::Fetch { epoch, .. }
            | Msg::FetchResp { epoch, .. }
            | Msg::BeginEpoch { epoch }
            | Msg::EndEpoch { epoch, .. } => Some(*epoch),
            Msg::DlVote { term, .. }
            | Msg::DlVoteResp { term, .. }
            | Msg::DlHeartbeatResp { term, .. }
            | Msg::TakeLeadership { term, .. }
            | Msg::TakeLeadershipResp { term, .. } => Some(*term),
            Msg::ClientReq { .. }
            | Msg::ClientResp { .. }
            | Msg::RouteQuery
            | Msg::RouteResp { .. } => None,
        }
    }
}

/// Timers, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// etcd's logical clock (tick mode).
    Tick,
    /// The randomized election timeout (continuous mode).
    Election,
    Heartbeat,
    CheckQuorum,
    /// A client's deadline for write `op`.
    ClientOp(u64),
    /// KRaft: a follower's fetch timeout (`controller.quorum.fetch.timeout.ms`).
    FetchTimeout,
    /// KRaft: the outstanding Fetch's request timeout.
    Request,
    /// KRaft: send the next Fetch after the retry backoff.
    Retry,
    /// KRaft: the leader answers the fetch of this node parked in its
    /// purgatory (`MAX_FETCH_WAIT_MS`).
    Parked(NodeId),
    /// KRaft: the leader resends BeginQuorumEpoch.
    BeginEpoch,
    /// KRaft: the metadata image has been loaded (controller activation).
    ImageLoaded,
    /// DLedger's own timers.
    Dl(dledger::DlTimer),
    /// A RocketMQ producer's route refresh (`pollNameServerInterval`).
    RouteRefresh,
}

/// Facts for [`RaftChecker`].
#[derive(Clone, Debug)]
pub enum RaftNote {
    Elected {
        term: u64,
        leader: NodeId,
    },
    /// `leader` of `term` committed `entries`, the first at index `from`.
    Committed {
        leader: NodeId,
        term: u64,
        from: u64,
        entries: Vec<Entry>,
    },
    /// The leader acknowledged write `op`, entry `index` of term `term`.
    Ack {
        index: u64,
        term: u64,
        op: u64,
    },
    /// A candidate lost its election (a majority refused it).
    Lost {
        term: u64,
    },
}

/// A server or a client.
#[derive(Clone, Debug)]
pub enum RaftNode {
    Server(Box<Server>),
    Client(Box<Client>),
}

impl RaftNode {
    pub fn server(&self) -> Option<&Server> {
        match self {
            RaftNode::Server(s) => Some(s),
            RaftNode::Client(_) => None,
        }
    }

    pub fn server_mut(&mut self) -> Option<&mut Server> {
        match self {
            RaftNode::Server(s) => Some(s),
            RaftNode::Client(_) => None,
        }
    }
}

impl Node for RaftNode {
    type Msg = Msg;
    type Timer = Timer;
    type Note = RaftNote;
    type Durable = RaftDurable;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            RaftNode::Server(s) => s.on_start(ctx),
            RaftNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            RaftNode::Server(s) => s.on_message(ctx, from, msg),
            RaftNode::Client(c) => c.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            RaftNode::Server(s) => s.on_timer(ctx, timer),
            RaftNode::Client(c) => c.on_timer(ctx, timer),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        if let RaftNode::Client(c) = self {
            c.on_client(ctx, op);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        if let RaftNode::Server(s) = self {
            if s.cfg.dledger.is_some() {
                s.dledger_link_reset(ctx, peer);
            }
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, write: RaftWrite) {
        if let RaftNode::Server(s) = self {
            s.on_persisted(ctx, write);
        }
    }

    fn durable(&self) -> RaftDurable {
        match self {
            RaftNode::Server(s) => s.durable().clone(),
            RaftNode::Client(_) => RaftDurable::default(),
        }
    }

    fn view(&self) -> View {
        match self {
            RaftNode::Server(s) => s.view(),
            RaftNode::Client(c) => c.view(),
        }
    }
}

/// What a path sets up: the Raft configuration, and the Figure 16 extras.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub cfg: Config,
    /// Log lengths the servers start with (all entries of term 1), one per
    /// server; empty: every log starts empty.
    pub preset_logs: Vec<u64>,
    /// Server 1 campaigns as soon as it starts, so the trial begins from a
    /// known leader instead of a first election.
    pub bootstrap_leader: bool,
}

/// A Raft-based path: how it reads its parameters.
pub trait Flavor: Send + Sync + 'static {
    fn setup(w: &Workload) -> Setup;
}

/// The model of one sweep point of a Raft path.
#[derive(Debug)]
pub struct RaftModel<F> {
    pub servers: usize,
    pub setup: Setup,
    flavor: PhantomData<fn() -> F>,
}

impl<F> Clone for RaftModel<F> {
    fn clone(&self) -> Self {
        RaftModel {
            servers: self.servers,
            setup: self.setup.clone(),
            flavor: PhantomData,
        }
    }
}

impl<F: Flavor> RaftModel<F> {
    pub fn new(servers: usize, setup: Setup) -> Self {
        RaftModel {
            servers,
            setup,
            flavor: PhantomData,
        }
    }

    fn durable_of(&self, i: usize) -> RaftDurable {
        let len = self.setup.preset_logs.get(i).copied().unwrap_or(0);
        RaftDurable {
            term: u64::from(len > 0),
            vote: None,
            leader: None,
            log: vec![Entry { term: 1, op: None }; len as usize],
        }
    }
}

/// `leaderless_ms`: a column every Raft path adds.
pub const LEADERLESS: ColumnSpec = ColumnSpec {
    name: "leaderless_ms",
    unit: "ms",
    better: Better::Lower,
    doc: "From the fault to the first leader elected after it (any term): the Raft \
          paper's \"time without leader\" of Figure 16; empty when none was elected.",
};

/// `split_votes`: a column every Raft path adds.
pub const SPLIT_VOTES: ColumnSpec = ColumnSpec {
    name: "split_votes",
    unit: "count",
    better: Better::Lower,
    doc: "Campaigns (real, not pre-vote) started after the fault, up to the first leader \
          elected after it, in a term other than the one that leader won: each \
          candidate's campaign counts, so a round split among three candidates counts 3.",
};

/// The result columns every Raft path adds.
pub const COLUMNS: &[ColumnSpec] = &[LEADERLESS, SPLIT_VOTES];

/// `leaderless_ms` and `split_votes` of a trial.
pub fn raft_columns(out: &SimOutput) -> Vec<Option<f64>> {
    let Some(t0) = out.faults.iter().find(|f| f.applied).map(|f| f.at) else {
        return vec![None, None];
    };
    let elected = out.records.iter().find_map(|r| match r.obs {
        Obs::Elected {
            scope: Scope::Whole,
            term,
            ..
        } if r.at >= t0 => Some((r.at, term)),
        _ => None,
    });
    let Some((at, term)) = elected else {
        return vec![None, None];
    };
    let rounds = out
        .records
        .iter()
        .filter(|r| r.at >= t0 && r.at <= at)
        .filter(|r| matches!(r.obs, Obs::ElectionRound { term: t, .. } if t != term))
        .count();
    vec![Some(at.since(t0).as_ms_f64()), Some(rounds as f64)]
}

impl<F: Flavor> crate::runner::FromWorkload for RaftModel<F> {
    fn from_workload(w: &Workload) -> Self {
        RaftModel::new(w.nodes, F::setup(w))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        raft_columns(out)
    }
}

impl<F: Flavor> Model for RaftModel<F> {
    type Node = RaftNode;
    type Checker = RaftChecker;

    fn servers(&self) -> usize {
        self.servers
    }

    fn build(&self, clients: usize) -> (Vec<RaftNode>, RaftChecker) {
        let mut nodes: Vec<RaftNode> = (0..self.servers)
            .map(|i| {
                RaftNode::Server(Box::new(Server::new(
                    NodeId(i as u32),
                    self.servers,
                    self.setup.cfg.clone(),
                    self.durable_of(i),
                    self.setup.bootstrap_leader && i == 0,
                )))
            })
            .collect();
        nodes.extend((0..clients).map(|_| {
            RaftNode::Client(Box::new(Client::new(
                self.servers,
                self.setup.cfg.client_timeout,
            )))
        }));
        (nodes, RaftChecker::default())
    }

    fn recover(&self, id: NodeId, durable: &RaftDurable) -> RaftNode {
        assert!(id.index() < self.servers, "clients are never faulted");
        RaftNode::Server(Box::new(Server::new(
            id,
            self.servers,
            self.setup.cfg.clone(),
            durable.clone(),
            false,
        )))
    }
}
