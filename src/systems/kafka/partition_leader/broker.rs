//! A broker: the replicas it hosts, the leader side of replication (ISR,
//! high watermark, acks=all purgatory, parked fetches) and the follower
//! side (one fetcher per source broker, truncation by leader epoch).
//! Partition.scala, Replica.scala, ReplicaManager.scala,
//! AbstractFetcherThread.scala; `PROTOCOLS.md` §2.6.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::layout::{Mask, NO_LEADER};
use super::msg::{Change, Entry, FetchData, FetchItem, FetchResult, Msg, ProduceResult};
use super::params::{Acks, Mode};
use super::{BrokerLogs, Note, PlNode, Shared, Timer};
use crate::engine::{Ctx, NodeId, Obs, Role, Scope, SimTime, View};
use crate::systems::kafka::elect::BrokerId;

/// Most records one Fetch answer carries per partition (the real bound is
/// `replica.fetch.max.bytes`, 1 MiB).
const MAX_FETCH_RECORDS: usize = 10_000;

/// The leader's view of one follower (Replica.scala `ReplicaState`).
#[derive(Clone, Copy, Debug)]
struct FollowerState {
    leo: u64,
    last_caught_up: SimTime,
    last_fetch: SimTime,
    last_fetch_leader_leo: u64,
}

impl FollowerState {
    fn fresh(now: SimTime, in_isr: bool) -> Self {
        FollowerState {
            leo: 0,
            last_caught_up: if in_isr { now } else { SimTime::ZERO },
            last_fetch: SimTime::ZERO,
            last_fetch_leader_leo: 0,
        }
    }
}

/// A local replica of a partition with traffic.
#[derive(Clone, Debug)]
pub struct Rep {
    pub p: u32,
    pub pos: u32,
    pub log: Vec<Entry>,
    /// Leader epoch cache: (epoch, start offset), ascending.
    pub epochs: Vec<(u32, u64)>,
    pub hw: u64,
    followers: Vec<FollowerState>,
    /// The ISR proposed with AlterPartition and not yet committed.
    pending_isr: Option<Mask>,
    /// acks=all produces waiting for the high watermark: (offset, producer, op).
    purgatory: VecDeque<(u64, NodeId, u64)>,
    epoch_start: u64,
}

impl Rep {
    fn new(p: u32, pos: u32, rf: u32, log: Vec<Entry>, epochs: Vec<(u32, u64)>) -> Self {
        Rep {
            p,
            pos,
            log,
            epochs,
            hw: 0,
            followers: vec![FollowerState::fresh(SimTime::ZERO, true); rf as usize],
            pending_isr: None,
            purgatory: VecDeque::new(),
            epoch_start: 0,
        }
    }

    pub fn leo(&self) -> u64 {
        self.log.len() as u64
    }

    fn last_epoch(&self) -> Option<u32> {
        self.log.last().map(|e| e.epoch)
    }

    /// `lastOffsetForLeaderEpoch`: the largest epoch at or below `epoch` and
    /// the offset where it ends.
    fn end_for(&self, epoch: u32) -> (Option<u32>, u64) {
        match self.epochs.iter().rposition(|&(e, _)| e <= epoch) {
            None => (None, 0),
            Some(i) => {
                let end = self.epochs.get(i + 1).map_or(self.leo(), |&(_, s)| s);
                (Some(self.epochs[i].0), end)
            }
        }
    }

    fn append(&mut self, e: Entry) {
        if self.epochs.last().is_none_or(|&(last, _)| last < e.epoch) {
            self.epochs.push((e.epoch, self.leo()));
        }
        self.log.push(e);
    }

    fn truncate(&mut self, to: u64) {
        self.log.truncate(to as usize);
        self.epochs.retain(|&(_, s)| s < to);
        self.hw = self.hw.min(to);
    }
}

/// One fetcher thread: a follower's link to one source broker.
#[derive(Clone, Copy, Debug, Default)]
struct Fetcher {
    in_flight: Option<u64>,
    backing_off: bool,
}

#[derive(Clone, Debug)]
pub struct Broker {
    sh: Arc<Shared>,
    pub me: BrokerId,
    /// Per hosted slot (`Layout::slot`): leader, leader epoch, partition
    /// epoch + 1 (0: not known yet), ISR.
    slot_leader: Vec<BrokerId>,
    slot_epoch: Vec<u32>,
    slot_pepoch: Vec<u32>,
    slot_isr: Vec<Mask>,
    /// Replicas of partitions with traffic, by traffic index.
    pub reps: Vec<Option<Box<Rep>>>,
    my_active: Vec<u32>,
    /// Metadata cache of the partitions with traffic: leader, leader epoch,
    /// partition epoch + 1.
    meta: Vec<(BrokerId, u32, u32)>,
    followed_from: Vec<u32>,
    fetchers: BTreeMap<BrokerId, Fetcher>,
    next_req: u64,
    parked: BTreeMap<BrokerId, (u64, Vec<FetchItem>)>,
}

impl Broker {
    /// A broker of the running cluster the trial starts with (`fresh`), or
    /// a restarted one that knows only its logs and waits for the
    /// controller's state.
    pub fn new(sh: Arc<Shared>, me: BrokerId, logs: &BrokerLogs, fresh: bool) -> Self {
        let l = &sh.layout;
        let slots = l.slots();
        let mut b = Broker {
            me,
            slot_leader: vec![NO_LEADER; slots],
            slot_epoch: vec![0; slots],
            slot_pepoch: vec![0; slots],
            slot_isr: vec![0; slots],
            reps: vec![None; l.active.len()],
            my_active: Vec::new(),
            meta: vec![(NO_LEADER, 0, 0); l.active.len()],
            followed_from: vec![0; l.brokers as usize],
            fetchers: BTreeMap::new(),
            next_req: 0,
            parked: BTreeMap::new(),
            sh: Arc::clone(&sh),
        };
        if fresh {
            for (p, _) in l.hosted(me) {
                let s = l.slot(p, me).expect("hosted");
                let leader = l.replica(p, 0);
                b.slot_leader[s] = leader;
                b.slot_pepoch[s] = 1;
                b.slot_isr[s] = l.full_mask();
                if leader != me {
                    b.followed_from[leader as usize] += 1;
                }
            }
            for (ai, &p) in l.active.iter().enumerate() {
                b.meta[ai] = (l.replica(p, 0), 0, 1);
            }
        }
        for (ai, &p) in l.active.iter().enumerate() {
            if let Some(pos) = l.position(p, me) {
                let (log, epochs) = logs.logs[ai].clone().unwrap_or_default();
                let mut r = Rep::new(p, pos, l.rf, log, epochs);
                r.hw = if fresh { 0 } else { r.hw };
                b.reps[ai] = Some(Box::new(r));
                b.my_active.push(ai as u32);
            }
        }
        b
    }

    pub fn logs(&self) -> BrokerLogs {
        BrokerLogs {
            logs: self
                .reps
                .iter()
                .map(|r| r.as_ref().map(|r| (r.log.clone(), r.epochs.clone())))
                .collect(),
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Follower,
            term: 0,
            leader: None,
            serving: true,
        }
    }

    /// Leader of hosted partition `p`, as this broker knows it.
    pub fn leader_of(&self, p: u32) -> Option<BrokerId> {
        let s = self.sh.layout.slot(p, self.me)?;
        (self.slot_leader[s] != NO_LEADER).then_some(self.slot_leader[s])
    }

    fn controller(&self) -> NodeId {
        NodeId(self.sh.layout.brokers)
    }

    fn heartbeat_every(&self) -> crate::engine::SimDuration {
        match self.sh.p.mode {
            Mode::Kraft => self.sh.p.broker_heartbeat_interval,
            Mode::Zk => crate::engine::SimDuration(self.sh.p.zk_session_timeout.0 / 3),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, PlNode>) {
        let incarnation = ctx.incarnation();
        ctx.send(self.controller(), Msg::Register { incarnation });
        ctx.set_timer(self.heartbeat_every(), Timer::Heartbeat);
        let half = crate::engine::SimDuration(self.sh.p.replica_lag_max.0 / 2);
        ctx.set_timer(half, Timer::IsrCheck);
        let sources: Vec<BrokerId> = (0..self.sh.layout.brokers)
            .filter(|&s| self.followed_from[s as usize] > 0)
            .collect();
        for s in sources {
            self.kick(ctx, s);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, PlNode>, t: Timer) {
        match t {
            Timer::Heartbeat => {
                ctx.send(self.controller(), Msg::Heartbeat);
                ctx.set_timer(self.heartbeat_every(), Timer::Heartbeat);
            }
            Timer::IsrCheck => {
                self.shrink_isr(ctx);
                let half = crate::engine::SimDuration(self.sh.p.replica_lag_max.0 / 2);
                ctx.set_timer(half, Timer::IsrCheck);
            }
            Timer::FetchTimeout(src) => {
                if let Some(f) = self.fetchers.get_mut(&src) {
                    f.in_flight = None;
                    f.backing_off = true;
                    ctx.set_timer(self.sh.p.fetch_backoff, Timer::FetchRetry(src));
                }
            }
            Timer::FetchRetry(src) => {
                if let Some(f) = self.fetchers.get_mut(&src) {
                    f.backing_off = false;
                }
                self.kick(ctx, src);
            }
            Timer::Park(f) => {
                if let Some((req, items)) = self.parked.remove(&f) {
                    let resp = self.fetch_answer(&items).0;
                    ctx.send(NodeId(f), Msg::FetchResp { req, items: resp });
                }
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, PlNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Delta(changes) => self.apply_delta(ctx, &changes),
            Msg::AlterPartitionRejected { p } => {
                if let Some(ai) = self.sh.layout.active_index(p) {
                    if let Some(r) = self.reps[ai].as_mut() {
                        r.pending_isr = None;
                    }
                }
            }
            Msg::Fetch { req, items } => self.on_fetch(ctx, from.0, req, items),
            Msg::FetchResp { req, items } => self.on_fetch_resp(ctx, from.0, req, items),
            Msg::Produce { op, ai } => self.on_produce(ctx, from, op, ai as usize),
            Msg::Metadata { req } => {
                let parts = self.meta.iter().map(|&(l, e, _)| (l, e)).collect();
                ctx.send(
                    from,
                    Msg::MetadataResp {
                        req,
                        parts: Arc::new(parts),
                    },
                );
            }
            _ => {}
        }
    }

    fn apply_delta(&mut self, ctx: &mut Ctx<'_, PlNode>, changes: &[Change]) {
        let sh = Arc::clone(&self.sh);
        let l = &sh.layout;
        let mut led = 0u64;
        let mut max_epoch = 0u32;
        let mut kick = std::collections::BTreeSet::new();
        for c in changes {
            if let Some(ai) = l.active_index(c.p) {
                if c.part_epoch + 1 > self.meta[ai].2 {
                    self.meta[ai] = (c.leader, c.leader_epoch, c.part_epoch + 1);
                }
            }
            let Some(s) = l.slot(c.p, self.me) else {
                continue;
            };
            if c.part_epoch < self.slot_pepoch[s] {
                continue;
            }
            let (old_leader, old_epoch) = (self.slot_leader[s], self.slot_epoch[s]);
            let known = self.slot_pepoch[s] > 0;
            self.slot_leader[s] = c.leader;
            self.slot_epoch[s] = c.leader_epoch;
            self.slot_pepoch[s] = c.part_epoch + 1;
            self.slot_isr[s] = c.isr;
            if old_leader != self.me && old_leader != NO_LEADER {
                self.followed_from[old_leader as usize] -= 1;
                kick.insert(old_leader);
            }
            if c.leader != self.me && c.leader != NO_LEADER {
                self.followed_from[c.leader as usize] += 1;
                kick.insert(c.leader);
            }
            let new_epoch = !known || old_epoch != c.leader_epoch;
            if c.leader == self.me && (old_leader != self.me || new_epoch) {
                led += 1;
                max_epoch = max_epoch.max(c.leader_epoch);
                if old_leader != self.me {
                    ctx.record(Obs::Serving {
                        leader: NodeId(self.me),
                        term: u64::from(c.leader_epoch),
                        scope: Scope::Part(c.p),
                    });
                }
            }
            let Some(ai) = l.active_index(c.p) else {
                continue;
            };
            let now = ctx.now();
            let me = self.me;
            let Some(r) = self.reps[ai].as_mut() else {
                continue;
            };
            if c.leader == me {
                if old_leader != me || new_epoch {
                    // Partition.makeLeader.
                    if r.epochs.last().is_none_or(|&(e, _)| e < c.leader_epoch) {
                        r.epochs.push((c.leader_epoch, r.leo()));
                    }
                    r.epoch_start = r.leo();
                    for k in 0..l.rf {
                        r.followers[k as usize] = FollowerState::fresh(now, c.isr & (1 << k) != 0);
                    }
                    r.pending_isr = None;
                } else if r.pending_isr.is_some() {
                    r.pending_isr = None;
                }
                self.maybe_increment_hw(ctx, ai);
            } else if old_leader == me {
                // Partition.makeFollower: waiting produces lose.
                let r = self.reps[ai].as_mut().expect("checked");
                r.pending_isr = None;
                for (_, prod, op) in r.purgatory.drain(..) {
                    ctx.send(
                        prod,
                        Msg::ProduceResp {
                            op,
                            res: ProduceResult::NotLeaderOrFollower,
                        },
                    );
                }
            }
        }
        if led > 0 {
            ctx.record(Obs::serving(NodeId(self.me), u64::from(max_epoch)));
        }
        for s in kick {
            self.kick(ctx, s);
        }
    }

    /// Start a fetch to `src` unless one is under way or backing off; drop
    /// the fetcher when nothing is followed there any more.
    fn kick(&mut self, ctx: &mut Ctx<'_, PlNode>, src: BrokerId) {
        if self.followed_from[src as usize] == 0 {
            self.fetchers.remove(&src);
            return;
        }
        let f = self.fetchers.entry(src).or_default();
        if f.in_flight.is_some() || f.backing_off {
            return;
        }
        let l = &self.sh.layout;
        let mut items = Vec::new();
        for &ai in &self.my_active {
            let r = self.reps[ai as usize].as_ref().expect("hosted");
            let s = l.slot(r.p, self.me).expect("hosted");
            if self.slot_leader[s] == src {
                items.push(FetchItem {
                    ai,
                    offset: r.leo(),
                    leader_epoch: self.slot_epoch[s],
                    last_epoch: r.last_epoch(),
                });
            }
        }
        let req = self.next_req;
        self.next_req += 1;
        self.fetchers.get_mut(&src).expect("inserted").in_flight = Some(req);
        ctx.send(NodeId(src), Msg::Fetch { req, items });
        ctx.set_timer(self.sh.p.replica_socket_timeout, Timer::FetchTimeout(src));
    }

    fn on_fetch_resp(
        &mut self,
        ctx: &mut Ctx<'_, PlNode>,
        src: BrokerId,
        req: u64,
        items: Vec<FetchResult>,
    ) {
        match self.fetchers.get_mut(&src) {
            Some(f) if f.in_flight == Some(req) => f.in_flight = None,
            _ => return,
        }
        ctx.cancel_timer(&Timer::FetchTimeout(src));
        let l = Arc::clone(&self.sh);
        let l = &l.layout;
        let mut error = false;
        for it in items {
            let Some(r) = self.reps[it.ai as usize].as_mut() else {
                continue;
            };
            let s = l.slot(r.p, self.me).expect("hosted");
            if self.slot_leader[s] != src || r.leo() != it.offset {
                continue;
            }
            match it.data {
                FetchData::Records { entries, hw } => {
                    for e in entries {
                        r.append(e);
                    }
                    r.hw = r.hw.max(hw.min(r.leo()));
                }
                FetchData::Diverging { epoch, end } => {
                    let own = epoch.map_or(0, |e| r.end_for(e).1);
                    r.truncate(end.min(own));
                }
                FetchData::Error => error = true,
            }
        }
        if error {
            let f = self.fetchers.get_mut(&src).expect("present");
            f.backing_off = true;
            ctx.set_timer(self.sh.p.fetch_backoff, Timer::FetchRetry(src));
        } else {
            self.kick(ctx, src);
        }
    }

    /// Leader side of a Fetch: update each follower's state (its fetch offset
    /// is its log end), then answer or park.
    fn on_fetch(
        &mut self,
        ctx: &mut Ctx<'_, PlNode>,
        f: BrokerId,
        req: u64,
        items: Vec<FetchItem>,
    ) {
        let now = ctx.now();
        let sh = Arc::clone(&self.sh);
        let l = &sh.layout;
        for it in &items {
            let ai = it.ai as usize;
            let Some(r) = self.reps[ai].as_mut() else {
                continue;
            };
            let s = l.slot(r.p, self.me).expect("hosted");
            if self.slot_leader[s] != self.me || self.slot_epoch[s] != it.leader_epoch {
                continue;
            }
            if let Some(le) = it.last_epoch {
                let (de, end) = r.end_for(le);
                if end < it.offset || de < Some(le) {
                    continue;
                }
            }
            let Some(k) = l.position(r.p, f) else {
                continue;
            };
            // Replica.updateFetchStateOrThrow.
            let leo = r.leo();
            let fs = &mut r.followers[k as usize];
            if it.offset >= leo {
                fs.last_caught_up = fs.last_caught_up.max(now);
            } else if it.offset >= fs.last_fetch_leader_leo {
                fs.last_caught_up = fs.last_caught_up.max(fs.last_fetch);
            }
            fs.leo = it.offset.min(leo);
            fs.last_fetch = now;
            fs.last_fetch_leader_leo = leo;
            // maybeExpandIsr: LEO >= HW and >= the epoch's start offset.
            let isr = self.slot_isr[s];
            if isr & (1 << k) == 0
                && r.pending_isr.is_none()
                && fs.leo >= r.hw
                && fs.leo >= r.epoch_start
            {
                let proposed = isr | 1 << k;
                r.pending_isr = Some(proposed);
                let p = r.p;
                ctx.send(NodeId(l.brokers), self.alter_partition(s, p, proposed));
            }
            self.maybe_increment_hw(ctx, ai);
        }
        let (resp, ready) = self.fetch_answer(&items);
        if ready {
            ctx.send(NodeId(f), Msg::FetchResp { req, items: resp });
        } else {
            self.parked.insert(f, (req, items));
            ctx.set_timer(self.sh.p.fetch_wait_max, Timer::Park(f));
        }
    }

    /// The answer to a Fetch, and whether it has anything to say at once
    /// (records, a divergence or an error); otherwise it is parked.
    fn fetch_answer(&self, items: &[FetchItem]) -> (Vec<FetchResult>, bool) {
        let l = &self.sh.layout;
        let mut out = Vec::with_capacity(items.len());
        let mut ready = false;
        for it in items {
            let r = self.reps[it.ai as usize].as_ref();
            let data = match r {
                None => FetchData::Error,
                Some(r) => {
                    let s = l.slot(r.p, self.me).expect("hosted");
                    if self.slot_leader[s] != self.me || self.slot_epoch[s] != it.leader_epoch {
                        FetchData::Error
                    } else {
                        let diverging = it.last_epoch.and_then(|le| {
                            let (de, end) = r.end_for(le);
                            (end < it.offset || de < Some(le)).then_some((de, end))
                        });
                        match diverging {
                            Some((epoch, end)) => FetchData::Diverging { epoch, end },
                            None => {
                                let from = it.offset.min(r.leo()) as usize;
                                let to = r.log.len().min(from + MAX_FETCH_RECORDS);
                                FetchData::Records {
                                    entries: r.log[from..to].to_vec(),
                                    hw: r.hw,
                                }
                            }
                        }
                    }
                }
            };
            ready |= match &data {
                FetchData::Records { entries, .. } => !entries.is_empty(),
                _ => true,
            };
            out.push(FetchResult {
                ai: it.ai,
                offset: it.offset,
                data,
            });
        }
        (out, ready)
    }

    /// `maybeIncrementLeaderHW`: the minimum log end over the maximal ISR;
    /// not while the ISR is below `min.insync.replicas` (3.7+).
    /// AlterPartition for partition `p` in slot `s`: the ISR `isr`
    /// proposed under the leader epoch and partition epoch this leader knows.
    fn alter_partition(&self, s: usize, p: u32, isr: Mask) -> Msg {
        Msg::AlterPartition {
            p,
            leader_epoch: self.slot_epoch[s],
            part_epoch: self.slot_pepoch[s] - 1,
            isr,
        }
    }

    fn maybe_increment_hw(&mut self, ctx: &mut Ctx<'_, PlNode>, ai: usize) {
        let l = &self.sh.layout;
        let Some(r) = self.reps[ai].as_mut() else {
            return;
        };
        let s = l.slot(r.p, self.me).expect("hosted");
        if self.slot_leader[s] != self.me {
            return;
        }
        let isr = self.slot_isr[s];
        if isr.count_ones() < self.sh.p.min_insync.min(l.rf) {
            return;
        }
        let maximal = isr | r.pending_isr.unwrap_or(0);
        let hw = (0..l.rf)
            .filter(|k| maximal & (1 << k) != 0)
            .map(|k| {
                if k == r.pos {
                    r.leo()
                } else {
                    r.followers[k as usize].leo
                }
            })
            .min()
            .unwrap_or(0);
        if hw <= r.hw {
            return;
        }
        r.hw = hw;
        while r.purgatory.front().is_some_and(|&(o, _, _)| o < hw) {
            let (offset, prod, op) = r.purgatory.pop_front().expect("checked");
            ctx.send(
                prod,
                Msg::ProduceResp {
                    op,
                    res: ProduceResult::Ok { offset },
                },
            );
        }
    }

    /// The "isr-expiration" task: drop followers that are not caught up.
    fn shrink_isr(&mut self, ctx: &mut Ctx<'_, PlNode>) {
        let now = ctx.now();
        let l = &self.sh.layout;
        let lag = self.sh.p.replica_lag_max;
        for &ai in &self.my_active {
            let r = self.reps[ai as usize].as_mut().expect("hosted");
            let s = l.slot(r.p, self.me).expect("hosted");
            if self.slot_leader[s] != self.me || r.pending_isr.is_some() {
                continue;
            }
            let isr = self.slot_isr[s];
            let leo = r.leo();
            let mut out: Mask = 0;
            for k in 0..l.rf {
                if k == r.pos || isr & (1 << k) == 0 {
                    continue;
                }
                let fs = &r.followers[k as usize];
                let caught_up = fs.leo >= leo || now.since(fs.last_caught_up) <= lag;
                if !caught_up {
                    out |= 1 << k;
                }
            }
            if out != 0 {
                let proposed = isr & !out;
                r.pending_isr = Some(proposed);
                ctx.record(Obs::Note(Note::IsrShrink { p: r.p }));
                let p = r.p;
                ctx.send(NodeId(l.brokers), self.alter_partition(s, p, proposed));
            }
        }
    }

    fn on_produce(&mut self, ctx: &mut Ctx<'_, PlNode>, from: NodeId, op: u64, ai: usize) {
        let sh = Arc::clone(&self.sh);
        let l = &sh.layout;
        let reply = |ctx: &mut Ctx<'_, PlNode>, res| ctx.send(from, Msg::ProduceResp { op, res });
        let Some(r) = self.reps.get_mut(ai).and_then(|r| r.as_mut()) else {
            reply(ctx, ProduceResult::NotLeaderOrFollower);
            return;
        };
        let s = l.slot(r.p, self.me).expect("hosted");
        if self.slot_leader[s] != self.me {
            reply(ctx, ProduceResult::NotLeaderOrFollower);
            return;
        }
        let acks = sh.p.acks;
        if acks == Acks::All && self.slot_isr[s].count_ones() < sh.p.min_insync.min(l.rf) {
            reply(ctx, ProduceResult::NotEnoughReplicas);
            return;
        }
        let offset = r.leo();
        r.append(Entry {
            epoch: self.slot_epoch[s],
            id: op,
        });
        match acks {
            Acks::None => {}
            Acks::Leader => reply(ctx, ProduceResult::Ok { offset }),
            Acks::All => r.purgatory.push_back((offset, from, op)),
        }
        let p = r.p;
        self.maybe_increment_hw(ctx, ai);
        // New data completes the followers' parked fetches.
        for k in 0..l.rf {
            let f = l.replica(p, k);
            if f == self.me {
                continue;
            }
            let waits = self
                .parked
                .get(&f)
                .is_some_and(|(_, items)| items.iter().any(|it| it.ai as usize == ai));
            if let Some((req, items)) = waits.then(|| self.parked.remove(&f)).flatten() {
                ctx.cancel_timer(&Timer::Park(f));
                let resp = self.fetch_answer(&items).0;
                ctx.send(NodeId(f), Msg::FetchResp { req, items: resp });
            }
        }
    }
}
