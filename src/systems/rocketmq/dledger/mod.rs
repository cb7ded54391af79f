//! `rocketmq/dledger`: a RocketMQ broker group whose commit log is DLedger
//! (`enableDLegerCommitLog=true`): 1 master + N-1 slaves, the master being
//! the DLedger leader. It runs on the shared Raft core
//! (`systems/raft/core.rs`) with [`crate::systems::raft::dledger`] switched
//! on: what is shared with `raft/etcd` and what is DLedger's own (with the
//! source file and method of each rule) is listed there.
//!
//! Sources: PROTOCOLS.md §5.0, §5.3, §6.1–6.2; openmessaging/dledger
//! `DLedgerLeaderElector.java`, `DLedgerConfig.java`, `MemberState.java`,
//! `DLedgerEntryPusher.java`, `DLedgerServer.java`; apache/rocketmq
//! `DLedgerRoleChangeHandler.java` (the broker turns master once its ledger
//! is committed, polling every 100 ms, and slave on any other role).
//!
//! Node group: `brokers`, the members of one DLedger group (`dLegerPeers`),
//! default 3. Clients are **producers** sending messages to the group's
//! master. A producer knows the master from its route: it asks the brokers
//! when it starts and every `pollNameServerInterval` (30 s), standing in
//! for the NameServer, whose route for the group is overwritten at once by
//! the broker that turns master (it registers with every NameServer on
//! `changeToMaster`); the NameServer's own latency is not modelled. A send
//! goes to the route's master only; a refused send (not master, transfer
//! under way, quorum-ack timeout) is retried `retryTimesWhenSendFailed`
//! times at the same broker, a send without answer fails after
//! `sendMsgTimeout`. So after the master dies producers write again only
//! at their next route refresh after a new master: `failover_ms` includes up
//! to 30 s of route staleness, `master_ms` does not.
//!
//! A send is acknowledged when DLedger commits it (quorum water mark); the
//! shared Raft checker checks at most one leader per term and that
//! committed entries and acknowledged writes survive.
//!
//! Timeline phases: `vote` (a vote round), `candidate`, `follower`,
//! `leader`, `step-down`, `changeToMaster`, `changeToSlave`,
//! `leadershipTransfer` (the leader hands over to the preferred member),
//! `takeLeadership` (the transferee is caught up and stands),
//! `takeLeadership-success`, `takeLeadership-failed`.
//!
//! **Replication speed.** A new entry leaves the master at its
//! `EntryDispatcher`s' next pass: they push what is new, then sleep 1 ms
//! (`waitForRunning(1)`, which no append cuts short since dledger commit
//! 71d2153), so commit latency includes a 0-1 ms wait and a closed loop at
//! zero latency commits about its writes in flight per millisecond
//! (`replication/rocketmq-dledger/live/*` in benches/runtimes.rs: ~130k
//! writes/s with 128 in flight, at 3 and at 15 brokers alike). An append's
//! `maxWaitAckTimeMs` deadline leaves with it when it commits; one timer
//! per leader stands for QuorumAckChecker's scan of pending futures
//! (`checkResponseFuturesTimeout`). See [`crate::systems::raft::dledger`].
//!
//! Not modelled: the broker's dispatch of the commit log to consume queues
//! (`dispatchBehindBytes`), consumers, NameServer latency and expiry,
//! multiple broker groups (a producer's retries to other groups), DLedger
//! snapshots and membership changes, synchronous flush.

mod params;
#[cfg(test)]
mod tests;

pub use params::dledger_config;

use crate::engine::fault::Target;
use crate::engine::sim::SimOutput;
use crate::engine::{Model, NodeId, Obs, Scope, SimDuration, Targeting};
use crate::systems::raft::{
    raft_columns, Client, Config, RaftChecker, RaftDurable, RaftNode, Server,
};
use crate::systems::{ColumnSpec, GroupSpec, Params, PathInfo, TargetSpec};
use crate::workload::Workload;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "rocketmq/dledger",
    system: "rocketmq",
    summary: "RocketMQ broker group on DLedger: heartbeat-loss detection, DLedger's vote rounds, \
              the leader turns master; preferred-leader transfer",
    groups: &[GroupSpec {
        name: "brokers",
        word: "broker",
        min: 1,
        max: 15,
        default: None,
        doc: "Brokers of one DLedger group (dLegerPeers); the DLedger leader is the master.",
    }],
    params: params::SPECS,
    targets: &[TargetSpec {
        word: "master",
        takes_number: false,
        doc: "The broker that is DLedger leader (the master), as `leader`.",
    }],
    columns: COLUMNS,
    prepare: crate::runner::prepare::<DledgerModel>,
};

/// The columns of this path: the Raft core's, then DLedger's.
pub const COLUMNS: &[ColumnSpec] = &[
    crate::systems::raft::LEADERLESS,
    crate::systems::raft::SPLIT_VOTES,
    ColumnSpec::lower_ms(
        "master_ms",
        "From the fault to the first broker turning master after it (DLedgerRoleChangeHandler \
         changeToMaster: a DLedger leader whose ledger end is committed); producers may need up \
         to pollNameServerInterval more to find it (failover_ms); empty when none.",
    ),
    ColumnSpec::lower_ms(
        "transfer_ms",
        "Preferred-leader transfer: from the leader's last leadershipTransfer attempt before \
         the first master that follows a transfer started after the fault, to that master \
         turning master. Refused attempts (the transferee still a candidate after a restart) \
         are retried every 1000 ms and not counted; empty when no transfer started after the \
         fault or none completed.",
    ),
];

/// The model of one sweep point.
#[derive(Clone, Debug)]
pub struct DledgerModel {
    pub brokers: usize,
    pub cfg: Config,
    /// sendMsgTimeout, pollNameServerInterval, retryTimesWhenSendFailed.
    pub producer: (SimDuration, SimDuration, u32),
}

/// RocketMQ's and DLedger's settings read into the core's configuration.
pub fn config(p: &Params) -> Config {
    let dl = dledger_config(p);
    let hb = SimDuration::from_ms(dl.heartbeat_interval_ms);
    Config {
        heartbeat: hb,
        election_min: SimDuration::from_ms(dl.leak_ms()),
        election_max: SimDuration::from_ms(dl.leak_ms()),
        tick: None,
        pre_vote: false,
        check_quorum: false,
        reset_on_step_down: false,
        whole_ms_timeouts: false,
        replicate: true,
        max_batch: 64,
        client_timeout: SimDuration::from_ms(p.get_u64("sendMsgTimeout")),
        kraft: None,
        dledger: Some(dl),
    }
}

impl DledgerModel {
    pub fn new(brokers: usize, p: &Params) -> Self {
        DledgerModel {
            brokers,
            cfg: config(p),
            producer: params::producer(p),
        }
    }

    fn server(&self, i: usize, d: RaftDurable) -> RaftNode {
        RaftNode::Server(Box::new(Server::new(
            NodeId(i as u32),
            self.brokers,
            self.cfg.clone(),
            d,
            false,
        )))
    }
}

/// `master_ms` and `transfer_ms` of a trial.
pub fn dledger_columns(out: &SimOutput) -> Vec<Option<f64>> {
    let Some(t0) = out.faults.iter().find(|f| f.applied).map(|f| f.at) else {
        return vec![None, None];
    };
    let master_after = |from: crate::engine::SimTime| {
        out.records.iter().find_map(|r| match r.obs {
            Obs::Serving {
                scope: Scope::Whole,
                ..
            } if r.at >= from => Some(r.at),
            _ => None,
        })
    };
    let master = master_after(t0).map(|at| at.since(t0).as_ms_f64());
    let transfer_at = |r: &crate::engine::sim::Record| match r.obs {
        Obs::Phase {
            name: "leadershipTransfer",
            ..
        } => Some(r.at),
        _ => None,
    };
    // The first transfer after the fault that a new master followed; the
    // attempt that master came from is the last one before it.
    let transfer = out
        .records
        .iter()
        .filter(|r| r.at >= t0)
        .find_map(transfer_at)
        .and_then(master_after)
        .and_then(|m| {
            let start = out
                .records
                .iter()
                .filter(|r| r.at >= t0 && r.at <= m)
                .rev()
                .find_map(transfer_at)?;
            Some(m.since(start).as_ms_f64())
        });
    vec![master, transfer]
}

impl crate::runner::FromWorkload for DledgerModel {
    fn from_workload(w: &Workload) -> Self {
        DledgerModel::new(w.nodes, &w.params)
    }

    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        let mut cols = raft_columns(out);
        cols.extend(dledger_columns(out));
        cols
    }
}

impl Model for DledgerModel {
    type Node = RaftNode;
    type Checker = RaftChecker;

    fn servers(&self) -> usize {
        self.brokers
    }

    fn build(&self, clients: usize) -> (Vec<RaftNode>, RaftChecker) {
        let mut nodes: Vec<RaftNode> = (0..self.brokers)
            .map(|i| self.server(i, RaftDurable::default()))
            .collect();
        let (timeout, refresh, retries) = self.producer;
        nodes.extend((0..clients).map(|_| {
            RaftNode::Client(Box::new(Client::producer(
                self.brokers,
                timeout,
                refresh,
                retries,
            )))
        }));
        (nodes, RaftChecker::default())
    }

    fn recover(&self, id: NodeId, durable: &RaftDurable) -> RaftNode {
        assert!(id.index() < self.brokers, "clients are never faulted");
        self.server(id.index(), durable.clone())
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, RaftNode>) -> Option<(usize, Scope)> {
        let i = match target {
            Target::Path { word: "master", .. } => t.leader(),
            other => t.common(other),
        }?;
        Some((i, Scope::Whole))
    }
}
