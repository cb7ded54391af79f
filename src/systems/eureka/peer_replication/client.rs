//! The two kinds of Eureka client: a service instance (registers, renews its
//! lease) and a consumer (fetches the registry and calls instances). Both
//! talk to one server of their list at a time and move to the next on a
//! timeout or a reset connection (`RetryableEurekaHttpClient`).

use std::collections::BTreeMap;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, Role, Scope, SimDuration, View};

use super::msg::Msg;
use super::params::EuParams;
use super::{EuNode, EuNote, Timer};

/// `RetryableEurekaHttpClient.DEFAULT_NUMBER_OF_RETRIES`: attempts per request.
pub const ATTEMPTS: u32 = 3;

/// `InstanceInfoReplicator`'s initial delay: a (re)started instance registers
/// this long after start (`initialInstanceInfoReplicationIntervalSeconds`).
pub const INITIAL_REGISTER_DELAY: SimDuration = SimDuration::from_ms(40_000);

/// The sticky server and the request under way, shared by both client kinds.
#[derive(Clone, Debug)]
pub struct ServerList {
    /// The servers, in this client's order (`eureka.client.service-url`).
    pub servers: Vec<NodeId>,
    /// Index of the server requests go to.
    pub cur: usize,
    next_seq: u64,
    /// The request under way: (seq, message, attempts made).
    pending: Option<(u64, Msg, u32)>,
}

impl ServerList {
    pub fn new(servers: Vec<NodeId>) -> Self {
        ServerList {
            servers,
            cur: 0,
            next_seq: 0,
            pending: None,
        }
    }

    pub fn current(&self) -> NodeId {
        self.servers[self.cur]
    }

    /// Send the request `make(seq)` to the current server.
    fn request(&mut self, ctx: &mut Ctx<'_, EuNode>, p: &EuParams, make: impl Fn(u64) -> Msg) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let msg = make(seq);
        self.pending = Some((seq, msg.clone(), 1));
        ctx.send(self.current(), msg);
        ctx.set_timer(p.server_read_timeout, Timer::Request { seq });
    }

    /// The reply `seq` arrived: true if it answers the request under way.
    fn answered(&mut self, ctx: &mut Ctx<'_, EuNode>, seq: u64) -> bool {
        if self.pending.as_ref().is_some_and(|x| x.0 == seq) {
            self.pending = None;
            ctx.cancel_timer(&Timer::Request { seq });
            true
        } else {
            false
        }
    }

    /// The request failed at the current server: the next one of the list
    /// takes it, up to [`ATTEMPTS`] in all; then it is dropped until the
    /// task's next run.
    fn failed(&mut self, ctx: &mut Ctx<'_, EuNode>, p: &EuParams) {
        let Some((seq, msg, attempts)) = self.pending.take() else {
            return;
        };
        ctx.cancel_timer(&Timer::Request { seq });
        self.cur = (self.cur + 1) % self.servers.len();
        ctx.record(Obs::phase("switch-server"));
        if attempts < ATTEMPTS {
            self.pending = Some((seq, msg.clone(), attempts + 1));
            ctx.send(self.current(), msg);
            ctx.set_timer(p.server_read_timeout, Timer::Request { seq });
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, EuNode>, p: &EuParams, seq: u64) {
        if self.pending.as_ref().is_some_and(|x| x.0 == seq) {
            self.failed(ctx, p);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, EuNode>, p: &EuParams, peer: NodeId) {
        if peer == self.current() && self.pending.is_some() {
            self.failed(ctx, p);
        }
    }
}

/// A service instance (`DiscoveryClient` with `registerWithEureka`).
#[derive(Clone, Debug)]
pub struct Instance {
    /// Index in the `instances` group.
    pub inst: u32,
    p: EuParams,
    pub list: ServerList,
    /// Started in the trial's steady state (already registered).
    steady: bool,
}

impl Instance {
    pub fn new(inst: u32, servers: Vec<NodeId>, p: EuParams, steady: bool) -> Self {
        Instance {
            inst,
            p,
            list: ServerList::new(servers),
            steady,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, EuNode>) {
        if self.steady {
            // Already registered: the next heartbeat is somewhere in the
            // current renewal interval.
            let d = self.p.renewal_interval.0;
            let first = SimDuration(1 + rng::range_inclusive(ctx.rng(), 0, d - 1));
            ctx.set_timer(first, Timer::Heartbeat);
        } else {
            ctx.set_timer(self.p.renewal_interval, Timer::Heartbeat);
            ctx.set_timer(INITIAL_REGISTER_DELAY, Timer::Register);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, EuNode>, t: Timer) {
        let inst = self.inst;
        match t {
            Timer::Heartbeat => {
                self.list
                    .request(ctx, &self.p, |seq| Msg::Renew { seq, inst });
                ctx.set_timer(self.p.renewal_interval, Timer::Heartbeat);
            }
            Timer::Register => {
                self.list
                    .request(ctx, &self.p, |seq| Msg::Register { seq, inst });
            }
            Timer::Request { seq } => self.list.on_timer(ctx, &self.p, seq),
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, EuNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Reply { seq, found } if self.list.answered(ctx, seq) => {
                if found {
                    ctx.record(Obs::Note(EuNote::Acked {
                        inst: self.inst,
                        server: from,
                    }));
                } else {
                    // DiscoveryClient.renew: 404 -> register.
                    let inst = self.inst;
                    self.list
                        .request(ctx, &self.p, |seq| Msg::Register { seq, inst });
                }
            }
            Msg::Call { op } => ctx.send(from, Msg::CallReply { op }),
            _ => {}
        }
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, EuNode>, peer: NodeId) {
        self.list.on_link_reset(ctx, &self.p, peer);
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: None,
            serving: true,
        }
    }
}

/// A consumer: fetches the registry every `registry-fetch-interval-seconds`
/// and load-balances calls round-robin over the instances it holds.
#[derive(Clone, Debug)]
pub struct Client {
    p: EuParams,
    pub list: ServerList,
    /// Index of the first instance node (instance `i` is node `first + i`).
    first_instance: u32,
    /// The instances the last fetch returned, ascending.
    pub cache: Vec<u32>,
    next_call: usize,
    calls: BTreeMap<u64, (ClientOp, u32)>,
}

impl Client {
    pub fn new(servers: Vec<NodeId>, first_instance: u32, p: EuParams) -> Self {
        Client {
            p,
            list: ServerList::new(servers),
            first_instance,
            cache: Vec::new(),
            next_call: 0,
            calls: BTreeMap::new(),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, EuNode>) {
        // The full fetch at start. The clients did not start together: the
        // fetch task runs at a phase of this client's own.
        self.fetch(ctx);
        let d = self.p.fetch_interval.0;
        let first = SimDuration(1 + rng::range_inclusive(ctx.rng(), 0, d - 1));
        ctx.set_timer(first, Timer::Fetch);
    }

    fn fetch(&mut self, ctx: &mut Ctx<'_, EuNode>) {
        self.list.request(ctx, &self.p, |seq| Msg::Fetch { seq });
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, EuNode>, t: Timer) {
        match t {
            Timer::Fetch => {
                self.fetch(ctx);
                ctx.set_timer(self.p.fetch_interval, Timer::Fetch);
            }
            Timer::Request { seq } => self.list.on_timer(ctx, &self.p, seq),
            Timer::Call { op } => {
                if let Some((op, _)) = self.calls.remove(&op) {
                    ctx.record(Obs::OpDone { op, ok: false });
                }
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, EuNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Apps { seq, instances } => {
                if !self.list.answered(ctx, seq) {
                    return;
                }
                ctx.record(Obs::Phase {
                    name: "fetch",
                    scope: Scope::Part(from.0),
                });
                for i in &self.cache {
                    if instances.binary_search(i).is_err() {
                        ctx.record(Obs::Phase {
                            name: "unroute",
                            scope: Scope::Part(*i),
                        });
                    }
                }
                self.cache = instances;
            }
            Msg::CallReply { op } => {
                if let Some((op, _)) = self.calls.remove(&op) {
                    ctx.cancel_timer(&Timer::Call { op: op.id });
                    ctx.record(Obs::OpDone { op, ok: true });
                }
            }
            _ => {}
        }
    }

    pub fn on_client(&mut self, ctx: &mut Ctx<'_, EuNode>, op: ClientOp) {
        if self.cache.is_empty() {
            ctx.record(Obs::OpDone { op, ok: false });
            return;
        }
        let inst = self.cache[self.next_call % self.cache.len()];
        self.next_call += 1;
        self.calls.insert(op.id, (op, inst));
        ctx.send(NodeId(self.first_instance + inst), Msg::Call { op: op.id });
        ctx.set_timer(self.p.call_timeout, Timer::Call { op: op.id });
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, EuNode>, peer: NodeId) {
        self.list.on_link_reset(ctx, &self.p, peer);
        if peer.0 >= self.first_instance {
            let inst = peer.0 - self.first_instance;
            let dead: Vec<u64> = self
                .calls
                .iter()
                .filter(|(_, (_, i))| *i == inst)
                .map(|(k, _)| *k)
                .collect();
            for k in dead {
                let (op, _) = self.calls.remove(&k).expect("listed above");
                ctx.cancel_timer(&Timer::Call { op: k });
                ctx.record(Obs::OpDone { op, ok: false });
            }
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: None,
            serving: false,
        }
    }
}
