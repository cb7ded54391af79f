//! What survives a crash: `redis.conf` of an instance (rewritten by
//! CONFIG REWRITE after SLAVEOF) and `sentinel.conf` of a Sentinel (rewritten
//! by sentinelFlushConfig with an fsync). Data is not persisted (no RDB, no
//! AOF): a restarted instance comes back empty.

use crate::engine::{Durable, NodeId};

use super::msg::Msg;

/// The part of `redis.conf` the model reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisConf {
    /// `replicaof`; `None` is a master.
    pub replicaof: Option<NodeId>,
}

/// The part of `sentinel.conf` the model reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentinelConf {
    pub current_epoch: u64,
    /// `sentinel monitor` address and its `config-epoch`.
    pub master: NodeId,
    pub config_epoch: u64,
    /// `leader-epoch`: the epoch of this Sentinel's last vote, and for whom.
    pub leader: Option<NodeId>,
    pub leader_epoch: u64,
    /// `known-sentinel` and `known-replica` lines.
    pub known_sentinels: Vec<NodeId>,
    pub known_replicas: Vec<NodeId>,
}

impl Default for SentinelConf {
    /// Monitoring the first Redis instance, the initial master.
    fn default() -> Self {
        SentinelConf {
            current_epoch: 0,
            master: NodeId(0),
            config_epoch: 0,
            leader: None,
            leader_epoch: 0,
            known_sentinels: Vec::new(),
            known_replicas: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RsDurable {
    pub redis: RedisConf,
    pub sentinel: SentinelConf,
}

#[derive(Clone, Debug)]
pub enum RsWrite {
    Redis(RedisConf),
    /// The rewritten `sentinel.conf`, and the reply that waits for it (a
    /// vote is answered only once it is on disk).
    Sentinel {
        conf: SentinelConf,
        reply: Option<(NodeId, Msg)>,
    },
}

impl Durable for RsDurable {
    type Write = RsWrite;

    fn apply(&mut self, w: &RsWrite) {
        match w {
            RsWrite::Redis(c) => self.redis = c.clone(),
            RsWrite::Sentinel { conf, .. } => self.sentinel = conf.clone(),
        }
    }

    fn bytes(_: &RsWrite) -> u64 {
        // A few hundred bytes of config file.
        512
    }
}
