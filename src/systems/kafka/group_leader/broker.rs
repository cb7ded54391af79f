//! A broker: a replica of the group's `__consumer_offsets` partition, and
//! the group coordinator while it leads that partition.
//!
//! Which broker leads the partition is metadata that the KRaft controller
//! decides. The model has no controller node: every broker heartbeats every
//! other broker every `broker.heartbeat.interval.ms` and applies the
//! controller's fencing rule to the heartbeats it receives (a broker not
//! heard from for `broker.session.timeout.ms` is fenced, BrokerHeartbeatManager
//! / `maybeFenceOneStaleBroker`); a fenced broker leaves the ISR and, if it
//! led the partition, the next unfenced replica in assignment order leads it
//! with the leader epoch one higher (`PartitionChangeBuilder.electLeader`).
//! Only a broker that still hears at least half of the brokers acts on a
//! fencing (the controller is taken to be on the majority side of a
//! partition; an isolated coordinator keeps waiting for its followers'
//! acks, as a real leader that cannot reach the controller to shrink its
//! ISR does). With an even number of brokers split in halves, both halves
//! act: that case is not safe in the model.
//! All brokers apply the same rule to the same heartbeats, so they agree up
//! to a network delay: this stands for the controller's decision and the
//! metadata record that carries it, whose own commit and fetch (a few network
//! round trips) the model does not add. `kafka/partition-leader` models the
//! controller in full.

use std::collections::BTreeSet;

use crate::engine::{Ctx, Durable, NodeId, Obs, Role, View};

use super::coordinator::Coordinator;
use super::msg::{ErrorCode, Msg};
use super::params::GlParams;
use super::{BrokerTimer, GlNode, GroupLog, GroupWrite, Timer};

/// What this broker is for the group.
#[derive(Clone, Debug)]
pub enum BrokerRole {
    /// A follower replica (or a broker outside the replica set).
    Follower,
    /// Elected leader of the partition, replaying it
    /// (`scheduleLoadGroupAndOffsets`): COORDINATOR_LOAD_IN_PROGRESS.
    Loading,
    /// The group coordinator.
    Coordinator(Box<Coordinator>),
}

#[derive(Clone, Debug)]
pub struct Broker {
    p: GlParams,
    /// Every broker's node, in broker order.
    brokers: Vec<NodeId>,
    /// The partition's replica assignment (AR), preferred leader first.
    pub replicas: Vec<NodeId>,
    /// The partition's leader in this broker's metadata.
    pub leader: Option<NodeId>,
    pub leader_epoch: u32,
    /// Brokers this broker holds fenced.
    pub fenced: BTreeSet<NodeId>,
    /// The partition's log on this broker while it is not the coordinator.
    log: GroupLog,
    pub role: BrokerRole,
}

impl Broker {
    /// A broker at the start of the trial (`restarted`: false), when the
    /// partition's preferred replica leads, or a restarted one, which
    /// knows no leader until a peer's heartbeat tells it.
    pub fn new(
        p: GlParams,
        brokers: Vec<NodeId>,
        replicas: Vec<NodeId>,
        log: GroupLog,
        restarted: bool,
    ) -> Self {
        let leader = (!restarted).then(|| replicas[0]);
        Broker {
            p,
            brokers,
            replicas,
            leader,
            leader_epoch: 0,
            fenced: BTreeSet::new(),
            log,
            role: BrokerRole::Follower,
        }
    }

    pub fn coordinator(&self) -> Option<&Coordinator> {
        match &self.role {
            BrokerRole::Coordinator(c) => Some(c),
            _ => None,
        }
    }

    /// Coordinator or loading: the broker leads the group's partition.
    pub fn leads(&self) -> bool {
        !matches!(self.role, BrokerRole::Follower)
    }

    /// The partition's log as this broker holds it.
    pub fn log(&self) -> &GroupLog {
        match &self.role {
            BrokerRole::Coordinator(c) => &c.log,
            _ => &self.log,
        }
    }

    fn peers(&self, ctx: &Ctx<'_, GlNode>) -> Vec<NodeId> {
        let me = ctx.me();
        self.brokers.iter().copied().filter(|&b| b != me).collect()
    }

    /// The in-sync followers: the other replicas not fenced.
    fn followers(&self, me: NodeId) -> Vec<NodeId> {
        self.replicas
            .iter()
            .copied()
            .filter(|&r| r != me && !self.fenced.contains(&r))
            .collect()
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        if self.leader == Some(ctx.me()) {
            // The preferred leader at time 0: the group is new, nothing to
            // load.
            self.role = BrokerRole::Coordinator(Box::new(Coordinator::new(self.p.clone())));
            let followers = self.followers(ctx.me());
            if let BrokerRole::Coordinator(c) = &mut self.role {
                c.followers = followers;
            }
        }
        if self.brokers.len() > 1 {
            self.heartbeat(ctx);
            for peer in self.peers(ctx) {
                ctx.set_timer(
                    self.p.broker_session_timeout,
                    Timer::Broker(BrokerTimer::Fence(peer)),
                );
            }
        }
    }

    fn heartbeat(&mut self, ctx: &mut Ctx<'_, GlNode>) {
        for peer in self.peers(ctx) {
            ctx.send(
                peer,
                Msg::BrokerHeartbeat {
                    epoch: self.leader_epoch,
                    leader: self.leader,
                },
            );
        }
        ctx.set_timer(
            self.p.broker_heartbeat_interval,
            Timer::Broker(BrokerTimer::Heartbeat),
        );
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<'_, GlNode>, t: Timer) {
        match t {
            Timer::Broker(BrokerTimer::Heartbeat) => self.heartbeat(ctx),
            Timer::Broker(BrokerTimer::Fence(peer)) => self.fence(ctx, peer),
            Timer::Broker(BrokerTimer::LoadDone) => {
                if matches!(self.role, BrokerRole::Loading) {
                    let log = std::mem::take(&mut self.log);
                    let followers = self.followers(ctx.me());
                    let c = Coordinator::load(ctx, self.p.clone(), log, followers);
                    ctx.record(Obs::phase("group-loaded"));
                    self.role = BrokerRole::Coordinator(Box::new(c));
                }
            }
            Timer::Coord(t) => {
                if let BrokerRole::Coordinator(c) = &mut self.role {
                    c.on_timer(ctx, t);
                }
            }
            Timer::Member(_) => {}
        }
    }

    /// The controller's fencing rule: `peer` missed its session.
    fn fence(&mut self, ctx: &mut Ctx<'_, GlNode>, peer: NodeId) {
        if !self.fenced.insert(peer) {
            return;
        }
        ctx.record(Obs::Detected {
            suspect: Some(peer),
            scope: crate::engine::Scope::Whole,
        });
        ctx.record(Obs::phase("broker-fenced"));
        // The controller sits with the majority: a broker that hears fewer
        // than half the brokers (itself included) stands for the minority
        // side of a partition, which cannot reach the controller, so it
        // neither shrinks its ISR nor elects.
        let live = self.brokers.len() - self.fenced.len();
        if live * 2 < self.brokers.len() {
            return;
        }
        if let BrokerRole::Coordinator(c) = &mut self.role {
            c.drop_follower(ctx, peer);
        }
        if self.leader == Some(peer) {
            let next = self
                .replicas
                .iter()
                .copied()
                .find(|r| !self.fenced.contains(r));
            self.set_leader(ctx, self.leader_epoch + 1, next);
        }
    }

    /// New partition metadata: `leader` at `epoch`. Becoming the leader
    /// starts the load (`onElection`); losing it unloads the group
    /// (`onResignation`).
    fn set_leader(&mut self, ctx: &mut Ctx<'_, GlNode>, epoch: u32, leader: Option<NodeId>) {
        self.leader_epoch = epoch;
        self.leader = leader;
        let me = ctx.me();
        if leader == Some(me) {
            if !self.leads() {
                ctx.record(Obs::phase("coordinator-elected"));
                self.role = BrokerRole::Loading;
                ctx.set_timer(self.p.load_time, Timer::Broker(BrokerTimer::LoadDone));
            }
        } else if self.leads() {
            if let BrokerRole::Coordinator(c) = &mut self.role {
                self.log = std::mem::take(&mut c.log);
            }
            self.role = BrokerRole::Follower;
            // The group's timers go with it.
            ctx.cancel_timer(&Timer::Broker(BrokerTimer::LoadDone));
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<'_, GlNode>, from: NodeId, msg: Msg) {
        match msg {
            Msg::BrokerHeartbeat { epoch, leader } => {
                ctx.set_timer(
                    self.p.broker_session_timeout,
                    Timer::Broker(BrokerTimer::Fence(from)),
                );
                if self.fenced.remove(&from) {
                    // Registered again and caught up: back in the ISR.
                    if self.replicas.contains(&from) {
                        if let BrokerRole::Coordinator(c) = &mut self.role {
                            c.add_follower(from);
                        }
                    }
                }
                if epoch > self.leader_epoch || (self.leader.is_none() && leader.is_some()) {
                    self.set_leader(ctx, epoch, leader);
                }
            }
            Msg::FindCoordinator => {
                let coordinator = self.leader.filter(|l| !self.fenced.contains(l));
                ctx.send(from, Msg::FindCoordinatorResponse { coordinator });
            }
            Msg::Replicate { record } => {
                if self.leads() {
                    return;
                }
                let w = GroupWrite { record };
                self.log.apply(&w);
                ctx.persist(w);
            }
            Msg::ReplicateAck { generation } => {
                if let BrokerRole::Coordinator(c) = &mut self.role {
                    c.on_replicate_ack(ctx, from, generation);
                }
            }
            Msg::JoinGroup { .. } | Msg::SyncGroup { .. } | Msg::Heartbeat { .. } => {
                match &mut self.role {
                    BrokerRole::Coordinator(c) => c.on_message(ctx, from, msg),
                    BrokerRole::Loading => {
                        Self::answer_error(ctx, from, &msg, ErrorCode::CoordinatorLoadInProgress)
                    }
                    BrokerRole::Follower => {
                        Self::answer_error(ctx, from, &msg, ErrorCode::NotCoordinator)
                    }
                }
            }
            _ => {}
        }
    }

    /// `validateGroupStatus` failed: the error, except that a heartbeat
    /// during the load is answered NONE "blindly" (`handleHeartbeat`).
    fn answer_error(ctx: &mut Ctx<'_, GlNode>, from: NodeId, msg: &Msg, error: ErrorCode) {
        let reply = match msg {
            Msg::JoinGroup { .. } => Msg::JoinError { error },
            Msg::SyncGroup { generation, .. } => Msg::SyncResponse {
                generation: *generation,
                error,
            },
            Msg::Heartbeat { .. } => {
                let loading = error == ErrorCode::CoordinatorLoadInProgress;
                Msg::HeartbeatResponse {
                    error: if loading { ErrorCode::None } else { error },
                    loading,
                }
            }
            _ => return,
        };
        ctx.send(from, reply);
    }

    pub fn on_persisted(&mut self, ctx: &mut Ctx<'_, GlNode>, w: GroupWrite) {
        match &mut self.role {
            BrokerRole::Coordinator(c) => c.on_persisted(ctx, w),
            _ => {
                // A follower's copy: acknowledge it to the leader it knows.
                if let Some(l) = self.leader {
                    ctx.send(
                        l,
                        Msg::ReplicateAck {
                            generation: w.record.generation,
                        },
                    );
                }
            }
        }
    }

    pub fn on_link_reset(&mut self, ctx: &mut Ctx<'_, GlNode>, peer: NodeId) {
        if let BrokerRole::Coordinator(c) = &mut self.role {
            c.on_link_reset(ctx, peer);
        }
    }

    pub fn view(&self) -> View {
        match &self.role {
            BrokerRole::Coordinator(c) => c.view(),
            _ => View {
                role: Role::Follower,
                term: 0,
                leader: None,
                serving: false,
            },
        }
    }
}
