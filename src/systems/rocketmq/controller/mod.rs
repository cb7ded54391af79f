//! `rocketmq/controller`: RocketMQ 5's controller mode, where a controller
//! elects a broker group's new master from its SyncStateSet
//! (PROTOCOLS.md §5.4; apache/rocketmq 5.x).
//!
//! # What is modelled, and from where (apache/rocketmq)
//!
//! * **One broker group** (group `brokers`, broker ids 0..n; default 3: a
//!   master and two slaves) and **one controller** (group `controller`).
//!   Brokers send `BrokerHeartbeat` (last epoch, max offset,
//!   `brokerElectionPriority`) every `brokerHeartbeatInterval` (1 s); the
//!   controller (`DefaultBrokerHeartbeatManager`) treats a broker silent for
//!   `controllerHeartBeatTimeoutMills` (10 s) as inactive at its
//!   `scanNotActiveBrokerInterval` scan (5 s, first after 2 s), or at once
//!   when the broker's connection closes (`onBrokerChannelClose`). An
//!   inactive master triggers `electMaster` (`ControllerManager.onBrokerInactive`);
//!   the controller also rescans every `scanInactiveMasterInterval` (5 s)
//!   for a master that is set but inactive (`DLedgerController`).
//! * **Election** ([`elect`]): `DefaultElectPolicy` over the SyncStateSet,
//!   then (with `enableElectUncleanMaster`) every replica; valid = active;
//!   keep a valid old master; else epoch desc, max offset desc, priority
//!   asc, with the real comparator's `int` arithmetic and the real tie
//!   (lowest broker id). Success: masterEpoch + 1, syncStateSetEpoch + 1,
//!   SyncStateSet = {new master} (`ReplicasInfoManager.electMaster`). A
//!   failed controller-triggered election leaves no master with masterEpoch
//!   one higher; a broker whose `syncBrokerMetadataPeriod` poll (5 s) then finds no
//!   master asks for one (`brokerElect`). The controller pushes the result
//!   to every broker (`notifyBrokerRoleChanged`, default on).
//! * **Brokers** (`ReplicasManager`): `changeToMaster` appends an epoch
//!   entry (epoch, start offset) to the epoch file, serves, and registers its
//!   route (`registerBrokerWhenRoleChange`); `changeToSlave` opens an HA
//!   connection to the master, whose handshake sends the master's epoch file;
//!   the slave truncates to the consistent point
//!   (`EpochFileCache.findConsistentPoint`) and then receives and
//!   acknowledges messages, adding an epoch entry where an epoch begins.
//! * **SyncStateSet** (`AutoSwitchHAService`): every
//!   `checkSyncStateSetPeriod` (5 s) the master removes slaves not caught up
//!   for `haMaxTimeSlaveNotCatchup` (15 s) or not connected; on each ack it
//!   adds a slave whose offset reaches the confirm offset and the current
//!   epoch's start. Each change is an `AlterSyncStateSet` the controller
//!   checks (master, masterEpoch, syncStateSetEpoch, members alive, master
//!   included); while unconfirmed, acknowledgements wait for the union of
//!   the old and proposed sets. A slave is caught up when its ack reaches the
//!   master's max offset at the last transfer to it (the time of that
//!   transfer counts).
//! * **Acknowledgement** (`CommitLog.asyncPutMessage`, `handleHA`,
//!   `GroupTransferService`): the master is `SYNC_MASTER`; a put is rejected
//!   if the SyncStateSet is smaller than `minInSyncReplicas`; with
//!   `allAckInSyncStateSet` every member of the SyncStateSet (union while
//!   synchronizing) must have it (at once when the set is the master alone),
//!   otherwise `inSyncReplicas` replicas counting the master (at once when
//!   1, the default); the wait ends after `slaveTimeout` (3 s) with
//!   `FLUSH_SLAVE_TIMEOUT`, which is not an acknowledgement.
//! * **Producers** (the engine's clients) send synchronously to the master of
//!   their route, and refresh the route every `pollNameServerInterval`
//!   (30 s) at a phase of their own.
//!
//! # Simplifications
//!
//! * **The controller is one process.** The real controller is a DLedger
//!   (or JRaft) group, possibly embedded in the NameServers; controller HA
//!   is out of scope here. Its Raft commit is one write to its own disk:
//!   replies and notifications that follow a change wait until that write
//!   is durable (the disk model's fsync). Its replica info survives a crash.
//! * **The route source is the controller's process**, as with
//!   `enableControllerInNamesrv`: the master registers its route on a role
//!   change, a closed connection drops it, and a restarted controller routes
//!   to the master of its replica info. The NameServer's 30 s
//!   re-registrations, 120 s expiry and separate NameServer processes are
//!   `rocketmq/nameserver`'s subject.
//! * **Producers do not retry** a failed send: there is one broker group, and
//!   the real retries go to another broker; a producer learns a new master
//!   only from its scheduled route refresh.
//! * Offsets count messages, not bytes; the commit log is `ASYNC_FLUSH` (no
//!   fsync before the acknowledgement). A slave acknowledges each transfer
//!   and reports its offset every `haSendHeartbeatInterval`; the master
//!   closes a connection silent for `haHousekeepingInterval`, checked at
//!   each SyncStateSet check. A slave whose connection closed reconnects
//!   after `haSendHeartbeatInterval`. A rejected AlterSyncStateSet is
//!   dropped and proposed again at the next check. Reads are served by the
//!   master without touching the log.
//! * `electMasterMaxRetryCount` is not modelled (the one controller's
//!   election does not time out), nor `enableSlaveActingMaster`,
//!   `enableAutoInSyncReplicas`, broker id assignment and registration, or
//!   the first-ever election (the trial starts with broker 1 master at epoch
//!   1 and every broker in the SyncStateSet).

mod broker;
mod checker;
mod client;
mod durable;
pub mod elect;
mod manager;
mod msg;
mod params;

#[cfg(test)]
mod tests;

pub use broker::{Broker, BrokerRole};
pub use checker::{final_master, RcChecker};
pub use client::Producer;
pub use durable::{consistent_point, Entry, EpochEntry, Info, RcDurable, RcWrite};
pub use manager::Controller;
pub use msg::{Msg, SendStatus};
pub use params::RcParams;

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{
    ClientOp, Ctx, Model, Node, NodeId, Obs, Role, Scope, SimTime, Targeting, Topology, View,
    WriteOf,
};
use crate::systems::{Better, ColumnSpec, GroupSpec, PathInfo, TargetSpec};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "rocketmq/controller",
    system: "rocketmq",
    summary: "RocketMQ 5 controller mode: the controller elects a new master from the \
              SyncStateSet by (epoch, max offset, priority); the master shrinks and expands \
              the SyncStateSet; writes acked by all of it (allAckInSyncStateSet) or by \
              inSyncReplicas",
    groups: &[
        GroupSpec {
            name: "brokers",
            word: "broker",
            min: 2,
            max: 16,
            default: Some(3),
            doc: "The brokers of one broker group: broker 1 is the master at the start.",
        },
        GroupSpec {
            name: "controller",
            word: "controller",
            min: 1,
            max: 1,
            default: Some(1),
            doc: "The controller (one process; the real one is a DLedger group), with the \
                  NameServer the producers ask for routes.",
        },
    ],
    params: params::SPECS,
    targets: &[
        TargetSpec {
            word: "master",
            takes_number: false,
            doc: "The live broker in the master role (highest master epoch).",
        },
        TargetSpec {
            word: "slave",
            takes_number: false,
            doc: "A random live broker in the slave role.",
        },
    ],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<RocketController>,
};

const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec::lower_ms(
        "master_ms",
        "From the fault to the first broker completing changeToMaster after it (elected by \
         the controller and serving); empty if none did.",
    ),
    ColumnSpec {
        name: "sync_state_set_size",
        unit: "count",
        better: Better::Higher,
        doc: "Smallest size of the controller's SyncStateSet over the trial (it starts with \
              every broker).",
    },
    ColumnSpec {
        name: "unclean_elections",
        unit: "count",
        better: Better::Lower,
        doc: "Elections of a master from outside the SyncStateSet (enableElectUncleanMaster).",
    },
];

/// Timers of every node kind, keyed by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Broker: BrokerHeartbeat to the controller.
    Heartbeat,
    /// Broker: the syncBrokerMetadata poll.
    SyncMetadata,
    /// Master: checkSyncStateSetAndDoReport (and HA housekeeping).
    CheckSyncStateSet,
    /// Master: a round of the HA write services (every 100 ms when idle).
    Transfer,
    /// Slave: report its offset on the HA connection.
    HaHeartbeat,
    /// Slave: reconnect to the master.
    HaReconnect,
    /// Master: the wait of write `op` for acknowledgements ran out.
    SlaveTimeout { op: u64 },
    /// Controller: scanNotActiveBroker.
    Scan,
    /// Controller: scanInactiveMasterAndTriggerReelect.
    ScanMaster,
    /// Producer: route refresh.
    Poll,
    /// Producer: the send of `op` timed out.
    SendTimeout { op: u64 },
}

/// Facts for [`RcChecker`].
#[derive(Clone, Debug)]
pub enum RcNote {
    /// The controller elected `master` in `master_epoch`; `sync_state_set`
    /// is the set it was elected from.
    Elected {
        master: u32,
        master_epoch: u32,
        sync_state_set: Vec<u32>,
        unclean_allowed: bool,
    },
    /// A controller-triggered election found no master.
    NoMaster { master_epoch: u32 },
    /// `broker` took a role in `epoch`, in process `incarnation`.
    RoleChange {
        broker: u32,
        incarnation: u32,
        epoch: u32,
    },
    /// A producer's write `op` was acknowledged by `master`.
    Acked { op: u64, master: u32 },
}

/// A broker, the controller or a producer.
#[derive(Clone, Debug)]
pub enum RcNode {
    Broker(Box<Broker>),
    Controller(Box<Controller>),
    Producer(Box<Producer>),
}

impl RcNode {
    pub fn broker(&self) -> Option<&Broker> {
        match self {
            RcNode::Broker(b) => Some(b),
            _ => None,
        }
    }

    pub fn controller(&self) -> Option<&Controller> {
        match self {
            RcNode::Controller(c) => Some(c),
            _ => None,
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
            RcNode::Broker(b) => b.on_start(ctx),
            RcNode::Controller(c) => c.on_start(ctx),
            RcNode::Producer(p) => p.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match self {
            RcNode::Broker(b) => b.on_message(ctx, from, msg),
            RcNode::Controller(c) => c.on_message(ctx, from, msg),
            RcNode::Producer(p) => p.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match self {
            RcNode::Broker(b) => b.on_timer(ctx, timer),
            RcNode::Controller(c) => c.on_timer(ctx, timer),
            RcNode::Producer(p) => p.on_timer(ctx, timer),
        }
    }

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        if let RcNode::Producer(p) = self {
            p.on_client(ctx, op);
        }
    }

    fn on_link_reset(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        match self {
            RcNode::Broker(b) => b.on_link_reset(ctx, peer),
            RcNode::Controller(c) => c.on_link_reset(ctx, peer),
            RcNode::Producer(p) => p.on_link_reset(ctx, peer),
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, write: WriteOf<Self>) {
        if let (RcNode::Controller(c), RcWrite::Info(_)) = (self, write) {
            c.on_persisted(ctx);
        }
    }

    fn durable(&self) -> RcDurable {
        match self {
            RcNode::Broker(b) => b.d.clone(),
            RcNode::Controller(c) => c.d.clone(),
            RcNode::Producer(_) => RcDurable::default(),
        }
    }

    fn view(&self) -> View {
        match self {
            RcNode::Broker(b) => b.view(),
            RcNode::Controller(c) => c.view(),
            RcNode::Producer(p) => p.view(),
        }
    }
}

/// The `rocketmq/controller` model of one sweep point.
#[derive(Clone, Debug)]
pub struct RocketController {
    pub brokers: usize,
    pub params: RcParams,
}

impl RocketController {
    pub fn new(brokers: usize, params: RcParams) -> Self {
        RocketController { brokers, params }
    }

    /// The record every node starts from: broker 0 master in epoch 1, every
    /// broker in the SyncStateSet.
    fn steady_info(&self) -> Info {
        Info {
            master: Some(0),
            master_epoch: 1,
            sync_state_set: (0..self.brokers as u32).collect(),
            sync_state_set_epoch: 1,
        }
    }

    fn node(&self, id: usize, d: Option<&RcDurable>) -> RcNode {
        let n = self.brokers;
        let p = self.params.clone();
        let controller = NodeId(n as u32);
        if id < n {
            match d {
                Some(d) => RcNode::Broker(Box::new(Broker::new(
                    id as u32,
                    controller,
                    p,
                    d.clone(),
                    None,
                ))),
                None => {
                    let d = RcDurable {
                        epochs: vec![EpochEntry { epoch: 1, start: 0 }],
                        ..RcDurable::default()
                    };
                    RcNode::Broker(Box::new(Broker::new(
                        id as u32,
                        controller,
                        p,
                        d,
                        Some(self.steady_info()),
                    )))
                }
            }
        } else if id == n {
            match d {
                Some(d) => {
                    RcNode::Controller(Box::new(Controller::new(n as u32, p, d.clone(), false)))
                }
                None => {
                    let d = RcDurable {
                        info: self.steady_info(),
                        ..RcDurable::default()
                    };
                    RcNode::Controller(Box::new(Controller::new(n as u32, p, d, true)))
                }
            }
        } else {
            RcNode::Producer(Box::new(Producer::new(controller, p, Some(NodeId(0)))))
        }
    }
}

impl crate::runner::FromWorkload for RocketController {
    fn from_workload(w: &Workload) -> Self {
        let sizes = w.topology.sizes();
        RocketController::new(sizes[0], RcParams::from_params(&w.params))
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        columns(self.brokers, out)
    }
}

/// The path's columns of a trial (see [`COLUMNS`]).
pub fn columns(brokers: usize, out: &SimOutput) -> Vec<Option<f64>> {
    let mut cols = vec![None; COLUMNS.len()];
    let controller = NodeId(brokers as u32);
    let mut size = brokers as i64;
    let mut min = size;
    let mut unclean = 0u64;
    for r in out.records.iter().filter(|r| r.node == controller) {
        if let Obs::Phase { name, .. } = r.obs {
            match name {
                "electMaster" => size = 1,
                "electMaster:unclean" => {
                    size = 1;
                    unclean += 1;
                }
                "alterSyncStateSet:remove" => size -= 1,
                "alterSyncStateSet:add" => size += 1,
                _ => {}
            }
            min = min.min(size);
        }
    }
    cols[1] = Some(min as f64);
    cols[2] = Some(unclean as f64);
    if let Some(f) = out.faults.iter().find(|f| f.applied) {
        let t0: SimTime = f.at;
        cols[0] = out
            .records
            .iter()
            .find(|r| {
                r.at > t0
                    && r.node.index() < brokers
                    && matches!(
                        r.obs,
                        Obs::Phase {
                            name: "changeToMaster",
                            ..
                        }
                    )
            })
            .map(|r| r.at.since(t0).as_ms_f64());
    }
    cols
}

impl Model for RocketController {
    type Node = RcNode;
    type Checker = RcChecker;

    fn servers(&self) -> usize {
        self.brokers + 1
    }

    fn topology(&self) -> Topology {
        Topology {
            groups: vec![("brokers", self.brokers), ("controller", 1)],
        }
    }

    fn build(&self, clients: usize) -> (Vec<RcNode>, RcChecker) {
        let nodes = (0..self.servers() + clients)
            .map(|i| self.node(i, None))
            .collect();
        let checker = RcChecker::new(self.brokers, self.params.promises_no_loss());
        (nodes, checker)
    }

    fn recover(&self, id: NodeId, durable: &RcDurable) -> RcNode {
        self.node(id.index(), Some(durable))
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, RcNode>) -> Option<(usize, Scope)> {
        match target {
            Target::Path { word: "master", .. } => {
                let best = (0..self.brokers)
                    .filter(|&i| t.up[i])
                    .filter_map(|i| {
                        let v = t.nodes[i].view();
                        (v.role == Role::Leader).then_some((v.term, i))
                    })
                    .max();
                best.map(|(_, i)| (i, Scope::Whole))
            }
            Target::Path { word: "slave", .. } => {
                let slaves: Vec<usize> = (0..self.brokers)
                    .filter(|&i| t.up[i] && t.nodes[i].view().role == Role::Follower)
                    .collect();
                (!slaves.is_empty())
                    .then(|| slaves[crate::engine::rng::index(t.rng, slaves.len())])
                    .map(|i| (i, Scope::Whole))
            }
            _ => t.common(target).map(|i| (i, Scope::Whole)),
        }
    }
}
