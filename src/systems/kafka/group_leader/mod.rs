//! `kafka/group-leader`: the classic consumer-group protocol's group leader
//! and rebalances, as one group coordinator (a broker) runs them for M
//! consumer members.
//!
//! Follows `PROTOCOLS.md` §2.7 and §2.9, read against apache/kafka's classic
//! coordinator — the one ZooKeeper-mode brokers always use —
//! `core/src/main/scala/kafka/coordinator/group/GroupCoordinator.scala`,
//! `GroupMetadata.scala`, `MemberMetadata.scala`, `DelayedJoin.scala`
//! (`DelayedJoin`, `InitialDelayedJoin`), `GroupMetadataManager.scala`
//! (`storeGroup`), and the Java consumer's `AbstractCoordinator.java` /
//! `ConsumerCoordinator.java`.
//!
//! What is modelled:
//! * Members (`member.rs`) send JoinGroup with no id, get MEMBER_ID_REQUIRED
//!   and an id `consumer-electbench-1-<UUID>` (JoinGroup v4+), join with it,
//!   then send SyncGroup (the leader's carries every assignment). Once they
//!   have their assignment they heartbeat every `heartbeat.interval.ms`; a
//!   REBALANCE_IN_PROGRESS answer makes them revoke their partitions (eager
//!   protocol) and rejoin.
//! * The coordinator (`coordinator.rs`) keeps the group states Empty,
//!   PreparingRebalance, CompletingRebalance, Stable. The first member
//!   added with no leader leads. A new member, the leader rejoining in
//!   Stable, a heartbeat expiry or a LeaveGroup prepares a rebalance. From
//!   Empty the join phase is an `InitialDelayedJoin` of
//!   `group.initial.rebalance.delay.ms` that never completes early and
//!   re-arms (min(delay, remaining), the remaining time capped by the
//!   rebalance timeout) while new members arrive in generation 0; otherwise
//!   a `DelayedJoin` of the rebalance timeout (`max.poll.interval.ms`) that
//!   completes as soon as every known member has rejoined and no member id
//!   is pending. At completion, members that did not rejoin are removed,
//!   the generation goes up, every member gets its JoinGroup answer and a
//!   heartbeat deadline of `session.timeout.ms`, and a pending-sync timer of
//!   the rebalance timeout starts; members that have not sent SyncGroup when
//!   it fires are removed and the group rebalances again. The leader's
//!   SyncGroup is stored (`storeGroup`, a write through the workload's disk
//!   model standing for the acks=-1 append to `__consumer_offsets`) before
//!   the coordinator answers every parked SyncGroup and turns Stable.
//!   Members parked in JoinGroup or SyncGroup do not expire.
//! * **The next leader.** When the leader is removed the new one is the first
//!   key of the member map (`members.keys.headOption`), and at join
//!   completion a leader that did not rejoin yields to the first rejoined
//!   member in map order (`maybeElectNewJoinedLeader`). The real map is a
//!   Scala 2.13 `mutable.HashMap[String, MemberMetadata]`; `hashorder.rs`
//!   reproduces its iteration order exactly (Java `String.hashCode`,
//!   `h ^ (h >>> 16)`, slot `hash & (capacity - 1)`, sorted by hash in a
//!   slot, capacity 16 doubling at 0.75 load and never shrinking). The keys
//!   are real-format member ids whose UUIDs are drawn from the coordinator's
//!   seeded stream (`UUID.randomUUID` in the real one), so the choice is the
//!   one a real coordinator would make for those ids: in effect a uniformly
//!   random remaining member, reproducible from the seed. Scala 2.12 builds
//!   and the new Java coordinator (`ClassicGroup.java`, `java.util.HashMap`,
//!   insertion order within a bucket) would order some ids differently.
//! * Faults: a member's crash (`member.stop = kill`: no LeaveGroup, noticed
//!   after `session.timeout.ms`), a clean leave (`member.stop = close`,
//!   KafkaConsumer.close(): the LeaveGroup is delivered with the connection
//!   reset, so faults need `host_alive = true`), either one on the leader.
//!   A restarted member is a new process: it joins again with a new id.
//!
//! Simplifications:
//! * One group, one coordinator, known from the start: no FindCoordinator,
//!   no coordinator failover or `__consumer_offsets` load
//!   (COORDINATOR_LOAD_IN_PROGRESS). Do not fault the coordinator: it comes
//!   back with an empty group (members then get UNKNOWN_MEMBER_ID and join
//!   again), which is not what a real coordinator move does.
//! * Dynamic members only (no `group.instance.id`); one protocol
//!   (`range`), so protocol selection is not modelled; the assignment is
//!   computed instantly; no offset commits; no request timeouts or retries
//!   on the member side; every member starts at time 0.
//! * A member heartbeats only when Stable (the real heartbeat thread also
//!   runs during a rebalance, but a member parked in JoinGroup/SyncGroup
//!   cannot expire, so the outcome is the same).
//! * `max.poll.interval.ms` only sets the rebalance timeout: members poll
//!   on time, so the client-side poll timeout never fires.
//! * The Scala map's growth check also runs on updates of existing keys;
//!   the model only grows on insertions (the coordinator never re-puts a
//!   member under the same key).

mod checker;
mod coordinator;
pub mod hashorder;
mod member;
mod msg;
mod params;

#[cfg(test)]
mod tests;

pub use checker::GlChecker;
pub use coordinator::{Coordinator, GroupState, CLIENT_ID};
pub use member::{Member, MemberState};
pub use msg::{ErrorCode, Msg};
pub use params::GlParams;

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{
    ClientOp, Ctx, Durable, Model, Node, NodeId, Obs, Role, Scope, SimTime, Targeting, Topology,
    View,
};
use crate::systems::{Better, ColumnSpec, GroupSpec, PathInfo, TargetSpec};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "kafka/group-leader",
    system: "kafka",
    summary: "classic consumer group: JoinGroup/SyncGroup rebalances with the initial delayed \
              join, heartbeats and session timeout; the leader is the first joiner, then the \
              first key of the coordinator's member HashMap",
    groups: &[
        GroupSpec {
            name: "members",
            word: "consumer",
            min: 2,
            max: 1000,
            default: None,
            doc: "Consumer group members (Java consumers, dynamic membership).",
        },
        GroupSpec {
            name: "coordinator",
            word: "coordinator",
            min: 1,
            max: 1,
            default: Some(1),
            doc: "The broker coordinating the group. Do not fault it: coordinator failover is \
                  not modelled.",
        },
    ],
    params: params::SPECS,
    targets: &[
        TargetSpec {
            word: "group-leader",
            takes_number: false,
            doc: "The member the coordinator currently names group leader.",
        },
        TargetSpec {
            word: "member",
            takes_number: false,
            doc: "A random live member that is not the group leader.",
        },
    ],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<GroupLeader>,
};

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::lower_ms(
        "rebalance_ms",
        "The stop-the-world window of the first rebalance after the fault: from the first \
         member's revocation (it learnt of the rebalance and rejoins) until every member of \
         the new generation has its assignment.",
    ),
    ColumnSpec::lower_ms(
        "leader_selected_ms",
        "From the fault to the coordinator choosing a new group leader (the first key of its \
         member map when the leader is removed); empty when the leader did not change.",
    ),
    ColumnSpec {
        name: "generations",
        unit: "count",
        better: Better::Lower,
        doc: "Generations (completed join phases) from the fault to the end of the trial.",
    },
];

/// The path's columns from a trial's records (see [`COLUMNS`]).
fn columns_of(out: &SimOutput) -> Vec<Option<f64>> {
    let mut cols = vec![None; COLUMNS.len()];
    let Some(fault) = out.faults.iter().find(|f| f.applied) else {
        return cols;
    };
    let t0 = fault.at;
    let ms = |a: SimTime| Some(a.since(t0).as_ms_f64());
    let after = || out.records.iter().filter(move |r| r.at >= t0);
    let phase = |r: &crate::engine::sim::Record, want: &str| matches!(r.obs, Obs::Phase { name, .. } if name == want);
    if let Some(r) = after().find(|r| phase(r, "leader-chosen")) {
        cols[1] = ms(r.at);
    }
    let gens: std::collections::BTreeSet<u64> = after()
        .filter_map(|r| match r.obs {
            Obs::Elected { term, .. } => Some(term),
            _ => None,
        })
        .collect();
    cols[2] = Some(gens.len() as f64);
    // rebalance_ms: the first revocation, the generation completed after
    // it, and that generation's last assignment.
    let Some(start) = after().find(|r| phase(r, "revoke")).map(|r| r.at) else {
        return cols;
    };
    let Some(generation) = out.records.iter().find_map(|r| match r.obs {
        Obs::Elected { term, .. } if r.at >= start => Some(term),
        _ => None,
    }) else {
        return cols;
    };
    let size = out
        .records
        .iter()
        .filter(|r| matches!(r.obs, Obs::ElectionRound { term, .. } if term == generation))
        .count();
    let assigned: Vec<SimTime> = out
        .records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Serving { term, .. } if term == generation))
        .map(|r| r.at)
        .collect();
    if size > 0 && assigned.len() == size {
        let end = *assigned.iter().max().expect("non-empty");
        cols[0] = Some(end.since(start).as_ms_f64());
    }
    cols
}

/// Timers of the coordinator, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordTimer {
    /// The pending `DelayedJoin` / `InitialDelayedJoin`.
    Join,
    /// The heartbeat deadline of the member on this node.
    Expire(NodeId),
    /// The pending-sync deadline of the current generation.
    PendingSync,
    /// A MEMBER_ID_REQUIRED id handed to this node expires.
    PendingMember(NodeId),
}

/// Timers of a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberTimer {
    Heartbeat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    Coord(CoordTimer),
    Member(MemberTimer),
}

/// Facts for [`GlChecker`].
#[derive(Clone, Debug)]
pub enum GlNote {
    /// The coordinator completed a join phase: `generation` led by `leader`.
    GenerationLeader {
        /// The coordinator's incarnation (a restarted coordinator starts
        /// its generations again).
        coordinator: u32,
        generation: u32,
        leader: NodeId,
        members: u32,
    },
    /// `member` got its JoinGroup answer of `generation` naming `leader`.
    Joined {
        coordinator: u32,
        member: NodeId,
        generation: u32,
        leader: NodeId,
    },
}

/// `storeGroup`: the group's assignment of `generation`, appended to
/// `__consumer_offsets`.
#[derive(Clone, Debug)]
pub struct GroupWrite {
    pub generation: u32,
}

/// What the coordinator has stored (only read for the disk model's cost).
#[derive(Clone, Debug, Default)]
pub struct GroupLog {
    pub generation: u32,
}

impl Durable for GroupLog {
    type Write = GroupWrite;

    fn apply(&mut self, w: &GroupWrite) {
        self.generation = self.generation.max(w.generation);
    }

    fn bytes(_: &GroupWrite) -> u64 {
        // A group metadata record with its members' assignments: about 1 KB.
        1024
    }
}

/// A member, the coordinator, or a load-generator client (which this path
/// does not use: give `[clients] count = 0`).
#[derive(Clone, Debug)]
pub enum GlNode {
    Member(Box<Member>),
    Coordinator(Box<Coordinator>),
    Client,
}

impl GlNode {
    pub fn coordinator(&self) -> Option<&Coordinator> {
        match self {
            GlNode::Coordinator(c) => Some(c),
            _ => None,
        }
    }

    pub fn member(&self) -> Option<&Member> {
        match self {
            GlNode::Member(m) => Some(m),
            _ => None,
        }
    }
}

impl Node for GlNode {
    type Msg = Msg;
    type Timer = Timer;
    type Note = GlNote;
    type Durable = GroupLog;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let GlNode::Member(m) = self {
            m.on_start(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            GlNode::Member(m) => m.on_message(ctx, msg),
            GlNode::Coordinator(c) => c.on_message(ctx, from, msg),
            GlNode::Client => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match (self, timer) {
            (GlNode::Member(m), Timer::Member(t)) => m.on_timer(ctx, t),
            (GlNode::Coordinator(c), Timer::Coord(t)) => c.on_timer(ctx, t),
            _ => {}
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        // No data path in this model.
        ctx.record(Obs::OpDone { op, ok: false });
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        if let GlNode::Coordinator(c) = self {
            c.on_link_reset(ctx, peer);
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, w: GroupWrite) {
        if let GlNode::Coordinator(c) = self {
            c.on_persisted(ctx, w);
        }
    }

    fn durable(&self) -> GroupLog {
        GroupLog {
            generation: self.coordinator().map_or(0, Coordinator::stored),
        }
    }

    fn view(&self) -> View {
        match self {
            GlNode::Member(m) => m.view(),
            GlNode::Coordinator(c) => c.view(),
            GlNode::Client => View {
                role: Role::Client,
                term: 0,
                leader: None,
                serving: false,
            },
        }
    }
}

/// The `kafka/group-leader` model of one sweep point.
#[derive(Clone, Debug)]
pub struct GroupLeader {
    pub members: usize,
    pub params: GlParams,
}

impl GroupLeader {
    pub fn new(members: usize, params: GlParams) -> Self {
        GroupLeader { members, params }
    }

    /// The coordinator's node id (after the members).
    pub fn coordinator(&self) -> NodeId {
        NodeId(self.members as u32)
    }
}

impl crate::runner::FromWorkload for GroupLeader {
    fn from_workload(w: &Workload) -> Self {
        GroupLeader::new(w.topology.sizes()[0], GlParams::from_params(&w.params))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns_of(out)
    }
}

impl Model for GroupLeader {
    type Node = GlNode;
    type Checker = GlChecker;

    fn servers(&self) -> usize {
        self.members + 1
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("members", self.members), ("coordinator", 1)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<GlNode>, GlChecker) {
        let mut nodes: Vec<GlNode> = (0..self.members)
            .map(|_| {
                GlNode::Member(Box::new(Member::new(
                    self.params.clone(),
                    self.coordinator(),
                )))
            })
            .collect();
        nodes.push(GlNode::Coordinator(Box::new(Coordinator::new(
            self.params.clone(),
        ))));
        nodes.extend((0..clients).map(|_| GlNode::Client));
        (nodes, GlChecker::new())
    }

    fn recover(&self, id: NodeId, _durable: &GroupLog) -> GlNode {
        if id == self.coordinator() {
            GlNode::Coordinator(Box::new(Coordinator::new(self.params.clone())))
        } else {
            GlNode::Member(Box::new(Member::new(
                self.params.clone(),
                self.coordinator(),
            )))
        }
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, GlNode>) -> Option<(usize, Scope)> {
        let leader = || {
            t.nodes[self.coordinator().index()]
                .coordinator()
                .and_then(Coordinator::leader_node)
                .map(NodeId::index)
        };
        match target {
            Target::Path {
                word: "group-leader",
                ..
            } => {
                let l = leader()?;
                t.up[l].then_some((l, Scope::Whole))
            }
            Target::Path { word: "member", .. } => {
                let l = leader();
                t.random_live(0..self.members, l).map(|i| (i, Scope::Whole))
            }
            other => t.common(other).map(|i| (i, Scope::Whole)),
        }
    }
}
