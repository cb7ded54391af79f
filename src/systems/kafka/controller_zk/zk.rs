//! The ZooKeeper client operations a broker uses, as a trait, so the broker's
//! rules run against the modelled ensemble (through the ZooKeeper client API
//! of `zookeeper::fle::app`) and, in unit tests, against a small fake.
//!
//! The request and reply types follow the shared client API spec; until that
//! API is merged they are declared here.

use crate::engine::{NodeId, Obs, SimDuration, SimTime};

use super::msg::{KafkaMsg, KafkaNote, KafkaTimer};

/// Id of one ZooKeeper request, answered later by [`ZkEvent::Reply`].
pub type Req = u64;

/// One operation of a `multi` (all-or-nothing, one Zab transaction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Create {
        path: String,
        data: u64,
        ephemeral: bool,
    },
    SetData {
        path: String,
        data: u64,
        version: Option<i32>,
    },
    Delete {
        path: String,
        version: Option<i32>,
    },
    Check {
        path: String,
        version: i32,
    },
}

/// A successful reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkReply {
    Created,
    /// exists / getData / setData on an existing node.
    Stat {
        data: u64,
        version: i32,
    },
    /// exists on a missing node.
    NoNodeStat,
    Deleted,
    Multi,
}

/// A failed request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ZkError {
    NodeExists,
    NoNode,
    BadVersion,
    ConnectionLoss,
    SessionExpired,
}

/// What fired a one-shot watch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Created,
    Deleted,
    DataChanged,
}

/// The state of the hosting node's ZooKeeper session.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionState {
    SyncConnected,
    Disconnected,
    Expired,
}

/// What the ZooKeeper client tells the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkEvent {
    Reply {
        req: Req,
        result: Result<ZkReply, ZkError>,
    },
    Watch {
        path: String,
        kind: WatchKind,
    },
    Session(SessionState),
}

/// Everything a broker does to the world: its node's context and its
/// ZooKeeper session.
pub trait ZkPort {
    fn now(&self) -> SimTime;
    fn me(&self) -> NodeId;
    fn record(&mut self, obs: Obs<KafkaNote>);
    fn send(&mut self, to: NodeId, msg: KafkaMsg);
    fn set_timer(&mut self, after: SimDuration, t: KafkaTimer);
    fn cancel_timer(&mut self, t: KafkaTimer);
    fn create(&mut self, path: &str, data: u64, ephemeral: bool) -> Req;
    fn get_data(&mut self, path: &str, watch: bool) -> Req;
    fn exists(&mut self, path: &str, watch: bool) -> Req;
    fn multi(&mut self, ops: Vec<Op>) -> Req;
    /// Start a fresh session after [`SessionState::Expired`].
    fn new_session(&mut self);
}
