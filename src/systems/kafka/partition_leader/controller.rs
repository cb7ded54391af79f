//! The controller: broker liveness, the elections of `elect.rs`, their cost
//! (`controller_zk/cost.rs` for zk mode, a metadata-record batch for kraft),
//! and the publication of what changed to the brokers.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::layout::{Mask, NO_LEADER};
use super::msg::{Change, Msg};
use super::params::Mode;
use super::{Note, PlNode, Shared, Timer};
use crate::engine::{Ctx, NodeId, Obs, Role, Scope, SimDuration, SimTime, View};
use crate::systems::kafka::controller_zk::cost::pipelined;
use crate::systems::kafka::elect::{
    auto_rebalance_candidates, elect_controlled_shutdown, elect_offline, elect_preferred,
    kraft_elect, BrokerId, Elected, KraftElection, KraftInput, LeaderAndIsr, Live, PartitionState,
};

/// One committed batch waiting for its cost to elapse.
#[derive(Clone, Debug)]
struct Batch {
    changes: Vec<Change>,
    /// Each leader elected in the batch, and whether uncleanly.
    elected: Vec<(Change, bool)>,
    /// Only this broker hears of it (a registration's full state).
    to: Option<BrokerId>,
}

/// Why partitions are elected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    /// The broker died (session expiry / fencing): the offline election.
    Failure,
    /// Controlled shutdown of the broker.
    Shutdown,
}

#[derive(Clone, Debug)]
pub struct Controller {
    sh: Arc<Shared>,
    pub leader: Vec<BrokerId>,
    pub leader_epoch: Vec<u32>,
    pub part_epoch: Vec<u32>,
    pub isr: Vec<Mask>,
    pub live: Vec<bool>,
    incarnation: Vec<u32>,
    busy_until: SimTime,
    batches: BTreeMap<u64, Batch>,
    next_batch: u64,
}

impl Controller {
    /// The running cluster the trial starts with: every preferred replica
    /// leads, every replica is in the ISR, every broker is live.
    pub fn new(sh: Arc<Shared>) -> Self {
        let l = &sh.layout;
        let n = l.partitions as usize;
        Controller {
            leader: (0..l.partitions).map(|p| l.replica(p, 0)).collect(),
            leader_epoch: vec![0; n],
            part_epoch: vec![0; n],
            isr: vec![l.full_mask(); n],
            live: vec![true; l.brokers as usize],
            incarnation: vec![0; l.brokers as usize],
            busy_until: SimTime::ZERO,
            batches: BTreeMap::new(),
            next_batch: 0,
            sh,
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: None,
            serving: true,
        }
    }

    /// The current state of `p` as `elect.rs` takes it.
    pub fn state(&self, p: u32) -> LeaderAndIsr {
        let i = p as usize;
        LeaderAndIsr {
            leader: (self.leader[i] != NO_LEADER).then_some(self.leader[i]),
            leader_epoch: self.leader_epoch[i],
            isr: self.sh.layout.brokers_of(p, self.isr[i]),
        }
    }

    /// Leaders per broker (the `leader` target: the broker leading most).
    pub fn leader_counts(&self) -> Vec<u64> {
        let mut c = vec![0u64; self.sh.layout.brokers as usize];
        for &l in &self.leader {
            if l != NO_LEADER {
                c[l as usize] += 1;
            }
        }
        c
    }

    fn expiry(&self, now: SimTime) -> SimTime {
        let p = &self.sh.p;
        match p.mode {
            Mode::Kraft => now + p.broker_session_timeout,
            Mode::Zk => {
                // ExpiryQueue.roundToNextInterval: up to the next tick.
                let t = (now + p.zk_session_timeout).0;
                let tick = p.tick_time.0.max(1);
                SimTime(t.div_ceil(tick) * tick)
            }
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, PlNode>) {
        for b in 0..self.sh.layout.brokers {
            let at = self.expiry(ctx.now());
            ctx.set_timer(at.since(ctx.now()), Timer::Expire(b));
        }
        if self.sh.p.auto_rebalance {
            ctx.set_timer(self.sh.p.imbalance_check_interval, Timer::Rebalance);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, PlNode>, from: NodeId, msg: Msg) {
        let b = from.0;
        if b >= self.sh.layout.brokers {
            return;
        }
        match msg {
            Msg::Heartbeat => {
                let at = self.expiry(ctx.now());
                ctx.set_timer(at.since(ctx.now()), Timer::Expire(b));
                if !self.live[b as usize] {
                    self.register(ctx, b);
                }
            }
            Msg::Register { incarnation } => {
                let at = self.expiry(ctx.now());
                ctx.set_timer(at.since(ctx.now()), Timer::Expire(b));
                let known = &mut self.incarnation[b as usize];
                if incarnation > *known {
                    *known = incarnation;
                    // A bounce the controller had not noticed: the old
                    // registration goes first.
                    if self.live[b as usize] {
                        self.fail(ctx, b, Why::Failure);
                    }
                    self.register(ctx, b);
                } else if !self.live[b as usize] {
                    self.register(ctx, b);
                }
            }
            Msg::AlterPartition {
                p,
                leader_epoch,
                part_epoch,
                isr,
            } => self.alter_partition(ctx, b, p, leader_epoch, part_epoch, isr),
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, PlNode>, t: Timer) {
        match t {
            Timer::Expire(b) if self.live[b as usize] => self.fail(ctx, b, Why::Failure),
            Timer::Publish(id) => {
                if let Some(batch) = self.batches.remove(&id) {
                    self.publish(ctx, batch);
                }
            }
            Timer::Rebalance => {
                self.rebalance(ctx);
                ctx.set_timer(self.sh.p.imbalance_check_interval, Timer::Rebalance);
            }
            _ => {}
        }
    }

    /// `broker.stop = controlled`: the reset of a broker's connection stands
    /// for its ControlledShutdown request.
    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, PlNode>, peer: NodeId) {
        let b = peer.0;
        if self.sh.p.controlled_stop && b < self.sh.layout.brokers && self.live[b as usize] {
            self.fail(ctx, b, Why::Shutdown);
        }
    }

    /// Queue a batch behind the controller's earlier work; it is published
    /// once `cost` of controller (and ZooKeeper or quorum) time has passed.
    fn enqueue(&mut self, ctx: &mut Ctx<'_, PlNode>, cost: SimDuration, batch: Batch) {
        if batch.changes.is_empty() {
            return;
        }
        let start = self.busy_until.max(ctx.now());
        self.busy_until = start + cost;
        let id = self.next_batch;
        self.next_batch += 1;
        self.batches.insert(id, batch);
        ctx.set_timer(self.busy_until.since(ctx.now()), Timer::Publish(id));
    }

    /// What a batch of `n` partition changes costs.
    fn cost(&self, n: u64) -> SimDuration {
        let p = &self.sh.p;
        match p.mode {
            Mode::Zk => pipelined(n, p.zk_in_flight, p.zk_request),
            Mode::Kraft => p.kraft_commit + p.kraft_record.saturating_mul(n),
        }
    }

    /// Apply `e` to partition `p` and note it for the checker; returns the
    /// change to publish.
    fn apply(
        &mut self,
        ctx: &mut Ctx<'_, PlNode>,
        p: u32,
        leader: Option<BrokerId>,
        leader_epoch: u32,
        isr: Mask,
    ) -> Change {
        let i = p as usize;
        let prior_isr = self.isr[i];
        let leader = leader.unwrap_or(NO_LEADER);
        if leader != self.leader[i] {
            ctx.record(Obs::Note(Note::Elected {
                p,
                leader,
                leader_epoch,
                prior_isr,
                prior_epoch: self.leader_epoch[i],
            }));
        }
        self.leader[i] = leader;
        self.leader_epoch[i] = leader_epoch;
        self.part_epoch[i] += 1;
        self.isr[i] = isr;
        Change {
            p,
            leader,
            leader_epoch,
            part_epoch: self.part_epoch[i],
            isr,
        }
    }

    fn apply_elected(&mut self, ctx: &mut Ctx<'_, PlNode>, p: u32, e: &Elected, batch: &mut Batch) {
        let isr = self.sh.layout.mask_of(p, &e.state.isr);
        let c = self.apply(ctx, p, e.state.leader, e.state.leader_epoch, isr);
        if c.leader != NO_LEADER {
            batch.elected.push((c, e.unclean));
        }
        batch.changes.push(c);
    }

    fn live_slice(&self) -> Vec<bool> {
        self.live.clone()
    }

    /// A broker is gone: its session expired (zk), it was fenced (kraft) or
    /// it shut down (controlled).
    fn fail(&mut self, ctx: &mut Ctx<'_, PlNode>, b: BrokerId, why: Why) {
        self.live[b as usize] = false;
        ctx.record(Obs::detected(Some(NodeId(b))));
        ctx.record(Obs::phase(match (why, self.sh.p.mode) {
            (Why::Shutdown, _) => "controlled-shutdown",
            (Why::Failure, Mode::Zk) => "session-expired",
            (Why::Failure, Mode::Kraft) => "broker-fenced",
        }));
        let sh = Arc::clone(&self.sh);
        let l = &sh.layout;
        let live = self.live_slice();
        let live = Live(&live);
        let unclean = sh.p.unclean;
        match sh.p.mode {
            Mode::Zk => {
                // The watch notification and the read of /brokers/ids.
                let mut first = Batch {
                    changes: Vec::new(),
                    elected: Vec::new(),
                    to: None,
                };
                let mut second = first.clone();
                let hosted: Vec<(u32, u32)> = l.hosted(b).collect();
                // Round 1: partitions led by the broker (onReplicasBecomeOffline
                // elects them first).
                for &(p, _) in &hosted {
                    let i = p as usize;
                    let leader = self.leader[i];
                    if leader != NO_LEADER && live.contains(leader) {
                        continue;
                    }
                    let a = l.assignment(p);
                    let cur = self.state(p);
                    let e = match why {
                        Why::Failure => elect_offline(&a, &cur, live, unclean),
                        Why::Shutdown => elect_controlled_shutdown(&a, &cur, live, &[b]),
                    };
                    if let Some(e) = e {
                        self.apply_elected(ctx, p, &e, &mut first);
                    }
                }
                // Round 2: its replicas go OfflineReplica: out of each ISR
                // (a one-member ISR is kept), leader epoch + 1, leader -1 if
                // it still leads (doRemoveReplicasFromIsr).
                for &(p, k) in &hosted {
                    let i = p as usize;
                    if self.isr[i] & (1 << k) == 0 {
                        continue;
                    }
                    let still_leads = self.leader[i] == b;
                    let isr = if self.isr[i].count_ones() > 1 {
                        self.isr[i] & !(1 << k)
                    } else {
                        self.isr[i]
                    };
                    let leader = if still_leads {
                        None
                    } else {
                        (self.leader[i] != NO_LEADER).then_some(self.leader[i])
                    };
                    let c = self.apply(ctx, p, leader, self.leader_epoch[i] + 1, isr);
                    second.changes.push(c);
                }
                let notice = sh.p.zk_request.saturating_mul(2);
                let c1 = notice + self.cost(first.changes.len() as u64);
                let c2 = self.cost(second.changes.len() as u64);
                if first.changes.is_empty() {
                    self.enqueue(ctx, notice + c2, second);
                } else {
                    self.enqueue(ctx, c1, first);
                    self.enqueue(ctx, c2, second);
                }
            }
            Mode::Kraft => {
                // handleBrokerFenced / controlled shutdown: one batch of
                // partition-change records removing the broker from every
                // ISR and electing leaders where it led.
                let mut batch = Batch {
                    changes: Vec::new(),
                    elected: Vec::new(),
                    to: None,
                };
                let election = if unclean {
                    KraftElection::Unclean
                } else {
                    KraftElection::Online
                };
                for (p, k) in l.hosted(b).collect::<Vec<_>>() {
                    let i = p as usize;
                    let in_isr = self.isr[i] & (1 << k) != 0;
                    let leads = self.leader[i] == b;
                    if !in_isr && !leads {
                        continue;
                    }
                    // Without ELR the builder never writes an empty ISR.
                    let target_isr = if in_isr && self.isr[i].count_ones() > 1 {
                        self.isr[i] & !(1 << k)
                    } else {
                        self.isr[i]
                    };
                    let a = l.assignment(p);
                    let t_isr = l.brokers_of(p, target_isr);
                    let cur = (self.leader[i] != NO_LEADER).then_some(self.leader[i]);
                    let (leader, was_unclean) = kraft_elect(&KraftInput {
                        target_replicas: &a,
                        target_isr: &t_isr,
                        current_leader: cur,
                        acceptable: live,
                        election,
                        elr_enabled: false,
                        target_elr: &[],
                        last_known_elr: &[],
                    });
                    let isr = match leader {
                        Some(nl) if was_unclean => l.mask_of(p, &[nl]),
                        _ => target_isr,
                    };
                    let epoch = self.leader_epoch[i] + u32::from(leader != cur);
                    let c = self.apply(ctx, p, leader, epoch, isr);
                    if leader != cur && leader.is_some() {
                        batch.elected.push((c, was_unclean));
                    }
                    batch.changes.push(c);
                }
                let cost = self.cost(batch.changes.len() as u64);
                self.enqueue(ctx, cost, batch);
            }
        }
    }

    /// A broker the controller holds dead heartbeats (kraft: registers and is
    /// unfenced) or opens a new session (zk: `onBrokerStartup`): it gets the
    /// state of every partition it hosts, and partitions with no live
    /// leader that it can lead are elected.
    fn register(&mut self, ctx: &mut Ctx<'_, PlNode>, b: BrokerId) {
        self.live[b as usize] = true;
        ctx.record(Obs::phase("broker-registered"));
        let sh = Arc::clone(&self.sh);
        let l = &sh.layout;
        let live = self.live_slice();
        let live = Live(&live);
        let mut batch = Batch {
            changes: Vec::new(),
            elected: Vec::new(),
            to: None,
        };
        for (p, _) in l.hosted(b).collect::<Vec<_>>() {
            let i = p as usize;
            if self.leader[i] != NO_LEADER && live.contains(self.leader[i]) {
                continue;
            }
            let a = l.assignment(p);
            match sh.p.mode {
                Mode::Zk => {
                    let cur = self.state(p);
                    if let Some(e) = elect_offline(&a, &cur, live, sh.p.unclean) {
                        self.apply_elected(ctx, p, &e, &mut batch);
                    }
                }
                Mode::Kraft => {
                    let t_isr = l.brokers_of(p, self.isr[i]);
                    let election = if sh.p.unclean {
                        KraftElection::Unclean
                    } else {
                        KraftElection::Online
                    };
                    let (leader, was_unclean) = kraft_elect(&KraftInput {
                        target_replicas: &a,
                        target_isr: &t_isr,
                        current_leader: None,
                        acceptable: live,
                        election,
                        elr_enabled: false,
                        target_elr: &[],
                        last_known_elr: &[],
                    });
                    if let Some(nl) = leader {
                        let isr = if was_unclean {
                            l.mask_of(p, &[nl])
                        } else {
                            self.isr[i]
                        };
                        let c = self.apply(ctx, p, leader, self.leader_epoch[i] + 1, isr);
                        batch.elected.push((c, was_unclean));
                        batch.changes.push(c);
                    }
                }
            }
        }
        let cost = self.cost(batch.changes.len() as u64);
        self.enqueue(ctx, cost, batch);
        // The full state of what it hosts and of the partitions with
        // traffic (its metadata cache), to it alone.
        let mut full = Batch {
            changes: Vec::new(),
            elected: Vec::new(),
            to: Some(b),
        };
        let mut seen = std::collections::BTreeSet::new();
        for p in l.hosted(b).map(|(p, _)| p).chain(l.active.iter().copied()) {
            if seen.insert(p) {
                let i = p as usize;
                full.changes.push(Change {
                    p,
                    leader: self.leader[i],
                    leader_epoch: self.leader_epoch[i],
                    part_epoch: self.part_epoch[i],
                    isr: self.isr[i],
                });
            }
        }
        self.enqueue(ctx, SimDuration::ZERO, full);
    }

    fn alter_partition(
        &mut self,
        ctx: &mut Ctx<'_, PlNode>,
        b: BrokerId,
        p: u32,
        leader_epoch: u32,
        part_epoch: u32,
        isr: Mask,
    ) {
        let i = p as usize;
        let l = &self.sh.layout;
        let additions_live = l
            .brokers_of(p, isr & !self.isr[i])
            .iter()
            .all(|&r| self.live[r as usize]);
        let ok = self.live[b as usize]
            && self.leader[i] == b
            && self.leader_epoch[i] == leader_epoch
            && self.part_epoch[i] == part_epoch
            && l.position(p, b).is_some_and(|k| isr & (1 << k) != 0)
            && additions_live;
        if !ok {
            ctx.send(NodeId(b), Msg::AlterPartitionRejected { p });
            return;
        }
        let c = self.apply(ctx, p, Some(b), leader_epoch, isr);
        let batch = Batch {
            changes: vec![c],
            elected: Vec::new(),
            to: None,
        };
        let cost = self.cost(1);
        self.enqueue(ctx, cost, batch);
    }

    /// `checkAndTriggerAutoLeaderRebalance`.
    fn rebalance(&mut self, ctx: &mut Ctx<'_, PlNode>) {
        let sh = Arc::clone(&self.sh);
        let l = &sh.layout;
        let off_preferred = (0..l.partitions).any(|p| self.leader[p as usize] != l.replica(p, 0));
        if !off_preferred {
            return;
        }
        let parts: Vec<PartitionState> = (0..l.partitions)
            .map(|p| PartitionState {
                assignment: l.assignment(p),
                state: self.state(p),
            })
            .collect();
        let live = self.live_slice();
        let live = Live(&live);
        let todo = auto_rebalance_candidates(&parts, live, sh.p.imbalance_pct);
        if todo.is_empty() {
            return;
        }
        ctx.record(Obs::phase("preferred-election"));
        let mut batch = Batch {
            changes: Vec::new(),
            elected: Vec::new(),
            to: None,
        };
        for i in todo {
            let p = i as u32;
            let ps = &parts[i];
            match sh.p.mode {
                Mode::Zk => {
                    if let Some(e) = elect_preferred(&ps.assignment, &ps.state, live) {
                        self.apply_elected(ctx, p, &e, &mut batch);
                    }
                }
                Mode::Kraft => {
                    let (leader, _) = kraft_elect(&KraftInput {
                        target_replicas: &ps.assignment,
                        target_isr: &ps.state.isr,
                        current_leader: ps.state.leader,
                        acceptable: live,
                        election: KraftElection::Preferred,
                        elr_enabled: false,
                        target_elr: &[],
                        last_known_elr: &[],
                    });
                    if leader.is_some() && leader != ps.state.leader {
                        let c = self.apply(ctx, p, leader, ps.state.leader_epoch + 1, self.isr[i]);
                        batch.elected.push((c, false));
                        batch.changes.push(c);
                    }
                }
            }
        }
        drop(parts);
        let cost = self.cost(batch.changes.len() as u64);
        self.enqueue(ctx, cost, batch);
    }

    fn publish(&mut self, ctx: &mut Ctx<'_, PlNode>, batch: Batch) {
        if batch.to.is_none() {
            let mut leaders = std::collections::BTreeSet::new();
            for &(c, unclean) in &batch.elected {
                let p = c.p;
                ctx.record(Obs::Elected {
                    leader: NodeId(c.leader),
                    term: u64::from(c.leader_epoch),
                    scope: Scope::Part(p),
                });
                if unclean {
                    ctx.record(Obs::Phase {
                        name: "unclean-election",
                        scope: Scope::Part(p),
                    });
                }
                if leaders.insert(c.leader) {
                    ctx.record(Obs::elected(NodeId(c.leader), u64::from(c.leader_epoch)));
                }
            }
            if !batch.elected.is_empty() {
                ctx.record(Obs::phase("leaders-committed"));
            }
        }
        let delta = Arc::new(batch.changes);
        match batch.to {
            Some(b) => ctx.send(NodeId(b), Msg::Delta(delta)),
            None => {
                for b in 0..self.sh.layout.brokers {
                    if self.live[b as usize] {
                        ctx.send(NodeId(b), Msg::Delta(Arc::clone(&delta)));
                    }
                }
            }
        }
    }
}
