//! One live trial: the model's nodes, unchanged, driven by worker threads on
//! the monotonic clock. See the module doc of [`crate::engine::live`] for the
//! design and every difference from the simulator.

use std::cell::UnsafeCell;
use std::cmp::Ordering as CmpOrdering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam::utils::CachePadded;
use parking_lot::{Condvar, Mutex, RwLock, RwLockReadGuard};

use super::clock::LiveClock;
use super::load::{self, ClientThread, Load, LoadStats};
use super::mailbox::MailboxKind;
use super::sched::Actors;
use super::word::LeaderWords;
use crate::engine::disk::DiskQueue;
use crate::engine::fault::{Action, Target, When};
use crate::engine::net::{CutId, Links, Reachability};
use crate::engine::rng::{self, Rng};
use crate::engine::sim::{AppliedFault, Record, SimConfig, SimOutput, Violation};
use crate::engine::stats::ClientStats;
use crate::engine::{
    Checker, ClientOp, Ctx, Durable, Findings, Model, Node, NodeId, Obs, Outbox, Role, Scope,
    SimDuration, SimTime, Targeting, Topology, WriteOf,
};

/// A model whose nodes, and everything they send, set, record and write, can
/// move between threads: what the live runtime needs of a path. Every path
/// is one (its types are plain data); the bounds are implied wherever a
/// `M: LiveModel` is.
pub trait LiveModel:
    Model<
        Node: Send + Node<Msg: Send, Timer: Send, Note: Send, Durable: Send + Durable<Write: Send>>,
        Checker: Send,
    > + Sync
{
}

impl<M> LiveModel for M where
    M: Model<
            Node: Send
                      + Node<Msg: Send, Timer: Send, Note: Send, Durable: Send + Durable<Write: Send>>,
            Checker: Send,
        > + Sync
{
}

/// How the live runtime runs a trial (`workers`, `mailbox` in a workload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveConfig {
    /// Worker threads that run nodes (the clock thread comes on top).
    pub workers: usize,
    /// Client threads that issue the clients' operations
    /// ([`super::load`]; client `c` belongs to thread `c % load_threads`).
    pub load_threads: usize,
    pub mailbox: MailboxKind,
    /// Envelopes a node's mailbox holds before it refuses one.
    pub capacity: usize,
    /// Envelopes a worker handles of one node before it lets another run.
    pub batch: usize,
    /// Run the checker as observations are made, each handler's records
    /// with the world stopped (exact for the recording node; see the module
    /// doc); `false` feeds it after the run with the final node states.
    pub check_online: bool,
}

/// Capacity of a node's mailbox when the workload does not say.
pub const DEFAULT_CAPACITY: usize = 4096;

impl Default for LiveConfig {
    /// One worker per core, lock-free mailboxes of [`DEFAULT_CAPACITY`].
    fn default() -> Self {
        LiveConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_threads: 1,
            mailbox: MailboxKind::LockFree,
            capacity: DEFAULT_CAPACITY,
            batch: 64,
            check_online: true,
        }
    }
}

/// What only a live trial measures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveStats {
    pub workers: usize,
    /// Pushes a full mailbox refused (each retry of a kept envelope counts).
    pub mailbox_full: u64,
    /// Process CPU time (user + system) during the trial.
    pub cpu_ns: u64,
    /// Wall time of the trial.
    pub wall_ns: u64,
    /// Envelopes handled by the nodes.
    pub events: u64,
    /// Parts (`Scope::Part`) whose leader word holds a leader at the end.
    pub parts_published: usize,
    /// What the client threads measured ([`super::load`]).
    pub load: LoadStats,
    /// Wall time from the clients' start to the trial's end.
    pub load_wall_ns: u64,
}

/// What a node's mailbox carries.
enum Env<N: Node> {
    Deliver {
        from: NodeId,
        to_incarnation: u32,
        sent: SimTime,
        msg: N::Msg,
    },
    Timer {
        incarnation: u32,
        token: u64,
        timer: N::Timer,
    },
    Client(ClientOp),
    Reset {
        peer: NodeId,
    },
    Persisted {
        incarnation: u32,
        write: WriteOf<N>,
        applied: bool,
    },
}

enum Undo {
    Restart(usize),
    Resume(usize),
    Unisolate(usize),
    Heal(CutId),
}

/// What the clock thread does at a deadline.
enum Due<N: Node> {
    Env(u32, Env<N>),
    Fault(usize),
    Undo(Undo),
}

struct Pending<N: Node> {
    at: u64,
    seq: u64,
    due: Due<N>,
}

impl<N: Node> PartialEq for Pending<N> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<N: Node> Eq for Pending<N> {}
impl<N: Node> PartialOrd for Pending<N> {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl<N: Node> Ord for Pending<N> {
    /// Reversed: `BinaryHeap` pops the earliest `(at, seq)` first.
    fn cmp(&self, o: &Self) -> CmpOrdering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

struct ClockQueue<N: Node> {
    heap: BinaryHeap<Pending<N>>,
    seq: u64,
    /// The deadline the clock thread sleeps until (0: awake).
    sleeping_until: u64,
}

/// A message held by a cut link (TCP keeps retransmitting it).
struct Held<M> {
    from: NodeId,
    to: NodeId,
    to_incarnation: u32,
    first_sent: SimTime,
    msg: M,
}

/// Everything of one node but the node itself.
struct Slot<N: Node> {
    rng: Rng,
    net_rng: Rng,
    normals: rng::Normals,
    timers: Vec<(N::Timer, u64)>,
    next_timer: u64,
    /// Per outgoing link: the latest delivery deadline (FIFO links).
    last_at: BTreeMap<u32, SimTime>,
    stash: Vec<Env<N>>,
    stable: N::Durable,
    disk: DiskQueue,
    disk_rng: Rng,
    disk_normals: rng::Normals,
    outbox: Outbox<N>,
    paused: bool,
    /// How many records the node has made: their order among the node's
    /// own records (see [`Rec`]).
    seq: u64,
}

/// Cells that the ownership protocol guards (see [`Shared::node_mut`]).
struct Cells<T>(Vec<UnsafeCell<T>>);

// SAFETY: a cell is only touched by the thread that owns it under the
// protocol of `Shared::node_mut`; values cross threads, hence `T: Send`.
unsafe impl<T: Send> Sync for Cells<T> {}

/// One recorded observation, with the order it was recorded in: records
/// sort by time, then node, then the node's own count (`seq`), so a node's
/// records keep their order and records of one instant (the same
/// nanosecond) on different nodes, which no message can have ordered, go by
/// node id.
struct Rec<T> {
    at: SimTime,
    seq: u64,
    node: NodeId,
    protocol_msgs: u64,
    obs: Obs<T>,
}

/// One thread's records, and the lane of [`Shared::counts`] it counts the
/// messages it sends in.
struct Sink<N: Node> {
    recs: Vec<Rec<N::Note>>,
    lane: usize,
    /// Completions handed to the client threads since this thread last
    /// woke them ([`Shared::worker`]).
    handed: usize,
}

impl<N: Node> Sink<N> {
    fn new(lane: usize) -> Self {
        Sink {
            recs: Vec::new(),
            lane,
            handed: 0,
        }
    }
}

/// One thread's message counts. Only that thread writes them, so an add is
/// a plain load and store (no locked instruction, no cache line shared by
/// two writers); others only read them.
#[derive(Default)]
struct Counts {
    /// Every message sent.
    messages: AtomicU64,
    /// Messages between two servers (what `sim` counts as protocol
    /// messages).
    protocol: AtomicU64,
}

/// Add `k` to a counter only the calling thread writes.
fn add_own(c: &AtomicU64, k: u64) {
    c.store(c.load(Ordering::Relaxed) + k, Ordering::Relaxed);
}

/// What sees a handler's observations before its effects leave the node.
type Hook<'h, N> = dyn FnMut(&[Rec<<N as Node>::Note>]) + 'h;

struct Shared<'a, M: Model> {
    model: &'a M,
    cfg: &'a SimConfig,
    live: &'a LiveConfig,
    clock: LiveClock,
    end: SimTime,
    n: usize,
    servers: usize,
    topology: Topology,
    nodes: Cells<M::Node>,
    slots: Cells<Slot<M::Node>>,
    up: Vec<AtomicBool>,
    incarnation: Vec<AtomicU32>,
    actors: Actors<Env<M::Node>>,
    queue: Mutex<ClockQueue<M::Node>>,
    wake: Condvar,
    /// Workers hold it shared while they run a node; the clock thread takes
    /// it exclusively to apply a fault to a quiet world.
    world: RwLock<()>,
    reach: RwLock<Reachability>,
    /// Some link is cut (a copy of `!reach.is_clear()`, changed only with
    /// the world stopped), so a send on an uncut network takes no lock.
    cut: AtomicBool,
    held: Mutex<Vec<Held<<M::Node as Node>::Msg>>>,
    links: Links,
    /// Message counts per thread: lane 0 is the clock thread (which also
    /// boots the nodes), lane `w + 1` worker `w`.
    counts: Vec<CachePadded<Counts>>,
    /// Per sender: its messages the clock thread holds (in the heap or kept
    /// for a full mailbox). While any is held, the sender's later messages
    /// go through the clock too, so a link stays FIFO.
    clocked: Vec<AtomicU32>,
    events: AtomicU64,
    /// The whole system's word and one per part: `Model::parts`, or the
    /// node count if larger (paths that number parts by node id).
    words: LeaderWords,
    finished: AtomicBool,
    checker: Mutex<M::Checker>,
    violations: Mutex<Vec<Violation>>,
    /// The client threads' inboxes ([`super::load`]).
    load: Load,
}

/// The clock thread's own state.
struct ClockState<N: Node> {
    fault_rng: Rng,
    net_rng: Rng,
    normals: rng::Normals,
    last_faulted: Option<NodeId>,
    overflow: Vec<VecDeque<Env<N>>>,
    overflowing: Vec<usize>,
    faults: Vec<AppliedFault>,
    sink: Sink<N>,
}

impl<'a, M: LiveModel> Shared<'a, M> {
    /// Time since the trial started.
    fn now(&self) -> SimTime {
        self.clock.now()
    }

    /// Protocol messages sent so far, over every thread.
    fn protocol_msgs(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.protocol.load(Ordering::Relaxed))
            .sum()
    }

    /// Node `i` for its owner.
    ///
    /// # Safety
    /// The caller owns node `i`: it is the worker that holds the node's
    /// scheduled flag (and the world lock shared), or the thread that holds
    /// the world lock exclusively, or the only thread (before the workers
    /// start). No other reference to the node or its slot is alive.
    #[allow(clippy::mut_from_ref)]
    unsafe fn node_mut(&self, i: usize) -> &mut M::Node {
        &mut *self.nodes.0[i].get()
    }

    /// Slot `i` for its owner; same contract as [`Shared::node_mut`].
    #[allow(clippy::mut_from_ref)]
    unsafe fn slot_mut(&self, i: usize) -> &mut Slot<M::Node> {
        &mut *self.slots.0[i].get()
    }

    /// Every node, read only.
    ///
    /// # Safety
    /// The caller holds the world lock exclusively (no node runs).
    unsafe fn all_nodes(&self) -> &[M::Node] {
        // `UnsafeCell<T>` has the layout of `T`.
        std::slice::from_raw_parts(self.nodes.0.as_ptr().cast::<M::Node>(), self.n)
    }

    /// Whether the link `f` → `t` is cut now.
    fn blocked(&self, f: usize, t: usize) -> bool {
        self.cut.load(Ordering::Relaxed) && self.reach.read().blocked(f, t)
    }

    /// Change which links are cut (the caller has stopped the world).
    fn cut_links<R>(&self, f: impl FnOnce(&mut Reachability) -> R) -> R {
        let mut reach = self.reach.write();
        let r = f(&mut reach);
        self.cut.store(!reach.is_clear(), Ordering::Relaxed);
        r
    }

    fn schedule(&self, at: SimTime, due: Due<M::Node>) {
        let mut q = self.queue.lock();
        q.seq += 1;
        let seq = q.seq;
        q.heap.push(Pending { at: at.0, seq, due });
        let wake = q.sleeping_until != 0 && at.0 < q.sleeping_until;
        drop(q);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Run one handler of node `i` (owned by the caller) and apply what it
    /// asked for; `hook` sees its observations before its messages leave.
    fn handle(
        &self,
        i: usize,
        sink: &mut Sink<M::Node>,
        hook: &mut Hook<'_, M::Node>,
        f: impl FnOnce(&mut M::Node, &mut Ctx<'_, M::Node>),
    ) {
        self.handle_at(self.now(), i, sink, hook, f);
    }

    /// [`Shared::handle`] at `now` (an instant disk's write is durable at
    /// the time of the handler that asked for it, as in `sim`).
    fn handle_at(
        &self,
        now: SimTime,
        i: usize,
        sink: &mut Sink<M::Node>,
        hook: &mut Hook<'_, M::Node>,
        f: impl FnOnce(&mut M::Node, &mut Ctx<'_, M::Node>),
    ) {
        let id = NodeId(i as u32);
        let inc = self.incarnation[i].load(Ordering::Relaxed);
        {
            // SAFETY: the caller owns node `i`.
            let (node, slot) = unsafe { (self.node_mut(i), self.slot_mut(i)) };
            let mut ctx = Ctx::new(
                now,
                id,
                inc,
                &mut slot.rng,
                &mut slot.outbox,
                &mut slot.timers,
                &mut slot.next_timer,
            );
            f(node, &mut ctx);
            // Hand each finished client operation to its client thread.
            for obs in &slot.outbox.records {
                if let Obs::OpDone { op, ok } = obs {
                    self.load.done(op, now, *ok);
                    sink.handed += 1;
                }
            }
        }
        self.apply(i, now, inc, sink, hook);
    }

    fn apply(
        &self,
        i: usize,
        now: SimTime,
        inc: u32,
        sink: &mut Sink<M::Node>,
        hook: &mut Hook<'_, M::Node>,
    ) {
        let id = NodeId(i as u32);
        let before = sink.recs.len();
        {
            // SAFETY: the caller owns node `i`; this reference ends with the
            // block.
            let slot = unsafe { self.slot_mut(i) };
            // What `sim` counts before it records (it sends first).
            let servers = self.servers;
            let mine = slot
                .outbox
                .sends
                .iter()
                .filter(|(to, _)| i != to.index() && i < servers && to.index() < servers)
                .count() as u64;
            // Counted in this thread's own lane: two workers adding to the
            // same counters made them a hot cache line (`perf`: a locked add
            // was a quarter of this function's time).
            let counts = &self.counts[sink.lane];
            let sent = slot.outbox.sends.len() as u64;
            if sent > 0 {
                add_own(&counts.messages, sent);
            }
            if mine > 0 {
                add_own(&counts.protocol, mine);
            }
            let protocol_msgs = if slot.outbox.records.is_empty() {
                0
            } else {
                self.protocol_msgs()
            };
            for obs in slot.outbox.records.drain(..) {
                match obs {
                    Obs::Elected {
                        leader,
                        term,
                        scope,
                    }
                    | Obs::Serving {
                        leader,
                        term,
                        scope,
                    } => {
                        let w = match scope {
                            Scope::Whole => 0,
                            Scope::Part(p) => p as usize + 1,
                        };
                        if let Some(word) = self.words.get(w) {
                            word.publish(term, leader);
                        }
                    }
                    _ => {}
                }
                slot.seq += 1;
                sink.recs.push(Rec {
                    at: now,
                    seq: slot.seq,
                    node: id,
                    protocol_msgs,
                    obs,
                });
            }
        }
        if sink.recs.len() > before {
            // Before anything this handler sent can change another node.
            hook(&sink.recs[before..]);
        }
        let persists = {
            // SAFETY: as above; the hook has returned.
            let slot = unsafe { self.slot_mut(i) };
            let mut sends = std::mem::take(&mut slot.outbox.sends);
            for (to, msg) in sends.drain(..) {
                self.send(i, slot, to, msg, now);
            }
            slot.outbox.sends = sends;
            for (after, token, timer) in slot.outbox.timers.drain(..) {
                self.schedule(
                    now + after,
                    Due::Env(
                        i as u32,
                        Env::Timer {
                            incarnation: inc,
                            token,
                            timer,
                        },
                    ),
                );
            }
            let persists = std::mem::take(&mut slot.outbox.persists);
            if self.cfg.disk.is_instant() {
                persists
            } else {
                for write in persists {
                    let done = slot.disk.write(
                        &self.cfg.disk,
                        now,
                        <M::Node as Node>::Durable::bytes(&write),
                        <M::Node as Node>::Durable::fsync(&write),
                        &mut slot.disk_rng,
                        &mut slot.disk_normals,
                    );
                    self.schedule(
                        done,
                        Due::Env(
                            i as u32,
                            Env::Persisted {
                                incarnation: inc,
                                write,
                                applied: false,
                            },
                        ),
                    );
                }
                Vec::new()
            }
        };
        // An instant disk: each write is durable as the handler returns.
        for write in persists {
            self.handle_at(now, i, sink, hook, |n, ctx| n.on_persisted(ctx, write));
        }
    }

    fn send(
        &self,
        f: usize,
        slot: &mut Slot<M::Node>,
        to: NodeId,
        msg: <M::Node as Node>::Msg,
        now: SimTime,
    ) {
        let t = to.index();
        let from = NodeId(f as u32);
        assert!(t < self.n, "{from} sent to unknown node {to}");
        let to_incarnation = self.incarnation[t].load(Ordering::Relaxed);
        if f == t {
            self.post(f, t, now, now, to_incarnation, msg);
            return;
        }
        if self.blocked(f, t) {
            self.held.lock().push(Held {
                from,
                to,
                to_incarnation,
                first_sent: now,
                msg,
            });
            return;
        }
        let net = &self.cfg.net;
        let Some(extra) = net.loss_delay(&mut slot.net_rng) else {
            return;
        };
        if net.duplicated(&mut slot.net_rng) {
            self.deliver_later(f, slot, t, to_incarnation, now, extra, msg.clone());
        }
        self.deliver_later(f, slot, t, to_incarnation, now, extra, msg);
    }

    /// Hold `msg` until its delivery deadline: a latency draw plus the
    /// link's base latency and `extra`, never before what the same sender
    /// sent earlier on the link.
    #[allow(clippy::too_many_arguments)]
    fn deliver_later(
        &self,
        f: usize,
        slot: &mut Slot<M::Node>,
        t: usize,
        to_incarnation: u32,
        now: SimTime,
        extra: SimDuration,
        msg: <M::Node as Node>::Msg,
    ) {
        let latency = self
            .cfg
            .net
            .latency
            .sample_with(&mut slot.net_rng, &mut slot.normals)
            + self.links.base(f, t)
            + extra;
        let last = slot.last_at.entry(t as u32).or_default();
        let at = (now + latency).max(*last);
        *last = at;
        self.post(f, t, at, now, to_incarnation, msg);
    }

    /// Deliver `msg` from `f` to `t` at `at`: straight into `t`'s mailbox
    /// when it is due now and the clock thread holds none of `f`'s messages
    /// (so it cannot overtake one), else through the clock thread.
    fn post(
        &self,
        f: usize,
        t: usize,
        at: SimTime,
        now: SimTime,
        to_incarnation: u32,
        msg: <M::Node as Node>::Msg,
    ) {
        let env = Env::Deliver {
            from: NodeId(f as u32),
            to_incarnation,
            sent: now,
            msg,
        };
        let env = if at <= now && self.clocked[f].load(Ordering::Acquire) == 0 {
            match self.actors.push(t, env) {
                Ok(()) => return,
                Err(env) => env,
            }
        } else {
            env
        };
        self.clocked[f].fetch_add(1, Ordering::Relaxed);
        self.schedule(at, Due::Env(t as u32, env));
    }

    /// The clock thread's push of `env` into `to`'s mailbox; a message it
    /// delivers no longer holds back its sender's direct pushes.
    fn push_clocked(&self, to: usize, env: Env<M::Node>) -> Result<(), Env<M::Node>> {
        let from = match &env {
            Env::Deliver { from, .. } => Some(from.index()),
            _ => None,
        };
        self.actors.push(to, env)?;
        if let Some(f) = from {
            self.clocked[f].fetch_sub(1, Ordering::Release);
        }
        Ok(())
    }

    /// The clock thread takes `env` (a stashed or held envelope) back.
    fn reclock(&self, env: &Env<M::Node>) {
        if let Env::Deliver { from, .. } = env {
            self.clocked[from.index()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Handle one envelope of node `i` (owned by the calling worker).
    fn process(
        &self,
        i: usize,
        env: Env<M::Node>,
        sink: &mut Sink<M::Node>,
        hook: &mut Hook<'_, M::Node>,
    ) {
        let up = self.up[i].load(Ordering::Relaxed);
        let inc = self.incarnation[i].load(Ordering::Relaxed);
        // SAFETY: the calling worker owns node `i`; `slot` is not used after
        // `handle` is called (which takes its own reference).
        let slot = unsafe { self.slot_mut(i) };
        match env {
            Env::Deliver {
                from,
                to_incarnation,
                sent,
                msg,
            } => {
                if !up || inc != to_incarnation {
                    return; // the connection died with the receiver
                }
                if slot.paused {
                    slot.stash.push(Env::Deliver {
                        from,
                        to_incarnation,
                        sent,
                        msg,
                    });
                    return;
                }
                if from.index() != i && self.blocked(from.index(), i) {
                    // In flight when the cut came: TCP retransmits it.
                    self.held.lock().push(Held {
                        from,
                        to: NodeId(i as u32),
                        to_incarnation,
                        first_sent: sent,
                        msg,
                    });
                    return;
                }
                self.handle(i, sink, hook, |n, ctx| n.on_message(ctx, from, msg));
            }
            Env::Timer {
                incarnation,
                token,
                timer,
            } => {
                if !up || inc != incarnation {
                    return;
                }
                if slot.paused {
                    slot.stash.push(Env::Timer {
                        incarnation,
                        token,
                        timer,
                    });
                    return;
                }
                let Some(k) = slot.timers.iter().position(|(_, t)| *t == token) else {
                    return; // replaced or cancelled
                };
                slot.timers.swap_remove(k);
                self.handle(i, sink, hook, |n, ctx| n.on_timer(ctx, timer));
            }
            Env::Client(op) => {
                if !up || slot.paused {
                    self.load.refused(op, self.now());
                    sink.handed += 1;
                    return;
                }
                self.handle(i, sink, hook, |n, ctx| n.on_client(ctx, op));
            }
            Env::Reset { peer } => {
                if !up {
                    return;
                }
                if slot.paused {
                    slot.stash.push(Env::Reset { peer });
                    return;
                }
                self.handle(i, sink, hook, |n, ctx| n.on_link_reset(ctx, peer));
            }
            Env::Persisted {
                incarnation,
                write,
                applied,
            } => {
                if inc != incarnation {
                    return; // the process died before the write was durable
                }
                if !applied {
                    slot.stable.apply(&write);
                }
                if slot.paused {
                    slot.stash.push(Env::Persisted {
                        incarnation,
                        write,
                        applied: true,
                    });
                    return;
                }
                self.handle(i, sink, hook, |n, ctx| n.on_persisted(ctx, write));
            }
        }
    }

    fn worker(&self, w: usize) -> Sink<M::Node> {
        let mut sink = Sink::new(w + 1);
        let mut events = 0u64;
        let wake_every = self.load.wake_every(self.live.workers);
        while !self.finished.load(Ordering::Acquire) {
            let i = match self.actors.try_next() {
                Some(i) => i,
                None => {
                    // Out of work: wake the client threads before waiting.
                    self.wake_clients(&mut sink, 1);
                    let Some(i) = self.actors.next(Duration::from_millis(2)) else {
                        continue;
                    };
                    i
                }
            };
            let mut world = self.world.read();
            // Stop the world to show the checker every node at rest; this
            // worker still owns node `i`.
            let mut hook = |recs: &[Rec<<M::Node as Node>::Note>]| {
                if !self.live.check_online {
                    return;
                }
                let mut checker = self.checker.lock();
                if recs.iter().any(|r| checker.reads_nodes(&r.obs)) {
                    drop(checker);
                    RwLockReadGuard::unlocked(&mut world, || {
                        let _all = self.world.write();
                        self.check(recs);
                    });
                } else {
                    // No record needs the nodes: check without stopping the
                    // world (the hook runs before the handler's messages
                    // leave, so the checker still sees cause before effect).
                    self.check_with(&mut checker, recs, &[]);
                }
            };
            events += self.actors.run(i, self.live.batch, |env| {
                self.process(i, env, &mut sink, &mut hook)
            }) as u64;
            drop(world);
            self.wake_clients(&mut sink, wake_every);
        }
        self.events.fetch_add(events, Ordering::Relaxed);
        sink
    }

    /// Wake the client threads if this thread has handed them at least
    /// `at_least` completions since it last did.
    fn wake_clients(&self, sink: &mut Sink<M::Node>, at_least: usize) {
        if sink.handed >= at_least {
            self.load.flush();
            sink.handed = 0;
        }
    }

    /// Show `recs` to the checker (the caller has stopped the world).
    fn check(&self, recs: &[Rec<<M::Node as Node>::Note>]) {
        // SAFETY: the caller holds the world lock exclusively (or is the
        // only thread).
        self.check_with(&mut self.checker.lock(), recs, unsafe { self.all_nodes() });
    }

    /// Show `recs` to `checker`, with `nodes` for the records it reads them
    /// for and none for the rest.
    fn check_with(
        &self,
        checker: &mut M::Checker,
        recs: &[Rec<<M::Node as Node>::Note>],
        nodes: &[M::Node],
    ) {
        for r in recs {
            let nodes = if checker.reads_nodes(&r.obs) {
                nodes
            } else {
                &[]
            };
            if let Some(what) = checker.on_record(r.at, r.node, &r.obs, nodes) {
                self.violations.lock().push(Violation {
                    at: r.at,
                    node: r.node,
                    what,
                });
            }
        }
    }

    /// Hand `env` to node `to`'s mailbox; a refused envelope is kept, in
    /// order behind any kept earlier, and retried.
    fn deliver(&self, to: usize, env: Env<M::Node>, st: &mut ClockState<M::Node>) {
        if !st.overflow[to].is_empty() {
            st.overflow[to].push_back(env);
            return;
        }
        if let Err(env) = self.push_clocked(to, env) {
            st.overflow[to].push_back(env);
            st.overflowing.push(to);
        }
    }

    fn retry_overflow(&self, st: &mut ClockState<M::Node>) {
        let mut still = Vec::new();
        for to in std::mem::take(&mut st.overflowing) {
            while let Some(env) = st.overflow[to].pop_front() {
                if let Err(env) = self.push_clocked(to, env) {
                    st.overflow[to].push_front(env);
                    still.push(to);
                    break;
                }
            }
        }
        st.overflowing = still;
    }

    /// The clock thread: fires deadlines (deliveries, timers, disk
    /// completions), client operations and faults until the trial's end or
    /// `stop`. Returns whether it was stopped.
    fn clock(&self, st: &mut ClockState<M::Node>, stop: Option<&AtomicBool>) -> bool {
        let mut due = Vec::new();
        loop {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                return true;
            }
            let now = self.now();
            if now >= self.end {
                return false;
            }
            if !st.overflowing.is_empty() {
                self.retry_overflow(st);
            }
            {
                let mut q = self.queue.lock();
                while q.heap.peek().is_some_and(|p| p.at <= now.0) {
                    due.push(q.heap.pop().expect("peeked"));
                }
                if due.is_empty() {
                    let mut next = q.heap.peek().map_or(self.end.0, |p| p.at).min(self.end.0);
                    // Look at `stop` every 10 ms, at kept envelopes every 50 µs.
                    next = next.min(now.0 + 10_000_000);
                    if !st.overflowing.is_empty() {
                        next = next.min(now.0 + 50_000);
                    }
                    q.sleeping_until = next.max(1);
                    self.wake.wait_for(&mut q, self.clock.until(SimTime(next)));
                    q.sleeping_until = 0;
                    continue;
                }
            }
            for p in due.drain(..) {
                self.fire(SimTime(p.at), p.due, st);
            }
        }
    }

    fn fire(&self, _at: SimTime, due: Due<M::Node>, st: &mut ClockState<M::Node>) {
        match due {
            Due::Env(to, env) => self.deliver(to as usize, env, st),
            Due::Fault(k) => {
                let _world = self.world.write();
                self.apply_fault(k, st);
            }
            Due::Undo(u) => {
                let _world = self.world.write();
                self.undo(u, st);
            }
        }
    }

    fn up_now(&self) -> Vec<bool> {
        self.up.iter().map(|u| u.load(Ordering::Relaxed)).collect()
    }

    /// Resolve fault `k`'s target on the quiet world (the caller holds the
    /// world lock exclusively, so the nodes are a consistent snapshot).
    fn resolve(&self, k: usize, st: &mut ClockState<M::Node>) -> Option<(usize, Scope)> {
        let up = self.up_now();
        // SAFETY: the caller holds the world lock exclusively.
        let nodes = unsafe { self.all_nodes() };
        let target = &self.cfg.faults[k].target;
        let mut t = Targeting {
            nodes,
            up: &up,
            topology: &self.topology,
            last_faulted: st.last_faulted,
            rng: &mut st.fault_rng,
        };
        let r = self.model.resolve(target, &mut t);
        if *target == Target::Leader && r == t.common(target).map(|i| (i, Scope::Whole)) {
            // The path's leader is the engine's: take it from the leader
            // word, without a lock, when the word names a live server that
            // still leads in the word's epoch.
            if let Some((epoch, l)) = self.words.whole().read() {
                let li = l.index();
                if li < self.servers && up[li] {
                    let v = nodes[li].view();
                    if v.role == Role::Leader && v.term & 0xffff_ffff == epoch {
                        return Some((li, Scope::Whole));
                    }
                }
            }
        }
        r
    }

    fn log_fault(
        &self,
        st: &mut ClockState<M::Node>,
        what: &'static str,
        node: Option<usize>,
        scope: Scope,
        applied: bool,
    ) {
        st.faults.push(AppliedFault {
            at: self.now(),
            what,
            node: node.map(|i| NodeId(i as u32)),
            scope,
            applied,
            protocol_msgs: self.protocol_msgs(),
        });
    }

    fn apply_fault(&self, k: usize, st: &mut ClockState<M::Node>) {
        let spec = &self.cfg.faults[k];
        let duration = spec.duration;
        let now = self.now();
        let scope_of = |t: Option<(usize, Scope)>| t.map_or(Scope::Whole, |x| x.1);
        match spec.action.clone() {
            Action::Crash { host_alive } => {
                let t = self.resolve(k, st);
                let ok = t.is_some_and(|(i, _)| self.up[i].load(Ordering::Relaxed));
                self.log_fault(st, "crash", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    self.crash(i, host_alive, st);
                    if let Some(d) = duration {
                        self.schedule(now + d, Due::Undo(Undo::Restart(i)));
                    }
                }
            }
            Action::Restart => {
                let t = self.resolve(k, st);
                let ok = t.is_some_and(|(i, _)| !self.up[i].load(Ordering::Relaxed));
                self.log_fault(st, "restart", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    self.restart(i, st);
                }
            }
            Action::Pause => {
                let t = self.resolve(k, st);
                // SAFETY (slot reads below): the world lock is held exclusively.
                let ok = t.is_some_and(|(i, _)| {
                    self.up[i].load(Ordering::Relaxed) && !unsafe { self.slot_mut(i) }.paused
                });
                self.log_fault(st, "pause", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    unsafe { self.slot_mut(i) }.paused = true;
                    st.last_faulted = Some(NodeId(i as u32));
                    if let Some(d) = duration {
                        self.schedule(now + d, Due::Undo(Undo::Resume(i)));
                    }
                }
            }
            Action::Resume => {
                let t = self.resolve(k, st);
                // SAFETY: the world lock is held exclusively.
                let ok = t.is_some_and(|(i, _)| unsafe { self.slot_mut(i) }.paused);
                self.log_fault(st, "resume", t.map(|x| x.0), scope_of(t), ok);
                if let (true, Some((i, _))) = (ok, t) {
                    self.resume(i);
                }
            }
            Action::Isolate => {
                let t = self.resolve(k, st);
                self.log_fault(st, "isolate", t.map(|x| x.0), scope_of(t), t.is_some());
                if let Some((i, _)) = t {
                    st.last_faulted = Some(NodeId(i as u32));
                    self.cut_links(|r| r.isolate(i, true));
                    if let Some(d) = duration {
                        self.schedule(now + d, Due::Undo(Undo::Unisolate(i)));
                    }
                }
            }
            Action::Partition { groups, one_way } => {
                self.log_fault(st, "partition", None, Scope::Whole, true);
                let id = self.cut_links(|r| r.partition(&groups, one_way));
                if let Some(d) = duration {
                    self.schedule(now + d, Due::Undo(Undo::Heal(id)));
                }
            }
            Action::Heal => {
                self.log_fault(st, "heal", None, Scope::Whole, true);
                self.cut_links(Reachability::heal_all);
                self.release_held();
            }
        }
    }

    fn undo(&self, u: Undo, st: &mut ClockState<M::Node>) {
        match u {
            Undo::Restart(i) => {
                let ok = !self.up[i].load(Ordering::Relaxed);
                self.log_fault(st, "restart", Some(i), Scope::Whole, ok);
                if ok {
                    self.restart(i, st);
                }
            }
            Undo::Resume(i) => {
                // SAFETY: the world lock is held exclusively.
                let ok = unsafe { self.slot_mut(i) }.paused;
                self.log_fault(st, "resume", Some(i), Scope::Whole, ok);
                if ok {
                    self.resume(i);
                }
            }
            Undo::Unisolate(i) => {
                self.log_fault(st, "heal", None, Scope::Whole, true);
                self.cut_links(|r| r.isolate(i, false));
                self.release_held();
            }
            Undo::Heal(cut) => {
                self.log_fault(st, "heal", None, Scope::Whole, true);
                self.cut_links(|r| r.remove(cut));
                self.release_held();
            }
        }
    }

    /// Node `i`'s process dies (the world lock is held exclusively).
    fn crash(&self, i: usize, host_alive: bool, st: &mut ClockState<M::Node>) {
        let now = self.now();
        // SAFETY: the world lock is held exclusively.
        let (node, slot) = unsafe { (self.node_mut(i), self.slot_mut(i)) };
        let durable = if self.cfg.disk.is_instant() {
            node.durable()
        } else {
            slot.stable.clone()
        };
        *node = self.model.recover(NodeId(i as u32), &durable);
        self.up[i].store(false, Ordering::Relaxed);
        self.incarnation[i].fetch_add(1, Ordering::Relaxed);
        slot.paused = false;
        slot.stash.clear();
        slot.timers.clear();
        slot.disk.reset(now);
        self.held
            .lock()
            .retain(|h| h.from.index() != i && h.to.index() != i);
        st.last_faulted = Some(NodeId(i as u32));
        if host_alive {
            let reach = self.reach.read();
            for j in 0..self.n {
                if j == i || !self.up[j].load(Ordering::Relaxed) || reach.blocked(i, j) {
                    continue;
                }
                let at = now
                    + self
                        .cfg
                        .net
                        .latency
                        .sample_with(&mut st.net_rng, &mut st.normals)
                    + self.links.base(i, j)
                    + self.cfg.net.reset_after;
                self.schedule(
                    at,
                    Due::Env(
                        j as u32,
                        Env::Reset {
                            peer: NodeId(i as u32),
                        },
                    ),
                );
            }
        }
    }

    fn restart(&self, i: usize, st: &mut ClockState<M::Node>) {
        self.up[i].store(true, Ordering::Relaxed);
        // The world lock is held exclusively: this thread owns the node.
        let mut hook = |recs: &[Rec<<M::Node as Node>::Note>]| {
            if self.live.check_online {
                self.check(recs);
            }
        };
        self.handle(i, &mut st.sink, &mut hook, |n, ctx| n.on_start(ctx));
        self.load.flush();
    }

    fn resume(&self, i: usize) {
        let now = self.now();
        // SAFETY: the world lock is held exclusively.
        let slot = unsafe { self.slot_mut(i) };
        slot.paused = false;
        for env in std::mem::take(&mut slot.stash) {
            self.reclock(&env);
            self.schedule(now, Due::Env(i as u32, env));
        }
    }

    /// Deliver what healed links held, each at its sender's next TCP
    /// retransmission after now plus a latency draw from the sender's
    /// network stream, in order on its link: never before what the link
    /// carries already, and what the sender sends later on the link comes
    /// after it (the sender's per-link deadline moves up), as in `sim`.
    /// The caller holds the world lock exclusively (a fault or its undo), so
    /// every sender's slot is at rest.
    fn release_held(&self) {
        let now = self.now();
        let mut held = std::mem::take(&mut *self.held.lock());
        // Send order, which is each link's FIFO order.
        held.sort_by_key(|h| h.first_sent);
        let reach = self.reach.read();
        let mut keep = Vec::new();
        for h in held {
            let (f, t) = (h.from.index(), h.to.index());
            if reach.blocked(f, t) {
                keep.push(h);
                continue;
            }
            // SAFETY: the world lock is held exclusively (see above).
            let slot = unsafe { self.slot_mut(f) };
            let latency = self
                .cfg
                .net
                .latency
                .sample_with(&mut slot.net_rng, &mut slot.normals)
                + self.links.base(f, t);
            let last = slot.last_at.entry(t as u32).or_default();
            let at = (self.cfg.net.retransmission_at(h.first_sent, now) + latency).max(*last);
            *last = at;
            let env = Env::Deliver {
                from: h.from,
                to_incarnation: h.to_incarnation,
                sent: h.first_sent,
                msg: h.msg,
            };
            self.reclock(&env);
            self.schedule(at, Due::Env(h.to.0, env));
        }
        drop(reach);
        self.held.lock().extend(keep);
    }
}

/// Process CPU time so far (user + system), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Run one live trial of `model` under `cfg` (its seed seeds the nodes',
/// network's, disk's, load's and faults' streams as in the simulator; the
/// interleaving of threads is not seeded) on `live.workers` threads.
pub fn run_live<M>(
    model: &M,
    cfg: &SimConfig,
    live: &LiveConfig,
    stop: Option<&AtomicBool>,
) -> (SimOutput, LiveStats)
where
    M: LiveModel,
{
    let (nodes, checker) = model.build(cfg.load.clients);
    let n = nodes.len();
    let servers = model.servers();
    let topology = model.topology();
    let mut links = Links::new(n);
    for l in &cfg.net.links {
        if l.from < n && l.to < n {
            links.set_base(l.from, l.to, l.base);
        }
    }
    let slots: Vec<UnsafeCell<Slot<M::Node>>> = (0..n)
        .map(|i| {
            UnsafeCell::new(Slot {
                rng: rng::stream(cfg.seed, "node", i as u64),
                net_rng: rng::stream(cfg.seed, "network", i as u64),
                normals: rng::Normals::default(),
                timers: Vec::new(),
                next_timer: 0,
                last_at: BTreeMap::new(),
                stash: Vec::new(),
                stable: if cfg.disk.is_instant() {
                    Default::default()
                } else {
                    nodes[i].durable()
                },
                disk: DiskQueue::default(),
                disk_rng: rng::stream(cfg.seed, "disk", i as u64),
                disk_normals: rng::Normals::default(),
                outbox: Outbox::default(),
                paused: false,
                seq: 0,
            })
        })
        .collect();
    let workers = live.workers.max(1);
    let cpu0 = process_cpu_ns();
    let shared = Shared {
        model,
        cfg,
        live,
        clock: LiveClock::start(),
        end: SimTime::ZERO + cfg.duration,
        n,
        servers,
        topology,
        nodes: Cells(nodes.into_iter().map(UnsafeCell::new).collect()),
        slots: Cells(slots),
        up: (0..n).map(|_| AtomicBool::new(true)).collect(),
        incarnation: (0..n).map(|_| AtomicU32::new(0)).collect(),
        actors: Actors::new(n, live.mailbox, live.capacity),
        queue: Mutex::new(ClockQueue {
            heap: BinaryHeap::new(),
            seq: 0,
            sleeping_until: 0,
        }),
        wake: Condvar::new(),
        world: RwLock::new(()),
        reach: RwLock::new(Reachability::new(n)),
        cut: AtomicBool::new(false),
        held: Mutex::new(Vec::new()),
        links,
        counts: (0..=workers).map(|_| CachePadded::default()).collect(),
        clocked: (0..n).map(|_| AtomicU32::new(0)).collect(),
        events: AtomicU64::new(0),
        words: LeaderWords::new(model.parts().max(n)),
        finished: AtomicBool::new(false),
        checker: Mutex::new(checker),
        violations: Mutex::new(Vec::new()),
        load: Load::new(&cfg.load, live.load_threads, servers, n),
    };
    let mut st = ClockState {
        fault_rng: rng::stream(cfg.seed, "faults", 0),
        net_rng: rng::stream(cfg.seed, "network", u64::MAX),
        normals: rng::Normals::default(),
        last_faulted: None,
        overflow: (0..n).map(|_| VecDeque::new()).collect(),
        overflowing: Vec::new(),
        faults: Vec::new(),
        sink: Sink::new(0),
    };
    // Boot every node on this thread before any worker exists.
    for i in 0..n {
        let mut hook = |recs: &[Rec<<M::Node as Node>::Note>]| {
            if live.check_online {
                shared.check(recs);
            }
        };
        shared.handle(i, &mut st.sink, &mut hook, |node, ctx| node.on_start(ctx));
    }
    for (k, f) in cfg.faults.iter().enumerate() {
        let at = match f.when {
            When::At(t) => t,
            When::Window(a, b) => SimDuration(rng::range_inclusive(&mut st.fault_rng, a.0, b.0)),
        };
        shared.schedule(SimTime::ZERO + at, Due::Fault(k));
    }
    // Client threads issue the clients' operations ([`super::load`]).
    let measure_from = SimTime::ZERO + cfg.load.start + cfg.load.warmup;
    let trial = load::Trial {
        load: &cfg.load,
        seed: cfg.seed,
        clock: &shared.clock,
        end: shared.end,
        measure_from,
        finished: &shared.finished,
    };
    let (aborted, sinks, clients) = std::thread::scope(|s| {
        // Named threads, so `perf`, `top -H` and a debugger tell them apart.
        let named = |name: String| std::thread::Builder::new().name(name);
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let shared = &shared;
                named(format!("live-worker-{w}"))
                    .spawn_scoped(s, move || shared.worker(w))
                    .expect("cannot start a live worker thread")
            })
            .collect();
        let (shared, trial) = (&shared, &trial);
        let load_handles: Vec<_> = (0..shared.load.threads())
            .map(|t| {
                named(format!("live-load-{t}"))
                    .spawn_scoped(s, move || {
                        shared.load.run(t, trial, |c, op| {
                            shared.actors.push(c, Env::Client(op)).map_err(|e| match e {
                                Env::Client(op) => op,
                                _ => unreachable!("pushed a client operation"),
                            })
                        })
                    })
                    .expect("cannot start a live client thread")
            })
            .collect();
        let aborted = shared.clock(&mut st, stop);
        shared.finished.store(true, Ordering::Release);
        shared.load.wake_all();
        let clients: Vec<ClientThread> = load_handles
            .into_iter()
            .map(|h| h.join().expect("a client thread panicked"))
            .collect();
        let sinks: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("a live worker panicked"))
            .collect();
        (aborted, sinks, clients)
    });
    let end_at = shared.now();
    let stats = LiveStats {
        workers,
        mailbox_full: shared.actors.full_count(),
        cpu_ns: process_cpu_ns().saturating_sub(cpu0),
        wall_ns: end_at.0,
        events: shared.events.load(Ordering::Relaxed),
        parts_published: shared.words.parts_published(),
        load: shared.load.finish(clients, measure_from),
        load_wall_ns: end_at.0.saturating_sub((SimTime::ZERO + cfg.load.start).0),
    };
    let up: Vec<bool> = shared.up_now();
    let messages = shared
        .counts
        .iter()
        .map(|c| c.messages.load(Ordering::Relaxed))
        .sum();
    let protocol_msgs = shared.protocol_msgs();
    let mut checker = shared.checker.into_inner();
    let online_violations = shared.violations.into_inner();
    let nodes: Vec<M::Node> = shared
        .nodes
        .0
        .into_iter()
        .map(UnsafeCell::into_inner)
        .collect();

    // The observations of every thread, in the order they were recorded.
    let mut recs: Vec<Rec<<M::Node as Node>::Note>> = std::mem::take(&mut st.sink.recs);
    for s in sinks {
        recs.extend(s.recs);
    }
    recs.sort_by_key(|r| (r.at, r.node, r.seq));
    let end = if aborted {
        end_at
    } else {
        SimTime::ZERO + cfg.duration
    };
    let mut out = SimOutput {
        records: Vec::new(),
        clients: ClientStats::measured_from(cfg.timeline, measure_from),
        faults: st.faults,
        violations: Vec::new(),
        findings: Findings::default(),
        events: stats.events,
        messages,
        protocol_msgs,
        end,
        trace_hash: 0,
        trace: Vec::new(),
        aborted,
    };
    let mut fault_at = out.faults.iter().find(|f| f.applied).map(|f| f.at);
    for r in recs {
        if let Some(t0) = fault_at.filter(|t0| r.at > *t0) {
            out.clients.on_fault(t0);
            fault_at = None;
        }
        // Checked after the run: the records in time order, with the nodes
        // in their final state (see the module doc).
        if live.check_online {
        } else if let Some(what) = checker.on_record(r.at, r.node, &r.obs, &nodes) {
            out.violations.push(Violation {
                at: r.at,
                node: r.node,
                what,
            });
        }
        if let Obs::OpDone { op, ok } = &r.obs {
            out.clients.on_op(r.at, op, *ok);
            if !cfg.record_ops {
                continue;
            }
        }
        if let Some(obs) = r.obs.filter_map_note(|_| None) {
            out.records.push(Record {
                at: r.at,
                node: r.node,
                protocol_msgs: r.protocol_msgs,
                obs,
            });
        }
    }
    if let Some(t0) = fault_at {
        out.clients.on_fault(t0);
    }
    out.violations.extend(online_violations);
    out.violations.sort_by_key(|v| v.at);
    let findings = checker.finish(&nodes, &up);
    for v in &findings.violations {
        out.violations.push(Violation {
            at: out.end,
            node: NodeId(0),
            what: v.clone(),
        });
    }
    out.findings = findings;
    (out, stats)
}

/// Leader selection of a live trial: from the first election round after
/// the first applied fault (or after the start, with no fault) in the
/// fault's scope, to the first `Elected` of that scope at or after it, minus
/// `wait` (the protocol's configured wait inside the election, such as FLE's
/// `finalizeWait`), in nanoseconds; `None` when no election happened.
pub fn leader_selection_ns(out: &SimOutput, wait: SimDuration) -> Option<u64> {
    let (t0, scope) = out
        .faults
        .iter()
        .find(|f| f.applied)
        .map_or((SimTime::ZERO, Scope::Whole), |f| (f.at, f.scope));
    let round = out.records.iter().find(|r| {
        r.at >= t0 && matches!(r.obs, Obs::ElectionRound { scope: s, .. } if s == scope)
    })?;
    let elected = out.records.iter().find(|r| {
        r.at >= round.at && matches!(r.obs, Obs::Elected { scope: s, .. } if s == scope)
    })?;
    Some(elected.at.since(round.at).0.saturating_sub(wait.0))
}
