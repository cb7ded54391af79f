//! Cluster bus messages (cluster_legacy.h `clusterMsg` types), the
//! replication stream, and the client commands.

use crate::engine::{ClientOp, NodeId};

/// What a node says of another in a gossip section (clusterMsgDataGossip):
/// only the flags the failure detection reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gossip {
    pub node: NodeId,
    /// PFAIL or FAIL in the sender's view.
    pub failing: bool,
}

/// The header every bus message carries (clusterMsg): the sender's epochs,
/// role, claimed slot range and replication offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub current_epoch: u64,
    /// The sender's config epoch, or its master's for a replica.
    pub config_epoch: u64,
    /// `Some(shard)` when the sender is a master claiming that slot range.
    pub slots: Option<u32>,
    /// The sender's master, when it is a replica.
    pub replica_of: Option<NodeId>,
    pub offset: u64,
}

#[derive(Clone, Debug)]
pub enum Msg {
    /// CLUSTERMSG_TYPE_PING / PONG with a gossip section.
    Ping {
        h: Header,
        gossip: Vec<Gossip>,
    },
    Pong {
        h: Header,
        gossip: Vec<Gossip>,
    },
    /// CLUSTERMSG_TYPE_FAIL: `node` is FAIL, by quorum.
    Fail {
        h: Header,
        node: NodeId,
    },
    /// CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST for the slots of `shard`.
    AuthRequest {
        h: Header,
        shard: u32,
    },
    /// CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK.
    AuthAck {
        h: Header,
    },
    /// CLUSTERMSG_TYPE_UPDATE: `owner` serves `shard` at `config_epoch`.
    Update {
        h: Header,
        owner: NodeId,
        shard: u32,
        config_epoch: u64,
    },
    /// The replication stream: the write at `offset` (offsets count SETs).
    Stream {
        offset: u64,
        op: u64,
    },
    /// The master's PING on the replication stream.
    StreamPing,
    /// A replica (re)attaches; the master answers with a full sync.
    Psync,
    FullSync {
        log: Vec<u64>,
    },
    /// Client command `op` on key slot `slot`.
    Cmd {
        op: ClientOp,
        slot: u32,
    },
    Reply {
        op: u64,
        outcome: Outcome,
    },
    /// CLUSTER SLOTS and its answer: the master of each shard, as seen.
    Slots {
        req: u64,
    },
    SlotMap {
        req: u64,
        masters: Vec<Option<NodeId>>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `-MOVED slot node`.
    Moved {
        slot: u32,
        to: NodeId,
    },
    /// `-CLUSTERDOWN`.
    Down,
}
