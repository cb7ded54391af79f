//! The ZooKeeper client operations a broker uses, as a trait, so the broker's
//! rules run against the modelled ensemble (through the ZooKeeper client API
//! of `zookeeper::fle::app`) and, in unit tests, against a small fake.
//!
//! The request and reply types are the client API's.

use crate::engine::{NodeId, Obs, SimDuration, SimTime};

use super::broker::Broker;
use super::msg::{KafkaMsg, KafkaNote, KafkaTimer};

pub use crate::systems::zookeeper::fle::{
    Op, Req, SessionState, WatchKind, ZkApi, ZkError, ZkEvent, ZkReply,
};

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
    /// The current session's id (0 before the first connection).
    fn session_id(&self) -> u64;
}

/// The broker hosted on a ZooKeeper client process of the modelled ensemble.
impl ZkPort for ZkApi<'_, '_, Broker> {
    fn now(&self) -> SimTime {
        ZkApi::now(self)
    }
    fn me(&self) -> NodeId {
        ZkApi::me(self)
    }
    fn record(&mut self, obs: Obs<KafkaNote>) {
        ZkApi::record(self, obs);
    }
    fn send(&mut self, to: NodeId, msg: KafkaMsg) {
        ZkApi::send(self, to, msg);
    }
    fn set_timer(&mut self, after: SimDuration, t: KafkaTimer) {
        ZkApi::set_timer(self, after, t);
    }
    fn cancel_timer(&mut self, t: KafkaTimer) {
        ZkApi::cancel_timer(self, t);
    }
    fn create(&mut self, path: &str, data: u64, ephemeral: bool) -> Req {
        ZkApi::create(self, path, data, ephemeral)
    }
    fn get_data(&mut self, path: &str, watch: bool) -> Req {
        ZkApi::get_data(self, path, watch)
    }
    fn exists(&mut self, path: &str, watch: bool) -> Req {
        ZkApi::exists(self, path, watch)
    }
    fn multi(&mut self, ops: Vec<Op>) -> Req {
        ZkApi::multi(self, ops)
    }
    fn new_session(&mut self) {
        ZkApi::new_session(self);
    }
    fn session_id(&self) -> u64 {
        ZkApi::session_id(self)
    }
}
