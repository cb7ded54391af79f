//! A broker of the group in controller mode: `ReplicasManager` (role changes,
//! heartbeats and metadata polls to the controller, `brokerElect`),
//! `AutoSwitchHAService`/`AutoSwitchHAConnection`/`AutoSwitchHAClient`
//! (replication, SyncStateSet shrink and expand, truncation to the epoch
//! boundary) and the acknowledgement rule of `CommitLog`/`GroupTransferService`.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{rng, Ctx, Durable, NodeId, Obs, Role, SimDuration, SimTime, View};

use super::durable::{consistent_point, Entry, EpochEntry, Info, RcDurable, RcWrite};
use super::msg::{Msg, SendStatus};
use super::{RcNode, RcNote, RcParams, Timer};

/// How long an idle HA write service waits before looking for new data
/// (`AutoSwitchHAConnection.WriteSocketService`, `waitForRunning(100)`).
const TRANSFER_WAIT: SimDuration = SimDuration::from_ms(100);

/// The broker's role as `ReplicasManager` holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerRole {
    /// Just started, or told there is no master.
    Unknown,
    Master,
    Slave {
        master: u32,
    },
}

/// The master's side of one slave's HA connection.
#[derive(Clone, Debug)]
struct SlaveConn {
    conn: u64,
    /// Slave's reported max offset; `None` before its first report.
    ack: Option<u64>,
    /// Up to where the master has sent.
    sent: u64,
    /// `connectionCaughtUpTimeTable`: the last time the master had
    /// nothing left to transfer to this slave.
    caught_up: SimTime,
    last_read: SimTime,
}

/// A write waiting for acknowledgements (`GroupCommitRequest`).
#[derive(Clone, Copy, Debug)]
struct Pending {
    from: NodeId,
    op: u64,
    /// `nextOffset`: the log length that includes it.
    end: u64,
}

#[derive(Clone, Debug)]
pub struct Broker {
    pub id: u32,
    controller: NodeId,
    p: RcParams,
    pub d: RcDurable,
    pub role: BrokerRole,
    pub master_epoch: u32,
    /// Confirmed SyncStateSet and its epoch (`syncStateSet`).
    pub sync_state_set: Vec<u32>,
    pub sync_state_set_epoch: u32,
    /// Proposed set while an AlterSyncStateSet is unconfirmed
    /// (`remoteSyncStateSet`, `isSynchronizingSyncStateSet`).
    synchronizing: Option<Vec<u32>>,
    slaves: BTreeMap<u32, SlaveConn>,
    pending: Vec<Pending>,
    confirm: u64,
    /// Slave side: the current HA connection, and whether its handshake is done.
    ha: Option<(u32, u64, bool)>,
    conn_seq: u64,
    /// Set in steady-state construction: the master and SyncStateSet at time 0.
    steady: Option<Info>,
}

impl Broker {
    pub fn new(
        id: u32,
        controller: NodeId,
        p: RcParams,
        d: RcDurable,
        steady: Option<Info>,
    ) -> Self {
        Broker {
            id,
            controller,
            p,
            d,
            role: BrokerRole::Unknown,
            master_epoch: 0,
            sync_state_set: Vec::new(),
            sync_state_set_epoch: 0,
            synchronizing: None,
            slaves: BTreeMap::new(),
            pending: Vec::new(),
            confirm: 0,
            ha: None,
            conn_seq: 0,
            steady,
        }
    }

    pub fn view(&self) -> View {
        let (role, leader) = match self.role {
            BrokerRole::Master => (Role::Leader, Some(NodeId(self.id))),
            BrokerRole::Slave { master } => (Role::Follower, Some(NodeId(master))),
            BrokerRole::Unknown => (Role::Candidate, None),
        };
        View {
            role,
            term: self.master_epoch as u64,
            leader,
            serving: self.role == BrokerRole::Master,
        }
    }

    /// `getSyncStateSet`: the union of the confirmed and the proposed set.
    pub fn ack_set(&self) -> Vec<u32> {
        let mut s: BTreeSet<u32> = self.sync_state_set.iter().copied().collect();
        if let Some(p) = &self.synchronizing {
            s.extend(p.iter().copied());
        }
        s.into_iter().collect()
    }

    fn write(&mut self, ctx: &mut Ctx<'_, RcNode>, w: RcWrite) {
        self.d.apply(&w);
        ctx.persist(w);
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let hb = self.p.heartbeat_interval;
        let phase = SimDuration(rng::range_inclusive(ctx.rng(), 0, hb.0));
        ctx.set_timer(phase, Timer::Heartbeat);
        let sync = self.p.sync_metadata_period;
        let phase = SimDuration(rng::range_inclusive(ctx.rng(), 0, sync.0));
        ctx.set_timer(phase, Timer::SyncMetadata);
        match self.steady.take() {
            Some(info) => self.apply_info(ctx, &info, false),
            // `startBasicService`: register with the controller and read
            // the replica info at once.
            None => ctx.send(self.controller, Msg::GetReplicaInfo),
        }
    }

    fn heartbeat(&self, ctx: &mut Ctx<'_, RcNode>) {
        ctx.send(
            self.controller,
            Msg::Heartbeat {
                epoch: self.d.last_epoch(),
                max_offset: self.d.max_offset(),
                priority: self.p.priority[self.id as usize],
            },
        );
    }

    /// What a metadata poll or a role-change notification says.
    fn apply_info(&mut self, ctx: &mut Ctx<'_, RcNode>, info: &Info, poll: bool) {
        if info.master_epoch < self.master_epoch {
            return;
        }
        let newer = info.master_epoch > self.master_epoch || self.role == BrokerRole::Unknown;
        match info.master {
            None => {
                self.master_epoch = info.master_epoch;
                if self.role != BrokerRole::Unknown {
                    self.change_to_unknown(ctx);
                }
                // `brokerElect` when the poll finds no master.
                if poll || newer {
                    ctx.send(self.controller, Msg::BrokerElect);
                }
            }
            Some(m) if newer => {
                if m == self.id {
                    self.change_to_master(ctx, info);
                } else {
                    self.change_to_slave(ctx, m, info.master_epoch);
                }
            }
            Some(m) => {
                if m == self.id && info.sync_state_set_epoch > self.sync_state_set_epoch {
                    self.sync_state_set = info.sync_state_set.clone();
                    self.sync_state_set_epoch = info.sync_state_set_epoch;
                    self.synchronizing = None;
                }
            }
        }
    }

    fn role_changed(&self, ctx: &mut Ctx<'_, RcNode>) {
        ctx.record(Obs::Note(RcNote::RoleChange {
            broker: self.id,
            incarnation: ctx.incarnation(),
            epoch: self.master_epoch,
        }));
    }

    fn fail_pending(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        for p in std::mem::take(&mut self.pending) {
            ctx.cancel_timer(&Timer::SlaveTimeout { op: p.op });
            ctx.send(
                p.from,
                Msg::SendResult {
                    op: p.op,
                    status: SendStatus::NotMaster,
                },
            );
        }
    }

    fn change_to_unknown(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        self.fail_pending(ctx);
        self.role = BrokerRole::Unknown;
        self.slaves.clear();
        self.ha = None;
        ctx.cancel_timer(&Timer::HaHeartbeat);
        ctx.cancel_timer(&Timer::CheckSyncStateSet);
        ctx.cancel_timer(&Timer::Transfer);
    }

    /// `ReplicasManager.changeToMaster` and `AutoSwitchHAService.changeToMaster`.
    fn change_to_master(&mut self, ctx: &mut Ctx<'_, RcNode>, info: &Info) {
        self.fail_pending(ctx);
        self.role = BrokerRole::Master;
        self.master_epoch = info.master_epoch;
        self.sync_state_set = info.sync_state_set.clone();
        self.sync_state_set_epoch = info.sync_state_set_epoch;
        self.synchronizing = None;
        self.slaves.clear();
        self.ha = None;
        self.confirm = self.d.max_offset();
        ctx.cancel_timer(&Timer::HaHeartbeat);
        if self.d.last_epoch() < self.master_epoch {
            let e = EpochEntry {
                epoch: self.master_epoch,
                start: self.d.max_offset(),
            };
            self.write(ctx, RcWrite::Epoch(e));
        }
        ctx.set_timer(self.p.check_sync_state_set_period, Timer::CheckSyncStateSet);
        ctx.set_timer(TRANSFER_WAIT, Timer::Transfer);
        ctx.record(Obs::phase("changeToMaster"));
        ctx.record(Obs::serving(ctx.me(), self.master_epoch as u64));
        self.role_changed(ctx);
        // `registerBrokerWhenRoleChange`.
        ctx.send(
            self.controller,
            Msg::RegisterRoute {
                master_epoch: self.master_epoch,
            },
        );
    }

    /// `ReplicasManager.changeToSlave`: connect to the new master.
    fn change_to_slave(&mut self, ctx: &mut Ctx<'_, RcNode>, master: u32, epoch: u32) {
        self.fail_pending(ctx);
        self.role = BrokerRole::Slave { master };
        self.master_epoch = epoch;
        self.slaves.clear();
        self.synchronizing = None;
        ctx.cancel_timer(&Timer::CheckSyncStateSet);
        ctx.cancel_timer(&Timer::Transfer);
        ctx.record(Obs::phase("changeToSlave"));
        self.role_changed(ctx);
        self.connect(ctx);
    }

    fn connect(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let BrokerRole::Slave { master } = self.role else {
            return;
        };
        self.conn_seq += 1;
        let conn = ((ctx.incarnation() as u64) << 32) | self.conn_seq;
        self.ha = Some((master, conn, false));
        ctx.send(NodeId(master), Msg::HaHandshake { conn });
        ctx.set_timer(self.p.ha_heartbeat_interval, Timer::HaHeartbeat);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RcNode>, timer: Timer) {
        match timer {
            Timer::Heartbeat => {
                self.heartbeat(ctx);
                ctx.set_timer(self.p.heartbeat_interval, Timer::Heartbeat);
            }
            Timer::SyncMetadata => {
                ctx.send(self.controller, Msg::GetReplicaInfo);
                ctx.set_timer(self.p.sync_metadata_period, Timer::SyncMetadata);
            }
            Timer::HaHeartbeat => {
                if let Some((master, conn, _)) = self.ha {
                    ctx.send(
                        NodeId(master),
                        Msg::HaAck {
                            conn,
                            offset: self.d.max_offset(),
                        },
                    );
                    ctx.set_timer(self.p.ha_heartbeat_interval, Timer::HaHeartbeat);
                }
            }
            Timer::HaReconnect => self.connect(ctx),
            Timer::Transfer if self.role == BrokerRole::Master => {
                self.housekeeping(ctx);
                self.transfer(ctx);
                ctx.set_timer(TRANSFER_WAIT, Timer::Transfer);
            }
            Timer::CheckSyncStateSet if self.role == BrokerRole::Master => {
                self.maybe_shrink(ctx);
                ctx.set_timer(self.p.check_sync_state_set_period, Timer::CheckSyncStateSet);
            }
            Timer::SlaveTimeout { op } => {
                if let Some(i) = self.pending.iter().position(|p| p.op == op) {
                    let p = self.pending.remove(i);
                    ctx.send(
                        p.from,
                        Msg::SendResult {
                            op,
                            status: SendStatus::SlaveTimeout,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, RcNode>, peer: NodeId) {
        match self.role {
            BrokerRole::Master => {
                self.slaves.remove(&peer.0);
            }
            BrokerRole::Slave { master } if master == peer.0 => {
                self.ha = None;
                ctx.cancel_timer(&Timer::HaHeartbeat);
                ctx.set_timer(self.p.ha_heartbeat_interval, Timer::HaReconnect);
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::ReplicaInfo(info) => self.apply_info(ctx, &info, true),
            Msg::RoleChanged(info) => self.apply_info(ctx, &info, false),
            Msg::AlterResult { ok, info } => {
                if self.role != BrokerRole::Master || info.master_epoch != self.master_epoch {
                    return;
                }
                if ok {
                    self.sync_state_set = info.sync_state_set.clone();
                    self.sync_state_set_epoch = info.sync_state_set_epoch;
                }
                // A rejected change is dropped; the next check proposes again.
                self.synchronizing = None;
                self.check_pending(ctx);
            }
            Msg::HaHandshake { conn } => self.on_handshake(ctx, from, conn),
            Msg::HaAck { conn, offset } => self.on_ack(ctx, from, conn, offset),
            Msg::HaEpochs {
                conn,
                epochs,
                max_offset,
            } => self.on_epochs(ctx, from, conn, &epochs, max_offset),
            Msg::HaData {
                conn,
                start,
                entries,
            } => self.on_data(ctx, from, conn, start, &entries),
            Msg::Send { op, read } => self.on_send(ctx, from, op, read),
            Msg::HaClose { conn } if self.current_conn(from, conn) => self.connect(ctx),
            _ => {}
        }
    }

    // ----- master side -----

    fn on_handshake(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, conn: u64) {
        if self.role != BrokerRole::Master {
            return;
        }
        let now = ctx.now();
        self.slaves.insert(
            from.0,
            SlaveConn {
                conn,
                ack: None,
                sent: 0,
                caught_up: now,
                last_read: now,
            },
        );
        ctx.send(
            from,
            Msg::HaEpochs {
                conn,
                epochs: self.d.epochs.clone(),
                max_offset: self.d.max_offset(),
            },
        );
    }

    fn push(&mut self, ctx: &mut Ctx<'_, RcNode>, slave: u32) {
        let len = self.d.max_offset();
        let now = ctx.now();
        let Some(c) = self.slaves.get_mut(&slave) else {
            return;
        };
        if c.ack.is_none() {
            return;
        }
        if c.sent >= len {
            // Nothing left to transfer: caught up now.
            c.caught_up = now;
            return;
        }
        let entries = self.d.log[c.sent as usize..].to_vec();
        ctx.send(
            NodeId(slave),
            Msg::HaData {
                conn: c.conn,
                start: c.sent,
                entries,
            },
        );
        c.sent = len;
        c.caught_up = now;
    }

    fn on_ack(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, conn: u64, offset: u64) {
        if self.role != BrokerRole::Master {
            return;
        }
        let now = ctx.now();
        let len = self.d.max_offset();
        let Some(c) = self.slaves.get_mut(&from.0).filter(|c| c.conn == conn) else {
            return;
        };
        c.last_read = now;
        if c.ack.is_none() || offset < c.sent {
            // First report, or the slave is behind what was sent (it
            // truncated): send from its offset.
            c.sent = offset.min(len);
        }
        c.ack = Some(offset);
        self.update_confirm();
        self.maybe_expand(ctx, from.0, offset);
        self.push(ctx, from.0);
        self.check_pending(ctx);
    }

    /// `computeConfirmOffset`: the smallest acknowledged offset over the
    /// SyncStateSet's connected members; frozen while a member has no
    /// connection.
    fn update_confirm(&mut self) {
        let mut c = self.d.max_offset();
        for s in &self.sync_state_set {
            if *s == self.id {
                continue;
            }
            match self.slaves.get(s).and_then(|x| x.ack) {
                Some(a) if a > 0 => c = c.min(a),
                Some(_) => {}
                None => return,
            }
        }
        self.confirm = c;
    }

    /// `maybeExpandInSyncStateSet`.
    fn maybe_expand(&mut self, ctx: &mut Ctx<'_, RcNode>, slave: u32, offset: u64) {
        let local = self
            .synchronizing
            .clone()
            .unwrap_or_else(|| self.sync_state_set.clone());
        if local.contains(&slave) {
            return;
        }
        let epoch_start = self.d.epochs.last().map_or(0, |e| e.start);
        if offset >= self.confirm && offset >= epoch_start {
            let mut new = local;
            new.push(slave);
            new.sort_unstable();
            self.propose(ctx, new);
        }
    }

    /// `maybeShrinkSyncStateSet`: slaves that have not caught up for
    /// `haMaxTimeSlaveNotCatchup`, and members with no connection.
    fn maybe_shrink(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let now = ctx.now();
        let local = self.sync_state_set.clone();
        let keep: Vec<u32> = local
            .iter()
            .copied()
            .filter(|s| {
                *s == self.id
                    || self
                        .slaves
                        .get(s)
                        .is_some_and(|c| now.since(c.caught_up) <= self.p.max_not_catchup)
            })
            .collect();
        if keep != local {
            self.propose(ctx, keep);
        }
    }

    /// `markSynchronizingSyncStateSet` and the report to the controller.
    fn propose(&mut self, ctx: &mut Ctx<'_, RcNode>, new: Vec<u32>) {
        self.synchronizing = Some(new.clone());
        ctx.send(
            self.controller,
            Msg::Alter {
                master_epoch: self.master_epoch,
                sync_state_set_epoch: self.sync_state_set_epoch,
                new_set: new,
            },
        );
    }

    /// One round of every connection's write service: send what the slave
    /// lacks.
    fn transfer(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let slaves: Vec<u32> = self.slaves.keys().copied().collect();
        for s in slaves {
            self.push(ctx, s);
        }
    }

    /// The HA housekeeping: close a connection silent for `haHousekeepingInterval`.
    fn housekeeping(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let now = ctx.now();
        let limit = self.p.ha_housekeeping;
        let silent: Vec<(u32, u64)> = self
            .slaves
            .iter()
            .filter(|(_, c)| now.since(c.last_read) > limit)
            .map(|(s, c)| (*s, c.conn))
            .collect();
        for (s, conn) in silent {
            self.slaves.remove(&s);
            ctx.send(NodeId(s), Msg::HaClose { conn });
        }
    }

    fn acked(&self, end: u64) -> bool {
        let has = |s: &u32| {
            *s == self.id
                || self
                    .slaves
                    .get(s)
                    .and_then(|c| c.ack)
                    .is_some_and(|a| a >= end)
        };
        if self.p.all_ack {
            let set = self.ack_set();
            set.len() <= 1 || set.iter().all(has)
        } else {
            let n = 1 + self
                .slaves
                .values()
                .filter(|c| c.ack.is_some_and(|a| a >= end))
                .count();
            n >= self.p.in_sync_replicas
        }
    }

    fn need_wait(&self) -> bool {
        if self.p.all_ack {
            self.ack_set().len() > 1
        } else {
            self.p.in_sync_replicas > 1
        }
    }

    fn check_pending(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let (done, wait): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| self.acked(p.end));
        self.pending = wait;
        for p in done {
            ctx.cancel_timer(&Timer::SlaveTimeout { op: p.op });
            ctx.send(
                p.from,
                Msg::SendResult {
                    op: p.op,
                    status: SendStatus::Ok,
                },
            );
        }
    }

    fn on_send(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, op: u64, read: bool) {
        let reply =
            |ctx: &mut Ctx<'_, RcNode>, status| ctx.send(from, Msg::SendResult { op, status });
        if self.role != BrokerRole::Master {
            return reply(ctx, SendStatus::NotMaster);
        }
        if read {
            return reply(ctx, SendStatus::Ok);
        }
        // `inSyncReplicasNums` against `minInSyncReplicas`.
        let in_sync = match &self.synchronizing {
            Some(p) => p.len().max(self.sync_state_set.len()),
            None => self.sync_state_set.len(),
        };
        if in_sync < self.p.min_in_sync_replicas {
            return reply(ctx, SendStatus::NotEnoughReplicas);
        }
        let e = Entry {
            op,
            epoch: self.master_epoch,
        };
        self.write(ctx, RcWrite::Append(vec![e]));
        let end = self.d.max_offset();
        if !self.need_wait() {
            // `handleHA` returns at once and does not wake the HA
            // service: the transfer waits for its next 100 ms round.
            return reply(ctx, SendStatus::Ok);
        }
        // `wakeupAll`: transfer now.
        self.transfer(ctx);
        self.pending.push(Pending { from, op, end });
        ctx.set_timer(self.p.slave_timeout, Timer::SlaveTimeout { op });
        self.check_pending(ctx);
    }

    // ----- slave side -----

    fn current_conn(&self, from: NodeId, conn: u64) -> bool {
        matches!(self.ha, Some((m, c, _)) if m == from.0 && c == conn)
    }

    fn on_epochs(
        &mut self,
        ctx: &mut Ctx<'_, RcNode>,
        from: NodeId,
        conn: u64,
        epochs: &[EpochEntry],
        max_offset: u64,
    ) {
        if !self.current_conn(from, conn) {
            return;
        }
        let point = consistent_point(&self.d.epochs, self.d.max_offset(), epochs, max_offset);
        if point < self.d.max_offset() || self.d.epochs.iter().any(|e| e.start >= point) {
            ctx.record(Obs::phase("truncate"));
            self.write(ctx, RcWrite::Truncate(point));
        }
        if let Some(h) = self.ha.as_mut() {
            h.2 = true;
        }
        ctx.send(
            from,
            Msg::HaAck {
                conn,
                offset: self.d.max_offset(),
            },
        );
    }

    fn on_data(
        &mut self,
        ctx: &mut Ctx<'_, RcNode>,
        from: NodeId,
        conn: u64,
        start: u64,
        entries: &[Entry],
    ) {
        if !self.current_conn(from, conn) || !self.ha.is_some_and(|h| h.2) {
            return;
        }
        let len = self.d.max_offset();
        if start <= len && start + entries.len() as u64 > len {
            let new = &entries[(len - start) as usize..];
            let mut batch = Vec::new();
            for (at, e) in (len..).zip(new.iter()) {
                if e.epoch > self.d.last_epoch() {
                    if !batch.is_empty() {
                        self.write(ctx, RcWrite::Append(std::mem::take(&mut batch)));
                    }
                    self.write(
                        ctx,
                        RcWrite::Epoch(EpochEntry {
                            epoch: e.epoch,
                            start: at,
                        }),
                    );
                }
                batch.push(*e);
            }
            if !batch.is_empty() {
                self.write(ctx, RcWrite::Append(batch));
            }
        }
        ctx.send(
            from,
            Msg::HaAck {
                conn,
                offset: self.d.max_offset(),
            },
        );
    }
}
