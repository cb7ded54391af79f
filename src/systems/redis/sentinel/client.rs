//! A Redis client library in Sentinel mode (as redis-py's `Sentinel` and
//! Jedis' `JedisSentinelPool` do it): ask a Sentinel
//! `SENTINEL get-master-addr-by-name`, connect to that master, send each
//! command with a socket timeout; on a timeout, a closed connection or
//! `-READONLY`, drop the connection, wait `client-retry-interval` and ask the
//! Sentinels again, in order, each within the timeout.

use std::collections::BTreeMap;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, Role, View};

use super::msg::{Msg, Outcome};
use super::{RsNode, RsNote, RsParams, Timer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Sleeping before asking the Sentinels again.
    Idle,
    /// Waiting for the answer to `req` from the `next`-th Sentinel.
    Asking { req: u64 },
    /// Connected to `master` on connection `conn`.
    Connected { master: NodeId, conn: u64 },
}

#[derive(Clone, Debug)]
pub struct Client {
    sentinels: Vec<NodeId>,
    next: usize,
    state: State,
    seq: u64,
    pending: BTreeMap<u64, ClientOp>,
    p: RsParams,
    /// Sentinel queries in a row without an answer.
    tried: usize,
}

impl Client {
    pub fn new(sentinels: Vec<NodeId>, p: RsParams) -> Self {
        Client {
            sentinels,
            next: 0,
            state: State::Idle,
            seq: 0,
            pending: BTreeMap::new(),
            p,
            tried: 0,
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: match self.state {
                State::Connected { master, .. } => Some(master),
                _ => None,
            },
            serving: matches!(self.state, State::Connected { .. }),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        self.next = rng::index(ctx.rng(), self.sentinels.len());
        self.ask(ctx);
    }

    fn ask(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        self.seq += 1;
        let req = self.seq;
        let s = self.sentinels[self.next % self.sentinels.len()];
        self.state = State::Asking { req };
        ctx.send(s, Msg::GetMasterAddr { req });
        ctx.set_timer(self.p.client_timeout, Timer::ClientAsk);
    }

    /// Drop the connection: fail what is in flight, retry after the interval.
    fn drop_connection(&mut self, ctx: &mut Ctx<'_, RsNode>) {
        for (_, op) in std::mem::take(&mut self.pending) {
            ctx.cancel_timer(&Timer::ClientOp { op: op.id });
            ctx.record(Obs::OpDone { op, ok: false });
        }
        self.state = State::Idle;
        ctx.cancel_timer(&Timer::ClientAsk);
        ctx.set_timer(self.p.client_retry_interval, Timer::ClientRetry);
    }

    pub fn on_client(&mut self, ctx: &mut Ctx<'_, RsNode>, op: ClientOp) {
        match self.state {
            State::Connected { master, conn } => {
                self.pending.insert(op.id, op);
                let mut timeout = self.p.client_timeout;
                if op.kind == OpKind::Write && self.p.wait_numreplicas > 0 {
                    timeout = timeout + self.p.wait_timeout;
                }
                ctx.set_timer(timeout, Timer::ClientOp { op: op.id });
                ctx.send(master, Msg::Cmd { conn, op });
            }
            // No master known: the command fails at once.
            _ => ctx.record(Obs::OpDone { op, ok: false }),
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RsNode>, from: NodeId, msg: Msg) {
        match (self.state, msg) {
            (State::Asking { req }, Msg::MasterAddr { req: r, master }) if r == req => {
                ctx.cancel_timer(&Timer::ClientAsk);
                self.tried = 0;
                self.seq += 1;
                self.state = State::Connected {
                    master,
                    conn: self.seq,
                };
            }
            (
                State::Connected { master, conn },
                Msg::Reply {
                    conn: c,
                    op,
                    outcome,
                },
            ) if c == conn && from == master => {
                let Some(op) = self.pending.remove(&op) else {
                    return;
                };
                ctx.cancel_timer(&Timer::ClientOp { op: op.id });
                match outcome {
                    Outcome::Ok { replicas } => {
                        let write = op.kind == OpKind::Write;
                        let ok = !write || replicas >= self.p.wait_numreplicas;
                        ctx.record(Obs::OpDone { op, ok });
                        if ok && write {
                            ctx.record(Obs::Note(RsNote::Acked {
                                op: op.id,
                                master,
                                at: ctx.now(),
                            }));
                        }
                    }
                    Outcome::NoReplicas => ctx.record(Obs::OpDone { op, ok: false }),
                    Outcome::ReadOnly => {
                        // redis-py: "the previous master is now a slave".
                        ctx.record(Obs::OpDone { op, ok: false });
                        self.drop_connection(ctx);
                    }
                }
            }
            (State::Connected { master, .. }, Msg::Kill) if from == master => {
                self.drop_connection(ctx)
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RsNode>, timer: Timer) {
        match timer {
            Timer::ClientAsk => {
                // This Sentinel did not answer: the next one, and after a
                // full round without answers, a pause.
                self.next += 1;
                self.tried += 1;
                if self.tried >= self.sentinels.len() {
                    self.tried = 0;
                    self.drop_connection(ctx);
                } else {
                    self.ask(ctx);
                }
            }
            Timer::ClientRetry => self.ask(ctx),
            Timer::ClientOp { op } => {
                if let Some(op) = self.pending.remove(&op) {
                    ctx.record(Obs::OpDone { op, ok: false });
                    self.drop_connection(ctx);
                }
            }
            _ => {}
        }
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, RsNode>, peer: NodeId) {
        match self.state {
            State::Connected { master, .. } if master == peer => self.drop_connection(ctx),
            State::Asking { .. } if self.sentinels[self.next % self.sentinels.len()] == peer => {
                self.on_timer(ctx, Timer::ClientAsk)
            }
            _ => {}
        }
    }
}
