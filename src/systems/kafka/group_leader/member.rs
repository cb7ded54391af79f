//! A consumer group member: the Java consumer's `AbstractCoordinator` /
//! `ConsumerCoordinator` seen from the group protocol (JoinGroup, SyncGroup,
//! the heartbeat thread), with the eager protocol's revocation before a
//! rejoin.

use crate::engine::{Ctx, NodeId, Obs, Role, Scope, View};

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

#[derive(Clone, Debug)]
pub struct Member {
    p: GlParams,
    coordinator: NodeId,
    pub member_id: String,
    pub generation: u32,
    pub state: MemberState,
    pub leader: Option<NodeId>,
    pub is_leader: bool,
}

impl Member {
    pub fn new(p: GlParams, coordinator: NodeId) -> Self {
        Member {
            p,
            coordinator,
            member_id: String::new(),
            generation: 0,
            state: MemberState::PreparingRebalance,
            leader: None,
            is_leader: false,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        self.join(ctx);
    }

    fn join(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        self.state = MemberState::PreparingRebalance;
        ctx.cancel_timer(&Timer::Member(MemberTimer::Heartbeat));
        ctx.send(
            self.coordinator,
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

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, GlNode>, msg: Msg) {
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
                    self.coordinator,
                    Msg::SyncGroup {
                        generation,
                        member_id: self.member_id.clone(),
                        assignments: self.is_leader,
                    },
                );
            }
            Msg::JoinError { .. } => {
                self.member_id.clear();
                self.join(ctx);
            }
            Msg::SyncResponse { generation, error } => {
                if self.state != MemberState::CompletingRebalance || generation != self.generation {
                    return;
                }
                match error {
                    ErrorCode::None => {
                        self.state = MemberState::Stable;
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
                    _ => self.join(ctx),
                }
            }
            Msg::HeartbeatResponse { error } => {
                if self.state != MemberState::Stable {
                    return;
                }
                match error {
                    ErrorCode::None => {}
                    ErrorCode::RebalanceInProgress | ErrorCode::IllegalGeneration => {
                        self.revoke_and_rejoin(ctx)
                    }
                    ErrorCode::UnknownMemberId => {
                        // Removed while it still thought it was in: its
                        // partitions are lost; join again with no id.
                        ctx.record(Obs::phase("revoke"));
                        self.member_id.clear();
                        self.join(ctx);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, GlNode>, t: MemberTimer) {
        match t {
            MemberTimer::Heartbeat => {
                if self.state != MemberState::Stable {
                    return;
                }
                ctx.send(
                    self.coordinator,
                    Msg::Heartbeat {
                        generation: self.generation,
                        member_id: self.member_id.clone(),
                    },
                );
                ctx.set_timer(
                    self.p.heartbeat_interval,
                    Timer::Member(MemberTimer::Heartbeat),
                );
            }
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
