//! Messages of `kafka/partition-leader`. Partition state travels as data:
//! one message carries every partition it is about.

use std::sync::Arc;

use super::layout::Mask;
use crate::systems::kafka::elect::BrokerId;

/// One record: a producer's write, stamped with the leader epoch it was
/// appended in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub epoch: u32,
    pub id: u64,
}

/// The new state of one partition, as the controller committed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub p: u32,
    pub leader: BrokerId,
    pub leader_epoch: u32,
    /// The partition epoch (zkVersion in zk mode): goes up with every change.
    pub part_epoch: u32,
    pub isr: Mask,
}

/// One partition of a follower's Fetch.
#[derive(Clone, Copy, Debug)]
pub struct FetchItem {
    /// Index among the partitions with traffic.
    pub ai: u32,
    pub offset: u64,
    /// The leader epoch the follower knows (`currentLeaderEpoch`).
    pub leader_epoch: u32,
    /// The epoch of the follower's last record (`lastFetchedEpoch`).
    pub last_epoch: Option<u32>,
}

#[derive(Clone, Debug)]
pub enum FetchData {
    Records {
        entries: Vec<Entry>,
        hw: u64,
    },
    /// The follower's log diverges (KIP-101/KIP-595): the leader's largest
    /// epoch at or below the follower's last one, and where it ends.
    Diverging {
        epoch: Option<u32>,
        end: u64,
    },
    /// FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER.
    Error,
}

#[derive(Clone, Debug)]
pub struct FetchResult {
    pub ai: u32,
    /// The fetch offset this answers.
    pub offset: u64,
    pub data: FetchData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProduceResult {
    Ok { offset: u64 },
    NotLeaderOrFollower,
    NotEnoughReplicas,
}

#[derive(Clone, Debug)]
pub enum Msg {
    /// Broker → controller: a KRaft BrokerHeartbeat, or (zk mode) the
    /// broker's ZooKeeper session ping, the controller standing in for the
    /// ensemble. From a broker the controller holds dead, a registration.
    Heartbeat,
    /// Broker → controller at process start: a registration (kraft
    /// BrokerRegistration; zk a new session and /brokers/ids znode) with the
    /// process's incarnation, so a bounce is told from a heartbeat.
    Register {
        incarnation: u32,
    },
    /// Leader → controller: the ISR it wants (KIP-497).
    AlterPartition {
        p: u32,
        leader_epoch: u32,
        part_epoch: u32,
        isr: Mask,
    },
    AlterPartitionRejected {
        p: u32,
    },
    /// Controller → broker: committed partition changes (LeaderAndIsr and
    /// UpdateMetadata in zk mode, metadata records in kraft mode).
    Delta(Arc<Vec<Change>>),
    Fetch {
        req: u64,
        items: Vec<FetchItem>,
    },
    FetchResp {
        req: u64,
        items: Vec<FetchResult>,
    },
    Produce {
        op: u64,
        ai: u32,
    },
    ProduceResp {
        op: u64,
        res: ProduceResult,
    },
    Metadata {
        req: u64,
    },
    /// Leader and leader epoch of each partition with traffic.
    MetadataResp {
        req: u64,
        parts: Arc<Vec<(BrokerId, u32)>>,
    },
}
