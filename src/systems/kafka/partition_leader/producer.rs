//! A producer (the Java client's Sender and Metadata): each write goes to
//! the leader its metadata names; NOT_LEADER_OR_FOLLOWER, a timeout or a
//! closed connection asks for a metadata update and retries with
//! exponential backoff until `delivery.timeout.ms`. `PROTOCOLS.md` §2.6.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::layout::NO_LEADER;
use super::msg::{Msg, ProduceResult};
use super::params::Acks;
use super::{Note, PlNode, Shared, Timer};
use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, Role, Scope, SimTime, View};
use crate::systems::kafka::elect::BrokerId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Sent to this broker.
    InFlight(BrokerId),
    /// Waiting for its retry time.
    Backoff,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    op: ClientOp,
    ai: u32,
    attempt: u32,
    stage: Stage,
}

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    /// `request.timeout.ms` of an attempt.
    Timeout,
    /// The retry backoff of an attempt is over.
    Retry,
}

#[derive(Clone, Debug)]
pub struct Producer {
    sh: Arc<Shared>,
    /// Leader and leader epoch of each partition with traffic; `None` until
    /// the first metadata answer.
    meta: Option<Vec<(BrokerId, u32)>>,
    pending: BTreeMap<u64, Pending>,
    /// (when, op, attempt, what): one engine timer for the earliest.
    deadlines: BTreeSet<(SimTime, u64, u32, Due)>,
    wake_at: Option<SimTime>,
    meta_req: Option<(u64, BrokerId)>,
    next_req: u64,
    next_ai: usize,
    /// Brokers whose requests failed since they last answered: metadata is
    /// asked elsewhere (the client's `leastLoadedNode` skips nodes it is
    /// not connected to).
    avoid: BTreeSet<BrokerId>,
}

impl Producer {
    pub fn new(sh: Arc<Shared>, index: usize) -> Self {
        let a = sh.layout.active.len().max(1);
        Producer {
            sh,
            meta: None,
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            wake_at: None,
            meta_req: None,
            next_req: 0,
            // Producers start at different partitions.
            next_ai: (index * 7919) % a,
            avoid: BTreeSet::new(),
        }
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Client,
            term: 0,
            leader: None,
            serving: self.meta.is_some(),
        }
    }

    /// The leader this producer's metadata names for traffic partition `ai`.
    pub fn leader_of(&self, ai: usize) -> Option<BrokerId> {
        self.meta
            .as_ref()
            .map(|m| m[ai].0)
            .filter(|&l| l != NO_LEADER)
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, PlNode>) {
        self.request_metadata(ctx);
        ctx.set_timer(self.sh.p.metadata_max_age, Timer::MetadataAge);
    }

    fn request_metadata(&mut self, ctx: &mut Ctx<'_, PlNode>) {
        if self.meta_req.is_some() {
            return;
        }
        let ok: Vec<BrokerId> = (0..self.sh.layout.brokers)
            .filter(|b| !self.avoid.contains(b))
            .collect();
        let b = if ok.is_empty() {
            rng::index(ctx.rng(), self.sh.layout.brokers as usize) as BrokerId
        } else {
            ok[rng::index(ctx.rng(), ok.len())]
        };
        let req = self.next_req;
        self.next_req += 1;
        self.meta_req = Some((req, b));
        ctx.send(NodeId(b), Msg::Metadata { req });
        ctx.set_timer(self.sh.p.metadata_timeout, Timer::MetadataTimeout);
    }

    fn due(&mut self, ctx: &mut Ctx<'_, PlNode>, at: SimTime, op: u64, attempt: u32, what: Due) {
        self.deadlines.insert((at, op, attempt, what));
        if self.wake_at.is_none_or(|w| at < w) {
            self.wake_at = Some(at);
            ctx.set_timer(at.since(ctx.now()), Timer::Wake);
        }
    }

    fn backoff(&self, ctx: &mut Ctx<'_, PlNode>, attempt: u32) -> crate::engine::SimDuration {
        let p = &self.sh.p;
        let exp = attempt.saturating_sub(1).min(30);
        let base = (p.retry_backoff.0 as f64 * f64::from(1u32 << exp.min(20)))
            .min(p.retry_backoff_max.0 as f64);
        let jitter = 0.8 + 0.4 * rng::unit(ctx.rng());
        crate::engine::SimDuration((base * jitter) as u64)
    }

    pub fn on_client(&mut self, ctx: &mut Ctx<'_, PlNode>, op: ClientOp) {
        let a = self.sh.layout.active.len();
        if op.kind == OpKind::Read || a == 0 {
            // The model has no consumers.
            ctx.record(Obs::OpDone { op, ok: false });
            return;
        }
        let ai = self.next_ai as u32;
        self.next_ai = (self.next_ai + 1) % a;
        self.pending.insert(
            op.id,
            Pending {
                op,
                ai,
                attempt: 0,
                stage: Stage::Backoff,
            },
        );
        self.send(ctx, op.id);
    }

    fn send(&mut self, ctx: &mut Ctx<'_, PlNode>, id: u64) {
        let Some(mut pend) = self.pending.get(&id).copied() else {
            return;
        };
        let now = ctx.now();
        if now.since(pend.op.issued) >= self.sh.p.delivery_timeout {
            self.pending.remove(&id);
            ctx.record(Obs::OpDone {
                op: pend.op,
                ok: false,
            });
            return;
        }
        let Some(leader) = self.leader_of(pend.ai as usize) else {
            self.retry_later(ctx, id);
            return;
        };
        ctx.send(
            NodeId(leader),
            Msg::Produce {
                op: id,
                ai: pend.ai,
            },
        );
        if self.sh.p.acks == Acks::None {
            self.pending.remove(&id);
            self.acked(ctx, pend.op, pend.ai);
            return;
        }
        pend.stage = Stage::InFlight(leader);
        self.pending.insert(id, pend);
        let at = now + self.sh.p.request_timeout;
        self.due(ctx, at, id, pend.attempt, Due::Timeout);
    }

    fn acked(&mut self, ctx: &mut Ctx<'_, PlNode>, op: ClientOp, ai: u32) {
        ctx.record(Obs::OpDone { op, ok: true });
        ctx.record(Obs::Note(Note::Acked { ai, id: op.id }));
    }

    /// The attempt failed: ask for metadata, retry after the backoff.
    fn retry_later(&mut self, ctx: &mut Ctx<'_, PlNode>, id: u64) {
        self.request_metadata(ctx);
        let Some(pend) = self.pending.get_mut(&id) else {
            return;
        };
        pend.attempt += 1;
        pend.stage = Stage::Backoff;
        let attempt = pend.attempt;
        let at = ctx.now() + self.backoff(ctx, attempt);
        self.due(ctx, at, id, attempt, Due::Retry);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, PlNode>, from: NodeId, msg: Msg) {
        self.avoid.remove(&from.0);
        match msg {
            Msg::ProduceResp { op, res } => {
                let Some(pend) = self.pending.get(&op).copied() else {
                    return;
                };
                if pend.stage != Stage::InFlight(from.0) {
                    return;
                }
                match res {
                    ProduceResult::Ok { .. } => {
                        self.pending.remove(&op);
                        self.acked(ctx, pend.op, pend.ai);
                    }
                    ProduceResult::NotLeaderOrFollower | ProduceResult::NotEnoughReplicas => {
                        self.retry_later(ctx, op);
                    }
                }
            }
            Msg::MetadataResp { req, parts } => {
                if self.meta_req.map(|m| m.0) != Some(req) {
                    return;
                }
                self.meta_req = None;
                ctx.cancel_timer(&Timer::MetadataTimeout);
                match self.meta.as_mut() {
                    None => self.meta = Some(parts.to_vec()),
                    Some(m) => {
                        for (ai, &(leader, epoch)) in parts.iter().enumerate() {
                            if epoch > m[ai].1 || (epoch == m[ai].1 && m[ai].0 == NO_LEADER) {
                                if leader != m[ai].0 && leader != NO_LEADER {
                                    ctx.record(Obs::Phase {
                                        name: "producer-new-leader",
                                        scope: Scope::Part(self.sh.layout.active[ai]),
                                    });
                                }
                                m[ai] = (leader, epoch);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, PlNode>, t: Timer) {
        match t {
            Timer::Wake => {
                self.wake_at = None;
                let now = ctx.now();
                while let Some(&d) = self.deadlines.first() {
                    if d.0 > now {
                        break;
                    }
                    self.deadlines.pop_first();
                    let (_, id, attempt, what) = d;
                    let Some(pend) = self.pending.get(&id).copied() else {
                        continue;
                    };
                    if pend.attempt != attempt {
                        continue;
                    }
                    match (what, pend.stage) {
                        (Due::Timeout, Stage::InFlight(b)) => {
                            self.avoid.insert(b);
                            self.retry_later(ctx, id);
                        }
                        (Due::Retry, Stage::Backoff) => self.send(ctx, id),
                        _ => {}
                    }
                }
                if let Some(&(at, ..)) = self.deadlines.first() {
                    if self.wake_at.is_none_or(|w| at < w) {
                        self.wake_at = Some(at);
                        ctx.set_timer(at.since(now), Timer::Wake);
                    }
                }
            }
            Timer::MetadataTimeout => {
                if let Some((_, b)) = self.meta_req {
                    self.avoid.insert(b);
                }
                self.meta_req = None;
                self.request_metadata(ctx);
            }
            Timer::MetadataAge => {
                self.request_metadata(ctx);
                ctx.set_timer(self.sh.p.metadata_max_age, Timer::MetadataAge);
            }
            _ => {}
        }
    }

    /// A broker's connection closed: its requests fail (NETWORK_EXCEPTION).
    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, PlNode>, peer: NodeId) {
        self.avoid.insert(peer.0);
        let failed: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.stage == Stage::InFlight(peer.0))
            .map(|(&id, _)| id)
            .collect();
        for id in failed {
            self.retry_later(ctx, id);
        }
        if self.meta_req.is_some_and(|m| m.1 == peer.0) {
            self.meta_req = None;
            ctx.cancel_timer(&Timer::MetadataTimeout);
            self.request_metadata(ctx);
        }
    }
}
