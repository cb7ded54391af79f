//! The engine: what a protocol node is, the context it acts through, and the
//! runtimes that drive nodes.
//!
//! Protocol code is sans-IO. A node reacts to a message, a timer, a client
//! operation or a connection reset, and acts only through [`Ctx`]: it reads
//! `now`, sends messages, sets and cancels timers, draws from its own seeded
//! random stream and records observations. It never reads a clock, sleeps,
//! spawns or touches a socket, which is what lets the same code run under the
//! deterministic simulator ([`sim`]) and be tested event by event.

pub mod disk;
pub mod fault;
pub mod net;
pub mod rng;
pub mod sim;
mod time;

use std::fmt;

pub use rng::Rng;
pub use time::{SimDuration, SimTime};

/// Identity of a node inside one trial. Servers are `0..servers`, clients follow.
/// Workload files and reports number servers from 1 (`NodeId(0)` is "node 1").
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// Position in per-node vectors.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0 + 1)
    }
}

/// Sizes of a path's node groups, in the path's declaration order. Node ids
/// are laid out group after group (servers first), then the clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub groups: Vec<(&'static str, usize)>,
}

impl Topology {
    /// One group of `n` nodes.
    pub fn single(name: &'static str, n: usize) -> Self {
        Topology {
            groups: vec![(name, n)],
        }
    }

    /// Every node that is not a client.
    pub fn servers(&self) -> usize {
        self.groups.iter().map(|g| g.1).sum()
    }

    /// Node indices of group `g`.
    pub fn range(&self, g: usize) -> std::ops::Range<usize> {
        let start: usize = self.groups[..g].iter().map(|x| x.1).sum();
        start..start + self.groups[g].1
    }

    /// Group sizes, in order.
    pub fn sizes(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.1).collect()
    }
}

/// Identity of a timer set through [`Ctx::set_timer`], for [`Ctx::cancel_timer`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// The common observation every path maps its own vocabulary onto (Zab epoch,
/// Kafka leader epoch, Sentinel config epoch …), read by fault targeting and
/// metrics.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Taking part in an election, or not yet knowing a leader.
    Candidate,
    /// Following a known leader.
    Follower,
    /// Leading; serving clients only once [`View::serving`] is true.
    Leader,
    /// A client node.
    Client,
}

/// What a node says about itself; see [`Role`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub role: Role,
    /// The system's own epoch/term number of the leadership this node is in.
    pub term: u64,
    pub leader: Option<NodeId>,
    /// True when this node serves client requests.
    pub serving: bool,
}

/// Kind of client operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OpKind {
    Write,
    Read,
}

/// One client operation, issued by the engine's open-loop load generator at its
/// intended send time `issued`, so a stall cannot hide its own latency
/// (no coordinated omission).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ClientOp {
    pub id: u64,
    pub kind: OpKind,
    pub issued: SimTime,
}

/// An observation a node records for metrics and invariant checks. The common
/// variants have the same meaning on every path (see DESIGN.md "Measurements");
/// `Note` carries path-specific facts for that path's checker.
#[derive(Clone, Debug)]
pub enum Obs<N> {
    /// A failure detector declared `suspect` (or "the leader", when unknown) down.
    Detected { suspect: Option<NodeId> },
    /// This node started election round/term `term`.
    ElectionRound { term: u64 },
    /// `leader` won the election for `term` with a quorum behind it.
    Elected { leader: NodeId, term: u64 },
    /// `leader` (with its quorum) serves clients again in `term`.
    Serving { leader: NodeId, term: u64 },
    /// A client operation finished, successfully or not.
    OpDone { op: ClientOp, ok: bool },
    /// Path-specific fact for the path's checker.
    Note(N),
}

/// A sans-IO protocol state machine.
pub trait Node {
    type Msg: Clone + fmt::Debug;
    type Timer: fmt::Debug;
    type Note: fmt::Debug;

    /// The node boots, or reboots after a crash with only its durable state.
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>);
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg);
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Self::Timer);
    /// The load generator hands a client node an operation to perform.
    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        let _ = op;
        let _ = ctx;
    }
    /// The connection to `peer` was reset: its process died on a live host and
    /// the host's kernel closed the socket.
    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        let _ = (ctx, peer);
    }
    /// The node crashes: drop every volatile field, keep what is durable.
    fn on_crash(&mut self);
    /// The common observation of this node.
    fn view(&self) -> View;
}

/// What a node asked for during one handler call; applied by the runtime after
/// the handler returns.
pub(crate) struct Outbox<N: Node + ?Sized> {
    pub sends: Vec<(NodeId, N::Msg)>,
    pub timers: Vec<(SimDuration, TimerId, N::Timer)>,
    pub cancels: Vec<TimerId>,
    pub records: Vec<Obs<N::Note>>,
}

impl<N: Node + ?Sized> Default for Outbox<N> {
    fn default() -> Self {
        Outbox {
            sends: Vec::new(),
            timers: Vec::new(),
            cancels: Vec::new(),
            records: Vec::new(),
        }
    }
}

/// The only door a node has to the world.
pub struct Ctx<'a, N: Node + ?Sized> {
    now: SimTime,
    me: NodeId,
    rng: &'a mut Rng,
    out: &'a mut Outbox<N>,
    next_timer: &'a mut u64,
}

impl<'a, N: Node + ?Sized> Ctx<'a, N> {
    pub(crate) fn new(
        now: SimTime,
        me: NodeId,
        rng: &'a mut Rng,
        out: &'a mut Outbox<N>,
        next_timer: &'a mut u64,
    ) -> Self {
        Ctx {
            now,
            me,
            rng,
            out,
            next_timer,
        }
    }

    /// Current (virtual) time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Send `msg` to `to`. A message to oneself is looped back with no latency.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.out.sends.push((to, msg));
    }

    /// Fire `timer` after `after`.
    pub fn set_timer(&mut self, after: SimDuration, timer: N::Timer) -> TimerId {
        let id = TimerId(*self.next_timer);
        *self.next_timer += 1;
        self.out.timers.push((after, id, timer));
        id
    }

    /// Cancel a timer that has not fired yet (a no-op if it has).
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.out.cancels.push(id);
    }

    /// This node's own random stream.
    pub fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    /// Record an observation for metrics and checkers.
    pub fn record(&mut self, obs: Obs<N::Note>) {
        self.out.records.push(obs);
    }
}

/// A modelled path: it builds the nodes of one trial and the checker that
/// watches them.
pub trait Model {
    type Node: Node;
    type Checker: Checker<Self::Node>;

    /// Number of server nodes (ids `0..servers`).
    fn servers(&self) -> usize;
    /// Build `servers + clients` nodes, servers first, and a fresh checker.
    fn build(&self, clients: usize) -> (Vec<Self::Node>, Self::Checker);
}

/// What a checker found by the end of a trial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// Writes acknowledged to a client that are missing after failover.
    pub lost_acked_writes: u64,
    /// Violations found only at the end (the runtime adds those found on the way).
    pub violations: Vec<String>,
}

/// Invariant checker of one path: sees every observation, with read access to
/// all nodes (an oracle no real node has).
pub trait Checker<N: Node> {
    /// Check after `node` recorded `obs` at `now`; return a violation, if any.
    fn on_record(
        &mut self,
        now: SimTime,
        node: NodeId,
        obs: &Obs<N::Note>,
        nodes: &[N],
    ) -> Option<String>;
    /// Final checks when the trial ends.
    fn finish(&mut self, nodes: &[N], up: &[bool]) -> Findings;
}
