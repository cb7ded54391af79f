//! The ZooKeeper client API other models use: an application (a Kafka broker,
//! a lock holder) hosted on a client process that owns one ZooKeeper session
//! (`ClientCnxn`), in the same simulation as the modelled ensemble. The app
//! reaches ZooKeeper only through [`ZkApi`], as real code reaches it through
//! `org.apache.zookeeper.ZooKeeper`: requests go to the connected server,
//! writes become Zab transactions through the leader, answers and watch
//! events come back as [`ZkEvent`]s.
//!
//! Znode data is one `u64` (a broker id, an epoch) plus the znode's
//! `dataVersion`. The namespace is flat: a znode's parent need not exist, and
//! there are no child watches or sequential nodes (see the `zookeeper/ephemeral`
//! module doc).

use std::collections::VecDeque;

use crate::engine::{Ctx, NodeId, Obs, Rng, SimDuration, SimTime, View};

use super::msg::{Msg, ZkOp};
use super::session::Session;
use super::{Timer, ZkNode, ZkNote, ZkParams};

/// An application hosted on a ZooKeeper client process: a Kafka broker, a
/// lock holder. The hosting node owns one ZooKeeper session (ClientCnxn) and
/// hands the app a [`ZkApi`].
pub trait App: Clone + std::fmt::Debug + 'static {
    /// App-to-app messages (e.g. LeaderAndIsr).
    type Msg: Clone + std::fmt::Debug;
    type Timer: Clone + PartialEq + std::fmt::Debug;
    /// Facts for the app's own checker.
    type Note: Clone + std::fmt::Debug;
    fn on_start(&mut self, zk: &mut ZkApi<'_, '_, Self>);
    fn on_event(&mut self, zk: &mut ZkApi<'_, '_, Self>, ev: ZkEvent);
    fn on_message(&mut self, zk: &mut ZkApi<'_, '_, Self>, from: NodeId, msg: Self::Msg);
    fn on_timer(&mut self, zk: &mut ZkApi<'_, '_, Self>, t: Self::Timer);
    fn view(&self) -> View;
}

/// No app: the node type of `zookeeper/fle`, which hosts none. Uninhabited.
#[derive(Clone, Debug)]
pub enum NoApp {}

impl App for NoApp {
    type Msg = ();
    type Timer = ();
    type Note = ();
    fn on_start(&mut self, _: &mut ZkApi<'_, '_, Self>) {
        match *self {}
    }
    fn on_event(&mut self, _: &mut ZkApi<'_, '_, Self>, _: ZkEvent) {
        match *self {}
    }
    fn on_message(&mut self, _: &mut ZkApi<'_, '_, Self>, _: NodeId, _: ()) {
        match *self {}
    }
    fn on_timer(&mut self, _: &mut ZkApi<'_, '_, Self>, _: ()) {
        match *self {}
    }
    fn view(&self) -> View {
        match *self {}
    }
}

/// A request's id, answered later by [`ZkEvent::Reply`] with the same id.
pub type Req = u64;

/// One operation of a `multi` (all-or-nothing, one Zab transaction).
/// `version: None` is ZooKeeper's −1 (any version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Create {
        path: String,
        data: u64,
        ephemeral: bool,
    },
    SetData {
        path: String,
        data: u64,
        version: Option<i32>,
    },
    Delete {
        path: String,
        version: Option<i32>,
    },
    Check {
        path: String,
        version: Option<i32>,
    },
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkReply {
    Created,
    /// exists/getData on an existing node, and setData: the node's data and
    /// `dataVersion`.
    Stat {
        data: u64,
        version: i32,
    },
    /// exists on a missing node.
    NoNodeStat,
    Deleted,
    Multi,
}

/// A failed answer (`KeeperException.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZkError {
    NodeExists,
    NoNode,
    BadVersion,
    /// The connection was lost before the answer came; the request may or
    /// may not have been applied.
    ConnectionLoss,
    SessionExpired,
}

/// `Watcher.Event.EventType` of a data/exist watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WatchKind {
    Created,
    Deleted,
    DataChanged,
}

/// `Watcher.Event.KeeperState` as the app sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    SyncConnected,
    /// Connection loss: the session may still live.
    Disconnected,
    /// The server said so on reconnect (or the session was closed); the app
    /// may start a fresh one with [`ZkApi::new_session`].
    Expired,
}

/// What the session hands the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkEvent {
    Reply {
        req: Req,
        result: Result<ZkReply, ZkError>,
    },
    /// A one-shot watch fired.
    Watch {
        path: String,
        kind: WatchKind,
    },
    Session(SessionState),
}

/// The app's door to its node and its ZooKeeper session.
pub struct ZkApi<'a, 'c, A: App> {
    ctx: &'a mut Ctx<'c, ZkNode<A>>,
    sess: &'a mut Session,
}

impl<'a, 'c, A: App> ZkApi<'a, 'c, A> {
    pub(super) fn new(ctx: &'a mut Ctx<'c, ZkNode<A>>, sess: &'a mut Session) -> Self {
        ZkApi { ctx, sess }
    }

    pub fn now(&self) -> SimTime {
        self.ctx.now()
    }

    pub fn me(&self) -> NodeId {
        self.ctx.me()
    }

    pub fn rng(&mut self) -> &mut Rng {
        self.ctx.rng()
    }

    /// Record an observation; the app's notes reach checkers as
    /// `ZkNote::App`.
    pub fn record(&mut self, obs: Obs<A::Note>) {
        self.ctx.record(lift(obs));
    }

    /// Send an app-to-app message.
    pub fn send(&mut self, to: NodeId, msg: A::Msg) {
        self.ctx.send(to, Msg::App(msg));
    }

    pub fn set_timer(&mut self, d: SimDuration, t: A::Timer) {
        self.ctx.set_timer(d, Timer::App(t));
    }

    pub fn cancel_timer(&mut self, t: A::Timer) {
        self.ctx.cancel_timer(&Timer::App(t));
    }

    pub fn session(&self) -> SessionState {
        self.sess.state()
    }

    /// The current session's id (0 before the first connection).
    pub fn session_id(&self) -> u64 {
        self.sess.id()
    }

    pub fn create(&mut self, path: &str, data: u64, ephemeral: bool) -> Req {
        let op = ZkOp::Create {
            path: path.to_string(),
            data,
            ephemeral,
        };
        self.sess.submit(self.ctx, op)
    }

    pub fn get_data(&mut self, path: &str, watch: bool) -> Req {
        let op = ZkOp::GetData {
            path: path.to_string(),
            watch,
        };
        self.sess.submit(self.ctx, op)
    }

    pub fn exists(&mut self, path: &str, watch: bool) -> Req {
        let op = ZkOp::Exists {
            path: path.to_string(),
            watch,
        };
        self.sess.submit(self.ctx, op)
    }

    pub fn set_data(&mut self, path: &str, data: u64, version: Option<i32>) -> Req {
        let op = ZkOp::SetData {
            path: path.to_string(),
            data,
            version,
        };
        self.sess.submit(self.ctx, op)
    }

    pub fn delete(&mut self, path: &str, version: Option<i32>) -> Req {
        let op = ZkOp::Delete {
            path: path.to_string(),
            version,
        };
        self.sess.submit(self.ctx, op)
    }

    pub fn multi(&mut self, ops: Vec<Op>) -> Req {
        self.sess.submit(self.ctx, ZkOp::Multi(ops))
    }

    /// `ZooKeeper.close()`: a closeSession transaction; its ephemerals go.
    pub fn close_session(&mut self) -> Req {
        self.sess.submit(self.ctx, ZkOp::CloseSession)
    }

    /// After `Expired` (or a close): start a fresh session, as Kafka's
    /// `ZooKeeperClient` reinitialises its `ZooKeeper` handle.
    pub fn new_session(&mut self) {
        self.sess.new_session(self.ctx);
    }
}

/// An app observation as a node observation.
fn lift<N>(obs: Obs<N>) -> Obs<ZkNote<N>> {
    obs.filter_map_note(|n| Some(ZkNote::App(n)))
        .expect("a note is kept")
}

/// A client process hosting app `A` on one ZooKeeper session.
#[derive(Clone, Debug)]
pub struct AppHost<A: App> {
    pub app: A,
    sess: Session,
}

impl<A: App> AppHost<A> {
    /// `servers`: the ensemble's size (its ids are `0..servers`); the session
    /// asks for `p`'s `sessionTimeout`.
    pub fn new(app: A, servers: usize, p: &ZkParams) -> Self {
        AppHost {
            app,
            sess: Session::new(servers, p),
        }
    }

    /// As [`AppHost::new`], asking for a session timeout of `requested_ms`
    /// instead of `sessionTimeout` (Kafka's `zookeeper.session.timeout.ms`).
    pub fn with_timeout(app: A, servers: usize, p: &ZkParams, requested_ms: u64) -> Self {
        let mut p = p.clone();
        p.requested_session_timeout = SimDuration::from_ms(requested_ms);
        AppHost::new(app, servers, &p)
    }

    /// The session client, for checkers and tests.
    pub fn session(&self) -> &Session {
        &self.sess
    }

    pub fn view(&self) -> View {
        self.app.view()
    }

    /// Hand the app every event the session produced.
    fn drain(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>) {
        while let Some(ev) = self.sess.events.pop_front() {
            let mut api = ZkApi::new(ctx, &mut self.sess);
            self.app.on_event(&mut api, ev);
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>) {
        self.sess.on_start(ctx);
        let mut api = ZkApi::new(ctx, &mut self.sess);
        self.app.on_start(&mut api);
        self.drain(ctx);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>, from: NodeId, msg: Msg<A::Msg>) {
        match msg {
            Msg::App(m) => {
                let mut api = ZkApi::new(ctx, &mut self.sess);
                self.app.on_message(&mut api, from, m);
            }
            other => self.sess.on_message(ctx, from, other),
        }
        self.drain(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>, timer: Timer<A::Timer>) {
        match timer {
            Timer::App(t) => {
                let mut api = ZkApi::new(ctx, &mut self.sess);
                self.app.on_timer(&mut api, t);
            }
            other => self.sess.on_timer(ctx, other),
        }
        self.drain(ctx);
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, ZkNode<A>>, peer: NodeId) {
        self.sess.on_link_reset(ctx, peer);
        self.drain(ctx);
    }
}

/// Events queued for the app, in order.
pub(super) type Events = VecDeque<ZkEvent>;
