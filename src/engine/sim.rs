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

use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use super::fault::{Action, FaultSpec, Target, When};
use super::net::{LossMode, NetConfig, Reachability};
use super::rng::{self, Rng};
use super::{
    Checker, ClientOp, Ctx, Findings, Model, Node, NodeId, Obs, OpKind, Outbox, Role, SimDuration,
    SimTime, TimerId,
};

/// Open-loop client load: each client issues operations at a fixed rate,
/// whatever happened to earlier ones.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadConfig {
    pub clients: usize,
    /// Operations per second, per client.
    pub rate_per_s: f64,
    /// Fraction of operations that are reads.
    pub read_ratio: f64,
    /// When clients start issuing operations.
    pub start: SimDuration,
    /// Poisson arrivals instead of a constant interval.
    pub poisson: bool,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            clients: 1,
            rate_per_s: 10.0,
            read_ratio: 0.0,
            start: SimDuration::ZERO,
            poisson: false,
        }
    }
}

/// Everything one simulated trial needs besides the model.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub duration: SimDuration,
    pub net: NetConfig,
    pub faults: Vec<FaultSpec>,
    pub load: LoadConfig,
    /// Keep a readable log of every event (slow; for replaying one trial).
    pub trace: bool,
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
    pub records: Vec<Record>,
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

/// Linux's `TCP_RTO_MAX`.
const RTO_MAX: SimDuration = SimDuration::from_ms(120_000);

enum Undo {
    Restart(NodeId),
    Resume(NodeId),
    Heal(Vec<(usize, usize)>),
}

enum Ev<M, T> {
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
        id: TimerId,
        timer: T,
    },
    ClientTick(NodeId),
    Reset {
        to: NodeId,
        peer: NodeId,
    },
    Fault(usize),
    Undo(Undo),
}

struct Entry<M, T> {
    at: SimTime,
    seq: u64,
    ev: Ev<M, T>,
}

/// Heap key: 24 bytes, so sifting moves little; the event itself waits in a
/// slot of the queue's slab.
#[derive(PartialEq, Eq)]
struct Key {
    at: SimTime,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed, so the max-heap pops the earliest `(time, seq)` first. `seq`
    /// is unique, so the order is total and never looks at `slot`.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The event queue: a binary heap keyed `(time, seq)` over a slab of events.
pub struct EventQueue<M, T> {
    heap: BinaryHeap<Key>,
    slots: Vec<Option<Ev<M, T>>>,
    free: Vec<u32>,
    seq: u64,
}

impl<M, T> Default for EventQueue<M, T> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            slots: Vec::with_capacity(1024),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<M, T> EventQueue<M, T> {
    fn push(&mut self, at: SimTime, ev: Ev<M, T>) {
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

    fn pop(&mut self) -> Option<Entry<M, T>> {
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
        self.heap.is_empty()
    }
}

/// A bare `(time, seq)` queue with a `u64` payload, exposed for the engine
/// benchmark.
#[derive(Default)]
pub struct BareQueue(EventQueue<u64, ()>);

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

type NodeEntry<M> = Entry<<<M as Model>::Node as Node>::Msg, <<M as Model>::Node as Node>::Timer>;

const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// One simulated trial.
pub struct Sim<'m, M: Model> {
    cfg: &'m SimConfig,
    nodes: Vec<M::Node>,
    checker: M::Checker,
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
    queue: EventQueue<<M::Node as Node>::Msg, <M::Node as Node>::Timer>,
    reach: Reachability,
    /// Last delivery time per directed link, to keep links FIFO.
    link_last: Vec<SimTime>,
    link_base: Vec<SimDuration>,
    cancelled: BTreeSet<TimerId>,
    /// Messages waiting for a cut link to heal, in send order.
    held: Vec<Held<<M::Node as Node>::Msg>>,
    next_timer: u64,
    op_seq: Vec<u64>,
    last_faulted: Option<NodeId>,
    outbox: Outbox<M::Node>,
    out: SimOutput,
    now: SimTime,
}

impl<'m, M: Model> Sim<'m, M> {
    pub fn new(model: &'m M, cfg: &'m SimConfig) -> Self {
        let (nodes, checker) = model.build(cfg.load.clients);
        let n = nodes.len();
        let servers = model.servers();
        assert!(servers <= n, "model built fewer nodes than its servers");
        let mut link_base = vec![SimDuration::ZERO; n * n];
        for l in &cfg.net.links {
            if l.from < n && l.to < n {
                link_base[l.from * n + l.to] = l.base;
            }
        }
        Sim {
            cfg,
            checker,
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
            link_last: vec![SimTime::ZERO; n * n],
            link_base,
            cancelled: BTreeSet::new(),
            held: Vec::new(),
            next_timer: 0,
            op_seq: vec![0; n],
            last_faulted: None,
            outbox: Outbox::default(),
            out: SimOutput {
                records: Vec::new(),
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
                id,
                timer,
            } => {
                let i = node.index();
                if !self.up[i] || self.incarnation[i] != incarnation {
                    return;
                }
                if !self.cancelled.is_empty() && self.cancelled.remove(&id) {
                    return;
                }
                if self.paused[i] {
                    self.stash[i].push(Entry {
                        at: e.at,
                        seq: e.seq,
                        ev: Ev::Timer {
                            node,
                            incarnation,
                            id,
                            timer,
                        },
                    });
                    return;
                }
                self.hash(2, node);
                if self.cfg.trace {
                    self.out
                        .trace
                        .push(format!("{} {} timer {:?}", self.now, node, timer));
                }
                self.dispatch(node, |n, ctx| n.on_timer(ctx, timer));
            }
            Ev::ClientTick(client) => self.client_tick(client),
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
        }
    }

    /// Call a handler of node `id` and apply what it asked for.
    fn dispatch(&mut self, id: NodeId, f: impl FnOnce(&mut M::Node, &mut Ctx<'_, M::Node>)) {
        let i = id.index();
        let mut out = std::mem::take(&mut self.outbox);
        {
            let mut ctx = Ctx::new(
                self.now,
                id,
                &mut self.node_rngs[i],
                &mut out,
                &mut self.next_timer,
            );
            f(&mut self.nodes[i], &mut ctx);
        }
        for (to, msg) in out.sends.drain(..) {
            self.send(id, to, msg);
        }
        for (after, tid, timer) in out.timers.drain(..) {
            let incarnation = self.incarnation[i];
            self.queue.push(
                self.now + after,
                Ev::Timer {
                    node: id,
                    incarnation,
                    id: tid,
                    timer,
                },
            );
        }
        for tid in out.cancels.drain(..) {
            self.cancelled.insert(tid);
        }
        for obs in out.records.drain(..) {
            if let Some(what) = self.checker.on_record(self.now, id, &obs, &self.nodes) {
                self.out.violations.push(Violation {
                    at: self.now,
                    node: id,
                    what,
                });
            }
            let common = match obs {
                Obs::Detected { suspect } => Obs::Detected { suspect },
                Obs::ElectionRound { term } => Obs::ElectionRound { term },
                Obs::Elected { leader, term } => Obs::Elected { leader, term },
                Obs::Serving { leader, term } => Obs::Serving { leader, term },
                Obs::OpDone { op, ok } => Obs::OpDone { op, ok },
                Obs::Note(_) => continue,
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
        self.outbox = out;
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
        let mut delay = SimDuration::ZERO;
        if net.loss > 0.0 {
            match net.loss_mode {
                LossMode::Drop => {
                    if rng::unit(&mut self.net_rng) < net.loss {
                        return;
                    }
                }
                LossMode::Retransmit => {
                    // Each lost transmission costs one (doubling) timeout.
                    let mut rto = net.rto;
                    for _ in 0..15 {
                        if rng::unit(&mut self.net_rng) >= net.loss {
                            break;
                        }
                        delay = delay + rto;
                        rto = (rto + rto).min(RTO_MAX);
                    }
                }
            }
        }
        if net.duplicate > 0.0 && rng::unit(&mut self.net_rng) < net.duplicate {
            self.deliver_later(from, to, to_incarnation, self.now, delay, msg.clone());
        }
        self.deliver_later(from, to, to_incarnation, self.now, delay, msg);
    }

    /// Put `msg` on the `from -> to` link: network latency plus the link's base
    /// latency, never before a message sent earlier on the same link.
    fn deliver_later(
        &mut self,
        from: NodeId,
        to: NodeId,
        to_incarnation: u32,
        sent: SimTime,
        extra: SimDuration,
        msg: <M::Node as Node>::Msg,
    ) {
        let n = self.nodes.len();
        let link = from.index() * n + to.index();
        let latency = self
            .cfg
            .net
            .latency
            .sample_with(&mut self.net_rng, &mut self.net_normals)
            + self.link_base[link]
            + extra;
        let at = (self.now + latency).max(self.link_last[link]);
        self.link_last[link] = at;
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
        let load = &self.cfg.load;
        let interval = 1e9 / load.rate_per_s;
        let r = &mut self.load_rngs[c];
        let next = if load.poisson {
            rng::exponential(r, interval)
        } else {
            interval
        };
        let kind = if load.read_ratio > 0.0 && rng::unit(r) < load.read_ratio {
            OpKind::Read
        } else {
            OpKind::Write
        };
        self.queue.push(
            self.now + SimDuration(next.max(1.0) as u64),
            Ev::ClientTick(client),
        );
        if !self.up[c] || self.paused[c] {
            return;
        }
        self.op_seq[c] += 1;
        let op = ClientOp {
            id: (c as u64) << 40 | self.op_seq[c],
            kind,
            issued: self.now,
        };
        self.hash(6, client);
        self.dispatch(client, |n, ctx| n.on_client(ctx, op));
    }

    fn leader(&self) -> Option<usize> {
        let mut best: Option<(bool, u64, usize)> = None;
        for i in 0..self.servers {
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

    fn resolve(&mut self, target: &Target) -> Option<usize> {
        match *target {
            Target::Leader => self.leader(),
            Target::Follower => {
                let leader = self.leader();
                let live: Vec<usize> = (0..self.servers)
                    .filter(|&i| self.up[i] && Some(i) != leader)
                    .collect();
                (!live.is_empty()).then(|| live[rng::index(&mut self.fault_rng, live.len())])
            }
            Target::Random => {
                let live: Vec<usize> = (0..self.servers).filter(|&i| self.up[i]).collect();
                (!live.is_empty()).then(|| live[rng::index(&mut self.fault_rng, live.len())])
            }
            Target::Node(i) => (i < self.servers).then_some(i),
            Target::LastFaulted => self.last_faulted.map(NodeId::index),
            Target::Group(_) | Target::Path { .. } => None,
        }
    }

    fn log_fault(&mut self, what: &'static str, node: Option<usize>, applied: bool) {
        if self.cfg.trace {
            self.out.trace.push(format!(
                "{} fault {} on {:?} applied={}",
                self.now,
                what,
                node.map(|i| NodeId(i as u32)),
                applied
            ));
        }
        self.out.faults.push(AppliedFault {
            at: self.now,
            what,
            node: node.map(|i| NodeId(i as u32)),
            applied,
            protocol_msgs: self.out.protocol_msgs,
        });
    }

    fn apply_fault(&mut self, k: usize) {
        let spec = &self.cfg.faults[k];
        let duration = spec.duration;
        match spec.action.clone() {
            Action::Crash { host_alive } => {
                let t = self.resolve(&spec.target);
                let ok = t.is_some_and(|i| self.up[i]);
                self.log_fault("crash", t, ok);
                if let (true, Some(i)) = (ok, t) {
                    self.crash(i, host_alive);
                    if let Some(d) = duration {
                        self.queue
                            .push(self.now + d, Ev::Undo(Undo::Restart(NodeId(i as u32))));
                    }
                }
            }
            Action::Restart => {
                let t = self.resolve(&spec.target);
                let ok = t.is_some_and(|i| !self.up[i]);
                self.log_fault("restart", t, ok);
                if let (true, Some(i)) = (ok, t) {
                    self.restart(NodeId(i as u32));
                }
            }
            Action::Pause => {
                let t = self.resolve(&spec.target);
                let ok = t.is_some_and(|i| self.up[i] && !self.paused[i]);
                self.log_fault("pause", t, ok);
                if let (true, Some(i)) = (ok, t) {
                    self.paused[i] = true;
                    self.last_faulted = Some(NodeId(i as u32));
                    if let Some(d) = duration {
                        self.queue
                            .push(self.now + d, Ev::Undo(Undo::Resume(NodeId(i as u32))));
                    }
                }
            }
            Action::Resume => {
                let t = self.resolve(&spec.target);
                let ok = t.is_some_and(|i| self.paused[i]);
                self.log_fault("resume", t, ok);
                if let (true, Some(i)) = (ok, t) {
                    self.resume(NodeId(i as u32));
                }
            }
            Action::Isolate => {
                let t = self.resolve(&spec.target);
                self.log_fault("isolate", t, t.is_some());
                if let Some(i) = t {
                    self.last_faulted = Some(NodeId(i as u32));
                    let n = self.nodes.len();
                    let links: Vec<(usize, usize)> = (0..n)
                        .filter(|&j| j != i)
                        .flat_map(|j| [(i, j), (j, i)])
                        .collect();
                    self.cut(links, duration);
                }
            }
            Action::Partition { groups, one_way } => {
                self.log_fault("partition", None, true);
                let mut links = Vec::new();
                for (a, ga) in groups.iter().enumerate() {
                    for (b, gb) in groups.iter().enumerate() {
                        if a == b || (one_way && a != 0) {
                            continue;
                        }
                        for &x in ga {
                            for &y in gb {
                                links.push((x, y));
                            }
                        }
                    }
                }
                self.cut(links, duration);
            }
            Action::Heal => {
                self.log_fault("heal", None, true);
                self.reach.heal_all();
                self.release_held();
            }
        }
    }

    fn cut(&mut self, links: Vec<(usize, usize)>, duration: Option<SimDuration>) {
        self.reach.apply(&links, true);
        if let Some(d) = duration {
            self.queue.push(self.now + d, Ev::Undo(Undo::Heal(links)));
        }
    }

    fn undo(&mut self, u: Undo) {
        match u {
            Undo::Restart(id) => {
                let ok = !self.up[id.index()];
                self.log_fault("restart", Some(id.index()), ok);
                if ok {
                    self.restart(id);
                }
            }
            Undo::Resume(id) => {
                let ok = self.paused[id.index()];
                self.log_fault("resume", Some(id.index()), ok);
                if ok {
                    self.resume(id);
                }
            }
            Undo::Heal(links) => {
                self.log_fault("heal", None, true);
                self.reach.apply(&links, false);
                self.release_held();
            }
        }
    }

    fn crash(&mut self, i: usize, host_alive: bool) {
        self.nodes[i].on_crash();
        self.up[i] = false;
        self.paused[i] = false;
        self.incarnation[i] += 1;
        self.stash[i].clear();
        self.held
            .retain(|h| h.from.index() != i && h.to.index() != i);
        self.last_faulted = Some(NodeId(i as u32));
        if host_alive {
            // The kernel closes the dead process's sockets; each peer hears the
            // reset after one network hop (unless the link is cut).
            let n = self.nodes.len();
            for j in 0..n {
                if j == i || !self.up[j] || self.reach.blocked(i, j) {
                    continue;
                }
                let latency = self
                    .cfg
                    .net
                    .latency
                    .sample_with(&mut self.net_rng, &mut self.net_normals)
                    + self.link_base[i * n + j];
                let at = (self.now + latency).max(self.link_last[i * n + j]);
                self.link_last[i * n + j] = at;
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
            // Retransmissions at first_sent + rto, + 2 rto, + 4 rto, ...
            let mut rto = self.cfg.net.rto;
            let mut at = h.first_sent + rto;
            while at < self.now {
                rto = (rto + rto).min(RTO_MAX);
                at = at + rto;
            }
            let extra = at.since(self.now);
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

/// Run one trial of `model` under `cfg`.
pub fn run_trial<M: Model>(model: &M, cfg: &SimConfig, stop: Option<&AtomicBool>) -> SimOutput {
    Sim::new(model, cfg).run(stop)
}
