//! The three kinds of node: NameServer (`RouteInfoManager`), broker (its
//! registration task) and client (route refresh and sends).

use std::collections::BTreeMap;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, Role, Scope, SimDuration, SimTime, View};

use super::params::NsParams;
use super::{NsNode, NsNote, Timer};

/// `BrokerController`: the registration task's first run after start.
pub const FIRST_REGISTER_DELAY: SimDuration = SimDuration::from_ms(10_000);
/// `MQClientInstance`: the first route refresh after start.
pub const FIRST_POLL_DELAY: SimDuration = SimDuration::from_ms(10);

#[derive(Clone, Debug)]
pub enum Msg {
    /// RegisterBroker (REGISTER_BROKER request) from broker `broker`.
    Register {
        broker: u32,
    },
    /// GET_ROUTEINFO_BY_TOPIC.
    GetRoute {
        seq: u64,
    },
    /// The brokers of the topic's route, ascending.
    Route {
        seq: u64,
        brokers: Vec<u32>,
    },
    /// A message sent to a broker.
    Send {
        op: u64,
    },
    SendOk {
        op: u64,
    },
}

/// The brokers of `live` whose last update plus `expiry` is before `now`,
/// with that last update: what one `scanNotActiveBroker` removes.
pub fn expired(
    live: &BTreeMap<u32, SimTime>,
    now: SimTime,
    expiry: SimDuration,
) -> Vec<(u32, SimTime)> {
    live.iter()
        .filter(|(_, t)| **t + expiry < now)
        .map(|(b, t)| (*b, *t))
        .collect()
}

fn live_view(role: Role) -> View {
    View {
        role,
        term: 0,
        leader: None,
        serving: role != Role::Client,
    }
}

/// One NameServer.
#[derive(Clone, Debug)]
pub struct NameServer {
    pub me: NodeId,
    p: NsParams,
    /// `brokerLiveTable`: broker index -> `lastUpdateTimestamp`.
    pub live: BTreeMap<u32, SimTime>,
    /// Node id of broker 0.
    first_broker: u32,
}

impl NameServer {
    /// With `steady`, every broker of `brokers` registered at time 0.
    pub fn new(me: NodeId, first_broker: u32, p: NsParams, steady: Option<u32>) -> Self {
        let live = (0..steady.unwrap_or(0))
            .map(|b| (b, SimTime::ZERO))
            .collect();
        NameServer {
            me,
            p,
            live,
            first_broker,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, NsNode>) {
        // NameServers start at different moments: the scan runs at a phase
        // of this server's own.
        let d = self.p.scan_interval().0;
        let first = SimDuration(1 + rng::range_inclusive(ctx.rng(), 0, d - 1));
        ctx.set_timer(first, Timer::Scan);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, NsNode>, t: Timer) {
        if t == Timer::Scan {
            self.scan(ctx);
            ctx.set_timer(self.p.scan_interval(), Timer::Scan);
        }
    }

    /// `scanNotActiveBroker`: unregister every broker whose last update plus
    /// its timeout is before now.
    pub fn scan(&mut self, ctx: &mut Ctx<'_, NsNode>) {
        for (b, last) in expired(&self.live, ctx.now(), self.p.expiry) {
            self.live.remove(&b);
            ctx.record(Obs::Note(NsNote::Scanned {
                namesrv: self.me,
                broker: b,
                last,
            }));
            ctx.record(Obs::Phase {
                name: "scanNotActiveBroker",
                scope: Scope::Part(b),
            });
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, NsNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Register { broker } => {
                self.live.insert(broker, ctx.now());
                ctx.record(Obs::Phase {
                    name: "registerBroker",
                    scope: Scope::Part(broker),
                });
                ctx.record(Obs::Note(NsNote::Registered {
                    namesrv: self.me,
                    broker,
                }));
            }
            Msg::GetRoute { seq } => {
                let brokers = self.live.keys().copied().collect();
                ctx.send(from, Msg::Route { seq, brokers });
            }
            _ => {}
        }
    }

    /// The broker's connection closed (`BrokerHousekeepingService` ->
    /// `onChannelDestroy`): unregistered at once.
    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, NsNode>, peer: NodeId) {
        let Some(b) = peer.0.checked_sub(self.first_broker) else {
            return;
        };
        if self.live.remove(&b).is_some() {
            ctx.record(Obs::Phase {
                name: "onChannelDestroy",
                scope: Scope::Part(b),
            });
        }
    }

    pub fn view(&self) -> View {
        live_view(Role::Follower)
    }
}

/// One broker (master of its broker group).
#[derive(Clone, Debug)]
pub struct Broker {
    pub index: u32,
    p: NsParams,
    namesrvs: Vec<NodeId>,
    steady: bool,
}

impl Broker {
    pub fn new(index: u32, namesrvs: Vec<NodeId>, p: NsParams, steady: bool) -> Self {
        Broker {
            index,
            p,
            namesrvs,
            steady,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, NsNode>) {
        if self.steady {
            let d = self.p.register_period.0;
            let first = SimDuration(1 + rng::range_inclusive(ctx.rng(), 0, d - 1));
            ctx.set_timer(first, Timer::Register);
        } else {
            // start(): one registration now, then the task after 10 s.
            self.register_all(ctx);
            ctx.set_timer(FIRST_REGISTER_DELAY, Timer::Register);
        }
    }

    /// `registerBrokerAll`: to every NameServer.
    fn register_all(&mut self, ctx: &mut Ctx<'_, NsNode>) {
        for &n in &self.namesrvs {
            ctx.send(n, Msg::Register { broker: self.index });
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, NsNode>, t: Timer) {
        if t == Timer::Register {
            self.register_all(ctx);
            ctx.set_timer(self.p.register_period, Timer::Register);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, NsNode>, from: NodeId, msg: Msg) {
        if let Msg::Send { op } = msg {
            ctx.send(from, Msg::SendOk { op });
        }
    }

    pub fn view(&self) -> View {
        live_view(Role::Follower)
    }
}

/// A send under way: the operation, the broker of the current attempt and
/// the attempts made.
#[derive(Clone, Debug)]
struct Sending {
    op: ClientOp,
    broker: u32,
    attempts: u32,
}

/// A producer (`MQClientInstance` + `DefaultMQProducer`).
#[derive(Clone, Debug)]
pub struct Client {
    p: NsParams,
    namesrvs: Vec<NodeId>,
    /// `namesrvIndex`: the NameServer route queries go to.
    pub cur: usize,
    first_broker: u32,
    /// The topic's route, ascending broker indices.
    pub route: Vec<u32>,
    next_seq: u64,
    pending_route: Option<(u64, usize)>,
    next_send: usize,
    sending: BTreeMap<u64, Sending>,
    /// The first route refresh (10 ms after start) is done.
    polled: bool,
}

impl Client {
    pub fn new(namesrvs: Vec<NodeId>, first_broker: u32, p: NsParams) -> Self {
        Client {
            p,
            namesrvs,
            cur: 0,
            first_broker,
            route: Vec::new(),
            next_seq: 0,
            pending_route: None,
            next_send: 0,
            sending: BTreeMap::new(),
            polled: false,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, NsNode>) {
        // NettyRemotingClient starts at a random NameServer.
        self.cur = rng::index(ctx.rng(), self.namesrvs.len());
        ctx.set_timer(FIRST_POLL_DELAY, Timer::Poll);
    }

    fn query(&mut self, ctx: &mut Ctx<'_, NsNode>, tries: usize) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending_route = Some((seq, tries));
        ctx.send(self.namesrvs[self.cur], Msg::GetRoute { seq });
        ctx.set_timer(self.p.send_timeout, Timer::RouteTimeout { seq });
    }

    /// The route query failed: the next NameServer, round-robin, until each
    /// was tried once.
    fn route_failed(&mut self, ctx: &mut Ctx<'_, NsNode>) {
        let Some((seq, tries)) = self.pending_route.take() else {
            return;
        };
        ctx.cancel_timer(&Timer::RouteTimeout { seq });
        self.cur = (self.cur + 1) % self.namesrvs.len();
        if tries + 1 < self.namesrvs.len() {
            self.query(ctx, tries + 1);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, NsNode>, t: Timer) {
        match t {
            Timer::Poll => {
                self.query(ctx, 0);
                let next = if self.polled {
                    self.p.poll_interval
                } else {
                    // The clients did not start together: after the first
                    // refresh the task runs at a phase of this client's own.
                    self.polled = true;
                    let d = self.p.poll_interval.0;
                    SimDuration(1 + rng::range_inclusive(ctx.rng(), 0, d - 1))
                };
                ctx.set_timer(next, Timer::Poll);
            }
            Timer::RouteTimeout { seq } if self.pending_route.is_some_and(|x| x.0 == seq) => {
                self.route_failed(ctx);
            }
            Timer::SendTimeout { op } => {
                if let Some(s) = self.sending.remove(&op) {
                    ctx.record(Obs::OpDone {
                        op: s.op,
                        ok: false,
                    });
                }
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, NsNode>, _from: NodeId, msg: Msg) {
        match msg {
            Msg::Route { seq, brokers } => {
                if self.pending_route.is_none_or(|x| x.0 != seq) {
                    return;
                }
                self.pending_route = None;
                ctx.cancel_timer(&Timer::RouteTimeout { seq });
                for b in &self.route {
                    if brokers.binary_search(b).is_err() {
                        ctx.record(Obs::Phase {
                            name: "unroute",
                            scope: Scope::Part(*b),
                        });
                    }
                }
                self.route = brokers;
            }
            Msg::SendOk { op } => {
                if let Some(s) = self.sending.remove(&op) {
                    ctx.cancel_timer(&Timer::SendTimeout { op });
                    ctx.record(Obs::OpDone { op: s.op, ok: true });
                }
            }
            _ => {}
        }
    }

    /// Pick the next broker of the route other than `avoid`.
    fn pick(&mut self, avoid: Option<u32>) -> Option<u32> {
        let n = self.route.len();
        for _ in 0..n {
            let b = self.route[self.next_send % n];
            self.next_send += 1;
            if Some(b) != avoid {
                return Some(b);
            }
        }
        None
    }

    fn attempt(&mut self, ctx: &mut Ctx<'_, NsNode>, mut s: Sending, avoid: Option<u32>) {
        match self.pick(avoid) {
            Some(b) => {
                s.broker = b;
                s.attempts += 1;
                ctx.send(NodeId(self.first_broker + b), Msg::Send { op: s.op.id });
                self.sending.insert(s.op.id, s);
            }
            None => {
                ctx.cancel_timer(&Timer::SendTimeout { op: s.op.id });
                ctx.record(Obs::OpDone {
                    op: s.op,
                    ok: false,
                });
            }
        }
    }

    pub fn on_client(&mut self, ctx: &mut Ctx<'_, NsNode>, op: ClientOp) {
        // The whole budget, retries included, runs from the issue time.
        let deadline = op.issued + self.p.send_timeout;
        let left = if deadline > ctx.now() {
            deadline.since(ctx.now())
        } else {
            SimDuration::ZERO
        };
        ctx.set_timer(left, Timer::SendTimeout { op: op.id });
        let s = Sending {
            op,
            broker: 0,
            attempts: 0,
        };
        self.attempt(ctx, s, None);
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, NsNode>, peer: NodeId) {
        if self.namesrvs.get(self.cur) == Some(&peer) && self.pending_route.is_some() {
            self.route_failed(ctx);
        }
        let Some(b) = peer.0.checked_sub(self.first_broker) else {
            return;
        };
        let failed: Vec<u64> = self
            .sending
            .iter()
            .filter(|(_, s)| s.broker == b)
            .map(|(k, _)| *k)
            .collect();
        for k in failed {
            let s = self.sending.remove(&k).expect("listed above");
            // A RemotingException: retry on another broker while attempts
            // and the time budget last.
            let budget_left = ctx.now() < s.op.issued + self.p.send_timeout;
            if s.attempts <= self.p.retries && budget_left {
                self.attempt(ctx, s, Some(b));
            } else {
                ctx.cancel_timer(&Timer::SendTimeout { op: k });
                ctx.record(Obs::OpDone {
                    op: s.op,
                    ok: false,
                });
            }
        }
    }

    pub fn view(&self) -> View {
        live_view(Role::Client)
    }
}
