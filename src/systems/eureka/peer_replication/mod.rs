//! `eureka/peer-replication`: Netflix Eureka 1.x, a registry of equal peer
//! servers that replicate to each other, with no election, no quorum and no
//! commit rule (PROTOCOLS.md §4).
//!
//! # What is modelled, and from where (Netflix/eureka)
//!
//! * **Servers** (group `servers`): `AbstractInstanceRegistry` register,
//!   renew and eviction; `Lease.java` with the `renew()` bug kept on purpose
//!   (a renewed lease expires 2 x duration = 180 s after its last renewal, a
//!   never-renewed one after 90 s); `EvictionTask` every 60 s, evicting at
//!   most `size - floor(size x 0.85)` expired leases chosen by a Knuth
//!   shuffle, not replicated, lowering the expected count like a cancel
//!   (1.9.17+); self-preservation (`isLeaseExpirationEnabled`: renewals of the
//!   last complete minute must exceed `floor(expected x 60/30 x 0.85)`),
//!   with `updateRenewalThreshold` every 15 min; renewals counted in tumbling
//!   one-minute buckets (`MeasuredRate`), client and replicated heartbeats
//!   alike.
//! * **Replication** (`PeerAwareInstanceRegistryImpl.replicateToPeers`,
//!   `PeerEurekaNode`, `AcceptorExecutor`, `ReplicationTaskProcessor`): each
//!   register/heartbeat a server takes from an instance becomes a task in one
//!   queue per peer; a task with the same id (action, instance) replaces the
//!   pending one; a batch of at most 250 goes out when the oldest task has
//!   waited 500 ms (or 250 are pending), up to 20 batches in flight per peer;
//!   register and heartbeat tasks expire after the renewal interval (30 s);
//!   a read timeout (5 s) re-queues the batch and pauses dispatch 1 s
//!   (Congestion), a reset connection re-queues it with a 100 ms pause
//!   (TransientError); a heartbeat answered 404 is followed by a register to
//!   that peer. Batches are replications: the receiver applies them and
//!   never forwards them, so each write travels one hop.
//! * **Response cache** (`ResponseCacheImpl`): fetches are answered from the
//!   read-only map, copied from the registry every 30 s
//!   (`use-read-only-response-cache = false` answers from the registry).
//! * **Instances** (group `instances`): renew every 30 s with the server of
//!   their list (instance `i` starts at server `i mod n`), re-register on a
//!   404 (`DiscoveryClient.renew`); a (re)started instance registers 40 s
//!   after start (`InstanceInfoReplicator`'s initial delay) and heartbeats
//!   from 30 s on.
//! * **Clients** (the engine's clients): fetch the registry at start and
//!   every 30 s (at a phase drawn per client, as clients that did not start
//!   together), from the server of their list (client `c` starts at server
//!   `c mod n`); a timeout (8 s) or a reset connection moves the request to
//!   the next server, at most 3 attempts (`RetryableEurekaHttpClient`). A
//!   client operation is a call to a service instance, round-robin over the
//!   instances of its last fetch; a call counts as failed after
//!   `ribbon.ReadTimeout` or when the instance's connection is reset.
//!
//! # Simplifications
//!
//! * The trial starts in **steady state**: every instance is registered on
//!   every server, renewed at time 0, the expected count is the instance
//!   count, the last minute held two renewals per instance, and the minute
//!   under way counts its part before time 0 at that rate. (From a cold
//!   start the real registry evicts nothing for 15 minutes, until the first
//!   threshold update.) The servers' periodic tasks (eviction, cache
//!   refresh, renewal-rate bucket) run at phases drawn from each server's
//!   stream, as servers that did not start together.
//! * A restarted server starts **empty** (no `syncUp` from a peer, no 5 min
//!   refusal of reads); instances come back through the 404 on their next
//!   replicated or direct heartbeat; its expected count is 0, so it evicts
//!   nothing until its first threshold update.
//! * One application; `lastDirtyTimestamp` conflict resolution (409,
//!   `syncWhenTimestampDiffers`), status updates, the delta queue and hash
//!   reconciliation are not modelled: a fetch returns the whole cached
//!   registry, which is what a client's delta reconciliation converges to.
//!   All instances are UP.
//! * Clean shutdown of an instance (`cancel`, replicated) is not reachable
//!   from the fault schedule (a crash is never clean), so it is left out.
//! * A failed request moves to the next server of the list; the real
//!   client's quarantine list and its restart at index 0 are not modelled,
//!   nor the 20-minute session reconnect, zone affinity, the executors'
//!   back-off on timeouts or Ribbon's own server-list cache.
//! * Peer HTTP connect timeout (1 s) is folded into the read timeout.

mod checker;
mod client;
mod msg;
mod params;
mod server;

#[cfg(test)]
mod tests;

pub use checker::EuChecker;
pub use client::{Client, Instance};
pub use msg::{Action, Item, ItemStatus, Msg};
pub use params::EuParams;
pub use server::{Lease, Server, BATCH_SIZE, MAX_BATCHING_DELAY};

use crate::engine::sim::SimOutput;
use crate::engine::{ClientOp, Ctx, Model, Node, NodeId, Obs, Scope, SimTime, Topology, View};
use crate::systems::{ColumnSpec, GroupSpec, PathInfo};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "eureka/peer-replication",
    system: "eureka",
    summary: "no election: peer servers replicate registrations and heartbeats to each other \
              in batches; leases expire (2 x 90 s), eviction every 60 s unless in \
              self-preservation; clients fetch every 30 s and fail over between servers",
    groups: &[
        GroupSpec {
            name: "servers",
            word: "server",
            min: 1,
            max: 64,
            default: Some(3),
            doc: "Eureka servers, each a peer of all the others.",
        },
        GroupSpec {
            name: "instances",
            word: "instance",
            min: 1,
            max: 10_000,
            default: Some(10),
            doc: "Service instances of one application, each renewing its lease with one \
                  server. With fewer than 7 instances one silent instance already drops \
                  the renewals below the 0.85 threshold, so it is never evicted \
                  (self-preservation).",
        },
    ],
    params: params::SPECS,
    targets: &[],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<EurekaPeers>,
};

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::lower_ms(
        "replication_lag_ms",
        "From the first registration a server takes from an instance after the fault to the \
         moment the last other server has applied it from a replication batch; empty when \
         no registration follows the fault or a peer did not get it within 30 s.",
    ),
    ColumnSpec::lower_ms(
        "stale_route_ms",
        "When the fault hits an instance: from the fault until no client's registry lists it \
         any more (every client's fetch after the last server evicted it); empty if some \
         client still lists it at the end.",
    ),
    ColumnSpec::lower_ms(
        "server_failover_ms",
        "When the fault hits a server: from the fault until every client that fetched from it \
         last has fetched from another server; empty if none used it or one never moved.",
    ),
];

/// Timers of every node kind, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Server: the EvictionTask.
    Evict,
    /// Server: the read-only response cache refresh.
    CacheUpdate,
    /// Server: the renewal rate's one-minute bucket closes.
    RenewsMinute,
    /// Server: updateRenewalThreshold.
    ThresholdUpdate,
    /// Server: dispatch to peer queue `peer`.
    Batch { peer: u32 },
    /// Server: batch `id` to peer queue `peer` hit the read timeout.
    BatchTimeout { peer: u32, id: u64 },
    /// Instance: the heartbeat task.
    Heartbeat,
    /// Instance: InstanceInfoReplicator's registration after start.
    Register,
    /// Instance or client: request `seq` to a server timed out.
    Request { seq: u64 },
    /// Client: the registry fetch task.
    Fetch,
    /// Client: call `op` to an instance timed out.
    Call { op: u64 },
}

/// Facts for [`EuChecker`].
#[derive(Clone, Debug)]
pub enum EuNote {
    /// `server` evicted `inst`, having seen these counters.
    Evicted {
        server: NodeId,
        inst: u32,
        renews_last_min: u64,
        threshold: u64,
        self_preservation: bool,
    },
    /// `server` acknowledged a renewal of `inst`.
    Acked { inst: u32, server: NodeId },
}

/// A server, an instance or a client.
#[derive(Clone, Debug)]
pub enum EuNode {
    Server(Box<Server>),
    Instance(Box<Instance>),
    Client(Box<Client>),
}

impl EuNode {
    pub fn server(&self) -> Option<&Server> {
        match self {
            EuNode::Server(s) => Some(s),
            _ => None,
        }
    }

    pub fn client(&self) -> Option<&Client> {
        match self {
            EuNode::Client(c) => Some(c),
            _ => None,
        }
    }
}

impl Node for EuNode {
    type Msg = Msg;
    type Timer = Timer;
    type Note = EuNote;
    type Durable = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            EuNode::Server(s) => s.on_start(ctx),
            EuNode::Instance(i) => i.on_start(ctx),
            EuNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            EuNode::Server(s) => s.on_message(ctx, from, msg),
            EuNode::Instance(i) => i.on_message(ctx, from, msg),
            EuNode::Client(c) => c.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            EuNode::Server(s) => s.on_timer(ctx, timer),
            EuNode::Instance(i) => i.on_timer(ctx, timer),
            EuNode::Client(c) => c.on_timer(ctx, timer),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        if let EuNode::Client(c) = self {
            c.on_client(ctx, op);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        match self {
            EuNode::Server(s) => s.on_link_reset(ctx, peer),
            EuNode::Instance(i) => i.on_link_reset(ctx, peer),
            EuNode::Client(c) => c.on_link_reset(ctx, peer),
        }
    }

    fn view(&self) -> View {
        match self {
            EuNode::Server(s) => s.view(),
            EuNode::Instance(i) => i.view(),
            EuNode::Client(c) => c.view(),
        }
    }
}

/// The `eureka/peer-replication` model of one sweep point.
#[derive(Clone, Debug)]
pub struct EurekaPeers {
    pub servers: usize,
    pub instances: usize,
    pub params: EuParams,
    /// Start from empty registries, every instance registering 40 s after
    /// start (benches and tests; workloads start in steady state).
    pub cold: bool,
}

impl EurekaPeers {
    pub fn new(servers: usize, instances: usize, params: EuParams) -> Self {
        EurekaPeers {
            servers,
            instances,
            params,
            cold: false,
        }
    }

    /// The server list of the `k`-th instance or client: all servers, from
    /// `k mod n` on.
    fn list(&self, k: usize) -> Vec<NodeId> {
        (0..self.servers)
            .map(|j| NodeId(((k + j) % self.servers) as u32))
            .collect()
    }

    fn node(&self, id: usize, steady: bool) -> EuNode {
        let n = self.servers;
        let p = self.params.clone();
        if id < n {
            let peers = (0..n)
                .filter(|&j| j != id)
                .map(|j| NodeId(j as u32))
                .collect();
            let steady = steady.then_some(self.instances as u32);
            EuNode::Server(Box::new(Server::new(NodeId(id as u32), peers, p, steady)))
        } else if id < n + self.instances {
            let k = id - n;
            EuNode::Instance(Box::new(Instance::new(k as u32, self.list(k), p, steady)))
        } else {
            let k = id - n - self.instances;
            EuNode::Client(Box::new(Client::new(self.list(k), n as u32, p)))
        }
    }
}

impl crate::runner::FromWorkload for EurekaPeers {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        EurekaPeers::new(sizes[0], sizes[1], EuParams::from_params(&w.params))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns(self.servers, self.instances, out)
    }
}

fn phase_at(r: &crate::engine::sim::Record, want: &str, scope: Scope) -> bool {
    matches!(r.obs, Obs::Phase { name, scope: s } if name == want && s == scope)
}

/// The path's columns of a trial (see [`COLUMNS`]).
pub fn columns(servers: usize, instances: usize, out: &SimOutput) -> Vec<Option<f64>> {
    let mut cols = vec![None; COLUMNS.len()];
    let Some(f) = out.faults.iter().find(|f| f.applied) else {
        return cols;
    };
    let t0 = f.at;
    let ms = |a: SimTime| Some(a.since(t0).as_ms_f64());
    let is_client = |n: NodeId| n.index() >= servers + instances;
    let clients: std::collections::BTreeSet<NodeId> = out
        .records
        .iter()
        .filter(|r| is_client(r.node))
        .map(|r| r.node)
        .collect();

    // replication_lag_ms
    let first_reg = out.records.iter().find_map(|r| match r.obs {
        Obs::Phase {
            name: "register",
            scope: Scope::Part(i),
        } if r.at >= t0 => Some((r.at, i)),
        _ => None,
    });
    if let Some((treg, inst)) = first_reg {
        let horizon = treg + crate::engine::SimDuration::from_ms(30_000);
        let reps: Vec<(SimTime, NodeId)> = out
            .records
            .iter()
            .filter(|r| r.at >= treg && r.at <= horizon)
            .filter(|r| phase_at(r, "replicated-register", Scope::Part(inst)))
            .map(|r| (r.at, r.node))
            .collect();
        let peers: std::collections::BTreeSet<NodeId> = reps.iter().map(|x| x.1).collect();
        if peers.len() + 1 >= servers {
            let last = peers
                .iter()
                .filter_map(|p| reps.iter().find(|x| x.1 == *p).map(|x| x.0))
                .max()
                .unwrap_or(treg);
            cols[0] = Some(last.since(treg).as_ms_f64());
        }
    }

    let Some(hit) = f.node else { return cols };
    let hit = hit.index();
    if (servers..servers + instances).contains(&hit) && !clients.is_empty() {
        // stale_route_ms
        let inst = (hit - servers) as u32;
        let mut worst = Some(t0);
        for c in &clients {
            let t = out
                .records
                .iter()
                .find(|r| r.node == *c && r.at >= t0 && phase_at(r, "unroute", Scope::Part(inst)))
                .map(|r| r.at);
            worst = match (worst, t) {
                (Some(w), Some(t)) => Some(w.max(t)),
                _ => None,
            };
        }
        cols[1] = worst.and_then(ms);
    } else if hit < servers {
        // server_failover_ms
        let fetch_from = |r: &crate::engine::sim::Record| match r.obs {
            Obs::Phase {
                name: "fetch",
                scope: Scope::Part(s),
            } => Some(s as usize),
            _ => None,
        };
        let mut used = false;
        let mut worst = Some(t0);
        for c in &clients {
            let last = out
                .records
                .iter()
                .filter(|r| r.node == *c && r.at < t0)
                .filter_map(fetch_from)
                .next_back();
            if last != Some(hit) {
                continue;
            }
            used = true;
            let moved = out
                .records
                .iter()
                .filter(|r| r.node == *c && r.at >= t0)
                .find(|r| fetch_from(r).is_some_and(|s| s != hit))
                .map(|r| r.at);
            worst = match (worst, moved) {
                (Some(w), Some(m)) => Some(w.max(m)),
                _ => None,
            };
        }
        if used {
            cols[2] = worst.and_then(ms);
        }
    }
    cols
}

impl Model for EurekaPeers {
    type Node = EuNode;
    type Checker = EuChecker;

    fn servers(&self) -> usize {
        self.servers + self.instances
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("servers", self.servers), ("instances", self.instances)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<EuNode>, EuChecker) {
        let total = self.servers() + clients;
        let nodes = (0..total).map(|i| self.node(i, !self.cold)).collect();
        let checker = EuChecker::new(self.servers as u32);
        (nodes, checker)
    }

    fn recover(&self, id: NodeId, _durable: &()) -> EuNode {
        self.node(id.index(), false)
    }
}
