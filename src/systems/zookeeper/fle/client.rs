//! A ZooKeeper client connection (ClientCnxn.java), reduced to what failover
//! needs: a shuffled server list, connect/read timeouts derived from the
//! session timeout, random reconnect back-off, pings, and ConnectionLoss for
//! every request in flight when the connection drops.

use std::collections::BTreeMap;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, SimDuration, SimTime, View};

use super::app::App;
use super::msg::Msg;
use super::vote::Zxid;
use super::{Timer, ZkNode, ZkNote, ZkParams};

/// ClientCnxn.java `MAX_SEND_PING_INTERVAL`.
pub(super) const MAX_SEND_PING_INTERVAL: SimDuration = SimDuration::from_ms(10_000);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Sleeping before the next connection attempt.
    Waiting,
    Connecting {
        server: NodeId,
        conn: u64,
    },
    Connected {
        server: NodeId,
        conn: u64,
    },
}

#[derive(Clone, Debug)]
pub struct Client {
    servers: Vec<NodeId>,
    next: usize,
    state: State,
    conn_seq: u64,
    last_zxid: Zxid,
    pending: BTreeMap<u64, ClientOp>,
    last_recv: SimTime,
    last_sent: SimTime,
    read_timeout: SimDuration,
    connect_timeout: SimDuration,
    ping_interval: SimDuration,
}

impl Client {
    pub fn new(servers: usize, p: &ZkParams) -> Self {
        let session = p.session_timeout;
        let read_timeout = SimDuration(session.0 * 2 / 3);
        Client {
            servers: (0..servers as u32).map(NodeId).collect(),
            next: 0,
            state: State::Waiting,
            conn_seq: 0,
            last_zxid: Zxid(0),
            pending: BTreeMap::new(),
            last_recv: SimTime::ZERO,
            last_sent: SimTime::ZERO,
            read_timeout,
            connect_timeout: SimDuration(session.0 / servers.max(1) as u64),
            ping_interval: SimDuration(read_timeout.0 / 2).min(MAX_SEND_PING_INTERVAL),
        }
    }

    pub fn view(&self) -> View {
        View {
            role: crate::engine::Role::Client,
            term: 0,
            leader: match self.state {
                State::Connected { server, .. } => Some(server),
                _ => None,
            },
            serving: matches!(self.state, State::Connected { .. }),
        }
    }

    pub fn on_start<A: App>(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>) {
        // StaticHostProvider shuffles the connect string once.
        for i in (1..self.servers.len()).rev() {
            let j = rng::index(ctx.rng(), i + 1);
            self.servers.swap(i, j);
        }
        self.connect(ctx);
    }

    fn connect<A: App>(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>) {
        let server = self.servers[self.next % self.servers.len()];
        self.next += 1;
        self.conn_seq += 1;
        ctx.cancel_all_timers();
        let conn = self.conn_seq;
        self.state = State::Connecting { server, conn };
        ctx.send(
            server,
            Msg::Connect {
                conn,
                last_zxid: self.last_zxid,
            },
        );
        ctx.set_timer(self.connect_timeout, Timer::ClientConnect);
    }

    /// The connection is gone: fail what is in flight, sleep 0–1 s, reconnect.
    fn disconnect<A: App>(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>) {
        for (_, op) in std::mem::take(&mut self.pending) {
            ctx.record(Obs::OpDone { op, ok: false });
        }
        self.state = State::Waiting;
        ctx.cancel_all_timers();
        let sleep = SimDuration::from_ms(rng::range_inclusive(ctx.rng(), 0, 999));
        ctx.set_timer(sleep, Timer::ClientReconnect);
    }

    fn conn(&self) -> Option<(NodeId, u64)> {
        match self.state {
            State::Connecting { server, conn } | State::Connected { server, conn } => {
                Some((server, conn))
            }
            State::Waiting => None,
        }
    }

    pub fn on_client<A: App>(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>, op: ClientOp) {
        match self.state {
            State::Connected { server, conn } => {
                self.pending.insert(op.id, op);
                self.last_sent = ctx.now();
                ctx.send(server, Msg::Request { conn, op });
            }
            // ConnectionLoss at once while not connected.
            _ => ctx.record(Obs::OpDone { op, ok: false }),
        }
    }

    pub fn on_message<A: App>(
        &mut self,
        ctx: &mut Ctx<'_, ZkNode<A>>,
        from: NodeId,
        msg: Msg<A::Msg>,
    ) {
        let Some((server, conn)) = self.conn() else {
            return;
        };
        let now = ctx.now();
        match msg {
            Msg::ConnectOk { conn: c } if c == conn && from == server => {
                self.state = State::Connected { server, conn };
                self.last_recv = now;
                self.last_sent = now;
                ctx.cancel_all_timers();
                ctx.set_timer(self.read_timeout, Timer::ClientRead);
                ctx.set_timer(self.ping_interval, Timer::ClientPing);
            }
            Msg::ClientClose { conn: c } if c == conn && from == server => self.disconnect(ctx),
            Msg::Reply {
                conn: c,
                op,
                ok,
                zxid,
            } if c == conn && from == server => {
                self.last_recv = now;
                if let Some(op) = self.pending.remove(&op) {
                    self.last_zxid = self.last_zxid.max(zxid);
                    ctx.record(Obs::OpDone { op, ok });
                    if ok && op.kind == OpKind::Write {
                        ctx.record(Obs::Note(ZkNote::Acked { op: op.id, zxid }));
                    }
                }
            }
            Msg::ClientPong { conn: c } if c == conn && from == server => self.last_recv = now,
            _ => {}
        }
    }

    pub fn on_timer<A: App>(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>, timer: Timer<A::Timer>) {
        let now = ctx.now();
        match timer {
            Timer::ClientConnect => {
                if let State::Connecting { .. } = self.state {
                    self.disconnect(ctx);
                }
            }
            Timer::ClientReconnect => self.connect(ctx),
            Timer::ClientRead => {
                let due = self.last_recv + self.read_timeout;
                if now >= due {
                    self.disconnect(ctx);
                } else {
                    ctx.set_timer(due.since(now), Timer::ClientRead);
                }
            }
            Timer::ClientPing => {
                if let State::Connected { server, conn } = self.state {
                    if now >= self.last_sent + self.ping_interval {
                        self.last_sent = now;
                        ctx.send(server, Msg::ClientPing { conn });
                    }
                    let due = self.last_sent + self.ping_interval;
                    ctx.set_timer(due.since(now), Timer::ClientPing);
                }
            }
            _ => {}
        }
    }

    pub fn on_link_reset<A: App>(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>, peer: NodeId) {
        if self.conn().is_some_and(|(s, _)| s == peer) {
            self.disconnect(ctx);
        }
    }
}
