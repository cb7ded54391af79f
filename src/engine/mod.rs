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
pub mod live;
#[cfg(test)]
mod load_tests;
pub mod net;
pub mod rng;
pub mod sim;
pub mod stats;
#[cfg(test)]
mod tests;
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

/// Which part of the system an observation is about: the whole system (one
/// leader for everything: ZooKeeper, a Sentinel-watched master, a Kafka
/// controller) or one numbered part of it (a Kafka partition, a Redis Cluster
/// shard, a consumer group).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    #[default]
    Whole,
    Part(u32),
}

impl fmt::Display for Scope {
    /// Empty for the whole system, the part's number otherwise (a CSV cell).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Whole => Ok(()),
            Scope::Part(n) => write!(f, "{n}"),
        }
    }
}

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
    /// A client node, or a node that takes no part in elections.
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
/// variants have the same meaning on every path (DESIGN.md "Measurements");
/// each carries the [`Scope`] it is about. `Note` carries path-specific facts
/// for that path's checker.
#[derive(Clone, Debug)]
pub enum Obs<N> {
    /// A failure detector declared `suspect` (or "the leader", when unknown) down.
    Detected {
        suspect: Option<NodeId>,
        scope: Scope,
    },
    /// This node started election round/term `term`.
    ElectionRound { term: u64, scope: Scope },
    /// `leader` won the election for `term` with a quorum behind it.
    Elected {
        leader: NodeId,
        term: u64,
        scope: Scope,
    },
    /// `leader` (with its quorum) serves clients again in `term`.
    Serving {
        leader: NodeId,
        term: u64,
        scope: Scope,
    },
    /// A step of the path's failover timeline (`looking`, `epoch_agreed` …),
    /// named as the path documents it; written to `timeline.csv`.
    Phase { name: &'static str, scope: Scope },
    /// A client operation finished, successfully or not.
    OpDone { op: ClientOp, ok: bool },
    /// Path-specific fact for the path's checker.
    Note(N),
}

impl<N> Obs<N> {
    /// The same observation with its note turned into another type by `f`;
    /// `None` when `f` drops the note. The common variants are kept as they
    /// are (a hosted application's observations lifted into its host's
    /// note type; the engine's records, which keep no notes).
    pub fn filter_map_note<M>(self, f: impl FnOnce(N) -> Option<M>) -> Option<Obs<M>> {
        Some(match self {
            Obs::Detected { suspect, scope } => Obs::Detected { suspect, scope },
            Obs::ElectionRound { term, scope } => Obs::ElectionRound { term, scope },
            Obs::Elected {
                leader,
                term,
                scope,
            } => Obs::Elected {
                leader,
                term,
                scope,
            },
            Obs::Serving {
                leader,
                term,
                scope,
            } => Obs::Serving {
                leader,
                term,
                scope,
            },
            Obs::Phase { name, scope } => Obs::Phase { name, scope },
            Obs::OpDone { op, ok } => Obs::OpDone { op, ok },
            Obs::Note(n) => Obs::Note(f(n)?),
        })
    }

    /// A detection about the whole system.
    pub fn detected(suspect: Option<NodeId>) -> Self {
        Obs::Detected {
            suspect,
            scope: Scope::Whole,
        }
    }

    /// An election round of the whole system.
    pub fn round(term: u64) -> Self {
        Obs::ElectionRound {
            term,
            scope: Scope::Whole,
        }
    }

    /// The whole system's leader was elected.
    pub fn elected(leader: NodeId, term: u64) -> Self {
        Obs::Elected {
            leader,
            term,
            scope: Scope::Whole,
        }
    }

    /// The whole system serves again.
    pub fn serving(leader: NodeId, term: u64) -> Self {
        Obs::Serving {
            leader,
            term,
            scope: Scope::Whole,
        }
    }

    /// A timeline step of the whole system.
    pub fn phase(name: &'static str) -> Self {
        Obs::Phase {
            name,
            scope: Scope::Whole,
        }
    }

    /// The scope of a common observation (`Whole` for client operations and
    /// notes).
    pub fn scope(&self) -> Scope {
        match self {
            Obs::Detected { scope, .. }
            | Obs::ElectionRound { scope, .. }
            | Obs::Elected { scope, .. }
            | Obs::Serving { scope, .. }
            | Obs::Phase { scope, .. } => *scope,
            Obs::OpDone { .. } | Obs::Note(_) => Scope::Whole,
        }
    }
}

/// State a node keeps across a crash: its files (epoch files, logs). The
/// engine holds the copy that is durable; a node changes it only through
/// [`Ctx::persist`], and after a crash the model rebuilds the node from the
/// engine's copy ([`Model::recover`]), so nothing is copied back by hand.
pub trait Durable: Clone + Default + fmt::Debug {
    /// One write (an append, a file replaced).
    type Write: Clone + fmt::Debug;
    /// Apply `w`.
    fn apply(&mut self, w: &Self::Write);
    /// Bytes `w` puts on disk, for the disk model's throughput term.
    fn bytes(w: &Self::Write) -> u64 {
        let _ = w;
        0
    }
    /// Whether `w` waits for an fsync (a system may turn fsync off, like
    /// ZooKeeper's `zookeeper.forceSync = no`; the write then costs only its
    /// size).
    fn fsync(w: &Self::Write) -> bool {
        let _ = w;
        true
    }
}

/// No durable state.
impl Durable for () {
    type Write = ();
    fn apply(&mut self, _: &()) {}
}

/// The write type of node type `N`.
pub type WriteOf<N> = <<N as Node>::Durable as Durable>::Write;

/// A sans-IO protocol state machine.
pub trait Node {
    type Msg: Clone + fmt::Debug;
    /// Timers are keyed by value: setting a timer replaces a pending one that
    /// is equal to it ([`Ctx::set_timer`]).
    type Timer: Clone + PartialEq + fmt::Debug;
    type Note: fmt::Debug;
    type Durable: Durable;

    /// The node boots, or reboots after a crash (rebuilt by
    /// [`Model::recover`] from its durable state).
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
    /// A write this node asked for with [`Ctx::persist`] is durable.
    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, write: WriteOf<Self>) {
        let _ = (ctx, write);
    }
    /// The node's working copy of its durable state: read when the trial
    /// starts, and at a crash when the disk is instant (every write is then
    /// durable as it is made). A fresh node: the default.
    fn durable(&self) -> Self::Durable {
        Self::Durable::default()
    }
    /// The common observation of this node.
    fn view(&self) -> View;
}

/// What a node asked for during one handler call; applied by the runtime after
/// the handler returns.
pub(crate) struct Outbox<N: Node + ?Sized> {
    pub sends: Vec<(NodeId, N::Msg)>,
    /// (delay, token, timer): the token tells the pending timer of a key
    /// from one it replaced.
    pub timers: Vec<(SimDuration, u64, N::Timer)>,
    pub persists: Vec<WriteOf<N>>,
    pub records: Vec<Obs<N::Note>>,
}

impl<N: Node + ?Sized> Default for Outbox<N> {
    fn default() -> Self {
        Outbox {
            sends: Vec::new(),
            timers: Vec::new(),
            persists: Vec::new(),
            records: Vec::new(),
        }
    }
}

/// The only door a node has to the world.
pub struct Ctx<'a, N: Node + ?Sized> {
    now: SimTime,
    me: NodeId,
    incarnation: u32,
    rng: &'a mut Rng,
    out: &'a mut Outbox<N>,
    /// The node's pending timers: key and token of the one that will fire.
    timers: &'a mut Vec<(N::Timer, u64)>,
    next_timer: &'a mut u64,
}

impl<'a, N: Node + ?Sized> Ctx<'a, N> {
    pub(crate) fn new(
        now: SimTime,
        me: NodeId,
        incarnation: u32,
        rng: &'a mut Rng,
        out: &'a mut Outbox<N>,
        timers: &'a mut Vec<(N::Timer, u64)>,
        next_timer: &'a mut u64,
    ) -> Self {
        Ctx {
            now,
            me,
            incarnation,
            rng,
            out,
            timers,
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

    /// How many times this node has crashed. A restarted process opens new
    /// sockets, so protocol code can number its connections with it and never
    /// mistake a packet of an old connection for one of a new.
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// Send `msg` to `to`. A message to oneself is looped back with no latency.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.out.sends.push((to, msg));
    }

    /// Fire `timer` after `after`, replacing a pending timer equal to it.
    pub fn set_timer(&mut self, after: SimDuration, timer: N::Timer) {
        let token = *self.next_timer;
        *self.next_timer += 1;
        match self.timers.iter_mut().find(|(k, _)| *k == timer) {
            Some(slot) => slot.1 = token,
            None => self.timers.push((timer.clone(), token)),
        }
        self.out.timers.push((after, token, timer));
    }

    /// Cancel the pending timer equal to `timer`, if any.
    pub fn cancel_timer(&mut self, timer: &N::Timer) {
        self.timers.retain(|(k, _)| k != timer);
    }

    /// Cancel every pending timer of this node (a change of role).
    pub fn cancel_all_timers(&mut self) {
        self.timers.clear();
    }

    /// Write `w` to this node's durable state. It is durable once the disk
    /// model says so; then [`Node::on_persisted`] hears of it. A crash before
    /// that loses it. The node applies `w` to its own working copy itself.
    pub fn persist(&mut self, w: WriteOf<N>) {
        self.out.persists.push(w);
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

/// What the model sees when it resolves a fault target: the nodes, which are
/// up, the topology, the last node faulted and the trial's fault stream.
pub struct Targeting<'a, N> {
    pub nodes: &'a [N],
    pub up: &'a [bool],
    pub topology: &'a Topology,
    pub last_faulted: Option<NodeId>,
    pub rng: &'a mut Rng,
}

impl<N: Node> Targeting<'_, N> {
    /// The serving leader: the live server that says Leader, serving first,
    /// then the highest term, then the highest id.
    pub fn leader(&self) -> Option<usize> {
        let mut best: Option<(bool, u64, usize)> = None;
        for i in 0..self.topology.servers() {
            if !self.up[i] {
                continue;
            }
            let v = self.nodes[i].view();
            if v.role == Role::Leader {
                let key = (v.serving, v.term, i);
                if best.is_none_or(|b| key > b) {
                    best = Some(key);
                }
            }
        }
        best.map(|b| b.2)
    }

    /// A random live node of `range` other than `except`.
    pub fn random_live(
        &mut self,
        range: std::ops::Range<usize>,
        except: Option<usize>,
    ) -> Option<usize> {
        let live: Vec<usize> = range.filter(|&i| self.up[i] && Some(i) != except).collect();
        (!live.is_empty()).then(|| live[rng::index(self.rng, live.len())])
    }

    /// The engine's resolution of every target but [`Target::Path`].
    pub fn common(&mut self, target: &fault::Target) -> Option<usize> {
        use fault::Target;
        let servers = self.topology.servers();
        match *target {
            Target::Leader => self.leader(),
            Target::Follower => {
                let leader = self.leader();
                self.random_live(0..servers, leader)
            }
            Target::Random => self.random_live(0..servers, None),
            Target::Node(i) => (i < servers).then_some(i),
            Target::LastFaulted => self.last_faulted.map(NodeId::index),
            Target::Group(g) => self.random_live(self.topology.range(g), None),
            Target::Path { .. } => None,
        }
    }
}

/// A modelled path: it builds the nodes of one trial and the checker that
/// watches them.
pub trait Model {
    type Node: Node;
    type Checker: Checker<Self::Node>;

    /// Number of non-client nodes (ids `0..servers`).
    fn servers(&self) -> usize;
    /// Sizes of the node groups; one group of all servers unless overridden.
    fn topology(&self) -> Topology {
        Topology::single("servers", self.servers())
    }
    /// How many numbered parts (`Scope::Part(0..parts)`) the model has
    /// beyond its node ids: partitions, shards, groups. The live runtime
    /// keeps a leader word for each part below the larger of this and the
    /// node count (paths that number parts by node id need not say).
    fn parts(&self) -> usize {
        0
    }
    /// Build `servers + clients` nodes, servers first, and a fresh checker.
    fn build(&self, clients: usize) -> (Vec<Self::Node>, Self::Checker);
    /// Node `id` after a crash: a fresh process with only `durable`.
    fn recover(&self, id: NodeId, durable: &<Self::Node as Node>::Durable) -> Self::Node;
    /// Which node a fault hits, and the scope the fault's metrics are about.
    /// The default resolves the engine's words from the nodes' views; a path
    /// with words of its own ([`crate::systems::TargetSpec`]) resolves them
    /// here.
    fn resolve(
        &self,
        target: &fault::Target,
        t: &mut Targeting<'_, Self::Node>,
    ) -> Option<(usize, Scope)> {
        t.common(target).map(|i| (i, Scope::Whole))
    }
}

/// What a checker found by the end of a trial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// Writes acknowledged to a client that are missing after failover.
    pub lost_acked_writes: u64,
    /// Violations found only at the end (the runtime adds those found on the way).
    pub violations: Vec<String>,
}

impl Findings {
    /// The end of a trial of a protocol that promises no acknowledged write
    /// is lost (quorum commit): `lost` were, and each breaks that promise.
    pub fn promised(lost: usize) -> Self {
        let violations = if lost > 0 {
            vec![format!(
                "{lost} acknowledged writes lost at the end of the trial"
            )]
        } else {
            Vec::new()
        };
        Findings {
            lost_acked_writes: lost as u64,
            violations,
        }
    }
}

/// The acknowledged writes lost at the end of a trial: those the serving
/// leader's log lacks (`at_leader`); with no serving leader, those of `acked`
/// that every server's log lacks (`each_lacks`, one list per server, crashed
/// ones included).
pub fn lost_acked<T: PartialEq>(
    at_leader: Option<Vec<T>>,
    mut acked: Vec<T>,
    each_lacks: impl IntoIterator<Item = Vec<T>>,
) -> usize {
    if let Some(missing) = at_leader {
        return missing.len();
    }
    for lacks in each_lacks {
        acked.retain(|a| lacks.contains(a));
    }
    acked.len()
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
    /// Whether [`Checker::on_record`] reads `nodes` for `obs`. When it does
    /// not, both runtimes pass an empty slice (so a wrong answer panics on
    /// the index instead of going unnoticed), and the live runtime checks
    /// the record without stopping the world. The default, `true`, is
    /// always safe.
    fn reads_nodes(&self, obs: &Obs<N::Note>) -> bool {
        let _ = obs;
        true
    }
}

/// A checker that checks nothing, for toy models in tests and benches.
pub struct NoCheck;

impl<N: Node> Checker<N> for NoCheck {
    fn on_record(&mut self, _: SimTime, _: NodeId, _: &Obs<N::Note>, _: &[N]) -> Option<String> {
        None
    }

    fn finish(&mut self, _: &[N], _: &[bool]) -> Findings {
        Findings::default()
    }

    fn reads_nodes(&self, _: &Obs<N::Note>) -> bool {
        false
    }
}
