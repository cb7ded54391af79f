//! `rocketmq/nameserver`: Apache RocketMQ's NameServers, soft-state routing
//! with no election and no replication (PROTOCOLS.md §5.1).
//!
//! # What is modelled, and from where (apache/rocketmq)
//!
//! * **Brokers** (group `brokers`, one master per broker group) register with
//!   **every** NameServer every `registerNameServerPeriod` (30 s)
//!   (`BrokerController` scheduled task, `BrokerOuterAPI.registerBrokerAll`);
//!   a (re)started broker registers at once and runs the task from 10 s on.
//! * **NameServers** (group `namesrv`) keep `brokerLiveTable`
//!   (`RouteInfoManager`): a registration refreshes the broker's
//!   `lastUpdateTimestamp`; `scanNotActiveBroker` removes every broker whose
//!   last update plus 120 s (`DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`) is
//!   before now, every 10 s in 4.9.4 and every `scanNotActiveBrokerInterval`
//!   (5 s) in 5.x (`version`); the broker's connection closing
//!   (`BrokerHousekeepingService.onChannelClose` -> `onChannelDestroy`)
//!   removes it at once. NameServers never talk to each other.
//! * **Clients** (the engine's clients, producers): query the topic route
//!   from one NameServer 10 ms after start and every `pollNameServerInterval`
//!   (30 s, at a phase drawn per client, as clients that did not start
//!   together) (`MQClientInstance.startScheduledTask`), starting at a random
//!   NameServer and moving round-robin on a failed query
//!   (`NettyRemotingClient`). A client operation is a synchronous send to
//!   the next broker of the route (round-robin over the route's brokers);
//!   a reset connection retries on another broker, at most
//!   `retryTimesWhenSendFailed` times, within the `sendMsgTimeout` budget
//!   counted from the issue time; a silent broker uses the whole budget.
//!
//! # Crash versus clean unregister
//!
//! A broker killed on a live host (`host_alive = true`: the kernel closes its
//! sockets) and a clean shutdown (`unregisterBrokerAll`) both remove it from
//! every NameServer one network hop later: the model reaches the first
//! through the connection reset, and that is also the timing of the second.
//! A dead host or a partition (`host_alive = false`) leaves only the 120 s
//! expiry plus the scan.
//!
//! # Simplifications
//!
//! * The trial starts in steady state: every broker registered with every
//!   NameServer at time 0; each broker's registration task and each
//!   NameServer's scan run at a phase drawn from the node's own stream (as
//!   processes that started at different moments; the real 4.9.4 scan has a
//!   fixed 5 s initial delay after its own start).
//! * One topic served by every broker; the route is the set of live brokers
//!   (queue data, topic configuration, data versions, `forceRegister`,
//!   slave brokers, `enableSlaveActingMaster` and its 1 s lightweight
//!   heartbeats are not modelled). A restarted NameServer starts empty.
//! * The latency-based fault avoidance of the producer (`sendLatencyEnable`,
//!   off by default) and consumers are not modelled.

mod checker;
mod nodes;
mod params;

#[cfg(test)]
mod tests;

pub use checker::NsChecker;
pub use nodes::{expired, Broker, Client, Msg, NameServer};
pub use params::{NsParams, Version};

use crate::engine::sim::SimOutput;
use crate::engine::{ClientOp, Ctx, Model, Node, NodeId, Obs, Scope, SimTime, Topology, View};
use crate::systems::{ColumnSpec, GroupSpec, PathInfo};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "rocketmq/nameserver",
    system: "rocketmq",
    summary: "no election: brokers register with every NameServer every 30 s; each NameServer \
              drops a broker silent for 120 s (scan every 10 s in 4.x, 5 s in 5.x) or whose \
              connection closed; clients refresh routes every 30 s",
    groups: &[
        GroupSpec {
            name: "namesrv",
            word: "namesrv",
            min: 1,
            max: 16,
            default: Some(2),
            doc: "NameServers; they never talk to each other.",
        },
        GroupSpec {
            name: "brokers",
            word: "broker",
            min: 1,
            max: 100_000,
            default: Some(4),
            doc: "Broker masters, each registering with every NameServer.",
        },
    ],
    params: params::SPECS,
    targets: &[],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<RocketNameServer>,
};

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::lower_ms(
        "unregister_ms",
        "When the fault hits a broker: from the fault to the first NameServer removing it \
         (scanNotActiveBroker or onChannelDestroy).",
    ),
    ColumnSpec::lower_ms(
        "route_divergence_ms",
        "When the fault hits a broker: from the first NameServer removing it to the last; \
         the time NameServers disagree about it. Empty if one never removed it.",
    ),
    ColumnSpec::lower_ms(
        "stale_route_ms",
        "When the fault hits a broker: from the fault until no client's route lists it any \
         more; empty if some client still lists it at the end.",
    ),
];

/// Timers of every node kind, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// NameServer: scanNotActiveBroker.
    Scan,
    /// Broker: registerBrokerAll.
    Register,
    /// Client: the route refresh task.
    Poll,
    /// Client: route query `seq` timed out.
    RouteTimeout { seq: u64 },
    /// Client: the send budget of operation `op` ran out.
    SendTimeout { op: u64 },
}

/// Facts for [`NsChecker`].
#[derive(Clone, Debug)]
pub enum NsNote {
    /// `namesrv` received a registration from `broker`.
    Registered { namesrv: NodeId, broker: u32 },
    /// `namesrv`'s scan removed `broker`, last updated at `last`.
    Scanned {
        namesrv: NodeId,
        broker: u32,
        last: SimTime,
    },
}

/// A NameServer, a broker or a client.
#[derive(Clone, Debug)]
pub enum NsNode {
    NameServer(Box<NameServer>),
    Broker(Box<Broker>),
    Client(Box<Client>),
}

impl NsNode {
    pub fn namesrv(&self) -> Option<&NameServer> {
        match self {
            NsNode::NameServer(n) => Some(n),
            _ => None,
        }
    }
}

impl Node for NsNode {
    type Msg = Msg;
    type Timer = Timer;
    type Note = NsNote;
    type Durable = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            NsNode::NameServer(n) => n.on_start(ctx),
            NsNode::Broker(b) => b.on_start(ctx),
            NsNode::Client(c) => c.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            NsNode::NameServer(n) => n.on_message(ctx, from, msg),
            NsNode::Broker(b) => b.on_message(ctx, from, msg),
            NsNode::Client(c) => c.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            NsNode::NameServer(n) => n.on_timer(ctx, timer),
            NsNode::Broker(b) => b.on_timer(ctx, timer),
            NsNode::Client(c) => c.on_timer(ctx, timer),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        if let NsNode::Client(c) = self {
            c.on_client(ctx, op);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        match self {
            NsNode::NameServer(n) => n.on_link_reset(ctx, peer),
            NsNode::Broker(_) => {}
            NsNode::Client(c) => c.on_link_reset(ctx, peer),
        }
    }

    fn view(&self) -> View {
        match self {
            NsNode::NameServer(n) => n.view(),
            NsNode::Broker(b) => b.view(),
            NsNode::Client(c) => c.view(),
        }
    }
}

/// The `rocketmq/nameserver` model of one sweep point.
#[derive(Clone, Debug)]
pub struct RocketNameServer {
    pub namesrvs: usize,
    pub brokers: usize,
    pub params: NsParams,
}

impl RocketNameServer {
    pub fn new(namesrvs: usize, brokers: usize, params: NsParams) -> Self {
        RocketNameServer {
            namesrvs,
            brokers,
            params,
        }
    }

    fn node(&self, id: usize, steady: bool) -> NsNode {
        let n = self.namesrvs;
        let p = self.params.clone();
        let list: Vec<NodeId> = (0..n).map(|i| NodeId(i as u32)).collect();
        if id < n {
            let steady = steady.then_some(self.brokers as u32);
            NsNode::NameServer(Box::new(NameServer::new(
                NodeId(id as u32),
                n as u32,
                p,
                steady,
            )))
        } else if id < n + self.brokers {
            NsNode::Broker(Box::new(Broker::new((id - n) as u32, list, p, steady)))
        } else {
            NsNode::Client(Box::new(Client::new(list, n as u32, p)))
        }
    }
}

impl crate::runner::FromWorkload for RocketNameServer {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        RocketNameServer::new(sizes[0], sizes[1], NsParams::from_params(&w.params))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns(self.namesrvs, self.brokers, out)
    }
}

/// The path's columns of a trial (see [`COLUMNS`]).
pub fn columns(namesrvs: usize, brokers: usize, out: &SimOutput) -> Vec<Option<f64>> {
    let mut cols = vec![None; COLUMNS.len()];
    let Some(f) = out.faults.iter().find(|f| f.applied) else {
        return cols;
    };
    let t0 = f.at;
    let Some(hit) = f.node.map(NodeId::index) else {
        return cols;
    };
    if !(namesrvs..namesrvs + brokers).contains(&hit) {
        return cols;
    }
    let b = (hit - namesrvs) as u32;
    let scope = Scope::Part(b);
    let removal = |r: &&crate::engine::sim::Record| {
        r.at >= t0
            && r.obs.scope() == scope
            && matches!(
                r.obs,
                Obs::Phase {
                    name: "scanNotActiveBroker" | "onChannelDestroy",
                    ..
                }
            )
    };
    let mut first_removal: Vec<(NodeId, SimTime)> = Vec::new();
    for r in out.records.iter().filter(removal) {
        if !first_removal.iter().any(|x| x.0 == r.node) {
            first_removal.push((r.node, r.at));
        }
    }
    let ms = |a: SimTime, b: SimTime| Some(a.since(b).as_ms_f64());
    if let Some(first) = first_removal.iter().map(|x| x.1).min() {
        cols[0] = ms(first, t0);
        if first_removal.len() == namesrvs {
            let last = first_removal.iter().map(|x| x.1).max().expect("non-empty");
            cols[1] = ms(last, first);
        }
    }
    let first_client = namesrvs + brokers;
    let clients: std::collections::BTreeSet<NodeId> = out
        .records
        .iter()
        .filter(|r| r.node.index() >= first_client)
        .map(|r| r.node)
        .collect();
    if !clients.is_empty() {
        let mut worst = Some(t0);
        for c in &clients {
            let t = out
                .records
                .iter()
                .find(|r| {
                    r.node == *c
                        && r.at >= t0
                        && r.obs.scope() == scope
                        && matches!(
                            r.obs,
                            Obs::Phase {
                                name: "unroute",
                                ..
                            }
                        )
                })
                .map(|r| r.at);
            worst = match (worst, t) {
                (Some(w), Some(t)) => Some(w.max(t)),
                _ => None,
            };
        }
        cols[2] = worst.and_then(|w| ms(w, t0));
    }
    cols
}

impl Model for RocketNameServer {
    type Node = NsNode;
    type Checker = NsChecker;

    fn servers(&self) -> usize {
        self.namesrvs + self.brokers
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("namesrv", self.namesrvs), ("brokers", self.brokers)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<NsNode>, NsChecker) {
        let nodes = (0..self.servers() + clients)
            .map(|i| self.node(i, true))
            .collect();
        let checker = NsChecker::new(self.params.expiry);
        (nodes, checker)
    }

    fn recover(&self, id: NodeId, _durable: &()) -> NsNode {
        self.node(id.index(), false)
    }
}
