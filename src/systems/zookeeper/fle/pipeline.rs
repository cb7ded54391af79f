//! The CPU cost of the request pipeline during Zab broadcast: what makes an
//! ensemble saturate.
//!
//! Without it a write costs the model nothing but network and disk time, so
//! the throughput follows the offered load at any rate. In the real server
//! every write passes a chain of request processors, each a thread that
//! takes one request at a time (apache/zookeeper 3.8,
//! `LeaderZooKeeperServer.setupRequestProcessors`,
//! `FollowerZooKeeperServer.setupRequestProcessors`):
//!
//! * **Leader.** `LeaderRequestProcessor` → `PrepRequestProcessor` (its own
//!   thread: checks the request, builds the transaction) →
//!   `ProposalRequestProcessor`, which runs in the Prep thread and calls
//!   `Leader.propose`: under the leader's lock it serialises the PROPOSAL and
//!   `sendPacket` queues it on every forwarding learner's `LearnerHandler`
//!   (one queue and sender thread per learner); then the leader's own
//!   `SyncRequestProcessor` logs it and `AckRequestProcessor` acks it. Each
//!   learner's ACK is handled in that learner's handler thread by the
//!   synchronised `Leader.processAck`/`tryToCommit`, which queues a COMMIT on
//!   every learner; `CommitProcessor` and `FinalRequestProcessor` apply the
//!   transaction and answer the client.
//! * **Follower.** `Follower.processPacket` hands a PROPOSAL to
//!   `FollowerZooKeeperServer.logRequest` → `SyncRequestProcessor` (its own
//!   thread: append to the log, group flush) → `SendAckRequestProcessor`;
//!   a COMMIT goes to `CommitProcessor` → `FinalRequestProcessor`. A client
//!   write at a follower is forwarded to the leader by
//!   `FollowerRequestProcessor`.
//!
//! The model keeps two single-server FIFO stages ([`Stage`]), each with a
//! per-request service time (`model.*` parameters; 0 turns a cost off):
//!
//! * the leader's: a write waits its turn, then costs
//!   `model.leaderRequestUs + model.proposalSendUs × learners`, where
//!   `learners` are the forwarding learners when the write enters the stage;
//!   PROPOSALs go out when it is done. The per-learner term stands for all
//!   the leader's per-learner work of one write (PROPOSAL and COMMIT
//!   serialised and queued, the ACK read and processed), which in the real
//!   server is spread over the Prep thread and the learner handlers' threads
//!   but shares the leader's lock and its CPU cores. That is why the real
//!   write throughput falls as servers are added: the leader does work per
//!   learner for every write.
//! * a follower's: each PROPOSAL waits its turn and costs
//!   `model.followerRequestUs` before its log write is handed to the disk
//!   (the `SyncRequestProcessor` thread); the ACK goes once the write is
//!   durable, as before. The transaction is in the follower's working log
//!   on arrival (`pendingTxns`), so a COMMIT that overtakes the log write is
//!   applied, as `CommitProcessor` does.
//!
//! The disk is the engine's disk model: group commit, an fsync per batch,
//! the leader's and each follower's log on their own disk.
//!
//! Calibration (`results/zookeeper-throughput.md`): the leader's two costs
//! are fitted to the write-only saturation throughput of the ZooKeeper paper
//! (Hunt et al., USENIX ATC 2010, §5.1, Table 1: 21k writes/s with 3
//! servers down to 8k with 13), as `1 / (leaderRequestUs + proposalSendUs ×
//! (servers − 1))`. `model.followerRequestUs` is an estimate below the
//! leader's 3-server service time, so the leader saturates first, as it does
//! in the paper.
//!
//! Simplifications:
//! * One stage per server stands for several threads on several cores; the
//!   commit path (ACK handling, COMMIT sends, `FinalRequestProcessor`) costs
//!   nothing beyond what the per-learner term charges up front, so queueing
//!   at saturation shows up before the PROPOSAL, not before the COMMIT.
//! * Forwarding a client write at a follower (`FollowerRequestProcessor`)
//!   and answering a client cost nothing; reads cost nothing.
//! * Service times are constant, not distributions, and do not grow with
//!   the request size or the data tree.
//! * `zookeeper.maxBatchSize` (1000 writes per flush,
//!   `SyncRequestProcessor.shouldFlush`) is not modelled: a batch takes
//!   everything queued during the fsync before it. It binds only when
//!   fsync time × write rate exceeds 1000. Snapshots every
//!   `zookeeper.snapCount` (100000) transactions run in a background
//!   thread and are not modelled.
//! * No throttling (`zookeeper.globalOutstandingLimit`): beyond saturation
//!   the open-loop clients' writes queue without bound, so the latency
//!   grows with the trial's length while the throughput stays at the
//!   saturation point.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::engine::{NodeId, SimDuration, SimTime};
use crate::systems::Params;

use super::durable::ZkWrite;
use super::tree::TxnBody;

/// The `model.*` service times of the request pipeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineCosts {
    /// The leader's work per write, besides the per-learner part.
    pub leader_request: SimDuration,
    /// The leader's work per write per forwarding learner.
    pub proposal_send: SimDuration,
    /// A follower's work per proposal before its log write.
    pub follower_request: SimDuration,
}

impl PipelineCosts {
    pub fn from_params(p: &Params) -> Self {
        let us = |name| SimDuration::from_us(p.get_u64(name));
        PipelineCosts {
            leader_request: us("model.leaderRequestUs"),
            proposal_send: us("model.proposalSendUs"),
            follower_request: us("model.followerRequestUs"),
        }
    }

    /// The leader's service time of one write with `learners` forwarding
    /// learners.
    pub fn leader(&self, learners: usize) -> SimDuration {
        self.leader_request + self.proposal_send.saturating_mul(learners as u64)
    }
}

/// What a stage does when a request's service ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// The leader proposes a client write (`origin` is the server the
    /// client is connected to).
    Propose {
        origin: NodeId,
        client: NodeId,
        /// The client's request id.
        op: u64,
        /// A session transaction's body (`None` for a plain write).
        body: Option<Arc<TxnBody>>,
    },
    /// A follower hands a proposal's log write to the disk.
    Log(ZkWrite),
}

/// A single-threaded stage: requests are served one at a time, in arrival
/// order, each for its own service time.
#[derive(Clone, Debug, Default)]
pub struct Stage {
    /// Requests in arrival order, each with when its service ends
    /// (non-decreasing).
    queue: VecDeque<(SimTime, Work)>,
}

impl Stage {
    /// A request arrives at `now` and needs `cost` of service. Returns the
    /// delay after which the stage's timer must fire when the stage was idle
    /// (otherwise the pending timer is for an earlier request, and
    /// [`Stage::pop_due`] re-arms it).
    pub fn offer(&mut self, now: SimTime, cost: SimDuration, work: Work) -> Option<SimDuration> {
        let start = self.queue.back().map_or(now, |&(due, _)| due.max(now));
        let due = start + cost;
        let idle = self.queue.is_empty();
        self.queue.push_back((due, work));
        idle.then(|| due.since(now))
    }

    /// The next request whose service has ended by `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<Work> {
        match self.queue.front() {
            Some(&(due, _)) if due <= now => self.queue.pop_front().map(|(_, w)| w),
            _ => None,
        }
    }

    /// When the next request's service ends, if one waits.
    pub fn next_due(&self) -> Option<SimTime> {
        self.queue.front().map(|&(due, _)| due)
    }

    /// A change of role: the process's request processors are shut down and
    /// what they held is dropped.
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn propose(id: u64) -> Work {
        Work::Propose {
            origin: NodeId(0),
            client: NodeId(9),
            op: id,
            body: None,
        }
    }

    fn us(x: u64) -> SimTime {
        SimTime(x * 1_000)
    }

    #[test]
    fn a_busy_stage_queues_requests_in_arrival_order() {
        let mut s = Stage::default();
        let c = SimDuration::from_us(10);
        assert_eq!(s.offer(us(0), c, propose(1)), Some(c), "idle: arm");
        assert_eq!(s.offer(us(3), c, propose(2)), None, "busy: queued");
        // Arrives after the stage went idle again: served at once.
        assert_eq!(s.next_due(), Some(us(10)));
        assert_eq!(s.pop_due(us(9)), None, "not done yet");
        assert_eq!(s.pop_due(us(10)), Some(propose(1)));
        assert_eq!(
            s.next_due(),
            Some(us(20)),
            "the second waited for the first"
        );
        assert_eq!(s.pop_due(us(20)), Some(propose(2)));
        assert!(s.is_empty());
        assert_eq!(s.offer(us(50), c, propose(3)), Some(c));
        assert_eq!(s.next_due(), Some(us(60)));
    }

    #[test]
    fn the_leaders_cost_grows_with_each_learner() {
        let p = PipelineCosts {
            leader_request: SimDuration::from_us(31),
            proposal_send: SimDuration::from_us(7),
            follower_request: SimDuration::ZERO,
        };
        assert_eq!(p.leader(0), SimDuration::from_us(31));
        assert_eq!(p.leader(2), SimDuration::from_us(45));
        assert_eq!(p.leader(12), SimDuration::from_us(115));
    }
}
