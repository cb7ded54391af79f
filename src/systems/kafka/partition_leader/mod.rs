//! `kafka/partition-leader`: per-partition leader election by the
//! controller, ISR replication with producer acks, and the acknowledged
//! writes each configuration loses, over B brokers and up to millions of
//! partitions.
//!
//! Follows `PROTOCOLS.md` §2.3, §2.5, §2.6, §2.8–§2.10, read against
//! apache/kafka: `PartitionStateMachine.scala`
//! (`PartitionLeaderElectionAlgorithms`), `Election.scala`,
//! `KafkaController.scala` (`onBrokerFailure`, `onReplicasBecomeOffline`,
//! `checkAndTriggerAutoLeaderRebalance`), `ReplicaStateMachine.scala`,
//! `PartitionChangeBuilder.java`, `ReplicationControlManager.java`
//! (`handleBrokerFenced`), `BrokerHeartbeatManager.java`,
//! `Partition.scala` (`maybeShrinkIsr`, `maybeExpandIsr`,
//! `maybeIncrementLeaderHW`, `makeLeader`), `Replica.scala`
//! (`updateFetchStateOrThrow`, `isCaughtUp`), `ReplicaManager.scala`,
//! `AbstractFetcherThread.scala` (truncation by leader epoch) and the
//! producer's `Sender.java` / `Metadata.java`.
//!
//! Nodes: `brokers` (ids 0..B), one `controller`, then the producers (the
//! workload's clients).
//!
//! What is modelled:
//! * **Partitions are data.** Replicas are assigned round robin as
//!   `controller_zk/cost.rs` does it (`layout.rs`); the controller holds
//!   leader, leader epoch, partition epoch and ISR (a bit mask over the
//!   assignment) in flat vectors indexed by partition; each broker holds
//!   the same four numbers for every replica it hosts. Only the partitions
//!   producers write to (`model.partitions-with-traffic`, spread evenly)
//!   have logs; an idle partition's log end is 0 on every replica, so its
//!   followers are always caught up and leave its ISR only through the
//!   controller, as in Kafka (§2.6).
//! * **Detection.** kraft: brokers heartbeat every
//!   `broker.heartbeat.interval.ms`; the controller fences a broker whose
//!   last heartbeat is older than `broker.session.timeout.ms`. zk: the
//!   controller stands in for ZooKeeper: a broker pings every session
//!   timeout / 3, its session expires `zookeeper.session.timeout.ms` after
//!   the last ping rounded up to a `tickTime`, and the broker-change watch
//!   costs two ZooKeeper round trips (notification, reading /brokers/ids).
//!   A restarted broker registers with its incarnation, so a bounce the
//!   controller missed is handled as a failure then a registration.
//! * **Elections** call `elect.rs`: zk mode `elect_offline` (round 1,
//!   partitions the dead broker led) then the OfflineReplica round
//!   (the broker leaves every ISR, a one-member ISR is kept, leader epoch +
//!   1, leader -1 where it still leads); `elect_controlled_shutdown` for a
//!   controlled shutdown; `elect_preferred` for the automatic rebalance.
//!   kraft mode: `kraft_elect` (Online, or Unclean when
//!   `unclean.leader.election.enable`; Preferred for the rebalance) in one
//!   batch that also removes the broker from every ISR (never emptying one).
//!   A registering broker gets the offline election for partitions with no
//!   live leader. `auto_rebalance_candidates` runs every
//!   `leader.imbalance.check.interval.seconds`.
//! * **Controller cost.** The controller works through one event queue:
//!   a batch occupies it for its cost and is published when done. zk mode:
//!   ceil(N / `zookeeper.max.in.flight.requests`) round trips of
//!   `model.zk-request-ms` for N conditional partition-state writes
//!   (`cost::pipelined`); kraft mode: `model.kraft-commit-ms` per batch plus
//!   `model.kraft-record-us` per record. Publishing is one message to every
//!   live broker carrying every change (LeaderAndIsr + UpdateMetadata in
//!   zk mode; in kraft mode the brokers' parked metadata fetches answered
//!   at commit).
//! * **Replication** per broker pair, like the real fetcher threads: a
//!   follower sends one Fetch per source broker covering the partitions
//!   with traffic it follows there (each with its log end, the leader epoch
//!   it knows and its last record's epoch); the leader updates each
//!   follower's fetch state (`lastCaughtUpTimeMs` as Replica.scala does),
//!   expands the ISR (LEO >= HW and >= the epoch's start offset), advances
//!   the high watermark to the minimum log end of the maximal ISR (not
//!   while the ISR is below `min.insync.replicas`), answers, or parks the
//!   fetch up to `replica.fetch.wait.max.ms` until new data. Every
//!   `replica.lag.time.max.ms` / 2 the leader proposes dropping followers
//!   not caught up; ISR changes go to the controller as AlterPartition
//!   (KIP-497), which checks leader epoch and partition epoch. A follower
//!   whose last epoch diverges from the leader's epoch history truncates
//!   to the end of the largest common epoch (KIP-101/KIP-595). Failed or
//!   timed-out fetches back off `replica.fetch.backoff.ms`.
//! * **Producers** write round robin over the partitions with traffic, to
//!   the leader their metadata names. acks=0 counts a write as acknowledged
//!   when sent; acks=1 after the leader's append; acks=all when the high
//!   watermark passes it (NOT_ENOUGH_REPLICAS up front when the ISR is
//!   below `min.insync.replicas`). NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_
//!   REPLICAS, a closed connection or `request.timeout.ms` without answer
//!   request a metadata update (from a random broker's metadata cache) and
//!   retry after `retry.backoff.ms` doubling to `retry.backoff.max.ms` with
//!   20 % jitter, until `delivery.timeout.ms`; metadata is also refreshed
//!   every `metadata.max.age.ms`.
//! * **What is lost**: the checker keeps every acknowledged write and at
//!   the end reads the current leader's log of each partition (`checker.rs`).
//!
//! Simplifications (each one on purpose):
//! * The controller is a fixed live process: its own election is
//!   `kafka/controller-zk` and `kafka/controller-kraft`. Do not fault it
//!   (a restarted controller would start from the initial state).
//! * The trial starts with a running cluster: preferred leaders, full ISRs,
//!   empty logs; no start-up election is simulated.
//! * A broker's logs survive its crash (the page cache is taken as intact,
//!   `log.flush.interval.messages` is unbounded in Kafka so nothing is
//!   fsynced); with a non-instant disk model they are lost instead, so keep
//!   the default disk. Power loss of several ISR members is not modelled.
//! * Brokers keep a metadata cache only of the partitions with traffic
//!   (the only ones producers ask about). Applying a delta costs no time.
//! * No leader recovery state (KIP-704), no ELR (KIP-966, off by default),
//!   no KIP-951 leader hints in produce errors (the producer refreshes
//!   metadata instead), no idempotence sequence numbers, no producer
//!   batching or linger: one request per write. Records are write ids, one
//!   offset each.
//! * `broker.stop = controlled` moves leadership when the process exits
//!   (heard through the connection reset) rather than before; the
//!   controlled-shutdown retries are not modelled.
//! * Reassignment (`elect_reassign`) is not driven by any fault or target:
//!   left out.
//! * The auto rebalance builds every partition's state to call
//!   `auto_rebalance_candidates`: at a million partitions that is a few
//!   hundred MB for a moment; the shipped 1M workload ends before the first
//!   check (300 s).
//!
//! Timeline phases: `session-expired` (zk) / `broker-fenced` (kraft) /
//! `controlled-shutdown`, `leaders-committed` (a batch with elections is
//! published), `broker-registered`, `preferred-election`, and per
//! partition `unclean-election` and `producer-new-leader`.

mod broker;
mod checker;
mod controller;
pub mod layout;
pub mod msg;
pub mod params;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use broker::{Broker, Rep};
pub use checker::PlChecker;
pub use controller::Controller;
pub use layout::Layout;
pub use msg::{Entry, Msg};
pub use params::{Acks, Mode, PlParams};
pub use producer::Producer;

mod producer;

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{
    ClientOp, Ctx, Durable, Model, Node, NodeId, Obs, Scope, SimTime, Targeting, Topology, View,
};
use crate::systems::kafka::elect::BrokerId;
use crate::systems::{Better, ColumnSpec, GroupSpec, PathInfo, TargetSpec};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "kafka/partition-leader",
    system: "kafka",
    summary: "per-partition leader election by the controller (zk or kraft), ISR replication \
              with acks, and the acknowledged writes each choice loses",
    groups: &[
        GroupSpec {
            name: "brokers",
            word: "broker",
            min: 1,
            max: 1000,
            default: None,
            doc: "Kafka brokers hosting the partitions' replicas.",
        },
        GroupSpec {
            name: "controller",
            word: "controller",
            min: 1,
            max: 1,
            default: Some(1),
            doc: "The active controller, a fixed live process (its own election is \
                  kafka/controller-zk and kafka/controller-kraft). Do not fault it.",
        },
    ],
    params: params::SPECS,
    targets: &[TargetSpec {
        word: "partition-leader",
        takes_number: true,
        doc: "The broker the controller names leader of partition N; the common columns are \
              then about partition N.",
    }],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<PartitionLeader>,
};

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "affected_partitions",
        unit: "count",
        better: Better::Lower,
        doc: "Partitions the controller gave a new leader after the first fault.",
    },
    ColumnSpec::lower_ms(
        "partition_failover_p50_ms",
        "Median over the affected partitions of the time from the fault until the partition is \
         back: its new leader serves it and, for a partition with traffic, a producer's \
         metadata names that leader.",
    ),
    ColumnSpec::lower_ms(
        "partition_failover_p99_ms",
        "99th percentile (nearest rank) of the same per-partition times.",
    ),
    ColumnSpec::lower_ms(
        "partition_failover_max_ms",
        "Largest of the same per-partition times.",
    ),
    ColumnSpec::lower_ms(
        "all_partitions_back_ms",
        "From the fault until the last affected partition is back; empty if one never came back.",
    ),
    ColumnSpec {
        name: "unclean_elections",
        unit: "count",
        better: Better::Lower,
        doc: "Leaders elected from outside the ISR (unclean.leader.election.enable).",
    },
];

/// The path's columns from a trial's records (see [`COLUMNS`]).
fn columns_of(layout: &Layout, out: &SimOutput) -> Vec<Option<f64>> {
    let mut cols = vec![None; COLUMNS.len()];
    let unclean = out
        .records
        .iter()
        .filter(|r| {
            matches!(
                r.obs,
                Obs::Phase {
                    name: "unclean-election",
                    ..
                }
            )
        })
        .count();
    cols[5] = Some(unclean as f64);
    let Some(fault) = out.faults.iter().find(|f| f.applied) else {
        return cols;
    };
    let t0 = fault.at;
    // Per partition: first election after the fault, then when its new
    // leader served it and when a producer learnt of it after that.
    #[derive(Default)]
    struct Back {
        elected: Option<SimTime>,
        serving: Option<SimTime>,
        producer: Option<SimTime>,
    }
    let mut per: BTreeMap<u32, Back> = BTreeMap::new();
    for r in out.records.iter().filter(|r| r.at >= t0) {
        match r.obs {
            Obs::Elected {
                scope: Scope::Part(p),
                ..
            } => {
                per.entry(p).or_default().elected.get_or_insert(r.at);
            }
            Obs::Serving {
                scope: Scope::Part(p),
                ..
            } => {
                if let Some(b) = per.get_mut(&p) {
                    b.serving.get_or_insert(r.at);
                }
            }
            Obs::Phase {
                name: "producer-new-leader",
                scope: Scope::Part(p),
            } => {
                if let Some(b) = per.get_mut(&p) {
                    b.producer.get_or_insert(r.at);
                }
            }
            _ => {}
        }
    }
    cols[0] = Some(per.len() as f64);
    if per.is_empty() {
        return cols;
    }
    let mut times = Vec::with_capacity(per.len());
    let mut all_back = true;
    for (&p, b) in &per {
        // A partition with traffic is back once a producer knows its new
        // leader too.
        let back = if layout.active_index(p).is_some() {
            b.producer.map(|t| b.serving.map_or(t, |s| s.max(t)))
        } else {
            b.serving
        };
        match back {
            Some(t) => times.push(t.since(t0).0),
            None => all_back = false,
        }
    }
    let q = crate::metrics::nearest_rank(&mut times, &[0.5, 0.99, 1.0]);
    let ms = |v: Option<u64>| v.map(|ns| ns as f64 / 1e6);
    cols[1] = ms(q[0]);
    cols[2] = ms(q[1]);
    cols[3] = ms(q[2]);
    if all_back {
        cols[4] = ms(q[2]);
    }
    cols
}

/// What every node of one trial shares: the parameters and the layout.
#[derive(Debug)]
pub struct Shared {
    pub p: PlParams,
    pub layout: Layout,
}

/// Timers, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Controller: broker `b`'s session / heartbeat deadline.
    Expire(BrokerId),
    /// Controller: batch `n` has cost its time; publish it.
    Publish(u64),
    /// Controller: the leader imbalance check.
    Rebalance,
    /// Broker: heartbeat (kraft) or ZooKeeper ping (zk).
    Heartbeat,
    /// Broker: the ISR expiration check.
    IsrCheck,
    /// Broker: the fetcher to this source broker may fetch again.
    FetchRetry(BrokerId),
    /// Broker: the Fetch to this source broker got no answer.
    FetchTimeout(BrokerId),
    /// Broker: the parked Fetch of this follower is due.
    Park(BrokerId),
    /// Producer: its earliest deadline.
    Wake,
    MetadataTimeout,
    MetadataAge,
}

/// Facts for [`PlChecker`].
#[derive(Clone, Copy, Debug)]
pub enum Note {
    /// The controller changed the leader of `p`.
    Elected {
        p: u32,
        leader: BrokerId,
        leader_epoch: u32,
        /// The ISR it was elected from.
        prior_isr: layout::Mask,
        prior_epoch: u32,
    },
    /// A producer's write to traffic partition `ai` was acknowledged.
    Acked { ai: u32, id: u64 },
    /// A leader proposed to shrink the ISR of `p`.
    IsrShrink { p: u32 },
}

/// One replica's log and its leader epoch cache ((epoch, start offset)).
pub type ReplicaLog = (Vec<Entry>, Vec<(u32, u64)>);

/// A broker's logs of the partitions with traffic.
#[derive(Clone, Debug, Default)]
pub struct BrokerLogs {
    pub logs: Vec<Option<ReplicaLog>>,
}

impl Durable for BrokerLogs {
    type Write = ();
    fn apply(&mut self, _: &()) {}
    fn fsync(_: &()) -> bool {
        false
    }
}

#[derive(Clone, Debug)]
pub enum PlNode {
    Broker(Box<Broker>),
    Controller(Box<Controller>),
    Producer(Box<Producer>),
}

impl PlNode {
    pub fn broker(&self) -> Option<&Broker> {
        match self {
            PlNode::Broker(b) => Some(b),
            _ => None,
        }
    }

    pub fn controller(&self) -> Option<&Controller> {
        match self {
            PlNode::Controller(c) => Some(c),
            _ => None,
        }
    }

    pub fn producer(&self) -> Option<&Producer> {
        match self {
            PlNode::Producer(p) => Some(p),
            _ => None,
        }
    }
}

impl Node for PlNode {
    type Msg = Msg;
    type Timer = Timer;
    type Note = Note;
    type Durable = BrokerLogs;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            PlNode::Broker(b) => b.on_start(ctx),
            PlNode::Controller(c) => c.on_start(ctx),
            PlNode::Producer(p) => p.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            PlNode::Broker(b) => b.on_message(ctx, from, msg),
            PlNode::Controller(c) => c.on_message(ctx, from, msg),
            PlNode::Producer(p) => p.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, t: Timer) {
        match self {
            PlNode::Broker(b) => b.on_timer(ctx, t),
            PlNode::Controller(c) => c.on_timer(ctx, t),
            PlNode::Producer(p) => p.on_timer(ctx, t),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        match self {
            PlNode::Producer(p) => p.on_client(ctx, op),
            _ => ctx.record(Obs::OpDone { op, ok: false }),
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        match self {
            PlNode::Controller(c) => c.on_link_reset(ctx, peer),
            PlNode::Producer(p) => p.on_link_reset(ctx, peer),
            PlNode::Broker(_) => {}
        }
    }

    fn durable(&self) -> BrokerLogs {
        match self {
            PlNode::Broker(b) => b.logs(),
            _ => BrokerLogs::default(),
        }
    }

    fn view(&self) -> View {
        match self {
            PlNode::Broker(b) => b.view(),
            PlNode::Controller(c) => c.view(),
            PlNode::Producer(p) => p.view(),
        }
    }
}

/// The `kafka/partition-leader` model of one sweep point.
#[derive(Clone, Debug)]
pub struct PartitionLeader {
    pub brokers: usize,
    pub sh: Arc<Shared>,
}

impl PartitionLeader {
    pub fn new(brokers: usize, p: PlParams) -> Self {
        let layout = Layout::new(
            brokers as u32,
            p.partitions,
            p.replication_factor,
            p.partitions_with_traffic,
        );
        PartitionLeader {
            brokers,
            sh: Arc::new(Shared { p, layout }),
        }
    }

    /// The controller's node id.
    pub fn controller(&self) -> NodeId {
        NodeId(self.brokers as u32)
    }

    /// The live broker leading the most partitions (lowest id on ties).
    fn busiest(&self, t: &Targeting<'_, PlNode>) -> Option<usize> {
        let c = t.nodes[self.brokers].controller()?;
        let counts = c.leader_counts();
        (0..self.brokers)
            .filter(|&b| t.up[b])
            .max_by_key(|&b| (counts[b], std::cmp::Reverse(b)))
    }
}

impl crate::runner::FromWorkload for PartitionLeader {
    fn from_workload(w: &Workload) -> Self {
        PartitionLeader::new(w.topology.sizes()[0], PlParams::from_params(&w.params))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns_of(&self.sh.layout, out)
    }
}

impl Model for PartitionLeader {
    type Node = PlNode;
    type Checker = PlChecker;

    fn servers(&self) -> usize {
        self.brokers + 1
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("brokers", self.brokers), ("controller", 1)],
        }
    }

    /// Every partition: its leader is a `Scope::Part(p)` word in live.
    fn parts(&self) -> usize {
        self.sh.p.partitions as usize
    }

    fn build(&self, clients: usize) -> (Vec<PlNode>, PlChecker) {
        let empty = BrokerLogs {
            logs: vec![None; self.sh.layout.active.len()],
        };
        let mut nodes: Vec<PlNode> = (0..self.brokers)
            .map(|b| {
                PlNode::Broker(Box::new(Broker::new(
                    Arc::clone(&self.sh),
                    b as u32,
                    &empty,
                    true,
                )))
            })
            .collect();
        nodes.push(PlNode::Controller(Box::new(Controller::new(Arc::clone(
            &self.sh,
        )))));
        nodes.extend(
            (0..clients)
                .map(|i| PlNode::Producer(Box::new(Producer::new(Arc::clone(&self.sh), i)))),
        );
        (nodes, PlChecker::new(Arc::clone(&self.sh)))
    }

    fn recover(&self, id: NodeId, durable: &BrokerLogs) -> PlNode {
        let i = id.index();
        if i < self.brokers {
            let logs = if durable.logs.len() == self.sh.layout.active.len() {
                durable.clone()
            } else {
                BrokerLogs {
                    logs: vec![None; self.sh.layout.active.len()],
                }
            };
            PlNode::Broker(Box::new(Broker::new(
                Arc::clone(&self.sh),
                i as u32,
                &logs,
                false,
            )))
        } else if i == self.brokers {
            PlNode::Controller(Box::new(Controller::new(Arc::clone(&self.sh))))
        } else {
            PlNode::Producer(Box::new(Producer::new(
                Arc::clone(&self.sh),
                i - self.brokers - 1,
            )))
        }
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, PlNode>) -> Option<(usize, Scope)> {
        match *target {
            Target::Leader => self.busiest(t).map(|b| (b, Scope::Whole)),
            Target::Follower => {
                let leader = self.busiest(t);
                t.random_live(0..self.brokers, leader)
                    .map(|b| (b, Scope::Whole))
            }
            Target::Random => t
                .random_live(0..self.brokers, None)
                .map(|b| (b, Scope::Whole)),
            Target::Path {
                word: "partition-leader",
                arg: Some(p),
            } => {
                let c = t.nodes[self.brokers].controller()?;
                let l = *c.leader.get(p as usize)?;
                (l != layout::NO_LEADER && t.up[l as usize]).then_some((l as usize, Scope::Part(p)))
            }
            ref other => t.common(other).map(|i| (i, Scope::Whole)),
        }
    }
}
