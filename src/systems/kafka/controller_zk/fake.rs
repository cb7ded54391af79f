//! A small fake ZooKeeper for unit tests of the broker's rules: one data
//! tree, sessions with ephemerals, one-shot watches, and a fixed 0.5 ms each
//! way between a broker and "the server", which applies requests in the order
//! they arrive. No ensemble, no Zab: the scenario tests against the modelled
//! ensemble are in `tests.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::engine::{NodeId, Obs, SimDuration, SimTime};

use super::broker::{Broker, Cluster};
use super::msg::{KafkaMsg, KafkaNote, KafkaTimer};
use super::params::KafkaParams;
use super::zk::{Op, Req, SessionState, WatchKind, ZkError, ZkEvent, ZkPort, ZkReply};

const HOP: SimDuration = SimDuration(500_000);

/// A request as the fake server sees it.
#[derive(Clone, Debug)]
enum Request {
    Create(String, u64, bool),
    GetData(String, bool),
    Exists(String, bool),
    Multi(Vec<Op>),
}

/// What one handler call asked for.
#[derive(Default)]
struct Effects {
    reqs: Vec<(Req, Request)>,
    records: Vec<Obs<KafkaNote>>,
    sends: Vec<(NodeId, KafkaMsg)>,
    timers: Vec<(SimDuration, KafkaTimer)>,
    cancels: Vec<KafkaTimer>,
    new_session: bool,
}

struct Port<'a> {
    now: SimTime,
    me: NodeId,
    session: u64,
    next_req: &'a mut Req,
    fx: Effects,
}

impl Port<'_> {
    fn req(&mut self, r: Request) -> Req {
        *self.next_req += 1;
        self.fx.reqs.push((*self.next_req, r));
        *self.next_req
    }
}

impl ZkPort for Port<'_> {
    fn now(&self) -> SimTime {
        self.now
    }
    fn me(&self) -> NodeId {
        self.me
    }
    fn record(&mut self, obs: Obs<KafkaNote>) {
        self.fx.records.push(obs);
    }
    fn send(&mut self, to: NodeId, msg: KafkaMsg) {
        self.fx.sends.push((to, msg));
    }
    fn set_timer(&mut self, after: SimDuration, t: KafkaTimer) {
        self.fx.timers.push((after, t));
    }
    fn cancel_timer(&mut self, t: KafkaTimer) {
        self.fx.cancels.push(t);
    }
    fn create(&mut self, path: &str, data: u64, ephemeral: bool) -> Req {
        self.req(Request::Create(path.into(), data, ephemeral))
    }
    fn get_data(&mut self, path: &str, watch: bool) -> Req {
        self.req(Request::GetData(path.into(), watch))
    }
    fn exists(&mut self, path: &str, watch: bool) -> Req {
        self.req(Request::Exists(path.into(), watch))
    }
    fn multi(&mut self, ops: Vec<Op>) -> Req {
        self.req(Request::Multi(ops))
    }
    fn new_session(&mut self) {
        self.fx.new_session = true;
    }
    fn session_id(&self) -> u64 {
        self.session
    }
}

#[derive(Clone, Debug)]
enum Ev {
    /// A request reaches the server.
    Arrive {
        session: u64,
        req: Req,
        r: Request,
    },
    /// Something reaches broker `b`.
    ToBroker(ZkEvent),
    Msg(NodeId, KafkaMsg),
    Timer(KafkaTimer, u64),
}

#[derive(Clone, Debug)]
struct Znode {
    data: u64,
    version: i32,
    owner: Option<u64>,
}

/// Brokers 0..n (node ids 0..n) against the fake server.
pub struct Fake {
    pub now: SimTime,
    pub brokers: Vec<Broker>,
    pub records: Vec<(SimTime, u32, Obs<KafkaNote>)>,
    /// Paused brokers: their events wait.
    pub paused: BTreeSet<u32>,
    /// Apply the next multi but answer ConnectionLoss, then reconnect.
    pub lose_next_reply_of_multi: bool,
    queue: BTreeMap<(SimTime, u64), (u32, Ev)>,
    seq: u64,
    tree: BTreeMap<String, Znode>,
    /// (path, broker): one-shot watches.
    watches: BTreeSet<(String, u32)>,
    /// Each broker's current session id, and whether it is expired.
    sessions: Vec<(u64, bool)>,
    next_session: u64,
    next_req: Req,
    timers: BTreeMap<(u32, String), u64>,
}

impl Fake {
    pub fn new(n: u32, params: KafkaParams) -> Self {
        let cluster = Arc::new(Cluster {
            params,
            nodes: (0..n).map(NodeId).collect(),
        });
        let mut f = Fake {
            now: SimTime::ZERO,
            brokers: (0..n).map(|i| Broker::new(i, cluster.clone())).collect(),
            records: Vec::new(),
            paused: BTreeSet::new(),
            lose_next_reply_of_multi: false,
            queue: BTreeMap::new(),
            seq: 0,
            tree: BTreeMap::new(),
            watches: BTreeSet::new(),
            sessions: (0..n).map(|i| (u64::from(i) + 1, false)).collect(),
            next_session: u64::from(n) + 1,
            next_req: 0,
            timers: BTreeMap::new(),
        };
        for b in 0..n {
            f.push(
                SimDuration(u64::from(b) * 1000),
                b,
                Ev::ToBroker(ZkEvent::Session(SessionState::SyncConnected)),
            );
        }
        f
    }

    fn push(&mut self, after: SimDuration, b: u32, ev: Ev) {
        self.seq += 1;
        self.queue.insert((self.now + after, self.seq), (b, ev));
    }

    /// Run until `until`.
    pub fn run_until(&mut self, until: SimTime) {
        loop {
            let next = self
                .queue
                .iter()
                .find(|(_, (b, ev))| matches!(ev, Ev::Arrive { .. }) || !self.paused.contains(b))
                .map(|(k, _)| *k);
            let Some(key) = next.filter(|k| k.0 <= until) else {
                break;
            };
            let (b, ev) = self.queue.remove(&key).expect("just found");
            self.now = self.now.max(key.0);
            self.step(b, ev);
        }
        self.now = until;
    }

    fn step(&mut self, b: u32, ev: Ev) {
        match ev {
            Ev::Arrive { session, req, r } => {
                let lose = self.lose_next_reply_of_multi && matches!(r, Request::Multi(_));
                let mut result = self.apply(b, session, r);
                if lose {
                    self.lose_next_reply_of_multi = false;
                    result = Err(ZkError::ConnectionLoss);
                    self.push(
                        HOP,
                        b,
                        Ev::ToBroker(ZkEvent::Session(SessionState::Disconnected)),
                    );
                    self.push(
                        HOP + HOP + HOP,
                        b,
                        Ev::ToBroker(ZkEvent::Session(SessionState::SyncConnected)),
                    );
                }
                self.push(HOP, b, Ev::ToBroker(ZkEvent::Reply { req, result }));
            }
            Ev::Timer(t, token) => {
                if self.timers.get(&(b, format!("{t:?}"))) == Some(&token) {
                    self.timers.remove(&(b, format!("{t:?}")));
                    self.call(b, |br, p| br.on_timer(p, t));
                }
            }
            Ev::Msg(from, m) => self.call(b, |br, p| br.on_message(p, from, m)),
            Ev::ToBroker(e) => self.call(b, |br, p| br.on_event(p, e)),
        }
    }

    fn call(&mut self, b: u32, f: impl FnOnce(&mut Broker, &mut Port<'_>)) {
        let mut port = Port {
            now: self.now,
            me: NodeId(b),
            session: self.sessions[b as usize].0,
            next_req: &mut self.next_req,
            fx: Effects::default(),
        };
        f(&mut self.brokers[b as usize], &mut port);
        let fx = port.fx;
        for o in fx.records {
            self.records.push((self.now, b, o));
        }
        for t in fx.cancels {
            self.timers.remove(&(b, format!("{t:?}")));
        }
        for (d, t) in fx.timers {
            self.seq += 1;
            self.timers.insert((b, format!("{t:?}")), self.seq);
            let token = self.seq;
            self.push(d, b, Ev::Timer(t, token));
        }
        for (to, m) in fx.sends {
            self.push(HOP, to.0, Ev::Msg(NodeId(b), m));
        }
        if fx.new_session {
            self.next_session += 1;
            self.sessions[b as usize] = (self.next_session, false);
            self.push(
                HOP + HOP,
                b,
                Ev::ToBroker(ZkEvent::Session(SessionState::SyncConnected)),
            );
        }
        let session = self.sessions[b as usize].0;
        for (req, r) in fx.reqs {
            self.push(HOP, b, Ev::Arrive { session, req, r });
        }
    }

    fn fire(&mut self, path: &str, kind: WatchKind) {
        let who: Vec<u32> = self
            .watches
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| *b)
            .collect();
        for b in who {
            self.watches.remove(&(path.to_string(), b));
            self.push(
                HOP,
                b,
                Ev::ToBroker(ZkEvent::Watch {
                    path: path.into(),
                    kind,
                }),
            );
        }
    }

    fn apply(&mut self, b: u32, session: u64, r: Request) -> Result<ZkReply, ZkError> {
        let (current, expired) = self.sessions[b as usize];
        if session != current || expired {
            return Err(ZkError::SessionExpired);
        }
        match r {
            Request::Create(path, data, eph) => self
                .multi(
                    session,
                    vec![Op::Create {
                        path,
                        data,
                        ephemeral: eph,
                    }],
                )
                .map(|_| ZkReply::Created),
            Request::GetData(path, watch) => match self.tree.get(&path) {
                Some(z) => {
                    let reply = ZkReply::Stat {
                        data: z.data,
                        version: z.version,
                    };
                    if watch {
                        self.watches.insert((path, b));
                    }
                    Ok(reply)
                }
                None => Err(ZkError::NoNode),
            },
            Request::Exists(path, watch) => {
                let reply = match self.tree.get(&path) {
                    Some(z) => ZkReply::Stat {
                        data: z.data,
                        version: z.version,
                    },
                    None => ZkReply::NoNodeStat,
                };
                if watch {
                    self.watches.insert((path, b));
                }
                Ok(reply)
            }
            Request::Multi(ops) => self.multi(session, ops).map(|_| ZkReply::Multi),
        }
    }

    /// All or nothing.
    fn multi(&mut self, session: u64, ops: Vec<Op>) -> Result<(), ZkError> {
        let mut tree = self.tree.clone();
        let mut fired = Vec::new();
        for op in ops {
            match op {
                Op::Create {
                    path,
                    data,
                    ephemeral,
                } => {
                    if tree.contains_key(&path) {
                        return Err(ZkError::NodeExists);
                    }
                    tree.insert(
                        path.clone(),
                        Znode {
                            data,
                            version: 0,
                            owner: ephemeral.then_some(session),
                        },
                    );
                    fired.push((path, WatchKind::Created));
                }
                Op::SetData {
                    path,
                    data,
                    version,
                } => {
                    let z = tree.get_mut(&path).ok_or(ZkError::NoNode)?;
                    if version.is_some_and(|v| v != z.version) {
                        return Err(ZkError::BadVersion);
                    }
                    z.data = data;
                    z.version += 1;
                    fired.push((path, WatchKind::DataChanged));
                }
                Op::Delete { path, version } => {
                    let z = tree.get(&path).ok_or(ZkError::NoNode)?;
                    if version.is_some_and(|v| v != z.version) {
                        return Err(ZkError::BadVersion);
                    }
                    tree.remove(&path);
                    fired.push((path, WatchKind::Deleted));
                }
                Op::Check { path, version } => {
                    let z = tree.get(&path).ok_or(ZkError::NoNode)?;
                    if version.is_some_and(|v| v != z.version) {
                        return Err(ZkError::BadVersion);
                    }
                }
            }
        }
        self.tree = tree;
        for (p, k) in fired {
            self.fire(&p, k);
        }
        Ok(())
    }

    /// The server expires broker `b`'s session: its ephemerals go, their
    /// watches fire; `b` hears `Expired` one round trip after it next runs
    /// ([`Fake::resume`]) or at once if it is not paused.
    pub fn expire(&mut self, b: u32) {
        let session = self.sessions[b as usize].0;
        self.sessions[b as usize].1 = true;
        // Watches belong to the session.
        self.watches.retain(|(_, w)| *w != b);
        let gone: Vec<String> = self
            .tree
            .iter()
            .filter(|(_, z)| z.owner == Some(session))
            .map(|(p, _)| p.clone())
            .collect();
        for p in gone {
            self.tree.remove(&p);
            self.fire(&p, WatchKind::Deleted);
        }
        if !self.paused.contains(&b) {
            self.tell_expired(b);
        }
    }

    fn tell_expired(&mut self, b: u32) {
        self.push(
            HOP + HOP,
            b,
            Ev::ToBroker(ZkEvent::Session(SessionState::Expired)),
        );
    }

    /// Broker `b` runs again: what waited for it is delivered first (in
    /// time order), then, if its session expired meanwhile, the client
    /// reconnects and hears `Expired`.
    pub fn resume(&mut self, b: u32) {
        self.paused.remove(&b);
        if self.sessions[b as usize].1 {
            self.tell_expired(b);
        }
    }

    /// The data of `path`, if it exists.
    pub fn data(&self, path: &str) -> Option<u64> {
        self.tree.get(path).map(|z| z.data)
    }

    /// The notes recorded so far.
    pub fn notes(&self) -> impl Iterator<Item = (SimTime, u32, &KafkaNote)> + '_ {
        self.records.iter().filter_map(|(t, b, o)| match o {
            Obs::Note(n) => Some((*t, *b, n)),
            _ => None,
        })
    }
}
