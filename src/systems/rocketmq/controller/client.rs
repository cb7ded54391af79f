//! A producer: it asks the NameServer (embedded in the controller's process,
//! `enableControllerInNamesrv`) for the topic route 10 ms after start and
//! every `pollNameServerInterval`, and sends each operation synchronously to
//! the route's master within `sendMsgTimeout`.

use std::collections::BTreeMap;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, Role, SimDuration, View};

use super::msg::{Msg, SendStatus};
use super::{RcNode, RcNote, RcParams, Timer};

#[derive(Clone, Debug)]
pub struct Producer {
    namesrv: NodeId,
    p: RcParams,
    master: Option<NodeId>,
    seq: u64,
    pending: BTreeMap<u64, ClientOp>,
}

impl Producer {
    pub fn new(namesrv: NodeId, p: RcParams, master: Option<NodeId>) -> Self {
        Producer {
            namesrv,
            p,
            master,
            seq: 0,
            pending: BTreeMap::new(),
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: self.master,
            serving: self.master.is_some(),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        // Producers that did not start together: a phase of their own.
        let every = self.p.poll_interval;
        let phase = SimDuration(rng::range_inclusive(
            ctx.rng(),
            SimDuration::from_ms(10).0,
            every.0,
        ));
        ctx.set_timer(phase, Timer::Poll);
    }

    fn poll(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        self.seq += 1;
        ctx.send(self.namesrv, Msg::GetRoute { seq: self.seq });
    }

    pub fn on_client(&mut self, ctx: &mut Ctx<'_, RcNode>, op: ClientOp) {
        let Some(m) = self.master else {
            ctx.record(Obs::OpDone { op, ok: false });
            return;
        };
        self.pending.insert(op.id, op);
        ctx.set_timer(self.p.send_timeout, Timer::SendTimeout { op: op.id });
        ctx.send(
            m,
            Msg::Send {
                op: op.id,
                read: op.kind == OpKind::Read,
            },
        );
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Route { seq, master } if seq == self.seq => {
                if master.is_some() && master != self.master {
                    ctx.record(Obs::phase("updateTopicRouteInfo"));
                }
                self.master = master.or(self.master);
            }
            Msg::SendResult { op, status } => {
                let Some(o) = self.pending.remove(&op) else {
                    return;
                };
                ctx.cancel_timer(&Timer::SendTimeout { op });
                let ok = status == SendStatus::Ok;
                ctx.record(Obs::OpDone { op: o, ok });
                if ok && o.kind == OpKind::Write {
                    ctx.record(Obs::Note(RcNote::Acked { op, master: from.0 }));
                }
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RcNode>, timer: Timer) {
        match timer {
            Timer::Poll => {
                self.poll(ctx);
                ctx.set_timer(self.p.poll_interval, Timer::Poll);
            }
            Timer::SendTimeout { op } => {
                if let Some(o) = self.pending.remove(&op) {
                    ctx.record(Obs::OpDone { op: o, ok: false });
                }
            }
            _ => {}
        }
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, RcNode>, peer: NodeId) {
        if Some(peer) == self.master {
            for (id, o) in std::mem::take(&mut self.pending) {
                ctx.cancel_timer(&Timer::SendTimeout { op: id });
                ctx.record(Obs::OpDone { op: o, ok: false });
            }
        }
    }
}
