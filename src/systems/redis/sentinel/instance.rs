//! A Redis instance: master or replica, with asynchronous replication
//! (replication.c): the replication stream and its offset, the backlog,
//! PSYNC with partial or full resynchronisation (replid and replid2), REPLCONF
//! ACK every second, WAIT, and min-replicas-to-write.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::RngCore;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, Role, SimDuration, SimTime, View};

use super::durable::{RedisConf, RsWrite};
use super::msg::{Hello, Info, InfoRole, Msg, Outcome};
use super::{RsNode, RsNote, RsParams, Timer};

/// The replid of the initial master's history, shared by its replicas at
/// the start of a trial.
const SETTLED_REPLID: u64 = 0x5e77_1ed0;

/// replicationCron's period.
const CRON: SimDuration = SimDuration::from_ms(1000);

/// A replica as its master sees it.
#[derive(Clone, Debug)]
struct Link {
    /// Waiting for the next diskless transfer (`attempt` of its PSYNC).
    waiting_bgsave: Option<u64>,
    ack_offset: u64,
    ack_time: SimTime,
}

/// A replica's link to its master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MasterLink {
    /// Not connected; PSYNC is (re)sent every cron run.
    Down,
    /// PSYNC `attempt` sent, no answer yet, or a full sync under way.
    Handshake {
        attempt: u64,
    },
    Up,
}

/// A WAIT blocked until enough replicas ack `offset`.
#[derive(Clone, Debug)]
struct Waiting {
    client: NodeId,
    conn: u64,
    op: ClientOp,
    offset: u64,
}

#[derive(Clone, Debug)]
pub struct Redis {
    id: NodeId,
    p: RsParams,
    conf: RedisConf,
    run_id: u64,
    /// The data: the op ids of every SET applied, in stream order; the
    /// replication offset is its length.
    log: Vec<u64>,
    replid: u64,
    replid2: u64,
    second_replid_offset: u64,
    // Master side.
    replicas: BTreeMap<NodeId, Link>,
    good_replicas: usize,
    waits: Vec<Waiting>,
    bgsave_scheduled: bool,
    last_repl_ping: SimTime,
    // Replica side.
    link: MasterLink,
    attempt: u64,
    last_io: SimTime,
    link_down_since: Option<SimTime>,
    // Connections.
    subscribers: BTreeSet<NodeId>,
    clients: BTreeSet<NodeId>,
}

impl Redis {
    pub fn new(id: NodeId, p: RsParams, conf: RedisConf) -> Self {
        Redis {
            id,
            p,
            conf,
            run_id: 0,
            log: Vec::new(),
            replid: 0,
            replid2: 0,
            second_replid_offset: 0,
            replicas: BTreeMap::new(),
            good_replicas: 0,
            waits: Vec::new(),
            bgsave_scheduled: false,
            last_repl_ping: SimTime::ZERO,
            link: MasterLink::Down,
            attempt: 0,
            last_io: SimTime::ZERO,
            link_down_since: None,
            subscribers: BTreeSet::new(),
            clients: BTreeSet::new(),
        }
    }

    pub fn conf(&self) -> &RedisConf {
        &self.conf
    }

    pub fn is_master(&self) -> bool {
        self.conf.replicaof.is_none()
    }

    /// The data: every write applied, in order.
    pub fn log(&self) -> &[u64] {
        &self.log
    }

    pub fn offset(&self) -> u64 {
        self.log.len() as u64
    }

    fn priority(&self) -> u32 {
        self.p.priority[self.id.index()]
    }

    pub fn view(&self) -> View {
        View {
            role: if self.is_master() {
                Role::Leader
            } else {
                Role::Follower
            },
            term: 0,
            leader: Some(self.conf.replicaof.unwrap_or(self.id)),
            serving: self.is_master(),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        self.run_id = ctx.rng().next_u64();
        // The trial starts from a settled deployment, every replica in sync
        // with the master's history; a restarted process has no data and a
        // new replid.
        self.replid = if ctx.incarnation() == 0 {
            SETTLED_REPLID
        } else {
            ctx.rng().next_u64()
        };
        ctx.record(Obs::Note(RsNote::Started {
            node: self.id,
            incarnation: ctx.incarnation(),
        }));
        if self.conf.replicaof.is_some() {
            self.connect_master(ctx);
        }
        // replicationCron runs at a random phase of the second.
        let phase = rng::range_inclusive(ctx.rng(), 0, 999);
        ctx.set_timer(SimDuration::from_ms(phase), Timer::ReplCron);
    }

    fn connect_master(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let Some(m) = self.conf.replicaof else { return };
        self.attempt += 1;
        self.link = MasterLink::Handshake {
            attempt: self.attempt,
        };
        ctx.send(
            m,
            Msg::Psync {
                attempt: self.attempt,
                replid: self.replid,
                offset: self.offset(),
            },
        );
    }

    fn link_lost(&mut self, now: SimTime) {
        if self.link == MasterLink::Up {
            self.link_down_since = Some(now);
        }
        self.link = MasterLink::Down;
    }

    /// CLIENT KILL TYPE normal (and what a role change does to clients).
    fn kill_clients(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        for c in std::mem::take(&mut self.clients) {
            ctx.send(c, Msg::Kill);
        }
    }

    fn info(&self, now: SimTime) -> Info {
        Info {
            run_id: self.run_id,
            role: if self.is_master() {
                InfoRole::Master
            } else {
                InfoRole::Replica
            },
            // Every attached replica, in any state (`state=wait_bgsave`, ...).
            replicas: self.replicas.keys().copied().collect(),
            master: self.conf.replicaof,
            link_up: self.link == MasterLink::Up,
            link_down_ms: match (self.link, self.link_down_since) {
                (MasterLink::Up, _) | (_, None) => 0,
                (_, Some(t)) => now.since(t).0 / 1_000_000 / 1000 * 1000,
            },
            offset: self.offset(),
            priority: self.priority(),
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RsNode>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        let from_master = self.conf.replicaof == Some(from);
        match msg {
            Msg::Ping => {
                self.subscribers.insert(from);
                ctx.send(from, Msg::Pong);
            }
            Msg::InfoReq => {
                self.subscribers.insert(from);
                ctx.send(from, Msg::InfoReply(Box::new(self.info(now))));
            }
            Msg::Publish(h) => self.publish(ctx, h),
            Msg::SlaveOf(target) => self.slave_of(ctx, target),
            Msg::Cmd { conn, op } => self.command(ctx, from, conn, op),
            Msg::Psync {
                attempt,
                replid,
                offset,
            } => self.psync(ctx, from, attempt, replid, offset),
            Msg::FullResync {
                attempt,
                replid,
                log,
            } if from_master && self.link == (MasterLink::Handshake { attempt }) => {
                self.log = log;
                self.replid = replid;
                self.link_up(ctx);
            }
            Msg::Continue {
                attempt,
                replid,
                from: at,
                ops,
            } if from_master
                && self.link == (MasterLink::Handshake { attempt })
                && at == self.offset() =>
            {
                self.log.extend(ops);
                // A replica of a new master takes its replid and keeps the
                // old one as replid2 (it may serve PSYNCs on it).
                if replid != self.replid {
                    self.replid2 = self.replid;
                    self.second_replid_offset = at;
                    self.replid = replid;
                }
                self.link_up(ctx);
            }
            Msg::Stream { from: at, ops } if from_master && self.link == MasterLink::Up => {
                if at == self.offset() {
                    self.log.extend(ops);
                    self.last_io = now;
                } else {
                    // A gap in the stream: the connection is broken.
                    self.link_lost(now);
                }
            }
            Msg::GetAck if from_master && self.link == MasterLink::Up => {
                ctx.send(
                    from,
                    Msg::Ack {
                        offset: self.offset(),
                    },
                );
            }
            Msg::ReplClose => {
                self.replicas.remove(&from);
                self.refresh_good_replicas(now);
            }
            Msg::Ack { offset } => {
                if let Some(l) = self.replicas.get_mut(&from) {
                    if l.waiting_bgsave.is_none() {
                        l.ack_offset = l.ack_offset.max(offset);
                        l.ack_time = now;
                        self.check_waits(ctx);
                    }
                }
            }
            _ => {}
        }
    }

    fn link_up(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        self.link = MasterLink::Up;
        self.last_io = ctx.now();
        self.link_down_since = None;
        if let Some(m) = self.conf.replicaof {
            ctx.send(
                m,
                Msg::Ack {
                    offset: self.offset(),
                },
            );
        }
    }

    fn publish(&mut self, ctx: &mut Ctx<'_, RsNode>, h: Hello) {
        for s in &self.subscribers {
            ctx.send(*s, Msg::Hello(h.clone()));
        }
    }

    /// The SLAVEOF transaction from a Sentinel.
    fn slave_of(&mut self, ctx: &mut Ctx<'_, RsNode>, target: Option<NodeId>) {
        if target == Some(self.id) || target == self.conf.replicaof {
            return;
        }
        let was_master = self.is_master();
        if let Some(old) = self.conf.replicaof {
            ctx.send(old, Msg::ReplClose);
        }
        self.conf.replicaof = target;
        ctx.persist(RsWrite::Redis(self.conf.clone()));
        self.kill_clients(ctx);
        match target {
            None => {
                // shiftReplicationId: siblings may continue on the old id.
                self.replid2 = self.replid;
                self.second_replid_offset = self.offset();
                self.replid = ctx.rng().next_u64();
                self.link = MasterLink::Down;
                self.link_down_since = None;
            }
            Some(_) => {
                if was_master {
                    // The former master keeps its replid and offset as its
                    // cached master, so it may resync partially.
                    self.replicas.clear();
                    for w in std::mem::take(&mut self.waits) {
                        ctx.send(
                            w.client,
                            Msg::Reply {
                                conn: w.conn,
                                op: w.op.id,
                                outcome: Outcome::ReadOnly,
                            },
                        );
                    }
                }
                self.link_lost(ctx.now());
                self.connect_master(ctx);
            }
        }
    }

    fn psync(
        &mut self,
        ctx: &mut Ctx<'_, RsNode>,
        from: NodeId,
        attempt: u64,
        replid: u64,
        offset: u64,
    ) {
        if !self.is_master() {
            // Chained replication is not modelled: only a master serves PSYNC.
            return;
        }
        let mine = self.offset();
        let history = (replid == self.replid && offset <= mine)
            || (replid == self.replid2 && offset <= self.second_replid_offset);
        let in_backlog = mine - offset.min(mine) <= self.p.backlog_writes;
        let now = ctx.now();
        if history && in_backlog {
            ctx.send(
                from,
                Msg::Continue {
                    attempt,
                    replid: self.replid,
                    from: offset,
                    ops: self.log[offset as usize..].to_vec(),
                },
            );
            self.replicas.insert(
                from,
                Link {
                    waiting_bgsave: None,
                    ack_offset: offset,
                    ack_time: now,
                },
            );
        } else {
            self.replicas.insert(
                from,
                Link {
                    waiting_bgsave: Some(attempt),
                    ack_offset: 0,
                    ack_time: now,
                },
            );
            if !self.bgsave_scheduled {
                self.bgsave_scheduled = true;
                ctx.set_timer(self.p.diskless_sync_delay, Timer::Bgsave);
            }
        }
    }

    fn command(&mut self, ctx: &mut Ctx<'_, RsNode>, client: NodeId, conn: u64, op: ClientOp) {
        self.clients.insert(client);
        let reply = |ctx: &mut Ctx<'_, RsNode>, outcome| {
            ctx.send(
                client,
                Msg::Reply {
                    conn,
                    op: op.id,
                    outcome,
                },
            )
        };
        if op.kind == OpKind::Read {
            // Replicas serve reads (replica-read-only yes).
            return reply(ctx, Outcome::Ok { replicas: 0 });
        }
        if !self.is_master() {
            return reply(ctx, Outcome::ReadOnly);
        }
        if self.p.min_replicas_to_write > 0 && self.good_replicas < self.p.min_replicas_to_write {
            return reply(ctx, Outcome::NoReplicas);
        }
        let from = self.offset();
        self.log.push(op.id);
        for (r, l) in &self.replicas {
            if l.waiting_bgsave.is_none() {
                ctx.send(
                    *r,
                    Msg::Stream {
                        from,
                        ops: vec![op.id],
                    },
                );
            }
        }
        if self.p.wait_numreplicas == 0 {
            return reply(ctx, Outcome::Ok { replicas: 0 });
        }
        self.waits.push(Waiting {
            client,
            conn,
            op,
            offset: self.offset(),
        });
        if !self.check_waits(ctx) {
            for (r, l) in &self.replicas {
                if l.waiting_bgsave.is_none() {
                    ctx.send(*r, Msg::GetAck);
                }
            }
            ctx.set_timer(self.p.wait_timeout, Timer::WaitTimeout { op: op.id });
        }
    }

    fn acked(&self, offset: u64) -> usize {
        self.replicas
            .values()
            .filter(|l| l.waiting_bgsave.is_none() && l.ack_offset >= offset)
            .count()
    }

    /// Answer the WAITs now satisfied; whether the newest one was.
    fn check_waits(&mut self, ctx: &mut Ctx<'_, RsNode>) -> bool {
        let need = self.p.wait_numreplicas;
        let mut answered_last = false;
        let waits = std::mem::take(&mut self.waits);
        let n = waits.len();
        for (i, w) in waits.into_iter().enumerate() {
            let got = self.acked(w.offset);
            if got >= need {
                ctx.cancel_timer(&Timer::WaitTimeout { op: w.op.id });
                ctx.send(
                    w.client,
                    Msg::Reply {
                        conn: w.conn,
                        op: w.op.id,
                        outcome: Outcome::Ok { replicas: got },
                    },
                );
                answered_last |= i + 1 == n;
            } else {
                self.waits.push(w);
            }
        }
        answered_last
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RsNode>, timer: Timer) {
        let now = ctx.now();
        match timer {
            Timer::ReplCron => {
                self.cron(ctx);
                ctx.set_timer(CRON, Timer::ReplCron);
            }
            Timer::Bgsave => {
                self.bgsave_scheduled = false;
                if !self.is_master() {
                    return;
                }
                for (r, l) in self.replicas.iter_mut() {
                    if let Some(attempt) = l.waiting_bgsave.take() {
                        ctx.send(
                            *r,
                            Msg::FullResync {
                                attempt,
                                replid: self.replid,
                                log: self.log.clone(),
                            },
                        );
                        l.ack_offset = self.log.len() as u64;
                        l.ack_time = now;
                    }
                }
            }
            Timer::WaitTimeout { op } => {
                if let Some(i) = self.waits.iter().position(|w| w.op.id == op) {
                    let w = self.waits.remove(i);
                    ctx.send(
                        w.client,
                        Msg::Reply {
                            conn: w.conn,
                            op,
                            outcome: Outcome::Ok {
                                replicas: self.acked(w.offset),
                            },
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// replicationCron: a replica (re)connects, times out its master and
    /// acks; a master drops silent replicas, pings them and recounts the good
    /// ones for min-replicas-to-write.
    fn cron(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        let now = ctx.now();
        if let Some(m) = self.conf.replicaof {
            match self.link {
                MasterLink::Up if now.since(self.last_io) > self.p.repl_timeout => {
                    self.link_lost(now);
                    self.connect_master(ctx);
                }
                MasterLink::Up => ctx.send(
                    m,
                    Msg::Ack {
                        offset: self.offset(),
                    },
                ),
                // The model retries the handshake every cron run; a full
                // sync under way is waited for up to repl-timeout.
                MasterLink::Handshake { .. } if now.since(self.last_io) <= self.p.repl_timeout => {}
                _ => {
                    self.last_io = now;
                    self.connect_master(ctx);
                }
            }
            return;
        }
        let timeout = self.p.repl_timeout;
        self.replicas
            .retain(|_, l| l.waiting_bgsave.is_some() || now.since(l.ack_time) <= timeout);
        if now.since(self.last_repl_ping) >= self.p.repl_ping_period {
            self.last_repl_ping = now;
            let from = self.offset();
            for (r, l) in &self.replicas {
                if l.waiting_bgsave.is_none() {
                    ctx.send(*r, Msg::Stream { from, ops: vec![] });
                }
            }
        }
        self.refresh_good_replicas(now);
    }

    /// refreshGoodSlavesCount: replicas online whose last ACK is at most
    /// min-replicas-max-lag whole seconds old.
    fn refresh_good_replicas(&mut self, now: SimTime) {
        let max_lag = self.p.min_replicas_max_lag_s;
        self.good_replicas = self
            .replicas
            .values()
            .filter(|l| l.waiting_bgsave.is_none())
            .filter(|l| now.since(l.ack_time).0 / 1_000_000_000 <= max_lag)
            .count();
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, RsNode>, peer: NodeId) {
        if self.conf.replicaof == Some(peer) {
            self.link_lost(ctx.now());
        }
        if self.replicas.remove(&peer).is_some() {
            self.refresh_good_replicas(ctx.now());
        }
        self.clients.remove(&peer);
        self.subscribers.remove(&peer);
    }
}
