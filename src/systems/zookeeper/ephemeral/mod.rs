//! `zookeeper/ephemeral`: ZooKeeper as a coordination service. Client
//! sessions, ephemeral znodes and one-shot watches on the `zookeeper/fle`
//! ensemble (the same servers, not a second ZooKeeper): session owners each
//! hold one ephemeral znode, like a lock or leader-latch holder, and watchers
//! keep an exists-watch on each. A crashed owner's session expires in the
//! leader's session tracker and its znode goes in a closeSession transaction
//! through Zab; the watchers hear `NodeDeleted`.
//!
//! Follows `PROTOCOLS.md` §1.5 (and §1.1–1.7 through `zookeeper/fle`), read
//! against apache/zookeeper 3.8: `ZooKeeperServer.java`
//! (`processConnectRequest`: the timeout clamp, `revalidateSession`),
//! `SessionTrackerImpl.java` and `ExpiryQueue.java` (expiry in `tickTime`
//! buckets, `roundToNextInterval`), `LeaderSessionTracker.java`,
//! `LearnerHandler.java` (PING replies carry the learner's session touches,
//! REVALIDATE), `PrepRequestProcessor.java` (createSession, closeSession,
//! multi), `DataTree.java` (`killSession`, watches, `setWatches`),
//! `ClientCnxn.java` (timeouts, pings, reconnects, Expired).
//!
//! What is modelled (the ensemble side lives in `fle::server`, `fle::tree`,
//! the client side in `fle::session`, the API in `fle::app`):
//! * A session client asks for `sessionTimeout`; the server grants it
//!   clamped to [`minSessionTimeout`, `maxSessionTimeout`] (2 and 20 ×
//!   tickTime by default). A new session is a `createSession` transaction
//!   through the leader (a global session), answered by the server the
//!   client connected to once it applied the commit.
//! * The leader's session tracker: every touch sets a session's expiry to
//!   `roundToNextInterval(now + timeout)`, the next multiple of tickTime
//!   strictly after; the tracker wakes at each bucket, marks its sessions
//!   closing and proposes a closeSession for each. Clients touch their
//!   session with every request and ping; a follower collects the touches
//!   and hands them to the leader in its PING reply (every tickTime/2).
//! * Applying a closeSession (on every server, in zxid order) deletes the
//!   session's ephemerals, fires their watches, and closes the session's
//!   connection on the server that has it. Writes of a closed (or closing)
//!   session fail with `SessionExpired`.
//! * A new leader builds its tracker from the sessions in its database and
//!   starts each one's clock afresh (the quirk of `SessionTrackerImpl`'s
//!   constructor): a ZooKeeper leader failover does not expire sessions
//!   whose clients reconnect in time, though every client sees
//!   `Disconnected` when its server leaves the old epoch.
//! * A client that reconnects presents its session id: the server asks the
//!   leader to revalidate it (REVALIDATE, a touch); an expired session gets
//!   a ConnectResponse with timeout 0, the client goes CLOSED and hands the
//!   app `Expired`; the owner starts a new session and recreates its znode
//!   (as Curator's recipes do).
//! * Watches live on the server the client is connected to, fire once, and
//!   go with the connection; after a reconnect the client sends SetWatches
//!   with its last zxid and the new server fires what it missed
//!   (`NodeDeleted` for a gone node, `NodeDataChanged` for a node changed
//!   after that zxid, `NodeCreated` for an exist watch on a node that now
//!   exists).
//!
//! The `sessionTimeout` default is 30000 ms, zkCli.sh's (Curator's 60000
//! would be clamped to 40000 by the default maxSessionTimeout with tickTime
//! 2000); a workload can set any value.
//!
//! Simplifications:
//! * The namespace is flat: a znode's parent need not exist, there are no
//!   children, child watches or sequential nodes; data is one `u64`.
//! * A write's preconditions (version, existence, the session being alive)
//!   are checked when the transaction is applied, on every server, rather
//!   than by the leader's PrepRequestProcessor against its outstanding
//!   changes; both give the same answers in the same order, and a failed
//!   write is a transaction through Zab in both (an error txn).
//! * Only global sessions (no local sessions, `localSessionsEnabled`
//!   false, the default); the session id is the accepting server's sid in
//!   the top byte, its process incarnation and a counter (the real one
//!   seeds the counter from the clock).
//! * The leader touches a session for a follower's client when the PING
//!   reply arrives; the follower's own expiry check of its
//!   `LearnerSessionTracker` (only for local sessions) is not modelled.
//! * A session's connection is closed by the server that has it when the
//!   closeSession is applied there; the client then reconnects (after its
//!   random 0–1 s sleep) and hears `Expired` from the next server.
//! * The load clients of `[clients]` are `zookeeper/fle`'s: plain writes
//!   without sessions.
//!
//! A finding that differs from `PROTOCOLS.md` §1.5, which gives the effective
//! timeout as [timeout, timeout + tickTime): `ExpiryQueue.roundToNextInterval`
//! is `(time / interval + 1) * interval`, the next multiple strictly after
//! `touch + timeout`, and the tracker expires a bucket when the clock reaches
//! it (`poll` returns nothing before), so a session expires in
//! (timeout, timeout + tickTime] after the last touch the leader saw. A
//! follower's client's touch reaches the leader with the follower's next
//! PING reply, up to tickTime/2 later.
//!
//! Invariants (`fle::checker`): the session tracker expires a session
//! strictly after `timeout` and within one tick bucket of the last touch it
//! saw; a server that applied a closeSession holds none of its ephemerals,
//! and at the end no serving server holds an ephemeral of a session it no
//! longer has; a watch fires at most once; plus every `zookeeper/fle`
//! invariant. Commit of the closeSession is Zab's, so "the ephemeral is
//! gone" follows the tracker's decision by one quorum round trip, unbounded
//! only when the ensemble has no quorum.

#[cfg(test)]
mod tests;

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{Model, NodeId, Obs, Role, Scope, Targeting, Topology, View};
use crate::systems::{Better, ColumnSpec, GroupSpec, PathInfo};
use crate::workload::Workload;

use super::fle::app::{App, Req, SessionState, WatchKind, ZkApi, ZkError, ZkEvent, ZkReply};
use super::fle::{AppHost, Client, Server, ZkChecker, ZkDurable, ZkNode, ZkParams};

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "zookeeper/ephemeral",
    system: "zookeeper",
    summary: "Sessions, ephemeral znodes and watches on the fle ensemble: expiry in the leader's \
              tick buckets, closeSession through Zab, watches fired once",
    groups: &[
        GroupSpec {
            name: "servers",
            word: "server",
            min: 1,
            max: 255,
            default: None,
            doc: "Voting members of the ensemble (server.N lines of zoo.cfg); sids 1..=N.",
        },
        GroupSpec {
            name: "owners",
            word: "owner",
            min: 1,
            max: 64,
            default: Some(1),
            doc: "Session holders, each creating one ephemeral znode /owner/<node> (a lock or \
                  leader-latch holder); after Expired each starts a new session and recreates it.",
        },
        GroupSpec {
            name: "watchers",
            word: "watcher",
            min: 0,
            max: 64,
            default: Some(2),
            doc: "Clients keeping an exists-watch on every owner's znode, set again after each \
                  event.",
        },
    ],
    params: super::fle::params::SPECS,
    targets: &[],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<Ephemeral>,
};

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::lower_ms(
        "expired_ms",
        "From an owner's fault to the first server (the leader) applying its session's \
         closeSession (`session_closed`); empty for a fault that is not an owner's or a session \
         that never expires.",
    ),
    ColumnSpec::lower_ms(
        "ephemeral_gone_ms",
        "From an owner's fault to the last server applying that closeSession, which deletes the \
         owner's ephemeral znode there.",
    ),
    ColumnSpec::lower_ms(
        "watch_ms",
        "From an owner's fault until every watcher has received NodeDeleted for the owner's \
         znode; empty without watchers or if one never hears it.",
    ),
    ColumnSpec {
        name: "sessions_expired",
        unit: "count",
        better: Better::Lower,
        doc: "Sessions the leader's tracker expired during the trial (`session_expiring`): 0 \
              after a ZooKeeper leader crash whose clients reconnect in time.",
    },
    ColumnSpec {
        name: "disconnected",
        unit: "count",
        better: Better::Lower,
        doc: "Connection losses session clients saw during the trial (Disconnected events).",
    },
];

/// The znode an owner holds.
pub fn owner_path(owner: NodeId) -> String {
    format!("/owner/{}", owner.0)
}

fn owner_of(path: &str) -> Option<u32> {
    path.strip_prefix("/owner/")?.parse().ok()
}

/// Owner state.
#[derive(Clone, Debug, Default)]
pub struct Owner {
    /// The create in flight.
    creating: Option<Req>,
    /// The ephemeral exists for the current session.
    pub holding: bool,
    connected: bool,
}

/// Watcher state.
#[derive(Clone, Debug)]
pub struct Watcher {
    owners: Vec<NodeId>,
    /// exists(watch) in flight: request -> owner.
    asking: std::collections::BTreeMap<Req, NodeId>,
    /// Owners whose znode this watcher has a watch on.
    pub watching: std::collections::BTreeSet<NodeId>,
    connected: bool,
}

/// The app of this path: an owner or a watcher.
#[derive(Clone, Debug)]
pub enum EphemeralApp {
    Owner(Owner),
    Watcher(Watcher),
}

impl EphemeralApp {
    fn connected(&self) -> bool {
        match self {
            EphemeralApp::Owner(o) => o.connected,
            EphemeralApp::Watcher(w) => w.connected,
        }
    }

    fn set_connected(&mut self, c: bool) {
        match self {
            EphemeralApp::Owner(o) => o.connected = c,
            EphemeralApp::Watcher(w) => w.connected = c,
        }
    }

    /// Ask for what is missing: the owner's znode, the watchers' watches.
    fn ensure(&mut self, zk: &mut ZkApi<'_, '_, Self>) {
        if zk.session() != SessionState::SyncConnected {
            return;
        }
        let me = zk.me();
        match self {
            EphemeralApp::Owner(o) => {
                if !o.holding && o.creating.is_none() {
                    o.creating = Some(zk.create(&owner_path(me), u64::from(me.0), true));
                }
            }
            EphemeralApp::Watcher(w) => {
                for &o in &w.owners {
                    if !w.watching.contains(&o) && !w.asking.values().any(|x| *x == o) {
                        let r = zk.exists(&owner_path(o), true);
                        w.asking.insert(r, o);
                    }
                }
            }
        }
    }
}

impl App for EphemeralApp {
    type Msg = ();
    type Timer = ();
    type Note = ();

    fn on_start(&mut self, zk: &mut ZkApi<'_, '_, Self>) {
        self.ensure(zk);
    }

    fn on_event(&mut self, zk: &mut ZkApi<'_, '_, Self>, ev: ZkEvent) {
        match ev {
            ZkEvent::Session(SessionState::SyncConnected) => {
                self.set_connected(true);
                self.ensure(zk);
            }
            ZkEvent::Session(SessionState::Disconnected) => self.set_connected(false),
            ZkEvent::Session(SessionState::Expired) => {
                self.set_connected(false);
                match self {
                    EphemeralApp::Owner(o) => {
                        o.holding = false;
                        o.creating = None;
                    }
                    EphemeralApp::Watcher(w) => {
                        w.watching.clear();
                        w.asking.clear();
                    }
                }
                zk.new_session();
            }
            ZkEvent::Reply { req, result } => {
                match self {
                    EphemeralApp::Owner(o) if o.creating == Some(req) => {
                        o.creating = None;
                        // NodeExists: a create that got ConnectionLoss was applied.
                        if matches!(result, Ok(ZkReply::Created) | Err(ZkError::NodeExists)) {
                            o.holding = true;
                            zk.record(Obs::Phase {
                                name: "ephemeral_created",
                                scope: Scope::Part(zk.me().0),
                            });
                        }
                    }
                    EphemeralApp::Watcher(w) => {
                        if let Some(o) = w.asking.remove(&req) {
                            if result.is_ok() {
                                w.watching.insert(o);
                            }
                        }
                    }
                    EphemeralApp::Owner(_) => {}
                }
                self.ensure(zk);
            }
            ZkEvent::Watch { path, kind } => {
                if let (EphemeralApp::Watcher(w), Some(o)) = (&mut *self, owner_of(&path)) {
                    w.watching.remove(&NodeId(o));
                    let name = match kind {
                        WatchKind::Deleted => "watch_deleted",
                        WatchKind::Created => "watch_created",
                        WatchKind::DataChanged => "watch_changed",
                    };
                    zk.record(Obs::Phase {
                        name,
                        scope: Scope::Part(o),
                    });
                }
                self.ensure(zk);
            }
        }
    }

    fn on_message(&mut self, _: &mut ZkApi<'_, '_, Self>, _: NodeId, _: ()) {}

    fn on_timer(&mut self, _: &mut ZkApi<'_, '_, Self>, _: ()) {}

    fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: None,
            serving: self.connected(),
        }
    }
}

/// The `zookeeper/ephemeral` model of one sweep point.
#[derive(Clone, Debug)]
pub struct Ephemeral {
    pub servers: usize,
    pub owners: usize,
    pub watchers: usize,
    pub params: ZkParams,
}

impl Ephemeral {
    fn owner_range(&self) -> std::ops::Range<usize> {
        self.servers..self.servers + self.owners
    }

    fn app(&self, i: usize) -> EphemeralApp {
        if self.owner_range().contains(&i) {
            EphemeralApp::Owner(Owner::default())
        } else {
            EphemeralApp::Watcher(Watcher {
                owners: self.owner_range().map(|o| NodeId(o as u32)).collect(),
                asking: Default::default(),
                watching: Default::default(),
                connected: false,
            })
        }
    }

    fn host(&self, i: usize) -> ZkNode<EphemeralApp> {
        ZkNode::App(Box::new(AppHost::new(
            self.app(i),
            self.servers,
            &self.params,
        )))
    }
}

impl crate::runner::FromWorkload for Ephemeral {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        Ephemeral {
            servers: sizes[0],
            owners: sizes[1],
            watchers: sizes[2],
            params: ZkParams::from_params(&w.params),
        }
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns(out, self.watchers)
    }

    /// The ensemble elects with the same FastLeaderElection as
    /// `zookeeper/fle`, so the same `finalizeWait` is left out.
    fn election_wait(&self) -> crate::engine::SimDuration {
        self.params.finalize_wait
    }
}

/// The path's columns of a trial (see [`COLUMNS`]).
pub fn columns(out: &SimOutput, watchers: usize) -> Vec<Option<f64>> {
    let count = |name: &str| {
        out.records
            .iter()
            .filter(|r| matches!(r.obs, Obs::Phase { name: n, .. } if n == name))
            .count() as f64
    };
    let counts = [Some(count("session_expiring")), Some(count("disconnected"))];
    let fault = out
        .faults
        .iter()
        .find(|f| f.applied && matches!(f.scope, Scope::Part(_)));
    let Some(f) = fault else {
        return [vec![None, None, None], counts.to_vec()].concat();
    };
    let (t0, scope) = (f.at, f.scope);
    let at = |name: &str| -> Vec<f64> {
        out.records
            .iter()
            .filter(|r| r.at >= t0)
            .filter(
                |r| matches!(r.obs, Obs::Phase { name: n, scope: s } if n == name && s == scope),
            )
            .map(|r| r.at.since(t0).as_ms_f64())
            .collect()
    };
    let closed = at("session_closed");
    let watched = at("watch_deleted");
    let watch = (watchers > 0 && watched.len() >= watchers)
        .then(|| watched.iter().take(watchers).copied().fold(0.0, f64::max));
    [
        vec![
            closed.first().copied(),
            closed.iter().copied().reduce(f64::max),
            watch,
        ],
        counts.to_vec(),
    ]
    .concat()
}

impl Model for Ephemeral {
    type Node = ZkNode<EphemeralApp>;
    type Checker = ZkChecker;

    fn servers(&self) -> usize {
        self.servers + self.owners + self.watchers
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![
                ("servers", self.servers),
                ("owners", self.owners),
                ("watchers", self.watchers),
            ],
        }
    }

    fn build(&self, clients: usize) -> (Vec<Self::Node>, ZkChecker) {
        let mut nodes: Vec<Self::Node> = (0..self.servers)
            .map(|i| {
                ZkNode::Server(Box::new(Server::new(
                    NodeId(i as u32),
                    self.servers,
                    self.params.clone(),
                )))
            })
            .collect();
        nodes.extend((self.servers..self.servers()).map(|i| self.host(i)));
        nodes.extend(
            (0..clients).map(|_| ZkNode::Client(Box::new(Client::new(self.servers, &self.params)))),
        );
        (nodes, ZkChecker::default())
    }

    fn recover(&self, id: NodeId, durable: &ZkDurable) -> Self::Node {
        let i = id.index();
        assert!(i < self.servers(), "clients are never faulted");
        if i < self.servers {
            ZkNode::Server(Box::new(Server::recover(
                id,
                self.servers,
                self.params.clone(),
                durable,
            )))
        } else {
            // A restarted client process: a new session.
            self.host(i)
        }
    }

    fn resolve(
        &self,
        target: &Target,
        t: &mut Targeting<'_, Self::Node>,
    ) -> Option<(usize, Scope)> {
        // The engine's server words mean the ensemble's servers here.
        let i = match target {
            Target::Follower => {
                let leader = t.leader();
                t.random_live(0..self.servers, leader)
            }
            Target::Random => t.random_live(0..self.servers, None),
            other => t.common(other),
        }?;
        let scope = if self.owner_range().contains(&i) {
            Scope::Part(i as u32)
        } else {
            Scope::Whole
        };
        Some((i, scope))
    }
}
