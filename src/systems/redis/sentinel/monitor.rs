//! A Sentinel process watching one master, step by step as sentinel.c:
//! `sentinelTimer` with its re-randomised hz, the periodic PING, INFO and
//! hello, SDOWN, ODOWN through IS-MASTER-DOWN-BY-ADDR, the leader vote per
//! epoch, and the failover state machine from WAIT_START to UPDATE_CONFIG.

use std::collections::BTreeMap;

use rand_core::RngCore;

use crate::engine::{rng, Ctx, NodeId, Obs, Role, SimDuration, SimTime, View};

use super::durable::{RsWrite, SentinelConf};
use super::msg::{Hello, Info, InfoRole, Msg};
use super::select::{self, Candidate, MasterState};
use super::{RsNode, RsNote, RsParams, Timer};

const fn ms(v: u64) -> SimDuration {
    SimDuration::from_ms(v)
}

/// SENTINEL_INFO_PERIOD, and the period while the master is down or failing over.
const INFO_PERIOD: SimDuration = ms(10_000);
const INFO_PERIOD_FAST: SimDuration = ms(1000);
/// SENTINEL_PUBLISH_PERIOD.
const PUBLISH_PERIOD: SimDuration = ms(2000);
/// SENTINEL_ASK_PERIOD.
const ASK_PERIOD: SimDuration = ms(1000);
/// SENTINEL_TILT_TRIGGER and SENTINEL_TILT_PERIOD.
const TILT_TRIGGER: SimDuration = ms(2000);
const TILT_PERIOD: SimDuration = ms(30_000);
/// SENTINEL_SLAVE_RECONF_TIMEOUT.
const SLAVE_RECONF_TIMEOUT: SimDuration = ms(10_000);
/// SENTINEL_MAX_DESYNC.
const MAX_DESYNC_MS: u64 = 1000;
/// SENTINEL_MIN_LINK_RECONNECT_PERIOD.
const MIN_LINK_RECONNECT_PERIOD: SimDuration = ms(15_000);
/// SENTINEL_MAX_PENDING_COMMANDS.
const MAX_PENDING: u32 = 100;

/// A replica's progress through reconfiguration: the SRI_RECONF_SENT,
/// SRI_RECONF_INPROG and SRI_RECONF_DONE flags, which sentinel.c sets
/// independently (a timed-out RECONF_SENT becomes DONE and is sent SLAVEOF
/// again, so it is DONE and SENT at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Reconf {
    sent: Option<SimTime>,
    inprog: bool,
    done: bool,
}

/// A monitored Redis instance and the command link to it.
#[derive(Clone, Debug)]
struct Inst {
    id: NodeId,
    pending: u32,
    disconnected: bool,
    /// Time of the oldest PING not yet answered.
    act_ping: Option<SimTime>,
    last_ping: Option<SimTime>,
    last_pong: SimTime,
    /// Last valid PING reply.
    last_avail: SimTime,
    last_pub: Option<SimTime>,
    info_refresh: Option<SimTime>,
    info: Option<Info>,
    role_reported: Option<InfoRole>,
    role_reported_time: SimTime,
    /// When the replica last changed the master it reports.
    conf_change_time: SimTime,
    sdown: bool,
    /// Start of the current (or last) SDOWN.
    sdown_since: Option<SimTime>,
    reconf: Reconf,
    /// A new link PINGs at once (sentinelReconnectInstance).
    ping_now: bool,
    /// When the command link was (re)connected.
    connected_at: SimTime,
}

impl Inst {
    /// createInstanceLink: a new link counts as a PING sent now.
    fn new(id: NodeId, now: SimTime) -> Self {
        Inst {
            id,
            pending: 0,
            disconnected: false,
            act_ping: Some(now),
            last_ping: None,
            last_pong: now,
            last_avail: now,
            last_pub: None,
            info_refresh: None,
            info: None,
            role_reported: None,
            role_reported_time: now,
            conf_change_time: now,
            sdown: false,
            sdown_since: None,
            reconf: Reconf::default(),
            ping_now: true,
            connected_at: now,
        }
    }

    /// sentinelRedisInstanceNoDownFor.
    fn no_down_for(&self, now: SimTime, d: SimDuration) -> bool {
        // The start of the last SDOWN, which sentinel.c keeps after -sdown.
        self.sdown_since.is_none_or(|t| now.since(t) > d)
    }
}

/// Another Sentinel, as discovered through hello messages.
#[derive(Clone, Debug, Default)]
struct Peer {
    pending: u32,
    disconnected: bool,
    /// Its last IS-MASTER-DOWN-BY-ADDR reply: when, "down", and its vote.
    reply_time: Option<SimTime>,
    down: bool,
    leader: Option<NodeId>,
    leader_epoch: u64,
}

/// sentinel.c SENTINEL_FAILOVER_STATE_*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailoverState {
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoOne,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

#[derive(Clone, Debug)]
pub struct Sentinel {
    id: NodeId,
    p: RsParams,
    conf: SentinelConf,
    master: Inst,
    replicas: BTreeMap<NodeId, Inst>,
    peers: BTreeMap<NodeId, Peer>,
    odown: bool,
    failover: FailoverState,
    failover_epoch: u64,
    /// `None` until a first failover attempt or vote for another (0 in
    /// sentinel.c, which is "long ago" there).
    failover_start_time: Option<SimTime>,
    failover_state_change_time: SimTime,
    promoted: Option<NodeId>,
    tilt_since: Option<SimTime>,
    previous_tick: Option<SimTime>,
}

impl Sentinel {
    pub fn new(id: NodeId, p: RsParams, conf: SentinelConf) -> Self {
        let now = SimTime::ZERO;
        Sentinel {
            id,
            p,
            master: Inst::new(conf.master, now),
            replicas: conf
                .known_replicas
                .iter()
                .map(|r| (*r, Inst::new(*r, now)))
                .collect(),
            peers: conf
                .known_sentinels
                .iter()
                .map(|s| (*s, Peer::default()))
                .collect(),
            conf,
            odown: false,
            failover: FailoverState::None,
            failover_epoch: 0,
            failover_start_time: None,
            failover_state_change_time: now,
            promoted: None,
            tilt_since: None,
            previous_tick: None,
        }
    }

    pub fn conf(&self) -> &SentinelConf {
        &self.conf
    }

    pub fn failover_state(&self) -> FailoverState {
        self.failover
    }

    /// sentinelGetCurrentMasterAddress: the promoted replica once the
    /// leader reconfigures the others, else the master it monitors.
    pub fn current_master(&self) -> NodeId {
        match self.promoted {
            Some(p) if self.failover >= FailoverState::ReconfSlaves => p,
            _ => self.conf.master,
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Follower,
            term: self.conf.config_epoch,
            leader: Some(self.current_master()),
            serving: false,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        // Links made at (re)start.
        self.master = Inst::new(self.conf.master, now);
        for (id, r) in self.replicas.iter_mut() {
            *r = Inst::new(*id, now);
        }
        ctx.record(Obs::Note(RsNote::Epochs {
            sentinel: self.id,
            current: self.conf.current_epoch,
            config: self.conf.config_epoch,
            leader_epoch: self.conf.leader_epoch,
        }));
        let first = rng::range_inclusive(ctx.rng(), 0, 99);
        ctx.set_timer(ms(first), Timer::Tick);
    }

    fn save(&mut self, ctx: &mut Ctx<'_, RsNode>, reply: Option<(NodeId, Msg)>) {
        ctx.persist(RsWrite::Sentinel {
            conf: self.conf.clone(),
            reply,
        });
    }

    pub fn on_persisted(&mut self, ctx: &mut Ctx<'_, RsNode>, w: RsWrite) {
        if let RsWrite::Sentinel { conf, reply } = w {
            ctx.record(Obs::Note(RsNote::Epochs {
                sentinel: self.id,
                current: conf.current_epoch,
                config: conf.config_epoch,
                leader_epoch: conf.leader_epoch,
            }));
            if let Some((to, msg)) = reply {
                ctx.send(to, msg);
            }
        }
    }

    fn in_tilt(&self, now: SimTime) -> bool {
        self.tilt_since.is_some_and(|t| now.since(t) < TILT_PERIOD)
    }

    // ---------------------------------------------------------------
    // The timer.
    // ---------------------------------------------------------------

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RsNode>, timer: Timer) {
        if timer != Timer::Tick {
            return;
        }
        self.tick(ctx);
        // After every run Sentinel re-randomises hz to 10 + rand() % 10.
        let hz = 10 + ctx.rng().next_u64() % 10;
        ctx.set_timer(ms(1000 / hz), Timer::Tick);
    }

    fn tick(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        // sentinelCheckTiltCondition: a timer run more than 2 s after the
        // previous one (a pause, a stall) means the clock cannot be trusted.
        if self
            .previous_tick
            .is_some_and(|t| now.since(t) > TILT_TRIGGER)
        {
            self.tilt_since = Some(now);
            ctx.record(Obs::phase("+tilt"));
        }
        self.previous_tick = Some(now);
        if self.tilt_since.is_some() && !self.in_tilt(now) {
            self.tilt_since = None;
            ctx.record(Obs::phase("-tilt"));
        }
        let hello = self.hello();
        let fast_info = self.odown || self.failover != FailoverState::None;
        let ping_period = self.p.ping_period();
        periodic(ctx, &mut self.master, false, false, ping_period, &hello);
        for r in self.replicas.values_mut() {
            periodic(ctx, r, true, fast_info, ping_period, &hello);
        }
        if !self.in_tilt(now) {
            self.check_sdown(ctx);
            self.check_odown(ctx);
            self.start_failover_if_needed(ctx);
            self.failover_state_machine(ctx);
            self.ask_others(ctx, false);
        }
        if self.failover == FailoverState::UpdateConfig {
            self.switch_to_promoted(ctx);
        }
    }

    fn hello(&self) -> Hello {
        Hello {
            sentinel: self.id,
            current_epoch: self.conf.current_epoch,
            master: self.current_master(),
            config_epoch: self.conf.config_epoch,
        }
    }

    /// sentinelCheckSubjectivelyDown for the master and every replica.
    fn check_sdown(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        let down_after = self.p.down_after;
        let mut changes = Vec::new();
        let insts = std::iter::once(&mut self.master).chain(self.replicas.values_mut());
        for (k, i) in insts.enumerate() {
            // A link connected for more than 15 s whose PING and last reply
            // are both older than down-after / 2 is closed and made again
            // (which also forgets the commands pending on it).
            let half = SimDuration(down_after.0 / 2);
            if now.since(i.connected_at) > MIN_LINK_RECONNECT_PERIOD
                && i.act_ping.is_some_and(|t| now.since(t) > half)
                && now.since(i.last_pong) > half
            {
                i.pending = 0;
                i.connected_at = now;
            }
            let elapsed = match i.act_ping {
                Some(t) => now.since(t),
                None if i.disconnected => now.since(i.last_avail),
                None => SimDuration::ZERO,
            };
            // A master that keeps reporting role:slave is down too.
            let wrong_role = k == 0
                && i.role_reported == Some(InfoRole::Replica)
                && now.since(i.role_reported_time) > down_after + INFO_PERIOD + INFO_PERIOD;
            if elapsed > down_after || wrong_role {
                if !i.sdown {
                    i.sdown = true;
                    i.sdown_since = Some(now);
                    changes.push((k == 0, i.id, true));
                }
            } else if i.sdown {
                i.sdown = false;
                changes.push((k == 0, i.id, false));
            }
        }
        for (is_master, id, down) in changes {
            if is_master {
                if down {
                    ctx.record(Obs::phase("+sdown"));
                    ctx.record(Obs::detected(Some(id)));
                } else {
                    ctx.record(Obs::phase("-sdown"));
                }
            }
        }
    }

    /// sentinelCheckObjectivelyDown.
    fn check_odown(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let votes = if self.master.sdown {
            1 + self.peers.values().filter(|p| p.down).count()
        } else {
            0
        };
        let odown = self.master.sdown && votes >= self.p.quorum;
        if odown && !self.odown {
            ctx.record(Obs::phase("+odown"));
        } else if !odown && self.odown {
            ctx.record(Obs::phase("-odown"));
        }
        self.odown = odown;
    }

    /// sentinelStartFailoverIfNeeded and sentinelStartFailover.
    fn start_failover_if_needed(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        if !self.odown || self.failover != FailoverState::None {
            return;
        }
        let gate = self.p.failover_timeout.saturating_mul(2);
        if self
            .failover_start_time
            .is_some_and(|t| now.since(t) < gate)
        {
            return;
        }
        self.conf.current_epoch += 1;
        self.failover_epoch = self.conf.current_epoch;
        // sentinel.c flushes the config when it votes for itself, a tick
        // later; the model writes the new epoch at once.
        self.save(ctx, None);
        ctx.record(Obs::phase("+new-epoch"));
        ctx.record(Obs::phase("+try-failover"));
        ctx.record(Obs::round(self.failover_epoch));
        self.failover = FailoverState::WaitStart;
        self.failover_state_change_time = now;
        let desync = rng::range_inclusive(ctx.rng(), 0, MAX_DESYNC_MS - 1);
        self.failover_start_time = Some(now + ms(desync));
        self.ask_others(ctx, true);
    }

    /// sentinelAskMasterStateToOtherSentinels.
    fn ask_others(&mut self, ctx: &mut Ctx<'_, RsNode>, forced: bool) {
        let now = ctx.now();
        let msg = Msg::IsMasterDown {
            master: self.conf.master,
            epoch: self.conf.current_epoch,
            vote: self.failover != FailoverState::None,
        };
        for (id, peer) in self.peers.iter_mut() {
            let elapsed = peer.reply_time.map(|t| now.since(t));
            if elapsed.is_none_or(|e| e > ASK_PERIOD.saturating_mul(5)) {
                peer.down = false;
                peer.leader = None;
            }
            if !self.master.sdown || peer.disconnected || peer.pending >= MAX_PENDING {
                continue;
            }
            if !forced && elapsed.is_some_and(|e| e < ASK_PERIOD) {
                continue;
            }
            peer.pending += 1;
            ctx.send(*id, msg.clone());
        }
    }

    /// sentinelVoteLeader: grant `candidate` this Sentinel's vote for
    /// `req_epoch` unless it voted in that epoch already. Returns its vote,
    /// the epoch of that vote and whether the config must be written.
    fn vote_leader(
        &mut self,
        ctx: &mut Ctx<'_, RsNode>,
        req_epoch: u64,
        candidate: NodeId,
    ) -> (Option<NodeId>, u64, bool) {
        let mut dirty = false;
        if req_epoch > self.conf.current_epoch {
            self.conf.current_epoch = req_epoch;
            dirty = true;
            ctx.record(Obs::phase("+new-epoch"));
        }
        if self.conf.leader_epoch < req_epoch && self.conf.current_epoch <= req_epoch {
            self.conf.leader = Some(candidate);
            self.conf.leader_epoch = self.conf.current_epoch;
            dirty = true;
            ctx.record(Obs::phase("+vote-for-leader"));
            if candidate != self.id {
                let desync = rng::range_inclusive(ctx.rng(), 0, MAX_DESYNC_MS - 1);
                self.failover_start_time = Some(ctx.now() + ms(desync));
            }
        }
        (self.conf.leader, self.conf.leader_epoch, dirty)
    }

    /// sentinelGetLeader: the winner of `epoch` in this Sentinel's view, if
    /// it has a majority of the known Sentinels and at least the quorum.
    fn get_leader(&mut self, ctx: &mut Ctx<'_, RsNode>, epoch: u64) -> Option<NodeId> {
        let mut counts: BTreeMap<NodeId, usize> = BTreeMap::new();
        for p in self.peers.values() {
            if let (Some(l), true) = (p.leader, p.leader_epoch == epoch) {
                *counts.entry(l).or_default() += 1;
            }
        }
        let voters = self.peers.len() + 1;
        let best = |counts: &BTreeMap<NodeId, usize>| {
            let mut w: Option<(NodeId, usize)> = None;
            for (id, n) in counts {
                if w.is_none_or(|(_, m)| *n > m) {
                    w = Some((*id, *n));
                }
            }
            w
        };
        let winner = best(&counts).map(|w| w.0);
        let (myvote, leader_epoch, dirty) = self.vote_leader(ctx, epoch, winner.unwrap_or(self.id));
        if dirty {
            self.save(ctx, None);
        }
        if let (Some(v), true) = (myvote, leader_epoch == epoch) {
            *counts.entry(v).or_default() += 1;
        }
        let (w, votes) = best(&counts)?;
        (votes > voters / 2 && votes >= self.p.quorum).then_some(w)
    }

    // ---------------------------------------------------------------
    // The failover state machine (sentinelFailoverStateMachine).
    // ---------------------------------------------------------------

    fn failover_state_machine(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        let since_change = now.since(self.failover_state_change_time);
        match self.failover {
            FailoverState::None | FailoverState::UpdateConfig => {}
            FailoverState::WaitStart => {
                let leader = self.get_leader(ctx, self.failover_epoch);
                if leader != Some(self.id) {
                    let start = self.failover_start_time.unwrap_or(now);
                    if now.since(start) > self.p.election_timeout() {
                        ctx.record(Obs::phase("-failover-abort-not-elected"));
                        self.abort_failover(now);
                    }
                    return;
                }
                ctx.record(Obs::phase("+elected-leader"));
                ctx.record(Obs::Note(RsNote::Leader {
                    sentinel: self.id,
                    epoch: self.failover_epoch,
                }));
                self.set_state(FailoverState::SelectSlave, now);
            }
            FailoverState::SelectSlave => {
                let m = self.master_state(now);
                let cands: Vec<Candidate> =
                    self.replicas.values().map(|r| candidate(r, now)).collect();
                match select::select(&cands, m) {
                    None => {
                        ctx.record(Obs::phase("-failover-abort-no-good-slave"));
                        self.abort_failover(now);
                    }
                    Some(r) => {
                        ctx.record(Obs::phase("+selected-slave"));
                        ctx.record(Obs::elected(r, self.failover_epoch));
                        let chosen = cands
                            .iter()
                            .find(|c| c.id == r)
                            .expect("selected among the candidates")
                            .clone();
                        ctx.record(Obs::Note(RsNote::Selected {
                            sentinel: self.id,
                            epoch: self.failover_epoch,
                            chosen,
                            master: m,
                        }));
                        self.promoted = Some(r);
                        self.set_state(FailoverState::SendSlaveofNoOne, now);
                    }
                }
            }
            FailoverState::SendSlaveofNoOne => {
                let r = self.promoted.expect("a promoted replica in this state");
                if self.replicas.get(&r).is_none_or(|i| i.disconnected) {
                    if since_change > self.p.failover_timeout {
                        ctx.record(Obs::phase("-failover-abort-slave-timeout"));
                        self.abort_failover(now);
                    }
                    return;
                }
                ctx.send(r, Msg::SlaveOf(None));
                self.set_state(FailoverState::WaitPromotion, now);
            }
            FailoverState::WaitPromotion => {
                if since_change > self.p.failover_timeout {
                    ctx.record(Obs::phase("-failover-abort-slave-timeout"));
                    self.abort_failover(now);
                }
            }
            FailoverState::ReconfSlaves => {
                self.reconf_next_slave(ctx);
                self.detect_end(ctx);
            }
        }
    }

    fn set_state(&mut self, s: FailoverState, now: SimTime) {
        self.failover = s;
        self.failover_state_change_time = now;
    }

    /// sentinelAbortFailover (only before RECONF_SLAVES). The start time
    /// stays: the next attempt waits 2 x failover-timeout from it.
    fn abort_failover(&mut self, now: SimTime) {
        debug_assert!(self.failover <= FailoverState::WaitPromotion);
        self.set_state(FailoverState::None, now);
        self.promoted = None;
    }

    fn master_state(&self, now: SimTime) -> MasterState {
        MasterState {
            sdown_for_ms: self
                .master
                .sdown
                .then(|| ms_of(now.since(self.master.sdown_since.unwrap_or(now)))),
            down_after_ms: ms_of(self.p.down_after),
        }
    }

    /// sentinelFailoverReconfNextSlave: SLAVEOF to at most parallel-syncs
    /// replicas at a time.
    fn reconf_next_slave(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        let promoted = self.promoted.expect("a promoted replica in this state");
        let mut in_progress = self
            .replicas
            .values()
            .filter(|r| r.reconf.sent.is_some() || r.reconf.inprog)
            .count();
        for (id, r) in self.replicas.iter_mut() {
            if in_progress >= self.p.parallel_syncs {
                break;
            }
            if *id == promoted || r.reconf.done {
                continue;
            }
            if r.reconf
                .sent
                .is_some_and(|t| now.since(t) > SLAVE_RECONF_TIMEOUT)
            {
                ctx.record(Obs::phase("-slave-reconf-sent-timeout"));
                r.reconf.sent = None;
                r.reconf.done = true;
            }
            if r.reconf.sent.is_some() || r.reconf.inprog || r.disconnected {
                continue;
            }
            ctx.send(*id, Msg::SlaveOf(Some(promoted)));
            r.reconf.sent = Some(now);
            ctx.record(Obs::phase("+slave-reconf-sent"));
            in_progress += 1;
        }
    }

    /// sentinelFailoverDetectEnd.
    fn detect_end(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        let promoted = self.promoted.expect("a promoted replica in this state");
        if self.replicas.get(&promoted).is_none_or(|r| r.sdown) {
            return;
        }
        let mut pending = self
            .replicas
            .values()
            .filter(|r| r.id != promoted && !r.reconf.done && !r.sdown)
            .count();
        let timeout = now.since(self.failover_state_change_time) > self.p.failover_timeout;
        if timeout {
            pending = 0;
            ctx.record(Obs::phase("+failover-end-for-timeout"));
        }
        if pending == 0 {
            ctx.record(Obs::phase("+failover-end"));
            self.set_state(FailoverState::UpdateConfig, now);
        }
        if timeout {
            // Best effort for the rest.
            for (id, r) in self.replicas.iter_mut() {
                if *id != promoted && !r.reconf.done && r.reconf.sent.is_none() && !r.disconnected {
                    ctx.send(*id, Msg::SlaveOf(Some(promoted)));
                    r.reconf.sent = Some(now);
                }
            }
        }
    }

    /// sentinelFailoverSwitchToPromotedSlave.
    fn switch_to_promoted(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let promoted = self.promoted.expect("a promoted replica in this state");
        ctx.record(Obs::phase("+switch-master"));
        self.change_master(ctx, promoted);
    }

    /// sentinelResetMasterAndChangeAddress: the new master's replicas are the
    /// old ones but itself, plus the old master; every link and flag starts
    /// afresh, and a failover may start again at once.
    fn change_master(&mut self, ctx: &mut Ctx<'_, RsNode>, new: NodeId) {
        let now = ctx.now();
        let old = self.conf.master;
        let mut replicas: Vec<NodeId> = self
            .replicas
            .keys()
            .copied()
            .filter(|r| *r != new)
            .collect();
        if old != new && !replicas.contains(&old) {
            replicas.push(old);
        }
        replicas.sort();
        self.conf.master = new;
        self.conf.leader = None;
        self.conf.known_replicas = replicas.clone();
        self.master = Inst::new(new, now);
        self.replicas = replicas.iter().map(|r| (*r, Inst::new(*r, now))).collect();
        self.odown = false;
        // Answers about the old address say nothing of the new one.
        for p in self.peers.values_mut() {
            p.down = false;
            p.leader = None;
        }
        self.failover = FailoverState::None;
        self.failover_state_change_time = now;
        self.failover_start_time = None;
        self.promoted = None;
        ctx.record(Obs::Note(RsNote::Switched {
            sentinel: self.id,
            master: new,
            config_epoch: self.conf.config_epoch,
        }));
        self.save(ctx, None);
    }

    // ---------------------------------------------------------------
    // Messages.
    // ---------------------------------------------------------------

    fn inst_mut(&mut self, id: NodeId) -> Option<&mut Inst> {
        if id == self.master.id {
            Some(&mut self.master)
        } else {
            self.replicas.get_mut(&id)
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RsNode>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        match msg {
            Msg::Pong => {
                if let Some(i) = self.inst_mut(from) {
                    i.pending = i.pending.saturating_sub(1);
                    i.disconnected = false;
                    i.last_pong = now;
                    i.last_avail = now;
                    i.act_ping = None;
                }
            }
            Msg::InfoReply(info) => self.on_info(ctx, from, *info),
            Msg::Hello(h) => self.on_hello(ctx, h),
            Msg::IsMasterDown {
                master,
                epoch,
                vote,
            } => {
                let down = !self.in_tilt(now) && master == self.conf.master && self.master.sdown;
                let (mut leader, mut leader_epoch, mut dirty) = (None, 0, false);
                if vote && master == self.conf.master {
                    (leader, leader_epoch, dirty) = self.vote_leader(ctx, epoch, from);
                }
                let reply = Msg::IsMasterDownReply {
                    down,
                    leader,
                    leader_epoch,
                };
                if dirty {
                    // sentinel.c answers after the config is flushed.
                    self.save(ctx, Some((from, reply)));
                } else {
                    ctx.send(from, reply);
                }
            }
            Msg::IsMasterDownReply {
                down,
                leader,
                leader_epoch,
            } => {
                if let Some(p) = self.peers.get_mut(&from) {
                    p.pending = p.pending.saturating_sub(1);
                    p.disconnected = false;
                    p.reply_time = Some(now);
                    p.down = down;
                    if leader.is_some() {
                        p.leader = leader;
                        p.leader_epoch = leader_epoch;
                    }
                }
            }
            Msg::GetMasterAddr { req } => ctx.send(
                from,
                Msg::MasterAddr {
                    req,
                    master: self.current_master(),
                },
            ),
            _ => {}
        }
    }

    /// sentinelProcessHelloMessage.
    fn on_hello(&mut self, ctx: &mut Ctx<'_, RsNode>, h: Hello) {
        if h.sentinel == self.id {
            return;
        }
        let mut dirty = false;
        let peer = self.peers.entry(h.sentinel).or_insert_with(|| {
            dirty = true;
            Peer::default()
        });
        peer.disconnected = false;
        if dirty {
            self.conf.known_sentinels.push(h.sentinel);
            self.conf.known_sentinels.sort();
        }
        if h.current_epoch > self.conf.current_epoch {
            self.conf.current_epoch = h.current_epoch;
            ctx.record(Obs::phase("+new-epoch"));
            dirty = true;
        }
        if self.conf.config_epoch < h.config_epoch {
            self.conf.config_epoch = h.config_epoch;
            dirty = true;
            if h.master != self.conf.master {
                ctx.record(Obs::phase("+config-update-from"));
                ctx.record(Obs::phase("+switch-master"));
                self.change_master(ctx, h.master);
                return;
            }
        }
        if dirty {
            self.save(ctx, None);
        }
    }

    /// sentinelRefreshInstanceInfo.
    fn on_info(&mut self, ctx: &mut Ctx<'_, RsNode>, from: NodeId, info: Info) {
        let now = ctx.now();
        let is_master = from == self.master.id;
        let tilt = self.in_tilt(now);
        let Some(inst) = self.inst_mut(from) else {
            return;
        };
        inst.pending = inst.pending.saturating_sub(1);
        inst.disconnected = false;
        inst.info_refresh = Some(now);
        if inst.role_reported != Some(info.role) {
            inst.role_reported = Some(info.role);
            inst.role_reported_time = now;
            inst.conf_change_time = now;
        }
        if inst.info.as_ref().is_some_and(|i| i.master != info.master) {
            inst.conf_change_time = now;
        }
        inst.info = Some(info.clone());
        // Replicas are discovered from the master's INFO.
        if is_master && info.role == InfoRole::Master {
            let mut added = false;
            for r in &info.replicas {
                if *r != self.master.id && !self.replicas.contains_key(r) {
                    self.replicas.insert(*r, Inst::new(*r, now));
                    added = true;
                }
            }
            if added {
                self.conf.known_replicas = self.replicas.keys().copied().collect();
                self.save(ctx, None);
            }
        }
        if tilt || is_master {
            return;
        }
        let master_sane = self.master_looks_sane(now);
        let promoted = self.promoted;
        let failover = self.failover;
        let failover_timeout = self.p.failover_timeout;
        let master = self.conf.master;
        let inst = self.replicas.get_mut(&from).expect("looked up above");
        match info.role {
            InfoRole::Master => {
                if failover == FailoverState::WaitPromotion && promoted == Some(from) {
                    self.promotion_seen(ctx, from);
                } else {
                    let wait = PUBLISH_PERIOD.saturating_mul(4);
                    if promoted != Some(from)
                        && master_sane
                        && inst.no_down_for(now, wait)
                        && now.since(inst.role_reported_time) > wait
                    {
                        ctx.record(Obs::phase("+convert-to-slave"));
                        ctx.send(from, Msg::SlaveOf(Some(master)));
                    }
                }
            }
            InfoRole::Replica => {
                if info.master != Some(master)
                    && master_sane
                    && inst.no_down_for(now, failover_timeout)
                    && now.since(inst.conf_change_time) > failover_timeout
                {
                    ctx.record(Obs::phase("+fix-slave-config"));
                    ctx.send(from, Msg::SlaveOf(Some(master)));
                }
                if failover == FailoverState::ReconfSlaves {
                    if inst.reconf.sent.is_some() && info.master == promoted {
                        inst.reconf.sent = None;
                        inst.reconf.inprog = true;
                        ctx.record(Obs::phase("+slave-reconf-inprog"));
                    }
                    if inst.reconf.inprog && info.link_up {
                        inst.reconf.inprog = false;
                        inst.reconf.done = true;
                        ctx.record(Obs::phase("+slave-reconf-done"));
                    }
                }
            }
        }
    }

    /// sentinelMasterLooksSane.
    fn master_looks_sane(&self, now: SimTime) -> bool {
        let m = &self.master;
        !m.sdown
            && !self.odown
            && m.role_reported == Some(InfoRole::Master)
            && m.info_refresh
                .is_some_and(|t| now.since(t) < INFO_PERIOD.saturating_mul(2))
    }

    /// The promoted replica reports role:master: the failover is won.
    fn promotion_seen(&mut self, ctx: &mut Ctx<'_, RsNode>, r: NodeId) {
        let now = ctx.now();
        self.conf.config_epoch = self.failover_epoch;
        self.save(ctx, None);
        ctx.record(Obs::phase("+promoted-slave"));
        ctx.record(Obs::serving(r, self.failover_epoch));
        ctx.record(Obs::phase("+failover-state-reconf-slaves"));
        self.set_state(FailoverState::ReconfSlaves, now);
        // sentinelForceHelloUpdateForMaster: hellos go out on the next run.
        self.master.last_pub = None;
        for i in self.replicas.values_mut() {
            i.last_pub = None;
        }
    }

    pub fn on_link_reset(&mut self, _ctx: &mut Ctx<'_, RsNode>, peer: NodeId) {
        if let Some(i) = self.inst_mut(peer) {
            i.disconnected = true;
            i.pending = 0;
        } else if let Some(p) = self.peers.get_mut(&peer) {
            p.disconnected = true;
            p.pending = 0;
        }
    }
}

fn ms_of(d: SimDuration) -> u64 {
    d.0 / 1_000_000
}

/// What selection reads of a replica.
fn candidate(r: &Inst, now: SimTime) -> Candidate {
    let info = r.info.as_ref();
    Candidate {
        id: r.id,
        down: r.sdown,
        disconnected: r.disconnected,
        last_avail_age_ms: ms_of(now.since(r.last_avail)),
        info_age_ms: r.info_refresh.map(|t| ms_of(now.since(t))),
        priority: info.map_or(0, |i| i.priority),
        offset: info.map_or(0, |i| i.offset),
        run_id: info.map(|i| i.run_id),
        link_down_ms: info.map_or(0, |i| i.link_down_ms),
    }
}

/// sentinelSendPeriodicCommands for one instance.
fn periodic(
    ctx: &mut Ctx<'_, RsNode>,
    i: &mut Inst,
    replica: bool,
    fast_info: bool,
    ping_period: SimDuration,
    hello: &Hello,
) {
    let now = ctx.now();
    if i.pending >= MAX_PENDING {
        return;
    }
    let link_down = i.info.as_ref().is_some_and(|x| x.link_down_ms > 0);
    let info_period = if replica && (fast_info || link_down) {
        INFO_PERIOD_FAST
    } else {
        INFO_PERIOD
    };
    if i.info_refresh.is_none_or(|t| now.since(t) > info_period) {
        i.pending += 1;
        ctx.send(i.id, Msg::InfoReq);
    }
    let half = SimDuration(ping_period.0 / 2);
    if i.ping_now
        || (now.since(i.last_pong) > ping_period && i.last_ping.is_none_or(|t| now.since(t) > half))
    {
        i.ping_now = false;
        i.pending += 1;
        ctx.send(i.id, Msg::Ping);
        if i.act_ping.is_none() {
            i.act_ping = Some(now);
        }
        i.last_ping = Some(now);
    }
    if i.last_pub.is_none_or(|t| now.since(t) > PUBLISH_PERIOD) {
        i.last_pub = Some(now);
        ctx.send(i.id, Msg::Publish(hello.clone()));
    }
}
