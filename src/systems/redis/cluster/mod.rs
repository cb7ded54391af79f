//! `redis/cluster`: Redis Cluster fails over a shard whose master died. The
//! nodes gossip on the cluster bus; a master not answering PINGs for
//! `cluster-node-timeout` is PFAIL in a node's view, FAIL once a majority of
//! the masters report it within twice the timeout; its replicas then wait a
//! rank-ordered delay, ask the masters for their votes in a new epoch, and
//! the one with a majority takes the slots with a new config epoch, which
//! the others learn by gossip and UPDATE. Clients follow `-MOVED`.
//! Replication is asynchronous, so acknowledged writes can be lost, and the
//! model counts them.
//!
//! Follows `PROTOCOLS.md` §3.2 and §3.3, read against redis/redis
//! `src/cluster_legacy.c` (7.2), `src/config.c` and `redis.conf`.
//!
//! What is modelled (`node.rs`):
//! * clusterCron every 100 ms (each node's phase drawn at start): every
//!   tenth run, PING the node with the oldest PONG of 5 sampled at random;
//!   every run, PING any node without a pending PING whose last PONG is older
//!   than half the node timeout; reconnect a link (a new PING) whose PING
//!   has waited half the node timeout; a node whose pending PING (and any
//!   other data from it) is older than the node timeout becomes PFAIL.
//! * PING/PONG carry the sender's currentEpoch, its (or its master's)
//!   configEpoch, its slot claim, its master, its replication offset and a
//!   gossip section: max(3, n/10) random nodes (not PFAIL, not the receiver)
//!   plus every PFAIL node. A gossip entry from a master serving slots adds
//!   a failure report (or removes one when the entry is healthy).
//!   markNodeAsFailingIfNeeded: a node PFAIL here and reported by masters
//!   with valid reports (younger than 2 x node timeout), this node counted
//!   if it is a master, reaching a majority of the masters serving slots, is
//!   marked FAIL and a FAIL message goes to every node. A PONG clears PFAIL;
//!   FAIL is cleared at once for a replica, and for a master with slots only
//!   after 2 x node timeout in FAIL (clearNodeFailureIfNeeded).
//! * clusterHandleSlaveFailover, every cron run of a replica whose master is
//!   FAIL: the data-age check (`cluster-replica-validity-factor`), a schedule
//!   of now + 500 + random(0..500) + rank x 1000 ms (rank: replicas of the
//!   same master with a larger offset, clusterGetSlaveRank) with a PONG to
//!   the sibling replicas so they rank on fresh offsets, the delay pushed
//!   back if the rank worsens before the request, the request
//!   (FAILOVER_AUTH_REQUEST to every node in currentEpoch + 1), the election
//!   timeout max(2 x node timeout, 2000 ms) and a new schedule only 2 x that
//!   after the last one. Won with the ACKs of a majority of the masters:
//!   configEpoch set to the election epoch, the slots taken
//!   (clusterFailoverReplaceYourMaster), a PONG to every node.
//! * clusterSendFailoverAuthIfNeeded: only a master serving slots votes; it
//!   refuses a request from an older currentEpoch, a second vote in its
//!   currentEpoch, a replica whose master is not FAIL in its view, a second
//!   vote for replicas of the same master within 2 x node timeout, and a
//!   request whose configEpoch is older than the shard's; the vote
//!   (lastVoteEpoch) is fsynced to `nodes.conf` before the ACK leaves.
//! * Epochs: any message with a larger currentEpoch raises the receiver's.
//!   clusterUpdateSlotsConfigWith: a master claiming a shard with a larger
//!   configEpoch takes it in the receiver's view; the old master, or a
//!   replica of it, becomes a replica of the new one and resyncs; a claim
//!   with a smaller configEpoch is answered with an UPDATE naming the owner.
//! * clusterUpdateState: a node refuses commands (-CLUSTERDOWN) when it
//!   cannot reach a majority of the masters, or with
//!   `cluster-require-full-coverage` when a shard's master is FAIL.
//! * Replication: the master streams each SET to its attached replicas;
//!   a replica that attaches or switches masters gets a full sync; the
//!   master PINGs the stream every `repl-ping-replica-period`.
//! * Clients (`client.rs`): a slot map, -MOVED, refresh on error.
//!
//! Simplifications:
//! * A shard is a slot range of 16384 / M slots; keys are spread over the
//!   slots by a hash of the operation id (CRC16 of a key in Redis).
//! * Offsets count SETs; a sync is one message whatever the data size, and
//!   every resync is a full one (no PSYNC backlog); no persistence of data
//!   (a restarted node comes back empty, with its `nodes.conf`).
//! * Links need no set-up: a link older than the node timeout whose PING
//!   has waited half of it with no data back is "reconnected" as
//!   clusterCron does it, which here only means a new PING at once (the
//!   pending PING's time kept).
//! * The cluster starts settled: every node knows every other, masters have
//!   the config epochs 1..M and currentEpoch M; nodes know each other's
//!   roles from the start. No MEET, handshake or node discovery; no
//!   configEpoch collision handling (clusterHandleConfigEpochCollision: the
//!   election gives distinct epochs already); no replica migration, manual
//!   failover (CLUSTER FAILOVER), rejoin delay after a partition, or
//!   node-level pong_received refresh from gossip.
//! * A master that turns replica keeps its slot claim in the others' views
//!   until the new owner's larger config epoch reaches them (Redis also
//!   clears the slots of a node announcing itself a replica).
//! * The engine's `failover_ms` is the first successful write after the
//!   fault on any shard: with keys on every shard it is near 0 and does not
//!   show this failover. The path's column `shard_failover_ms` is the one to
//!   read: the fault to the first write the failed shard's new master
//!   acknowledges to a client.

mod checker;
mod client;
mod durable;
mod msg;
mod node;
mod params;

#[cfg(test)]
mod tests;

pub use checker::{final_master, RcChecker};
pub use client::{slot_of_op, Client};
pub use durable::{ConfWrite, NodesConf, RcDurable};
pub use msg::Msg;
pub use node::ClusterNode;
pub use params::{RcParams, SLOTS};

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{
    ClientOp, Ctx, Model, Node, NodeId, Obs, Scope, SimTime, Targeting, Topology, View,
};
use crate::systems::{ColumnSpec, GroupSpec, PathInfo, TargetSpec};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "redis/cluster",
    system: "redis",
    summary: "Cluster: gossip PFAIL -> FAIL (majority of masters) -> replica election by rank \
              (one vote per master per epoch) -> promotion with a new configEpoch -> clients \
              follow MOVED, over asynchronous replication",
    groups: &[
        GroupSpec {
            name: "masters",
            word: "first-master",
            min: 1,
            max: 32,
            default: None,
            doc: "Nodes that start as masters, one per shard (an equal slot range each); \
                  `first-master:K` (from 1) serves shard K - 1 first.",
        },
        GroupSpec {
            name: "replicas",
            word: "first-replica",
            min: 0,
            max: 128,
            default: Some(3),
            doc: "Nodes that start as replicas: replica k follows the master of shard \
                  k mod masters (3 replicas of 3 masters: one each).",
        },
    ],
    params: params::SPECS,
    targets: &[
        TargetSpec {
            word: "master",
            takes_number: true,
            doc: "The current master of shard N (from 0; 0 without a number): the live node \
                  serving it with the highest config epoch. Metrics are about that shard.",
        },
        TargetSpec {
            word: "replica",
            takes_number: true,
            doc: "A random live replica of shard N's current master (0 without a number).",
        },
    ],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<RedisCluster>,
};

const fn gap(name: &'static str, doc: &'static str) -> ColumnSpec {
    ColumnSpec::lower_ms(name, doc)
}

/// The failover timeline of the faulted shard, one gap per column.
const COLUMNS: &[ColumnSpec] = &[
    gap(
        "pfail_ms",
        "From the fault to the first node marking the shard's master PFAIL (= detect_ms): \
         the wait for the next PING, then cluster-node-timeout.",
    ),
    gap(
        "fail_ms",
        "From that PFAIL to the first node marking it FAIL (a majority of masters' reports \
         reached it by gossip).",
    ),
    gap(
        "election_start_ms",
        "From FAIL to the winning replica's FAILOVER_AUTH_REQUEST: the next cron run, then \
         500 + random(0..500) + rank x 1000 ms; lost elections and their retry wait show here.",
    ),
    gap(
        "election_ms",
        "From that request to its win (a majority of masters' ACKs, each after an fsync of \
         nodes.conf) and promotion.",
    ),
    gap(
        "clients_ms",
        "From the promotion to the first write the new master acknowledges to a client: \
         timeouts, the retry interval, CLUSTER SLOTS and MOVED.",
    ),
    gap(
        "shard_failover_ms",
        "From the fault to the first write on the failed shard acknowledged by its new \
         master: the failover a client of that shard sees.",
    ),
];

/// The timeline gaps of a trial (see [`COLUMNS`]).
fn timeline_gaps(out: &SimOutput) -> Vec<Option<f64>> {
    let mut cols = vec![None; COLUMNS.len()];
    let Some(fault) = out.faults.iter().find(|f| f.applied) else {
        return cols;
    };
    let t0 = fault.at;
    // A fault with no shard of its own (a partition): the first shard that
    // fails over after it, else the shard of the first master marked PFAIL.
    let first_scope = |want: &str| {
        out.records
            .iter()
            .find(|r| r.at >= t0 && matches!(r.obs, Obs::Phase { name, .. } if name == want))
            .map(|r| r.obs.scope())
    };
    let scope = match fault.scope {
        Scope::Whole => first_scope("failover-won")
            .or_else(|| first_scope("pfail"))
            .unwrap_or(Scope::Whole),
        s => s,
    };
    let phase = |r: &crate::engine::sim::Record, want: &str| matches!(r.obs, Obs::Phase { name, scope: s } if name == want && s == scope);
    let first_after = |want: &str, t: SimTime| {
        out.records
            .iter()
            .find(|r| r.at >= t && phase(r, want))
            .map(|r| (r.at, r.node))
    };
    let ms = |a: SimTime, b: SimTime| Some(a.since(b).as_ms_f64());
    if let Some((seen, _)) = first_after("client-new-master", t0) {
        cols[5] = ms(seen, t0);
    }
    let Some((pfail, _)) = first_after("pfail", t0) else {
        return cols;
    };
    cols[0] = ms(pfail, t0);
    let Some((fail, _)) = first_after("fail", pfail) else {
        return cols;
    };
    cols[1] = ms(fail, pfail);
    let Some((won, winner)) = first_after("failover-won", fail) else {
        return cols;
    };
    let request = out
        .records
        .iter()
        .filter(|r| r.node == winner && r.at >= fail && r.at <= won)
        .filter(|r| phase(r, "failover-auth-request"))
        .map(|r| r.at)
        .next_back();
    if let Some(req) = request {
        cols[2] = ms(req, fail);
        cols[3] = ms(won, req);
    }
    if let Some((seen, _)) = first_after("client-new-master", won) {
        cols[4] = ms(seen, won);
    }
    cols
}

/// The shard of key slot `slot` among `shards` equal slot ranges.
pub fn shard_of_slot(slot: u32, shards: usize) -> u32 {
    (u64::from(slot) * shards as u64 / u64::from(SLOTS)) as u32
}

/// Timers of every node kind, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// clusterCron.
    Cron,
    /// A master's PING on the replication stream.
    ReplPing,
    /// Client command `op` times out.
    ClientOp { op: u64 },
    /// The client's CLUSTER SLOTS query times out.
    ClientAsk,
    /// The client refreshes its slot map.
    ClientRefresh,
}

/// Facts for [`RcChecker`].
#[derive(Clone, Debug)]
pub enum RcNote {
    /// A node's `nodes.conf` epochs (written, or read at start).
    Conf {
        node: NodeId,
        current_epoch: u64,
        last_vote_epoch: u64,
    },
    /// Master `voter` voted for `candidate` in `epoch`.
    Voted {
        voter: NodeId,
        epoch: u64,
        candidate: NodeId,
    },
    /// `node` serves `shard` with `config_epoch` (at start, or promoted).
    Claim {
        node: NodeId,
        shard: u32,
        config_epoch: u64,
        promotion: bool,
    },
    /// A client saw write `op` of `shard` acknowledged.
    Acked { op: u64, shard: u32 },
}

/// A cluster node or a client.
#[derive(Clone, Debug)]
pub enum RcNode {
    Node(Box<ClusterNode>),
    Client(Box<Client>),
}

impl RcNode {
    pub fn node(&self) -> Option<&ClusterNode> {
        match self {
            RcNode::Node(n) => Some(n),
            RcNode::Client(_) => None,
        }
    }
}

impl Node for RcNode {
    type Msg = Msg;
    type Timer = Timer;
    type Note = RcNote;
    type Durable = RcDurable;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            RcNode::Node(n) => n.on_start(ctx),
            RcNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            RcNode::Node(n) => n.on_message(ctx, from, msg),
            RcNode::Client(c) => c.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            RcNode::Node(n) => n.on_timer(ctx, timer),
            RcNode::Client(c) => c.on_timer(ctx, timer),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        if let RcNode::Client(c) = self {
            c.on_client(ctx, op);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        if let RcNode::Client(c) = self {
            c.on_link_reset(ctx, peer);
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, write: ConfWrite) {
        if let RcNode::Node(n) = self {
            n.on_persisted(ctx, write);
        }
    }

    fn durable(&self) -> RcDurable {
        match self {
            RcNode::Node(n) => RcDurable {
                conf: n.conf().clone(),
            },
            RcNode::Client(_) => RcDurable::default(),
        }
    }

    fn view(&self) -> View {
        match self {
            RcNode::Node(n) => n.view(),
            RcNode::Client(c) => c.view(),
        }
    }
}

/// The `redis/cluster` model of one sweep point.
#[derive(Clone, Debug)]
pub struct RedisCluster {
    pub masters: usize,
    pub replicas: usize,
    pub params: RcParams,
}

impl RedisCluster {
    pub fn new(masters: usize, replicas: usize, params: RcParams) -> Self {
        RedisCluster {
            masters,
            replicas,
            params,
        }
    }

    /// The initial role of every node: masters first, then replica k of
    /// master k mod masters.
    fn layout(&self) -> Vec<Option<NodeId>> {
        (0..self.servers())
            .map(|i| {
                (i >= self.masters).then(|| NodeId(((i - self.masters) % self.masters) as u32))
            })
            .collect()
    }

    /// The `nodes.conf` every node starts with (a settled cluster).
    fn initial_conf(&self, id: NodeId) -> NodesConf {
        let m = self.masters as u64;
        NodesConf {
            current_epoch: m,
            last_vote_epoch: 0,
            config_epoch: if id.index() < self.masters {
                id.index() as u64 + 1
            } else {
                0
            },
            shards: (0..self.masters)
                .map(|s| (NodeId(s as u32), s as u64 + 1))
                .collect(),
            replica_of: self.layout()[id.index()],
        }
    }

    /// Shard `n`'s current master: the live node serving it in its own view
    /// with the highest config epoch.
    fn master_of(&self, n: u32, t: &Targeting<'_, RcNode>) -> Option<usize> {
        final_master(t.nodes, t.up, n)
    }
}

impl crate::runner::FromWorkload for RedisCluster {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        RedisCluster::new(sizes[0], sizes[1], RcParams::from_params(&w.params))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        timeline_gaps(out)
    }
}

impl Model for RedisCluster {
    type Node = RcNode;
    type Checker = RcChecker;

    fn servers(&self) -> usize {
        self.masters + self.replicas
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("masters", self.masters), ("replicas", self.replicas)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<RcNode>, RcChecker) {
        let layout = self.layout();
        let mut nodes: Vec<RcNode> = (0..self.servers())
            .map(|i| {
                let id = NodeId(i as u32);
                RcNode::Node(Box::new(ClusterNode::new(
                    id,
                    self.params.clone(),
                    self.initial_conf(id),
                    &layout,
                    true,
                )))
            })
            .collect();
        for _ in 0..clients {
            nodes.push(RcNode::Client(Box::new(Client::new(
                self.servers(),
                self.masters,
                self.params.clone(),
            ))));
        }
        (nodes, RcChecker::new())
    }

    fn recover(&self, id: NodeId, durable: &RcDurable) -> RcNode {
        assert!(id.index() < self.servers(), "clients are never faulted");
        // The roles of the others as nodes.conf lists them: the masters of
        // the slot table, the rest as first laid out.
        let mut layout = self.layout();
        for (m, _) in &durable.conf.shards {
            layout[m.index()] = None;
        }
        layout[id.index()] = durable.conf.replica_of;
        RcNode::Node(Box::new(ClusterNode::new(
            id,
            self.params.clone(),
            durable.conf.clone(),
            &layout,
            false,
        )))
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, RcNode>) -> Option<(usize, Scope)> {
        match target {
            Target::Path {
                word: "master",
                arg,
            } => {
                let n = arg.unwrap_or(0);
                if n as usize >= self.masters {
                    return None;
                }
                self.master_of(n, t).map(|i| (i, Scope::Part(n)))
            }
            Target::Path {
                word: "replica",
                arg,
            } => {
                let n = arg.unwrap_or(0);
                if n as usize >= self.masters {
                    return None;
                }
                let m = self.master_of(n, t)?;
                let replicas: Vec<usize> = (0..self.servers())
                    .filter(|&i| t.up[i])
                    .filter(|&i| {
                        t.nodes[i]
                            .node()
                            .is_some_and(|c| c.replica_of() == Some(NodeId(m as u32)))
                    })
                    .collect();
                if replicas.is_empty() {
                    return None;
                }
                let k = crate::engine::rng::index(t.rng, replicas.len());
                Some((replicas[k], Scope::Part(n)))
            }
            // The engine's words: about the shard of the node hit, if any.
            other => t.common(other).map(|i| {
                let scope = t.nodes[i]
                    .node()
                    .and_then(|c| {
                        c.my_shard()
                            .or_else(|| c.replica_of().and_then(|m| c.shard_of(m)))
                    })
                    .map_or(Scope::Whole, Scope::Part);
                (i, scope)
            }),
        }
    }
}
