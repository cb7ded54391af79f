//! A consumer group member: the Java consumer's `AbstractCoordinator` /
//! `ConsumerCoordinator` seen from the group protocol (FindCoordinator,
//! JoinGroup, SyncGroup, the heartbeat thread), with the eager protocol's
//! revocation before a rejoin.

use std::collections::BTreeMap;

use crate::engine::{Ctx, NodeId, Obs, Role, Scope, SimTime, View};

use super::msg::{ErrorCode, Msg};
use super::params::GlParams;
use super::{GlNode, GlNote, MemberTimer, Timer};

/// `MemberState` of `AbstractCoordinator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// JoinGroup sent, no answer yet.
    PreparingRebalance,
    /// Joined, SyncGroup sent.
    CompletingRebalance,
    /// Has its assignment; heartbeats.
    Stable,
}

/// Why a broker cannot be reached, as far as the member knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unreachable {
    /// Its host reset our connection: the process is gone and the host
    /// refuses new connections at once.
    Refused,
    /// It stopped answering (request or session timeout): a new connection
    /// attempt fails only after `socket.connection.setup.timeout.ms`.
    Silent,
}

#[derive(Clone, Debug)]
pub struct Member {
    p: GlParams,
    /// The bootstrap brokers (every broker), in broker order.
    brokers: Vec<NodeId>,
    /// The group coordinator; `None` after `markCoordinatorUnknown`.
    pub coordinator: Option<NodeId>,
    pub member_id: String,
    pub generation: u32,
    pub state: MemberState,
    pub leader: Option<NodeId>,
    pub is_leader: bool,
    /// When a heartbeat last succeeded (`Heartbeat.sessionTimer`'s start).
    last_heartbeat_ok: SimTime,
    /// When the oldest unanswered heartbeat was sent.
    heartbeat_sent: Option<SimTime>,
    /// Brokers a connection to fails, until they are heard from.
    unreachable: BTreeMap<NodeId, Unreachable>,
    /// The broker a FindCoordinator in flight went to.
    finding: Option<NodeId>,
    /// Where the next FindCoordinator goes (an index into `brokers`).
    next_broker: usize,
    /// The coordinator was rediscovered and has not yet answered a
    /// heartbeat NONE with the group loaded.
    rediscovered: bool,
}

impl Member {
    /// Member `index` of the group. It starts knowing its coordinator (the
    /// first FindCoordinator is not modelled); later lookups start at broker
    /// `index % brokers`, spreading them the way `leastLoadedNode` does.
    pub fn new(p: GlParams, brokers: Vec<NodeId>, coordinator: NodeId, index: usize) -> Self {
        let next_broker = index % brokers.len();
        Member {
            p,
            brokers,
            coordinator: Some(coordinator),
            member_id: String::new(),
            generation: 0,
            state: MemberState::PreparingRebalance,
            leader: None,
            is_leader: false,
            last_heartbeat_ok: SimTime::ZERO,
            heartbeat_sent: None,
            unreachable: BTreeMap::new(),
            finding: None,
            next_broker,
            rediscovered: false,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        self.join(ctx);
    }

    fn join(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        self.state = MemberState::PreparingRebalance;
        ctx.cancel_timer(&Timer::Member(MemberTimer::Heartbeat));
        let Some(c) = self.coordinator else {
            self.lookup(ctx);
            return;
        };
        ctx.send(
            c,
            Msg::JoinGroup {
                member_id: self.member_id.clone(),
            },
        );
    }

    /// Eager protocol: give up every partition (`onPartitionsRevoked`), then
    /// rejoin.
    fn revoke_and_rejoin(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        if self.state == MemberState::Stable {
            ctx.record(Obs::phase("revoke"));
        }
        self.join(ctx);
    }

    /// `markCoordinatorUnknown`, then `lookupCoordinator` at once (the
    /// heartbeat thread's next turn). `failed`: the connection failed that
    /// way, so the next attempt to that broker fails the same way.
    fn mark_unknown(&mut self, ctx: &mut Ctx<'_, GlNode>, failed: Option<Unreachable>) {
        if let Some(c) = self.coordinator.take() {
            if let Some(f) = failed {
                self.unreachable.insert(c, f);
            }
            ctx.record(Obs::phase("coordinator-unknown"));
        }
        self.heartbeat_sent = None;
        ctx.cancel_timer(&Timer::Member(MemberTimer::ConnectFailed));
        ctx.cancel_timer(&Timer::Member(MemberTimer::Heartbeat));
        self.lookup(ctx);
    }

    /// FindCoordinator to the next broker not known to be unreachable.
    fn lookup(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        if self.finding.is_some() || self.coordinator.is_some() {
            return;
        }
        let n = self.brokers.len();
        let k = (0..n)
            .map(|k| (self.next_broker + k) % n)
            .find(|&i| !self.unreachable.contains_key(&self.brokers[i]))
            .unwrap_or(self.next_broker % n);
        self.next_broker = (k + 1) % n;
        let broker = self.brokers[k];
        self.finding = Some(broker);
        ctx.send(broker, Msg::FindCoordinator);
        ctx.set_timer(
            self.p.request_timeout,
            Timer::Member(MemberTimer::FindTimeout),
        );
    }

    /// Try again after `retry.backoff.ms`.
    fn retry_later(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        ctx.set_timer(self.p.retry_backoff, Timer::Member(MemberTimer::Retry));
    }

    /// The coordinator is known again: carry on where the member was (a
    /// Stable member heartbeats at once; one in a rebalance joins again, as
    /// `joinGroupIfNeeded` does after a failed JoinGroup or SyncGroup).
    fn resume(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        match self.state {
            MemberState::Stable => self.send_heartbeat(ctx),
            _ => self.join(ctx),
        }
    }

    fn send_heartbeat(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        let Some(c) = self.coordinator else {
            return;
        };
        ctx.send(
            c,
            Msg::Heartbeat {
                generation: self.generation,
                member_id: self.member_id.clone(),
            },
        );
        self.heartbeat_sent.get_or_insert(ctx.now());
        ctx.set_timer(
            self.p.heartbeat_interval,
            Timer::Member(MemberTimer::Heartbeat),
        );
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, GlNode>, from: NodeId, msg: Msg) {
        self.unreachable.remove(&from);
        if let Msg::FindCoordinatorResponse { coordinator } = msg {
            self.on_find_response(ctx, from, coordinator);
            return;
        }
        if self.coordinator != Some(from) {
            // A late answer of a coordinator this member has left.
            return;
        }
        ctx.cancel_timer(&Timer::Member(MemberTimer::ConnectFailed));
        match msg {
            Msg::MemberIdRequired { member_id } => {
                self.member_id = member_id;
                self.join(ctx);
            }
            Msg::JoinResponse {
                coordinator,
                generation,
                member_id,
                leader_id,
                leader,
                members,
            } => {
                if self.state != MemberState::PreparingRebalance {
                    return;
                }
                self.member_id = member_id;
                self.generation = generation;
                self.leader = Some(leader);
                self.is_leader = leader_id == self.member_id;
                debug_assert_eq!(self.is_leader, members.is_some());
                ctx.record(Obs::Note(GlNote::Joined {
                    coordinator,
                    member: ctx.me(),
                    generation,
                    leader,
                }));
                self.state = MemberState::CompletingRebalance;
                // The leader runs the assignor on the member list and sends
                // every assignment; the others send an empty SyncGroup.
                ctx.send(
                    from,
                    Msg::SyncGroup {
                        generation,
                        member_id: self.member_id.clone(),
                        assignments: self.is_leader,
                    },
                );
            }
            Msg::JoinError { error } => match error {
                ErrorCode::NotCoordinator => self.mark_unknown(ctx, None),
                ErrorCode::CoordinatorLoadInProgress => self.retry_later(ctx),
                _ => {
                    self.member_id.clear();
                    self.join(ctx);
                }
            },
            Msg::SyncResponse { generation, error } => {
                if self.state != MemberState::CompletingRebalance || generation != self.generation {
                    return;
                }
                match error {
                    ErrorCode::None => {
                        self.state = MemberState::Stable;
                        self.last_heartbeat_ok = ctx.now();
                        self.heartbeat_sent = None;
                        ctx.record(Obs::Serving {
                            leader: self.leader.expect("joined"),
                            term: u64::from(generation),
                            scope: Scope::Whole,
                        });
                        ctx.set_timer(
                            self.p.heartbeat_interval,
                            Timer::Member(MemberTimer::Heartbeat),
                        );
                    }
                    ErrorCode::UnknownMemberId => {
                        self.member_id.clear();
                        self.join(ctx);
                    }
                    ErrorCode::NotCoordinator => self.mark_unknown(ctx, None),
                    ErrorCode::CoordinatorLoadInProgress => {
                        self.state = MemberState::PreparingRebalance;
                        self.retry_later(ctx);
                    }
                    _ => self.join(ctx),
                }
            }
            Msg::HeartbeatResponse { error, loading } => {
                if self.state != MemberState::Stable {
                    return;
                }
                self.heartbeat_sent = None;
                match error {
                    ErrorCode::None => {
                        self.last_heartbeat_ok = ctx.now();
                        if self.rediscovered && !loading {
                            self.rediscovered = false;
                            ctx.record(Obs::phase("coordinator-serving"));
                        }
                    }
                    ErrorCode::RebalanceInProgress => {
                        self.last_heartbeat_ok = ctx.now();
                        self.revoke_and_rejoin(ctx)
                    }
                    ErrorCode::IllegalGeneration => self.revoke_and_rejoin(ctx),
                    ErrorCode::UnknownMemberId => {
                        // Removed while it still thought it was in: its
                        // partitions are lost; join again with no id.
                        ctx.record(Obs::phase("revoke"));
                        self.member_id.clear();
                        self.join(ctx);
                    }
                    ErrorCode::NotCoordinator => self.mark_unknown(ctx, None),
                    // A heartbeat is answered NONE during a load.
                    ErrorCode::CoordinatorLoadInProgress => {}
                }
            }
            _ => {}
        }
    }

    fn on_find_response(
        &mut self,
        ctx: &mut Ctx<'_, GlNode>,
        from: NodeId,
        coordinator: Option<NodeId>,
    ) {
        if self.finding != Some(from) {
            return;
        }
        self.finding = None;
        ctx.cancel_timer(&Timer::Member(MemberTimer::FindTimeout));
        let Some(c) = coordinator else {
            // COORDINATOR_NOT_AVAILABLE.
            self.retry_later(ctx);
            return;
        };
        match self.unreachable.get(&c) {
            Some(Unreachable::Refused) => {
                // The connection is refused at once; look again later.
                self.retry_later(ctx);
            }
            silent => {
                self.coordinator = Some(c);
                // "Discovered group coordinator": resetSessionTimeout.
                self.last_heartbeat_ok = ctx.now();
                ctx.record(Obs::phase("coordinator-discovered"));
                self.rediscovered = true;
                if silent.is_some() {
                    ctx.set_timer(
                        self.p.connection_setup_timeout,
                        Timer::Member(MemberTimer::ConnectFailed),
                    );
                }
                self.resume(ctx);
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, GlNode>, t: MemberTimer) {
        match t {
            MemberTimer::Heartbeat => {
                if self.state != MemberState::Stable || self.coordinator.is_none() {
                    return;
                }
                let now = ctx.now();
                // The heartbeat thread's checks, at its turn.
                if now.since(self.last_heartbeat_ok) >= self.p.session_timeout {
                    // "session timed out without receiving a heartbeat
                    // response"
                    self.mark_unknown(ctx, Some(Unreachable::Silent));
                    return;
                }
                if self
                    .heartbeat_sent
                    .is_some_and(|t| now.since(t) >= self.p.request_timeout)
                {
                    // The request timed out: the client disconnects.
                    self.mark_unknown(ctx, Some(Unreachable::Silent));
                    return;
                }
                self.send_heartbeat(ctx);
            }
            MemberTimer::Retry => {
                if self.coordinator.is_some() {
                    self.resume(ctx);
                } else {
                    self.lookup(ctx);
                }
            }
            MemberTimer::FindTimeout => {
                if let Some(b) = self.finding.take() {
                    self.unreachable.insert(b, Unreachable::Silent);
                    self.retry_later(ctx);
                }
            }
            MemberTimer::ConnectFailed => {
                self.mark_unknown(ctx, Some(Unreachable::Silent));
            }
        }
    }

    /// A connection was reset: its peer's process died on a live host.
    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, GlNode>, peer: NodeId) {
        if !self.brokers.contains(&peer) {
            return;
        }
        self.unreachable.insert(peer, Unreachable::Refused);
        if self.finding == Some(peer) {
            self.finding = None;
            ctx.cancel_timer(&Timer::Member(MemberTimer::FindTimeout));
            self.retry_later(ctx);
        }
        if self.coordinator == Some(peer) {
            self.mark_unknown(ctx, Some(Unreachable::Refused));
        }
    }

    pub fn view(&self) -> View {
        View {
            role: if self.is_leader {
                Role::Leader
            } else {
                Role::Follower
            },
            term: u64::from(self.generation),
            leader: self.leader,
            serving: self.state == MemberState::Stable,
        }
    }
}
