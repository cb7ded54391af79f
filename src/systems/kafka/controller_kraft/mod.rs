//! `kafka/controller-kraft`: the KRaft controller quorum, the active
//! controller being the leader of the `__cluster_metadata` log, and the
//! brokers as observers that fetch that log. It runs on the shared Raft core
//! (`systems/raft/core.rs`) with [`crate::systems::raft::kraft`] switched on:
//! what is shared with `raft/etcd` and what is KRaft's own is listed there.
//!
//! Sources: PROTOCOLS.md §2.4 and Kafka 3.7's `raft/` module
//! (`KafkaRaftClient.java`, `QuorumState.java`, `LeaderState.java`,
//! `CandidateState.java`, `FollowerState.java`, `ResignedState.java`,
//! `QuorumConfig.java`); where the source disagrees with PROTOCOLS.md the
//! source is followed and `kraft.rs` says so (parked fetches are also
//! completed when the high watermark moves).
//!
//! Node groups: `controllers` (the voters, `controller.quorum.voters`) and
//! `brokers` (observers). Brokers never vote and never receive
//! BeginQuorumEpoch: they learn the leader from fetch responses. A broker
//! whose fetch timeout runs out asks the voters in turn (a voter names the
//! leader it knows in its answer), every `controller.quorum.retry.backoff.ms`
//! after a refusal or `controller.quorum.request.timeout.ms` without answer.
//!
//! Clients: metadata writes (an admin request's records) go to a controller;
//! one that is not the active controller refuses, naming the leader it
//! knows. Real admin clients go through a broker, which forwards to the
//! controller; the forwarding hop is not modelled.
//!
//! What costs per partition: a process that starts (the whole cluster at
//! t = 0, a restarted controller) loads its metadata image, `partitions x
//! model.image-load-us-per-partition`, and its controller activates no
//! earlier. A failover onto a standby costs nothing per partition: the
//! standby replicated and applied the log already (§2.4.6); the new leader
//! only wins the election and commits its epoch-start record. The per
//! partition cost is an assumption of the model, not a published figure.
//!
//! Not modelled: broker registration, heartbeats and fencing
//! (`broker.heartbeat.interval.ms`, `broker.session.timeout.ms`, the
//! re-registration of every broker on activation), partition-change records,
//! the NoOpRecord an active controller appends every
//! `metadata.max.idle.interval.ms` (500 ms; it would wake every parked fetch
//! at once, as client writes do here), snapshots and FetchSnapshot,
//! `controller.quorum.append.linger.ms`, KIP-996 pre-vote, dynamic quorums
//! (KIP-853).
//!
//! Timeline phases (Kafka's state names): `candidate`, `leader`, `resigned`,
//! `unattached`, `follower`, `activated` (the new controller's epoch record
//! is committed and its image loaded).

mod params;
#[cfg(test)]
mod tests;

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{Model, NodeId, Obs, Scope, SimDuration, Targeting, Topology};
use crate::systems::raft::kraft::{KraftConfig, MAX_FETCH_WAIT_MS};
use crate::systems::raft::{
    raft_columns, Client, Config, RaftChecker, RaftDurable, RaftNode, Server,
};
use crate::systems::{ColumnSpec, GroupSpec, Params, PathInfo};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "kafka/controller-kraft",
    system: "kafka",
    summary: "KRaft controller quorum: fetch-based Raft election of the active controller, \
              brokers as observers",
    groups: &[
        GroupSpec {
            name: "controllers",
            word: "controller",
            min: 1,
            max: 15,
            default: None,
            doc: "Voters of the controller quorum (controller.quorum.voters); the leader is the \
                  active controller.",
        },
        GroupSpec {
            name: "brokers",
            word: "broker",
            min: 0,
            max: 64,
            default: Some(3),
            doc: "Brokers: observers that fetch the metadata log and never vote.",
        },
    ],
    params: params::SPECS,
    targets: &[],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<KraftModel>,
};

/// The columns of this path: the Raft core's, then KRaft's.
pub const COLUMNS: &[ColumnSpec] = &[
    crate::systems::raft::LEADERLESS,
    crate::systems::raft::SPLIT_VOTES,
    ColumnSpec::lower_ms(
        "controller_active_ms",
        "From the fault to the first controller activation after it: a leader's epoch-start \
         record committed (high watermark past the epoch start) and its metadata image loaded \
         (QuorumController becomes active); empty when none.",
    ),
    ColumnSpec::lower_ms(
        "brokers_informed_ms",
        "From the fault until every broker not itself faulted follows (fetches from) the \
         leader elected first after the fault or a later one: the last broker's first \
         `follower` phase at or after that election; empty when some broker never got there.",
    ),
];

/// The model of one sweep point.
#[derive(Clone, Debug)]
pub struct KraftModel {
    pub controllers: usize,
    pub brokers: usize,
    pub cfg: Config,
}

/// Kafka's settings read into the core's configuration.
pub fn config(p: &Params) -> Config {
    let ms = |name| SimDuration::from_ms(p.get_u64(name));
    let election = p.get_u64("controller.quorum.election.timeout.ms");
    let per_partition_ns = p.get("model.image-load-us-per-partition") * 1000.0;
    let image_load = SimDuration((p.get_u64("partitions") as f64 * per_partition_ns) as u64);
    Config {
        heartbeat: ms("controller.quorum.fetch.timeout.ms"),
        election_min: SimDuration::from_ms(election),
        election_max: SimDuration::from_ms(2 * election),
        tick: None,
        pre_vote: false,
        check_quorum: true,
        reset_on_step_down: true,
        whole_ms_timeouts: false,
        replicate: true,
        max_batch: 64,
        client_timeout: ms("request.timeout.ms"),
        kraft: Some(KraftConfig {
            election_timeout_ms: election,
            fetch_timeout: ms("controller.quorum.fetch.timeout.ms"),
            election_backoff_max_ms: p.get_u64("controller.quorum.election.backoff.max.ms"),
            request_timeout: ms("controller.quorum.request.timeout.ms"),
            retry_backoff: ms("controller.quorum.retry.backoff.ms"),
            max_fetch_wait: SimDuration::from_ms(MAX_FETCH_WAIT_MS),
            image_load,
        }),
        dledger: None,
    }
}

impl KraftModel {
    pub fn new(controllers: usize, brokers: usize, p: &Params) -> Self {
        KraftModel {
            controllers,
            brokers,
            cfg: config(p),
        }
    }

    fn server(&self, i: usize, d: RaftDurable) -> RaftNode {
        RaftNode::Server(Box::new(Server::new(
            NodeId(i as u32),
            self.controllers,
            self.cfg.clone(),
            d,
            false,
        )))
    }
}

/// `controller_active_ms` and `brokers_informed_ms` of a trial with
/// `controllers` voters then `brokers` observers.
pub fn kraft_columns(out: &SimOutput, controllers: usize, brokers: usize) -> Vec<Option<f64>> {
    let Some(t0) = out.faults.iter().find(|f| f.applied).map(|f| f.at) else {
        return vec![None, None];
    };
    let active = out.records.iter().find_map(|r| match r.obs {
        Obs::Serving {
            scope: Scope::Whole,
            ..
        } if r.at >= t0 => Some(r.at.since(t0).as_ms_f64()),
        _ => None,
    });
    let elected = out.records.iter().find_map(|r| match r.obs {
        Obs::Elected {
            scope: Scope::Whole,
            ..
        } if r.at >= t0 => Some(r.at),
        _ => None,
    });
    let informed = elected.and_then(|e| {
        let faulted: Vec<NodeId> = out.faults.iter().filter_map(|f| f.node).collect();
        let mut worst = 0.0f64;
        for b in (controllers..controllers + brokers).map(|i| NodeId(i as u32)) {
            if faulted.contains(&b) {
                continue;
            }
            let at = out.records.iter().find_map(|r| match r.obs {
                Obs::Phase {
                    name: "follower", ..
                } if r.node == b && r.at >= e => Some(r.at.since(t0).as_ms_f64()),
                _ => None,
            })?;
            worst = worst.max(at);
        }
        Some(worst)
    });
    vec![active, informed]
}

impl crate::runner::FromWorkload for KraftModel {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        KraftModel::new(sizes[0], sizes[1], &w.params)
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        let mut cols = raft_columns(out);
        cols.extend(kraft_columns(out, self.controllers, self.brokers));
        cols
    }
}

impl Model for KraftModel {
    type Node = RaftNode;
    type Checker = RaftChecker;

    fn servers(&self) -> usize {
        self.controllers + self.brokers
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("controllers", self.controllers), ("brokers", self.brokers)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<RaftNode>, RaftChecker) {
        let mut nodes: Vec<RaftNode> = (0..self.servers())
            .map(|i| self.server(i, RaftDurable::default()))
            .collect();
        nodes.extend((0..clients).map(|_| {
            RaftNode::Client(Box::new(Client::new(
                self.controllers,
                self.cfg.client_timeout,
            )))
        }));
        (nodes, RaftChecker::default())
    }

    fn recover(&self, id: NodeId, durable: &RaftDurable) -> RaftNode {
        assert!(id.index() < self.servers(), "clients are never faulted");
        self.server(id.index(), durable.clone())
    }

    /// `follower` is a live standby controller (never a broker).
    fn resolve(&self, target: &Target, t: &mut Targeting<'_, RaftNode>) -> Option<(usize, Scope)> {
        let i = match target {
            Target::Follower => {
                let leader = t.leader();
                t.random_live(0..self.controllers, leader)
            }
            other => t.common(other),
        }?;
        Some((i, Scope::Whole))
    }
}
