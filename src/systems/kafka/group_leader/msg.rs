//! The group protocol's requests and responses (FindCoordinator, JoinGroup,
//! SyncGroup, Heartbeat), as the coordinator and a member exchange them, and
//! what brokers tell each other (the controller's liveness rule, the
//! replication of the group's `__consumer_offsets` record).

use crate::engine::NodeId;

/// Error codes of the answers (`Errors.java`), those the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    None,
    RebalanceInProgress,
    UnknownMemberId,
    IllegalGeneration,
    /// The broker does not lead the group's `__consumer_offsets` partition.
    NotCoordinator,
    /// The new coordinator is still replaying its partition.
    CoordinatorLoadInProgress,
}

/// The group's record in `__consumer_offsets` (`groupMetadataValue`): what a
/// new coordinator loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    pub generation: u32,
    pub leader_id: String,
    /// Member ids and their nodes in the old coordinator's map iteration
    /// order (`allMemberMetadata`), which is the order the loader adds them.
    pub members: Vec<(String, NodeId)>,
}

#[derive(Clone, Debug)]
pub enum Msg {
    /// JoinGroup; `member_id` empty on a member's first join.
    JoinGroup {
        member_id: String,
    },
    /// JoinGroup v4+ first answer: MEMBER_ID_REQUIRED with the id to use.
    MemberIdRequired {
        member_id: String,
    },
    /// JoinGroup answer at the end of the join phase. The leader gets the
    /// member list (`members`, its length is all the model needs).
    JoinResponse {
        /// The coordinator process that completed the join phase (its node
        /// and incarnation): a restarted coordinator counts generations
        /// again.
        coordinator: (NodeId, u32),
        generation: u32,
        member_id: String,
        leader_id: String,
        leader: NodeId,
        members: Option<u32>,
    },
    /// A JoinGroup that lost its place (removed, unknown id): start over.
    JoinError {
        error: ErrorCode,
    },
    /// SyncGroup; the leader's carries every member's assignment.
    SyncGroup {
        generation: u32,
        member_id: String,
        assignments: bool,
    },
    SyncResponse {
        generation: u32,
        error: ErrorCode,
    },
    Heartbeat {
        generation: u32,
        member_id: String,
    },
    HeartbeatResponse {
        error: ErrorCode,
        /// Not on the wire: the NONE is the blind answer of a coordinator
        /// still loading the group (`handleHeartbeat`), which a real client
        /// cannot tell from a real one; the member's record of its first
        /// good heartbeat after a move needs to.
        loading: bool,
    },
    /// FindCoordinator (key type GROUP) to any broker.
    FindCoordinator,
    /// The leader of the group's partition in the broker's metadata; `None`
    /// is COORDINATOR_NOT_AVAILABLE (no live leader).
    FindCoordinatorResponse {
        coordinator: Option<NodeId>,
    },
    /// Broker to broker: "I am alive" (stands for the broker's heartbeat to
    /// the KRaft controller), with the sender's view of the group
    /// partition's leader and leader epoch.
    BrokerHeartbeat {
        epoch: u32,
        leader: Option<NodeId>,
    },
    /// The coordinator's `storeGroup` append, fetched by a follower replica.
    Replicate {
        record: GroupRecord,
    },
    /// The follower has the record (acks=-1 waits for every in-sync one).
    ReplicateAck {
        generation: u32,
    },
}
