//! A client of a Raft group, as etcd's client finds the leader: send each
//! write to the server it believes leads; a server that does not lead
//! refuses it, naming the leader it knows, and the client retries there (or
//! at the next server) until the write is acknowledged or its deadline
//! passes.
//!
//! [`Client::producer`] is a RocketMQ producer instead (`rocketmq/dledger`):
//! it sends only to the master its route names, learns the route by asking
//! the brokers every `pollNameServerInterval` (the NameServer's route, which
//! the broker that turns master overwrites at once by registering), and
//! retries a refused send `retryTimesWhenSendFailed` times at that same
//! master; it never follows a redirect.

use std::collections::BTreeMap;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, SimTime, View};

use super::{Msg, RaftNode, Timer};

/// Most attempts of one write before it fails.
const MAX_ATTEMPTS: u32 = 10;

#[derive(Clone, Debug)]
pub struct Client {
    n: usize,
    /// The server this client believes leads.
    target: NodeId,
    /// Writes in flight: op id -> (op, attempts so far, deadline).
    pending: BTreeMap<u64, (ClientOp, u32, SimTime)>,
    timeout: crate::engine::SimDuration,
    /// `Some`: a RocketMQ producer (see the module doc).
    producer: Option<Producer>,
}

/// A RocketMQ producer's route and retry settings.
#[derive(Clone, Debug)]
struct Producer {
    /// `pollNameServerInterval`.
    refresh: crate::engine::SimDuration,
    /// `retryTimesWhenSendFailed`: extra attempts after a refused send.
    retries: u32,
    /// The master the route names, with the term it was elected in.
    route: Option<(u64, NodeId)>,
}

impl Client {
    pub fn new(n: usize, timeout: crate::engine::SimDuration) -> Self {
        Client {
            n,
            target: NodeId(0),
            pending: BTreeMap::new(),
            timeout,
            producer: None,
        }
    }

    /// A RocketMQ producer of a broker group of `n` brokers: `timeout` is
    /// `sendMsgTimeout`, `refresh` `pollNameServerInterval`, `retries`
    /// `retryTimesWhenSendFailed`.
    pub fn producer(
        n: usize,
        timeout: crate::engine::SimDuration,
        refresh: crate::engine::SimDuration,
        retries: u32,
    ) -> Self {
        let mut c = Client::new(n, timeout);
        c.producer = Some(Producer {
            refresh,
            retries,
            route: None,
        });
        c
    }

    fn refresh_route(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        for b in 0..self.n as u32 {
            ctx.send(NodeId(b), Msg::RouteQuery);
        }
        let every = self.producer.as_ref().expect("a producer").refresh;
        ctx.set_timer(every, Timer::RouteRefresh);
    }

    pub fn view(&self) -> View {
        View {
            role: crate::engine::Role::Client,
            term: 0,
            leader: Some(self.target),
            serving: true,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RaftNode>) {
        self.target = NodeId(rng::index(ctx.rng(), self.n) as u32);
        if self.producer.is_some() {
            // MQClientInstance starts its route task at once; the period's
            // phase differs per producer.
            self.refresh_route(ctx);
            let every = self.producer.as_ref().expect("a producer").refresh;
            let phase = rng::range_inclusive(ctx.rng(), 0, every.0.saturating_sub(1));
            ctx.set_timer(crate::engine::SimDuration(phase), Timer::RouteRefresh);
        }
    }

    fn next_server(&mut self) {
        self.target = NodeId((self.target.0 + 1) % self.n as u32);
    }

    pub fn on_client(&mut self, ctx: &mut Ctx<'_, RaftNode>, op: ClientOp) {
        if op.kind == OpKind::Read {
            // Reads are not modelled: answered as failed so they are not
            // counted as served.
            ctx.record(Obs::OpDone { op, ok: false });
            return;
        }
        if let Some(p) = &self.producer {
            match p.route {
                Some((_, m)) => self.target = m,
                None => {
                    // No route to the topic yet: the send fails at once.
                    ctx.record(Obs::OpDone { op, ok: false });
                    return;
                }
            }
        }
        let deadline = ctx.now() + self.timeout;
        self.pending.insert(op.id, (op, 1, deadline));
        ctx.send(self.target, Msg::ClientReq { op });
        ctx.set_timer(self.timeout, Timer::ClientOp(op.id));
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RaftNode>, from: NodeId, msg: Msg) {
        if let (Msg::RouteResp { master, term }, Some(p)) = (&msg, &mut self.producer) {
            if *master && p.route.is_none_or(|(t, _)| *term >= t) {
                p.route = Some((*term, from));
            }
            return;
        }
        let Msg::ClientResp { op, ok, leader } = msg else {
            return;
        };
        let Some((o, attempts, deadline)) = self.pending.get(&op).copied() else {
            return;
        };
        if ok {
            self.pending.remove(&op);
            self.target = from;
            ctx.cancel_timer(&Timer::ClientOp(op));
            ctx.record(Obs::OpDone { op: o, ok: true });
            return;
        }
        let max = match &self.producer {
            // A producer retries at the same master (its only route).
            Some(p) => 1 + p.retries,
            None => {
                match leader {
                    Some(l) if l != from => self.target = l,
                    _ => self.next_server(),
                }
                MAX_ATTEMPTS
            }
        };
        if attempts >= max || ctx.now() >= deadline {
            self.pending.remove(&op);
            ctx.cancel_timer(&Timer::ClientOp(op));
            ctx.record(Obs::OpDone { op: o, ok: false });
            return;
        }
        self.pending.insert(op, (o, attempts + 1, deadline));
        ctx.send(self.target, Msg::ClientReq { op: o });
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftNode>, timer: Timer) {
        if timer == Timer::RouteRefresh && self.producer.is_some() {
            return self.refresh_route(ctx);
        }
        if let Timer::ClientOp(id) = timer {
            if let Some((op, _, _)) = self.pending.remove(&id) {
                // No answer: the server is gone or partitioned; try another next time.
                self.next_server();
                ctx.record(Obs::OpDone { op, ok: false });
            }
        }
    }
}
