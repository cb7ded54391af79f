//! A Redis Cluster node: the cluster bus (clusterCron, PING/PONG with
//! gossip, failure reports, PFAIL -> FAIL), the replica election
//! (clusterHandleSlaveFailover, clusterSendFailoverAuthIfNeeded), the slot
//! configuration by config epoch (clusterUpdateSlotsConfigWith, UPDATE), the
//! asynchronous replication stream, and the commands of the clients.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{
    rng, ClientOp, Ctx, NodeId, Obs, OpKind, Role, Scope, SimDuration, SimTime, View,
};

use super::durable::{ConfWrite, NodesConf};
use super::msg::{Gossip, Header, Msg, Outcome};
use super::{shard_of_slot, RcNode, RcNote, RcParams, Timer};

/// clusterCron runs every 100 ms (server.hz = 10).
pub const CRON_PERIOD: SimDuration = SimDuration::from_ms(100);

/// What this node knows of another (clusterNode).
#[derive(Clone, Debug)]
pub struct Peer {
    /// When the pending PING was sent; `None` when none is pending.
    ping_sent: Option<SimTime>,
    pong_received: SimTime,
    data_received: SimTime,
    /// When the link to this node was (re)created.
    link_ctime: SimTime,
    /// PFAIL: no PONG within the node timeout, in this node's own view.
    pfail: bool,
    /// FAIL, since when.
    fail: Option<SimTime>,
    /// Failure reports from masters: reporter -> last report time.
    reports: BTreeMap<NodeId, SimTime>,
    replica_of: Option<NodeId>,
    offset: u64,
    /// When this node, as a master, last voted for a replica of this one.
    voted_time: Option<SimTime>,
}

impl Peer {
    fn new(replica_of: Option<NodeId>) -> Self {
        Peer {
            ping_sent: None,
            pong_received: SimTime::ZERO,
            data_received: SimTime::ZERO,
            link_ctime: SimTime::ZERO,
            pfail: false,
            fail: None,
            reports: BTreeMap::new(),
            replica_of,
            offset: 0,
            voted_time: None,
        }
    }

    pub fn failing(&self) -> bool {
        self.pfail || self.fail.is_some()
    }
}

/// A replica's election in progress (server.cluster->failover_auth_*).
#[derive(Clone, Debug, Default)]
struct Election {
    /// `failover_auth_time`: when the request is (or was) sent.
    time: Option<SimTime>,
    sent: bool,
    rank: u64,
    epoch: u64,
    voters: BTreeSet<NodeId>,
}

#[derive(Clone, Debug)]
pub struct ClusterNode {
    me: NodeId,
    p: RcParams,
    conf: NodesConf,
    peers: Vec<Peer>,
    /// The data: the ids of the SETs applied, in stream order (offset = len).
    log: Vec<u64>,
    /// Replicas attached to this master's replication stream.
    attached: BTreeSet<NodeId>,
    /// Last data from the master on the replication stream.
    master_last_io: SimTime,
    iteration: u64,
    election: Election,
    /// Started in sync with its master (no PSYNC at start).
    synced: bool,
}

impl ClusterNode {
    /// A node of `n` with `conf` (its `nodes.conf`); `replica_of[i]` is what
    /// it knows of every node's role. With `synced` (a settled cluster at
    /// time 0) its replicas start attached and in sync; otherwise a replica
    /// asks its master for a sync when it starts.
    pub fn new(
        me: NodeId,
        p: RcParams,
        conf: NodesConf,
        replica_of: &[Option<NodeId>],
        synced: bool,
    ) -> Self {
        let peers: Vec<Peer> = replica_of.iter().map(|r| Peer::new(*r)).collect();
        let attached = if synced {
            (0..replica_of.len())
                .filter(|&i| replica_of[i] == Some(me))
                .map(|i| NodeId(i as u32))
                .collect()
        } else {
            BTreeSet::new()
        };
        ClusterNode {
            me,
            p,
            conf,
            peers,
            log: Vec::new(),
            attached,
            master_last_io: SimTime::ZERO,
            iteration: 0,
            election: Election::default(),
            synced,
        }
    }

    pub fn conf(&self) -> &NodesConf {
        &self.conf
    }

    pub fn log(&self) -> &[u64] {
        &self.log
    }

    pub fn peer(&self, id: NodeId) -> &Peer {
        &self.peers[id.index()]
    }

    /// The shard whose slots this node serves as a master.
    pub fn my_shard(&self) -> Option<u32> {
        self.shard_of(self.me)
    }

    /// The shard `node` serves as a master, in this node's view.
    pub fn shard_of(&self, node: NodeId) -> Option<u32> {
        self.conf
            .shards
            .iter()
            .position(|(m, _)| *m == node)
            .map(|s| s as u32)
    }

    pub fn is_master(&self) -> bool {
        self.my_shard().is_some()
    }

    pub fn replica_of(&self) -> Option<NodeId> {
        self.conf.replica_of
    }

    /// The scope of facts about `node`: its shard, or its master's.
    fn scope_of(&self, node: NodeId) -> Scope {
        let role = if node == self.me {
            self.conf.replica_of
        } else {
            self.peers[node.index()].replica_of
        };
        self.shard_of(node)
            .or_else(|| role.and_then(|m| self.shard_of(m)))
            .map_or(Scope::Whole, Scope::Part)
    }

    fn masters(&self) -> usize {
        self.conf.shards.len()
    }

    /// `needed_quorum`: a majority of the masters serving slots.
    fn quorum(&self) -> usize {
        self.masters() / 2 + 1
    }

    /// clusterUpdateState: the cluster is OK in this node's view when a
    /// majority of the masters is reachable and, with
    /// `cluster-require-full-coverage`, no slot range is served by a FAIL
    /// master.
    pub fn state_ok(&self) -> bool {
        let reachable = self
            .conf
            .shards
            .iter()
            .filter(|(m, _)| *m == self.me || !self.peers[m.index()].failing())
            .count();
        let covered = !self.p.full_coverage
            || self
                .conf
                .shards
                .iter()
                .all(|(m, _)| *m == self.me || self.peers[m.index()].fail.is_none());
        reachable >= self.quorum() && covered
    }

    pub fn view(&self) -> View {
        match self.my_shard() {
            Some(s) => View {
                role: Role::Leader,
                term: self.conf.shards[s as usize].1,
                leader: Some(self.me),
                serving: self.state_ok(),
            },
            None => View {
                role: Role::Follower,
                term: self.conf.config_epoch,
                leader: self.conf.replica_of,
                serving: false,
            },
        }
    }

    fn header(&self) -> Header {
        let config_epoch = match (self.my_shard(), self.conf.replica_of) {
            (Some(s), _) => self.conf.shards[s as usize].1,
            (None, Some(m)) => self
                .shard_of(m)
                .map_or(self.conf.config_epoch, |s| self.conf.shards[s as usize].1),
            (None, None) => self.conf.config_epoch,
        };
        Header {
            current_epoch: self.conf.current_epoch,
            config_epoch,
            slots: self.my_shard(),
            replica_of: self.conf.replica_of,
            offset: self.log.len() as u64,
        }
    }

    fn save(&mut self, ctx: &mut Ctx<'_, RcNode>, reply: Option<(NodeId, Msg)>) {
        ctx.persist(ConfWrite {
            conf: self.conf.clone(),
            reply,
        });
    }

    /// nodes.conf is on disk: the checker sees its epochs, and a vote leaves.
    pub fn on_persisted(&mut self, ctx: &mut Ctx<'_, RcNode>, w: ConfWrite) {
        ctx.record(Obs::Note(RcNote::Conf {
            node: self.me,
            current_epoch: w.conf.current_epoch,
            last_vote_epoch: w.conf.last_vote_epoch,
        }));
        if let Some((to, msg)) = w.reply {
            ctx.send(to, msg);
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let now = ctx.now();
        for p in &mut self.peers {
            p.pong_received = now;
            p.data_received = now;
            p.link_ctime = now;
        }
        ctx.record(Obs::Note(RcNote::Conf {
            node: self.me,
            current_epoch: self.conf.current_epoch,
            last_vote_epoch: self.conf.last_vote_epoch,
        }));
        for (s, (m, e)) in self.conf.shards.clone().into_iter().enumerate() {
            if m == self.me {
                ctx.record(Obs::Note(RcNote::Claim {
                    node: self.me,
                    shard: s as u32,
                    config_epoch: e,
                    promotion: false,
                }));
            }
        }
        // Desynchronise the nodes' crons within one period.
        let first = rng::range_inclusive(ctx.rng(), 1, 100);
        ctx.set_timer(SimDuration::from_ms(first), Timer::Cron);
        if self.is_master() {
            ctx.set_timer(self.p.repl_ping_period, Timer::ReplPing);
        } else if let Some(m) = self.conf.replica_of {
            self.master_last_io = now;
            if !self.synced {
                ctx.send(m, Msg::Psync);
            }
        }
    }

    // ---------------------------------------------------------------
    // clusterCron
    // ---------------------------------------------------------------

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RcNode>, timer: Timer) {
        match timer {
            Timer::Cron => {
                self.cron(ctx);
                ctx.set_timer(CRON_PERIOD, Timer::Cron);
            }
            Timer::ReplPing if self.is_master() => {
                for r in self.attached.clone() {
                    ctx.send(r, Msg::StreamPing);
                }
                ctx.set_timer(self.p.repl_ping_period, Timer::ReplPing);
            }
            _ => {}
        }
    }

    fn others(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.peers.len())
            .map(|i| NodeId(i as u32))
            .filter(move |&i| i != self.me)
    }

    fn cron(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let now = ctx.now();
        self.iteration += 1;
        let others: Vec<NodeId> = self.others().collect();
        // Every 10 runs, PING the node with the oldest PONG of 5 sampled.
        if self.iteration % 10 == 0 && !others.is_empty() {
            let mut best: Option<NodeId> = None;
            for _ in 0..5 {
                let c = others[rng::index(ctx.rng(), others.len())];
                let p = &self.peers[c.index()];
                if p.ping_sent.is_some() {
                    continue;
                }
                if best.is_none_or(|b| p.pong_received < self.peers[b.index()].pong_received) {
                    best = Some(c);
                }
            }
            if let Some(b) = best {
                self.ping(ctx, b);
            }
        }
        let half = SimDuration(self.p.node_timeout.0 / 2);
        for &j in &others {
            let p = &self.peers[j.index()];
            if let Some(sent) = p.ping_sent {
                // A link older than the node timeout whose PING has waited
                // half of it with no data back is freed and reconnected,
                // and the new link sends a PING at once; the pending PING's
                // time is kept.
                if now.since(p.link_ctime) > self.p.node_timeout
                    && now.since(sent) > half
                    && now.since(p.data_received) > half
                {
                    self.peers[j.index()].link_ctime = now;
                    self.ping(ctx, j);
                    self.peers[j.index()].ping_sent = Some(sent);
                }
            } else if now.since(p.pong_received) > half {
                self.ping(ctx, j);
            }
            let p = &self.peers[j.index()];
            if let Some(sent) = p.ping_sent {
                let delay = now.since(sent).min(now.since(p.data_received));
                if delay > self.p.node_timeout && !p.failing() {
                    self.peers[j.index()].pfail = true;
                    let scope = self.scope_of(j);
                    if self.shard_of(j).is_some() {
                        ctx.record(Obs::Phase {
                            name: "pfail",
                            scope,
                        });
                        ctx.record(Obs::Detected {
                            suspect: Some(j),
                            scope,
                        });
                    }
                }
            }
        }
        if self.conf.replica_of.is_some() {
            self.handle_failover(ctx);
        }
    }

    /// clusterSendPing's gossip section: max(3, n/10) random others (not
    /// PFAIL), then every PFAIL node.
    fn gossip(&mut self, ctx: &mut Ctx<'_, RcNode>, to: NodeId) -> Vec<Gossip> {
        let n = self.peers.len();
        let fresh = n.saturating_sub(2);
        let wanted = (n / 10).max(3).min(fresh);
        let mut picked: BTreeSet<NodeId> = BTreeSet::new();
        let mut out = Vec::new();
        let mut tries = wanted * 3;
        while out.len() < wanted && tries > 0 {
            tries -= 1;
            let c = NodeId(rng::index(ctx.rng(), n) as u32);
            if c == self.me || c == to || self.peers[c.index()].pfail || !picked.insert(c) {
                continue;
            }
            out.push(Gossip {
                node: c,
                failing: self.peers[c.index()].fail.is_some(),
            });
        }
        for c in self.others() {
            if self.peers[c.index()].pfail && c != to {
                out.push(Gossip {
                    node: c,
                    failing: true,
                });
            }
        }
        out
    }

    fn ping(&mut self, ctx: &mut Ctx<'_, RcNode>, to: NodeId) {
        let gossip = self.gossip(ctx, to);
        self.peers[to.index()].ping_sent = Some(ctx.now());
        ctx.send(
            to,
            Msg::Ping {
                h: self.header(),
                gossip,
            },
        );
    }

    fn pong(&mut self, ctx: &mut Ctx<'_, RcNode>, to: NodeId) {
        let gossip = self.gossip(ctx, to);
        ctx.send(
            to,
            Msg::Pong {
                h: self.header(),
                gossip,
            },
        );
    }

    /// clusterBroadcastPong to every node, or only the other replicas of
    /// this node's master.
    fn broadcast_pong(&mut self, ctx: &mut Ctx<'_, RcNode>, local_replicas: bool) {
        let master = self.conf.replica_of;
        let to: Vec<NodeId> = self
            .others()
            .filter(|j| !local_replicas || self.peers[j.index()].replica_of == master)
            .collect();
        for j in to {
            self.pong(ctx, j);
        }
    }

    // ---------------------------------------------------------------
    // clusterProcessPacket
    // ---------------------------------------------------------------

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Cmd { op, slot } => return self.on_command(ctx, from, op, slot),
            Msg::Slots { req } => {
                // CLUSTER SLOTS lists a range's master even when it is FAIL.
                let masters = self.conf.shards.iter().map(|(m, _)| Some(*m)).collect();
                ctx.send(from, Msg::SlotMap { req, masters });
                return;
            }
            Msg::Stream { offset, op } => return self.on_stream(ctx, from, offset, op),
            Msg::StreamPing => {
                if self.conf.replica_of == Some(from) {
                    self.master_last_io = ctx.now();
                }
                return;
            }
            Msg::Psync => {
                if self.is_master() {
                    self.attached.insert(from);
                    ctx.send(
                        from,
                        Msg::FullSync {
                            log: self.log.clone(),
                        },
                    );
                }
                return;
            }
            Msg::FullSync { log } => {
                if self.conf.replica_of == Some(from) {
                    self.log = log;
                    self.master_last_io = ctx.now();
                }
                return;
            }
            _ => {}
        }
        let h = match &msg {
            Msg::Ping { h, .. }
            | Msg::Pong { h, .. }
            | Msg::Fail { h, .. }
            | Msg::AuthRequest { h, .. }
            | Msg::AuthAck { h }
            | Msg::Update { h, .. } => h.clone(),
            _ => unreachable!("handled above"),
        };
        let now = ctx.now();
        self.peers[from.index()].data_received = now;
        if h.current_epoch > self.conf.current_epoch {
            self.conf.current_epoch = h.current_epoch;
            self.save(ctx, None);
        }
        match msg {
            Msg::Ping { gossip, .. } => {
                self.on_header(ctx, from, &h);
                self.pong(ctx, from);
                self.on_gossip(ctx, from, &gossip);
            }
            Msg::Pong { gossip, .. } => {
                let p = &mut self.peers[from.index()];
                p.pong_received = now;
                p.ping_sent = None;
                if p.pfail {
                    p.pfail = false;
                } else if let Some(since) = p.fail {
                    // clearNodeFailureIfNeeded: a replica or a master without
                    // slots at once; a master with slots only after 2 x the
                    // node timeout in FAIL (nobody took its slots).
                    let serves = h.slots.is_some();
                    if !serves || now.since(since) > self.p.node_timeout.saturating_mul(2) {
                        p.fail = None;
                    }
                }
                self.on_header(ctx, from, &h);
                self.on_gossip(ctx, from, &gossip);
            }
            Msg::Fail { node, .. } => {
                if node != self.me && self.peers[node.index()].fail.is_none() {
                    let p = &mut self.peers[node.index()];
                    p.fail = Some(now);
                    p.pfail = false;
                }
            }
            Msg::AuthRequest { shard, .. } => self.on_auth_request(ctx, from, &h, shard),
            Msg::AuthAck { .. } => {
                let serves = self.shard_of(from).is_some();
                if serves
                    && self.election.sent
                    && h.current_epoch >= self.election.epoch
                    && self.election.voters.insert(from)
                {
                    self.handle_failover(ctx);
                }
            }
            Msg::Update {
                owner,
                shard,
                config_epoch,
                ..
            } => {
                if self.conf.shards[shard as usize].1 < config_epoch {
                    self.set_owner(ctx, shard, owner, config_epoch);
                }
            }
            _ => unreachable!("handled above"),
        }
    }

    /// The sender's role and slot claim (clusterUpdateSlotsConfigWith and
    /// the UPDATE answer to a stale claim).
    fn on_header(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, h: &Header) {
        let p = &mut self.peers[from.index()];
        p.replica_of = h.replica_of;
        p.offset = h.offset;
        let Some(shard) = h.slots else {
            return;
        };
        let (owner, epoch) = self.conf.shards[shard as usize];
        if owner == from {
            if h.config_epoch > epoch {
                self.conf.shards[shard as usize].1 = h.config_epoch;
                self.save(ctx, None);
            }
        } else if h.config_epoch > epoch {
            self.set_owner(ctx, shard, from, h.config_epoch);
        } else if h.config_epoch < epoch {
            ctx.send(
                from,
                Msg::Update {
                    h: self.header(),
                    owner,
                    shard,
                    config_epoch: epoch,
                },
            );
        }
    }

    /// `shard` now belongs to `owner` at `config_epoch`: a master that lost
    /// its slots, or a replica whose master did, follows the new owner.
    fn set_owner(&mut self, ctx: &mut Ctx<'_, RcNode>, shard: u32, owner: NodeId, epoch: u64) {
        let (old, _) = self.conf.shards[shard as usize];
        self.conf.shards[shard as usize] = (owner, epoch);
        self.peers[owner.index()].replica_of = None;
        if owner == self.me {
            return;
        }
        let follow = old == self.me || self.conf.replica_of == Some(old);
        if follow {
            if old == self.me {
                ctx.record(Obs::Phase {
                    name: "demoted",
                    scope: Scope::Part(shard),
                });
                ctx.cancel_timer(&Timer::ReplPing);
                self.attached.clear();
            }
            self.conf.replica_of = Some(owner);
            self.election = Election::default();
            self.master_last_io = ctx.now();
            ctx.send(owner, Msg::Psync);
        }
        self.save(ctx, None);
    }

    /// clusterProcessGossipSection: failure reports from masters.
    fn on_gossip(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, gossip: &[Gossip]) {
        let sender_is_master = self.shard_of(from).is_some();
        if !sender_is_master {
            return;
        }
        let now = ctx.now();
        for g in gossip {
            if g.node == self.me {
                continue;
            }
            let p = &mut self.peers[g.node.index()];
            if g.failing {
                p.reports.insert(from, now);
                self.mark_failing_if_needed(ctx, g.node);
            } else {
                p.reports.remove(&from);
            }
        }
    }

    /// markNodeAsFailingIfNeeded: PFAIL here and a majority of masters
    /// (this one included, if a master) reporting it within 2 x node timeout.
    fn mark_failing_if_needed(&mut self, ctx: &mut Ctx<'_, RcNode>, node: NodeId) {
        let now = ctx.now();
        let validity = self.p.report_validity();
        let me_master = self.is_master();
        let quorum = self.quorum();
        let p = &mut self.peers[node.index()];
        if !p.pfail || p.fail.is_some() {
            return;
        }
        p.reports.retain(|_, t| now.since(*t) <= validity);
        let failures = p.reports.len() + usize::from(me_master);
        if failures < quorum {
            return;
        }
        p.fail = Some(now);
        p.pfail = false;
        if let Some(shard) = self.shard_of(node) {
            ctx.record(Obs::Phase {
                name: "fail",
                scope: Scope::Part(shard),
            });
        }
        let h = self.header();
        for j in self.others().collect::<Vec<_>>() {
            ctx.send(j, Msg::Fail { h: h.clone(), node });
        }
    }

    // ---------------------------------------------------------------
    // The vote (clusterSendFailoverAuthIfNeeded)
    // ---------------------------------------------------------------

    fn on_auth_request(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, h: &Header, shard: u32) {
        let now = ctx.now();
        if !self.is_master() {
            return;
        }
        if h.current_epoch < self.conf.current_epoch
            || self.conf.last_vote_epoch == self.conf.current_epoch
        {
            return;
        }
        let Some(master) = h.replica_of else {
            return;
        };
        let mp = &self.peers[master.index()];
        if mp.fail.is_none() {
            return;
        }
        if mp
            .voted_time
            .is_some_and(|t| now.since(t) < self.p.node_timeout.saturating_mul(2))
        {
            return;
        }
        if self.conf.shards[shard as usize].1 > h.config_epoch {
            return;
        }
        self.conf.last_vote_epoch = self.conf.current_epoch;
        self.peers[master.index()].voted_time = Some(now);
        ctx.record(Obs::Phase {
            name: "failover-auth-granted",
            scope: Scope::Part(shard),
        });
        ctx.record(Obs::Note(RcNote::Voted {
            voter: self.me,
            epoch: self.conf.current_epoch,
            candidate: from,
        }));
        // The ACK leaves after nodes.conf is fsynced.
        let ack = Msg::AuthAck { h: self.header() };
        self.save(ctx, Some((from, ack)));
    }

    // ---------------------------------------------------------------
    // The replica's election (clusterHandleSlaveFailover)
    // ---------------------------------------------------------------

    /// clusterGetSlaveRank: the other replicas of the same master with a
    /// larger replication offset.
    pub fn rank(&self) -> u64 {
        let Some(master) = self.conf.replica_of else {
            return 0;
        };
        let mine = self.log.len() as u64;
        self.others()
            .filter(|j| self.peers[j.index()].replica_of == Some(master))
            .filter(|j| self.peers[j.index()].offset > mine)
            .count() as u64
    }

    fn handle_failover(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        let now = ctx.now();
        let Some(master) = self.conf.replica_of else {
            return;
        };
        let Some(shard) = self.shard_of(master) else {
            return;
        };
        if self.peers[master.index()].fail.is_none() || self.p.no_failover {
            return;
        }
        // The data age check (cluster-replica-validity-factor).
        let mut age = now.since(self.master_last_io);
        if age > self.p.node_timeout {
            age = SimDuration(age.0 - self.p.node_timeout.0);
        }
        let limit =
            self.p.repl_ping_period + self.p.node_timeout.saturating_mul(self.p.validity_factor);
        if self.p.validity_factor > 0 && age > limit {
            return;
        }
        let scope = Scope::Part(shard);
        let retry = self.p.auth_retry();
        if self
            .election
            .time
            .is_none_or(|t| now >= t && now.since(t) > retry)
        {
            let rank = self.rank();
            let delay = 500 + rng::range_inclusive(ctx.rng(), 0, 499) + rank * 1000;
            self.election = Election {
                time: Some(now + SimDuration::from_ms(delay)),
                sent: false,
                rank,
                epoch: 0,
                voters: BTreeSet::new(),
            };
            ctx.record(Obs::Phase {
                name: "election-scheduled",
                scope,
            });
            // Tell the other replicas our offset, for their ranks.
            self.broadcast_pong(ctx, true);
            return;
        }
        let t = self.election.time.expect("set above");
        if !self.election.sent {
            let rank = self.rank();
            if rank > self.election.rank {
                let more = (rank - self.election.rank) * 1000;
                self.election.time = Some(t + SimDuration::from_ms(more));
                self.election.rank = rank;
            }
        }
        let t = self.election.time.expect("set above");
        if now < t || now.since(t) > self.p.auth_timeout() {
            return;
        }
        if !self.election.sent {
            self.conf.current_epoch += 1;
            self.election.epoch = self.conf.current_epoch;
            self.election.sent = true;
            self.save(ctx, None);
            ctx.record(Obs::Phase {
                name: "failover-auth-request",
                scope,
            });
            ctx.record(Obs::ElectionRound {
                term: self.election.epoch,
                scope,
            });
            let h = self.header();
            for j in self.others().collect::<Vec<_>>() {
                ctx.send(
                    j,
                    Msg::AuthRequest {
                        h: h.clone(),
                        shard,
                    },
                );
            }
            return;
        }
        if self.election.voters.len() < self.quorum() {
            return;
        }
        // Won: clusterFailoverReplaceYourMaster.
        let epoch = self.election.epoch;
        ctx.record(Obs::Phase {
            name: "failover-won",
            scope,
        });
        ctx.record(Obs::Elected {
            leader: self.me,
            term: epoch,
            scope,
        });
        if self.conf.config_epoch < epoch {
            self.conf.config_epoch = epoch;
            ctx.record(Obs::Phase {
                name: "configEpoch-bump",
                scope,
            });
        }
        self.conf.shards[shard as usize] = (self.me, self.conf.config_epoch);
        self.conf.replica_of = None;
        self.election = Election::default();
        self.attached.clear();
        self.save(ctx, None);
        ctx.record(Obs::Note(RcNote::Claim {
            node: self.me,
            shard,
            config_epoch: self.conf.config_epoch,
            promotion: true,
        }));
        ctx.record(Obs::Phase {
            name: "promoted",
            scope,
        });
        ctx.set_timer(self.p.repl_ping_period, Timer::ReplPing);
        self.broadcast_pong(ctx, false);
        if self.state_ok() {
            ctx.record(Obs::Serving {
                leader: self.me,
                term: self.conf.config_epoch,
                scope,
            });
        }
    }

    // ---------------------------------------------------------------
    // Replication and commands
    // ---------------------------------------------------------------

    fn on_stream(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, offset: u64, op: u64) {
        if self.conf.replica_of != Some(from) {
            return;
        }
        self.master_last_io = ctx.now();
        if offset == self.log.len() as u64 + 1 {
            self.log.push(op);
        } else if offset > self.log.len() as u64 + 1 {
            ctx.send(from, Msg::Psync);
        }
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, op: ClientOp, slot: u32) {
        let shard = shard_of_slot(slot, self.masters());
        let (owner, _) = self.conf.shards[shard as usize];
        let outcome = if !self.state_ok() {
            Outcome::Down
        } else if owner != self.me {
            Outcome::Moved { slot, to: owner }
        } else {
            if op.kind == OpKind::Write {
                self.log.push(op.id);
                let offset = self.log.len() as u64;
                for r in self.attached.clone() {
                    ctx.send(r, Msg::Stream { offset, op: op.id });
                }
            }
            Outcome::Ok
        };
        ctx.send(from, Msg::Reply { op: op.id, outcome });
    }
}
