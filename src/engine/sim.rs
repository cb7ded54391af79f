//! The `sim` runtime: a deterministic discrete-event simulator in virtual time.
//!
//! Events sit in one queue ordered by `(time, seq)`; `seq` is a global counter,
//! so ties never fall back to addresses or threads. All randomness comes from
//! streams derived from the trial seed (network, faults, load, node N). One
//! trial runs on one thread. Together these make a trial a pure function of
//! (model, configuration, seed): the same bytes out on any machine.
//!
//! Every processed event is folded into a 64-bit trace hash, so two runs can be
//! compared cheaply for bit-identical behaviour.
//!
//! Partitions follow TCP: a message sent on (or in flight over) a cut link is
//! not lost but held, as the sender's TCP would keep retransmitting it; when
//! the link heals it is delivered at the sender's next retransmission (first
//! timeout `rto`, doubling, capped at 120 s like Linux's `TCP_RTO_MAX`), in
//! order with what follows it on that link. A crash of either end discards
//! what is held between them. TCP's give-up after `tcp_retries2` (about
//! 15 minutes) is not modelled: a partition longer than that would, in a real
//! system, reset the connection instead.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use super::disk::{DiskConfig, DiskQueue};
use super::fault::{Action, FaultSpec, When};
use super::net::{CutId, Links, NetConfig, Reachability};
use super::rng::{self, Rng};
use super::stats::ClientStats;
use super::{
    Checker, ClientOp, Ctx, Durable, Findings, Model, Node, NodeId, Obs, OpKind, Outbox, Scope,
    SimDuration, SimTime, Targeting, Topology, WriteOf,
};

/// Client load. Open loop (the default): each client issues operations at a
/// fixed rate, whatever happened to earlier ones. With [`LoadConfig::concurrency`]
/// each client keeps at most that many operations outstanding: an operation
/// whose intended time comes while the limit is reached waits and is sent
/// when one of the client's operations finishes, its latency still counted
/// from its intended time (a stall shows; no coordinated omission). With
/// `rate_per_s = 0` and a limit it is a pure closed loop: each completion
/// sends the next operation at once, intended at the completion.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadConfig {
    pub clients: usize,
    /// Operations per second, per client.
    pub rate_per_s: f64,
    /// Fraction of operations that are reads.
    pub read_ratio: f64,
    /// When clients start issuing operations.
    pub start: SimDuration,
    /// How long after `start` operations are left out of the throughput and
    /// the latency percentiles (caches, connections and queues settle); they
    /// still count for every availability metric.
    pub warmup: SimDuration,
    /// Poisson arrivals instead of a constant interval.
    pub poisson: bool,
    /// Most operations a client keeps outstanding (`clients.concurrency`);
    /// `None`: open loop.
    pub concurrency: Option<u32>,
}

/// How long a pure closed-loop client waits after an operation failed (or
/// could not be sent, its node being down), or finished at the very instant
/// it was intended, before it sends the next one. A failure is often
/// immediate (no connection: ConnectionLoss at once), and a model with every
/// cost at 0 on a network with no latency answers in no virtual time: a next
/// operation at the same instant would spin forever in virtual time.
pub const CLOSED_LOOP_FAIL_PAUSE: SimDuration = SimDuration::from_ms(1);

impl LoadConfig {
    /// One client's next operation: the time until the one after it (a fixed
    /// interval, or an exponential draw for Poisson arrivals) and its kind,
    /// drawn from the client's load stream `r` in that order. The `sim` and
    /// `live` runtimes both draw through here, so a client's operations are
    /// the same in both.
    pub(crate) fn next_op(&self, r: &mut Rng) -> (SimDuration, OpKind) {
        let interval = 1e9 / self.rate_per_s;
        let next = if self.poisson {
            rng::exponential(r, interval)
        } else {
            interval
        };
        (SimDuration(next.max(1.0) as u64), self.next_kind(r))
    }

    /// A client's next operation's kind alone (the pure closed loop, which
    /// draws no interval).
    pub(crate) fn next_kind(&self, r: &mut Rng) -> OpKind {
        if self.read_ratio > 0.0 && rng::unit(r) < self.read_ratio {
            OpKind::Read
        } else {
            OpKind::Write
        }
    }

    /// Pure closed loop: a concurrency limit and no rate.
    pub fn closed(&self) -> bool {
        self.concurrency.is_some() && self.rate_per_s <= 0.0
    }

    /// The open-loop schedule: a rate.
    pub fn open(&self) -> bool {
        self.rate_per_s > 0.0
    }
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            clients: 1,
            rate_per_s: 10.0,
            read_ratio: 0.0,
            start: SimDuration::ZERO,
            warmup: SimDuration::ZERO,
            poisson: false,
            concurrency: None,
        }
    }
}

/// Everything one simulated trial needs besides the model.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub duration: SimDuration,
    pub net: NetConfig,
    pub disk: DiskConfig,
    pub faults: Vec<FaultSpec>,
    pub load: LoadConfig,
    /// Keep a readable log of every event (slow; for replaying one trial).
    pub trace: bool,
    /// Keep every finished client operation in [`SimOutput::records`] too
    /// (tests); otherwise they are only folded into [`SimOutput::clients`].
    pub record_ops: bool,
    /// Keep the client timeline per 100 ms after the fault
    /// ([`ClientStats::buckets`]).
    pub timeline: bool,
}

impl Default for SimConfig {
    /// One minute, the default network and disk, one client at 10 writes/s,
    /// no faults.
    fn default() -> Self {
        SimConfig {
            seed: 1,
            duration: SimDuration::from_ms(60_000),
            net: NetConfig::default(),
            disk: DiskConfig::default(),
            faults: Vec::new(),
            load: LoadConfig::default(),
            trace: false,
            record_ops: false,
            timeline: false,
        }
    }
}

impl SimConfig {
    /// `duration_ms` of the default network and disk with `faults` and no
    /// clients: a protocol left to itself (benchmarks, scenario tests).
    pub fn without_clients(seed: u64, duration_ms: u64, faults: Vec<FaultSpec>) -> Self {
        SimConfig {
            seed,
            duration: SimDuration::from_ms(duration_ms),
            faults,
            load: LoadConfig {
                clients: 0,
                ..LoadConfig::default()
            },
            ..SimConfig::default()
        }
    }
}

/// A common observation with its time, node and the count of server-to-server
/// messages sent so far in the trial.
#[derive(Clone, Debug)]
pub struct Record {
    pub at: SimTime,
    pub node: NodeId,
    pub protocol_msgs: u64,
    pub obs: Obs<()>,
}

/// A fault that fired.
#[derive(Clone, Debug)]
pub struct AppliedFault {
    pub at: SimTime,
    pub what: &'static str,
    pub node: Option<NodeId>,
    /// What the fault's metrics are about (the model's resolution of the
    /// target; the whole system for untargeted faults).
    pub scope: Scope,
    /// False when there was nothing to hit (no leader yet, node already down…).
    pub applied: bool,
    pub protocol_msgs: u64,
}

/// A safety violation found while the trial ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub at: SimTime,
    pub node: NodeId,
    pub what: String,
}

/// What one trial produced.
#[derive(Clone, Debug)]
pub struct SimOutput {
    /// Common observations in the order recorded; client operations only
    /// with [`SimConfig::record_ops`].
    pub records: Vec<Record>,
    /// Client outcomes, folded in as operations finished.
    pub clients: ClientStats,
    pub faults: Vec<AppliedFault>,
    pub violations: Vec<Violation>,
    pub findings: Findings,
    pub events: u64,
    pub messages: u64,
    pub protocol_msgs: u64,
    pub end: SimTime,
    pub trace_hash: u64,
    pub trace: Vec<String>,
    /// The run was interrupted (Ctrl-C) before the trial's end.
    pub aborted: bool,
}

/// A message held by a cut link (TCP keeps retransmitting it).
struct Held<M> {
    from: NodeId,
    to: NodeId,
    to_incarnation: u32,
    first_sent: SimTime,
    msg: M,
}

enum Undo {
    Restart(NodeId),
    Resume(NodeId),
    Unisolate(NodeId),
    Heal(CutId),
}

enum Ev<M, T, W> {
    Deliver {
        from: NodeId,
        to: NodeId,
        to_incarnation: u32,
        /// When the sender sent it (for TCP retransmission after a heal).
        sent: SimTime,
        msg: M,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        token: u64,
        timer: T,
    },
    ClientTick(NodeId),
    /// Closed loop: an operation of the client finished (or a pure
    /// closed-loop client is ready to send): send what may go.
    ClientReady(NodeId),
    /// Pure closed loop: the client sends its first `concurrency` operations.
    ClientStart(NodeId),
    Reset {
        to: NodeId,
        peer: NodeId,
    },
    Fault(usize),
    Undo(Undo),
    /// A write reached the disk of `node`; `applied` once the durable copy
    /// has it (the callback waits while the node is paused).
    Persisted {
        node: NodeId,
        incarnation: u32,
        write: W,
        applied: bool,
    },
}

struct Entry<M, T, W> {
    at: SimTime,
    seq: u64,
    ev: Ev<M, T, W>,
}

/// Heap key: 24 bytes, so sifting moves little; the event itself waits in a
/// slot of the queue's slab. Ordered by `(at, seq)`; `seq` is unique, so the
/// order is total and never looks at `slot`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    at: SimTime,
    seq: u64,
    slot: u32,
}

impl Key {
    /// `(at, seq)` as one number, so ordering two keys is one wide
    /// comparison instead of a chain of branches.
    #[inline]
    fn order(&self) -> u128 {
        (u128::from(self.at.0) << 64) | u128::from(self.seq)
    }

    #[inline]
    fn before(&self, other: &Key) -> bool {
        self.order() < other.order()
    }
}

/// A 4-ary min-heap of keys: half the depth of a binary heap, and a node's
/// four children share a cache line or two, so a pop touches fewer lines
/// when thousands of events are pending (large ensembles, many clients).
/// Any correct priority queue pops the same `(at, seq)` order, so the choice
/// cannot change a result.
#[derive(Default)]
struct QuadHeap {
    keys: Vec<Key>,
}

impl QuadHeap {
    fn with_capacity(n: usize) -> Self {
        QuadHeap {
            keys: Vec::with_capacity(n),
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn push(&mut self, k: Key) {
        let mut i = self.keys.len();
        self.keys.push(k);
        while i > 0 {
            let parent = (i - 1) / 4;
            if !k.before(&self.keys[parent]) {
                break;
            }
            self.keys[i] = self.keys[parent];
            i = parent;
        }
        self.keys[i] = k;
    }

    fn pop(&mut self) -> Option<Key> {
        let last = self.keys.pop()?;
        let keys = &mut self.keys[..];
        let n = keys.len();
        if n == 0 {
            return Some(last);
        }
        let top = keys[0];
        let last_order = last.order();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            // The smallest child. Keys are unique, so which of equal ones
            // would win never arises.
            let (best, best_order) = if first + 4 <= n {
                // All four children (the common case): a branch-light
                // tournament over one bounds-checked slice.
                let c = &keys[first..first + 4];
                let (o0, o1, o2, o3) = (c[0].order(), c[1].order(), c[2].order(), c[3].order());
                let (a, oa) = if o1 < o0 { (1, o1) } else { (0, o0) };
                let (b, ob) = if o3 < o2 { (3, o3) } else { (2, o2) };
                if ob < oa {
                    (first + b, ob)
                } else {
                    (first + a, oa)
                }
            } else if first < n {
                let mut best = first;
                let mut best_order = keys[first].order();
                for (c, k) in keys.iter().enumerate().skip(first + 1) {
                    let o = k.order();
                    if o < best_order {
                        best = c;
                        best_order = o;
                    }
                }
                (best, best_order)
            } else {
                break;
            };
            if best_order >= last_order {
                break;
            }
            keys[i] = keys[best];
            i = best;
        }
        keys[i] = last;
        Some(top)
    }
}

/// The event queue: a binary heap keyed `(time, seq)` over a slab of events.
pub struct EventQueue<M, T, W> {
    heap: QuadHeap,
    slots: Vec<Option<Ev<M, T, W>>>,
    free: Vec<u32>,
    seq: u64,
}

impl<M, T, W> Default for EventQueue<M, T, W> {
    fn default() -> Self {
        EventQueue {
            heap: QuadHeap::with_capacity(1024),
            slots: Vec::with_capacity(1024),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<M, T, W> EventQueue<M, T, W> {
    #[inline(always)]
    fn push(&mut self, at: SimTime, ev: Ev<M, T, W>) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(ev);
                s
            }
            None => {
                self.slots.push(Some(ev));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.heap.push(Key {
            at,
            seq: self.seq,
            slot,
        });
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<Entry<M, T, W>> {
        let k = self.heap.pop()?;
        let ev = self.slots[k.slot as usize]
            .take()
            .expect("a queued key's slot holds its event");
        self.free.push(k.slot);
        Some(Entry {
            at: k.at,
            seq: k.seq,
            ev,
        })
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.len() == 0
    }
}

/// A bare `(time, seq)` queue with a `u64` payload, exposed for the engine
/// benchmark.
#[derive(Default)]
pub struct BareQueue(EventQueue<u64, (), ()>);

impl BareQueue {
    pub fn push(&mut self, at: SimTime, payload: u64) {
        self.0.push(
            at,
            Ev::Deliver {
                from: NodeId(0),
                to: NodeId(0),
                to_incarnation: 0,
                sent: at,
                msg: payload,
            },
        );
    }

    pub fn pop(&mut self) -> Option<(SimTime, u64)> {
        self.0.pop().map(|e| match e.ev {
            Ev::Deliver { msg, .. } => (e.at, msg),
            _ => unreachable!("BareQueue only holds deliveries"),
        })
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

type NodeOf<M> = <M as Model>::Node;
type NodeEntry<M> = Entry<<NodeOf<M> as Node>::Msg, <NodeOf<M> as Node>::Timer, WriteOf<NodeOf<M>>>;
type NodeQueue<M> =
    EventQueue<<NodeOf<M> as Node>::Msg, <NodeOf<M> as Node>::Timer, WriteOf<NodeOf<M>>>;

const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// One simulated trial.
pub struct Sim<'m, M: Model> {
    model: &'m M,
    cfg: &'m SimConfig,
    nodes: Vec<M::Node>,
    checker: M::Checker,
    topology: Topology,
    servers: usize,
    up: Vec<bool>,
    paused: Vec<bool>,
    incarnation: Vec<u32>,
    stash: Vec<Vec<NodeEntry<M>>>,
    node_rngs: Vec<Rng>,
    net_rng: Rng,
    net_normals: rng::Normals,
    fault_rng: Rng,
    load_rngs: Vec<Rng>,
    queue: NodeQueue<M>,
    reach: Reachability,
    /// Per-link FIFO state and base latencies, sparse: only the links in use.
    links: Links,
    /// Pending timers of each node: key and the token of the one that fires.
    timers: Vec<Vec<(<M::Node as Node>::Timer, u64)>>,
    /// Durable state of each node: what survives a crash. On an instant disk
    /// every write is durable as it is made, so the node's own working copy
    /// is its durable state and this stays empty (a replicated log is not
    /// held twice).
    stable: Vec<<M::Node as Node>::Durable>,
    /// Each node's disk (group commit, writes complete in issue order).
    disks: Vec<DiskQueue>,
    disk_rngs: Vec<Rng>,
    disk_normals: rng::Normals,
    /// Messages waiting for a cut link to heal, in send order.
    held: Vec<Held<<M::Node as Node>::Msg>>,
    next_timer: u64,
    op_seq: Vec<u64>,
    /// Closed loop only (`load.concurrency`): each client's operations in
    /// flight, and the operations (intended time, kind) waiting for one of
    /// them to finish.
    outstanding: Vec<u32>,
    waiting: Vec<VecDeque<(SimTime, OpKind)>>,
    last_faulted: Option<NodeId>,
    outbox: Outbox<M::Node>,
    out: SimOutput,
    now: SimTime,
}

impl<'m, M: Model> Sim<'m, M> {
    pub fn new(model: &'m M, cfg: &'m SimConfig) -> Self {
        let (nodes, checker) = model.build(cfg.load.clients);
        let n = nodes.len();
        let topology = model.topology();
        let servers = model.servers();
        assert!(servers <= n, "model built fewer nodes than its servers");
        assert_eq!(topology.servers(), servers, "topology covers every server");
        let mut links = Links::new(n);
        for l in &cfg.net.links {
            if l.from < n && l.to < n {
                links.set_base(l.from, l.to, l.base);
            }
        }
        let disk_rngs = if cfg.disk.is_instant() {
            Vec::new()
        } else {
            (0..n)
                .map(|i| rng::stream(cfg.seed, "disk", i as u64))
                .collect()
        };
        Sim {
            model,
            cfg,
            checker,
            topology,
            servers,
            up: vec![true; n],
            paused: vec![false; n],
            incarnation: vec![0; n],
            stash: (0..n).map(|_| Vec::new()).collect(),
            node_rngs: (0..n)
                .map(|i| rng::stream(cfg.seed, "node", i as u64))
                .collect(),
            net_rng: rng::stream(cfg.seed, "network", 0),
            net_normals: rng::Normals::default(),
            fault_rng: rng::stream(cfg.seed, "faults", 0),
            load_rngs: (0..n)
                .map(|i| rng::stream(cfg.seed, "load", i as u64))
                .collect(),
            queue: EventQueue::default(),
            reach: Reachability::new(n),
            links,
            timers: (0..n).map(|_| Vec::new()).collect(),
            stable: if cfg.disk.is_instant() {
                Vec::new()
            } else {
                nodes.iter().map(Node::durable).collect()
            },
            disks: vec![DiskQueue::default(); n],
            disk_rngs,
            disk_normals: rng::Normals::default(),
            held: Vec::new(),
            next_timer: 0,
            op_seq: vec![0; n],
            outstanding: if cfg.load.concurrency.is_some() {
                vec![0; n]
            } else {
                Vec::new()
            },
            waiting: if cfg.load.concurrency.is_some() {
                (0..n).map(|_| VecDeque::new()).collect()
            } else {
                Vec::new()
            },
            last_faulted: None,
            outbox: Outbox::default(),
            out: SimOutput {
                records: Vec::new(),
                clients: ClientStats::measured_from(
                    cfg.timeline,
                    SimTime::ZERO + cfg.load.start + cfg.load.warmup,
                ),
                faults: Vec::new(),
                violations: Vec::new(),
                findings: Findings::default(),
                events: 0,
                messages: 0,
                protocol_msgs: 0,
                end: SimTime::ZERO,
                trace_hash: 0xcbf2_9ce4_8422_2325,
                trace: Vec::new(),
                aborted: false,
            },
            now: SimTime::ZERO,
            nodes,
        }
    }

    /// Run the trial to its end (or until `stop` is raised) and report.
    pub fn run(self, stop: Option<&AtomicBool>) -> SimOutput {
        self.run_keep(stop).0
    }

    /// [`Sim::run`], also handing back the nodes in their final state.
    pub fn run_keep(mut self, stop: Option<&AtomicBool>) -> (SimOutput, Vec<M::Node>) {
        let end = SimTime::ZERO + self.cfg.duration;
        for i in 0..self.nodes.len() {
            self.dispatch(NodeId(i as u32), |n, ctx| n.on_start(ctx));
        }
        self.schedule_faults();
        self.schedule_load();
        while let Some(e) = self.queue.pop() {
            if e.at > end {
                break;
            }
            self.now = e.at;
            self.out.events += 1;
            if self.out.events & 0xfff == 0 && stop.is_some_and(|s| s.load(AtomicOrdering::Relaxed))
            {
                self.out.aborted = true;
                break;
            }
            self.step(e);
        }
        self.out.end = if self.out.aborted { self.now } else { end };
        let findings = self.checker.finish(&self.nodes, &self.up);
        for v in &findings.violations {
            self.out.violations.push(Violation {
                at: self.out.end,
                node: NodeId(0),
                what: v.clone(),
            });
        }
        self.out.findings = findings;
        (self.out, self.nodes)
    }

    fn hash(&mut self, tag: u64, node: NodeId) {
        let h = (self.out.trace_hash ^ self.now.0).wrapping_mul(FNV_PRIME);
        self.out.trace_hash = (h ^ (tag << 32 | u64::from(node.0))).wrapping_mul(FNV_PRIME);
    }

    fn step(&mut self, e: NodeEntry<M>) {
        match e.ev {
            Ev::Deliver {
                from,
                to,
                to_incarnation,
                sent,
                msg,
            } => {
                let i = to.index();
                if !self.up[i] || self.incarnation[i] != to_incarnation {
                    return; // the connection died with the receiver
                }
                if self.paused[i] {
                    self.stash[i].push(Entry {
                        at: e.at,
                        seq: e.seq,
                        ev: Ev::Deliver {
                            from,
                            to,
                            to_incarnation,
                            sent,
                            msg,
                        },
                    });
                    return;
                }
                if from != to && self.reach.blocked(from.index(), i) {
                    // In flight when the partition started: TCP retransmits it.
                    self.held.push(Held {
                        from,
                        to,
                        to_incarnation,
                        first_sent: sent,
                        msg,
                    });
                    return;
                }
                self.hash(1, to);
                if self.cfg.trace {
                    self.out
                        .trace
                        .push(format!("{} {} <- {} {:?}", self.now, to, from, msg));
                }
                self.dispatch(to, |n, ctx| n.on_message(ctx, from, msg));
            }
            Ev::Timer {
                node,
                incarnation,
                token,
                timer,
            } => {
                let i = node.index();
                if !self.up[i] || self.incarnation[i] != incarnation {
                    return;
                }
                if self.paused[i] {
                    self.stash[i].push(Entry {
                        at: e.at,
                        seq: e.seq,
                        ev: Ev::Timer {
                            node,
                            incarnation,
                            token,
                            timer,
                        },
                    });
                    return;
                }
                // Only the newest timer of a key fires; one it replaced, or
                // one cancelled, is dropped here.
                let keys = &mut self.timers[i];
                let Some(k) = keys.iter().position(|(_, t)| *t == token) else {
                    return;
                };
                keys.swap_remove(k);
                self.hash(2, node);
                if self.cfg.trace {
                    self.out
                        .trace
                        .push(format!("{} {} timer {:?}", self.now, node, timer));
                }
                self.dispatch(node, |n, ctx| n.on_timer(ctx, timer));
            }
            Ev::ClientTick(client) => self.client_tick(client),
            Ev::ClientReady(client) => self.client_ready(client),
            Ev::ClientStart(client) => {
                for _ in 0..self.cfg.load.concurrency.unwrap_or(0) {
                    self.client_ready(client);
                }
            }
            Ev::Reset { to, peer } => {
                let i = to.index();
                if !self.up[i] {
                    return;
                }
                if self.paused[i] {
                    // The kernel took the reset; the process sees it on waking.
                    self.stash[i].push(Entry {
                        at: e.at,
                        seq: e.seq,
                        ev: Ev::Reset { to, peer },
                    });
                    return;
                }
                self.hash(3, to);
                if self.cfg.trace {
                    self.out
                        .trace
                        .push(format!("{} {} connection reset by {}", self.now, to, peer));
                }
                self.dispatch(to, |n, ctx| n.on_link_reset(ctx, peer));
            }
            Ev::Fault(k) => {
                self.hash(4, NodeId(k as u32));
                self.apply_fault(k);
            }
            Ev::Undo(u) => {
                self.hash(5, NodeId(0));
                self.undo(u);
            }
            Ev::Persisted {
                node,
                incarnation,
                write,
                applied,
            } => {
                let i = node.index();
                if self.incarnation[i] != incarnation {
                    return; // the process died before the write was durable
                }
                if !applied {
                    self.stable[i].apply(&write);
                }
                if self.paused[i] {
                    // Durable already; the process hears of it on waking.
                    self.stash[i].push(Entry {
                        at: e.at,
                        seq: e.seq,
                        ev: Ev::Persisted {
                            node,
                            incarnation,
                            write,
                            applied: true,
                        },
                    });
                    return;
                }
                self.hash(7, node);
                if self.cfg.trace {
                    self.out
                        .trace
                        .push(format!("{} {} durable {:?}", self.now, node, write));
                }
                self.dispatch(node, |n, ctx| n.on_persisted(ctx, write));
            }
        }
    }

    /// Call a handler of node `id` and apply what it asked for.
    fn dispatch(&mut self, id: NodeId, f: impl FnOnce(&mut M::Node, &mut Ctx<'_, M::Node>)) {
        self.handle(id, f);
        self.flush_instant(id);
    }

    /// On an instant disk a write is durable as the handler returns: the node
    /// hears of each (in order) before anything else happens.
    #[inline]
    fn flush_instant(&mut self, id: NodeId) {
        if self.outbox.persists.is_empty() {
            return;
        }
        let mut writes = std::mem::take(&mut self.outbox.persists);
        for write in writes.drain(..) {
            self.persisted_now(id, write);
        }
        // Hand the buffer back, so steady-state writes do not allocate.
        if self.outbox.persists.capacity() == 0 {
            self.outbox.persists = writes;
        }
    }

    /// [`Node::on_persisted`] of a write that became durable at once (not
    /// generic, so it may recurse: the handler may write again).
    fn persisted_now(&mut self, id: NodeId, write: WriteOf<M::Node>) {
        self.handle(id, |n, ctx| n.on_persisted(ctx, write));
        self.flush_instant(id);
    }

    /// Run one handler of node `id` and apply its effects (writes on an
    /// instant disk stay in the outbox for [`Sim::flush_instant`]).
    fn handle(&mut self, id: NodeId, f: impl FnOnce(&mut M::Node, &mut Ctx<'_, M::Node>)) {
        let i = id.index();
        {
            let mut ctx = Ctx::new(
                self.now,
                id,
                self.incarnation[i],
                &mut self.node_rngs[i],
                &mut self.outbox,
                &mut self.timers[i],
                &mut self.next_timer,
            );
            f(&mut self.nodes[i], &mut ctx);
        }
        self.apply(id)
    }

    /// Apply what node `id` asked for in one handler call; returns the writes
    /// that are durable at once.
    /// Each effect list is lent out of the outbox while it is applied (its
    /// buffer goes back, so handlers never allocate in the steady state).
    #[inline]
    fn apply(&mut self, id: NodeId) {
        let i = id.index();
        if !self.outbox.sends.is_empty() {
            let mut sends = std::mem::take(&mut self.outbox.sends);
            for (to, msg) in sends.drain(..) {
                self.send(id, to, msg);
            }
            self.outbox.sends = sends;
        }
        for (after, token, timer) in self.outbox.timers.drain(..) {
            let incarnation = self.incarnation[i];
            self.queue.push(
                self.now + after,
                Ev::Timer {
                    node: id,
                    incarnation,
                    token,
                    timer,
                },
            );
        }
        if !self.outbox.persists.is_empty() && !self.cfg.disk.is_instant() {
            let mut persists = std::mem::take(&mut self.outbox.persists);
            for write in persists.drain(..) {
                let done = self.disks[i].write(
                    &self.cfg.disk,
                    self.now,
                    <M::Node as Node>::Durable::bytes(&write),
                    <M::Node as Node>::Durable::fsync(&write),
                    &mut self.disk_rngs[i],
                    &mut self.disk_normals,
                );
                self.queue.push(
                    done,
                    Ev::Persisted {
                        node: id,
                        incarnation: self.incarnation[i],
                        write,
                        applied: false,
                    },
                );
            }
            self.outbox.persists = persists;
        }
        if self.outbox.records.is_empty() {
            return;
        }
        let mut records = std::mem::take(&mut self.outbox.records);
        for obs in records.drain(..) {
            // What the checker says it does not read, it does not get.
            let nodes: &[M::Node] = if self.checker.reads_nodes(&obs) {
                &self.nodes
            } else {
                &[]
            };
            if let Some(what) = self.checker.on_record(self.now, id, &obs, nodes) {
                self.out.violations.push(Violation {
                    at: self.now,
                    node: id,
                    what,
                });
            }
            if let Obs::OpDone { op, ok } = &obs {
                self.out.clients.on_op(self.now, op, *ok);
                if self.cfg.load.concurrency.is_some() {
                    self.op_done(op, *ok);
                }
                if !self.cfg.record_ops && !self.cfg.trace {
                    continue;
                }
            }
            let Some(common) = obs.filter_map_note(|_| None) else {
                continue;
            };
            if self.cfg.trace {
                self.out
                    .trace
                    .push(format!("{} {} records {:?}", self.now, id, common));
            }
            self.out.records.push(Record {
                at: self.now,
                node: id,
                protocol_msgs: self.out.protocol_msgs,
                obs: common,
            });
        }
        self.outbox.records = records;
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: <M::Node as Node>::Msg) {
        let n = self.nodes.len();
        let (f, t) = (from.index(), to.index());
        assert!(t < n, "{from} sent to unknown node {to}");
        self.out.messages += 1;
        if f != t && f < self.servers && t < self.servers {
            self.out.protocol_msgs += 1;
        }
        let to_incarnation = self.incarnation[t];
        if f == t {
            self.queue.push(
                self.now,
                Ev::Deliver {
                    from,
                    to,
                    to_incarnation,
                    sent: self.now,
                    msg,
                },
            );
            return;
        }
        if self.reach.blocked(f, t) {
            self.held.push(Held {
                from,
                to,
                to_incarnation,
                first_sent: self.now,
                msg,
            });
            return;
        }
        let net = &self.cfg.net;
        let Some(delay) = net.loss_delay(&mut self.net_rng) else {
            // Traced after the draw, so tracing changes nothing.
            if self.cfg.trace {
                self.out
                    .trace
                    .push(format!("{} {to} <- {from} dropped {msg:?}", self.now));
            }
            return;
        };
        if self.cfg.trace && delay > SimDuration::ZERO {
            self.out.trace.push(format!(
                "{} {to} <- {from} lost, retransmitted after {:.3}ms {msg:?}",
                self.now,
                delay.as_ms_f64()
            ));
        }
        if net.duplicated(&mut self.net_rng) {
            if self.cfg.trace {
                self.out
                    .trace
                    .push(format!("{} {to} <- {from} duplicated {msg:?}", self.now));
            }
            self.deliver_later(from, to, to_incarnation, self.now, delay, msg.clone());
        }
        self.deliver_later(from, to, to_incarnation, self.now, delay, msg);
    }

    /// One network hop from `from` to `to` starting now: the latency draw
    /// plus the link's base latency and `extra`, never before what was sent
    /// earlier on the same link.
    fn hop(&mut self, from: usize, to: usize, extra: SimDuration) -> SimTime {
        let latency = self
            .cfg
            .net
            .latency
            .sample_with(&mut self.net_rng, &mut self.net_normals)
            + self.links.base(from, to)
            + extra;
        self.links.fifo(from, to, self.now + latency)
    }

    /// Put `msg` on the `from -> to` link.
    fn deliver_later(
        &mut self,
        from: NodeId,
        to: NodeId,
        to_incarnation: u32,
        sent: SimTime,
        extra: SimDuration,
        msg: <M::Node as Node>::Msg,
    ) {
        let at = self.hop(from.index(), to.index(), extra);
        self.queue.push(
            at,
            Ev::Deliver {
                from,
                to,
                to_incarnation,
                sent,
                msg,
            },
        );
    }

    fn schedule_faults(&mut self) {
        for k in 0..self.cfg.faults.len() {
            let at = match self.cfg.faults[k].when {
                When::At(t) => t,
                When::Window(a, b) => {
                    SimDuration(rng::range_inclusive(&mut self.fault_rng, a.0, b.0))
                }
            };
            self.queue.push(SimTime::ZERO + at, Ev::Fault(k));
        }
    }

    fn schedule_load(&mut self) {
        let load = &self.cfg.load;
        if load.closed() {
            // Pure closed loop: every client sends `concurrency` operations
            // at the start, then one per completion.
            for c in self.servers..self.nodes.len() {
                self.queue.push(
                    SimTime::ZERO + load.start,
                    Ev::ClientStart(NodeId(c as u32)),
                );
            }
            return;
        }
        if load.rate_per_s <= 0.0 {
            return;
        }
        let interval = 1e9 / load.rate_per_s;
        for c in self.servers..self.nodes.len() {
            // A random phase, so clients do not fire in lockstep.
            let phase = (rng::unit(&mut self.load_rngs[c]) * interval) as u64;
            self.queue.push(
                SimTime::ZERO + load.start + SimDuration(phase),
                Ev::ClientTick(NodeId(c as u32)),
            );
        }
    }

    fn client_tick(&mut self, client: NodeId) {
        let c = client.index();
        let (next, kind) = self.cfg.load.next_op(&mut self.load_rngs[c]);
        self.queue.push(self.now + next, Ev::ClientTick(client));
        if !self.up[c] || self.paused[c] {
            return;
        }
        if self.cfg.load.concurrency.is_some() {
            // Intended now; sent now only if a slot is free.
            self.waiting[c].push_back((self.now, kind));
            self.send_waiting(client);
            return;
        }
        self.issue(client, self.now, kind);
    }

    /// Send client `client` operation `kind`, intended at `issued`.
    fn issue(&mut self, client: NodeId, issued: SimTime, kind: OpKind) {
        let c = client.index();
        self.op_seq[c] += 1;
        let op = ClientOp {
            id: (c as u64) << 40 | self.op_seq[c],
            kind,
            issued,
        };
        if let Some(o) = self.outstanding.get_mut(c) {
            *o += 1;
        }
        self.hash(6, client);
        self.dispatch(client, |n, ctx| n.on_client(ctx, op));
    }

    /// Closed loop: send the client's waiting operations while it has a
    /// free slot (oldest first; each keeps its intended time).
    fn send_waiting(&mut self, client: NodeId) {
        let c = client.index();
        let limit = self.cfg.load.concurrency.unwrap_or(u32::MAX);
        while self.outstanding[c] < limit && self.up[c] && !self.paused[c] {
            let Some((at, kind)) = self.waiting[c].pop_front() else {
                return;
            };
            self.issue(client, at, kind);
        }
    }

    /// Closed loop: operation `op` finished; its client's slot frees at
    /// this instant, through the event queue.
    fn op_done(&mut self, op: &ClientOp, ok: bool) {
        let c = (op.id >> 40) as usize;
        let Some(o) = self.outstanding.get_mut(c) else {
            return;
        };
        *o = o.saturating_sub(1);
        let at = if self.cfg.load.closed() && (!ok || self.now == op.issued) {
            self.now + CLOSED_LOOP_FAIL_PAUSE
        } else {
            self.now
        };
        self.queue.push(at, Ev::ClientReady(NodeId(c as u32)));
    }

    fn client_ready(&mut self, client: NodeId) {
        let c = client.index();
        if !self.cfg.load.closed() {
            self.send_waiting(client);
            return;
        }
        if !self.up[c] || self.paused[c] {
            // Not sent: try again after the pause.
            self.queue
                .push(self.now + CLOSED_LOOP_FAIL_PAUSE, Ev::ClientReady(client));
            return;
        }
        if self.outstanding[c] >= self.cfg.load.concurrency.unwrap_or(u32::MAX) {
            return;
        }
        let kind = self.cfg.load.next_kind(&mut self.load_rngs[c]);
        self.issue(client, self.now, kind);
    }

    /// The model resolves the fault's target against the nodes' views.
    fn resolve(&mut self, k: usize) -> Option<(usize, Scope)> {
        let mut t = Targeting {
            nodes: &self.nodes,
            up: &self.up,
            topology: &self.topology,
            last_faulted: self.last_faulted,
            rng: &mut self.fault_rng,
        };
        self.model.resolve(&self.cfg.faults[k].target, &mut t)
    }

    fn log_fault(&mut self, what: &'static str, node: Option<usize>, scope: Scope, applied: bool) {
        if self.cfg.trace {
            self.out.trace.push(format!(
                "{} fault {} on {:?} applied={}",
                self.now,
                what,
                node.map(|i| NodeId(i as u32)),
                applied
            ));
        }
        if applied && self.out.clients.fault_at.is_none() {
            self.out.clients.on_fault(self.now);
        }
        self.out.faults.push(AppliedFault {
            at: self.now,
            what,
            node: node.map(|i| NodeId(i as u32)),
            scope,
            applied,
            protocol_msgs: self.out.protocol_msgs,
        });
    }

    fn apply_fault(&mut self, k: usize) {
        let spec = &self.cfg.faults[k];
        let duration = spec.duration;
        match spec.action.clone() {
            Action::Crash { host_alive } => {
                let t = self.resolve(k);
                let ok = t.is_some_and(|(i, _)| self.up[i]);
                self.log_fault("crash", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    self.crash(i, host_alive);
                    if let Some(d) = duration {
                        self.queue
                            .push(self.now + d, Ev::Undo(Undo::Restart(NodeId(i as u32))));
                    }
                }
            }
            Action::Restart => {
                let t = self.resolve(k);
                let ok = t.is_some_and(|(i, _)| !self.up[i]);
                self.log_fault("restart", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    self.restart(NodeId(i as u32));
                }
            }
            Action::Pause => {
                let t = self.resolve(k);
                let ok = t.is_some_and(|(i, _)| self.up[i] && !self.paused[i]);
                self.log_fault("pause", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    self.paused[i] = true;
                    self.last_faulted = Some(NodeId(i as u32));
                    if let Some(d) = duration {
                        self.queue
                            .push(self.now + d, Ev::Undo(Undo::Resume(NodeId(i as u32))));
                    }
                }
            }
            Action::Resume => {
                let t = self.resolve(k);
                let ok = t.is_some_and(|(i, _)| self.paused[i]);
                self.log_fault("resume", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    self.resume(NodeId(i as u32));
                }
            }
            Action::Isolate => {
                let t = self.resolve(k);
                self.log_fault("isolate", t.map(|x| x.0), scope_of(t), t.is_some());
                if let Some((i, _)) = t {
                    self.last_faulted = Some(NodeId(i as u32));
                    self.reach.isolate(i, true);
                    if let Some(d) = duration {
                        self.queue
                            .push(self.now + d, Ev::Undo(Undo::Unisolate(NodeId(i as u32))));
                    }
                }
            }
            Action::Partition { groups, one_way } => {
                self.log_fault("partition", None, Scope::Whole, true);
                let id = self.reach.partition(&groups, one_way);
                if let Some(d) = duration {
                    self.queue.push(self.now + d, Ev::Undo(Undo::Heal(id)));
                }
            }
            Action::Heal => {
                self.log_fault("heal", None, Scope::Whole, true);
                self.reach.heal_all();
                self.release_held();
            }
        }
    }

    fn undo(&mut self, u: Undo) {
        match u {
            Undo::Restart(id) => {
                let ok = !self.up[id.index()];
                self.log_fault("restart", Some(id.index()), Scope::Whole, ok);
                if ok {
                    self.restart(id);
                }
            }
            Undo::Resume(id) => {
                let ok = self.paused[id.index()];
                self.log_fault("resume", Some(id.index()), Scope::Whole, ok);
                if ok {
                    self.resume(id);
                }
            }
            Undo::Unisolate(id) => {
                self.log_fault("heal", None, Scope::Whole, true);
                self.reach.isolate(id.index(), false);
                self.release_held();
            }
            Undo::Heal(cut) => {
                self.log_fault("heal", None, Scope::Whole, true);
                self.reach.remove(cut);
                self.release_held();
            }
        }
    }

    fn crash(&mut self, i: usize, host_alive: bool) {
        // The process is gone: the node is rebuilt from what is durable.
        let durable = if self.cfg.disk.is_instant() {
            self.nodes[i].durable()
        } else {
            self.stable[i].clone()
        };
        self.nodes[i] = self.model.recover(NodeId(i as u32), &durable);
        if self.cfg.load.concurrency.is_some() && i >= self.servers {
            // A client process died with its operations: its slots are free
            // (a pure closed-loop client sends again once it is back).
            self.outstanding[i] = 0;
            self.waiting[i].clear();
            if self.cfg.load.closed() {
                self.queue.push(
                    self.now + CLOSED_LOOP_FAIL_PAUSE,
                    Ev::ClientStart(NodeId(i as u32)),
                );
            }
        }
        self.up[i] = false;
        self.paused[i] = false;
        self.incarnation[i] += 1;
        self.stash[i].clear();
        self.timers[i].clear();
        self.disks[i].reset(self.now);
        self.held
            .retain(|h| h.from.index() != i && h.to.index() != i);
        self.last_faulted = Some(NodeId(i as u32));
        if host_alive {
            // The kernel closes the dead process's sockets once it has torn
            // it down (`reset_after`); each peer hears the reset one network
            // hop later (unless the link is cut).
            let n = self.nodes.len();
            for j in 0..n {
                if j == i || !self.up[j] || self.reach.blocked(i, j) {
                    continue;
                }
                let at = self.hop(i, j, self.cfg.net.reset_after);
                self.queue.push(
                    at,
                    Ev::Reset {
                        to: NodeId(j as u32),
                        peer: NodeId(i as u32),
                    },
                );
            }
        }
    }

    /// Deliver what healed links held, each at its sender's next TCP
    /// retransmission after now.
    fn release_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let mut held = std::mem::take(&mut self.held);
        // Send order, which is each link's FIFO order (a message in flight
        // when the cut came was sent before those held at send time).
        held.sort_by_key(|h| h.first_sent);
        for h in held {
            if self.reach.blocked(h.from.index(), h.to.index()) {
                self.held.push(h);
                continue;
            }
            let extra = self
                .cfg
                .net
                .retransmission_at(h.first_sent, self.now)
                .since(self.now);
            self.deliver_later(h.from, h.to, h.to_incarnation, h.first_sent, extra, h.msg);
        }
    }

    fn restart(&mut self, id: NodeId) {
        self.up[id.index()] = true;
        self.dispatch(id, |n, ctx| n.on_start(ctx));
    }

    fn resume(&mut self, id: NodeId) {
        let i = id.index();
        self.paused[i] = false;
        let mut stash = std::mem::take(&mut self.stash[i]);
        stash.sort_by_key(|e| (e.at, e.seq));
        for e in stash {
            self.queue.push(self.now, e.ev);
        }
    }
}

fn scope_of(t: Option<(usize, Scope)>) -> Scope {
    t.map_or(Scope::Whole, |x| x.1)
}

/// Run one trial of `model` under `cfg`.
pub fn run_trial<M: Model>(model: &M, cfg: &SimConfig, stop: Option<&AtomicBool>) -> SimOutput {
    Sim::new(model, cfg).run(stop)
}

#[cfg(test)]
mod queue_tests {
    use super::*;

    proptest::proptest! {
        /// The queue pops in `(time, seq)` order, ties in push order, for
        /// any interleaving of pushes and pops.
        #[test]
        fn pops_in_time_then_push_order(ops in proptest::collection::vec((0u64..50, proptest::bool::ANY), 0..400)) {
            let mut q = BareQueue::default();
            let mut model: Vec<(u64, u64)> = Vec::new();
            let mut next = 0u64;
            for (t, pop) in ops {
                if pop {
                    model.sort();
                    let want = (!model.is_empty()).then(|| model.remove(0));
                    let got = q.pop().map(|(at, payload)| (at.0, payload));
                    proptest::prop_assert_eq!(got, want);
                } else {
                    q.push(SimTime(t), next);
                    model.push((t, next));
                    next += 1;
                }
            }
            model.sort();
            for want in model {
                proptest::prop_assert_eq!(q.pop().map(|(at, p)| (at.0, p)), Some(want));
            }
            proptest::prop_assert!(q.is_empty());
        }
    }
}
