//! `kafka/group-leader`: the classic consumer-group protocol's group leader
//! and rebalances, as the group coordinator (the broker that leads the
//! group's `__consumer_offsets` partition) runs them for M consumer members,
//! and the coordinator's failover to another broker when that one dies.
//!
//! Follows `PROTOCOLS.md` §2.7 and §2.9, read against apache/kafka's classic
//! coordinator — the one ZooKeeper-mode brokers always use —
//! `core/src/main/scala/kafka/coordinator/group/GroupCoordinator.scala`,
//! `GroupMetadata.scala`, `MemberMetadata.scala`, `DelayedJoin.scala`
//! (`DelayedJoin`, `InitialDelayedJoin`), `GroupMetadataManager.scala`
//! (`partitionFor`, `storeGroup`, `scheduleLoadGroupAndOffsets`,
//! `loadGroup`), and the Java consumer's `AbstractCoordinator.java` (the
//! heartbeat thread, FindCoordinator, `markCoordinatorUnknown`),
//! `Heartbeat.java` and `ConsumerCoordinator.java` (apache/kafka 1eb7644).
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
//!   reset, so faults need `host_alive = true`), either one on the leader,
//!   and the coordinator's broker (target `coordinator`). A restarted member
//!   is a new process: it looks the coordinator up and joins with a new id.
//! * **Coordinator failover** (`broker.rs`). B brokers (`brokers`, default
//!   3). The coordinator is the leader of partition
//!   `Utils.abs("electbench".hashCode) % offsets.topic.num.partitions` (41
//!   of 50) of `__consumer_offsets` (`partitionFor`), replicated on
//!   `min(offsets.topic.replication.factor, B)` brokers. The group's record
//!   (`storeGroup` after the leader's SyncGroup: generation, leader, members
//!   in map order) is written to the coordinator's disk and to every
//!   in-sync follower (acks=-1) before the SyncGroup answers go out; a
//!   fenced follower leaves the ISR and is no longer waited for. Brokers
//!   heartbeat each other every `broker.heartbeat.interval.ms` and fence a
//!   peer not heard from for `broker.session.timeout.ms`: this is the KRaft
//!   controller's rule (BrokerHeartbeatManager.java,
//!   `maybeFenceOneStaleBroker`), applied by every broker to the heartbeats
//!   it receives, standing for the controller's decision and its metadata
//!   record (whose commit and fetch, a few round trips, are not added;
//!   `kafka/partition-leader` models the controller). When the
//!   coordinator's broker is fenced, the next unfenced replica in
//!   assignment order leads the partition (`onElection`), replays it for
//!   `coordinator.load.ms` (`scheduleLoadGroupAndOffsets`), answering
//!   JoinGroup and SyncGroup with COORDINATOR_LOAD_IN_PROGRESS and Heartbeat
//!   with a blind NONE (`handleHeartbeat`), then loads the group as stored
//!   (`GroupMetadata.loadGroup`: Stable with its members, generation and
//!   leader, the map rebuilt fresh in the record's order) and resets every
//!   member's heartbeat deadline to a full session timeout (`onGroupLoaded`).
//!   So the move itself does **not** rebalance and does not bump the
//!   generation: a rebalance follows only if a member's session runs out on
//!   the new coordinator before the member finds it, or if the old
//!   coordinator had completed a join phase whose record it never stored.
//!   A broker that does not lead the partition answers NOT_COORDINATOR.
//! * The member side (`member.rs`, `AbstractCoordinator`): the heartbeat
//!   thread marks the coordinator unknown when a heartbeat has been
//!   unanswered for `request.timeout.ms` (the request times out and the
//!   connection closes), when no heartbeat succeeded for
//!   `session.timeout.ms`, on NOT_COORDINATOR, or at once when the
//!   coordinator's connection is reset (its process died on a live host).
//!   It then sends FindCoordinator to a broker (rotating from member index
//!   mod B, skipping brokers known unreachable) and retries every
//!   `retry.backoff.ms` while the answer is COORDINATOR_NOT_AVAILABLE or
//!   names a broker whose connection is refused; a broker that stopped
//!   answering costs `socket.connection.setup.timeout.ms` per new connection
//!   attempt. Discovery resets the session timer (`resetSessionTimeout`); a
//!   Stable member then heartbeats at once, one in a rebalance joins again.
//!   JoinGroup or SyncGroup answered COORDINATOR_LOAD_IN_PROGRESS is retried
//!   after `retry.backoff.ms`.
//!
//! Simplifications:
//! * One group; members start knowing their coordinator (the first
//!   FindCoordinator is not modelled). With one broker (`[topology] brokers
//!   = 1`) the coordinator cannot move and a crashed one comes back empty.
//! * Replica placement is round robin from broker `partition mod B` (the
//!   controller's placer is rack-aware and starts at a random broker); the
//!   ISR is every unfenced replica (a follower rejoins the ISR as soon as it
//!   is heard from again, and has the record by then only if it was
//!   replicated to it); no preferred-leader rebalance moves the coordinator
//!   back. A restarted broker knows no leader until a peer's heartbeat
//!   tells it; if that names it (it was not fenced yet), it loads its own
//!   copy of the log. The old coordinator's parked JoinGroup/SyncGroup
//!   answers on resignation (`onGroupUnloaded`) are not sent.
//! * Offsets and their commits are not modelled: the load time is the
//!   parameter `coordinator.load.ms`, not derived from the partition's
//!   content; records are ~1 KB for the disk model whatever the group size.
//! * Client timeouts are checked at the heartbeat thread's turns (every
//!   `heartbeat.interval.ms`), so a heartbeat times out at the first turn at
//!   least `request.timeout.ms` after it was sent (exact with the
//!   defaults: 30000 is 10 intervals). JoinGroup and SyncGroup have no
//!   request timeout: a member parked in one when the coordinator's host
//!   dies (no connection reset) waits; a reset is noticed. The heartbeat's
//!   retry backoff is fixed (the client's is exponential up to
//!   `retry.backoff.max.ms`); FindCoordinator goes to one broker at a time
//!   (`leastLoadedNode` is approximated by the rotation).
//! * Dynamic members only (no `group.instance.id`); one protocol
//!   (`range`), so protocol selection is not modelled; the assignment is
//!   computed instantly; no offset commits; every member starts at time 0.
//! * A member heartbeats only when Stable (the real heartbeat thread also
//!   runs during a rebalance, but a member parked in JoinGroup/SyncGroup
//!   cannot expire, so the outcome is the same).
//! * `max.poll.interval.ms` only sets the rebalance timeout: members poll
//!   on time, so the client-side poll timeout never fires.
//! * The Scala map's growth check also runs on updates of existing keys;
//!   the model only grows on insertions (the coordinator never re-puts a
//!   member under the same key).

mod broker;
mod checker;
mod coordinator;
pub mod hashorder;
mod member;
mod msg;
mod params;

#[cfg(test)]
mod tests;

pub use broker::{Broker, BrokerRole};
pub use checker::GlChecker;
pub use coordinator::{Coordinator, GroupState, CLIENT_ID};
pub use member::{Member, MemberState};
pub use msg::{ErrorCode, GroupRecord, Msg};
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
              first key of the coordinator's member HashMap; the coordinator moves with its \
              __consumer_offsets partition when its broker dies",
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
            name: "brokers",
            word: "broker",
            min: 1,
            max: 64,
            default: Some(3),
            doc: "Brokers. The group's coordinator is the leader of its __consumer_offsets \
                  partition, replicated on offsets.topic.replication.factor of them; with one \
                  broker the coordinator cannot move.",
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
        TargetSpec {
            word: "coordinator",
            takes_number: false,
            doc: "The broker that is the group's coordinator (leads, or is loading, the \
                  group's __consumer_offsets partition).",
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
    ColumnSpec::lower_ms(
        "coordinator_failover_ms",
        "After a coordinator move: from the fault until every member that was not faulted has \
         had a heartbeat answered NONE by a coordinator that loaded the group (not the blind \
         NONE of one still loading); empty when the coordinator did not move or some member \
         never got there.",
    ),
];

/// The path's columns from a trial's records (see [`COLUMNS`]), for a
/// group of `members` members (nodes `0..members`).
fn columns_of(out: &SimOutput, members: usize) -> Vec<Option<f64>> {
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
    cols[3] = coordinator_failover(out, t0, members);
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

/// `coordinator_failover_ms`: the fault to the last first-good-heartbeat of
/// a moved coordinator among the members no fault hit.
fn coordinator_failover(out: &SimOutput, t0: SimTime, members: usize) -> Option<f64> {
    let faulted: Vec<usize> = out
        .faults
        .iter()
        .filter(|f| f.applied)
        .filter_map(|f| f.node)
        .map(NodeId::index)
        .collect();
    let mut last = None;
    for m in (0..members).filter(|m| !faulted.contains(m)) {
        let served = out.records.iter().find(|r| {
            r.at >= t0
                && r.node.index() == m
                && matches!(
                    r.obs,
                    Obs::Phase {
                        name: "coordinator-serving",
                        ..
                    }
                )
        })?;
        last = last.max(Some(served.at));
    }
    last.map(|at| at.since(t0).as_ms_f64())
}

/// Timers of the coordinator, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordTimer {
    /// The pending `DelayedJoin` / `InitialDelayedJoin`.
    Join,
    /// The heartbeat deadline of the member with this insertion number
    /// (a restarted process on the same node joins under a new id while
    /// its old id is still in the group).
    Expire(u64),
    /// The pending-sync deadline of the current generation.
    PendingSync,
    /// A MEMBER_ID_REQUIRED id handed to this node expires.
    PendingMember(NodeId),
}

/// Timers of a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberTimer {
    /// The heartbeat thread's next turn.
    Heartbeat,
    /// `retry.backoff.ms` after a failed lookup or a retriable error.
    Retry,
    /// The FindCoordinator in flight timed out (`request.timeout.ms`).
    FindTimeout,
    /// The connection attempt to the coordinator timed out
    /// (`socket.connection.setup.timeout.ms`).
    ConnectFailed,
}

/// Timers of a broker outside its coordinator role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerTimer {
    /// Send the next heartbeat (`broker.heartbeat.interval.ms`).
    Heartbeat,
    /// This peer's session ends (`broker.session.timeout.ms`).
    Fence(NodeId),
    /// `scheduleLoadGroupAndOffsets` is done (`coordinator.load.ms`).
    LoadDone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    Coord(CoordTimer),
    Member(MemberTimer),
    Broker(BrokerTimer),
}

/// Facts for [`GlChecker`].
#[derive(Clone, Debug)]
pub enum GlNote {
    /// The coordinator completed a join phase: `generation` led by `leader`.
    GenerationLeader {
        /// The coordinator's node and incarnation (a restarted coordinator
        /// starts its generations again).
        coordinator: (NodeId, u32),
        generation: u32,
        leader: NodeId,
        members: u32,
    },
    /// `member` got its JoinGroup answer of `generation` naming `leader`.
    Joined {
        coordinator: (NodeId, u32),
        member: NodeId,
        generation: u32,
        leader: NodeId,
    },
    /// A `storeGroup` of `generation` led by `leader` completed (on the
    /// coordinator's disk and acknowledged by every in-sync follower).
    Stored { generation: u32, leader: NodeId },
}

/// `storeGroup`: the group's record after a SyncGroup, appended to
/// `__consumer_offsets`.
#[derive(Clone, Debug)]
pub struct GroupWrite {
    pub record: GroupRecord,
}

/// A broker's copy of the group's `__consumer_offsets` partition: the last
/// group record (compaction keeps only the newest per group).
#[derive(Clone, Debug, Default)]
pub struct GroupLog {
    pub record: Option<GroupRecord>,
}

impl Durable for GroupLog {
    type Write = GroupWrite;

    fn apply(&mut self, w: &GroupWrite) {
        if self
            .record
            .as_ref()
            .is_none_or(|r| r.generation <= w.record.generation)
        {
            self.record = Some(w.record.clone());
        }
    }

    fn bytes(_: &GroupWrite) -> u64 {
        // A group metadata record with its members' assignments: about 1 KB.
        1024
    }
}

/// A member, a broker, or a load-generator client (which this path does not
/// use: give `[clients] count = 0`).
#[derive(Clone, Debug)]
pub enum GlNode {
    Member(Box<Member>),
    Broker(Box<Broker>),
    Client,
}

impl GlNode {
    /// The group state, on the broker that coordinates the group.
    pub fn coordinator(&self) -> Option<&Coordinator> {
        self.broker().and_then(Broker::coordinator)
    }

    pub fn broker(&self) -> Option<&Broker> {
        match self {
            GlNode::Broker(b) => Some(b),
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
        match self {
            GlNode::Member(m) => m.on_start(ctx),
            GlNode::Broker(b) => b.on_start(ctx),
            GlNode::Client => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            GlNode::Member(m) => m.on_message(ctx, from, msg),
            GlNode::Broker(b) => b.on_message(ctx, from, msg),
            GlNode::Client => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match (self, timer) {
            (GlNode::Member(m), Timer::Member(t)) => m.on_timer(ctx, t),
            (GlNode::Broker(b), t) => b.on_timer(ctx, t),
            _ => {}
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        // No data path in this model.
        ctx.record(Obs::OpDone { op, ok: false });
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        match self {
            GlNode::Member(m) => m.on_link_reset(ctx, peer),
            GlNode::Broker(b) => b.on_link_reset(ctx, peer),
            GlNode::Client => {}
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, w: GroupWrite) {
        if let GlNode::Broker(b) = self {
            b.on_persisted(ctx, w);
        }
    }

    fn durable(&self) -> GroupLog {
        self.broker().map(|b| b.log().clone()).unwrap_or_default()
    }

    fn view(&self) -> View {
        match self {
            GlNode::Member(m) => m.view(),
            GlNode::Broker(b) => b.view(),
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
    pub brokers: usize,
    pub params: GlParams,
}

/// The consumer group's id (`group.id`); `CLIENT_ID` is derived from it.
pub const GROUP_ID: &str = "electbench";

impl GroupLeader {
    /// A group of `members` members coordinated by one broker (the
    /// coordinator cannot move).
    pub fn new(members: usize, params: GlParams) -> Self {
        GroupLeader::with_brokers(members, 1, params)
    }

    pub fn with_brokers(members: usize, brokers: usize, params: GlParams) -> Self {
        GroupLeader {
            members,
            brokers,
            params,
        }
    }

    /// The broker nodes (after the members).
    pub fn broker_nodes(&self) -> Vec<NodeId> {
        (0..self.brokers)
            .map(|b| NodeId((self.members + b) as u32))
            .collect()
    }

    /// `partitionFor(group.id)`: `Utils.abs(groupId.hashCode) % partitions`
    /// (`Utils.abs` maps `Integer.MIN_VALUE` to 0).
    pub fn partition(&self) -> u32 {
        let h = hashorder::java_string_hash(GROUP_ID);
        let abs = if h == i32::MIN { 0 } else { h.unsigned_abs() };
        abs % self.params.offsets_partitions
    }

    /// The partition's replicas, preferred leader first: brokers
    /// `p mod B, p+1 mod B, ...`, replication factor capped by B (a
    /// round-robin stand-in for the controller's replica placement).
    pub fn replicas(&self) -> Vec<NodeId> {
        let b = self.brokers;
        let rf = self.params.offsets_replication.min(b);
        let first = self.partition() as usize % b;
        let nodes = self.broker_nodes();
        (0..rf).map(|i| nodes[(first + i) % b]).collect()
    }

    /// The coordinator when the trial starts: the preferred replica.
    pub fn coordinator(&self) -> NodeId {
        self.replicas()[0]
    }

    fn member(&self, index: usize) -> Member {
        Member::new(
            self.params.clone(),
            self.broker_nodes(),
            self.coordinator(),
            index,
        )
    }

    fn broker(&self, log: GroupLog, restarted: bool) -> Broker {
        Broker::new(
            self.params.clone(),
            self.broker_nodes(),
            self.replicas(),
            log,
            restarted,
        )
    }

    /// The live broker that coordinates the group or is loading it.
    fn current_coordinator(&self, t: &Targeting<'_, GlNode>) -> Option<usize> {
        (self.members..self.members + self.brokers)
            .find(|&i| t.up[i] && t.nodes[i].broker().is_some_and(Broker::leads))
    }
}

impl crate::runner::FromWorkload for GroupLeader {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        GroupLeader::with_brokers(sizes[0], sizes[1], GlParams::from_params(&w.params))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns_of(out, self.members)
    }
}

impl Model for GroupLeader {
    type Node = GlNode;
    type Checker = GlChecker;

    fn servers(&self) -> usize {
        self.members + self.brokers
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("members", self.members), ("brokers", self.brokers)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<GlNode>, GlChecker) {
        let mut nodes: Vec<GlNode> = (0..self.members)
            .map(|i| GlNode::Member(Box::new(self.member(i))))
            .collect();
        nodes.extend(
            (0..self.brokers)
                .map(|_| GlNode::Broker(Box::new(self.broker(GroupLog::default(), false)))),
        );
        nodes.extend((0..clients).map(|_| GlNode::Client));
        (nodes, GlChecker::new())
    }

    fn recover(&self, id: NodeId, durable: &GroupLog) -> GlNode {
        if id.index() >= self.members {
            GlNode::Broker(Box::new(self.broker(durable.clone(), true)))
        } else {
            // A new consumer process: it looks its coordinator up first.
            let mut m = self.member(id.index());
            m.coordinator = None;
            GlNode::Member(Box::new(m))
        }
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, GlNode>) -> Option<(usize, Scope)> {
        let leader = |t: &Targeting<'_, GlNode>| {
            self.current_coordinator(t)
                .and_then(|c| t.nodes[c].coordinator())
                .and_then(Coordinator::leader_node)
                .map(NodeId::index)
        };
        match target {
            Target::Path {
                word: "group-leader",
                ..
            } => {
                let l = leader(t)?;
                t.up[l].then_some((l, Scope::Whole))
            }
            Target::Path { word: "member", .. } => {
                let l = leader(t);
                t.random_live(0..self.members, l).map(|i| (i, Scope::Whole))
            }
            Target::Path {
                word: "coordinator",
                ..
            } => self.current_coordinator(t).map(|i| (i, Scope::Whole)),
            other => t.common(other).map(|i| (i, Scope::Whole)),
        }
    }
}
