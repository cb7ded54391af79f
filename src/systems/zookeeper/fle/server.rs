//! A ZooKeeper server: FastLeaderElection, then Zab discovery, synchronisation
//! and broadcast, as leader or follower, and the client-facing side.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::engine::{ClientOp, Ctx, NodeId, Obs, OpKind, Role, Scope, SimDuration, SimTime, View};

use super::app::App;
use super::app::{WatchKind, ZkError, ZkReply};
use super::msg::{Msg, Notification, SyncMode, Txn, ZkOp, ZkSessionOp};
use super::pipeline::{Stage, Work};
use super::tree::{body, Applied, DataTree, TxnBody};
use super::vote::{beats, is_quorum, ServerState, Sid, Vote, VoteSet, Zxid};
use super::{Timer, ZkDurable, ZkNode, ZkNote, ZkParams, ZkWrite};

type C<'a, A> = Ctx<'a, ZkNode<A>>;

/// A quorum peer.
#[derive(Clone, Debug)]
pub struct Server {
    me: NodeId,
    voters: usize,
    p: ZkParams,

    /// Working copy of the durable state (the `acceptedEpoch` and
    /// `currentEpoch` files and the transaction log); the engine keeps what
    /// has reached the disk ([`ZkDurable`]).
    d: ZkDurable,

    // Volatile.
    role: PeerRole,
    logical_clock: u64,
    current_vote: Option<Vote>,
    /// Client connections: client -> connection number.
    clients: BTreeMap<NodeId, u64>,
    /// Client writes in flight through this server: op id -> (client, connection).
    pending: BTreeMap<u64, (NodeId, u64)>,
    /// Highest committed zxid this server has applied.
    last_processed: Zxid,
    /// Where the last commit stopped in the log: a hint for the next one,
    /// used only when the log around it still says so
    /// ([`Server::processed_index`]).
    processed_end: usize,
    next_conn: u64,
    /// Notifications waiting for the election threads (WorkerReceiver,
    /// lookForLeader), each with when its processing ends.
    fle_queue: VecDeque<(SimTime, Notification)>,
    /// The request processors' queue (`pipeline.rs`): the leader's writes
    /// before they are proposed, a follower's proposals before they are
    /// logged.
    pipe: Stage,

    // Sessions (PROTOCOLS.md §1.5).
    /// The data tree and session table: every committed transaction up to
    /// `last_processed`, applied in zxid order.
    tree: DataTree,
    /// Session clients connected here (also in `clients`).
    sess_here: BTreeMap<NodeId, SessConn>,
    /// Session writes in flight through this server: (client, request) ->
    /// connection.
    sess_pending: BTreeMap<(NodeId, u64), u64>,
    /// Watches set through this server (`dataWatches`): path -> clients.
    watches: BTreeMap<String, BTreeSet<NodeId>>,
    /// Sessions of this follower's clients touched since its last PING
    /// reply (LearnerSessionTracker `touchTable`), with their timeouts.
    touched: BTreeMap<u64, u64>,
    next_session: u64,
}

/// A session client's connection to this server.
#[derive(Clone, Copy, Debug)]
struct SessConn {
    conn: u64,
    session: u64,
    /// Negotiated timeout (ms).
    timeout: u64,
    /// The ConnectResponse went out (createSession committed, or the
    /// session revalidated).
    open: bool,
}

/// The leader's session tracker (SessionTrackerImpl with its ExpiryQueue):
/// each session's expiry is `roundToNextInterval(touch + timeout)`, in
/// buckets of `tickTime`; the tracker wakes at each bucket and expires what
/// is in it.
#[derive(Clone, Debug, Default)]
pub(super) struct SessionTracker {
    tick: u64,
    /// session -> (expiry bucket, timeout, last touch).
    sessions: BTreeMap<u64, (SimTime, SimDuration, SimTime)>,
    buckets: BTreeMap<SimTime, BTreeSet<u64>>,
    /// Sessions whose closeSession is proposed (`setSessionClosing`).
    closing: BTreeSet<u64>,
    /// When the pending expiry timer fires.
    armed: Option<SimTime>,
}

impl SessionTracker {
    pub(super) fn new(tick: SimDuration) -> Self {
        SessionTracker {
            tick: tick.0.max(1),
            ..SessionTracker::default()
        }
    }

    /// ExpiryQueue.roundToNextInterval.
    pub(super) fn round(&self, t: SimTime) -> SimTime {
        SimTime((t.0 / self.tick + 1) * self.tick)
    }

    /// `trackSession`/`addSession`: start (or restart) a session's clock.
    pub(super) fn track(&mut self, s: u64, timeout: SimDuration, now: SimTime) {
        self.closing.remove(&s);
        if let Some((b, _, _)) = self.sessions.remove(&s) {
            self.unbucket(s, b);
        }
        let exp = self.round(now + timeout);
        self.sessions.insert(s, (exp, timeout, now));
        self.buckets.entry(exp).or_default().insert(s);
    }

    fn unbucket(&mut self, s: u64, b: SimTime) {
        if let Some(set) = self.buckets.get_mut(&b) {
            set.remove(&s);
            if set.is_empty() {
                self.buckets.remove(&b);
            }
        }
    }

    /// `touchSession`: false if the session is unknown or closing.
    pub(super) fn touch(&mut self, s: u64, now: SimTime) -> bool {
        if self.closing.contains(&s) {
            return false;
        }
        let Some(&(old, timeout, _)) = self.sessions.get(&s) else {
            return false;
        };
        let exp = self.round(now + timeout);
        self.sessions.insert(s, (exp, timeout, now));
        if exp != old {
            self.unbucket(s, old);
            self.buckets.entry(exp).or_default().insert(s);
        }
        true
    }

    pub(super) fn set_closing(&mut self, s: u64) {
        if self.sessions.contains_key(&s) {
            self.closing.insert(s);
        }
    }

    pub(super) fn remove(&mut self, s: u64) {
        self.closing.remove(&s);
        if let Some((b, _, _)) = self.sessions.remove(&s) {
            self.unbucket(s, b);
        }
    }

    /// Every session of the buckets due by `now`, now closing, with its last
    /// touch and timeout.
    /// Sessions of every bucket that is due by `now`: (session, last touch,
    /// timeout, its bucket).
    pub(super) fn expire_due(&mut self, now: SimTime) -> Vec<(u64, SimTime, SimDuration, SimTime)> {
        let mut out = Vec::new();
        while let Some((&b, _)) = self.buckets.first_key_value() {
            if b > now {
                break;
            }
            let set = self.buckets.remove(&b).unwrap_or_default();
            for s in set {
                if let Some(&(_, timeout, touched)) = self.sessions.get(&s) {
                    self.closing.insert(s);
                    out.push((s, touched, timeout, b));
                }
            }
        }
        out
    }

    pub(super) fn next_bucket(&self) -> Option<SimTime> {
        self.buckets.keys().next().copied()
    }
}

#[derive(Clone, Debug)]
enum PeerRole {
    Looking(Election),
    Following(Following),
    Leading(Box<Leading>),
    /// Process work between two roles (`QuorumPeer.run`): shutting a follower
    /// or leader down before LOOKING, or `makeLeader`/`makeFollower` after FLE
    /// decided. Meanwhile the server has no connections and answers looking
    /// peers with `shown` and its current vote.
    Between(Between),
}

#[derive(Clone, Copy, Debug)]
struct Between {
    shown: ServerState,
    next: Next,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Look,
    Lead,
    Follow(NodeId),
}

/// State of one `lookForLeader` call.
#[derive(Clone, Debug)]
struct Election {
    /// (leader, zxid, peer epoch) currently proposed.
    proposal: (Sid, Zxid, u64),
    recvset: VoteSet,
    outofelection: VoteSet,
    /// Current poll timeout (`notTimeout`), doubling on each empty poll.
    not_timeout: SimDuration,
    /// True while draining the queue for `finalizeWait` after a quorum agreed.
    draining: bool,
    /// When the current poll comes back empty.
    deadline: SimTime,
    /// When the pending poll timer fires, if one is pending.
    timer: Option<SimTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FollowStage {
    Connecting { attempt: u32 },
    Discovery,
    Synced,
    Serving,
}

#[derive(Clone, Debug)]
struct Following {
    leader: NodeId,
    conn: u64,
    stage: FollowStage,
    connect_started: SimTime,
    last_heard: SimTime,
    read_timeout: SimDuration,
    /// When the pending read-timeout check fires, if one is pending.
    read_timer: Option<SimTime>,
    /// Written the epoch of LEADERINFO; ACKEPOCH goes once it is durable.
    ack_epoch_pending: bool,
    /// Written the epoch of NEWLEADER; its ACK goes once it is durable.
    ack_newleader_pending: bool,
    /// The new epoch (from LEADERINFO).
    epoch: u64,
    /// What the leader had committed when it synced this learner: the sync's
    /// transactions above it are proposals still waiting for their COMMIT.
    sync_committed: Zxid,
    /// PROPOSAL and COMMIT packets between NEWLEADER and UPTODATE, held as
    /// `Learner.syncWithLeader` holds them (`packetsNotCommitted`,
    /// `packetsCommitted`) and processed after UPTODATE.
    held: Vec<Msg<()>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HandlerStage {
    AwaitEpoch,
    AwaitAckEpoch,
    AwaitEpochQuorum,
    AwaitNewLeaderAck,
    AwaitStartup,
    Active,
}

/// The leader's side of one learner connection (LearnerHandler.java).
#[derive(Clone, Debug)]
struct Handler {
    conn: u64,
    stage: HandlerStage,
    /// The learner counts as synced while `tick <= deadline_tick`.
    deadline_tick: u64,
    /// Learner's last zxid, from ACKEPOCH.
    peer_last: Zxid,
}

impl Handler {
    fn forwarding(&self) -> bool {
        self.stage >= HandlerStage::AwaitNewLeaderAck
    }
}

/// A map keyed by node, stored as a vector indexed by node: the leader looks
/// up a learner's handler on every packet, which in a `BTreeMap` of 254
/// learners is a descent of a dozen or more comparisons. Iterates in node
/// order, as a `BTreeMap<NodeId, _>` does.
#[derive(Clone, Debug)]
struct NodeMap<V> {
    slots: Vec<Option<V>>,
}

impl<V> Default for NodeMap<V> {
    fn default() -> Self {
        NodeMap { slots: Vec::new() }
    }
}

impl<V> NodeMap<V> {
    fn get(&self, k: &NodeId) -> Option<&V> {
        self.slots.get(k.index()).and_then(Option::as_ref)
    }

    fn get_mut(&mut self, k: &NodeId) -> Option<&mut V> {
        self.slots.get_mut(k.index()).and_then(Option::as_mut)
    }

    fn insert(&mut self, k: NodeId, v: V) -> Option<V> {
        let i = k.index();
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace(v)
    }

    fn remove(&mut self, k: &NodeId) -> Option<V> {
        self.slots.get_mut(k.index()).and_then(Option::take)
    }

    fn retain(&mut self, mut keep: impl FnMut(NodeId, &mut V) -> bool) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.as_mut().is_some_and(|v| !keep(NodeId(i as u32), v)) {
                *slot = None;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (NodeId, &V)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (NodeId(i as u32), v)))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (NodeId, &mut V)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, v)| v.as_mut().map(|v| (NodeId(i as u32), v)))
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().flatten()
    }
}

#[derive(Clone, Debug)]
struct Leading {
    /// Epoch being proposed (getEpochToPropose), fixed once a quorum connected.
    epoch_candidate: u64,
    new_epoch: Option<u64>,
    connecting: BTreeSet<NodeId>,
    electing: BTreeSet<NodeId>,
    epoch_acked: bool,
    newleader_acks: BTreeSet<NodeId>,
    established: bool,
    handlers: NodeMap<Handler>,
    tick: u64,
    tick_skip: bool,
    counter: u64,
    /// Proposals not yet committed, in zxid order, with the servers that acked.
    outstanding: VecDeque<(Zxid, BTreeSet<NodeId>)>,
    last_committed: Zxid,
    /// (current epoch, last zxid) when leading began (`leaderStateSummary`).
    summary: (u64, Zxid),
    /// The session tracker, from `ZooKeeperServer.startup` on.
    tracker: Option<SessionTracker>,
    /// `lead()` has loaded its data and started the `LearnerCnxAcceptor`;
    /// until then connections wait in the socket's backlog (`backlog`).
    accepting: bool,
    backlog: Vec<(NodeId, u64, u64)>,
    /// The leader's own acceptedEpoch file is durable: LEADERINFO may go.
    epoch_durable: bool,
    /// A quorum acked NEWLEADER; `ZooKeeperServer.startup` is running.
    starting: bool,
}

impl Server {
    pub fn new(me: NodeId, voters: usize, p: ZkParams) -> Self {
        Server {
            me,
            voters,
            p,
            d: ZkDurable::default(),
            role: PeerRole::Looking(Election::idle()),
            logical_clock: 0,
            current_vote: None,
            clients: BTreeMap::new(),
            pending: BTreeMap::new(),
            last_processed: Zxid(0),
            processed_end: 0,
            next_conn: 0,
            fle_queue: VecDeque::new(),
            pipe: Stage::default(),
            tree: DataTree::default(),
            sess_here: BTreeMap::new(),
            sess_pending: BTreeMap::new(),
            watches: BTreeMap::new(),
            touched: BTreeMap::new(),
            next_session: 0,
        }
    }

    /// Give a fresh server a durable history, as if it had restarted with it.
    #[cfg(test)]
    pub(super) fn set_durable(&mut self, accepted_epoch: u64, current_epoch: u64, log: Vec<Txn>) {
        self.d = ZkDurable {
            accepted_epoch,
            current_epoch,
            log,
        };
        self.last_processed = self.last_logged_zxid();
        self.rebuild_tree();
    }

    /// A restarted server: a fresh process with only its files. It replays its
    /// whole log (FileTxnSnapLog restore), so it has processed all of it.
    pub fn recover(me: NodeId, voters: usize, p: ZkParams, d: &ZkDurable) -> Self {
        let mut s = Server::new(me, voters, p);
        s.d = d.clone();
        s.last_processed = s.last_logged_zxid();
        s.rebuild_tree();
        s
    }

    /// The data tree and session table this server has applied.
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The tree from scratch: the log up to `last_processed` (after a
    /// restart, TRUNC or SNAP).
    fn rebuild_tree(&mut self) {
        self.tree = DataTree::replay(&self.d.log, self.last_processed);
    }

    /// The index of the first log entry above `last_processed`. Where the
    /// last commit stopped is tried first (the next one usually starts
    /// there), so the common case reads two entries instead of searching a
    /// log of a million.
    fn processed_index(&self) -> usize {
        let (log, hint, zxid) = (&self.d.log, self.processed_end, self.last_processed);
        let fits = hint <= log.len()
            && (hint == 0 || log[hint - 1].zxid <= zxid)
            && (hint == log.len() || log[hint].zxid > zxid);
        if fits {
            hint
        } else {
            log.partition_point(|t| t.zxid <= zxid)
        }
    }

    /// Apply, without client effects, what `last_processed` moved past.
    fn catch_up_tree(&mut self) {
        let start = self.d.log.partition_point(|t| t.zxid <= self.tree.zxid);
        let end = self
            .d
            .log
            .partition_point(|t| t.zxid <= self.last_processed);
        for i in start..end {
            self.tree.apply(&self.d.log[i]);
        }
    }

    /// The working copy of the durable state.
    pub fn durable(&self) -> &ZkDurable {
        &self.d
    }

    /// `myid` of this server.
    pub fn sid(&self) -> Sid {
        u64::from(self.me.0) + 1
    }

    pub fn current_epoch(&self) -> u64 {
        self.d.current_epoch
    }

    pub fn accepted_epoch(&self) -> u64 {
        self.d.accepted_epoch
    }

    /// Every logged transaction, committed or not, in zxid order.
    pub fn log(&self) -> &[Txn] {
        &self.d.log
    }

    /// `lastLoggedZxid`: includes proposals logged but never committed.
    pub fn last_logged_zxid(&self) -> Zxid {
        self.d.log.last().map_or(Zxid(0), |t| t.zxid)
    }

    pub fn state(&self) -> ServerState {
        match self.role {
            PeerRole::Looking(_) => ServerState::Looking,
            PeerRole::Following(_) => ServerState::Following,
            PeerRole::Leading(_) => ServerState::Leading,
            PeerRole::Between(b) => b.shown,
        }
    }

    /// The leader's last committed zxid; `None` when not leading.
    pub fn committed(&self) -> Option<Zxid> {
        match &self.role {
            PeerRole::Leading(l) => Some(l.last_committed),
            _ => None,
        }
    }

    pub fn logical_clock(&self) -> u64 {
        self.logical_clock
    }

    /// Whether this server answers clients.
    pub fn serving(&self) -> bool {
        match &self.role {
            PeerRole::Following(f) => f.stage == FollowStage::Serving,
            PeerRole::Leading(l) => l.established,
            PeerRole::Looking(_) | PeerRole::Between(_) => false,
        }
    }

    pub fn view(&self) -> View {
        match &self.role {
            PeerRole::Looking(_) => View {
                role: Role::Candidate,
                term: self.logical_clock,
                leader: None,
                serving: false,
            },
            PeerRole::Following(f) => View {
                role: Role::Follower,
                term: self.d.accepted_epoch,
                leader: Some(f.leader),
                serving: f.stage == FollowStage::Serving,
            },
            PeerRole::Leading(l) => View {
                role: Role::Leader,
                term: l.new_epoch.unwrap_or(l.epoch_candidate),
                leader: Some(self.me),
                serving: l.established,
            },
            PeerRole::Between(b) => View {
                role: match b.next {
                    Next::Look => Role::Candidate,
                    Next::Lead => Role::Leader,
                    Next::Follow(_) => Role::Follower,
                },
                term: self.d.accepted_epoch,
                leader: match b.next {
                    Next::Look => None,
                    Next::Lead => Some(self.me),
                    Next::Follow(l) => Some(l),
                },
                serving: false,
            },
        }
    }

    fn node(&self, sid: Sid) -> NodeId {
        NodeId((sid - 1) as u32)
    }

    fn voter_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.voters as u32).map(NodeId)
    }

    // ---------------------------------------------------------------- lifecycle

    pub fn on_start<A: App>(&mut self, ctx: &mut C<'_, A>) {
        self.look_for_leader(ctx);
    }

    /// Leave FOLLOWING/LEADING: close every connection and start an election.
    fn shutdown<A: App>(&mut self, ctx: &mut C<'_, A>) {
        match &self.role {
            PeerRole::Following(f) => ctx.send(f.leader, Msg::LearnerClose { conn: f.conn }),
            PeerRole::Leading(l) => {
                for (id, h) in l.handlers.iter() {
                    ctx.send(id, Msg::LeaderClose { conn: h.conn });
                }
            }
            PeerRole::Looking(_) | PeerRole::Between(_) => {}
        }
        for (&c, &conn) in &self.clients {
            ctx.send(c, Msg::ClientClose { conn });
        }
        self.clients.clear();
        self.pending.clear();
        self.sess_here.clear();
        self.sess_pending.clear();
        self.watches.clear();
        self.touched.clear();
        // Follower/Leader.shutdown runs before the peer sets LOOKING.
        let c = &self.p.costs;
        let jitter = crate::engine::rng::range_inclusive(ctx.rng(), 0, c.shutdown_jitter.0);
        let took = SimDuration(c.shutdown.0 + jitter);
        let shown = self.state();
        self.between(ctx, shown, Next::Look, took);
    }

    /// A change of role cancels every timer but the election threads' work,
    /// and drops what the request processors held.
    fn reset_timers<A: App>(&mut self, ctx: &mut C<'_, A>) {
        ctx.cancel_all_timers();
        self.pipe.clear();
        if let Some(&(due, _)) = self.fle_queue.front() {
            ctx.set_timer(due.since(ctx.now()), Timer::FleProcess);
        }
    }

    /// A notification reaches the election threads: processed in arrival
    /// order, each taking `fleNotificationUs`.
    fn fle_arrive<A: App>(&mut self, ctx: &mut C<'_, A>, n: Notification) {
        let cost = self.p.costs.notification;
        if cost == SimDuration::ZERO {
            return self.on_notification(ctx, n);
        }
        let start = self
            .fle_queue
            .back()
            .map_or(ctx.now(), |&(due, _)| due.max(ctx.now()));
        let due = start + cost;
        if self.fle_queue.is_empty() {
            ctx.set_timer(due.since(ctx.now()), Timer::FleProcess);
        }
        self.fle_queue.push_back((due, n));
    }

    fn on_fle_process<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let Some((_, n)) = self.fle_queue.pop_front() else {
            return;
        };
        if let Some(&(due, _)) = self.fle_queue.front() {
            ctx.set_timer(due.since(ctx.now()), Timer::FleProcess);
        }
        self.on_notification(ctx, n);
    }

    /// Spend `took` between roles, then go on to `next`.
    fn between<A: App>(
        &mut self,
        ctx: &mut C<'_, A>,
        shown: ServerState,
        next: Next,
        took: SimDuration,
    ) {
        self.reset_timers(ctx);
        if took == SimDuration::ZERO {
            return self.enter(ctx, next);
        }
        self.role = PeerRole::Between(Between { shown, next });
        ctx.set_timer(took, Timer::Between);
    }

    fn enter<A: App>(&mut self, ctx: &mut C<'_, A>, next: Next) {
        match next {
            Next::Look => self.look_for_leader(ctx),
            Next::Lead => self.lead(ctx),
            Next::Follow(leader) => self.follow(ctx, leader),
        }
    }

    fn on_between<A: App>(&mut self, ctx: &mut C<'_, A>) {
        if let PeerRole::Between(b) = self.role {
            self.enter(ctx, b.next);
        }
    }

    // ---------------------------------------------------------------- election

    fn init_vote(&self) -> (Sid, Zxid, u64) {
        (self.sid(), self.last_logged_zxid(), self.d.current_epoch)
    }

    /// FastLeaderElection.java `lookForLeader`, entry.
    fn look_for_leader<A: App>(&mut self, ctx: &mut C<'_, A>) {
        self.reset_timers(ctx);
        self.logical_clock += 1;
        ctx.record(Obs::phase("looking"));
        ctx.record(Obs::round(self.logical_clock));
        let not_timeout = self.p.min_notification_interval;
        self.role = PeerRole::Looking(Election {
            proposal: self.init_vote(),
            recvset: VoteSet::default(),
            outofelection: VoteSet::default(),
            not_timeout,
            draining: false,
            deadline: ctx.now() + not_timeout,
            timer: None,
        });
        self.send_notifications(ctx);
        self.arm_poll(ctx);
    }

    fn send_notifications<A: App>(&self, ctx: &mut C<'_, A>) {
        let PeerRole::Looking(e) = &self.role else {
            return;
        };
        let n = e.notification(self.sid(), self.logical_clock);
        for id in self.voter_ids() {
            if id == self.me && self.p.costs.self_delivery > SimDuration::ZERO {
                // To itself through the WorkerSender, the receive queue and
                // the WorkerReceiver, not the network.
                ctx.set_timer(self.p.costs.self_delivery, Timer::SelfNotification(n));
            } else {
                ctx.send(id, Msg::Notification(n));
            }
        }
    }

    /// Make sure a poll timer fires at the election's deadline.
    fn arm_poll<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let PeerRole::Looking(e) = &mut self.role else {
            return;
        };
        if e.timer.is_some_and(|at| at <= e.deadline) {
            return; // fires first, then re-arms for the deadline
        }
        ctx.set_timer(e.deadline.since(ctx.now()), Timer::Poll);
        e.timer = Some(e.deadline);
    }

    fn on_poll<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let now = ctx.now();
        let PeerRole::Looking(e) = &mut self.role else {
            return;
        };
        e.timer = None;
        if now < e.deadline {
            self.arm_poll(ctx);
            return;
        }
        if e.draining {
            // No better vote for finalizeWait: the election is decided.
            let end = e.vote(self.logical_clock);
            let supporters = self.supporters();
            self.decide(ctx, end, supporters);
            return;
        }
        // An empty poll: re-send the proposal, back off.
        e.not_timeout = (e.not_timeout + e.not_timeout).min(self.p.max_notification_interval);
        e.deadline = now + e.not_timeout;
        self.send_notifications(ctx);
        self.arm_poll(ctx);
    }

    fn supporters(&self) -> Vec<NodeId> {
        let PeerRole::Looking(e) = &self.role else {
            return Vec::new();
        };
        let target = e.vote(self.logical_clock);
        e.recvset
            .iter()
            .filter(|(_, v)| v.matches(&target) && v.state == ServerState::Looking)
            .map(|(&sid, _)| self.node(sid))
            .collect()
    }

    /// Messenger.WorkerReceiver: every notification passes here first.
    fn on_notification<A: App>(&mut self, ctx: &mut C<'_, A>, n: Notification) {
        if !matches!(self.role, PeerRole::Looking(_)) {
            // Not looking: answer a looking peer with the settled vote.
            if n.state == ServerState::Looking {
                if let Some(v) = self.current_vote {
                    let reply = Notification {
                        sid: self.sid(),
                        state: self.state(),
                        leader: v.leader,
                        zxid: v.zxid,
                        election_epoch: v.election_epoch,
                        peer_epoch: v.peer_epoch,
                    };
                    ctx.send(self.node(n.sid), Msg::Notification(reply));
                }
            }
            return;
        }
        // Looking: a lagging looking peer gets our proposal back.
        if n.state == ServerState::Looking && n.election_epoch < self.logical_clock {
            if let PeerRole::Looking(e) = &self.role {
                let reply = e.notification(self.sid(), self.logical_clock);
                ctx.send(self.node(n.sid), Msg::Notification(reply));
            }
        }
        self.election_receive(ctx, n);
    }

    /// The `lookForLeader` loop body for one dequeued notification.
    fn election_receive<A: App>(&mut self, ctx: &mut C<'_, A>, n: Notification) {
        let now = ctx.now();
        let finalize_wait = self.p.finalize_wait;
        let PeerRole::Looking(e) = &mut self.role else {
            return;
        };
        if e.draining {
            if !beats(
                (n.peer_epoch, n.zxid, n.leader),
                (e.proposal.2, e.proposal.1, e.proposal.0),
            ) {
                // Drained and dropped; keep waiting for a better vote.
                e.deadline = now + finalize_wait;
                self.arm_poll(ctx);
                return;
            }
            // A better vote: put it back and continue the main loop.
            e.draining = false;
        }
        match n.state {
            ServerState::Looking => {
                if n.election_epoch > self.logical_clock {
                    self.logical_clock = n.election_epoch;
                    ctx.record(Obs::round(self.logical_clock));
                    let init = self.init_vote();
                    let PeerRole::Looking(e) = &mut self.role else {
                        unreachable!()
                    };
                    e.recvset.clear();
                    e.proposal =
                        if beats((n.peer_epoch, n.zxid, n.leader), (init.2, init.1, init.0)) {
                            (n.leader, n.zxid, n.peer_epoch)
                        } else {
                            init
                        };
                    self.send_notifications(ctx);
                } else if n.election_epoch < self.logical_clock {
                    self.poll_again(ctx);
                    return;
                } else if beats(
                    (n.peer_epoch, n.zxid, n.leader),
                    (e.proposal.2, e.proposal.1, e.proposal.0),
                ) {
                    e.proposal = (n.leader, n.zxid, n.peer_epoch);
                    self.send_notifications(ctx);
                }
                let clock = self.logical_clock;
                let PeerRole::Looking(e) = &mut self.role else {
                    unreachable!()
                };
                e.recvset.insert(
                    n.sid,
                    Vote {
                        leader: n.leader,
                        zxid: n.zxid,
                        election_epoch: n.election_epoch,
                        peer_epoch: n.peer_epoch,
                        state: ServerState::Looking,
                    },
                );
                let target = e.vote(clock);
                let agree = e.recvset.matching(&target);
                if is_quorum(agree, self.voters) {
                    e.draining = true;
                    e.deadline = now + finalize_wait;
                    self.arm_poll(ctx);
                    return;
                }
                self.poll_again(ctx);
            }
            ServerState::Following | ServerState::Leading => {
                if let Some(end) = self.received_settled_notification(n) {
                    self.decide(ctx, end, Vec::new());
                } else {
                    self.poll_again(ctx);
                }
            }
        }
    }

    /// After a non-deciding notification the next poll waits `notTimeout` again.
    fn poll_again<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let now = ctx.now();
        if let PeerRole::Looking(e) = &mut self.role {
            e.deadline = now + e.not_timeout;
        }
        self.arm_poll(ctx);
    }

    /// `receivedFollowingNotification` / `receivedLeadingNotification`.
    fn received_settled_notification(&mut self, n: Notification) -> Option<Vote> {
        let me = self.sid();
        let clock = self.logical_clock;
        let voters = self.voters;
        let PeerRole::Looking(e) = &mut self.role else {
            return None;
        };
        let vote = Vote {
            leader: n.leader,
            zxid: n.zxid,
            election_epoch: n.election_epoch,
            peer_epoch: n.peer_epoch,
            state: n.state,
        };
        let end = Vote {
            state: ServerState::Looking,
            ..vote
        };
        if n.election_epoch == clock {
            e.recvset.insert(n.sid, vote);
            let agree = e.recvset.matching(&vote);
            if is_quorum(agree, voters)
                && check_leader(&e.recvset, n.leader, n.election_epoch, me, clock)
            {
                return Some(end);
            }
        }
        e.outofelection.insert(n.sid, vote);
        let agree = e.outofelection.matching(&vote);
        if is_quorum(agree, voters)
            && check_leader(&e.outofelection, n.leader, n.election_epoch, me, clock)
        {
            self.logical_clock = n.election_epoch;
            return Some(end);
        }
        None
    }

    /// The election is over: follow or lead `end.leader`.
    fn decide<A: App>(&mut self, ctx: &mut C<'_, A>, end: Vote, supporters: Vec<NodeId>) {
        let end = Vote {
            election_epoch: self.logical_clock,
            ..end
        };
        self.current_vote = Some(end);
        ctx.record(Obs::phase("decided"));
        if end.leader == self.sid() {
            ctx.record(Obs::elected(self.me, self.logical_clock));
            ctx.record(Obs::Note(ZkNote::Decided {
                leader: self.me,
                peer_epoch: end.peer_epoch,
                zxid: end.zxid,
                supporters,
            }));
            let took = self.p.costs.make_leader;
            self.between(ctx, ServerState::Leading, Next::Lead, took);
        } else {
            let leader = self.node(end.leader);
            let took = self.p.costs.make_follower;
            self.between(ctx, ServerState::Following, Next::Follow(leader), took);
        }
    }

    // ---------------------------------------------------------------- follower

    fn follow<A: App>(&mut self, ctx: &mut C<'_, A>, leader: NodeId) {
        self.reset_timers(ctx);
        // A restarted process opens new sockets: numbering connections with
        // the incarnation means a packet of an old one is never taken for one
        // of a new.
        self.next_conn += 1;
        let conn = u64::from(ctx.incarnation()) << 32 | self.next_conn;
        self.role = PeerRole::Following(Following {
            leader,
            conn,
            stage: FollowStage::Connecting { attempt: 1 },
            connect_started: ctx.now(),
            last_heard: ctx.now(),
            read_timeout: self.p.connect_timeout(),
            read_timer: None,
            ack_epoch_pending: false,
            ack_newleader_pending: false,
            epoch: 0,
            sync_committed: Zxid(0),
            held: Vec::new(),
        });
        ctx.send(
            leader,
            Msg::FollowerInfo {
                conn,
                accepted_epoch: self.d.accepted_epoch,
            },
        );
        self.arm_read_check(ctx);
    }

    /// Make sure a check fires when the leader has been silent for the read
    /// timeout (the socket's SO_TIMEOUT).
    fn arm_read_check<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let PeerRole::Following(f) = &mut self.role else {
            return;
        };
        let due = f.last_heard + f.read_timeout;
        if f.read_timer.is_some_and(|at| at <= due) {
            return; // fires first, then re-arms
        }
        ctx.set_timer(due.since(ctx.now()), Timer::ReadCheck);
        f.read_timer = Some(due);
    }

    fn on_read_check<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let PeerRole::Following(f) = &mut self.role else {
            return;
        };
        f.read_timer = None;
        if ctx.now() >= f.last_heard + f.read_timeout {
            let leader = f.leader;
            ctx.record(Obs::detected(Some(leader)));
            self.shutdown(ctx);
        } else {
            self.arm_read_check(ctx);
        }
    }

    fn on_reconnect<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let accepted_epoch = self.d.accepted_epoch;
        if let PeerRole::Following(f) = &mut self.role {
            if let FollowStage::Connecting { .. } = f.stage {
                ctx.send(
                    f.leader,
                    Msg::FollowerInfo {
                        conn: f.conn,
                        accepted_epoch,
                    },
                );
            }
        }
    }

    /// A packet from the leader on connection `conn`: is it ours?
    fn is_my_leader(&mut self, from: NodeId, conn: u64, now: SimTime) -> bool {
        match &mut self.role {
            PeerRole::Following(f) if f.leader == from && f.conn == conn => {
                f.last_heard = now;
                true
            }
            _ => false,
        }
    }

    fn follower_receive<A: App>(&mut self, ctx: &mut C<'_, A>, from: NodeId, msg: Msg<A::Msg>) {
        let now = ctx.now();
        let conn = msg.conn().expect("leader packets belong to a connection");
        if !self.is_my_leader(from, conn, now) {
            return;
        }
        let PeerRole::Following(f) = &mut self.role else {
            unreachable!()
        };
        match msg {
            Msg::LeaderClose { .. } => {
                if let FollowStage::Connecting { attempt } = f.stage {
                    // Connection refused: the leader is not listening yet.
                    let elapsed = now.since(f.connect_started);
                    let left = self.p.connect_timeout().0.saturating_sub(elapsed.0);
                    if attempt < 5 && left > self.p.leader_connect_retry_delay.0 {
                        f.stage = FollowStage::Connecting {
                            attempt: attempt + 1,
                        };
                        ctx.set_timer(
                            self.p.leader_connect_retry_delay,
                            Timer::Reconnect {
                                attempt: attempt + 1,
                            },
                        );
                        return;
                    }
                }
                let leader = f.leader;
                ctx.record(Obs::detected(Some(leader)));
                self.shutdown(ctx);
            }
            Msg::LeaderInfo { new_epoch, .. } => {
                f.stage = FollowStage::Discovery;
                f.epoch = new_epoch;
                f.read_timeout = self.p.init_timeout();
                let (leader, conn) = (f.leader, f.conn);
                ctx.record(Obs::phase("leader_bound"));
                if new_epoch > self.d.accepted_epoch {
                    // Learner.registerWithLeader: the acceptedEpoch file is
                    // written (and fsynced) before ACKEPOCH goes out.
                    f.ack_epoch_pending = true;
                    self.write(ctx, ZkWrite::AcceptedEpoch(new_epoch));
                    return;
                } else if new_epoch == self.d.accepted_epoch {
                    ctx.send(
                        leader,
                        Msg::AckEpoch {
                            conn,
                            current_epoch: None,
                            last_zxid: self.last_logged_zxid(),
                        },
                    );
                } else {
                    // "Leaders epoch is less than accepted epoch": give up.
                    self.shutdown(ctx);
                    return;
                }
                self.arm_read_check(ctx);
            }
            Msg::Sync {
                mode,
                truncate_to,
                txns,
                committed,
                ..
            } => {
                f.sync_committed = committed;
                // What the learner applied goes back with its log: TRUNC
                // reloads the database up to the truncation point, SNAP
                // replaces it with the leader's committed state.
                match mode {
                    SyncMode::Trunc => self.last_processed = self.last_processed.min(truncate_to),
                    SyncMode::Snap => self.last_processed = committed,
                    SyncMode::Diff => {}
                }
                self.write(
                    ctx,
                    ZkWrite::Sync {
                        mode,
                        truncate_to,
                        txns,
                    },
                );
                self.last_processed = self.last_processed.min(self.last_logged_zxid());
                self.rebuild_tree();
            }
            Msg::NewLeader { epoch, .. } => {
                // The sync's transactions are in the log; the currentEpoch
                // file is written, then NEWLEADER is acked.
                f.stage = FollowStage::Synced;
                f.read_timeout = self.p.sync_timeout();
                f.ack_newleader_pending = true;
                self.write(ctx, ZkWrite::CurrentEpoch(epoch));
            }
            Msg::UpToDate { .. } => {
                f.stage = FollowStage::Serving;
                let (leader, conn, epoch) = (f.leader, f.conn, f.epoch);
                let committed = f.sync_committed.min(self.d.last_logged_zxid());
                let held = std::mem::take(&mut f.held);
                // The sync's transactions up to the leader's commit point are
                // committed; those above it are proposals still in flight
                // (`startForwarding`), acked now and applied on their COMMIT.
                self.last_processed = self.last_processed.max(committed);
                self.catch_up_tree();
                let start = self.d.log.partition_point(|t| t.zxid <= committed);
                for t in &self.d.log[start..] {
                    ctx.send(leader, Msg::Ack { conn, zxid: t.zxid });
                }
                // ZOOKEEPER-1732 (`updateElectionVote`): report the new epoch
                // to servers that look for the leader from now on.
                if let Some(v) = &mut self.current_vote {
                    v.peer_epoch = epoch;
                }
                ctx.record(Obs::phase("serving"));
                ctx.record(Obs::Note(ZkNote::UpToDate {
                    leader,
                    applied: self.last_processed,
                }));
                for msg in held {
                    self.follower_receive(ctx, from, msg.retype());
                }
            }
            Msg::Proposal { .. } | Msg::Commit { .. } if f.stage == FollowStage::Synced => {
                // Between NEWLEADER and UPTODATE: held until UPTODATE.
                f.held.push(msg.retype());
            }
            Msg::Proposal { txn, .. } => {
                let (leader, conn) = (f.leader, f.conn);
                if txn.zxid > self.last_logged_zxid() {
                    // SyncRequestProcessor logs it; SendAckRequestProcessor
                    // acks once the log is flushed.
                    let fsync = self.p.force_sync;
                    self.log_proposal(ctx, ZkWrite::Append { txn, fsync });
                    return;
                }
                ctx.send(
                    leader,
                    Msg::Ack {
                        conn,
                        zxid: txn.zxid,
                    },
                );
            }
            Msg::Commit { zxid, .. } => self.apply_commit(ctx, zxid),
            Msg::Ping { .. } => {
                let (leader, conn) = (f.leader, f.conn);
                // Most pings carry no touches: build nothing for them.
                let touches = if self.touched.is_empty() {
                    Vec::new()
                } else {
                    std::mem::take(&mut self.touched).into_iter().collect()
                };
                ctx.send(leader, Msg::PingReply { conn, touches });
            }
            Msg::RevalidateReply {
                client,
                session,
                valid,
                ..
            } => self.finish_connect(ctx, client, session, valid),
            _ => unreachable!(),
        }
    }

    /// Apply every logged transaction up to `zxid`; answer the clients whose
    /// writes came in through this server.
    fn apply_commit<A: App>(&mut self, ctx: &mut C<'_, A>, zxid: Zxid) {
        if zxid <= self.last_processed {
            return;
        }
        let start = self.processed_index();
        let log = &self.d.log;
        let end = start + log[start..].partition_point(|t| t.zxid <= zxid);
        self.processed_end = end;
        for i in start..end {
            let t = &self.d.log[i];
            if let Some(b) = &t.body {
                let (t, b) = (t.clone(), Arc::clone(b));
                let applied = self.tree.apply(&t);
                self.applied(ctx, &t, &b, applied);
                continue;
            }
            self.tree.zxid = t.zxid;
            if t.origin != self.me {
                continue;
            }
            if let Some((client, conn)) = self.pending.remove(&t.op) {
                if self.clients.get(&client) == Some(&conn) {
                    let reply = Msg::Reply {
                        conn,
                        op: t.op,
                        ok: true,
                        zxid: t.zxid,
                    };
                    ctx.send(client, reply);
                }
            }
        }
        self.last_processed = zxid;
    }

    // ---------------------------------------------------------------- leader

    fn lead<A: App>(&mut self, ctx: &mut C<'_, A>) {
        self.reset_timers(ctx);
        // Leader.lead() begins: ZooKeeper logs "LEADER ELECTION TOOK" here.
        ctx.record(Obs::phase("lead"));
        let load_data = self.p.costs.leader_load_data;
        let l = Leading {
            epoch_candidate: self.d.accepted_epoch + 1,
            new_epoch: None,
            connecting: BTreeSet::from([self.me]),
            electing: BTreeSet::new(),
            epoch_acked: false,
            newleader_acks: BTreeSet::new(),
            established: false,
            handlers: NodeMap::default(),
            tick: 0,
            tick_skip: true,
            tracker: None,
            counter: 0,
            outstanding: VecDeque::new(),
            last_committed: Zxid(0),
            summary: (self.d.current_epoch, self.last_logged_zxid()),
            accepting: false,
            backlog: Vec::new(),
            epoch_durable: false,
            starting: false,
        };
        self.role = PeerRole::Leading(Box::new(l));
        if load_data == SimDuration::ZERO {
            self.on_leader_ready(ctx);
        } else {
            ctx.set_timer(load_data, Timer::LeaderReady);
        }
    }

    /// `loadData` is done: start the `LearnerCnxAcceptor`, take the learners
    /// waiting in the backlog, and wait for a quorum's epochs.
    fn on_leader_ready<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let PeerRole::Leading(l) = &mut self.role else {
            return;
        };
        l.accepting = true;
        let backlog = std::mem::take(&mut l.backlog);
        self.arm_phase(ctx, 0);
        for (from, conn, accepted_epoch) in backlog {
            self.accept_learner(ctx, from, conn, accepted_epoch);
        }
        self.try_fix_epoch(ctx);
    }

    fn leading(&mut self) -> &mut Leading {
        match &mut self.role {
            PeerRole::Leading(l) => l,
            _ => unreachable!("only called while leading"),
        }
    }

    fn arm_phase<A: App>(&mut self, ctx: &mut C<'_, A>, phase: u8) {
        ctx.set_timer(self.p.init_timeout(), Timer::LeaderPhase { phase });
    }

    fn on_leader_phase<A: App>(&mut self, ctx: &mut C<'_, A>, phase: u8) {
        let PeerRole::Leading(l) = &self.role else {
            return;
        };
        let timed_out = match phase {
            0 => l.new_epoch.is_none(), // "Timeout while waiting for epoch from quorum"
            1 => !l.epoch_acked,        // "Timeout while waiting for epoch to be acked by quorum"
            _ => !l.established,        // "Waiting for a quorum of followers"
        };
        if timed_out {
            self.shutdown(ctx);
        }
    }

    /// `getEpochToPropose`: once a quorum (with the leader) has connected, the
    /// new epoch is fixed and sent to every waiting learner.
    fn try_fix_epoch<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let voters = self.voters;
        let l = self.leading();
        if !l.accepting || l.new_epoch.is_some() || !is_quorum(l.connecting.len(), voters) {
            return;
        }
        let epoch = l.epoch_candidate;
        l.new_epoch = Some(epoch);
        // The acceptedEpoch file is written (and fsynced) before the waiting
        // handlers are woken to send LEADERINFO (`getEpochToPropose`).
        self.write(ctx, ZkWrite::AcceptedEpoch(epoch));
    }

    /// The leader's acceptedEpoch is durable: LEADERINFO to every learner
    /// waiting for it; the leader's own epoch ack counts.
    fn on_epoch_durable<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let me = self.me;
        let l = self.leading();
        if l.epoch_durable {
            return;
        }
        l.epoch_durable = true;
        let epoch = l
            .new_epoch
            .expect("the epoch is fixed before it is written");
        for (id, h) in l.handlers.iter_mut() {
            if h.stage == HandlerStage::AwaitEpoch {
                h.stage = HandlerStage::AwaitAckEpoch;
                ctx.send(
                    id,
                    Msg::LeaderInfo {
                        conn: h.conn,
                        new_epoch: epoch,
                    },
                );
            }
        }
        l.electing.insert(me);
        self.arm_phase(ctx, 1);
        self.try_epoch_quorum(ctx);
    }

    /// `waitForEpochAck`: a quorum acked the epoch; sync the learners.
    fn try_epoch_quorum<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let voters = self.voters;
        let me = self.me;
        let l = self.leading();
        if l.epoch_acked || !is_quorum(l.electing.len(), voters) {
            return;
        }
        l.epoch_acked = true;
        let epoch = l.new_epoch.expect("epoch is fixed before it is acked");
        let waiting: Vec<NodeId> = l
            .handlers
            .iter()
            .filter(|(_, h)| h.stage == HandlerStage::AwaitEpochQuorum)
            .map(|(id, _)| id)
            .collect();
        ctx.record(Obs::Note(ZkNote::EpochAcked {
            leader: me,
            epoch,
            summary: self.leading().summary,
            quorum: self.leading().electing.iter().copied().collect(),
        }));
        ctx.record(Obs::phase("epoch_agreed"));
        self.write(ctx, ZkWrite::CurrentEpoch(epoch));
        self.arm_phase(ctx, 2);
        for id in waiting {
            self.sync_learner(ctx, id);
        }
        self.try_establish(ctx);
    }

    /// `syncFollower` + NEWLEADER.
    fn sync_learner<A: App>(&mut self, ctx: &mut C<'_, A>, id: NodeId) {
        let leader_last = self.last_logged_zxid();
        let commit_log_count = self.p.commit_log_count as usize;
        let (peer_last, conn) = {
            let h = self.leading().handlers.get(&id).expect("handler exists");
            (h.peer_last, h.conn)
        };
        let established = self.leading().established;
        let last_committed = self.leading().last_committed;
        let (mode, truncate_to, txns) = if peer_last == leader_last {
            (SyncMode::Diff, Zxid(0), Vec::new())
        } else if established && peer_last > last_committed {
            // LearnerHandler.syncFollower: a learner ahead of the leader's
            // committed log (proposals it logged, committed or not) is
            // truncated to it; the outstanding proposals then follow
            // (`startForwarding`).
            let from = self.d.log.partition_point(|t| t.zxid <= last_committed);
            (SyncMode::Trunc, last_committed, self.d.log[from..].to_vec())
        } else {
            let idx = self.d.log.partition_point(|t| t.zxid < peer_last);
            let found = self.d.log.get(idx).is_some_and(|t| t.zxid == peer_last);
            if found || peer_last == Zxid(0) {
                let from = if found { idx + 1 } else { 0 };
                let missing = self.d.log.len() - from;
                if missing > commit_log_count {
                    (SyncMode::Snap, Zxid(0), self.d.log.clone())
                } else {
                    (SyncMode::Diff, Zxid(0), self.d.log[from..].to_vec())
                }
            } else {
                // The learner has transactions this leader never had.
                let keep = idx; // log[..idx] are below peer_last
                let truncate_to = if keep == 0 {
                    Zxid(0)
                } else {
                    self.d.log[keep - 1].zxid
                };
                if keep == 0 || self.d.log.len() - keep > commit_log_count {
                    (SyncMode::Snap, Zxid(0), self.d.log.clone())
                } else {
                    (SyncMode::Trunc, truncate_to, self.d.log[keep..].to_vec())
                }
            }
        };
        let epoch = self.d.current_epoch;
        // A new leader's NEWLEADER commits its whole log; an established one
        // forwards its outstanding proposals without their COMMIT.
        let committed = {
            let l = self.leading();
            if l.established {
                l.last_committed
            } else {
                leader_last
            }
        };
        ctx.send(
            id,
            Msg::Sync {
                conn,
                mode,
                truncate_to,
                txns,
                committed,
            },
        );
        ctx.send(id, Msg::NewLeader { conn, epoch });
        self.leading()
            .handlers
            .get_mut(&id)
            .expect("handler exists")
            .stage = HandlerStage::AwaitNewLeaderAck;
    }

    /// `waitForNewLeaderAck` done: `startZkServer`.
    fn try_establish<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let voters = self.voters;
        let last = self.last_logged_zxid();
        let startup = self.p.costs.leader_startup;
        let l = self.leading();
        if l.starting || !l.epoch_acked || !is_quorum(l.newleader_acks.len(), voters) {
            return;
        }
        l.starting = true;
        // Everything in the new leader's log is committed now.
        l.last_committed = last;
        if startup == SimDuration::ZERO {
            self.on_leader_started(ctx);
        } else {
            ctx.set_timer(startup, Timer::LeaderStarted);
        }
    }

    /// `ZooKeeperServer.startup` is done: serve, and let the learner handlers
    /// waiting for it (`waitForStartup`) send UPTODATE.
    fn on_leader_started<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let me = self.me;
        let last = self.last_logged_zxid();
        let PeerRole::Leading(l) = &mut self.role else {
            return;
        };
        l.established = true;
        let epoch = l.new_epoch.expect("fixed");
        for (id, h) in l.handlers.iter_mut() {
            if h.stage == HandlerStage::AwaitStartup {
                h.stage = HandlerStage::Active;
                ctx.send(id, Msg::UpToDate { conn: h.conn });
            }
        }
        self.last_processed = last;
        self.catch_up_tree();
        // The session tracker starts with every session of the database,
        // each with a full timeout from now (SessionTrackerImpl's
        // constructor): election time is not charged against sessions.
        let mut tracker = SessionTracker::new(self.p.tick);
        for (&s, &(timeout, _)) in &self.tree.sessions {
            tracker.track(s, SimDuration::from_ms(timeout), ctx.now());
        }
        if let PeerRole::Leading(l) = &mut self.role {
            l.tracker = Some(tracker);
        }
        self.arm_expiry(ctx);
        // ZOOKEEPER-1732 (`updateElectionVote`).
        if let Some(v) = &mut self.current_vote {
            v.peer_epoch = epoch;
        }
        ctx.record(Obs::serving(me, epoch));
        ctx.record(Obs::Note(ZkNote::Established { leader: me, epoch }));
        ctx.set_timer(half(self.p.tick), Timer::Tick);
    }

    /// The leader's heartbeat loop (Leader.java `lead`, after start-up).
    fn on_tick<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let voters = self.voters;
        let PeerRole::Leading(l) = &mut self.role else {
            return;
        };
        if !l.tick_skip {
            l.tick += 1;
            let tick = l.tick;
            let synced = 1 + l
                .handlers
                .values()
                .filter(|h| tick <= h.deadline_tick)
                .count();
            if !is_quorum(synced, voters) {
                // "Not sufficient followers synced"
                ctx.record(Obs::detected(None));
                self.shutdown(ctx);
                return;
            }
        }
        l.tick_skip = !l.tick_skip;
        // A learner silent for syncLimit ticks hits its handler's socket read
        // timeout (syncLimit x tickTime): the handler shuts down.
        let tick = l.tick;
        l.handlers.retain(|_, h| tick <= h.deadline_tick);
        for (id, h) in l.handlers.iter() {
            if h.forwarding() {
                ctx.send(id, Msg::Ping { conn: h.conn });
            }
        }
        ctx.set_timer(half(self.p.tick), Timer::Tick);
    }

    fn leader_receive<A: App>(&mut self, ctx: &mut C<'_, A>, from: NodeId, msg: Msg<A::Msg>) {
        let sync_limit = self.p.sync_limit;
        let PeerRole::Leading(l) = &mut self.role else {
            // Not leading: refuse learner connections, ignore stale packets.
            if let Msg::FollowerInfo { conn, .. } = msg {
                ctx.send(from, Msg::LeaderClose { conn });
            }
            return;
        };
        if let Msg::FollowerInfo {
            conn,
            accepted_epoch,
        } = msg
        {
            if l.accepting {
                self.accept_learner(ctx, from, conn, accepted_epoch);
                self.try_fix_epoch(ctx);
            } else {
                l.backlog.push((from, conn, accepted_epoch));
            }
            return;
        }
        let conn = msg.conn().expect("learner packets belong to a connection");
        let tick = l.tick;
        let Some(h) = l.handlers.get_mut(&from).filter(|h| h.conn == conn) else {
            return; // a packet of a closed connection
        };
        h.deadline_tick = tick + sync_limit;
        match msg {
            Msg::LearnerClose { .. } => {
                l.handlers.remove(&from);
            }
            Msg::AckEpoch {
                current_epoch,
                last_zxid,
                ..
            } => {
                if h.stage != HandlerStage::AwaitAckEpoch {
                    return;
                }
                h.peer_last = last_zxid;
                h.stage = HandlerStage::AwaitEpochQuorum;
                if !l.epoch_acked {
                    if let Some(ce) = current_epoch {
                        if (ce, last_zxid) > l.summary {
                            // "Follower is ahead of the leader": this learner's
                            // handler fails (LearnerHandler.run); the leader waits on.
                            ctx.send(from, Msg::LeaderClose { conn });
                            l.handlers.remove(&from);
                            return;
                        }
                        l.electing.insert(from);
                    }
                    self.try_epoch_quorum(ctx);
                } else {
                    self.sync_learner(ctx, from);
                }
            }
            Msg::AckNewLeader { .. } => {
                if h.stage != HandlerStage::AwaitNewLeaderAck {
                    return;
                }
                h.stage = HandlerStage::AwaitStartup;
                if l.established {
                    h.stage = HandlerStage::Active;
                    ctx.send(from, Msg::UpToDate { conn });
                } else {
                    l.newleader_acks.insert(from);
                    self.try_establish(ctx);
                }
            }
            Msg::Ack { zxid, .. } => {
                if let Ok(i) = l.outstanding.binary_search_by_key(&zxid, |(z, _)| *z) {
                    l.outstanding[i].1.insert(from);
                    self.try_commit(ctx);
                }
            }
            Msg::PingReply { touches, .. } => {
                // LearnerHandler PING: the learner's clients touched these.
                if let (Some(t), false) = (&mut l.tracker, touches.is_empty()) {
                    for (s, _) in touches {
                        t.touch(s, ctx.now());
                    }
                    self.arm_expiry(ctx);
                }
            }
            Msg::Forward { client, op, .. } => {
                if l.established {
                    self.submit(ctx, from, client, op);
                }
            }
            Msg::ForwardZk {
                client,
                session,
                req,
                op,
                ..
            } => {
                if l.established {
                    self.prepare(ctx, from, client, session, req, *op);
                }
            }
            Msg::Revalidate {
                client, session, ..
            } => {
                // LearnerHandler REVALIDATE -> revalidateSession -> touchSession.
                let now = ctx.now();
                let valid = l.tracker.as_mut().is_some_and(|t| t.touch(session, now));
                ctx.send(
                    from,
                    Msg::RevalidateReply {
                        conn,
                        client,
                        session,
                        valid,
                    },
                );
                self.arm_expiry(ctx);
            }
            _ => unreachable!(),
        }
    }

    /// A `LearnerHandler` starts for a learner's FOLLOWERINFO.
    fn accept_learner<A: App>(
        &mut self,
        ctx: &mut C<'_, A>,
        from: NodeId,
        conn: u64,
        accepted_epoch: u64,
    ) {
        let limit = self.p.init_limit + self.p.sync_limit;
        let l = self.leading();
        let tick = l.tick;
        l.handlers.insert(
            from,
            Handler {
                conn,
                stage: HandlerStage::AwaitEpoch,
                deadline_tick: tick + limit,
                peer_last: Zxid(0),
            },
        );
        match l.new_epoch {
            None => {
                if accepted_epoch >= l.epoch_candidate {
                    l.epoch_candidate = accepted_epoch + 1;
                }
                l.connecting.insert(from);
            }
            Some(epoch) if l.epoch_durable => {
                let h = l.handlers.get_mut(&from).expect("just inserted");
                h.stage = HandlerStage::AwaitAckEpoch;
                ctx.send(
                    from,
                    Msg::LeaderInfo {
                        conn,
                        new_epoch: epoch,
                    },
                );
            }
            // LEADERINFO goes once the leader's acceptedEpoch is durable.
            Some(_) => {}
        }
    }

    /// Leader.java `propose` of any transaction.
    fn propose_txn<A: App>(
        &mut self,
        ctx: &mut C<'_, A>,
        origin: NodeId,
        client: NodeId,
        op: u64,
        body: Option<Arc<TxnBody>>,
    ) {
        let epoch = self.d.current_epoch;
        let l = self.leading();
        l.counter += 1;
        if l.counter >= 0xffff_ffff {
            // ZOOKEEPER-1277: the counter would roll over; force a new epoch.
            self.shutdown(ctx);
            return;
        }
        let txn = Txn {
            zxid: Zxid::new(epoch, l.counter),
            origin,
            client,
            op,
            body,
        };
        // The leader's own ACK counts once its log write is durable
        // (`on_persisted`).
        l.outstanding.push_back((txn.zxid, BTreeSet::new()));
        for (id, h) in l.handlers.iter() {
            if h.forwarding() {
                ctx.send(
                    id,
                    Msg::Proposal {
                        conn: h.conn,
                        txn: txn.clone(),
                    },
                );
            }
        }
        let fsync = self.p.force_sync;
        self.write(ctx, ZkWrite::Append { txn, fsync });
    }

    /// Commit, in zxid order, every outstanding proposal a quorum acked.
    fn try_commit<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let voters = self.voters;
        let mut committed = None;
        let l = self.leading();
        while let Some((zxid, acks)) = l.outstanding.front() {
            if !is_quorum(acks.len(), voters) {
                break;
            }
            let zxid = *zxid;
            l.outstanding.pop_front();
            l.last_committed = zxid;
            for (id, h) in l.handlers.iter() {
                if h.forwarding() {
                    ctx.send(id, Msg::Commit { conn: h.conn, zxid });
                }
            }
            committed = Some(zxid);
        }
        if let Some(z) = committed {
            self.apply_commit(ctx, z);
        }
    }

    // ---------------------------------------------------------------- clients

    fn client_receive<A: App>(&mut self, ctx: &mut C<'_, A>, from: NodeId, msg: Msg<A::Msg>) {
        match msg {
            Msg::Connect { conn, last_zxid } => {
                // A server that is not serving closes the socket; one whose
                // state is older than the client's refuses the session.
                if self.serving() && self.last_processed >= last_zxid {
                    self.clients.insert(from, conn);
                    ctx.send(from, Msg::ConnectOk { conn });
                } else {
                    ctx.send(from, Msg::ClientClose { conn });
                }
            }
            Msg::Request { conn, op } => {
                if self.clients.get(&from) != Some(&conn) {
                    ctx.send(from, Msg::ClientClose { conn });
                    return;
                }
                match op.kind {
                    OpKind::Read => ctx.send(
                        from,
                        Msg::Reply {
                            conn,
                            op: op.id,
                            ok: true,
                            zxid: self.last_processed,
                        },
                    ),
                    OpKind::Write => {
                        self.pending.insert(op.id, (from, conn));
                        match &self.role {
                            PeerRole::Leading(_) => self.submit(ctx, self.me, from, op),
                            PeerRole::Following(f) => ctx.send(
                                f.leader,
                                Msg::Forward {
                                    conn: f.conn,
                                    client: from,
                                    op,
                                },
                            ),
                            PeerRole::Looking(_) | PeerRole::Between(_) => {
                                unreachable!("only serving servers have clients")
                            }
                        }
                    }
                }
            }
            Msg::ClientPing { conn } => {
                if self.clients.get(&from) == Some(&conn) {
                    ctx.send(from, Msg::ClientPong { conn });
                }
            }
            _ => unreachable!("not a client packet"),
        }
    }

    // ---------------------------------------------------------------- dispatch

    pub fn on_message<A: App>(&mut self, ctx: &mut C<'_, A>, from: NodeId, msg: Msg<A::Msg>) {
        match msg {
            Msg::Notification(n) => self.fle_arrive(ctx, n),
            Msg::FollowerInfo { .. }
            | Msg::AckEpoch { .. }
            | Msg::AckNewLeader { .. }
            | Msg::Ack { .. }
            | Msg::PingReply { .. }
            | Msg::Forward { .. }
            | Msg::LearnerClose { .. } => self.leader_receive(ctx, from, msg),
            Msg::LeaderInfo { .. }
            | Msg::Sync { .. }
            | Msg::NewLeader { .. }
            | Msg::UpToDate { .. }
            | Msg::Proposal { .. }
            | Msg::Commit { .. }
            | Msg::Ping { .. }
            | Msg::LeaderClose { .. } => self.follower_receive(ctx, from, msg),
            Msg::Connect { .. } | Msg::Request { .. } | Msg::ClientPing { .. } => {
                self.client_receive(ctx, from, msg)
            }
            Msg::ForwardZk { .. } | Msg::Revalidate { .. } => self.leader_receive(ctx, from, msg),
            Msg::RevalidateReply { .. } => self.follower_receive(ctx, from, msg),
            Msg::SessConnect { .. }
            | Msg::SetWatches { .. }
            | Msg::ZkRequest { .. }
            | Msg::SessPing { .. } => self.session_receive(ctx, from, msg),
            // A session client closing its side; load clients never do.
            Msg::ClientClose { .. } => self.session_receive(ctx, from, msg),
            Msg::ConnectOk { .. }
            | Msg::Reply { .. }
            | Msg::ClientPong { .. }
            | Msg::SessConnected { .. }
            | Msg::ZkResponse { .. }
            | Msg::WatchEvent { .. }
            | Msg::SessPong { .. }
            | Msg::App(_) => {}
        }
    }

    pub fn on_timer<A: App>(&mut self, ctx: &mut C<'_, A>, timer: Timer<A::Timer>) {
        match timer {
            Timer::Poll => self.on_poll(ctx),
            Timer::ReadCheck => self.on_read_check(ctx),
            Timer::Reconnect { .. } => self.on_reconnect(ctx),
            Timer::LeaderPhase { phase } => self.on_leader_phase(ctx, phase),
            Timer::Tick => self.on_tick(ctx),
            Timer::Between => self.on_between(ctx),
            Timer::SelfNotification(n) => self.fle_arrive(ctx, n),
            Timer::FleProcess => self.on_fle_process(ctx),
            Timer::LeaderReady => self.on_leader_ready(ctx),
            Timer::LeaderStarted => self.on_leader_started(ctx),
            Timer::LearnerStarted => self.on_learner_started(ctx),
            Timer::Pipeline => self.on_pipeline(ctx),
            Timer::SessionExpiry => self.on_session_expiry(ctx),
            _ => unreachable!("client timer on a server"),
        }
    }

    /// Apply `w` to the working copy and ask the engine to make it durable.
    fn write<A: App>(&mut self, ctx: &mut C<'_, A>, w: ZkWrite) {
        use crate::engine::Durable;
        self.d.apply(&w);
        ctx.persist(w);
    }

    /// A write reached the disk: send what waited for it.
    pub fn on_persisted<A: App>(&mut self, ctx: &mut C<'_, A>, w: ZkWrite) {
        let me = self.me;
        let current_epoch = self.d.current_epoch;
        let last_zxid = self.last_logged_zxid();
        match (&mut self.role, w) {
            (PeerRole::Following(f), ZkWrite::AcceptedEpoch(_)) if f.ack_epoch_pending => {
                f.ack_epoch_pending = false;
                let (leader, conn) = (f.leader, f.conn);
                ctx.send(
                    leader,
                    Msg::AckEpoch {
                        conn,
                        current_epoch: Some(current_epoch),
                        last_zxid,
                    },
                );
                self.arm_read_check(ctx);
            }
            (PeerRole::Following(f), ZkWrite::CurrentEpoch(_)) if f.ack_newleader_pending => {
                f.ack_newleader_pending = false;
                let startup = self.p.costs.learner_startup;
                if startup == SimDuration::ZERO {
                    self.on_learner_started(ctx);
                } else {
                    ctx.set_timer(startup, Timer::LearnerStarted);
                }
            }
            (PeerRole::Leading(_), ZkWrite::AcceptedEpoch(_)) => self.on_epoch_durable(ctx),
            (PeerRole::Leading(l), ZkWrite::CurrentEpoch(_)) => {
                // The leader's own NEWLEADER ack (`waitForNewLeaderAck(self)`
                // after `setCurrentEpoch`).
                l.newleader_acks.insert(me);
                self.try_establish(ctx);
            }
            (PeerRole::Following(f), ZkWrite::Append { txn, .. }) => {
                ctx.send(
                    f.leader,
                    Msg::Ack {
                        conn: f.conn,
                        zxid: txn.zxid,
                    },
                );
            }
            (PeerRole::Leading(l), ZkWrite::Append { txn, .. }) => {
                if let Ok(i) = l.outstanding.binary_search_by_key(&txn.zxid, |(z, _)| *z) {
                    l.outstanding[i].1.insert(me);
                    self.try_commit(ctx);
                }
            }
            _ => {}
        }
    }

    /// `startupWithoutServing` is done: ack NEWLEADER.
    fn on_learner_started<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let PeerRole::Following(f) = &self.role else {
            return;
        };
        ctx.send(f.leader, Msg::AckNewLeader { conn: f.conn });
        ctx.record(Obs::phase("synced"));
        self.arm_read_check(ctx);
    }

    pub fn on_link_reset<A: App>(&mut self, ctx: &mut C<'_, A>, peer: NodeId) {
        match &mut self.role {
            PeerRole::Following(f) if f.leader == peer => {
                ctx.record(Obs::detected(Some(peer)));
                self.shutdown(ctx);
            }
            PeerRole::Leading(l) => {
                l.handlers.remove(&peer);
            }
            _ => {}
        }
        self.drop_client(peer);
    }
}

/// Sessions, the data tree and watches: the client-facing side of
/// ZooKeeperServer (processConnectRequest, revalidateSession), the leader's
/// session tracker and PrepRequestProcessor, FinalRequestProcessor.
impl Server {
    /// Make sure the session tracker wakes at its next bucket.
    fn arm_expiry<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let PeerRole::Leading(l) = &mut self.role else {
            return;
        };
        let Some(t) = &mut l.tracker else {
            return;
        };
        if let Some(at) = t.next_bucket().filter(|at| t.armed != Some(*at)) {
            t.armed = Some(at);
            ctx.set_timer(at.since(ctx.now()), Timer::SessionExpiry);
        }
    }

    /// SessionTrackerImpl.run: expire every session of the due buckets
    /// (`setSessionClosing`, then a closeSession through Zab).
    fn on_session_expiry<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let now = ctx.now();
        let tick = self.p.tick;
        let me = self.me;
        let PeerRole::Leading(l) = &mut self.role else {
            return;
        };
        let Some(t) = &mut l.tracker else {
            return;
        };
        t.armed = None;
        let expired = t.expire_due(now);
        for (session, touched, timeout, bucket) in expired {
            let client = self.tree.sessions.get(&session).map(|s| s.1);
            ctx.record(Obs::Note(ZkNote::Expiring {
                session,
                touched,
                timeout,
                tick,
                bucket,
            }));
            if let Some(c) = client {
                // The session's client is declared dead.
                ctx.record(Obs::Detected {
                    suspect: Some(c),
                    scope: Scope::Part(c.0),
                });
                ctx.record(Obs::Phase {
                    name: "session_expiring",
                    scope: Scope::Part(c.0),
                });
            }
            self.submit_txn(ctx, me, me, 0, body(TxnBody::CloseSession { session }));
        }
        self.arm_expiry(ctx);
    }

    /// A client's activity keeps its session alive: the leader touches it,
    /// a follower notes it for its next PING reply.
    fn touch_session<A: App>(&mut self, ctx: &mut C<'_, A>, session: u64, timeout: u64) {
        let now = ctx.now();
        match &mut self.role {
            PeerRole::Leading(l) => {
                if let Some(t) = &mut l.tracker {
                    t.touch(session, now);
                }
                self.arm_expiry(ctx);
            }
            PeerRole::Following(_) => {
                self.touched.insert(session, timeout);
            }
            PeerRole::Looking(_) | PeerRole::Between(_) => {}
        }
    }

    /// A session request becomes a transaction: on the leader at once, on a
    /// follower through the leader (`Learner.request`).
    fn submit_session<A: App>(
        &mut self,
        ctx: &mut C<'_, A>,
        client: NodeId,
        session: u64,
        req: u64,
        op: ZkSessionOp,
    ) {
        match &self.role {
            PeerRole::Leading(_) => self.prepare(ctx, self.me, client, session, req, op),
            PeerRole::Following(f) => ctx.send(
                f.leader,
                Msg::ForwardZk {
                    conn: f.conn,
                    client,
                    session,
                    req,
                    op: Box::new(op),
                },
            ),
            PeerRole::Looking(_) | PeerRole::Between(_) => {}
        }
    }

    /// PrepRequestProcessor on the leader: track a new session, mark a
    /// closing one, and propose.
    fn prepare<A: App>(
        &mut self,
        ctx: &mut C<'_, A>,
        origin: NodeId,
        client: NodeId,
        session: u64,
        req: u64,
        op: ZkSessionOp,
    ) {
        let now = ctx.now();
        let b = match op {
            ZkSessionOp::CreateSession { timeout } => {
                if let Some(t) = &mut self.leading().tracker {
                    t.track(session, SimDuration::from_ms(timeout), now);
                }
                self.arm_expiry(ctx);
                TxnBody::CreateSession { session, timeout }
            }
            ZkSessionOp::Op(ZkOp::CloseSession) => {
                if let Some(t) = &mut self.leading().tracker {
                    t.set_closing(session);
                }
                TxnBody::CloseSession { session }
            }
            ZkSessionOp::Op(ZkOp::Create {
                path,
                data,
                ephemeral,
            }) => single(
                session,
                super::app::Op::Create {
                    path,
                    data,
                    ephemeral,
                },
            ),
            ZkSessionOp::Op(ZkOp::SetData {
                path,
                data,
                version,
            }) => single(
                session,
                super::app::Op::SetData {
                    path,
                    data,
                    version,
                },
            ),
            ZkSessionOp::Op(ZkOp::Delete { path, version }) => {
                single(session, super::app::Op::Delete { path, version })
            }
            ZkSessionOp::Op(ZkOp::Multi(ops)) => TxnBody::Ops {
                session,
                ops,
                multi: true,
            },
            ZkSessionOp::Op(ZkOp::GetData { .. } | ZkOp::Exists { .. }) => {
                unreachable!("reads are answered by the connected server")
            }
        };
        self.submit_txn(ctx, origin, client, req, body(b));
    }

    /// FinalRequestProcessor after a session transaction was applied: fire
    /// the watches, answer the client whose request came in here, close the
    /// connection of a closed session.
    fn applied<A: App>(&mut self, ctx: &mut C<'_, A>, t: &Txn, b: &TxnBody, a: Applied) {
        for (path, kind) in a.triggers {
            self.trigger(ctx, &path, kind);
        }
        if let Some((session, client)) = a.closed {
            ctx.record(Obs::Note(ZkNote::SessionClosed {
                session,
                zxid: t.zxid,
            }));
            ctx.record(Obs::Phase {
                name: "session_closed",
                scope: Scope::Part(client.0),
            });
            if let PeerRole::Leading(l) = &mut self.role {
                if let Some(tr) = &mut l.tracker {
                    tr.remove(session);
                }
            }
        }
        if t.origin == self.me {
            match b {
                TxnBody::CreateSession { session, timeout } => {
                    let ok = self.sess_here.get(&t.client).is_some_and(|c| {
                        c.session == *session && self.clients.get(&t.client) == Some(&c.conn)
                    });
                    if ok {
                        let c = self.sess_here.get_mut(&t.client).expect("checked");
                        c.open = true;
                        let conn = c.conn;
                        ctx.send(
                            t.client,
                            Msg::SessConnected {
                                conn,
                                session: *session,
                                timeout: *timeout,
                            },
                        );
                    }
                }
                TxnBody::CloseSession { .. } | TxnBody::Ops { .. } => {
                    if let Some(conn) = self.sess_pending.remove(&(t.client, t.op)) {
                        if self.clients.get(&t.client) == Some(&conn) {
                            let result = a.result.unwrap_or(Err(ZkError::SessionExpired));
                            ctx.send(
                                t.client,
                                Msg::ZkResponse {
                                    conn,
                                    req: t.op,
                                    zxid: t.zxid,
                                    result,
                                },
                            );
                        }
                    }
                }
            }
        }
        if let Some((session, _)) = a.closed {
            // NIOServerCnxnFactory.closeSession: the session's connection
            // here is closed.
            let here: Vec<(NodeId, u64)> = self
                .sess_here
                .iter()
                .filter(|(_, c)| c.session == session)
                .map(|(&id, c)| (id, c.conn))
                .collect();
            for (id, conn) in here {
                ctx.send(id, Msg::ClientClose { conn });
                self.drop_client(id);
            }
        }
    }

    /// `triggerWatch`: one-shot; every client watching `path` here hears it.
    fn trigger<A: App>(&mut self, ctx: &mut C<'_, A>, path: &str, kind: WatchKind) {
        let Some(set) = self.watches.remove(path) else {
            return;
        };
        for c in set {
            if let Some(&conn) = self.clients.get(&c) {
                ctx.send(
                    c,
                    Msg::WatchEvent {
                        conn,
                        path: path.to_string(),
                        kind,
                    },
                );
            }
        }
    }

    fn add_watch(&mut self, path: &str, client: NodeId) {
        self.watches
            .entry(path.to_string())
            .or_default()
            .insert(client);
    }

    /// The client's connection is gone (`removeCnxn`): its watches here go.
    fn drop_client(&mut self, client: NodeId) {
        self.clients.remove(&client);
        if self.sess_here.remove(&client).is_some() {
            self.watches.retain(|_, set| {
                set.remove(&client);
                !set.is_empty()
            });
            self.sess_pending.retain(|(c, _), _| *c != client);
        }
    }

    /// The ConnectResponse of a reconnecting client, once the leader said
    /// whether its session lives.
    fn finish_connect<A: App>(
        &mut self,
        ctx: &mut C<'_, A>,
        client: NodeId,
        session: u64,
        valid: bool,
    ) {
        let Some(c) = self.sess_here.get_mut(&client) else {
            return;
        };
        if c.session != session || c.open {
            return;
        }
        let conn = c.conn;
        if valid {
            c.open = true;
            let timeout = c.timeout;
            ctx.send(
                client,
                Msg::SessConnected {
                    conn,
                    session,
                    timeout,
                },
            );
        } else {
            // "Invalid session 0x.. for client .., probably expired":
            // timeout 0, then the socket is closed.
            ctx.send(
                client,
                Msg::SessConnected {
                    conn,
                    session,
                    timeout: 0,
                },
            );
            ctx.send(client, Msg::ClientClose { conn });
            self.drop_client(client);
        }
    }

    /// A packet of a session client.
    fn session_receive<A: App>(&mut self, ctx: &mut C<'_, A>, from: NodeId, msg: Msg<A::Msg>) {
        if let Msg::SessConnect {
            conn,
            last_zxid,
            session,
            timeout,
        } = msg
        {
            // A server that is not serving closes the socket; one whose
            // state is older than the client's refuses the session.
            if !self.serving() || self.last_processed < last_zxid {
                ctx.send(from, Msg::ClientClose { conn });
                return;
            }
            self.drop_client(from);
            let timeout = self.p.negotiate(timeout);
            self.clients.insert(from, conn);
            if session == 0 {
                self.next_session += 1;
                let id =
                    (self.sid() << 56) | u64::from(ctx.incarnation()) << 32 | self.next_session;
                self.sess_here.insert(
                    from,
                    SessConn {
                        conn,
                        session: id,
                        timeout,
                        open: false,
                    },
                );
                let op = ZkSessionOp::CreateSession { timeout };
                self.submit_session(ctx, from, id, 0, op);
                return;
            }
            self.sess_here.insert(
                from,
                SessConn {
                    conn,
                    session,
                    timeout,
                    open: false,
                },
            );
            let now = ctx.now();
            match &mut self.role {
                PeerRole::Leading(l) => {
                    let valid = l.tracker.as_mut().is_some_and(|t| t.touch(session, now));
                    self.arm_expiry(ctx);
                    self.finish_connect(ctx, from, session, valid);
                }
                PeerRole::Following(f) => ctx.send(
                    f.leader,
                    Msg::Revalidate {
                        conn: f.conn,
                        client: from,
                        session,
                        timeout,
                    },
                ),
                PeerRole::Looking(_) | PeerRole::Between(_) => {}
            }
            return;
        }
        let conn = msg.conn().expect("client packets belong to a connection");
        let Some(&c) = self
            .sess_here
            .get(&from)
            .filter(|c| c.conn == conn && self.clients.get(&from) == Some(&conn))
        else {
            if !matches!(msg, Msg::ClientClose { .. }) {
                ctx.send(from, Msg::ClientClose { conn });
            }
            return;
        };
        if let Msg::ClientClose { .. } = msg {
            self.drop_client(from);
            return;
        }
        if !c.open {
            return;
        }
        self.touch_session(ctx, c.session, c.timeout);
        let zxid = self.last_processed;
        match msg {
            Msg::SessPing { .. } => ctx.send(from, Msg::SessPong { conn }),
            Msg::ZkRequest { req, op, .. } => {
                let op = *op;
                let result = match &op {
                    ZkOp::GetData { path, watch } => match self.tree.nodes.get(path).copied() {
                        Some(n) => {
                            if *watch {
                                self.add_watch(path, from);
                            }
                            Ok(ZkReply::Stat {
                                data: n.data,
                                version: n.version,
                            })
                        }
                        None => Err(ZkError::NoNode),
                    },
                    ZkOp::Exists { path, watch } => {
                        // statNode sets the watch whether or not the node exists.
                        if *watch {
                            self.add_watch(path, from);
                        }
                        Ok(match self.tree.nodes.get(path) {
                            Some(n) => ZkReply::Stat {
                                data: n.data,
                                version: n.version,
                            },
                            None => ZkReply::NoNodeStat,
                        })
                    }
                    _ => {
                        self.sess_pending.insert((from, req), conn);
                        self.submit_session(ctx, from, c.session, req, ZkSessionOp::Op(op));
                        return;
                    }
                };
                ctx.send(
                    from,
                    Msg::ZkResponse {
                        conn,
                        req,
                        zxid,
                        result,
                    },
                );
            }
            Msg::SetWatches {
                relative_zxid,
                paths,
                ..
            } => {
                let (data, exist) = *paths;
                // DataTree.setWatches: fire what the client missed, keep the rest.
                for path in data {
                    let kind = match self.tree.nodes.get(&path) {
                        None => Some(WatchKind::Deleted),
                        Some(n) if n.mzxid > relative_zxid => Some(WatchKind::DataChanged),
                        Some(_) => None,
                    };
                    match kind {
                        Some(kind) => ctx.send(from, Msg::WatchEvent { conn, path, kind }),
                        None => self.add_watch(&path, from),
                    }
                }
                for path in exist {
                    if self.tree.nodes.contains_key(&path) {
                        let kind = WatchKind::Created;
                        ctx.send(from, Msg::WatchEvent { conn, path, kind });
                    } else {
                        self.add_watch(&path, from);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A single-op write of `session`.
fn single(session: u64, op: super::app::Op) -> TxnBody {
    TxnBody::Ops {
        session,
        ops: vec![op],
        multi: false,
    }
}

/// The request pipeline's costs (`pipeline.rs`).
impl Server {
    /// A client write reaches the leader's request processors: proposed
    /// once the leader's stage has served it.
    fn submit<A: App>(&mut self, ctx: &mut C<'_, A>, origin: NodeId, client: NodeId, op: ClientOp) {
        self.submit_txn(ctx, origin, client, op.id, None);
    }

    /// Any transaction (a plain write, or a session's createSession,
    /// closeSession or operation) through the leader's stage.
    fn submit_txn<A: App>(
        &mut self,
        ctx: &mut C<'_, A>,
        origin: NodeId,
        client: NodeId,
        op: u64,
        body: Option<Arc<TxnBody>>,
    ) {
        let costs = self.p.pipeline;
        let PeerRole::Leading(l) = &self.role else {
            unreachable!("only the leader proposes")
        };
        let learners = l.handlers.values().filter(|h| h.forwarding()).count();
        let cost = costs.leader(learners);
        if cost == SimDuration::ZERO && self.pipe.is_empty() {
            return self.propose_txn(ctx, origin, client, op, body);
        }
        let work = Work::Propose {
            origin,
            client,
            op,
            body,
        };
        if let Some(after) = self.pipe.offer(ctx.now(), cost, work) {
            ctx.set_timer(after, Timer::Pipeline);
        }
    }

    /// A follower logs a proposal: the transaction is in its working log at
    /// once (`pendingTxns`, so a COMMIT that overtakes the write applies
    /// it); the write goes to the disk once the follower's stage has served
    /// it, and the ACK once it is durable (`on_persisted`).
    fn log_proposal<A: App>(&mut self, ctx: &mut C<'_, A>, w: ZkWrite) {
        use crate::engine::Durable;
        let cost = self.p.pipeline.follower_request;
        if cost == SimDuration::ZERO && self.pipe.is_empty() {
            return self.write(ctx, w);
        }
        self.d.apply(&w);
        if let Some(after) = self.pipe.offer(ctx.now(), cost, Work::Log(w)) {
            ctx.set_timer(after, Timer::Pipeline);
        }
    }

    /// The stage's head request is served: carry out every request done by
    /// now, then wait for the next.
    fn on_pipeline<A: App>(&mut self, ctx: &mut C<'_, A>) {
        while let Some(work) = self.pipe.pop_due(ctx.now()) {
            match work {
                Work::Propose {
                    origin,
                    client,
                    op,
                    body,
                } => {
                    if matches!(&self.role, PeerRole::Leading(l) if l.established) {
                        self.propose_txn(ctx, origin, client, op, body);
                    }
                }
                Work::Log(w) => ctx.persist(w),
            }
        }
        if let Some(due) = self.pipe.next_due() {
            ctx.set_timer(due.since(ctx.now()), Timer::Pipeline);
        }
    }
}

impl Election {
    /// The current proposal as a LOOKING vote of round `clock`.
    fn vote(&self, clock: u64) -> Vote {
        Vote {
            leader: self.proposal.0,
            zxid: self.proposal.1,
            election_epoch: clock,
            peer_epoch: self.proposal.2,
            state: ServerState::Looking,
        }
    }

    /// The current proposal as server `sid` sends it in round `clock`.
    fn notification(&self, sid: Sid, clock: u64) -> Notification {
        Notification {
            sid,
            state: ServerState::Looking,
            leader: self.proposal.0,
            zxid: self.proposal.1,
            election_epoch: clock,
            peer_epoch: self.proposal.2,
        }
    }

    fn idle() -> Self {
        Election {
            proposal: (0, Zxid(0), 0),
            recvset: VoteSet::default(),
            outofelection: VoteSet::default(),
            not_timeout: SimDuration::ZERO,
            draining: false,
            deadline: SimTime::ZERO,
            timer: None,
        }
    }
}

fn half(d: SimDuration) -> SimDuration {
    SimDuration(d.0 / 2)
}

/// FastLeaderElection.java `checkLeader`: a candidate other than me must be in
/// the vote set saying LEADING; if it is me, the election epoch must be mine.
fn check_leader(votes: &VoteSet, leader: Sid, election_epoch: u64, me: Sid, clock: u64) -> bool {
    if leader != me {
        votes
            .get(&leader)
            .is_some_and(|v| v.state == ServerState::Leading)
    } else {
        clock == election_epoch
    }
}

#[cfg(test)]
mod tracker_tests {
    use super::SessionTracker;
    use crate::engine::{SimDuration, SimTime};

    fn ms(x: u64) -> SimTime {
        SimTime(x * 1_000_000)
    }

    #[test]
    fn sessions_expire_in_the_tick_bucket_after_touch_plus_timeout() {
        let mut t = SessionTracker::new(SimDuration::from_ms(2000));
        // roundToNextInterval: the next multiple strictly after.
        assert_eq!(t.round(ms(3999)), ms(4000));
        assert_eq!(t.round(ms(4000)), ms(6000));
        t.track(1, SimDuration::from_ms(4000), ms(100)); // due 4100 -> bucket 6000
        t.track(2, SimDuration::from_ms(4000), ms(1999)); // due 5999 -> 6000
        t.track(3, SimDuration::from_ms(4000), ms(2000)); // due 6000 -> 8000
        assert_eq!(t.next_bucket(), Some(ms(6000)));
        assert!(t.expire_due(ms(5999)).is_empty());
        // A touch moves session 2 to a later bucket.
        assert!(t.touch(2, ms(3000)));
        let due: Vec<u64> = t.expire_due(ms(6000)).iter().map(|e| e.0).collect();
        assert_eq!(due, vec![1]);
        // Closing sessions cannot be touched back to life.
        assert!(!t.touch(1, ms(6000)));
        assert_eq!(t.next_bucket(), Some(ms(8000)));
        let due: Vec<(u64, SimTime)> = t.expire_due(ms(8000)).iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(due, vec![(2, ms(3000)), (3, ms(2000))]);
        t.remove(2);
        assert!(!t.touch(2, ms(8000)), "a removed session is unknown");
        assert_eq!(t.next_bucket(), None);
    }
}
