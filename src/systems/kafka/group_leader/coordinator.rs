//! The group coordinator (`GroupCoordinator.scala`, `GroupMetadata.scala`,
//! `DelayedJoin.scala`) for one classic consumer group: the group state of
//! the broker that leads the group's `__consumer_offsets` partition.

use std::collections::BTreeMap;

use rand_core::RngCore;

use crate::engine::{Ctx, NodeId, Obs, Role, SimDuration, View};

use super::hashorder::Table;
use super::msg::{ErrorCode, GroupRecord, Msg};
use super::params::GlParams;
use super::{CoordTimer, GlNode, GlNote, GroupLog, GroupWrite, Timer};

/// The consumer's default `client.id`: `consumer-<group.id>-<n>`, with `n`
/// from a per-JVM counter starting at 1 (ConsumerConfig /
/// `CONSUMER_CLIENT_ID_SEQUENCE`); one consumer per process, so always 1.
pub const CLIENT_ID: &str = "consumer-electbench-1";

/// `GroupCoordinator.NewMemberJoinTimeoutMs`: the heartbeat deadline of a
/// member added during a join phase.
const NEW_MEMBER_JOIN_TIMEOUT: SimDuration = SimDuration::from_ms(300_000);

/// `GroupState` of the classic protocol (Dead is not reached: the group is
/// never deleted here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

/// `MemberMetadata`, the parts the model reads.
#[derive(Clone, Debug)]
pub struct MemberMeta {
    pub node: NodeId,
    /// Insertion number: the order of equal hashes within a table slot.
    pub seq: u64,
    /// A JoinGroup of this member is parked until the join phase completes.
    pub awaiting_join: bool,
    /// A SyncGroup of this member is parked until the leader's arrives.
    pub awaiting_sync: bool,
    /// In `pendingSyncMembers`: has not sent SyncGroup in this generation.
    pub pending_sync: bool,
}

/// The coordinator and its one group.
#[derive(Clone, Debug)]
pub struct Coordinator {
    p: GlParams,
    pub state: GroupState,
    pub generation: u32,
    pub leader_id: Option<String>,
    pub members: BTreeMap<String, MemberMeta>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined with.
    pending: BTreeMap<String, NodeId>,
    table: Table,
    seq: u64,
    /// `newMemberAdded`: a member joined during an initial delayed join.
    new_member_added: bool,
    /// The pending join is an `InitialDelayedJoin` of `delay` with
    /// `remaining` after it; `None`: a `DelayedJoin`.
    initial: Option<(SimDuration, SimDuration)>,
    /// Generation last written to `__consumer_offsets` (storeGroup).
    stored: u32,
    /// The partition's log on this broker (the working copy of what is
    /// durable).
    pub log: GroupLog,
    /// The in-sync follower replicas a `storeGroup` (acks=-1) waits for.
    pub followers: Vec<NodeId>,
    /// The `storeGroup` in flight.
    storing: Option<Storing>,
}

/// A `storeGroup` append waiting for the local disk and the followers.
#[derive(Clone, Debug)]
struct Storing {
    generation: u32,
    leader: NodeId,
    local: bool,
    acks: Vec<NodeId>,
}

impl Coordinator {
    pub fn new(p: GlParams) -> Self {
        Coordinator {
            p,
            state: GroupState::Empty,
            generation: 0,
            leader_id: None,
            members: BTreeMap::new(),
            pending: BTreeMap::new(),
            table: Table::default(),
            seq: 0,
            new_member_added: false,
            initial: None,
            stored: 0,
            log: GroupLog::default(),
            followers: Vec::new(),
            storing: None,
        }
    }

    /// `scheduleLoadGroupAndOffsets` finished: the group as the log's last
    /// record stored it (`GroupMetadata.loadGroup`: Stable with its members,
    /// generation and leader; Empty if it has none; no record: no group),
    /// members added in the record's order to a fresh map, and every
    /// member's heartbeat deadline reset to a full session timeout
    /// (`onGroupLoaded` -> `completeAndScheduleNextHeartbeatExpiration`).
    pub fn load(
        ctx: &mut Ctx<'_, GlNode>,
        p: GlParams,
        log: GroupLog,
        followers: Vec<NodeId>,
    ) -> Self {
        let mut c = Coordinator::new(p);
        if let Some(r) = &log.record {
            for (id, node) in &r.members {
                c.seq += 1;
                c.table.insert();
                c.members.insert(
                    id.clone(),
                    MemberMeta {
                        node: *node,
                        seq: c.seq,
                        awaiting_join: false,
                        awaiting_sync: false,
                        pending_sync: false,
                    },
                );
                ctx.set_timer(c.p.session_timeout, Timer::Coord(CoordTimer::Expire(c.seq)));
            }
            c.generation = r.generation;
            c.stored = r.generation;
            c.leader_id = (!r.members.is_empty()).then(|| r.leader_id.clone());
            c.state = if r.members.is_empty() {
                GroupState::Empty
            } else {
                GroupState::Stable
            };
        }
        c.log = log;
        c.followers = followers;
        c
    }

    /// The record `storeGroup` appends: the generation, its leader and the
    /// members in map iteration order.
    fn record(&self) -> GroupRecord {
        GroupRecord {
            generation: self.generation,
            leader_id: self
                .leader_id
                .clone()
                .expect("a stored generation has a leader"),
            members: self
                .iteration_order()
                .into_iter()
                .map(|id| {
                    let node = self.members[&id].node;
                    (id, node)
                })
                .collect(),
        }
    }

    /// A follower replica left the ISR (its broker was fenced): acks=-1
    /// no longer waits for it.
    pub fn drop_follower(&mut self, ctx: &mut Ctx<'_, GlNode>, node: NodeId) {
        self.followers.retain(|&f| f != node);
        if let Some(s) = &mut self.storing {
            s.acks.retain(|&f| f != node);
        }
        self.finish_store(ctx);
    }

    /// A follower replica is back in the ISR.
    pub fn add_follower(&mut self, node: NodeId) {
        if !self.followers.contains(&node) {
            self.followers.push(node);
        }
    }

    /// A follower has the record of `generation`.
    pub fn on_replicate_ack(&mut self, ctx: &mut Ctx<'_, GlNode>, from: NodeId, generation: u32) {
        if let Some(s) = &mut self.storing {
            if s.generation == generation {
                s.acks.retain(|&f| f != from);
            }
        }
        self.finish_store(ctx);
    }

    /// The first key of the member map in the real `HashMap`'s iteration
    /// order (`members.keys.headOption`), among those `pick` accepts.
    pub fn first_key(&self, pick: impl Fn(&MemberMeta) -> bool) -> Option<String> {
        self.members
            .iter()
            .filter(|(_, m)| pick(m))
            .min_by_key(|(k, m)| {
                let (slot, hash) = self.table.order_key(k);
                (slot, hash, m.seq)
            })
            .map(|(k, _)| k.clone())
    }

    /// Every member id in the map's iteration order.
    pub fn iteration_order(&self) -> Vec<String> {
        let mut v: Vec<(&String, (u32, i32, u64))> = self
            .members
            .iter()
            .map(|(k, m)| {
                let (s, h) = self.table.order_key(k);
                (k, (s, h, m.seq))
            })
            .collect();
        v.sort_by_key(|x| x.1);
        v.into_iter().map(|x| x.0.clone()).collect()
    }

    /// The group leader's node.
    pub fn leader_node(&self) -> Option<NodeId> {
        self.leader_id
            .as_ref()
            .and_then(|l| self.members.get(l))
            .map(|m| m.node)
    }

    fn node_member(&self, node: NodeId) -> Option<String> {
        self.members
            .iter()
            .find(|(_, m)| m.node == node)
            .map(|(k, _)| k.clone())
    }

    /// `UUID.randomUUID().toString`, from the coordinator's seeded stream.
    fn uuid(ctx: &mut Ctx<'_, GlNode>) -> String {
        let a = ctx.rng().next_u64();
        let b = ctx.rng().next_u64();
        // Version 4, IETF variant.
        let a = (a & !0xf000) | 0x4000;
        let b = (b & !(0b11 << 62)) | (0b10 << 62);
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, GlNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::JoinGroup { member_id } => self.on_join(ctx, from, member_id),
            Msg::SyncGroup {
                generation,
                member_id,
                assignments,
            } => self.on_sync(ctx, from, generation, member_id, assignments),
            Msg::Heartbeat {
                generation,
                member_id,
            } => self.on_heartbeat(ctx, from, generation, member_id),
            _ => {}
        }
    }

    fn on_join(&mut self, ctx: &mut Ctx<'_, GlNode>, from: NodeId, member_id: String) {
        if member_id.is_empty() {
            // JoinGroup v4+: hand out an id and wait for the second join.
            let id = format!("{CLIENT_ID}-{}", Self::uuid(ctx));
            self.pending.insert(id.clone(), from);
            ctx.set_timer(
                self.p.session_timeout,
                Timer::Coord(CoordTimer::PendingMember(from)),
            );
            ctx.send(from, Msg::MemberIdRequired { member_id: id });
            return;
        }
        if self.pending.remove(&member_id).is_some() {
            ctx.cancel_timer(&Timer::Coord(CoordTimer::PendingMember(from)));
            self.add_member_and_rebalance(ctx, from, member_id);
            return;
        }
        let Some(m) = self.members.get_mut(&member_id) else {
            ctx.send(
                from,
                Msg::JoinError {
                    error: ErrorCode::UnknownMemberId,
                },
            );
            return;
        };
        m.node = from;
        match self.state {
            GroupState::PreparingRebalance => {
                m.awaiting_join = true;
                self.try_complete_join(ctx);
            }
            GroupState::CompletingRebalance => {
                // Same metadata: the answer of the current generation.
                self.send_join_response(ctx, &member_id);
            }
            GroupState::Stable => {
                if self.leader_id.as_deref() == Some(member_id.as_str()) {
                    m.awaiting_join = true;
                    self.prepare_rebalance(ctx);
                } else {
                    self.send_join_response(ctx, &member_id);
                }
            }
            GroupState::Empty => {}
        }
    }

    fn add_member_and_rebalance(&mut self, ctx: &mut Ctx<'_, GlNode>, node: NodeId, id: String) {
        self.seq += 1;
        self.table.insert();
        self.members.insert(
            id.clone(),
            MemberMeta {
                node,
                seq: self.seq,
                awaiting_join: true,
                awaiting_sync: false,
                pending_sync: false,
            },
        );
        if self.leader_id.is_none() {
            // GroupMetadata.add: the first member added with no leader leads.
            self.leader_id = Some(id);
            ctx.record(Obs::phase("leader-first-joiner"));
        }
        ctx.set_timer(
            NEW_MEMBER_JOIN_TIMEOUT,
            Timer::Coord(CoordTimer::Expire(self.seq)),
        );
        if self.state == GroupState::PreparingRebalance && self.generation == 0 {
            self.new_member_added = true;
        }
        match self.state {
            GroupState::PreparingRebalance => self.try_complete_join(ctx),
            _ => self.prepare_rebalance(ctx),
        }
    }

    /// Answer every SyncGroup parked for this generation with `error`
    /// (`propagateAssignment`, `resetAndPropagateAssignmentError`).
    fn answer_parked_syncs(&mut self, ctx: &mut Ctx<'_, GlNode>, error: ErrorCode) {
        let parked: Vec<NodeId> = self
            .members
            .values_mut()
            .filter(|m| m.awaiting_sync)
            .map(|m| {
                m.awaiting_sync = false;
                m.node
            })
            .collect();
        for n in parked {
            ctx.send(
                n,
                Msg::SyncResponse {
                    generation: self.generation,
                    error,
                },
            );
        }
    }

    fn prepare_rebalance(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        if self.state == GroupState::CompletingRebalance {
            // resetAndPropagateAssignmentError
            self.answer_parked_syncs(ctx, ErrorCode::RebalanceInProgress);
        }
        ctx.cancel_timer(&Timer::Coord(CoordTimer::PendingSync));
        let was_empty = self.state == GroupState::Empty;
        self.state = GroupState::PreparingRebalance;
        ctx.record(Obs::phase("preparing-rebalance"));
        if was_empty {
            let delay = self.p.initial_rebalance_delay;
            let remaining = SimDuration(self.p.rebalance_timeout.0.saturating_sub(delay.0));
            self.initial = Some((delay, remaining));
            ctx.set_timer(delay, Timer::Coord(CoordTimer::Join));
        } else {
            self.initial = None;
            ctx.set_timer(self.p.rebalance_timeout, Timer::Coord(CoordTimer::Join));
            self.try_complete_join(ctx);
        }
    }

    /// `tryCompleteJoin` of a `DelayedJoin`: every known member has rejoined
    /// and no member id is pending. An `InitialDelayedJoin` never completes
    /// early.
    fn try_complete_join(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        if self.state != GroupState::PreparingRebalance || self.initial.is_some() {
            return;
        }
        if self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join) {
            self.complete_join(ctx);
        }
    }

    fn on_join_timer(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        if let Some((delay, remaining)) = self.initial {
            // InitialDelayedJoin.onComplete: re-arm while members arrive.
            if self.new_member_added && remaining.0 != 0 {
                self.new_member_added = false;
                let next = SimDuration(self.p.initial_rebalance_delay.0.min(remaining.0));
                let rest = SimDuration(remaining.0.saturating_sub(delay.0));
                self.initial = Some((next, rest));
                ctx.set_timer(next, Timer::Coord(CoordTimer::Join));
                ctx.record(Obs::phase("initial-delay-rearmed"));
                return;
            }
        }
        self.complete_join(ctx);
    }

    /// `onCompleteJoin`.
    fn complete_join(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        ctx.cancel_timer(&Timer::Coord(CoordTimer::Join));
        self.initial = None;
        let missed: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| !m.awaiting_join)
            .map(|(k, _)| k.clone())
            .collect();
        for id in missed {
            ctx.record(Obs::phase("removed-not-rejoined"));
            self.remove_member(ctx, &id);
        }
        if self.members.is_empty() {
            self.generation += 1;
            self.state = GroupState::Empty;
            self.leader_id = None;
            return;
        }
        // maybeElectNewJoinedLeader: a leader that has not rejoined yields
        // to the first member (map order) that has.
        let leader_ok = self
            .leader_id
            .as_ref()
            .and_then(|l| self.members.get(l))
            .is_some_and(|m| m.awaiting_join);
        if !leader_ok {
            self.leader_id = self.first_key(|m| m.awaiting_join);
            ctx.record(Obs::phase("leader-chosen"));
        }
        self.generation += 1;
        self.state = GroupState::CompletingRebalance;
        let leader = self.leader_node().expect("a non-empty group has a leader");
        ctx.record(Obs::Elected {
            leader,
            term: u64::from(self.generation),
            scope: crate::engine::Scope::Whole,
        });
        ctx.record(Obs::Note(GlNote::GenerationLeader {
            coordinator: (ctx.me(), ctx.incarnation()),
            generation: self.generation,
            leader,
            members: self.members.len() as u32,
        }));
        ctx.record(Obs::phase("completing-rebalance"));
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in &ids {
            let m = self.members.get_mut(id).expect("listed above");
            m.awaiting_join = false;
            m.pending_sync = true;
            let seq = m.seq;
            ctx.record(Obs::ElectionRound {
                term: u64::from(self.generation),
                scope: crate::engine::Scope::Whole,
            });
            self.send_join_response(ctx, id);
            ctx.set_timer(
                self.p.session_timeout,
                Timer::Coord(CoordTimer::Expire(seq)),
            );
        }
        ctx.set_timer(
            self.p.rebalance_timeout,
            Timer::Coord(CoordTimer::PendingSync),
        );
    }

    fn send_join_response(&self, ctx: &mut Ctx<'_, GlNode>, id: &str) {
        let m = &self.members[id];
        let leader_id = self.leader_id.clone().expect("a generation has a leader");
        let is_leader = leader_id == id;
        ctx.send(
            m.node,
            Msg::JoinResponse {
                coordinator: (ctx.me(), ctx.incarnation()),
                generation: self.generation,
                member_id: id.to_string(),
                leader: self.members[&leader_id].node,
                leader_id,
                members: is_leader.then_some(self.members.len() as u32),
            },
        );
    }

    /// `GroupMetadata.remove`: the next leader is the map's first key.
    fn remove_member(&mut self, ctx: &mut Ctx<'_, GlNode>, id: &str) {
        let Some(m) = self.members.remove(id) else {
            return;
        };
        self.table.remove();
        ctx.cancel_timer(&Timer::Coord(CoordTimer::Expire(m.seq)));
        if self.leader_id.as_deref() == Some(id) {
            self.leader_id = self.first_key(|_| true);
            if self.leader_id.is_some() {
                ctx.record(Obs::phase("leader-chosen"));
            }
        }
    }

    /// `removeMemberAndUpdateGroup` (heartbeat expiry, LeaveGroup).
    fn remove_member_and_update_group(&mut self, ctx: &mut Ctx<'_, GlNode>, id: &str) {
        self.remove_member(ctx, id);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(ctx),
            GroupState::PreparingRebalance => self.try_complete_join(ctx),
            GroupState::Empty => {}
        }
    }

    fn on_sync(
        &mut self,
        ctx: &mut Ctx<'_, GlNode>,
        from: NodeId,
        generation: u32,
        member_id: String,
        assignments: bool,
    ) {
        let reply = |ctx: &mut Ctx<'_, GlNode>, error| {
            ctx.send(from, Msg::SyncResponse { generation, error });
        };
        let Some(m) = self.members.get_mut(&member_id) else {
            return reply(ctx, ErrorCode::UnknownMemberId);
        };
        if generation != self.generation {
            return reply(ctx, ErrorCode::IllegalGeneration);
        }
        match self.state {
            GroupState::PreparingRebalance | GroupState::Empty => {
                reply(ctx, ErrorCode::RebalanceInProgress)
            }
            GroupState::CompletingRebalance => {
                m.awaiting_sync = true;
                m.pending_sync = false;
                if assignments && self.leader_id.as_deref() == Some(member_id.as_str()) {
                    // storeGroup: the assignment is appended to
                    // __consumer_offsets (acks=-1) before anyone hears it.
                    let record = self.record();
                    let leader = self.leader_node().expect("the leader is a member");
                    self.storing = Some(Storing {
                        generation: self.generation,
                        leader,
                        local: false,
                        acks: self.followers.clone(),
                    });
                    for &f in &self.followers {
                        ctx.send(
                            f,
                            Msg::Replicate {
                                record: record.clone(),
                            },
                        );
                    }
                    let w = GroupWrite { record };
                    crate::engine::Durable::apply(&mut self.log, &w);
                    ctx.persist(w);
                }
            }
            GroupState::Stable => {
                m.pending_sync = false;
                reply(ctx, ErrorCode::None);
            }
        }
    }

    /// The generation last stored in `__consumer_offsets`.
    pub fn stored(&self) -> u32 {
        self.stored
    }

    pub fn on_persisted(&mut self, ctx: &mut Ctx<'_, GlNode>, w: GroupWrite) {
        if let Some(s) = &mut self.storing {
            if s.generation == w.record.generation {
                s.local = true;
            }
        }
        self.finish_store(ctx);
    }

    /// The append is on the local disk and every in-sync follower has it:
    /// the group is stored, and SyncGroup answers go out.
    fn finish_store(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        let Some(s) = &self.storing else {
            return;
        };
        if !s.local || !s.acks.is_empty() {
            return;
        }
        let (generation, leader) = (s.generation, s.leader);
        self.storing = None;
        self.stored = self.stored.max(generation);
        ctx.record(Obs::Note(GlNote::Stored { generation, leader }));
        if self.state != GroupState::CompletingRebalance || generation != self.generation {
            return;
        }
        self.state = GroupState::Stable;
        ctx.record(Obs::phase("stable"));
        self.answer_parked_syncs(ctx, ErrorCode::None);
    }

    fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_, GlNode>,
        from: NodeId,
        generation: u32,
        member_id: String,
    ) {
        let error = match self.members.get(&member_id) {
            None => ErrorCode::UnknownMemberId,
            Some(_) if self.state == GroupState::Empty => ErrorCode::UnknownMemberId,
            Some(_) if generation != self.generation => ErrorCode::IllegalGeneration,
            Some(m) => {
                ctx.set_timer(
                    self.p.session_timeout,
                    Timer::Coord(CoordTimer::Expire(m.seq)),
                );
                if self.state == GroupState::PreparingRebalance {
                    ErrorCode::RebalanceInProgress
                } else {
                    ErrorCode::None
                }
            }
        };

        ctx.send(
            from,
            Msg::HeartbeatResponse {
                error,
                loading: false,
            },
        );
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, GlNode>, t: CoordTimer) {
        match t {
            CoordTimer::Join => self.on_join_timer(ctx),
            CoordTimer::Expire(seq) => {
                let Some((id, m)) = self.members.iter().find(|(_, m)| m.seq == seq) else {
                    return;
                };
                let (id, node) = (id.clone(), m.node);
                // hasSatisfiedHeartbeat: a member parked in JoinGroup or
                // SyncGroup is kept alive.
                if m.awaiting_join || m.awaiting_sync {
                    return;
                }
                ctx.record(Obs::Detected {
                    suspect: Some(node),
                    scope: crate::engine::Scope::Whole,
                });
                ctx.record(Obs::phase("heartbeat-expired"));
                self.remove_member_and_update_group(ctx, &id);
            }
            CoordTimer::PendingSync => {
                if !matches!(
                    self.state,
                    GroupState::CompletingRebalance | GroupState::Stable
                ) {
                    return;
                }
                let late: Vec<String> = self
                    .members
                    .iter()
                    .filter(|(_, m)| m.pending_sync)
                    .map(|(k, _)| k.clone())
                    .collect();
                if late.is_empty() {
                    return;
                }
                for id in &late {
                    ctx.record(Obs::phase("sync-expired"));
                    self.remove_member(ctx, id);
                }
                if self.members.is_empty() {
                    self.state = GroupState::Empty;
                    self.generation += 1;
                    self.leader_id = None;
                } else {
                    self.prepare_rebalance(ctx);
                }
            }
            CoordTimer::PendingMember(node) => {
                self.pending.retain(|_, n| *n != node);
                self.try_complete_join(ctx);
            }
        }
    }

    /// A member's connection closed. With `member.stop = close` its
    /// LeaveGroup came first (KafkaConsumer.close()); otherwise the
    /// coordinator, like the real one, takes no notice.
    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, GlNode>, peer: NodeId) {
        if !self.p.leave_on_close {
            return;
        }
        self.pending.retain(|_, n| *n != peer);
        let Some(id) = self.node_member(peer) else {
            return;
        };
        ctx.record(Obs::Detected {
            suspect: Some(peer),
            scope: crate::engine::Scope::Whole,
        });
        ctx.record(Obs::phase("leave-group"));
        self.remove_member_and_update_group(ctx, &id);
    }

    pub fn view(&self) -> View {
        View {
            role: Role::Follower,
            term: u64::from(self.generation),
            leader: self.leader_node(),
            serving: self.state == GroupState::Stable,
        }
    }
}
