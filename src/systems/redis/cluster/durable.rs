//! What survives a crash: `nodes.conf` (clusterSaveConfig, fsynced on every
//! epoch, vote or slot change). Data is not persisted (no RDB, no AOF): a
//! restarted node comes back empty.

use crate::engine::{Durable, NodeId};

use super::msg::Msg;

/// The part of `nodes.conf` the model reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodesConf {
    pub current_epoch: u64,
    /// `lastVoteEpoch`.
    pub last_vote_epoch: u64,
    /// This node's config epoch (a master's own; a replica keeps its last).
    pub config_epoch: u64,
    /// The master of each shard and that master's config epoch, as last seen.
    pub shards: Vec<(NodeId, u64)>,
    /// This node's master, when it is a replica.
    pub replica_of: Option<NodeId>,
}

#[derive(Clone, Debug)]
pub struct ConfWrite {
    pub conf: NodesConf,
    /// A reply that waits for the fsync (a vote).
    pub reply: Option<(NodeId, Msg)>,
}

#[derive(Clone, Debug, Default)]
pub struct RcDurable {
    pub conf: NodesConf,
}

impl Durable for RcDurable {
    type Write = ConfWrite;

    fn apply(&mut self, w: &ConfWrite) {
        self.conf = w.conf.clone();
    }

    fn bytes(_: &ConfWrite) -> u64 {
        // One line per node.
        1024
    }
}
