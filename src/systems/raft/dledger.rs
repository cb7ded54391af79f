//! DLedger's variant of the Raft core: what `rocketmq/dledger` switches on
//! with [`super::Config::dledger`]. The other flavours never reach this file.
//!
//! Shared with `raft/etcd` ([`super::core::Server`]): the durable term, vote
//! and log written through the disk model before any answer that depends
//! on them; the log append and the push of entries with the consistency
//! check on `(prevIndex, prevTerm)` and truncation at the first conflict
//! (`on_append`, standing in for DLedgerEntryPusher's APPEND / COMPARE /
//! TRUNCATE); the quorum water mark (the peers' water marks, the leader's own
//! flushed end included, sorted descending, the one at index `size / 2`:
//! `QuorumAckChecker`); the client and the checker.
//!
//! DLedger's own, from openmessaging/dledger (master, d054548; RocketMQ pins
//! 0.3.1.2, whose timers are the same) `DLedgerLeaderElector.java`,
//! `MemberState.java`, `DLedgerServer.java`, `DLedgerEntryPusher.java`, and
//! apache/rocketmq `DLedgerRoleChangeHandler.java`:
//! * **Maintenance loop** (`StateMaintainer.doWork`): `maintainState`, then
//!   sleep 10 ms. A node starts as a candidate (`MemberState.role`) with the
//!   last parse result WAIT_TO_REVOTE and no vote time set, so it votes at
//!   once in its current term. The loop blocks while a vote round or a
//!   heartbeat round waits for answers; handlers of incoming requests run
//!   meanwhile.
//! * **Follower** (`maintainAsFollower`): becomes a candidate in its current
//!   term (`changeRoleToCandidate`, no term bump) on the first loop pass at
//!   which more than `maxHeartBeatLeak x heartBeatTimeIntervalMs` (6000 ms)
//!   have passed since the last heartbeat of its leader.
//! * **Candidate** (`maintainAsCandidate`): when `now >=
//!   nextTimeToRequestVote` or `needIncreaseTermImmediately`: bump the term
//!   (`MemberState.nextTerm`: to `knownMaxTermInGroup` if larger, else + 1;
//!   vote cleared) if the last result was WAIT_TO_VOTE_NEXT or a bump is
//!   flagged; when flagged, only the bump happens and the vote is scheduled
//!   `getNextTimeToRequestVote` later: `minVoteIntervalMs +
//!   nextInt(maxVoteIntervalMs - minVoteIntervalMs)` (300..999 ms), or
//!   `minTakeLeadershipVoteIntervalMs + nextInt(..)` (30..99 ms) for a
//!   preferred node taking leadership. A vote round asks every member, itself
//!   included (`handleVote(self = true)`), and waits until someone reports a
//!   leader, a quorum accepted, accepted + not-ready reach a quorum, everyone
//!   answered, or `2000 + nextInt(maxVoteIntervalMs)` ms passed.
//! * **Vote results** (`handleVote`) in the source's order: ledger older
//!   (REJECT_EXPIRED_LEDGER_TERM, REJECT_SMALL_LEDGER_END_INDEX); request term
//!   lower (REJECT_EXPIRED_VOTE_TERM); higher (`changeRoleToCandidate(term)`,
//!   bump flagged, REJECT_TERM_NOT_READY); same term and voted for another
//!   (REJECT_ALREADY_HAS_LEADER when a leader is known, else
//!   REJECT_ALREADY_VOTED); request term below my ledger end term
//!   (REJECT_TERM_SMALL_THAN_LEDGER); a preferred node taking leadership
//!   refuses an equal ledger (REJECT_TAKING_LEADERSHIP); else ACCEPT, the vote
//!   written to disk first.
//! * **Parse** (`maintainAsCandidate`), first match wins: a larger term
//!   reported -> WAIT_TO_VOTE_NEXT, candidate at that term, next vote
//!   300..999 ms later; someone has a leader -> WAIT_TO_REVOTE, 6300..6999
//!   ms; fewer than a quorum answered -> WAIT_TO_REVOTE, 300..999 ms;
//!   fewer than a quorum answered without a bigger ledger -> WAIT_TO_REVOTE,
//!   300..999 + 1000 ms; a quorum accepted -> leader; accepted + not-ready a
//!   quorum -> REVOTE_IMMEDIATELY (same term, next pass); else
//!   WAIT_TO_VOTE_NEXT, 300..999 ms.
//! * **Leader** (`maintainAsLeader`, `sendHeartbeats`): a heartbeat round when
//!   more than `heartBeatTimeIntervalMs` passed since the last one began (at
//!   once after election); it waits for a success quorum, success + not-ready
//!   quorum, or every answer, at most 1990 ms, then sleeps 10 ms and parses:
//!   a larger term -> candidate at it; a success quorum -> remember the time;
//!   else success + not-ready a quorum -> resend at once; else an
//!   inconsistent leader, or more than 6000 ms since the last success quorum
//!   (of any leadership of this process: `lastSuccHeartBeatTime` is never
//!   reset) -> candidate in the same term. This is dledger master's order;
//!   0.3.1.2 looks at the larger term only in a round without a success
//!   quorum (PROTOCOLS.md §5.3.2).
//! * **Heartbeat receiver** (`handleHeartBeat`): lower term -> EXPIRED_TERM;
//!   same term and same leader -> refresh; same term, no leader known ->
//!   follower; same term, another leader -> INCONSISTENT_LEADER; higher term
//!   -> candidate at that term, bump flagged, TERM_NOT_READY. Only heartbeats
//!   refresh a follower's leader timer (pushes do not).
//! * **Pushes** (`DLedgerServer.handlePush`): a member accepts entries only
//!   from the leader it knows in its current term, so a new leader's entries
//!   wait for its first heartbeat.
//! * **Commit**: the quorum water mark, whatever the entry's term:
//!   `QuorumAckChecker` passes the leader's current term, not the entry's, to
//!   `MemberState.leaderUpdateCommittedIndex` (dledger master; 0.3.1.2's
//!   `updateCommittedIndex` does the same). PROTOCOLS.md says ≥ 0.4.0
//!   commits only current-term entries; the source read does not. Water marks
//!   are per term: a new leader knows none until a member answers a push.
//!   An append fails after `maxWaitAckTimeMs` without quorum.
//! * **Append futures** (`DLedgerEntryPusher`): `waitAck` keeps one future
//!   per append in `pendingAppendResponsesByTerm`; `QuorumAckChecker`
//!   commits the quorum index, completes the futures up to it and removes
//!   them, and fails those older than `maxWaitAckTimeMs` from a pass that
//!   acknowledged nothing (`checkResponseFuturesTimeout`). The model drops
//!   a committed append's deadline at the commit (`Server::dledger_committed`)
//!   and keeps the others in log order with one timer at the oldest
//!   ([`DlTimer::AckTimeout`]), not a timer per append.
//! * **Entry dispatchers** (`EntryDispatcher.doWork`, one thread per
//!   peer): a pass pushes every entry the peer lacks without waiting for
//!   answers (`doAppend`; one entry per request by default,
//!   `isEnableBatchPush = false`, at most `maxPendingSize` 1000 in flight),
//!   then `waitForRunning(1)`: a 1 ms sleep that only `wakeup()` cuts short,
//!   and no append calls it (`wakeUpDispatchers()` exists, but its one call,
//!   in `waitAck`, went with the batch-push commit 71d2153, January 2020:
//!   0.3.1.2 and master alike). So a new entry leaves the leader at the
//!   next pass, up to 1 ms later ([`DISPATCH_MS`], `Server::dispatch`), and
//!   a closed loop at zero latency commits at most about its writes in
//!   flight per millisecond. Commit is event-driven: 0.3.1.2's
//!   `doAppendInner` wakes `QuorumAckChecker` on each successful push
//!   answer (`quorumAckChecker.wakeup()`), as the model commits on each
//!   answer. Master (0.4.0 on) no longer wakes it: it re-checks 1 ms after
//!   a pass that did not advance the commit index, a further 0-1 ms the
//!   model, following 0.3.1.2, does not add.
//! * **Preferred leader** (`DLedgerServer.checkPreferredLeader`, every
//!   1000 ms from start): a leader that is not preferred, with no transfer
//!   under way, transfers to the preferred member that answered its last
//!   heartbeat round and is less than `maxLeadershipTransferWaitIndex` entries
//!   behind (`handleLeadershipTransfer`): it records the transferee (and
//!   refuses appends, LEADER_TRANSFERRING) and asks it to take leadership. The
//!   transferee (`DLedgerServer.handleLeadershipTransfer`) waits, polling
//!   every 10 ms, up to `leadershipTransferWaitTimeout` for its ledger to
//!   reach the leader's end, then (`handleTakeLeadership`) sets
//!   `termToTakeLeadership = term + 1`, becomes a candidate at it with a bump
//!   flagged, and answers SUCCESS once it leads that term
//!   (`TakeLeadershipTask.check`), failure otherwise.
//! * **Broker** (`DLedgerRoleChangeHandler.handle`): on LEADER, poll every
//!   100 ms until the ledger end equals the committed index (or the ledger is
//!   empty), then `changeToMaster`: only then are writes taken; on FOLLOWER
//!   or CANDIDATE `changeToSlave`.
//!
//! Simplifications: the broker's dispatch lag (`dispatchBehindBytes`) is
//! not modelled (dispatch is instant); a follower ignores a push from a
//! leader it does not know (DLedger answers INCONSISTENT_LEADER and the
//! dispatcher retries after `maxPushTimeOutMs`): the leader re-sends from the
//! follower's water mark (from its end, when it has none in this term) on
//! each successful heartbeat answer of a member behind; a member is marked
//! offline (`peersLiveTable`) when it did not answer a heartbeat round by the
//! parse, where DLedger waits for the RPC to fail; pending appends of a
//! leader that steps down fail at once; the old leader's transfer request
//! is answered only by the transferee's outcome (no RPC timeout), so a
//! transferee that dies mid-transfer leaves the leader refusing writes
//! (LEADER_TRANSFERRING) until it loses leadership; the leader learns a
//! follower's water mark only from push answers, which it re-sends on
//! heartbeat answers rather than from DLedger's per-peer dispatcher thread;
//! the dispatchers of one leader pass together, every 1 ms from its
//! election (each real thread has its own phase), and a pass's entries to
//! one peer go in messages of up to 64 (`Config::max_batch`; DLedger sends
//! one request per entry); compare/truncate pushes and the answers to a
//! rejected push go at once, not at the next pass;
//! no snapshots, batch appends or membership changes; no
//! `maxPendingRequestsNum` (10000 pending appends; the leader then refuses
//! with LEADER_PENDING_FULL).

use std::collections::{BTreeSet, VecDeque};

use crate::engine::{rng, Ctx, NodeId, Obs, Role, SimDuration, SimTime, View};

use super::core::{refuse, Server, State};
use super::{Msg, RaftNode, RaftNote, Timer};

/// The maintenance loop's sleep (`StateMaintainer.doWork`: `sleep(10)`).
pub const MAINTAIN_MS: u64 = 10;
/// How long a leader's heartbeat round sleeps after its latch
/// (`sendHeartbeats`: `voteResultWaitTime`).
pub const BEAT_SLEEP_MS: u64 = 10;
/// The preferred-leader check period (`DLedgerServer.startup`:
/// `scheduleAtFixedRate(checkPreferredLeader, 1000, 1000)`).
pub const PREFERRED_CHECK_MS: u64 = 1000;
/// The broker's poll for its ledger to be committed before it turns master
/// (`DLedgerRoleChangeHandler`: `Thread.sleep(100)`).
pub const MASTER_CHECK_MS: u64 = 100;
/// An `EntryDispatcher`'s sleep between passes (`doWork`:
/// `waitForRunning(1)`, which no append cuts short).
pub const DISPATCH_MS: u64 = 1;

/// DLedger's timers (DLedgerConfig.java names in the docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DledgerConfig {
    /// `heartBeatTimeIntervalMs`.
    pub heartbeat_interval_ms: u64,
    /// `maxHeartBeatLeak`.
    pub max_heartbeat_leak: u64,
    /// `minVoteIntervalMs` / `maxVoteIntervalMs`.
    pub min_vote_interval_ms: u64,
    pub max_vote_interval_ms: u64,
    /// `minTakeLeadershipVoteIntervalMs` / `maxTakeLeadershipVoteIntervalMs`.
    pub min_take_leadership_vote_interval_ms: u64,
    pub max_take_leadership_vote_interval_ms: u64,
    /// `maxLeadershipTransferWaitIndex`.
    pub max_leadership_transfer_wait_index: u64,
    /// `leadershipTransferWaitTimeout`.
    pub leadership_transfer_wait_timeout_ms: u64,
    /// `maxWaitAckTimeMs`.
    pub max_wait_ack_time_ms: u64,
    /// `preferredLeaderIds` (RocketMQ `preferredLeaderId`): one member, or
    /// `None` (null, the default).
    pub preferred_leader: Option<NodeId>,
}

impl DledgerConfig {
    /// How long a follower goes without a heartbeat before it stands.
    pub fn leak_ms(&self) -> u64 {
        self.max_heartbeat_leak * self.heartbeat_interval_ms
    }
}

/// `VoteResponse.RESULT`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VoteResult {
    Accept,
    RejectExpiredLedgerTerm,
    RejectSmallLedgerEndIndex,
    RejectExpiredVoteTerm,
    RejectTermNotReady,
    RejectAlreadyHasLeader,
    RejectAlreadyVoted,
    RejectTermSmallThanLedger,
    RejectTakingLeadership,
}

/// `VoteResponse.ParseResult`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ParseResult {
    #[default]
    WaitToRevote,
    RevoteImmediately,
    Passed,
    WaitToVoteNext,
}

/// `DLedgerResponseCode` of a heartbeat answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HeartbeatCode {
    Success,
    ExpiredTerm,
    InconsistentLeader,
    TermNotReady,
}

/// DLedger's timers, keyed by value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DlTimer {
    /// The next pass of the maintenance loop.
    Maintain,
    /// A vote round's wait ran out.
    VoteWait,
    /// A heartbeat round's wait (1990 ms) ran out.
    BeatWait,
    /// A heartbeat round's 10 ms sleep is over: parse it.
    BeatParse,
    /// `checkPreferredLeader`.
    PreferredCheck,
    /// The transferee polls its ledger end.
    TakeLeadershipPoll,
    /// The broker polls its ledger before turning master.
    MasterCheck,
    /// The entry dispatchers' next pass: push what followers lack.
    Dispatch,
    /// The leader fails the appends whose `maxWaitAckTimeMs` ran out
    /// without a quorum (`checkResponseFuturesTimeout`); one timer per
    /// leader, due at the oldest pending append's deadline.
    AckTimeout,
}

/// A round the maintenance loop is blocked in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Round {
    Vote {
        term: u64,
        all: usize,
        valid: usize,
        accepted: usize,
        not_ready: usize,
        bigger_ledger: usize,
        already_has_leader: bool,
        known_max_term: u64,
        answered: BTreeSet<NodeId>,
    },
    Beat {
        term: u64,
        all: usize,
        succ: usize,
        not_ready: usize,
        max_term: Option<u64>,
        inconsistent: bool,
        answered: BTreeSet<NodeId>,
        latched: bool,
    },
}

/// The tallies of a finished vote round, for [`parse_vote`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct VoteTally {
    pub term: u64,
    pub valid: usize,
    pub accepted: usize,
    pub not_ready: usize,
    pub bigger_ledger: usize,
    pub already_has_leader: bool,
    pub known_max_term: u64,
}

/// `getNextTimeToRequestVote`'s random part: Java's `lo + nextInt(hi -
/// lo)`, whole ms in `[lo, hi)` (just `lo` when `hi <= lo`).
pub fn vote_delay_ms(rng: &mut crate::engine::Rng, lo: u64, hi: u64) -> u64 {
    let span = hi.saturating_sub(lo).max(1);
    lo + rng::index(rng, span as usize) as u64
}

/// What a candidate does after a vote round: the parse result and the extra
/// wait (ms) added to a fresh `getNextTimeToRequestVote` (`None`: no new
/// vote time is drawn).
pub fn parse_vote(
    t: &VoteTally,
    members: usize,
    max_vote_interval_ms: u64,
    leak_ms: u64,
) -> (ParseResult, Option<u64>) {
    let quorum = |k: usize| k > members / 2;
    if t.known_max_term > t.term {
        (ParseResult::WaitToVoteNext, Some(0))
    } else if t.already_has_leader {
        (ParseResult::WaitToRevote, Some(leak_ms))
    } else if !quorum(t.valid) {
        (ParseResult::WaitToRevote, Some(0))
    } else if !quorum(t.valid - t.bigger_ledger) {
        (ParseResult::WaitToRevote, Some(max_vote_interval_ms))
    } else if quorum(t.accepted) {
        (ParseResult::Passed, None)
    } else if quorum(t.accepted + t.not_ready) {
        (ParseResult::RevoteImmediately, None)
    } else {
        (ParseResult::WaitToVoteNext, Some(0))
    }
}

/// What a member at `(term, vote, leader, ledger end)` answers a vote
/// request (`handleVote`), and whether it moves to the request's term as a
/// candidate first. `taking`: it is a preferred member taking leadership in
/// its current term.
#[allow(clippy::too_many_arguments)]
pub fn vote_result(
    term: u64,
    vote: Option<NodeId>,
    leader: Option<NodeId>,
    ledger: (u64, u64),
    taking: bool,
    cand: NodeId,
    is_self: bool,
    req_term: u64,
    req_ledger: (u64, u64),
) -> VoteResult {
    let (end_term, end_index) = ledger;
    let (req_end_term, req_end_index) = req_ledger;
    if req_end_term < end_term {
        return VoteResult::RejectExpiredLedgerTerm;
    }
    if req_end_term == end_term && req_end_index < end_index {
        return VoteResult::RejectSmallLedgerEndIndex;
    }
    if req_term < term {
        return VoteResult::RejectExpiredVoteTerm;
    }
    if req_term > term {
        return VoteResult::RejectTermNotReady;
    }
    match vote {
        Some(v) if v != cand && leader.is_some() => return VoteResult::RejectAlreadyHasLeader,
        Some(v) if v != cand => return VoteResult::RejectAlreadyVoted,
        _ => {}
    }
    if req_term < end_term {
        return VoteResult::RejectTermSmallThanLedger;
    }
    if !is_self && taking && req_end_term == end_term && end_index >= req_end_index {
        return VoteResult::RejectTakingLeadership;
    }
    VoteResult::Accept
}

/// DLedger's per-process state beside the core's (MemberState's volatile
/// fields and DLedgerLeaderElector's).
#[derive(Clone, Debug, Default)]
pub struct DledgerState {
    /// `lastLeaderHeartBeatTime`.
    last_leader_heartbeat: Option<SimTime>,
    /// `lastSendHeartBeatTime` (`None`: -1).
    last_send_heartbeat: Option<SimTime>,
    /// `lastSuccHeartBeatTime` (`None`: -1).
    last_succ_heartbeat: Option<SimTime>,
    /// `nextTimeToRequestVote` (`None`: -1).
    next_vote: Option<SimTime>,
    need_increase_term: bool,
    last_parse: ParseResult,
    /// `MemberState.knownMaxTermInGroup`.
    known_max_term: u64,
    /// The round the maintenance loop is blocked in.
    round: Option<Round>,
    /// Vote rounds started by this process: answers of an earlier round
    /// are not counted in a later one.
    round_seq: u64,
    /// `MemberState.termToTakeLeadership`.
    term_to_take: Option<u64>,
    /// Transferee: the transfer request it will answer (leader, term).
    take_task: Option<(NodeId, u64)>,
    /// Transferee: waiting for its ledger to reach `index`, since `since`.
    catching_up: Option<(NodeId, u64, u64, SimTime)>,
    /// Leader: a transfer request awaits its answer.
    transfer_pending: bool,
    /// Leader: `peersLiveTable` entries that are true.
    live: BTreeSet<NodeId>,
    /// The broker is master (after `changeToMaster`).
    master: bool,
    /// Members whose process died on a live host: a request to them fails
    /// at once (connection refused) until they are heard from again.
    refused: BTreeSet<NodeId>,
    /// Leader: the deadline of each append still waiting for its quorum
    /// (`pendingAppendResponsesByTerm`), in log order, so in deadline order.
    ack_deadlines: VecDeque<(u64, SimTime)>,
    /// Leader: when its dispatchers started (their passes are every
    /// `DISPATCH_MS` from then), and whether a pass is scheduled.
    dispatch_from: SimTime,
    dispatch_pending: bool,
}

impl Server {
    fn dcfg(&self) -> DledgerConfig {
        self.cfg
            .dledger
            .expect("DLedger code runs only in the DLedger flavour")
    }

    pub fn dledger_last_parse(&self) -> ParseResult {
        self.dl.last_parse
    }

    pub(super) fn dledger_view(&self) -> View {
        View {
            role: match self.state {
                State::Leader => Role::Leader,
                State::Follower => Role::Follower,
                _ => Role::Candidate,
            },
            term: self.d.term,
            leader: self.leader,
            serving: self.serving,
        }
    }

    pub(super) fn dledger_start(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.state = State::Candidate;
        self.leader = None;
        self.dl = DledgerState::default();
        ctx.set_timer(SimDuration::ZERO, Timer::Dl(DlTimer::Maintain));
        if self.dcfg().preferred_leader.is_some() {
            ctx.set_timer(
                SimDuration::from_ms(PREFERRED_CHECK_MS),
                Timer::Dl(DlTimer::PreferredCheck),
            );
        }
    }

    fn vote_delay(&self, ctx: &mut Ctx<'_, RaftNode>) -> SimDuration {
        let c = self.dcfg();
        let (lo, hi) = if self.taking_leadership() {
            (
                c.min_take_leadership_vote_interval_ms,
                c.max_take_leadership_vote_interval_ms,
            )
        } else {
            (c.min_vote_interval_ms, c.max_vote_interval_ms)
        };
        SimDuration::from_ms(vote_delay_ms(ctx.rng(), lo, hi))
    }

    /// `nextTimeToRequestVote` (`None`: -1, vote at the next pass).
    pub fn dledger_next_vote(&self) -> Option<SimTime> {
        self.dl.next_vote
    }

    /// The broker is master.
    pub fn dledger_master(&self) -> bool {
        self.dl.master
    }

    /// `isTakingLeadership`.
    fn taking_leadership(&self) -> bool {
        let c = self.dcfg();
        c.preferred_leader == Some(self.id) && self.dl.term_to_take == Some(self.d.term)
    }

    fn ledger(&self) -> (u64, u64) {
        (self.d.last_term(), self.d.last_index())
    }

    fn quorum_of(&self, k: usize) -> bool {
        k >= self.quorum()
    }

    // ----- role changes -----

    /// `changeRoleToCandidate(term)`: no term change here.
    fn dl_to_candidate(&mut self, ctx: &mut Ctx<'_, RaftNode>, term: u64) {
        if term < self.d.term {
            return;
        }
        self.dl.known_max_term = self.dl.known_max_term.max(term);
        let was = self.state;
        self.leave_leader(ctx);
        self.state = State::Candidate;
        self.leader = None;
        if was != State::Candidate {
            ctx.record(Obs::phase("candidate"));
        }
        self.role_changed(ctx, term, State::Candidate);
    }

    /// `changeRoleToFollower(term, leader)`.
    fn dl_to_follower(&mut self, ctx: &mut Ctx<'_, RaftNode>, term: u64, leader: NodeId) {
        debug_assert_eq!(term, self.d.term);
        self.dl.last_parse = ParseResult::WaitToRevote;
        self.leave_leader(ctx);
        self.state = State::Follower;
        self.leader = Some(leader);
        self.dl.last_leader_heartbeat = Some(ctx.now());
        ctx.record(Obs::phase("follower"));
        self.role_changed(ctx, term, State::Follower);
    }

    /// `changeRoleToLeader(term)`.
    fn dl_to_leader(&mut self, ctx: &mut Ctx<'_, RaftNode>, term: u64) {
        if term != self.d.term {
            return;
        }
        self.state = State::Leader;
        self.leader = Some(self.id);
        self.dl.dispatch_from = ctx.now();
        self.dl.dispatch_pending = false;
        self.dl.live.clear();
        self.dl.last_send_heartbeat = None;
        self.transferee = None;
        self.dl.transfer_pending = false;
        let last = self.d.last_index();
        for p in self.progress.iter_mut() {
            p.next = last + 1;
            p.matched = 0;
        }
        ctx.record(Obs::phase("leader"));
        ctx.record(Obs::elected(self.id, term));
        ctx.record(Obs::Note(RaftNote::Elected {
            term,
            leader: self.id,
        }));
        self.role_changed(ctx, term, State::Leader);
    }

    /// A leader (or master) stepping down: the broker turns slave, pending
    /// appends fail, the transfer is forgotten.
    fn leave_leader(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if self.state == State::Leader {
            ctx.record(Obs::phase("step-down"));
            self.dl.ack_deadlines.clear();
            ctx.cancel_timer(&Timer::Dl(DlTimer::AckTimeout));
            self.dl.dispatch_pending = false;
            ctx.cancel_timer(&Timer::Dl(DlTimer::Dispatch));
            for (_, (client, op)) in std::mem::take(&mut self.waiting) {
                refuse(ctx, client, op.id, None);
            }
            ctx.cancel_timer(&Timer::Dl(DlTimer::MasterCheck));
        }
        self.transferee = None;
        self.dl.transfer_pending = false;
        if self.dl.master {
            self.dl.master = false;
            ctx.record(Obs::phase("changeToSlave"));
        }
        self.serving = false;
    }

    /// `handleRoleChange`: the take-leadership task, then the broker's
    /// role-change handler.
    fn role_changed(&mut self, ctx: &mut Ctx<'_, RaftNode>, term: u64, role: State) {
        if let (Some(target), Some((leader, req_term))) = (self.dl.term_to_take, self.dl.take_task)
        {
            let outcome = if term > target {
                Some(false)
            } else if term == target {
                match role {
                    State::Leader => Some(true),
                    State::Follower => Some(false),
                    _ => None,
                }
            } else {
                Some(false)
            };
            if let Some(ok) = outcome {
                ctx.send(leader, Msg::TakeLeadershipResp { term: req_term, ok });
                ctx.record(Obs::phase(if ok {
                    "takeLeadership-success"
                } else {
                    "takeLeadership-failed"
                }));
                self.dl.term_to_take = None;
                self.dl.take_task = None;
            }
        }
        if role == State::Leader {
            ctx.set_timer(SimDuration::ZERO, Timer::Dl(DlTimer::MasterCheck));
        }
    }

    // ----- timers -----

    pub(super) fn dledger_on_timer(&mut self, ctx: &mut Ctx<'_, RaftNode>, timer: Timer) {
        let Timer::Dl(t) = timer else { return };
        match t {
            DlTimer::Maintain => self.maintain(ctx),
            DlTimer::VoteWait => self.parse_vote_round(ctx),
            DlTimer::BeatWait => {
                if let Some(Round::Beat { latched, .. }) = &mut self.dl.round {
                    *latched = true;
                    ctx.set_timer(
                        SimDuration::from_ms(BEAT_SLEEP_MS),
                        Timer::Dl(DlTimer::BeatParse),
                    );
                }
            }
            DlTimer::BeatParse => self.parse_beat_round(ctx),
            DlTimer::PreferredCheck => {
                ctx.set_timer(
                    SimDuration::from_ms(PREFERRED_CHECK_MS),
                    Timer::Dl(DlTimer::PreferredCheck),
                );
                self.check_preferred_leader(ctx);
            }
            DlTimer::TakeLeadershipPoll => self.poll_catch_up(ctx),
            DlTimer::MasterCheck => self.master_check(ctx),
            DlTimer::AckTimeout => self.check_ack_timeouts(ctx),
            DlTimer::Dispatch => self.dispatch(ctx),
        }
    }

    // ----- entry dispatchers -----

    /// New entries wait for the dispatchers' next pass: they pass every
    /// `DISPATCH_MS` from the leader's election (one phase for all of
    /// them), and only a pass finds what was appended since the last.
    pub(super) fn dledger_schedule_dispatch(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if self.state != State::Leader || self.dl.dispatch_pending {
            return;
        }
        let period = SimDuration::from_ms(DISPATCH_MS).0;
        let elapsed = ctx.now().since(self.dl.dispatch_from).0;
        let next = (elapsed / period + 1) * period;
        self.dl.dispatch_pending = true;
        ctx.set_timer(SimDuration(next - elapsed), Timer::Dl(DlTimer::Dispatch));
    }

    /// A pass of every `EntryDispatcher` (`doAppend`): push each follower
    /// every entry it lacks, without waiting for answers.
    fn dispatch(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.dl.dispatch_pending = false;
        if self.state != State::Leader {
            return;
        }
        let last = self.d.last_index();
        for p in self.peers().collect::<Vec<_>>() {
            while self.progress[p.index()].next <= last {
                self.send_append(ctx, p);
            }
        }
    }

    // ----- append futures -----

    /// `waitAck`: the leader's future for the client append at log `index`,
    /// failed (WAIT_QUORUM_ACK_TIMEOUT) if it is not committed within
    /// `maxWaitAckTimeMs`. Deadlines are kept in log order; one timer, at
    /// the oldest, stands for QuorumAckChecker's scan of pending futures.
    pub(super) fn dledger_wait_ack(&mut self, ctx: &mut Ctx<'_, RaftNode>, index: u64) {
        let wait = SimDuration::from_ms(self.dcfg().max_wait_ack_time_ms);
        if self.dl.ack_deadlines.is_empty() {
            ctx.set_timer(wait, Timer::Dl(DlTimer::AckTimeout));
        }
        self.dl.ack_deadlines.push_back((index, ctx.now() + wait));
    }

    /// The appends up to `commit` are acknowledged: their futures leave the
    /// pending map with their deadlines (QuorumAckChecker completes and
    /// removes them).
    pub(super) fn dledger_committed(&mut self, commit: u64) {
        while self
            .dl
            .ack_deadlines
            .front()
            .is_some_and(|(i, _)| *i <= commit)
        {
            self.dl.ack_deadlines.pop_front();
        }
    }

    /// `checkResponseFuturesTimeout`: fail every append past its deadline,
    /// oldest first, then wait for the next deadline.
    fn check_ack_timeouts(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let now = ctx.now();
        while let Some(&(i, deadline)) = self.dl.ack_deadlines.front() {
            if deadline > now {
                ctx.set_timer(deadline.since(now), Timer::Dl(DlTimer::AckTimeout));
                return;
            }
            self.dl.ack_deadlines.pop_front();
            if let Some((client, op)) = self.waiting.remove(&i) {
                refuse(ctx, client, op.id, None);
            }
        }
    }

    fn next_pass(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        ctx.set_timer(
            SimDuration::from_ms(MAINTAIN_MS),
            Timer::Dl(DlTimer::Maintain),
        );
    }

    /// `maintainState`, then the loop's sleep (unless a round blocks it).
    fn maintain(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        match self.state {
            State::Leader => self.maintain_as_leader(ctx),
            State::Follower => self.maintain_as_follower(ctx),
            _ => self.maintain_as_candidate(ctx),
        }
        if self.dl.round.is_none() {
            self.next_pass(ctx);
        }
    }

    fn maintain_as_follower(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let leak = SimDuration::from_ms(self.dcfg().leak_ms());
        let last = self.dl.last_leader_heartbeat.unwrap_or(SimTime::ZERO);
        if ctx.now().since(last) > leak {
            ctx.record(Obs::detected(self.leader));
            let term = self.d.term;
            self.dl_to_candidate(ctx, term);
        }
    }

    fn maintain_as_candidate(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let due = self.dl.next_vote.is_none_or(|t| ctx.now() >= t);
        if !due && !self.dl.need_increase_term {
            return;
        }
        if self.dl.last_parse == ParseResult::WaitToVoteNext || self.dl.need_increase_term {
            // MemberState.nextTerm.
            if self.dl.known_max_term > self.d.term {
                self.d.term = self.dl.known_max_term;
            } else {
                self.d.term += 1;
            }
            self.d.vote = None;
            self.save_hard_state(ctx);
            self.dl.last_parse = ParseResult::WaitToRevote;
        }
        if self.dl.need_increase_term {
            let d = self.vote_delay(ctx);
            self.dl.next_vote = Some(ctx.now() + d);
            self.dl.need_increase_term = false;
            return;
        }
        let term = self.d.term;
        ctx.record(Obs::phase("vote"));
        ctx.record(Obs::round(term));
        self.dl.round_seq += 1;
        let round = self.dl.round_seq;
        self.dl.round = Some(Round::Vote {
            term,
            all: 0,
            valid: 0,
            accepted: 0,
            not_ready: 0,
            bigger_ledger: 0,
            already_has_leader: false,
            known_max_term: term,
            answered: BTreeSet::new(),
        });
        let (end_term, end_index) = self.ledger();
        for p in self.peers().collect::<Vec<_>>() {
            self.send_after_disk(
                ctx,
                p,
                Msg::DlVote {
                    term,
                    last_index: end_index,
                    last_term: end_term,
                    round,
                },
            );
        }
        let wait =
            2000 + rng::index(ctx.rng(), self.dcfg().max_vote_interval_ms.max(1) as usize) as u64;
        ctx.set_timer(SimDuration::from_ms(wait), Timer::Dl(DlTimer::VoteWait));
        // The candidate's own vote (`handleVote(self = true)`).
        let me = self.id;
        let r = self.handle_vote(ctx, me, term, end_term, end_index, true);
        self.on_vote_answer(ctx, me, term, r);
        self.fail_refused(ctx);
    }

    fn maintain_as_leader(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let every = SimDuration::from_ms(self.dcfg().heartbeat_interval_ms);
        let due = self
            .dl
            .last_send_heartbeat
            .is_none_or(|t| ctx.now().since(t) > every);
        if !due {
            return;
        }
        self.dl.last_send_heartbeat = Some(ctx.now());
        let term = self.d.term;
        self.dl.round = Some(Round::Beat {
            term,
            all: 1,
            succ: 1,
            not_ready: 0,
            max_term: None,
            inconsistent: false,
            answered: BTreeSet::new(),
            latched: false,
        });
        for p in self.peers().collect::<Vec<_>>() {
            ctx.send(p, Msg::Heartbeat { term, commit: 0 });
        }
        let wait = self.dcfg().heartbeat_interval_ms - BEAT_SLEEP_MS;
        ctx.set_timer(SimDuration::from_ms(wait), Timer::Dl(DlTimer::BeatWait));
        if self.n == 1 {
            self.latch_beat(ctx);
        }
        self.fail_refused(ctx);
    }

    fn latch_beat(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if let Some(Round::Beat { latched, .. }) = &mut self.dl.round {
            if !*latched {
                *latched = true;
                ctx.cancel_timer(&Timer::Dl(DlTimer::BeatWait));
                ctx.set_timer(
                    SimDuration::from_ms(BEAT_SLEEP_MS),
                    Timer::Dl(DlTimer::BeatParse),
                );
            }
        }
    }

    fn parse_beat_round(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let Some(Round::Beat {
            term,
            succ,
            not_ready,
            max_term,
            inconsistent,
            answered,
            ..
        }) = self.dl.round.take()
        else {
            return;
        };
        self.next_pass(ctx);
        // Members that did not answer are marked offline.
        self.dl.live.retain(|p| answered.contains(p));
        if let Some(m) = max_term.filter(|m| *m > term) {
            return self.dl_to_candidate(ctx, m);
        }
        if self.quorum_of(succ) {
            self.dl.last_succ_heartbeat = Some(ctx.now());
            return;
        }
        let leak = SimDuration::from_ms(self.dcfg().leak_ms());
        if self.quorum_of(succ + not_ready) {
            self.dl.last_send_heartbeat = None;
        } else if inconsistent
            || self
                .dl
                .last_succ_heartbeat
                .is_none_or(|t| ctx.now().since(t) > leak)
        {
            ctx.record(Obs::detected(None));
            self.dl_to_candidate(ctx, term);
        }
    }

    fn on_vote_answer(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        term: u64,
        r: (u64, VoteResult),
    ) {
        let quorum = self.quorum();
        let n = self.n;
        let Some(Round::Vote {
            term: round_term,
            all,
            valid,
            accepted,
            not_ready,
            bigger_ledger,
            already_has_leader,
            known_max_term,
            answered,
        }) = &mut self.dl.round
        else {
            return;
        };
        if *round_term != term || !answered.insert(from) {
            return;
        }
        let (resp_term, result) = r;
        *valid += 1;
        match result {
            VoteResult::Accept => *accepted += 1,
            VoteResult::RejectAlreadyHasLeader => *already_has_leader = true,
            VoteResult::RejectTermSmallThanLedger | VoteResult::RejectExpiredVoteTerm => {
                *known_max_term = (*known_max_term).max(resp_term);
            }
            VoteResult::RejectExpiredLedgerTerm | VoteResult::RejectSmallLedgerEndIndex => {
                *bigger_ledger += 1
            }
            VoteResult::RejectTermNotReady => *not_ready += 1,
            VoteResult::RejectAlreadyVoted | VoteResult::RejectTakingLeadership => {}
        }
        *all += 1;
        let latch = *already_has_leader
            || *accepted >= quorum
            || *accepted + *not_ready >= quorum
            || *all == n;
        if latch {
            self.parse_vote_round(ctx);
        }
    }

    fn parse_vote_round(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let Some(Round::Vote {
            term,
            valid,
            accepted,
            not_ready,
            bigger_ledger,
            already_has_leader,
            known_max_term,
            ..
        }) = self.dl.round.take()
        else {
            return;
        };
        ctx.cancel_timer(&Timer::Dl(DlTimer::VoteWait));
        self.next_pass(ctx);
        let c = self.dcfg();
        let tally = VoteTally {
            term,
            valid,
            accepted,
            not_ready,
            bigger_ledger,
            already_has_leader,
            known_max_term,
        };
        let (result, extra) = parse_vote(&tally, self.n, c.max_vote_interval_ms, c.leak_ms());
        if let Some(extra) = extra {
            let d = self.vote_delay(ctx);
            self.dl.next_vote = Some(ctx.now() + d + SimDuration::from_ms(extra));
        }
        if known_max_term > term {
            self.dl_to_candidate(ctx, known_max_term);
        }
        self.dl.last_parse = result;
        match result {
            ParseResult::Passed => self.dl_to_leader(ctx, term),
            ParseResult::WaitToRevote | ParseResult::WaitToVoteNext
                if self.state == State::Candidate =>
            {
                ctx.record(Obs::Note(RaftNote::Lost { term }));
            }
            _ => {}
        }
    }

    /// `handleVote`: the answer (with the term it carries); a higher term
    /// makes this member a candidate at it first.
    fn handle_vote(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        cand: NodeId,
        req_term: u64,
        end_term: u64,
        end_index: u64,
        is_self: bool,
    ) -> (u64, VoteResult) {
        let r = vote_result(
            self.d.term,
            self.d.vote,
            self.leader,
            self.ledger(),
            self.taking_leadership(),
            cand,
            is_self,
            req_term,
            (end_term, end_index),
        );
        match r {
            VoteResult::RejectTermNotReady => {
                self.dl_to_candidate(ctx, req_term);
                self.dl.need_increase_term = true;
            }
            VoteResult::Accept if self.d.vote != Some(cand) => {
                self.d.vote = Some(cand);
                self.save_hard_state(ctx);
            }
            _ => {}
        }
        let t = if r == VoteResult::RejectTermSmallThanLedger {
            self.d.last_term()
        } else {
            self.d.term
        };
        (t, r)
    }

    /// `handleHeartBeat`.
    fn handle_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        term: u64,
    ) -> HeartbeatCode {
        if from == self.id {
            return HeartbeatCode::InconsistentLeader;
        }
        if term < self.d.term {
            return HeartbeatCode::ExpiredTerm;
        }
        if term == self.d.term {
            return match self.leader {
                Some(l) if l == from => {
                    self.dl.last_leader_heartbeat = Some(ctx.now());
                    HeartbeatCode::Success
                }
                None => {
                    self.dl_to_follower(ctx, term, from);
                    HeartbeatCode::Success
                }
                Some(_) => HeartbeatCode::InconsistentLeader,
            };
        }
        self.dl_to_candidate(ctx, term);
        self.dl.need_increase_term = true;
        HeartbeatCode::TermNotReady
    }

    // ----- messages -----

    /// The connection to `peer` was reset: its process died on a live host.
    /// An outstanding request to it fails now; later ones fail at once.
    pub(super) fn dledger_link_reset(&mut self, ctx: &mut Ctx<'_, RaftNode>, peer: NodeId) {
        if peer.index() >= self.n {
            return;
        }
        self.dl.refused.insert(peer);
        self.request_failed(ctx, peer);
    }

    /// A request of the current round to `peer` completed exceptionally:
    /// it counts toward `allNum` only (and the member is offline).
    fn request_failed(&mut self, ctx: &mut Ctx<'_, RaftNode>, peer: NodeId) {
        let n = self.n;
        match &mut self.dl.round {
            Some(Round::Vote { all, answered, .. }) if !answered.contains(&peer) => {
                answered.insert(peer);
                *all += 1;
                if *all == n {
                    self.parse_vote_round(ctx);
                }
            }
            Some(Round::Beat { all, answered, .. }) if !answered.contains(&peer) => {
                answered.insert(peer);
                *all += 1;
                self.dl.live.remove(&peer);
                if *all == n {
                    self.latch_beat(ctx);
                }
            }
            _ => {}
        }
    }

    /// Requests of a new round to members known to refuse connections.
    fn fail_refused(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        for p in self.dl.refused.clone() {
            self.request_failed(ctx, p);
        }
    }

    pub(super) fn dledger_on_message(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        msg: Msg,
    ) {
        if from.index() < self.n {
            self.dl.refused.remove(&from);
        }
        match msg {
            Msg::DlVote {
                term,
                last_index,
                last_term,
                round,
            } => {
                let (t, result) = self.handle_vote(ctx, from, term, last_term, last_index, false);
                self.send_after_disk(
                    ctx,
                    from,
                    Msg::DlVoteResp {
                        term: t,
                        result,
                        round,
                    },
                );
            }
            Msg::DlVoteResp {
                term,
                result,
                round,
            } => {
                // Only an answer to the round under way counts.
                let round_term = match &self.dl.round {
                    Some(Round::Vote { term, .. }) if round == self.dl.round_seq => *term,
                    _ => return,
                };
                self.on_vote_answer(ctx, from, round_term, (term, result));
            }
            Msg::Heartbeat { term, .. } => {
                let code = self.handle_heartbeat(ctx, from, term);
                let t = self.d.term;
                ctx.send(from, Msg::DlHeartbeatResp { term: t, code });
            }
            Msg::DlHeartbeatResp { term, code } => self.on_heartbeat_answer(ctx, from, term, code),
            // handlePush: only from the leader known in this term.
            Msg::App {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
            } if term == self.d.term
                && self.leader == Some(from)
                && self.state == State::Follower =>
            {
                self.on_append(ctx, from, prev_index, prev_term, entries, commit);
            }
            Msg::AppResp {
                term,
                index,
                reject,
                hint,
            } => self.on_push_answer(ctx, from, term, index, reject, hint),
            Msg::TakeLeadership { term, ledger_index } => {
                if self.leader != Some(from) || self.state != State::Follower {
                    ctx.send(from, Msg::TakeLeadershipResp { term, ok: false });
                    return;
                }
                self.dl.catching_up = Some((from, term, ledger_index, ctx.now()));
                self.poll_catch_up(ctx);
            }
            Msg::TakeLeadershipResp { term, ok }
                if self.state == State::Leader && self.dl.transfer_pending =>
            {
                self.dl.transfer_pending = false;
                if !ok || term == self.d.term {
                    self.transferee = None;
                }
            }
            Msg::RouteQuery => {
                let t = self.d.term;
                ctx.send(
                    from,
                    Msg::RouteResp {
                        master: self.dl.master,
                        term: t,
                    },
                );
            }
            _ => {}
        }
    }

    fn on_heartbeat_answer(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        term: u64,
        code: HeartbeatCode,
    ) {
        let quorum = self.quorum();
        let n = self.n;
        let Some(Round::Beat {
            all,
            succ,
            not_ready,
            max_term,
            inconsistent,
            answered,
            ..
        }) = &mut self.dl.round
        else {
            return;
        };
        if !answered.insert(from) {
            return;
        }
        match code {
            HeartbeatCode::Success => *succ += 1,
            HeartbeatCode::ExpiredTerm => *max_term = Some(term),
            HeartbeatCode::InconsistentLeader => *inconsistent = true,
            HeartbeatCode::TermNotReady => *not_ready += 1,
        }
        *all += 1;
        let latch = *succ >= quorum || *succ + *not_ready >= quorum || *all == n;
        self.dl.live.insert(from);
        if latch {
            self.latch_beat(ctx);
        }
        if code == HeartbeatCode::Success && self.state == State::Leader {
            // The dispatcher's compare/append toward a member behind.
            let last = self.d.last_index();
            let pr = &mut self.progress[from.index()];
            if pr.matched < last {
                pr.next = if pr.matched == 0 {
                    last + 1
                } else {
                    pr.matched + 1
                };
                self.send_append(ctx, from);
            }
        }
    }

    fn on_push_answer(
        &mut self,
        ctx: &mut Ctx<'_, RaftNode>,
        from: NodeId,
        term: u64,
        index: u64,
        reject: bool,
        hint: u64,
    ) {
        if self.state != State::Leader || term != self.d.term {
            return;
        }
        let last = self.d.last_index();
        if reject {
            // COMPARE / TRUNCATE: back to where the member's log may match.
            let pr = &mut self.progress[from.index()];
            pr.next = (hint + 1).min(index).max(pr.matched + 1).max(1);
            self.send_append(ctx, from);
            return;
        }
        let pr = &mut self.progress[from.index()];
        if index > pr.matched {
            pr.matched = index;
        }
        pr.next = pr.next.max(index + 1);
        let more = pr.matched < last && pr.next <= last;
        self.maybe_commit(ctx);
        if more {
            self.dledger_schedule_dispatch(ctx);
        }
    }

    // ----- broker master -----

    /// `DLedgerRoleChangeHandler` on LEADER: master once the ledger is
    /// committed (or empty).
    fn master_check(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        if self.state != State::Leader || self.dl.master {
            return;
        }
        let end = self.d.last_index();
        if end == 0 || end == self.commit {
            self.dl.master = true;
            self.serving = true;
            ctx.record(Obs::phase("changeToMaster"));
            ctx.record(Obs::serving(self.id, self.d.term));
        } else {
            ctx.set_timer(
                SimDuration::from_ms(MASTER_CHECK_MS),
                Timer::Dl(DlTimer::MasterCheck),
            );
        }
    }

    // ----- preferred leader -----

    /// `checkPreferredLeader`.
    fn check_preferred_leader(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let c = self.dcfg();
        let Some(pref) = c.preferred_leader else {
            return;
        };
        if self.state != State::Leader
            || self.transferee.is_some()
            || self.dl.transfer_pending
            || pref == self.id
            || pref.index() >= self.n
            || !self.dl.live.contains(&pref)
        {
            return;
        }
        let behind =
            self.d.last_index() - self.progress[pref.index()].matched.min(self.d.last_index());
        if behind >= c.max_leadership_transfer_wait_index {
            return;
        }
        // handleLeadershipTransfer at the leader.
        self.transferee = Some(pref);
        self.dl.transfer_pending = true;
        ctx.record(Obs::phase("leadershipTransfer"));
        let (term, ledger_index) = (self.d.term, self.d.last_index());
        ctx.send(pref, Msg::TakeLeadership { term, ledger_index });
    }

    /// The transferee waits for its ledger to reach the leader's end, then
    /// takes leadership (`handleTakeLeadership`).
    fn poll_catch_up(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        let Some((leader, term, index, since)) = self.dl.catching_up else {
            return;
        };
        let c = self.dcfg();
        if self.d.last_index() < index {
            if ctx.now().since(since) > SimDuration::from_ms(c.leadership_transfer_wait_timeout_ms)
            {
                self.dl.catching_up = None;
                ctx.send(leader, Msg::TakeLeadershipResp { term, ok: false });
                ctx.record(Obs::phase("takeLeadership-failed"));
            } else {
                ctx.set_timer(
                    SimDuration::from_ms(MAINTAIN_MS),
                    Timer::Dl(DlTimer::TakeLeadershipPoll),
                );
            }
            return;
        }
        self.dl.catching_up = None;
        if self.d.term != term {
            ctx.send(leader, Msg::TakeLeadershipResp { term, ok: false });
            return;
        }
        ctx.record(Obs::phase("takeLeadership"));
        self.dl.term_to_take = Some(term + 1);
        self.dl.take_task = Some((leader, term));
        self.dl_to_candidate(ctx, term + 1);
        self.dl.need_increase_term = true;
    }
}
