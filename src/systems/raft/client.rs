//! A client of a Raft group, as etcd's client finds the leader: send each
//! write to the server it believes leads; a server that does not lead
//! refuses it, naming the leader it knows, and the client retries there (or
//! at the next server) until the write is acknowledged or its deadline
//! passes.

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
}

impl Client {
    pub fn new(n: usize, timeout: crate::engine::SimDuration) -> Self {
        Client {
            n,
            target: NodeId(0),
            pending: BTreeMap::new(),
            timeout,
        }
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
        let deadline = ctx.now() + self.timeout;
        self.pending.insert(op.id, (op, 1, deadline));
        ctx.send(self.target, Msg::ClientReq { op });
        ctx.set_timer(self.timeout, Timer::ClientOp(op.id));
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RaftNode>, from: NodeId, msg: Msg) {
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
        match leader {
            Some(l) if l != from => self.target = l,
            _ => self.next_server(),
        }
        if attempts >= MAX_ATTEMPTS || ctx.now() >= deadline {
            self.pending.remove(&op);
            ctx.cancel_timer(&Timer::ClientOp(op));
            ctx.record(Obs::OpDone { op: o, ok: false });
            return;
        }
        self.pending.insert(op, (o, attempts + 1, deadline));
        ctx.send(self.target, Msg::ClientReq { op: o });
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftNode>, timer: Timer) {
        if let Timer::ClientOp(id) = timer {
            if let Some((op, _, _)) = self.pending.remove(&id) {
                // No answer: the server is gone or partitioned; try another next time.
                self.next_server();
                ctx.record(Obs::OpDone { op, ok: false });
            }
        }
    }
}
