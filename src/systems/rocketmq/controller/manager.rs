//! The controller: `DefaultBrokerHeartbeatManager` (heartbeats, the
//! inactive-broker scan), `ControllerManager` (`onBrokerInactive`,
//! `triggerElectMaster`, `notifyBrokerRoleChanged`),
//! `DLedgerController.scanInactiveMasterAndTriggerReelect` and
//! `ReplicasInfoManager` (`electMaster`, `alterSyncStateSet`), plus the route
//! a NameServer embedded in the same process (`enableControllerInNamesrv`)
//! gives producers.

use crate::engine::{rng, Ctx, Durable, NodeId, Obs, Role, SimDuration, SimTime, View};

use super::durable::{Info, RcDurable, RcWrite};
use super::elect::{elect, LiveInfo};
use super::msg::Msg;
use super::{RcNode, RcNote, RcParams, Timer};

/// `BrokerLiveInfo`: the last heartbeat of one broker.
#[derive(Clone, Copy, Debug)]
struct Live {
    last: SimTime,
    epoch: u32,
    max_offset: u64,
    priority: i32,
}

#[derive(Clone, Debug)]
pub struct Controller {
    brokers: u32,
    p: RcParams,
    pub d: RcDurable,
    live: Vec<Option<Live>>,
    /// The master the embedded NameServer routes to: (master epoch, broker).
    route: Option<(u32, u32)>,
    /// Messages that wait for the record write before them to be durable
    /// (the controller's Raft commit): (writes made when queued, to, msg).
    outbox: Vec<(u64, NodeId, Msg)>,
    written: u64,
    durable: u64,
}

impl Controller {
    /// `steady`: the trial starts with every broker having just sent a
    /// heartbeat (epoch 1, empty log).
    pub fn new(brokers: u32, p: RcParams, d: RcDurable, steady: bool) -> Self {
        let route = d.info.master.map(|m| (d.info.master_epoch, m));
        let live = (0..brokers)
            .map(|b| {
                steady.then(|| Live {
                    last: SimTime::ZERO,
                    epoch: 1,
                    max_offset: 0,
                    priority: p.priority[b as usize],
                })
            })
            .collect();
        Controller {
            brokers,
            p,
            d,
            live,
            route,
            outbox: Vec::new(),
            written: 0,
            durable: 0,
        }
    }

    pub fn info(&self) -> &Info {
        &self.d.info
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: self.d.info.master_epoch as u64,
            leader: self.d.info.master.map(NodeId),
            serving: true,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        ctx.set_timer(SimDuration::from_ms(2_000), Timer::Scan);
        // A full period before the first rescan, so that a restarted
        // controller has heard every live broker's heartbeat by then.
        let every = self.p.scan_inactive_master_interval;
        let phase = SimDuration(rng::range_inclusive(ctx.rng(), 0, every.0));
        ctx.set_timer(every + phase, Timer::ScanMaster);
    }

    fn active(&self, id: u32, now: SimTime) -> bool {
        self.live[id as usize].is_some_and(|l| now.since(l.last) <= self.p.heartbeat_timeout)
    }

    /// Send `msg` once every record written so far is durable.
    fn after_commit(&mut self, ctx: &mut Ctx<'_, RcNode>, to: NodeId, msg: Msg) {
        if self.durable >= self.written {
            ctx.send(to, msg);
        } else {
            self.outbox.push((self.written, to, msg));
        }
    }

    fn commit(&mut self, ctx: &mut Ctx<'_, RcNode>, info: Info) {
        let w = RcWrite::Info(info);
        self.d.apply(&w);
        ctx.persist(w);
        self.written += 1;
    }

    pub fn on_persisted(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        self.durable += 1;
        let (ready, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|(w, _, _)| *w <= self.durable);
        self.outbox = wait;
        for (_, to, msg) in ready {
            ctx.send(to, msg);
        }
    }

    fn infos(&self, now: SimTime) -> Vec<LiveInfo> {
        (0..self.brokers)
            .map(|id| {
                let l = self.live[id as usize];
                LiveInfo {
                    id,
                    epoch: l.map_or(0, |l| l.epoch),
                    max_offset: l.map_or(0, |l| l.max_offset),
                    priority: l.map_or(i32::MAX, |l| l.priority),
                    valid: self.active(id, now),
                }
            })
            .collect()
    }

    /// `ReplicasInfoManager.electMaster`; `requester` is the broker of a
    /// `brokerElect`, `None` when the controller triggers it.
    fn elect_master(&mut self, ctx: &mut Ctx<'_, RcNode>, requester: Option<u32>) {
        let now = ctx.now();
        let old = self.d.info.clone();
        let all: Vec<u32> = (0..self.brokers).collect();
        let unclean = self.p.unclean.then_some(all.as_slice());
        let chosen = elect(
            &old.sync_state_set,
            unclean,
            &self.infos(now),
            old.master,
            None,
        );
        ctx.record(Obs::round(old.master_epoch as u64 + 1));
        match chosen {
            Some(m) if Some(m) == old.master => {
                // "The old master is still alive": nothing changes.
                if let Some(b) = requester {
                    self.after_commit(ctx, NodeId(b), Msg::ReplicaInfo(old));
                }
            }
            Some(m) => {
                let in_sse = old.sync_state_set.contains(&m);
                let info = Info {
                    master: Some(m),
                    master_epoch: old.master_epoch + 1,
                    sync_state_set: vec![m],
                    sync_state_set_epoch: old.sync_state_set_epoch + 1,
                };
                self.commit(ctx, info.clone());
                ctx.record(Obs::phase(if in_sse {
                    "electMaster"
                } else {
                    "electMaster:unclean"
                }));
                ctx.record(Obs::elected(NodeId(m), info.master_epoch as u64));
                ctx.record(Obs::Note(RcNote::Elected {
                    master: m,
                    master_epoch: info.master_epoch,
                    sync_state_set: old.sync_state_set.clone(),
                    unclean_allowed: self.p.unclean,
                }));
                if let Some(b) = requester {
                    self.after_commit(ctx, NodeId(b), Msg::ReplicaInfo(info.clone()));
                }
                if self.p.notify_role_changed {
                    for b in 0..self.brokers {
                        self.after_commit(ctx, NodeId(b), Msg::RoleChanged(info.clone()));
                    }
                }
            }
            None => {
                if requester.is_none() && old.master.is_some() {
                    // `ElectMasterEvent(false)`: the master is gone and
                    // none was elected.
                    let info = Info {
                        master: None,
                        master_epoch: old.master_epoch + 1,
                        ..old
                    };
                    ctx.record(Obs::phase("electMaster:failed"));
                    ctx.record(Obs::Note(RcNote::NoMaster {
                        master_epoch: info.master_epoch,
                    }));
                    self.commit(ctx, info);
                } else if let Some(b) = requester {
                    self.after_commit(ctx, NodeId(b), Msg::ReplicaInfo(old));
                }
            }
        }
    }

    /// `onBrokerInactive`: only the master's matters.
    fn on_inactive(&mut self, ctx: &mut Ctx<'_, RcNode>, id: u32) {
        if self.d.info.master == Some(id) {
            ctx.record(Obs::detected(Some(NodeId(id))));
            ctx.record(Obs::phase("onBrokerInactive"));
            self.elect_master(ctx, None);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RcNode>, timer: Timer) {
        let now = ctx.now();
        match timer {
            Timer::Scan => {
                for id in 0..self.brokers {
                    let expired = self.live[id as usize]
                        .is_some_and(|l| now.since(l.last) > self.p.heartbeat_timeout);
                    if expired {
                        self.live[id as usize] = None;
                        self.on_inactive(ctx, id);
                    }
                }
                ctx.set_timer(self.p.scan_interval, Timer::Scan);
            }
            Timer::ScanMaster => {
                if let Some(m) = self.d.info.master {
                    if !self.active(m, now) {
                        ctx.record(Obs::detected(Some(NodeId(m))));
                        ctx.record(Obs::phase("scanInactiveMaster"));
                        self.elect_master(ctx, None);
                    }
                }
                ctx.set_timer(self.p.scan_inactive_master_interval, Timer::ScanMaster);
            }
            _ => {}
        }
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, RcNode>, peer: NodeId) {
        // `onBrokerChannelClose`: the broker is inactive at once.
        if peer.0 < self.brokers && self.live[peer.index()].is_some() {
            self.live[peer.index()] = None;
            if self.route.is_some_and(|r| r.1 == peer.0) {
                // The NameServer's onChannelDestroy drops its route.
                self.route = None;
            }
            self.on_inactive(ctx, peer.0);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        match msg {
            Msg::Heartbeat {
                epoch,
                max_offset,
                priority,
            } if from.0 < self.brokers => {
                self.live[from.index()] = Some(Live {
                    last: now,
                    epoch,
                    max_offset,
                    priority,
                });
            }
            Msg::GetReplicaInfo => {
                let info = self.d.info.clone();
                self.after_commit(ctx, from, Msg::ReplicaInfo(info));
            }
            Msg::BrokerElect if from.0 < self.brokers => self.elect_master(ctx, Some(from.0)),
            Msg::Alter {
                master_epoch,
                sync_state_set_epoch,
                new_set,
            } => self.alter(ctx, from, master_epoch, sync_state_set_epoch, new_set),
            Msg::RegisterRoute { master_epoch }
                if self.route.is_none_or(|r| r.0 <= master_epoch) =>
            {
                self.route = Some((master_epoch, from.0));
            }
            Msg::GetRoute { seq } => {
                let master = self.route.map(|r| NodeId(r.1));
                ctx.send(from, Msg::Route { seq, master });
            }
            _ => {}
        }
    }

    /// `ReplicasInfoManager.alterSyncStateSet`.
    fn alter(
        &mut self,
        ctx: &mut Ctx<'_, RcNode>,
        from: NodeId,
        master_epoch: u32,
        sse_epoch: u32,
        mut new_set: Vec<u32>,
    ) {
        let now = ctx.now();
        new_set.sort_unstable();
        new_set.dedup();
        let old = self.d.info.clone();
        let ok = new_set != old.sync_state_set
            && old.master == Some(from.0)
            && old.master_epoch == master_epoch
            && old.sync_state_set_epoch == sse_epoch
            && new_set
                .iter()
                .all(|b| *b < self.brokers && self.active(*b, now))
            && new_set.contains(&from.0);
        if !ok {
            self.after_commit(
                ctx,
                from,
                Msg::AlterResult {
                    ok: false,
                    info: old,
                },
            );
            return;
        }
        for b in &old.sync_state_set {
            if !new_set.contains(b) {
                ctx.record(Obs::phase("alterSyncStateSet:remove"));
            }
        }
        for b in &new_set {
            if !old.sync_state_set.contains(b) {
                ctx.record(Obs::phase("alterSyncStateSet:add"));
            }
        }
        let info = Info {
            sync_state_set: new_set,
            sync_state_set_epoch: old.sync_state_set_epoch + 1,
            ..old
        };
        self.commit(ctx, info.clone());
        self.after_commit(ctx, from, Msg::AlterResult { ok: true, info });
    }
}
