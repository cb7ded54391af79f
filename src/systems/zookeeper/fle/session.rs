//! The session client of an app host (ClientCnxn.java with ZKWatchManager):
//! one ZooKeeper session over a connection to one server at a time.
//!
//! * Connect: a shuffled server list (StaticHostProvider), a ConnectRequest
//!   with the requested timeout, the last zxid seen and the session id (0 for
//!   a new session). The connect timeout is `timeout / servers`, the read
//!   timeout `2/3` of it, both from the requested timeout until a server
//!   negotiates one, from the negotiated one after (`onConnected`).
//! * A ConnectResponse with timeout 0 means the session expired: the client
//!   goes CLOSED and hands the app `Expired`; until the app asks for a new
//!   session, every request fails with `SessionExpired` (`conLossPacket`).
//! * Connection loss (read timeout, socket closed, reset): every request in
//!   flight or queued fails with `ConnectionLoss` (`cleanup`), the app hears
//!   `Disconnected` (if it was connected), the client sleeps 0–1 s and tries
//!   the next server with the same session. Requests made while not
//!   connected are queued and go out once connected (`outgoingQueue`).
//! * Pings after `readTimeout/2` of send silence (at most 10 s).
//! * Watches: registered on a successful answer (exists on a missing node:
//!   an exist watch), one-shot, re-registered on reconnect with SetWatches
//!   carrying the last zxid seen.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{rng, Ctx, NodeId, Obs, SimDuration, SimTime};

use super::app::{App, Events, Req, SessionState, ZkError, ZkEvent, ZkReply};
use super::msg::{Msg, ZkOp};
use super::vote::Zxid;
use super::{Timer, ZkNode, ZkNote, ZkParams};

type C<'a, A> = Ctx<'a, ZkNode<A>>;

use super::client::MAX_SEND_PING_INTERVAL;

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
    /// The session expired or was closed.
    Closed,
}

#[derive(Clone, Debug)]
pub struct Session {
    servers: Vec<NodeId>,
    next: usize,
    state: State,
    /// Requested session timeout (ms).
    requested: u64,
    /// Negotiated timeout (ms); 0 before the first connection.
    negotiated: u64,
    /// Session id; 0 before the server created one.
    id: u64,
    conn_seq: u64,
    last_zxid: Zxid,
    next_req: Req,
    /// Sent, waiting for their answer (`pendingQueue`).
    pending: BTreeMap<Req, ZkOp>,
    /// Made while not connected (`outgoingQueue`).
    outgoing: Vec<(Req, ZkOp)>,
    /// Watches the client holds (ZKWatchManager `dataWatches`,
    /// `existWatches`), each with its registration number.
    data_watches: BTreeMap<String, u64>,
    exist_watches: BTreeMap<String, u64>,
    next_watch: u64,
    last_recv: SimTime,
    last_sent: SimTime,
    /// Events waiting for the app.
    pub(super) events: Events,
}

impl Session {
    pub fn new(servers: usize, p: &ZkParams) -> Self {
        Session {
            servers: (0..servers as u32).map(NodeId).collect(),
            next: 0,
            state: State::Waiting,
            requested: p.requested_session_timeout.0 / 1_000_000,
            negotiated: 0,
            id: 0,
            conn_seq: 0,
            last_zxid: Zxid(0),
            next_req: 1,
            pending: BTreeMap::new(),
            outgoing: Vec::new(),
            data_watches: BTreeMap::new(),
            exist_watches: BTreeMap::new(),
            next_watch: 0,
            last_recv: SimTime::ZERO,
            last_sent: SimTime::ZERO,
            events: Events::new(),
        }
    }

    pub fn state(&self) -> SessionState {
        match self.state {
            State::Connected { .. } => SessionState::SyncConnected,
            State::Closed => SessionState::Expired,
            State::Waiting | State::Connecting { .. } => SessionState::Disconnected,
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// The negotiated session timeout (ms); 0 before the first connection.
    pub fn negotiated_timeout(&self) -> u64 {
        self.negotiated
    }

    /// The server this client is connected to.
    pub fn server(&self) -> Option<NodeId> {
        match self.state {
            State::Connected { server, .. } => Some(server),
            _ => None,
        }
    }

    fn timeout(&self) -> u64 {
        if self.negotiated > 0 {
            self.negotiated
        } else {
            self.requested
        }
    }

    fn read_timeout(&self) -> SimDuration {
        SimDuration::from_ms(self.timeout() * 2 / 3)
    }

    fn connect_timeout(&self) -> SimDuration {
        SimDuration::from_ms(self.timeout() / self.servers.len().max(1) as u64)
    }

    fn ping_interval(&self) -> SimDuration {
        SimDuration(self.read_timeout().0 / 2).min(MAX_SEND_PING_INTERVAL)
    }

    fn cancel_timers<A: App>(ctx: &mut C<'_, A>) {
        for t in [
            Timer::SessConnect,
            Timer::SessReconnect,
            Timer::SessRead,
            Timer::SessPing,
        ] {
            ctx.cancel_timer(&t);
        }
    }

    pub fn on_start<A: App>(&mut self, ctx: &mut C<'_, A>) {
        // StaticHostProvider shuffles the connect string once.
        for i in (1..self.servers.len()).rev() {
            let j = rng::index(ctx.rng(), i + 1);
            self.servers.swap(i, j);
        }
        self.connect(ctx);
    }

    fn connect<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let server = self.servers[self.next % self.servers.len()];
        self.next += 1;
        self.conn_seq += 1;
        Self::cancel_timers(ctx);
        let conn = u64::from(ctx.incarnation()) << 32 | self.conn_seq;
        self.state = State::Connecting { server, conn };
        ctx.send(
            server,
            Msg::SessConnect {
                conn,
                last_zxid: self.last_zxid,
                session: self.id,
                timeout: self.requested,
            },
        );
        ctx.set_timer(self.connect_timeout(), Timer::SessConnect);
    }

    /// `cleanup`: fail what is in flight or queued with `err`.
    fn fail_all(&mut self, err: ZkError) {
        let mut failed: Vec<Req> = std::mem::take(&mut self.pending).into_keys().collect();
        failed.extend(
            std::mem::take(&mut self.outgoing)
                .into_iter()
                .map(|(r, _)| r),
        );
        failed.sort_unstable();
        for req in failed {
            self.events.push_back(ZkEvent::Reply {
                req,
                result: Err(err),
            });
        }
    }

    /// The connection is gone: fail what is in flight, sleep 0–1 s, reconnect.
    fn disconnect<A: App>(&mut self, ctx: &mut C<'_, A>) {
        let was_connected = matches!(self.state, State::Connected { .. });
        if let Some((server, conn)) = self.conn() {
            // Closing our side of the socket.
            ctx.send(server, Msg::ClientClose { conn });
        }
        self.fail_all(ZkError::ConnectionLoss);
        if was_connected {
            ctx.record(Obs::phase("disconnected"));
            self.events
                .push_back(ZkEvent::Session(SessionState::Disconnected));
        }
        self.state = State::Waiting;
        Self::cancel_timers(ctx);
        let sleep = SimDuration::from_ms(rng::range_inclusive(ctx.rng(), 0, 999));
        ctx.set_timer(sleep, Timer::SessReconnect);
    }

    fn conn(&self) -> Option<(NodeId, u64)> {
        match self.state {
            State::Connecting { server, conn } | State::Connected { server, conn } => {
                Some((server, conn))
            }
            State::Waiting | State::Closed => None,
        }
    }

    /// The app's request: sent now, queued while connecting, or failed at
    /// once after the session expired.
    pub fn submit<A: App>(&mut self, ctx: &mut C<'_, A>, op: ZkOp) -> Req {
        let req = self.next_req;
        self.next_req += 1;
        match self.state {
            State::Connected { server, conn } => {
                self.last_sent = ctx.now();
                self.pending.insert(req, op.clone());
                ctx.send(
                    server,
                    Msg::ZkRequest {
                        conn,
                        req,
                        op: Box::new(op),
                    },
                );
            }
            State::Waiting | State::Connecting { .. } => self.outgoing.push((req, op)),
            State::Closed => self.events.push_back(ZkEvent::Reply {
                req,
                result: Err(ZkError::SessionExpired),
            }),
        }
        req
    }

    /// A fresh session after the old one expired or was closed.
    pub fn new_session<A: App>(&mut self, ctx: &mut C<'_, A>) {
        if self.state != State::Closed {
            return;
        }
        self.id = 0;
        self.negotiated = 0;
        self.data_watches.clear();
        self.exist_watches.clear();
        self.connect(ctx);
    }

    fn expired<A: App>(&mut self, ctx: &mut C<'_, A>) {
        self.state = State::Closed;
        Self::cancel_timers(ctx);
        self.fail_all(ZkError::SessionExpired);
        ctx.record(Obs::phase("session_expired"));
        self.events
            .push_back(ZkEvent::Session(SessionState::Expired));
    }

    pub fn on_message<A: App>(&mut self, ctx: &mut C<'_, A>, from: NodeId, msg: Msg<A::Msg>) {
        let Some((server, conn)) = self.conn() else {
            return;
        };
        if from != server || msg.conn() != Some(conn) {
            return;
        }
        let now = ctx.now();
        self.last_recv = now;
        match msg {
            Msg::SessConnected {
                session, timeout, ..
            } => {
                if timeout == 0 {
                    // "Unable to reconnect to ZooKeeper service, session 0x..
                    // has expired"
                    return self.expired(ctx);
                }
                let fresh = self.id != session;
                self.id = session;
                self.negotiated = timeout;
                self.state = State::Connected { server, conn };
                self.last_sent = now;
                Self::cancel_timers(ctx);
                if fresh {
                    ctx.record(Obs::Note(ZkNote::SessionStarted {
                        session,
                        timeout: SimDuration::from_ms(timeout),
                    }));
                }
                // SetWatches first, then what was queued.
                if !self.data_watches.is_empty() || !self.exist_watches.is_empty() {
                    ctx.send(
                        server,
                        Msg::SetWatches {
                            conn,
                            relative_zxid: self.last_zxid,
                            paths: Box::new((
                                self.data_watches.keys().cloned().collect(),
                                self.exist_watches.keys().cloned().collect(),
                            )),
                        },
                    );
                }
                for (req, op) in std::mem::take(&mut self.outgoing) {
                    self.pending.insert(req, op.clone());
                    ctx.send(
                        server,
                        Msg::ZkRequest {
                            conn,
                            req,
                            op: Box::new(op),
                        },
                    );
                }
                ctx.record(Obs::phase("connected"));
                self.events
                    .push_back(ZkEvent::Session(SessionState::SyncConnected));
                ctx.set_timer(self.read_timeout(), Timer::SessRead);
                ctx.set_timer(self.ping_interval(), Timer::SessPing);
            }
            Msg::ClientClose { .. } => self.disconnect(ctx),
            Msg::ZkResponse {
                req, zxid, result, ..
            } => {
                self.last_zxid = self.last_zxid.max(zxid);
                let Some(op) = self.pending.remove(&req) else {
                    return;
                };
                match (&op, &result) {
                    (ZkOp::Exists { path, watch: true }, Ok(ZkReply::NoNodeStat)) => {
                        self.next_watch += 1;
                        self.exist_watches.insert(path.clone(), self.next_watch);
                    }
                    (
                        ZkOp::Exists { path, watch: true } | ZkOp::GetData { path, watch: true },
                        Ok(ZkReply::Stat { .. }),
                    ) => {
                        self.next_watch += 1;
                        self.data_watches
                            .entry(path.clone())
                            .or_insert(self.next_watch);
                    }
                    (ZkOp::CloseSession, Ok(_)) => {
                        self.events.push_back(ZkEvent::Reply { req, result });
                        self.state = State::Closed;
                        Self::cancel_timers(ctx);
                        self.fail_all(ZkError::SessionExpired);
                        return;
                    }
                    _ => {}
                }
                self.events.push_back(ZkEvent::Reply { req, result });
            }
            Msg::WatchEvent { path, kind, .. } => {
                // One event fires every watch the client holds on the path.
                let data = self.data_watches.remove(&path);
                let exist = self.exist_watches.remove(&path);
                let reg = data.or(exist);
                ctx.record(Obs::Note(ZkNote::WatchFired {
                    session: self.id,
                    path: path.clone(),
                    kind,
                    registration: reg,
                }));
                self.events.push_back(ZkEvent::Watch { path, kind });
            }
            Msg::SessPong { .. } => {}
            _ => {}
        }
    }

    pub fn on_timer<A: App>(&mut self, ctx: &mut C<'_, A>, timer: Timer<A::Timer>) {
        let now = ctx.now();
        match timer {
            Timer::SessConnect => {
                if let State::Connecting { .. } = self.state {
                    self.disconnect(ctx);
                }
            }
            Timer::SessReconnect if self.state == State::Waiting => self.connect(ctx),
            Timer::SessRead => {
                let due = self.last_recv + self.read_timeout();
                if now >= due {
                    self.disconnect(ctx);
                } else {
                    ctx.set_timer(due.since(now), Timer::SessRead);
                }
            }
            Timer::SessPing => {
                if let State::Connected { server, conn } = self.state {
                    if now >= self.last_sent + self.ping_interval() {
                        self.last_sent = now;
                        ctx.send(server, Msg::SessPing { conn });
                    }
                    let due = self.last_sent + self.ping_interval();
                    ctx.set_timer(due.since(now), Timer::SessPing);
                }
            }
            _ => {}
        }
    }

    pub fn on_link_reset<A: App>(&mut self, ctx: &mut C<'_, A>, peer: NodeId) {
        if self.conn().is_some_and(|(s, _)| s == peer) {
            self.disconnect(ctx);
        }
    }

    /// Paths this client holds a watch on (data or exist).
    pub fn watches(&self) -> BTreeSet<&str> {
        self.data_watches
            .keys()
            .chain(self.exist_watches.keys())
            .map(String::as_str)
            .collect()
    }
}
