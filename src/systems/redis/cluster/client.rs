//! A Redis Cluster client library (as redis-py's `RedisCluster` and Jedis'
//! `JedisCluster` do it): a slot map from `CLUSTER SLOTS`, each command sent
//! to the master of its key's slot; `-MOVED` updates the map and the command
//! follows the redirection; a timeout, a closed connection or `-CLUSTERDOWN`
//! fails the command and refreshes the map after `client-retry-interval`.

use std::collections::BTreeMap;

use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, Role, Scope, View};

use super::msg::{Msg, Outcome};
use super::params::SLOTS;
use super::{shard_of_slot, RcNode, RcNote, RcParams, Timer};

/// Redirections a command follows before it fails (redis-py
/// `RedisCluster.RedisClusterRequestTTL` = 16).
const MAX_REDIRECTS: u32 = 16;

#[derive(Clone, Debug)]
struct Pending {
    op: ClientOp,
    slot: u32,
    to: NodeId,
    redirects: u32,
}

#[derive(Clone, Debug)]
pub struct Client {
    servers: usize,
    shards: usize,
    p: RcParams,
    /// The master of each shard, as the last CLUSTER SLOTS or MOVED said.
    map: Vec<Option<NodeId>>,
    /// The CLUSTER SLOTS query under way, if any.
    asking: Option<u64>,
    refresh_scheduled: bool,
    seq: u64,
    pending: BTreeMap<u64, Pending>,
    /// The master that acknowledged the last write of each shard.
    last_acker: Vec<Option<NodeId>>,
}

/// The key slot of operation `op` (the model's stand-in for CRC16(key) mod
/// 16384: keys spread evenly over the slots).
pub fn slot_of_op(op: u64) -> u32 {
    (rng::mix64(op ^ 0x5EED_C1A5) % u64::from(SLOTS)) as u32
}

impl Client {
    pub fn new(servers: usize, shards: usize, p: RcParams) -> Self {
        Client {
            servers,
            shards,
            p,
            map: vec![None; shards],
            asking: None,
            refresh_scheduled: false,
            seq: 0,
            pending: BTreeMap::new(),
            last_acker: vec![None; shards],
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: None,
            serving: self.map.iter().all(Option::is_some),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        self.ask(ctx);
    }

    fn ask(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        self.seq += 1;
        let node = NodeId(rng::index(ctx.rng(), self.servers) as u32);
        self.asking = Some(self.seq);
        ctx.send(node, Msg::Slots { req: self.seq });
        ctx.set_timer(self.p.client_timeout, Timer::ClientAsk);
    }

    fn schedule_refresh(&mut self, ctx: &mut Ctx<'_, RcNode>) {
        if !self.refresh_scheduled && self.asking.is_none() {
            self.refresh_scheduled = true;
            ctx.set_timer(self.p.client_retry_interval, Timer::ClientRefresh);
        }
    }

    fn fail(&mut self, ctx: &mut Ctx<'_, RcNode>, op: ClientOp) {
        ctx.cancel_timer(&Timer::ClientOp { op: op.id });
        ctx.record(Obs::OpDone { op, ok: false });
    }

    fn send(&mut self, ctx: &mut Ctx<'_, RcNode>, pend: Pending) {
        ctx.send(
            pend.to,
            Msg::Cmd {
                op: pend.op,
                slot: pend.slot,
            },
        );
        self.pending.insert(pend.op.id, pend);
    }

    pub fn on_client(&mut self, ctx: &mut Ctx<'_, RcNode>, op: ClientOp) {
        let slot = slot_of_op(op.id);
        let shard = shard_of_slot(slot, self.shards) as usize;
        match self.map[shard] {
            Some(to) => {
                ctx.set_timer(self.p.client_timeout, Timer::ClientOp { op: op.id });
                self.send(
                    ctx,
                    Pending {
                        op,
                        slot,
                        to,
                        redirects: 0,
                    },
                );
            }
            None => {
                ctx.record(Obs::OpDone { op, ok: false });
                self.schedule_refresh(ctx);
            }
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, RcNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::SlotMap { req, masters } if self.asking == Some(req) => {
                self.asking = None;
                ctx.cancel_timer(&Timer::ClientAsk);
                self.map = masters;
            }
            Msg::Reply { op, outcome } => {
                let Some(pend) = self.pending.remove(&op) else {
                    return;
                };
                if pend.to != from {
                    self.pending.insert(op, pend);
                    return;
                }
                let shard = shard_of_slot(pend.slot, self.shards) as usize;
                match outcome {
                    Outcome::Ok => {
                        ctx.cancel_timer(&Timer::ClientOp { op });
                        ctx.record(Obs::OpDone {
                            op: pend.op,
                            ok: true,
                        });
                        if pend.op.kind == OpKind::Write {
                            if self.last_acker[shard].is_some_and(|m| m != from) {
                                ctx.record(Obs::Phase {
                                    name: "client-new-master",
                                    scope: Scope::Part(shard as u32),
                                });
                            }
                            self.last_acker[shard] = Some(from);
                            ctx.record(Obs::Note(RcNote::Acked {
                                op,
                                shard: shard as u32,
                            }));
                        }
                    }
                    Outcome::Moved { slot, to } => {
                        self.map[shard_of_slot(slot, self.shards) as usize] = Some(to);
                        if pend.redirects + 1 >= MAX_REDIRECTS {
                            self.fail(ctx, pend.op);
                        } else {
                            self.send(
                                ctx,
                                Pending {
                                    to,
                                    redirects: pend.redirects + 1,
                                    ..pend
                                },
                            );
                        }
                    }
                    Outcome::Down => {
                        self.fail(ctx, pend.op);
                        self.schedule_refresh(ctx);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, RcNode>, timer: Timer) {
        match timer {
            Timer::ClientAsk => {
                self.asking = None;
                self.ask(ctx);
            }
            Timer::ClientRefresh => {
                self.refresh_scheduled = false;
                if self.asking.is_none() {
                    self.ask(ctx);
                }
            }
            Timer::ClientOp { op } => {
                if let Some(pend) = self.pending.remove(&op) {
                    ctx.record(Obs::OpDone {
                        op: pend.op,
                        ok: false,
                    });
                    self.schedule_refresh(ctx);
                }
            }
            _ => {}
        }
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, RcNode>, peer: NodeId) {
        let dead: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.to == peer)
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            let pend = self.pending.remove(&id).expect("listed above");
            self.fail(ctx, pend.op);
        }
        self.schedule_refresh(ctx);
    }
}
