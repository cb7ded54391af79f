//! A Eureka server: its registry of leases, eviction, self-preservation, the
//! response cache and one batching replication queue per peer.

use std::collections::BTreeMap;

use crate::engine::{rng, Ctx, NodeId, Obs, Role, Scope, SimDuration, SimTime, View};

use super::msg::{Action, Item, ItemStatus, Msg};
use super::params::EuParams;
use super::{EuNode, EuNote, Timer};

/// `PeerEurekaNode.BATCH_SIZE`: tasks per replication batch.
pub const BATCH_SIZE: usize = 250;
/// `PeerEurekaNode.MAX_BATCHING_DELAY_MS`: how long the oldest pending task
/// waits before a batch goes out (unless the batch is full).
pub const MAX_BATCHING_DELAY: SimDuration = SimDuration::from_ms(500);
/// `maxThreadsForPeerReplication`: batches in flight to one peer.
pub const MAX_IN_FLIGHT: usize = 20;
/// `ReplicationTaskProcessor`: dispatch pause after Congestion (503, read timeout).
pub const SERVER_UNAVAILABLE_SLEEP: SimDuration = SimDuration::from_ms(1000);
/// `ReplicationTaskProcessor`: dispatch pause after a TransientError (I/O error).
pub const RETRY_SLEEP: SimDuration = SimDuration::from_ms(100);

/// A lease as `Lease.java` keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// `lastUpdateTimestamp`: the registration time, or, after a renewal,
    /// the renewal time **plus the duration** (the bug kept on purpose).
    pub last_update: SimTime,
    pub duration: SimDuration,
}

impl Lease {
    fn new(now: SimTime, duration: SimDuration) -> Self {
        Lease {
            last_update: now,
            duration,
        }
    }

    /// `Lease.renew()`: `lastUpdateTimestamp = now + duration`.
    fn renew(&mut self, now: SimTime) {
        self.last_update = now + self.duration;
    }

    /// `Lease.isExpired()`: `now > lastUpdateTimestamp + duration` (the
    /// eviction compensation is 0: simulated timers are never late).
    pub fn is_expired(&self, now: SimTime) -> bool {
        now > self.last_update + self.duration
    }
}

/// A pending replication task (`TaskHolder`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Task {
    item: Item,
    submitted: SimTime,
    expiry: SimTime,
}

/// `PeerEurekaNode` + its `AcceptorExecutor` for one peer.
#[derive(Clone, Debug)]
struct PeerQueue {
    peer: NodeId,
    /// Pending tasks in processing order; a task with the same id (action,
    /// instance) replaces a pending one in place.
    pending: Vec<Task>,
    in_flight: BTreeMap<u64, Vec<Task>>,
    paused_until: SimTime,
}

/// One Eureka server.
#[derive(Clone, Debug)]
pub struct Server {
    pub me: NodeId,
    p: EuParams,
    /// The registry, by instance index (one application; BTreeMap for a
    /// deterministic order).
    pub registry: BTreeMap<u32, Lease>,
    /// `expectedNumberOfClientsSendingRenews`.
    pub expected: u64,
    /// `numberOfRenewsPerMinThreshold`.
    pub threshold: u64,
    /// Renewals in the current and the last complete minute (`MeasuredRate`).
    renews_current: u64,
    pub renews_last_min: u64,
    /// The read-only response cache: instances as of the last refresh.
    read_only: Vec<u32>,
    peers: Vec<PeerQueue>,
    next_batch: u64,
    /// When this process started; `None` for a server of the trial's steady
    /// state (running since long before the trial).
    pub started: Option<SimTime>,
    steady: bool,
    /// When a batch from each server last arrived (checker's oracle input).
    pub last_batch_from: BTreeMap<NodeId, SimTime>,
}

impl Server {
    /// A server of `peers` (itself excluded). With `steady`, the trial starts
    /// in steady state: every instance of `instances` registered and renewed
    /// at time 0 and the renewal counters full; otherwise (a restarted
    /// process) the registry is empty.
    pub fn new(me: NodeId, peers: Vec<NodeId>, p: EuParams, steady: Option<u32>) -> Self {
        let mut s = Server {
            me,
            registry: BTreeMap::new(),
            expected: 0,
            threshold: 0,
            renews_current: 0,
            renews_last_min: 0,
            read_only: Vec::new(),
            peers: peers
                .into_iter()
                .map(|peer| PeerQueue {
                    peer,
                    pending: Vec::new(),
                    in_flight: BTreeMap::new(),
                    paused_until: SimTime::ZERO,
                })
                .collect(),
            next_batch: 0,
            started: None,
            steady: steady.is_some(),
            last_batch_from: BTreeMap::new(),
            p,
        };
        if let Some(n) = steady {
            for i in 0..n {
                let mut l = Lease::new(SimTime::ZERO, s.p.lease_duration);
                l.renew(SimTime::ZERO);
                s.registry.insert(i, l);
            }
            s.expected = n as u64;
            s.threshold = s.p.threshold(s.expected);
            let per_min = 60_000 / (s.p.renewal_interval.0 / 1_000_000).max(1);
            s.renews_last_min = n as u64 * per_min;
            s.read_only = (0..n).collect();
        }
        s
    }

    /// `isLeaseExpirationEnabled`.
    pub fn expiration_enabled(&self) -> bool {
        !self.p.self_preservation || (self.threshold > 0 && self.renews_last_min > self.threshold)
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, EuNode>) {
        if !self.steady {
            self.started = Some(ctx.now());
        }
        // The servers did not start at the same moment: each periodic task
        // runs at a phase of its own, drawn from the node's stream.
        let phase = |ctx: &mut Ctx<'_, EuNode>, d: SimDuration| {
            SimDuration(1 + rng::range_inclusive(ctx.rng(), 0, d.0.saturating_sub(1)))
        };
        let e = phase(ctx, self.p.eviction_interval);
        ctx.set_timer(e, Timer::Evict);
        let c = phase(ctx, self.p.cache_update_interval);
        ctx.set_timer(c, Timer::CacheUpdate);
        let r = phase(ctx, SimDuration::from_ms(60_000));
        ctx.set_timer(r, Timer::RenewsMinute);
        if self.steady {
            // The bucket under way began before the trial: count the
            // renewals of its part before time 0 at the steady rate.
            let before = SimDuration::from_ms(60_000).0 - r.0;
            let per_min = u128::from(self.renews_last_min);
            self.renews_current = (per_min * u128::from(before) / 60_000_000_000) as u64;
        }
        ctx.set_timer(self.p.threshold_update_interval, Timer::ThresholdUpdate);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, EuNode>, t: Timer) {
        match t {
            Timer::Evict => {
                self.evict(ctx);
                ctx.set_timer(self.p.eviction_interval, Timer::Evict);
            }
            Timer::CacheUpdate => {
                self.read_only = self.registry.keys().copied().collect();
                ctx.set_timer(self.p.cache_update_interval, Timer::CacheUpdate);
            }
            Timer::RenewsMinute => {
                self.renews_last_min = self.renews_current;
                self.renews_current = 0;
                ctx.set_timer(SimDuration::from_ms(60_000), Timer::RenewsMinute);
            }
            Timer::ThresholdUpdate => {
                // updateRenewalThreshold: the embedded client's count of
                // instances is this server's own registry here.
                let count = self.registry.len() as u64;
                if count as f64 > self.p.renewal_percent * self.expected as f64
                    || !self.p.self_preservation
                {
                    self.expected = count;
                    self.threshold = self.p.threshold(self.expected);
                }
                ctx.set_timer(self.p.threshold_update_interval, Timer::ThresholdUpdate);
            }
            Timer::Batch { peer } => self.pump(ctx, peer as usize),
            Timer::BatchTimeout { peer, id } => {
                // A read timeout: Congestion, the whole batch is re-queued.
                self.requeue(ctx, peer as usize, id, SERVER_UNAVAILABLE_SLEEP);
            }
            _ => {}
        }
    }

    /// `AbstractInstanceRegistry.evict`.
    fn evict(&mut self, ctx: &mut Ctx<'_, EuNode>) {
        if !self.expiration_enabled() {
            return;
        }
        let now = ctx.now();
        let mut expired: Vec<u32> = self
            .registry
            .iter()
            .filter(|(_, l)| l.is_expired(now))
            .map(|(i, _)| *i)
            .collect();
        let size = self.registry.len();
        let limit = size - (size as f64 * self.p.renewal_percent) as usize;
        let count = expired.len().min(limit);
        // A Knuth shuffle picks which expired leases go when the limit bites.
        for i in 0..count {
            let j = i + rng::index(ctx.rng(), expired.len() - i);
            expired.swap(i, j);
        }
        for &inst in &expired[..count] {
            ctx.record(Obs::Note(EuNote::Evicted {
                server: self.me,
                inst,
                renews_last_min: self.renews_last_min,
                threshold: self.threshold,
                self_preservation: self.p.self_preservation,
            }));
            // internalCancel: not replicated; since 1.9.17 it lowers the
            // expected count like a cancel.
            self.cancel_local(inst);
            ctx.record(Obs::Phase {
                name: "evict",
                scope: Scope::Part(inst),
            });
        }
    }

    fn cancel_local(&mut self, inst: u32) -> bool {
        let had = self.registry.remove(&inst).is_some();
        if had && self.expected > 0 {
            self.expected -= 1;
            self.threshold = self.p.threshold(self.expected);
        }
        had
    }

    fn register_local(&mut self, now: SimTime, inst: u32) -> bool {
        let new = !self.registry.contains_key(&inst);
        self.registry
            .insert(inst, Lease::new(now, self.p.lease_duration));
        if new && self.expected > 0 {
            self.expected += 1;
            self.threshold = self.p.threshold(self.expected);
        }
        new
    }

    fn renew_local(&mut self, now: SimTime, inst: u32) -> bool {
        match self.registry.get_mut(&inst) {
            Some(l) => {
                l.renew(now);
                self.renews_current += 1;
                true
            }
            None => false,
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, EuNode>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        match msg {
            Msg::Register { seq, inst } => {
                self.register_local(now, inst);
                ctx.record(Obs::Phase {
                    name: "register",
                    scope: Scope::Part(inst),
                });
                ctx.send(from, Msg::Reply { seq, found: true });
                self.replicate(
                    ctx,
                    Item {
                        action: Action::Register,
                        inst,
                    },
                );
            }
            Msg::Renew { seq, inst } => {
                let found = self.renew_local(now, inst);
                ctx.send(from, Msg::Reply { seq, found });
                if found {
                    ctx.record(Obs::Phase {
                        name: "renew",
                        scope: Scope::Part(inst),
                    });
                    self.replicate(
                        ctx,
                        Item {
                            action: Action::Heartbeat,
                            inst,
                        },
                    );
                }
            }
            Msg::Batch { id, items } => {
                self.last_batch_from.insert(from, now);
                let status = items
                    .iter()
                    .map(|it| self.apply_replicated(ctx, *it))
                    .collect();
                ctx.send(from, Msg::BatchReply { id, status });
            }
            Msg::BatchReply { id, status } => {
                let Some(q) = self.peers.iter().position(|q| q.peer == from) else {
                    return;
                };
                let Some(tasks) = self.peers[q].in_flight.remove(&id) else {
                    return;
                };
                ctx.cancel_timer(&Timer::BatchTimeout { peer: q as u32, id });
                for (t, s) in tasks.iter().zip(status) {
                    // ReplicationTask.handleFailure of a heartbeat: 404 ->
                    // register the instance at that peer.
                    if s == ItemStatus::NotFound && t.item.action == Action::Heartbeat {
                        let item = Item {
                            action: Action::Register,
                            inst: t.item.inst,
                        };
                        self.enqueue(ctx, q, item);
                    }
                }
                self.pump(ctx, q);
            }
            Msg::Fetch { seq } => {
                let instances = if self.p.read_only_cache {
                    self.read_only.clone()
                } else {
                    self.registry.keys().copied().collect()
                };
                ctx.send(from, Msg::Apps { seq, instances });
            }
            _ => {}
        }
    }

    /// A write arriving in a replication batch: applied, never forwarded.
    fn apply_replicated(&mut self, ctx: &mut Ctx<'_, EuNode>, it: Item) -> ItemStatus {
        let now = ctx.now();
        match it.action {
            Action::Register => {
                self.register_local(now, it.inst);
                ctx.record(Obs::Phase {
                    name: "replicated-register",
                    scope: Scope::Part(it.inst),
                });
                ItemStatus::Ok
            }
            Action::Heartbeat => {
                if self.renew_local(now, it.inst) {
                    ItemStatus::Ok
                } else {
                    ItemStatus::NotFound
                }
            }
            Action::Cancel => {
                self.cancel_local(it.inst);
                ItemStatus::Ok
            }
        }
    }

    /// `replicateToPeers`: one task per peer (never to itself).
    fn replicate(&mut self, ctx: &mut Ctx<'_, EuNode>, item: Item) {
        for q in 0..self.peers.len() {
            self.enqueue(ctx, q, item);
        }
    }

    fn expiry_of(&self, now: SimTime, action: Action) -> SimTime {
        match action {
            Action::Register | Action::Heartbeat => now + self.p.renewal_interval,
            Action::Cancel => now + self.p.max_time_for_replication,
        }
    }

    /// `AcceptorExecutor.appendTaskHolder`.
    fn enqueue(&mut self, ctx: &mut Ctx<'_, EuNode>, q: usize, item: Item) {
        let now = ctx.now();
        let task = Task {
            item,
            submitted: now,
            expiry: self.expiry_of(now, item.action),
        };
        let pool = self.p.replication_pool;
        let queue = &mut self.peers[q];
        match queue.pending.iter_mut().find(|t| t.item == item) {
            Some(t) => *t = task,
            None => {
                if queue.pending.len() >= pool {
                    queue.pending.remove(0);
                }
                queue.pending.push(task);
            }
        }
        // The first pending task arms the batching timer; a full batch
        // goes out at once.
        if queue.pending.len() == 1 || queue.pending.len() >= BATCH_SIZE {
            self.pump(ctx, q);
        }
    }

    /// Dispatch what is due to peer `q`, and arm the timer for the rest.
    fn pump(&mut self, ctx: &mut Ctx<'_, EuNode>, q: usize) {
        let now = ctx.now();
        let queue = &mut self.peers[q];
        queue.pending.retain(|t| t.expiry > now);
        loop {
            let Some(oldest) = queue.pending.first().map(|t| t.submitted) else {
                return;
            };
            if now < queue.paused_until {
                ctx.set_timer(
                    queue.paused_until.since(now),
                    Timer::Batch { peer: q as u32 },
                );
                return;
            }
            let due = oldest + MAX_BATCHING_DELAY;
            if now < due && queue.pending.len() < BATCH_SIZE {
                ctx.set_timer(due.since(now), Timer::Batch { peer: q as u32 });
                return;
            }
            if queue.in_flight.len() >= MAX_IN_FLIGHT {
                return; // a reply frees a worker and pumps again
            }
            let n = queue.pending.len().min(BATCH_SIZE);
            let tasks: Vec<Task> = queue.pending.drain(..n).collect();
            let id = self.next_batch;
            self.next_batch += 1;
            let items = tasks.iter().map(|t| t.item).collect();
            queue.in_flight.insert(id, tasks);
            ctx.send(queue.peer, Msg::Batch { id, items });
            ctx.set_timer(
                self.p.peer_read_timeout,
                Timer::BatchTimeout { peer: q as u32, id },
            );
        }
    }

    /// Put batch `id` back in front of the pending tasks (those not expired,
    /// and not overridden by a newer task meanwhile) and pause dispatch.
    fn requeue(&mut self, ctx: &mut Ctx<'_, EuNode>, q: usize, id: u64, pause: SimDuration) {
        let now = ctx.now();
        let queue = &mut self.peers[q];
        let Some(tasks) = queue.in_flight.remove(&id) else {
            return;
        };
        let mut back: Vec<Task> = tasks
            .into_iter()
            .filter(|t| t.expiry > now && !queue.pending.iter().any(|p| p.item == t.item))
            .collect();
        back.append(&mut queue.pending);
        queue.pending = back;
        queue.paused_until = queue.paused_until.max(now + pause);
        self.pump(ctx, q);
    }

    /// The connection to `peer` was reset: its batches in flight failed with
    /// an I/O error (TransientError).
    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, EuNode>, peer: NodeId) {
        let Some(q) = self.peers.iter().position(|x| x.peer == peer) else {
            return;
        };
        let ids: Vec<u64> = self.peers[q].in_flight.keys().copied().collect();
        for id in ids {
            ctx.cancel_timer(&Timer::BatchTimeout { peer: q as u32, id });
            self.requeue(ctx, q, id, RETRY_SLEEP);
        }
    }

    /// Instances in this server's registry.
    pub fn holds(&self, inst: u32) -> bool {
        self.registry.contains_key(&inst)
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: None,
            serving: true,
        }
    }
}
