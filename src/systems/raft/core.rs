//! The Raft server state machine shared by every Raft-based path.
//!
//! One server of a Raft group (Ongaro & Ousterhout 2014, Figure 2 and §5),
//! with the rules of etcd's `raft.go` where the paper leaves a choice:
//! separate heartbeat messages carrying `min(match, commit)`, a new leader
//! appending an empty entry of its term, optional pre-vote (`MsgPreVote`),
//! optional check-quorum (the leader steps down when a majority has not been
//! heard from within one election timeout, and followers ignore votes while
//! they are within a leader's lease), and leader transfer (`MsgTimeoutNow`).
//! [`Config`] chooses between etcd's tick-driven clock and the paper's
//! continuous timers, so that a path is a configuration, not a copy;
//! [`Config::kraft`] switches on KRaft's pull-based variant
//! (`super::kraft`), which shares this server's durable state, disk
//! ordering, commit rule, client and checker; [`Config::dledger`] switches
//! on DLedger's (`super::dledger`), which shares the durable state, disk
//! ordering, append and consistency check, quorum water mark (without the
//! current-term condition, as DLedger), client and checker.

use std::collections::{BTreeMap, VecDeque};

use crate::engine::{rng, ClientOp, Ctx, Durable, NodeId, Obs, Role, SimDuration, View};

use super::{Msg, RaftNode, RaftNote, Timer};

/// How a Raft group keeps time and which optional features it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The leader's heartbeat interval.
    pub heartbeat: SimDuration,
    /// Lower bound of the randomized election timeout (etcd's
    /// `electionTimeout`; the paper's minimum). Also the check-quorum period
    /// and the lease within which votes are ignored.
    pub election_min: SimDuration,
    /// Upper bound of the randomized election timeout, inclusive in
    /// continuous mode; in tick mode the draw is whole ticks in
    /// `[election_min, election_max)` as etcd's `resetRandomizedElectionTimeout`.
    pub election_max: SimDuration,
    /// `Some(t)`: etcd's logical clock, one tick every `t` (the heartbeat and
    /// election timeouts count ticks). `None`: continuous timers.
    pub tick: Option<SimDuration>,
    pub pre_vote: bool,
    pub check_quorum: bool,
    /// A follower stepping down to a higher term restarts its election
    /// timeout (etcd's `becomeFollower` calls `reset`); the paper's Figure 2
    /// restarts it only on a heartbeat or a granted vote.
    pub reset_on_step_down: bool,
    /// Continuous mode: draw the election timeout as a whole number of
    /// milliseconds, `round(MIN + U * (MAX - MIN))` with `U` uniform in
    /// `[0, 1)` and halves rounded away from zero, as LogCabin did from 2012
    /// to July 2015 (`RaftConsensus::setElectionTimer` calls
    /// `Core::Random::randomRange` on milliseconds, which is `lround` of a
    /// uniform double), so `MIN` and `MAX` come up half as often as each
    /// value between them. `false`: uniform in nanoseconds over `[MIN, MAX]`.
    pub whole_ms_timeouts: bool,
    /// Replicate log entries. `false`: heartbeats only, no new entries, no
    /// client writes (the Figure 16 setup, which measures elections only).
    pub replicate: bool,
    /// Most entries in one append message (etcd's `MaxSizePerMsg`, counted
    /// in entries here).
    pub max_batch: usize,
    /// How long a client waits for an answer before it gives up on a write
    /// and tries another server.
    pub client_timeout: SimDuration,
    /// `Some`: KRaft's variant (`kafka/controller-kraft`): pull replication
    /// by Fetch, the Unattached and Resigned states, Kafka's election backoff,
    /// BeginQuorumEpoch/EndQuorumEpoch, observers (see [`super::kraft`]).
    /// `None` for every other flavour, whose behaviour it leaves untouched.
    pub kraft: Option<super::kraft::KraftConfig>,
    /// `Some`: DLedger's variant (`rocketmq/dledger`): the elector's 10 ms
    /// maintenance loop, heartbeat-loss detection, vote results and term
    /// rules, preferred-leader transfer, and the broker's master role (see
    /// [`super::dledger`]). `None` for every other flavour.
    pub dledger: Option<super::dledger::DledgerConfig>,
}

/// One log entry: its term and, for a client write, the client and the
/// operation id (`None` for the empty entry a new leader appends).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub term: u64,
    pub op: Option<(NodeId, u64)>,
}

/// What a Raft server keeps on disk: etcd's `HardState` (term, vote; the
/// commit index is not needed for safety and is not kept) and the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaftDurable {
    pub term: u64,
    pub vote: Option<NodeId>,
    /// KRaft only: the leader of `term` as the `quorum-state` file records
    /// it (etcd's `HardState` has no leader: always `None` there).
    pub leader: Option<NodeId>,
    /// Entry `i` of the Raft log (1-based) is `log[i - 1]`.
    pub log: Vec<Entry>,
}

impl RaftDurable {
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    /// Term of entry `i`; 0 for index 0 and past the end.
    pub fn term_at(&self, i: u64) -> u64 {
        if i == 0 {
            return 0;
        }
        self.log.get(i as usize - 1).map_or(0, |e| e.term)
    }

    pub fn last_term(&self) -> u64 {
        self.term_at(self.last_index())
    }

    /// Whether a log ending at `(last_term, last_index)` is at least as up
    /// to date as this one (§5.4.1).
    pub fn up_to_date(&self, last_term: u64, last_index: u64) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }
}

/// One write to a server's disk; `seq` numbers the writes of one process so
/// that messages waiting on a write can be released when it is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftWrite {
    pub seq: u64,
    pub what: WriteKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteKind {
    HardState {
        term: u64,
        vote: Option<NodeId>,
    },
    /// KRaft's `quorum-state` file: epoch, voted-for and leader.
    QuorumState {
        term: u64,
        vote: Option<NodeId>,
        leader: Option<NodeId>,
    },
    /// Cut the log after `after`, then append `entries`.
    Entries {
        after: u64,
        entries: Vec<Entry>,
    },
}

impl Durable for RaftDurable {
    type Write = RaftWrite;

    fn apply(&mut self, w: &RaftWrite) {
        match &w.what {
            WriteKind::HardState { term, vote } => {
                self.term = *term;
                self.vote = *vote;
            }
            WriteKind::QuorumState { term, vote, leader } => {
                self.term = *term;
                self.vote = *vote;
                self.leader = *leader;
            }
            WriteKind::Entries { after, entries } => {
                self.log.truncate(*after as usize);
                self.log.extend_from_slice(entries);
            }
        }
    }

    fn bytes(w: &RaftWrite) -> u64 {
        match &w.what {
            WriteKind::HardState { .. } | WriteKind::QuorumState { .. } => 24,
            WriteKind::Entries { entries, .. } => 32 * entries.len() as u64,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum State {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
    /// KRaft only: no leader known in the current epoch (may have voted).
    Unattached,
    /// KRaft only: a leader that gave up its epoch (check-quorum, restart).
    Resigned,
}

/// Per-follower progress kept by a leader.
#[derive(Clone, Debug, Default)]
pub(super) struct Progress {
    pub(super) next: u64,
    pub(super) matched: u64,
    /// Heard from since the last check-quorum (etcd's `RecentActive`).
    active: bool,
}

/// One Raft server.
#[derive(Clone, Debug)]
pub struct Server {
    pub id: NodeId,
    pub(super) n: usize,
    pub(super) cfg: Config,
    pub(super) d: RaftDurable,
    pub(super) state: State,
    pub(super) leader: Option<NodeId>,
    pub(super) commit: u64,
    /// The leader's committed entry of its own term: it serves.
    pub(super) serving: bool,
    pub(super) votes: BTreeMap<NodeId, bool>,
    pub(super) progress: Vec<Progress>,
    /// Index of the last entry this server's own disk holds (the leader
    /// counts itself in the commit rule only up to here).
    pub(super) persisted_index: u64,
    write_seq: u64,
    persisted_seq: u64,
    /// Messages that wait until every write made before them is durable.
    held: VecDeque<(u64, NodeId, Msg)>,
    /// Client writes this leader appended: log index -> (client, op).
    pub(super) waiting: BTreeMap<u64, (NodeId, ClientOp)>,
    /// Tick mode: ticks since the election clock was last reset, and ticks
    /// since the last heartbeat.
    election_elapsed: u64,
    heartbeat_elapsed: u64,
    /// The randomized election timeout now in force, in ticks (tick mode).
    randomized_ticks: u64,
    /// Continuous mode: when the follower last heard from a leader, for the
    /// lease check.
    last_heard: Option<crate::engine::SimTime>,
    /// Leader transfer in progress to this node.
    pub(super) transferee: Option<NodeId>,
    /// Campaign at once when the process starts (a bootstrap leader).
    campaign_on_start: bool,
    /// KRaft's own state (unused by the other flavours).
    pub(super) kr: super::kraft::KraftState,
    /// DLedger's own state (unused by the other flavours).
    pub(super) dl: super::dledger::DledgerState,
}

impl Server {
    pub fn new(id: NodeId, n: usize, cfg: Config, d: RaftDurable, campaign_on_start: bool) -> Self {
        let persisted_index = d.last_index();
        Server {
            id,
            n,
            cfg,
            d,
            state: State::Follower,
            leader: None,
            commit: 0,
            serving: false,
            votes: BTreeMap::new(),
            progress: vec![Progress::default(); n],
            persisted_index,
            write_seq: 0,
            persisted_seq: 0,
            held: VecDeque::new(),
            waiting: BTreeMap::new(),
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            randomized_ticks: 0,
            last_heard: None,
            transferee: None,
            campaign_on_start,
            kr: super::kraft::KraftState::default(),
            dl: super::dledger::DledgerState::default(),
        }
    }

    pub fn durable(&self) -> &RaftDurable {
        &self.d
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn term(&self) -> u64 {
        self.d.term
    }

    pub fn commit(&self) -> u64 {
        self.commit
    }

    pub fn serving(&self) -> bool {
        self.serving
    }

    pub fn log(&self) -> &[Entry] {
        &self.d.log
    }

    pub fn view(&self) -> View {
        if self.cfg.kraft.is_some() {
            return self.kraft_view();
        }
        if self.cfg.dledger.is_some() {
            return self.dledger_view();
        }
        View {
            role: match self.state {
                State::Leader => Role::Leader,
                State::Follower if self.leader.is_some() => Role::Follower,
                _ => Role::Candidate,
            },
            term: self.d.term,
            leader: self.leader,
            serving: match self.state {
                State::Leader => self.serving,
                State::Follower => self.leader.is_some(),
                _ => false,
            },
        }
    }

    pub(super) fn quorum(&self) -> usize {
        self.n / 2 + 1
    }

    pub(super) fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.n as u32)
            .map(NodeId)
            .filter(move |p| *p != self.id)
    }

    // ----- disk -----

    pub(super) fn write(&mut self, ctx: &mut Ctx<'_, RaftNode>, what: WriteKind) {
        self.write_seq += 1;
        let w = RaftWrite {
            seq: self.write_seq,
            what,
        };
        self.d.apply(&w);
        ctx.persist(w);
    }

    pub(super) fn save_hard_state(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let what = WriteKind::HardState {
            term: self.d.term,
            vote: self.d.vote,
        };
        self.write(ctx, what);
    }

    /// Send `msg` once every write made so far is durable (etcd's `Ready`
    /// contract: messages go out after the `HardState` and entries before
    /// them are saved).
    pub(super) fn send_after_disk(&mut self, ctx: &mut Ctx<'_, RaftNode>, to: NodeId, msg: Msg) {
        if self.persisted_seq >= self.write_seq {
            ctx.send(to, msg);
        } else {
            self.held.push_back((self.write_seq, to, msg));
        }
    }

    pub fn on_persisted(&mut self, ctx: &mut Ctx<'_, RaftNode>, w: RaftWrite) {
        self.persisted_seq = self.persisted_seq.max(w.seq);
        if let WriteKind::Entries { after, entries } = &w.what {
            // What the disk now holds, as far as this write is concerned.
            self.persisted_index = (*after + entries.len() as u64).min(self.d.last_index());
        }
        while self
            .held
            .front()
            .is_some_and(|(s, _, _)| *s <= self.persisted_seq)
        {
            let (_, to, msg) = self.held.pop_front().expect("front checked");
            ctx.send(to, msg);
        }
        if self.state == State::Leader {
            self.maybe_commit(ctx);
            if self.cfg.kraft.is_some() {
                // The leader's end offset advanced: answer parked fetches
                // (KafkaRaftClient `updateLeaderEndOffsetAndTimestamp`).
                self.kraft_wake_parked(ctx);
            }
        }
    }

    // ----- timers -----

    fn draw_timeout(&self, ctx: &mut Ctx<'_, RaftNode>) -> SimDuration {
        let (lo, hi) = (
            self.cfg.election_min.0,
            self.cfg.election_max.0.max(self.cfg.election_min.0),
        );
        if self.cfg.whole_ms_timeouts {
            return whole_ms_timeout(rng::unit(ctx.rng()), lo, hi);
        }
        SimDuration(rng::range_inclusive(ctx.rng(), lo, hi))
    }

    /// Restart the election clock with a fresh random timeout.
    fn reset_election(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        match self.cfg.tick {
            Some(t) => {
                self.election_elapsed = 0;
                let et = (self.cfg.election_min.0 / t.0).max(1);
                let max = (self.cfg.election_max.0 / t.0).max(et + 1);
                self.randomized_ticks = rng::range_inclusive(ctx.rng(), et, max - 1);
            }
            None => {
                let d = self.draw_timeout(ctx);
                ctx.set_timer(d, Timer::Election);
            }
        }
    }

    fn heard_from_leader(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.last_heard = Some(ctx.now());
        self.reset_election(ctx);
    }

    /// Within a current leader's lease: check-quorum makes a follower ignore
    /// votes then (etcd `Step`, `inLease`).
    fn in_lease(&self, ctx: &Ctx<'_, RaftNode>) -> bool {
        if !self.cfg.check_quorum || self.leader.is_none() {
            return false;
        }
        match self.cfg.tick {
            Some(t) => self.election_elapsed < self.cfg.election_min.0 / t.0,
            None => self
                .last_heard
                .is_some_and(|h| ctx.now().since(h) < self.cfg.election_min),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if self.cfg.kraft.is_some() {
            return self.kraft_start(ctx);
        }
        if self.cfg.dledger.is_some() {
            return self.dledger_start(ctx);
        }
        if let Some(t) = self.cfg.tick {
            ctx.set_timer(t, Timer::Tick);
        }
        self.reset_election(ctx);
        if self.campaign_on_start {
            self.campaign(ctx, false);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftNode>, timer: Timer) {
        if self.cfg.kraft.is_some() {
            return self.kraft_on_timer(ctx, timer);
        }
        if self.cfg.dledger.is_some() {
            return self.dledger_on_timer(ctx, timer);
        }
        match timer {
            Timer::Tick => {
                let t = self.cfg.tick.expect("ticks only in tick mode");
                ctx.set_timer(t, Timer::Tick);
                self.tick(ctx);
            }
            Timer::Election => self.election_timeout(ctx),
            Timer::Heartbeat => {
                if self.state == State::Leader {
                    self.broadcast_heartbeat(ctx);
                    ctx.set_timer(self.cfg.heartbeat, Timer::Heartbeat);
                }
            }
            Timer::CheckQuorum => {
                if self.state == State::Leader {
                    self.check_quorum(ctx);
                    ctx.set_timer(self.cfg.election_min, Timer::CheckQuorum);
                }
            }
            Timer::ClientOp(_)
            | Timer::FetchTimeout
            | Timer::Request
            | Timer::Retry
            | Timer::Parked(_)
            | Timer::BeginEpoch
            | Timer::ImageLoaded
            | Timer::Dl(_)
            | Timer::RouteRefresh => {}
        }
    }

    /// etcd's `tickElection` / `tickHeartbeat`.
    fn tick(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let t = self.cfg.tick.expect("tick mode").0;
        self.election_elapsed += 1;
        if self.state == State::Leader {
            self.heartbeat_elapsed += 1;
            if self.election_elapsed >= self.cfg.election_min.0 / t {
                self.election_elapsed = 0;
                if self.cfg.check_quorum {
                    self.check_quorum(ctx);
                    if self.state != State::Leader {
                        return;
                    }
                }
                // An unfinished transfer is abandoned after one election timeout.
                self.transferee = None;
            }
            if self.heartbeat_elapsed >= (self.cfg.heartbeat.0 / t).max(1) {
                self.heartbeat_elapsed = 0;
                self.broadcast_heartbeat(ctx);
            }
        } else if self.election_elapsed >= self.randomized_ticks {
            self.election_timeout(ctx);
        }
    }

    fn election_timeout(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if self.state == State::Leader {
            return;
        }
        if self.state == State::Follower {
            ctx.record(Obs::detected(self.leader));
        }
        self.campaign(ctx, false);
    }

    // ----- roles -----

    fn become_follower(&mut self, ctx: &mut Ctx<'_, RaftNode>, term: u64, leader: Option<NodeId>) {
        let was = self.state;
        if was == State::Leader {
            ctx.record(Obs::phase("step-down"));
            for (_, (client, op)) in std::mem::take(&mut self.waiting) {
                refuse(ctx, client, op.id, leader);
            }
            ctx.cancel_timer(&Timer::Heartbeat);
            ctx.cancel_timer(&Timer::CheckQuorum);
        }
        self.state = State::Follower;
        self.serving = false;
        self.transferee = None;
        if term > self.d.term {
            self.d.term = term;
            self.d.vote = None;
            self.save_hard_state(ctx);
        }
        self.leader = leader;
        if self.cfg.reset_on_step_down || was == State::Leader || self.cfg.tick.is_some() {
            self.reset_election(ctx);
        }
    }

    /// etcd's `campaign`: a pre-campaign first when pre-vote is on (unless
    /// `force`d by a leader transfer), else a real one.
    fn campaign(&mut self, ctx: &mut Ctx<'_, RaftNode>, force: bool) {
        self.reset_election(ctx);
        self.leader = None;
        self.votes.clear();
        self.votes.insert(self.id, true);
        let (last_index, last_term) = (self.d.last_index(), self.d.last_term());
        if self.cfg.pre_vote && !force {
            self.state = State::PreCandidate;
            ctx.record(Obs::phase("pre-campaign"));
            if self.quorum() == 1 {
                return self.campaign(ctx, true);
            }
            let term = self.d.term + 1;
            for p in self.peers().collect::<Vec<_>>() {
                ctx.send(
                    p,
                    Msg::Vote {
                        term,
                        pre: true,
                        last_index,
                        last_term,
                        force: false,
                    },
                );
            }
            return;
        }
        self.state = State::Candidate;
        self.d.term += 1;
        self.d.vote = Some(self.id);
        self.save_hard_state(ctx);
        ctx.record(Obs::phase("campaign"));
        ctx.record(Obs::round(self.d.term));
        if self.quorum() == 1 {
            return self.become_leader(ctx);
        }
        let term = self.d.term;
        for p in self.peers().collect::<Vec<_>>() {
            self.send_after_disk(
                ctx,
                p,
                Msg::Vote {
                    term,
                    pre: false,
                    last_index,
                    last_term,
                    force,
                },
            );
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.state = State::Leader;
        self.leader = Some(self.id);
        self.serving = false;
        self.transferee = None;
        let last = self.d.last_index();
        for (i, p) in self.progress.iter_mut().enumerate() {
            *p = Progress {
                next: last + 1,
                matched: 0,
                active: i == self.id.index(),
            };
        }
        ctx.record(Obs::phase("became-leader"));
        ctx.record(Obs::elected(self.id, self.d.term));
        ctx.record(Obs::Note(RaftNote::Elected {
            term: self.d.term,
            leader: self.id,
        }));
        self.heartbeat_elapsed = 0;
        self.election_elapsed = 0;
        if self.cfg.tick.is_none() {
            ctx.cancel_timer(&Timer::Election);
            ctx.set_timer(self.cfg.heartbeat, Timer::Heartbeat);
            if self.cfg.check_quorum {
                ctx.set_timer(self.cfg.election_min, Timer::CheckQuorum);
            }
        }
        if self.cfg.replicate {
            // etcd appends an empty entry of the new term; committing it
            // commits everything before it, and the leader then serves.
            self.append(
                ctx,
                Entry {
                    term: self.d.term,
                    op: None,
                },
            );
        } else {
            self.serving = true;
            ctx.record(Obs::serving(self.id, self.d.term));
            self.broadcast_heartbeat(ctx);
        }
    }

    fn check_quorum(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let me = self.id.index();
        let active = self
            .progress
            .iter()
            .enumerate()
            .filter(|(i, p)| *i == me || p.active)
            .count();
        for (i, p) in self.progress.iter_mut().enumerate() {
            p.active = i == me;
        }
        if active < self.quorum() {
            ctx.record(Obs::detected(None));
            let term = self.d.term;
            self.become_follower(ctx, term, None);
        }
    }

    // ----- replication -----

    pub(super) fn append(&mut self, ctx: &mut Ctx<'_, RaftNode>, e: Entry) -> u64 {
        let after = self.d.last_index();
        self.write(
            ctx,
            WriteKind::Entries {
                after,
                entries: vec![e],
            },
        );
        if self.cfg.kraft.is_some() {
            // Pull replication: followers fetch it (parked fetches are
            // answered once the leader's own disk holds it).
            return after + 1;
        }
        if self.cfg.dledger.is_some() {
            // DLedger's dispatchers push it at their next pass.
            self.dledger_schedule_dispatch(ctx);
            return after + 1;
        }
        for p in self.peers().collect::<Vec<_>>() {
            self.send_append(ctx, p);
        }
        after + 1
    }

    /// Send `to` what it lacks from its `next` index on (optimistically: the
    /// next index moves past what was sent).
    pub(super) fn send_append(&mut self, ctx: &mut Ctx<'_, RaftNode>, to: NodeId) {
        let last = self.d.last_index();
        let pr = &self.progress[to.index()];
        let next = pr.next.clamp(1, last + 1);
        let prev_index = next - 1;
        let end = last.min(prev_index + self.cfg.max_batch as u64);
        let entries = self.d.log[prev_index as usize..end as usize].to_vec();
        let msg = Msg::App {
            term: self.d.term,
            prev_index,
            prev_term: self.d.term_at(prev_index),
            entries,
            commit: self.commit,
        };
        self.progress[to.index()].next = end + 1;
        ctx.send(to, msg);
    }

    fn broadcast_heartbeat(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        for p in self.peers().collect::<Vec<_>>() {
            let commit = self.commit.min(self.progress[p.index()].matched);
            ctx.send(
                p,
                Msg::Heartbeat {
                    term: self.d.term,
                    commit,
                },
            );
        }
    }

    /// §5.3/§5.4.2: the highest index stored on a majority, committed only if
    /// its entry is of the current term.
    pub(super) fn maybe_commit(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let me = self.id.index();
        let m: Vec<u64> = self
            .progress
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == me {
                    self.persisted_index
                } else {
                    p.matched
                }
            })
            .collect();
        let n = quorum_offset(m);
        // DLedger commits the quorum water mark whatever the entry's term
        // (see `super::dledger`); every other flavour follows §5.4.2.
        let any_term = self.cfg.dledger.is_some();
        if n <= self.commit || (!any_term && self.d.term_at(n) != self.d.term) {
            return;
        }
        let from = self.commit + 1;
        self.commit = n;
        ctx.record(Obs::Note(RaftNote::Committed {
            leader: self.id,
            term: self.d.term,
            from,
            entries: self.d.log[from as usize - 1..n as usize].to_vec(),
        }));
        if self.cfg.kraft.is_some() {
            self.kraft_on_commit(ctx);
        } else if self.cfg.dledger.is_some() {
            // The broker turns master by polling (DLedgerRoleChangeHandler).
            // The committed appends' futures leave the pending map, their
            // deadlines with them.
            self.dledger_committed(n);
        } else if !self.serving {
            self.serving = true;
            ctx.record(Obs::serving(self.id, self.d.term));
        }
        let done: Vec<u64> = self.waiting.range(..=n).map(|(i, _)| *i).collect();
        for i in done {
            let (client, op) = self.waiting.remove(&i).expect("listed");
            let term = self.d.term_at(i);
            ctx.send(
                client,
                Msg::ClientResp {
                    op: op.id,
                    ok: true,
                    leader: Some(self.id),
                },
            );
            ctx.record(Obs::Note(RaftNote::Ack {
                index: i,
                term,
                op: op.id,
            }));
        }
    }

    // ----- messages -----

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RaftNode>, from: NodeId, msg: Msg) {
        if let Msg::ClientReq { op } = msg {
            return self.on_client_request(ctx, from, op);
        }
        if self.cfg.kraft.is_some() {
            return self.kraft_on_message(ctx, from, msg);
        }
        if self.cfg.dledger.is_some() {
            return self.dledger_on_message(ctx, from, msg);
        }
        let Some(term) = msg.term() else { return };
        // etcd `Step`: term handling first.
        if term > self.d.term {
            if let Msg::Vote { force, pre, .. } = msg {
                if !force && self.in_lease(ctx) {
                    return; // within a leader's lease: neither term nor vote changes
                }
                if !pre {
                    self.become_follower(ctx, term, None);
                }
            } else if matches!(
                msg,
                Msg::VoteResp {
                    pre: true,
                    granted: true,
                    ..
                }
            ) {
                // A granted pre-vote carries the proposed term: no change.
            } else {
                let leader = matches!(
                    msg,
                    Msg::App { .. } | Msg::Heartbeat { .. } | Msg::TimeoutNow { .. }
                )
                .then_some(from);
                self.become_follower(ctx, term, leader);
            }
        } else if term < self.d.term {
            match msg {
                Msg::App { .. } | Msg::Heartbeat { .. }
                    if self.cfg.check_quorum || self.cfg.pre_vote =>
                {
                    // Tell the stale leader about the newer term.
                    let t = self.d.term;
                    self.send_after_disk(
                        ctx,
                        from,
                        Msg::AppResp {
                            term: t,
                            index: 0,
                            reject: true,
                            hint: 0,
                        },
                    );
                }
                Msg::Vote { pre: true, .. } => {
                    let t = self.d.term;
                    self.send_after_disk(
                        ctx,
                        from,
                        Msg::VoteResp {
                            term: t,
                            pre: true,
                            granted: false,
                        },
                    );
                }
                _ => {}
            }
            return;
        }
        match msg {
            Msg::Vote {
                term,
                pre,
                last_index,
                last_term,
                ..
            } => {
                let can_vote = self.d.vote == Some(from)
                    || (self.d.vote.is_none() && self.leader.is_none())
                    || (pre && term > self.d.term);
                let granted = can_vote && self.d.up_to_date(last_term, last_index);
                if granted && !pre {
                    self.d.vote = Some(from);
                    self.save_hard_state(ctx);
                    self.reset_election(ctx);
                }
                let t = if granted { term } else { self.d.term };
                self.send_after_disk(
                    ctx,
                    from,
                    Msg::VoteResp {
                        term: t,
                        pre,
                        granted,
                    },
                );
            }
            Msg::VoteResp { pre, granted, .. } => self.on_vote_resp(ctx, from, pre, granted),
            Msg::App {
                prev_index,
                prev_term,
                entries,
                commit,
                ..
            } => {
                self.follow(ctx, from);
                self.on_append(ctx, from, prev_index, prev_term, entries, commit);
            }
            Msg::Heartbeat { commit, .. } => {
                self.follow(ctx, from);
                if commit > self.commit {
                    self.commit = commit.min(self.d.last_index());
                }
                let t = self.d.term;
                self.send_after_disk(ctx, from, Msg::HeartbeatResp { term: t });
            }
            Msg::AppResp {
                index,
                reject,
                hint,
                ..
            } => {
                if self.state != State::Leader {
                    return;
                }
                self.progress[from.index()].active = true;
                if reject {
                    let pr = &mut self.progress[from.index()];
                    pr.next = (hint + 1).min(index).max(pr.matched + 1).max(1);
                    self.send_append(ctx, from);
                } else {
                    let pr = &mut self.progress[from.index()];
                    if index > pr.matched {
                        pr.matched = index;
                    }
                    pr.next = pr.next.max(index + 1);
                    self.maybe_commit(ctx);
                    if self.transferee == Some(from)
                        && self.progress[from.index()].matched == self.d.last_index()
                    {
                        let t = self.d.term;
                        ctx.send(from, Msg::TimeoutNow { term: t });
                    }
                }
            }
            Msg::HeartbeatResp { .. } => {
                if self.state != State::Leader {
                    return;
                }
                let pr = &mut self.progress[from.index()];
                pr.active = true;
                if self.cfg.replicate && pr.matched < self.d.last_index() {
                    // A follower behind (restarted, rejoined): probe from its match.
                    pr.next = pr.matched + 1;
                    self.send_append(ctx, from);
                }
            }
            Msg::TimeoutNow { .. } => {
                if self.state != State::Leader {
                    ctx.record(Obs::phase("timeout-now"));
                    self.campaign(ctx, true);
                }
            }
            Msg::ClientReq { .. }
            | Msg::ClientResp { .. }
            | Msg::Fetch { .. }
            | Msg::FetchResp { .. }
            | Msg::BeginEpoch { .. }
            | Msg::EndEpoch { .. }
            | Msg::DlVote { .. }
            | Msg::DlVoteResp { .. }
            | Msg::DlHeartbeatResp { .. }
            | Msg::TakeLeadership { .. }
            | Msg::TakeLeadershipResp { .. }
            | Msg::RouteQuery
            | Msg::RouteResp { .. } => {}
        }
    }

    /// A message from the leader of the current term.
    fn follow(&mut self, ctx: &mut Ctx<'_, RaftNode>, leader: NodeId) {
        if self.state != State::Follower {
            let term = self.d.term;
            self.become_follower(ctx, term, Some(leader));
        }
        self.leader = Some(leader);
        self.heard_from_leader(ctx);
    }

    pub(super) fn on_append(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        commit: u64,
    ) {
        let term = self.d.term;
        if prev_index < self.commit {
            // Already committed here: acknowledge what we hold.
            let c = self.commit;
            return self.send_after_disk(
                ctx,
                from,
                Msg::AppResp {
                    term,
                    index: c,
                    reject: false,
                    hint: 0,
                },
            );
        }
        if prev_index > self.d.last_index() || self.d.term_at(prev_index) != prev_term {
            let hint = self
                .d
                .last_index()
                .min(prev_index.saturating_sub(1))
                .max(self.commit);
            let hint = if prev_index > self.d.last_index() {
                self.d.last_index()
            } else {
                hint
            };
            return self.send_after_disk(
                ctx,
                from,
                Msg::AppResp {
                    term,
                    index: prev_index,
                    reject: true,
                    hint,
                },
            );
        }
        // Skip what matches; cut at the first conflict (§5.3).
        let mut k = 0;
        while k < entries.len() {
            let i = prev_index + 1 + k as u64;
            if i > self.d.last_index() || self.d.term_at(i) != entries[k].term {
                break;
            }
            k += 1;
        }
        let last_new = prev_index + entries.len() as u64;
        if k < entries.len() {
            let after = prev_index + k as u64;
            assert!(after >= self.commit, "a conflict below the commit index");
            self.write(
                ctx,
                WriteKind::Entries {
                    after,
                    entries: entries[k..].to_vec(),
                },
            );
        }
        self.commit = self.commit.max(commit.min(last_new));
        self.send_after_disk(
            ctx,
            from,
            Msg::AppResp {
                term,
                index: last_new,
                reject: false,
                hint: 0,
            },
        );
    }

    fn on_vote_resp(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        pre: bool,
        granted: bool,
    ) {
        let wanted = if pre {
            State::PreCandidate
        } else {
            State::Candidate
        };
        if self.state != wanted {
            return;
        }
        self.votes.insert(from, granted);
        let yes = self.votes.values().filter(|g| **g).count();
        let no = self.votes.len() - yes;
        if yes >= self.quorum() {
            if pre {
                self.campaign(ctx, true);
            } else {
                self.become_leader(ctx);
            }
        } else if no >= self.quorum() {
            // Lost: back to follower, wait for the next timeout.
            let term = self.d.term;
            ctx.record(Obs::Note(RaftNote::Lost { term }));
            self.become_follower(ctx, term, None);
        }
    }

    // ----- clients -----

    fn on_client_request(&mut self, ctx: &mut Ctx<'_, RaftNode>, from: NodeId, op: ClientOp) {
        // A KRaft controller takes writes only once activated, a DLedger
        // broker only once it is master.
        let inactive = (self.cfg.kraft.is_some() || self.cfg.dledger.is_some()) && !self.serving;
        if self.state != State::Leader
            || !self.cfg.replicate
            || self.transferee.is_some()
            || inactive
        {
            let leader = if self.state == State::Leader {
                None
            } else {
                self.leader
            };
            refuse(ctx, from, op.id, leader);
            return;
        }
        let i = self.append(
            ctx,
            Entry {
                term: self.d.term,
                op: Some((from, op.id)),
            },
        );
        self.waiting.insert(i, (from, op));
        if self.cfg.dledger.is_some() {
            self.dledger_wait_ack(ctx, i);
        }
    }

    /// Campaign now, skipping pre-vote (what TimeoutNow does), for unit tests.
    #[cfg(test)]
    pub fn force_campaign_for_test(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.campaign(ctx, true);
    }

    /// Begin a leader transfer to `to` (etcd `MsgTransferLeader`): stop
    /// taking writes, bring `to` up to date, then send it TimeoutNow.
    pub fn transfer_leadership(&mut self, ctx: &mut Ctx<'_, RaftNode>, to: NodeId) {
        if self.state != State::Leader || to == self.id {
            return;
        }
        self.transferee = Some(to);
        ctx.record(Obs::phase("transfer-leader"));
        if self.progress[to.index()].matched == self.d.last_index() {
            let t = self.d.term;
            ctx.send(to, Msg::TimeoutNow { term: t });
        } else {
            self.send_append(ctx, to);
        }
    }
}

/// LogCabin's election timeout draw (`Core::Random::randomRange`:
/// `lround(start + U * (end - start))`) in whole milliseconds, for `u`
/// uniform in `[0, 1)` and bounds `lo..=hi` in nanoseconds.
pub fn whole_ms_timeout(u: f64, lo: u64, hi: u64) -> SimDuration {
    let (lo_ms, hi_ms) = (lo as f64 / 1e6, hi as f64 / 1e6);
    SimDuration::from_ms((lo_ms + u * (hi_ms - lo_ms)).round() as u64)
}

/// Tell `client` its write `op` failed, naming `leader` if one is known.
pub(super) fn refuse(ctx: &mut Ctx<'_, RaftNode>, client: NodeId, op: u64, leader: Option<NodeId>) {
    ctx.send(
        client,
        Msg::ClientResp {
            op,
            ok: false,
            leader,
        },
    );
}

/// The highest log index stored on a majority: the voters' end offsets
/// (the leader's own included) sorted in descending order, the one at index
/// `voters / 2` (etcd `maybeCommit`; KRaft LeaderState.java
/// `maybeUpdateHighWatermark`).
pub fn quorum_offset(mut ends: Vec<u64>) -> u64 {
    ends.sort_unstable_by(|a, b| b.cmp(a));
    ends[ends.len() / 2]
}

/// The naive rule of vote granting, for tests: a voter at `(term, vote,
/// log)` asked by `cand` for `req_term` with its log ending at
/// `(last_term, last_index)`, with no leader known and no lease.
pub fn grants_vote_oracle(
    term: u64,
    vote: Option<NodeId>,
    log_terms: &[u64],
    cand: NodeId,
    req_term: u64,
    last_term: u64,
    last_index: u64,
) -> bool {
    if req_term < term {
        return false;
    }
    let free = req_term > term || vote.is_none() || vote == Some(cand);
    let my_last_term = log_terms.last().copied().unwrap_or(0);
    let my_last_index = log_terms.len() as u64;
    let newer =
        last_term > my_last_term || (last_term == my_last_term && last_index >= my_last_index);
    free && newer
}
