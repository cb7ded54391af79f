//! `kafka/controller-zk`: Kafka's ZooKeeper-mode controller election and
//! failover, with the brokers as applications of ZooKeeper sessions on the
//! modelled ensemble of `zookeeper/fle` (FLE, Zab, sessions, ephemerals and
//! watches), reached only through its client API (`zookeeper::fle::app`).
//!
//! Follows `PROTOCOLS.md` §2.1–2.2 and §2.11, read against apache/kafka at
//! 1eb7644: `KafkaController.scala` (`elect`, `onControllerFailover`,
//! `maybeResign`, `processReelect`, `processRegisterBrokerAndReelect`,
//! `processExpire`, `triggerControllerMove`), `KafkaZkClient.scala`
//! (`registerControllerAndIncrementControllerEpoch`,
//! `checkControllerAndEpoch`, `wrapRequestWithControllerEpochCheck`),
//! `ZooKeeperClient.scala` (`handleRequests`' in-flight semaphore,
//! `reinitialize`, `retryRequestUntilConnected`),
//! `ReplicaStateMachine.scala`/`PartitionStateMachine.scala` (`startup`),
//! `ReplicaManager.scala` (`STALE_CONTROLLER_EPOCH`), `ZkConfigs.java`.
//!
//! What is modelled (`broker.rs`):
//! * Start-up (`KafkaServer.startup`): once the session is connected, the
//!   persistent top-level paths, the ephemeral `/brokers/ids/<id>`, then the
//!   controller's Startup: an exists-watch on `/controller`
//!   (`registerZNodeChangeHandlerAndCheckExistence`) and `elect()`.
//! * `elect()` exactly as §2.1: read `/controller` (with a watch, as Kafka's
//!   client sets one on every read of a path with a handler); if a broker is
//!   there, follow it; otherwise read `/controller_epoch` (creating it with
//!   epoch 0 if missing), then one multi: create the ephemeral `/controller`
//!   and set `/controller_epoch` to e+1 if its zkVersion is still v. On
//!   NodeExists/BadVersion `checkControllerAndEpoch` re-reads both and
//!   accepts its own retried success, else `maybeResign`. A request that
//!   loses its connection is re-issued once reconnected
//!   (`retryRequestUntilConnected`), so a lost multi answer is recognised.
//! * Watches: `/controller` deleted → Reelect (`maybeResign` then `elect`);
//!   created or changed → `maybeResign`, which re-arms the watch. Session
//!   Expired → `processExpire` (resign at once), a new session
//!   (`reinitialize`), then `RegisterBrokerAndReelect`. A mere disconnection
//!   changes nothing: requests wait for the connection.
//! * `onControllerFailover` as timeline phases, each recorded when its step
//!   is done: `elect` (the multi succeeded), `initialize_context` (the live
//!   brokers, then every partition's state znode read), `send_update_metadata`
//!   (UpdateMetadata to every live broker), `replica_state_machine`
//!   (LeaderAndIsr to every live broker, then the replicas of dead brokers
//!   removed from their ISRs), `partition_state_machine` (leaders elected
//!   for partitions whose leader died), `active` (= `serving`).
//! * Fencing, real in both places: every controller state write is a multi
//!   whose first op checks `/controller_epoch`'s zkVersion, applied (or
//!   rejected) by the ensemble; brokers reject UpdateMetadata and
//!   LeaderAndIsr whose controller epoch is below the highest they have
//!   seen (`stale_controller_epoch` phase).
//!
//! The cost model (`cost.rs`), and why failover grows with partitions: the
//! live brokers are read one request each through the ensemble; the
//! per-partition bulk of each step is a duration, `ceil(N / in_flight)`
//! round trips (`zookeeper.max.in.flight.requests`, 10), where a round trip
//! is what the controller measured for its own requests in this trial: the
//! mean of every read it made (answered by its server) for a read, the mean
//! of every write it made (through the ensemble's leader and a Zab commit)
//! for a write; a read-then-write of one partition costs both. No
//! `model.*` cost is involved: the figures follow the workload's network and
//! disk. (With 10 requests in flight the real server also queues them; the
//! model does not add that queueing.) `initialize_context` reads the state
//! of every partition (N = `partitions`); `replica_state_machine` reads and
//! conditionally writes every partition with a replica on a dead broker;
//! `partition_state_machine` every partition whose leader died and that has
//! a live replica. Each write step's first batch is one real fenced multi
//! (check `/controller_epoch`, set `/brokers/topics`, which stands for the
//! partition state znodes); the rest of the step is the duration. So 1M
//! partitions cost no more simulated events than 1k.
//!
//! Simplifications:
//! * No topics: partitions are numbered, replicas assigned round-robin
//!   (`cost.rs`); the reads of topic znodes, the per-topic assignment and
//!   deletion state, the admin znodes (reassignment, preferred election) and
//!   the watches `onControllerFailover` registers on them are not modelled;
//!   the controller learns which brokers are live by one exists per broker id
//!   (the real one lists `/brokers/ids`), each leaving an exists-watch that
//!   stands for the broker-change child watch. An active controller acts on
//!   a broker that registers (`onBrokerStartup`: UpdateMetadata to all,
//!   LeaderAndIsr to it; leaders for partitions that had no live replica
//!   are not elected then) or whose registration goes
//!   (`onBrokerFailure`: its leaders re-elected and its replicas removed
//!   from ISRs, one fenced write step); changes during its failover are
//!   acted on once it is active. At a cold start the first controller finds
//!   the brokers that register after its read dead and rewrites their ISRs,
//!   as the real one does. The brokers' own ISR shrink and expansion
//!   (`replica.lag.time.max.ms`) are not modelled.
//! * Requests to brokers are one message per broker per request kind
//!   (LeaderAndIsr carries the count of partitions the broker replicates),
//!   sent at once; the per-broker `RequestSendThread` queue, its responses,
//!   retries and `controller.socket.timeout.ms` are not modelled, nor any
//!   time a broker takes to apply them.
//! * The controller's CPU time (deserialising a million znodes, building
//!   requests) is not modelled; only ZooKeeper round trips are.
//! * A zombie: the real controller thread blocked in a ZooKeeper call
//!   learns of its expired session from that call; here a write outstanding
//!   when `Expired` arrives is recorded as abandoned (never applied: the
//!   session that sent it is gone). A zombie paused while idle sends
//!   nothing after it resumes (nothing drives it), so it is fenced only by
//!   its session; one paused during its failover work goes on with it when
//!   it resumes, and its requests are rejected by the brokers.
//! * Brokers have no durable state: a restarted broker is a fresh process
//!   with a new session.

pub mod broker;
pub mod checker;
pub mod cost;
pub mod msg;
pub mod params;
pub mod zk;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use broker::{Broker, Cluster};
pub use checker::KafkaChecker;
pub use params::KafkaParams;

use std::sync::Arc;

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{
    Checker, Findings, Model, Node, NodeId, Obs, Role, Scope, SimTime, Targeting, Topology,
};
use crate::systems::zookeeper::fle::{AppHost, Client, Server, ZkChecker, ZkDurable, ZkNode};
use crate::systems::zookeeper::fle::{ZkNote, ZkParams};
use crate::systems::{Better, ColumnSpec, GroupSpec, Params, PathInfo, TargetSpec};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "kafka/controller-zk",
    system: "kafka",
    summary: "brokers race to create the ephemeral /controller znode and bump \
              /controller_epoch; the new controller loads every partition's state",
    groups: &[
        GroupSpec {
            name: "zookeeper",
            word: "zookeeper",
            min: 1,
            max: 255,
            default: Some(3),
            doc: "The ZooKeeper ensemble (zookeeper/fle's servers): node ids 1..=N.",
        },
        GroupSpec {
            name: "brokers",
            word: "broker",
            min: 1,
            max: 1000,
            default: Some(3),
            doc: "Kafka brokers, each a ZooKeeper client process; broker.id = position - 1.",
        },
    ],
    params: &params::SPECS,
    targets: &[TargetSpec {
        word: "controller",
        takes_number: false,
        doc: "The live broker that believes it is the controller, of the highest controller \
              epoch. `leader` is the ZooKeeper ensemble's leader.",
    }],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<KafkaZk>,
};

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::lower_ms(
        "controller_elected_ms",
        "From the fault to the first broker's election multi succeeding after it (`elect`).",
    ),
    ColumnSpec::lower_ms(
        "controller_active_ms",
        "From the fault to that controller finishing onControllerFailover (`active`): it can \
         elect partition leaders.",
    ),
    ColumnSpec::lower_ms(
        "metadata_load_ms",
        "That controller's initializeControllerContext: from `elect` to `initialize_context`.",
    ),
    ColumnSpec {
        name: "fenced_writes",
        unit: "count",
        better: Better::Higher,
        doc: "Controller state writes after the fault that ZooKeeper did not apply: the \
              /controller_epoch check failed, the session had expired, or the session \
              expired while the write was outstanding.",
    },
    ColumnSpec {
        name: "stale_epoch_rejects",
        unit: "count",
        better: Better::Higher,
        doc: "Controller requests (UpdateMetadata, LeaderAndIsr) brokers rejected after the \
              fault for a controller epoch older than one they had seen.",
    },
];

/// The path's columns of a trial; see [`COLUMNS`].
fn columns(out: &SimOutput, zk_servers: usize) -> Vec<Option<f64>> {
    let Some(t0) = out.faults.iter().find(|f| f.applied).map(|f| f.at) else {
        return vec![None; COLUMNS.len()];
    };
    let is_broker = |n: NodeId| n.index() >= zk_servers;
    let ms = |t: SimTime| t.since(t0).as_ms_f64();
    // The newest controller epoch before the fault.
    let before = out
        .records
        .iter()
        .filter(|r| r.at < t0 && is_broker(r.node))
        .filter_map(|r| match r.obs {
            Obs::Elected { term, .. } => Some(term),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let elected = out.records.iter().find_map(|r| match r.obs {
        Obs::Elected { term, .. } if r.at >= t0 && is_broker(r.node) && term > before => {
            Some((r.at, r.node, term))
        }
        _ => None,
    });
    let active = elected.and_then(|(_, node, term)| {
        out.records.iter().find_map(|r| match r.obs {
            Obs::Serving { term: t, .. } if r.node == node && t == term && r.at >= t0 => Some(r.at),
            _ => None,
        })
    });
    let loaded = elected.and_then(|(at, node, _)| {
        out.records
            .iter()
            .find(|r| {
                r.node == node
                    && r.at >= at
                    && matches!(
                        r.obs,
                        Obs::Phase {
                            name: "initialize_context",
                            ..
                        }
                    )
            })
            .map(|r| r.at.since(at).as_ms_f64())
    });
    let count = |want: &str| {
        out.records
            .iter()
            .filter(|r| r.at >= t0 && matches!(r.obs, Obs::Phase { name, .. } if name == want))
            .count() as f64
    };
    vec![
        elected.map(|e| ms(e.0)),
        active.map(ms),
        loaded,
        Some(count("write_fenced")),
        Some(count("stale_controller_epoch")),
    ]
}

/// The ensemble's checker for its own notes, [`KafkaChecker`] for the
/// brokers'.
#[derive(Debug, Default)]
pub struct KzChecker {
    zk: ZkChecker,
    kafka: KafkaChecker,
}

impl Checker<ZkNode<Broker>> for KzChecker {
    fn on_record(
        &mut self,
        now: SimTime,
        node: NodeId,
        obs: &Obs<ZkNote<msg::KafkaNote>>,
        nodes: &[ZkNode<Broker>],
    ) -> Option<String> {
        if let Obs::Note(ZkNote::App(n)) = obs {
            return self.kafka.on_note(now, n);
        }
        self.zk.on_record(now, node, obs, nodes)
    }

    /// Kafka's notes never read `nodes`; ZooKeeper's as [`ZkChecker`] says.
    fn reads_nodes(&self, obs: &Obs<ZkNote<msg::KafkaNote>>) -> bool {
        !matches!(obs, Obs::Note(ZkNote::App(_)))
            && <ZkChecker as Checker<ZkNode<Broker>>>::reads_nodes(&self.zk, obs)
    }

    fn finish(&mut self, nodes: &[ZkNode<Broker>], up: &[bool]) -> Findings {
        self.zk.finish(nodes, up)
    }
}

/// The `kafka/controller-zk` model of one sweep point.
#[derive(Clone, Debug)]
pub struct KafkaZk {
    pub zk_servers: usize,
    pub zk: ZkParams,
    pub cluster: Arc<Cluster>,
}

impl KafkaZk {
    pub fn new(zk_servers: usize, brokers: usize, params: &Params) -> Self {
        KafkaZk {
            zk_servers,
            zk: params::zk_params(params, zk_servers),
            cluster: Arc::new(Cluster {
                params: KafkaParams::from_params(params),
                nodes: (zk_servers..zk_servers + brokers)
                    .map(|i| NodeId(i as u32))
                    .collect(),
            }),
        }
    }

    pub fn brokers(&self) -> usize {
        self.cluster.nodes.len()
    }

    fn broker(&self, id: u32) -> ZkNode<Broker> {
        ZkNode::App(Box::new(AppHost::new(
            Broker::new(id, self.cluster.clone()),
            self.zk_servers,
            &self.zk,
        )))
    }
}

impl crate::runner::FromWorkload for KafkaZk {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        KafkaZk::new(sizes[0], sizes[1], &w.params)
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns(out, self.zk_servers)
    }
}

impl Model for KafkaZk {
    type Node = ZkNode<Broker>;
    type Checker = KzChecker;

    fn servers(&self) -> usize {
        self.zk_servers + self.brokers()
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("zookeeper", self.zk_servers), ("brokers", self.brokers())],
        }
    }

    fn build(&self, clients: usize) -> (Vec<Self::Node>, KzChecker) {
        let mut nodes: Vec<Self::Node> = (0..self.zk_servers)
            .map(|i| {
                ZkNode::Server(Box::new(Server::new(
                    NodeId(i as u32),
                    self.zk_servers,
                    self.zk.clone(),
                )))
            })
            .collect();
        nodes.extend((0..self.brokers() as u32).map(|b| self.broker(b)));
        nodes.extend(
            (0..clients).map(|_| ZkNode::Client(Box::new(Client::new(self.zk_servers, &self.zk)))),
        );
        (nodes, KzChecker::default())
    }

    fn recover(&self, id: NodeId, durable: &ZkDurable) -> Self::Node {
        if id.index() < self.zk_servers {
            ZkNode::Server(Box::new(Server::recover(
                id,
                self.zk_servers,
                self.zk.clone(),
                durable,
            )))
        } else {
            assert!(id.index() < self.servers(), "clients are never faulted");
            self.broker((id.index() - self.zk_servers) as u32)
        }
    }

    fn resolve(
        &self,
        target: &Target,
        t: &mut Targeting<'_, Self::Node>,
    ) -> Option<(usize, Scope)> {
        // The live node of `range` that says Leader: serving first, then
        // the highest term, then the highest id.
        let leading = |t: &Targeting<'_, Self::Node>, range: std::ops::Range<usize>| {
            range
                .filter(|&i| t.up[i])
                .filter_map(|i| {
                    let v = t.nodes[i].view();
                    (v.role == Role::Leader).then_some((v.serving, v.term, i))
                })
                .max()
                .map(|b| b.2)
        };
        let node = match target {
            // Of the highest controller epoch, active or not: a zombie that
            // finished its failover is not the controller.
            Target::Path {
                word: "controller", ..
            } => (self.zk_servers..self.servers())
                .filter(|&i| t.up[i])
                .filter_map(|i| {
                    let v = t.nodes[i].view();
                    (v.role == Role::Leader).then_some((v.term, i))
                })
                .max()
                .map(|b| b.1),
            Target::Leader => leading(t, 0..self.zk_servers),
            other => t.common(other),
        };
        node.map(|i| (i, Scope::Whole))
    }
}
