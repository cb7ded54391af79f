//! KRaft's variant of the Raft core: what `kafka/controller-kraft` switches
//! on with [`super::Config::kraft`]. The other flavours never reach this
//! file.
//!
//! Shared with `raft/etcd` and `raft/paper` ([`super::core::Server`]): the
//! durable epoch, vote and log written through the disk model before any
//! message that depends on them (`send_after_disk`); the "log at least as up
//! to date" rule (last epoch, then last offset); the commit rule (the voters'
//! end offsets, the leader's own flushed end included, sorted descending, the
//! one at index `voters / 2`, and only once an entry of the leader's own
//! epoch is covered: the epoch-start record); the client and the checker.
//!
//! KRaft's own (KafkaRaftClient.java, QuorumState.java, LeaderState.java,
//! CandidateState.java, FollowerState.java, ResignedState.java of Kafka
//! 3.7, before KIP-996 pre-vote):
//! * States Unattached, Candidate, Leader, Follower, Resigned. The election
//!   timeout is `T + uniform[0, T)` whole milliseconds
//!   (`randomElectionTimeoutMs`); a Candidate whose timeout runs out, or whom
//!   a majority rejected, backs off `min(100 * k, backoff max)` ms with `k`
//!   uniform in `[0, 2^retries)` (`binaryExponentialElectionBackoffMs`), then
//!   stands again with epoch + 1.
//! * Vote: a higher epoch first moves the receiver to Unattached at that
//!   epoch (forgetting its leader, even a Leader's own leadership; a
//!   Candidate or Unattached voter keeps the rest of its election timeout,
//!   the others draw a new one: `transitionToUnattached`); only an
//!   Unattached voter that has not voted in the epoch (log check) or voted
//!   for this candidate (no log check) grants.
//! * Pull replication: a Follower (voter) or an observer (broker) sends
//!   Fetch(offset, lastFetchedEpoch) one at a time; the leader answers with
//!   records and its high watermark, or a diverging epoch (the follower
//!   truncates as `truncateToEndOffset` does), or parks the fetch up to
//!   `MAX_FETCH_WAIT_MS` = 500 ms; parked fetches are answered when the
//!   leader's flushed end offset passes them
//!   (`updateLeaderEndOffsetAndTimestamp`) and all of them when its high
//!   watermark moves (`onUpdateLeaderHighWatermark` completes the whole fetch
//!   purgatory: the real source, where PROTOCOLS.md §2.4.4 names only the
//!   end offset). Only a successful fetch response resets a follower's fetch
//!   timeout.
//! * The leader appends its epoch-start record at once, sends
//!   BeginQuorumEpoch to the other voters and again every
//!   `fetch.timeout / 2` to those that have not fetched in its epoch, and
//!   resigns when fewer than a majority of voters (itself counted) fetched
//!   within `1.5 x fetch.timeout` (`CHECK_QUORUM_TIMEOUT_FACTOR`). Resigned,
//!   it sends EndQuorumEpoch with the other voters by descending fetch offset;
//!   a follower of it overrides its fetch timeout with
//!   `endEpochElectionBackoff` (position 0: at once; position p:
//!   `min(max, (max >> (n - 1)) << (p - 1))`; not listed: max, as in
//!   Kafka 4.x and PROTOCOLS.md; 3.7's `indexOf` gave 0 there, which matters
//!   only for the empty list a restarted leader sends). A Resigned
//!   node stands as Candidate when its own random election timeout runs out
//!   (`pollResigned` in 3.7; 4.x moves it to Unattached at epoch + 1).
//! * A leader that restarts comes back Resigned in its epoch (QuorumState
//!   `initialize`), so it cannot vote there; a follower comes back following
//!   the leader its `quorum-state` names; anyone else comes back Unattached.
//! * The controller activates (starts serving) once the epoch-start record is
//!   committed and its metadata image is loaded ([`KraftConfig::image_load`]).
//!
//! Simplifications: one Fetch in flight per node; a request timeout or a
//! refused fetch retries after `retry.backoff`; an observer that lost its
//! leader (fetch timeout) asks the voters in turn starting after that
//! leader, where Kafka picks a random ready voter; Vote and BeginQuorumEpoch
//! responses carry no leader id (a voter learns the leader from
//! BeginQuorumEpoch or a fetch response); EndQuorumEpoch is sent once, not
//! retried; a restarted Candidate comes back Unattached having voted for
//! itself (no resend of its vote requests in that epoch); no snapshots
//! (FetchSnapshot), no `append.linger.ms` batching, fixed voter set.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{rng, Ctx, NodeId, Obs, Role, SimDuration, SimTime, View};

use super::core::{refuse, Entry, Server, State, WriteKind};
use super::{Msg, RaftNode, RaftNote, Timer};

/// Base of the binary exponential election backoff (KafkaRaftClient.java
/// `RETRY_BACKOFF_BASE_MS`).
pub const RETRY_BACKOFF_BASE_MS: u64 = 100;
/// Longest a leader parks a fetch with nothing to return (KafkaRaftClient.java
/// `MAX_FETCH_WAIT_MS`).
pub const MAX_FETCH_WAIT_MS: u64 = 500;

/// KRaft's timers (QuorumConfig.java names in the docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct KraftConfig {
    /// `controller.quorum.election.timeout.ms`: the base `T` of the random
    /// election timeout in `[T, 2T)`.
    pub election_timeout_ms: u64,
    /// `controller.quorum.fetch.timeout.ms`.
    pub fetch_timeout: SimDuration,
    /// `controller.quorum.election.backoff.max.ms`.
    pub election_backoff_max_ms: u64,
    /// `controller.quorum.request.timeout.ms`: how long a Fetch may go
    /// unanswered.
    pub request_timeout: SimDuration,
    /// `controller.quorum.retry.backoff.ms`: pause before the next Fetch
    /// after a failed one.
    pub retry_backoff: SimDuration,
    /// How long a leader parks an empty fetch (`MAX_FETCH_WAIT_MS`).
    pub max_fetch_wait: SimDuration,
    /// Time a process needs to load its metadata image when it starts (the
    /// `partitions` parameter times the per-partition cost); the controller
    /// activates no earlier.
    pub image_load: SimDuration,
}

impl KraftConfig {
    /// The check-quorum period: 1.5 x the fetch timeout (LeaderState.java
    /// `CHECK_QUORUM_TIMEOUT_FACTOR`).
    pub fn check_quorum_timeout(&self) -> SimDuration {
        SimDuration(self.fetch_timeout.0 / 2 * 3)
    }
}

/// The leader's answer to a Fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchResult {
    /// Entries from index `prev + 1` on (possibly none), and the high
    /// watermark (commit index).
    Records {
        prev: u64,
        entries: Vec<Entry>,
        hw: u64,
    },
    /// The fetcher's log diverges: the leader's log ends epoch `epoch` (the
    /// largest it holds not above the fetcher's last epoch) at `end`.
    Diverging { epoch: u64, end: u64 },
    /// The responder does not lead the fetcher's epoch (Kafka's
    /// NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH);
    /// the response's `leader` and `epoch` say what it knows.
    NotLeader,
}

/// KRaft's per-process state beside the core's.
#[derive(Clone, Debug, Default)]
pub struct KraftState {
    /// Candidate retries in a row (CandidateState `retries`).
    retries: u32,
    /// A Candidate waiting out its election backoff.
    backing_off: bool,
    /// Leader: voters that fetched since the check-quorum timer was reset.
    fetched: BTreeSet<NodeId>,
    /// Leader: voters that fetched in this epoch (BeginQuorumEpoch acknowledged).
    begun: BTreeSet<NodeId>,
    /// Leader: parked fetches, by fetcher, with the fetch offset.
    parked: BTreeMap<NodeId, u64>,
    /// Where the one outstanding Fetch went.
    inflight: Option<NodeId>,
    /// Observer: its fetch timeout ran out; it asks the voters in turn.
    lost: bool,
    /// Observer: the next voter to ask.
    cursor: u32,
    /// When this process's metadata image is loaded.
    image_ready: Option<SimTime>,
    /// When the election timer (not the backoff) of an Unattached,
    /// Candidate or Resigned voter runs out.
    election_deadline: Option<SimTime>,
}

/// `binaryExponentialElectionBackoffMs`: `100 * k`, `k` uniform in
/// `[0, 2^retries)` (the exponent capped at 20), at most `max_ms`.
pub fn election_backoff_ms(rng: &mut crate::engine::Rng, retries: u32, max_ms: u64) -> u64 {
    assert!(retries >= 1, "a candidate has retried at least once");
    let bound = 2u64 << (retries - 1).min(20);
    let k = rng::index(rng, bound as usize) as u64;
    (RETRY_BACKOFF_BASE_MS * k).min(max_ms)
}

/// `endEpochElectionBackoff`: the fetch-timeout override of a follower at
/// `position` among `successors` preferred successors (`None`: not listed).
pub fn end_epoch_backoff_ms(position: Option<usize>, successors: usize, max_ms: u64) -> u64 {
    match position {
        Some(0) => 0,
        Some(p) if p < successors => {
            let base = max_ms.checked_shr((successors - 1) as u32).unwrap_or(0);
            max_ms.min(base.checked_shl((p - 1) as u32).unwrap_or(u64::MAX))
        }
        _ => max_ms,
    }
}

/// The leader's check of a fetch at `offset` whose entry there has epoch
/// `last_epoch` (`validateOffsetAndEpoch`): `None` when the fetcher's log
/// matches, else `(epoch, end)`: the largest epoch not above `last_epoch`
/// in `log` and the offset where it ends.
pub fn divergence(log: &[Entry], offset: u64, last_epoch: u64) -> Option<(u64, u64)> {
    if offset == 0 {
        return None;
    }
    let (epoch, end) = end_of_epoch(log, last_epoch);
    (epoch != last_epoch || end < offset).then_some((epoch, end))
}

/// The largest epoch not above `epoch` in `log`, and how many entries carry
/// it or a smaller one (epochs never decrease along a log).
fn end_of_epoch(log: &[Entry], epoch: u64) -> (u64, u64) {
    let end = log.partition_point(|e| e.term <= epoch);
    let found = if end == 0 { 0 } else { log[end - 1].term };
    (found, end as u64)
}

/// Where a follower cuts its log on a diverging answer `(epoch, end)`
/// (KafkaMetadataLog `truncateToEndOffset`): its own end of that epoch, no
/// further than `end` when it holds that very epoch.
pub fn truncation_point(log: &[Entry], epoch: u64, end: u64) -> u64 {
    let (mine, my_end) = end_of_epoch(log, epoch);
    if mine == epoch {
        my_end.min(end)
    } else {
        my_end
    }
}

impl Server {
    fn kcfg(&self) -> KraftConfig {
        self.cfg
            .kraft
            .expect("KRaft code runs only in the KRaft flavour")
    }

    /// A broker: fetches, never votes.
    pub fn is_observer(&self) -> bool {
        self.id.index() >= self.n
    }

    fn random_election_timeout(&self, ctx: &mut Ctx<'_, RaftNode>) -> SimDuration {
        let t = self.kcfg().election_timeout_ms;
        SimDuration::from_ms(t + rng::index(ctx.rng(), t.max(1) as usize) as u64)
    }

    /// Arm the election timer for `d`, remembering its deadline.
    fn set_election_timer(&mut self, ctx: &mut Ctx<'_, RaftNode>, d: SimDuration) {
        self.kr.election_deadline = Some(ctx.now() + d);
        ctx.set_timer(d, Timer::Election);
    }

    /// Arm the election timer with a fresh random timeout.
    fn reset_election_timer(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let d = self.random_election_timeout(ctx);
        self.set_election_timer(ctx, d);
    }

    fn save_quorum_state(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let what = WriteKind::QuorumState {
            term: self.d.term,
            vote: self.d.vote,
            leader: self.d.leader,
        };
        self.write(ctx, what);
    }

    pub(super) fn kraft_view(&self) -> View {
        let role = if self.is_observer() {
            Role::Client
        } else {
            match self.state {
                State::Leader => Role::Leader,
                State::Follower => Role::Follower,
                _ => Role::Candidate,
            }
        };
        let leader = match self.state {
            State::Leader => Some(self.id),
            State::Follower => self.leader,
            _ => None,
        };
        View {
            role,
            term: self.d.term,
            leader,
            serving: match self.state {
                State::Leader => self.serving,
                State::Follower => true,
                _ => false,
            },
        }
    }

    pub(super) fn kraft_start(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let k = self.kcfg();
        self.kr.image_ready = Some(ctx.now() + k.image_load);
        self.kr.cursor = self.id.0 % self.n as u32;
        match self.d.leader {
            Some(l) if l == self.id && !self.is_observer() => {
                // QuorumState `initialize`: a leader that restarts resigns
                // its epoch, with no preferred successors.
                self.state = State::Resigned;
                self.leader = None;
                ctx.record(Obs::phase("resigned"));
                self.reset_election_timer(ctx);
                let epoch = self.d.term;
                for p in self.peers().collect::<Vec<_>>() {
                    ctx.send(
                        p,
                        Msg::EndEpoch {
                            epoch,
                            successors: Vec::new(),
                        },
                    );
                }
            }
            Some(l) => {
                let epoch = self.d.term;
                self.transition_to_follower(ctx, epoch, l);
            }
            None => {
                self.state = State::Unattached;
                self.leader = None;
                if self.is_observer() {
                    self.fetch_any_voter(ctx);
                } else {
                    self.reset_election_timer(ctx);
                }
            }
        }
    }

    // ----- transitions -----

    /// Leave the current state: a leader fails its waiting writes and drops
    /// its parked fetches; every timer of the old state goes.
    fn leave(&mut self, ctx: &mut Ctx<'_, RaftNode>, next: State) {
        if self.state == State::Leader && next != State::Leader {
            for (_, (client, op)) in std::mem::take(&mut self.waiting) {
                refuse(ctx, client, op.id, None);
            }
            self.kr.parked.clear();
        }
        ctx.cancel_all_timers();
        self.kr.election_deadline = None;
        self.serving = false;
        self.kr.inflight = None;
        self.kr.backing_off = false;
        self.kr.lost = false;
        self.state = next;
    }

    /// QuorumState `transitionToUnattached`: a Candidate or Unattached
    /// voter keeps what remains of its election timeout (so a stream of
    /// higher-epoch Vote requests cannot hold it off forever); a Follower,
    /// Leader or Resigned voter draws a fresh one.
    fn transition_to_unattached(&mut self, ctx: &mut Ctx<'_, RaftNode>, epoch: u64) {
        let remaining = match (self.state, self.kr.election_deadline) {
            (State::Candidate | State::Unattached, Some(at)) if at > ctx.now() => {
                Some(at.since(ctx.now()))
            }
            (State::Candidate | State::Unattached, _) => Some(SimDuration::ZERO),
            _ => None,
        };
        self.leave(ctx, State::Unattached);
        if epoch > self.d.term {
            self.d.term = epoch;
            self.d.vote = None;
        }
        self.leader = None;
        self.d.leader = None;
        self.save_quorum_state(ctx);
        ctx.record(Obs::phase("unattached"));
        if self.is_observer() {
            ctx.set_timer(self.kcfg().retry_backoff, Timer::Retry);
        } else if let Some(d) = remaining {
            self.set_election_timer(ctx, d);
        } else {
            self.reset_election_timer(ctx);
        }
    }

    fn transition_to_follower(&mut self, ctx: &mut Ctx<'_, RaftNode>, epoch: u64, leader: NodeId) {
        let changed = epoch != self.d.term || self.d.leader != Some(leader);
        self.leave(ctx, State::Follower);
        if epoch > self.d.term {
            self.d.term = epoch;
            self.d.vote = None;
        }
        self.leader = Some(leader);
        self.d.leader = Some(leader);
        if changed {
            self.save_quorum_state(ctx);
        }
        ctx.record(Obs::phase("follower"));
        ctx.set_timer(self.kcfg().fetch_timeout, Timer::FetchTimeout);
        self.send_fetch(ctx, leader);
    }

    fn transition_to_candidate(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let retries = if self.state == State::Candidate {
            self.kr.retries + 1
        } else {
            1
        };
        self.leave(ctx, State::Candidate);
        self.kr.retries = retries;
        self.d.term += 1;
        self.d.vote = Some(self.id);
        self.leader = None;
        self.d.leader = None;
        self.save_quorum_state(ctx);
        ctx.record(Obs::phase("candidate"));
        ctx.record(Obs::round(self.d.term));
        self.votes.clear();
        self.votes.insert(self.id, true);
        self.reset_election_timer(ctx);
        if self.quorum() == 1 {
            return self.transition_to_leader(ctx);
        }
        let (term, last_index, last_term) = (self.d.term, self.d.last_index(), self.d.last_term());
        for p in self.peers().collect::<Vec<_>>() {
            self.send_after_disk(
                ctx,
                p,
                Msg::Vote {
                    term,
                    pre: false,
                    last_index,
                    last_term,
                    force: false,
                },
            );
        }
    }

    fn transition_to_leader(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.leave(ctx, State::Leader);
        self.leader = Some(self.id);
        self.d.leader = Some(self.id);
        self.save_quorum_state(ctx);
        let last = self.d.last_index();
        for p in self.progress.iter_mut() {
            p.next = last + 1;
            p.matched = 0;
        }
        self.kr.fetched.clear();
        self.kr.begun.clear();
        ctx.record(Obs::phase("leader"));
        ctx.record(Obs::elected(self.id, self.d.term));
        ctx.record(Obs::Note(RaftNote::Elected {
            term: self.d.term,
            leader: self.id,
        }));
        // The start-of-epoch control record (LeaderChangeMessage): the high
        // watermark cannot pass the epoch start until it is committed.
        let term = self.d.term;
        self.append(ctx, Entry { term, op: None });
        let k = self.kcfg();
        if self.quorum() > 1 {
            ctx.set_timer(k.check_quorum_timeout(), Timer::CheckQuorum);
        }
        self.begin_epoch(ctx);
    }

    /// BeginQuorumEpoch to every voter that has not fetched in this epoch,
    /// and again in `fetch.timeout / 2`.
    fn begin_epoch(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let epoch = self.d.term;
        let todo: Vec<NodeId> = self
            .peers()
            .filter(|p| !self.kr.begun.contains(p))
            .collect();
        for p in todo {
            self.send_after_disk(ctx, p, Msg::BeginEpoch { epoch });
        }
        ctx.set_timer(
            SimDuration(self.kcfg().fetch_timeout.0 / 2),
            Timer::BeginEpoch,
        );
    }

    fn transition_to_resigned(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        // nonLeaderVotersByDescendingFetchOffset (ties by id).
        let mut successors: Vec<NodeId> = self.peers().collect();
        successors.sort_by_key(|p| (std::cmp::Reverse(self.progress[p.index()].matched), *p));
        self.leave(ctx, State::Resigned);
        self.leader = None;
        ctx.record(Obs::detected(None));
        ctx.record(Obs::phase("resigned"));
        self.reset_election_timer(ctx);
        let epoch = self.d.term;
        for p in self.peers().collect::<Vec<_>>() {
            ctx.send(
                p,
                Msg::EndEpoch {
                    epoch,
                    successors: successors.clone(),
                },
            );
        }
    }

    fn start_backoff(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.kr.backing_off = true;
        let max = self.kcfg().election_backoff_max_ms;
        let ms = election_backoff_ms(ctx.rng(), self.kr.retries, max);
        ctx.set_timer(SimDuration::from_ms(ms), Timer::Election);
    }

    // ----- timers -----

    pub(super) fn kraft_on_timer(&mut self, ctx: &mut Ctx<'_, RaftNode>, timer: Timer) {
        let k = self.kcfg();
        match timer {
            Timer::Election => match self.state {
                State::Unattached | State::Resigned if !self.is_observer() => {
                    self.transition_to_candidate(ctx)
                }
                State::Candidate if self.kr.backing_off => self.transition_to_candidate(ctx),
                State::Candidate => self.start_backoff(ctx),
                _ => {}
            },
            Timer::FetchTimeout if self.state == State::Follower => {
                if self.is_observer() {
                    // pollFollowerAsObserver: ask any voter.
                    ctx.cancel_timer(&Timer::Request);
                    ctx.cancel_timer(&Timer::Retry);
                    if !self.kr.lost {
                        self.kr.lost = true;
                        if let Some(l) = self.leader {
                            self.kr.cursor = (l.0 + 1) % self.n as u32;
                        }
                    }
                    self.kr.inflight = None;
                    self.fetch_any_voter(ctx);
                    ctx.set_timer(k.fetch_timeout, Timer::FetchTimeout);
                } else {
                    ctx.record(Obs::detected(self.leader));
                    self.transition_to_candidate(ctx);
                }
            }
            Timer::Request => {
                self.kr.inflight = None;
                ctx.set_timer(k.retry_backoff, Timer::Retry);
            }
            Timer::Retry => self.fetch_next(ctx),
            Timer::Parked(p) if self.state == State::Leader => {
                if let Some(off) = self.kr.parked.remove(&p) {
                    self.answer_fetch(ctx, p, off);
                }
            }
            Timer::CheckQuorum if self.state == State::Leader => self.transition_to_resigned(ctx),
            Timer::BeginEpoch if self.state == State::Leader => self.begin_epoch(ctx),
            Timer::ImageLoaded if self.state == State::Leader => self.maybe_activate(ctx),
            _ => {}
        }
    }

    // ----- fetching -----

    fn fetch_next(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if self.kr.inflight.is_some() {
            return;
        }
        match (self.state, self.leader) {
            (State::Follower, Some(l)) if !self.kr.lost => self.send_fetch(ctx, l),
            (State::Follower | State::Unattached, _) if self.is_observer() => {
                self.fetch_any_voter(ctx)
            }
            _ => {}
        }
    }

    fn fetch_any_voter(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let to = NodeId(self.kr.cursor % self.n as u32);
        self.kr.cursor = (self.kr.cursor + 1) % self.n as u32;
        self.send_fetch(ctx, to);
    }

    fn send_fetch(&mut self, ctx: &mut Ctx<'_, RaftNode>, to: NodeId) {
        self.kr.inflight = Some(to);
        ctx.set_timer(self.kcfg().request_timeout, Timer::Request);
        let msg = Msg::Fetch {
            epoch: self.d.term,
            offset: self.d.last_index(),
            last_epoch: self.d.last_term(),
        };
        // The fetch offset reports what this node's disk holds.
        self.send_after_disk(ctx, to, msg);
    }

    /// Leader: records after `offset` (up to `max_batch`) and the high watermark.
    fn answer_fetch(&mut self, ctx: &mut Ctx<'_, RaftNode>, to: NodeId, offset: u64) {
        ctx.cancel_timer(&Timer::Parked(to));
        let last = self.d.last_index();
        let offset = offset.min(last);
        let end = last.min(offset + self.cfg.max_batch as u64);
        let entries = self.d.log[offset as usize..end as usize].to_vec();
        ctx.send(
            to,
            Msg::FetchResp {
                epoch: self.d.term,
                leader: Some(self.id),
                result: FetchResult::Records {
                    prev: offset,
                    entries,
                    hw: self.commit,
                },
            },
        );
    }

    /// Leader: the flushed end offset moved; answer parked fetches it passes.
    pub(super) fn kraft_wake_parked(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let end = self.persisted_index;
        let ready: Vec<(NodeId, u64)> = self
            .kr
            .parked
            .iter()
            .filter(|(_, off)| **off < end)
            .map(|(p, off)| (*p, *off))
            .collect();
        for (p, off) in ready {
            self.kr.parked.remove(&p);
            self.answer_fetch(ctx, p, off);
        }
    }

    /// Leader: the high watermark moved (called from the shared commit rule).
    pub(super) fn kraft_on_commit(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        for (p, off) in std::mem::take(&mut self.kr.parked) {
            self.answer_fetch(ctx, p, off);
        }
        self.maybe_activate(ctx);
    }

    /// The controller activates once its epoch record is committed and its
    /// metadata image is loaded.
    fn maybe_activate(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if self.serving || self.d.term_at(self.commit) != self.d.term {
            return;
        }
        let ready = self.kr.image_ready.unwrap_or(SimTime::ZERO);
        if ctx.now() < ready {
            ctx.set_timer(ready.since(ctx.now()), Timer::ImageLoaded);
            return;
        }
        self.serving = true;
        ctx.record(Obs::serving(self.id, self.d.term));
        ctx.record(Obs::phase("activated"));
    }

    // ----- messages -----

    pub(super) fn kraft_on_message(&mut self, ctx: &mut Ctx<'_, RaftNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Vote {
                term,
                last_index,
                last_term,
                ..
            } => self.on_vote_request(ctx, from, term, last_index, last_term),
            Msg::VoteResp { term, granted, .. } => self.on_vote_response(ctx, from, term, granted),
            Msg::Fetch {
                epoch,
                offset,
                last_epoch,
            } => self.on_fetch(ctx, from, epoch, offset, last_epoch),
            Msg::FetchResp {
                epoch,
                leader,
                result,
            } => self.on_fetch_response(ctx, from, epoch, leader, result),
            Msg::BeginEpoch { epoch } => {
                if self.is_observer() || epoch < self.d.term {
                    return;
                }
                if epoch > self.d.term || self.state != State::Follower || self.leader != Some(from)
                {
                    self.transition_to_follower(ctx, epoch, from);
                }
            }
            Msg::EndEpoch { epoch, successors } => {
                if self.is_observer() || epoch < self.d.term {
                    return;
                }
                if epoch > self.d.term || matches!(self.state, State::Unattached | State::Candidate)
                {
                    self.transition_to_follower(ctx, epoch, from);
                }
                if self.state == State::Follower && self.leader == Some(from) {
                    let pos = successors.iter().position(|p| *p == self.id);
                    let max = self.kcfg().election_backoff_max_ms;
                    let ms = end_epoch_backoff_ms(pos, successors.len(), max);
                    ctx.set_timer(SimDuration::from_ms(ms), Timer::FetchTimeout);
                }
            }
            _ => {}
        }
    }

    fn on_vote_request(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        epoch: u64,
        last_index: u64,
        last_term: u64,
    ) {
        if self.is_observer() {
            return;
        }
        if epoch > self.d.term {
            self.transition_to_unattached(ctx, epoch);
        }
        let granted = epoch == self.d.term
            && self.state == State::Unattached
            && match self.d.vote {
                None => self.d.up_to_date(last_term, last_index),
                Some(v) => v == from,
            };
        if granted && self.d.vote.is_none() {
            self.d.vote = Some(from);
            self.save_quorum_state(ctx);
            self.reset_election_timer(ctx);
        }
        let term = self.d.term;
        self.send_after_disk(
            ctx,
            from,
            Msg::VoteResp {
                term,
                pre: false,
                granted,
            },
        );
    }

    fn on_vote_response(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        epoch: u64,
        granted: bool,
    ) {
        if epoch > self.d.term {
            return self.transition_to_unattached(ctx, epoch);
        }
        if epoch < self.d.term || self.state != State::Candidate {
            return;
        }
        self.votes.insert(from, granted);
        let yes = self.votes.values().filter(|g| **g).count();
        let no = self.votes.len() - yes;
        if yes >= self.quorum() {
            self.transition_to_leader(ctx);
        } else if no > self.n - self.quorum() && !self.kr.backing_off {
            // CandidateState `isVoteRejected`: a majority is out of reach.
            let term = self.d.term;
            ctx.record(Obs::Note(RaftNote::Lost { term }));
            self.start_backoff(ctx);
        }
    }

    fn on_fetch(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        epoch: u64,
        offset: u64,
        last_epoch: u64,
    ) {
        if self.state != State::Leader || epoch != self.d.term {
            let leader = match self.state {
                State::Leader => Some(self.id),
                State::Follower => self.leader,
                _ => None,
            };
            ctx.send(
                from,
                Msg::FetchResp {
                    epoch: self.d.term,
                    leader,
                    result: FetchResult::NotLeader,
                },
            );
            return;
        }
        if from.index() < self.n {
            self.kr.begun.insert(from);
            self.kr.fetched.insert(from);
            if self.kr.fetched.len() + 1 >= self.quorum() {
                // LeaderState `updateCheckQuorumForFollowingVoter`.
                self.kr.fetched.clear();
                ctx.set_timer(self.kcfg().check_quorum_timeout(), Timer::CheckQuorum);
            }
        }
        if let Some((e, end)) = divergence(&self.d.log, offset, last_epoch) {
            ctx.send(
                from,
                Msg::FetchResp {
                    epoch: self.d.term,
                    leader: Some(self.id),
                    result: FetchResult::Diverging { epoch: e, end },
                },
            );
            return;
        }
        if from.index() < self.n {
            self.progress[from.index()].matched = offset;
            self.maybe_commit(ctx);
        }
        if self.d.last_index() > offset {
            self.answer_fetch(ctx, from, offset);
        } else {
            self.kr.parked.insert(from, offset);
            ctx.set_timer(self.kcfg().max_fetch_wait, Timer::Parked(from));
        }
    }

    fn on_fetch_response(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        epoch: u64,
        leader: Option<NodeId>,
        result: FetchResult,
    ) {
        if self.kr.inflight != Some(from) {
            return; // an abandoned request
        }
        self.kr.inflight = None;
        ctx.cancel_timer(&Timer::Request);
        let k = self.kcfg();
        // maybeHandleCommonResponse: learn a newer epoch or a leader.
        if epoch > self.d.term {
            match leader {
                Some(l) if l != self.id => self.transition_to_follower(ctx, epoch, l),
                _ => self.transition_to_unattached(ctx, epoch),
            }
            return;
        }
        if epoch == self.d.term {
            if let Some(l) = leader {
                let knows = self.state == State::Follower && self.leader == Some(l);
                let can_follow = matches!(self.state, State::Unattached | State::Follower);
                if !knows && can_follow && l != self.id {
                    return self.transition_to_follower(ctx, epoch, l);
                }
            }
        }
        let following =
            epoch == self.d.term && self.state == State::Follower && self.leader == Some(from);
        match result {
            FetchResult::Records { prev, entries, hw } if following => {
                self.fetched_ok(ctx);
                if prev == self.d.last_index() && !entries.is_empty() {
                    self.write(
                        ctx,
                        WriteKind::Entries {
                            after: prev,
                            entries,
                        },
                    );
                }
                self.commit = self.commit.max(hw.min(self.d.last_index()));
                self.send_fetch(ctx, from);
            }
            FetchResult::Diverging { epoch: e, end } if following => {
                self.fetched_ok(ctx);
                let cut = truncation_point(&self.d.log, e, end);
                assert!(cut >= self.commit, "a divergence below the high watermark");
                if cut < self.d.last_index() {
                    self.write(
                        ctx,
                        WriteKind::Entries {
                            after: cut,
                            entries: Vec::new(),
                        },
                    );
                }
                self.send_fetch(ctx, from);
            }
            _ => ctx.set_timer(k.retry_backoff, Timer::Retry),
        }
    }

    /// A successful fetch response from the leader: liveness.
    fn fetched_ok(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.kr.lost = false;
        ctx.set_timer(self.kcfg().fetch_timeout, Timer::FetchTimeout);
    }
}
