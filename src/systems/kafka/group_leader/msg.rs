//! The group protocol's requests and responses (JoinGroup, SyncGroup,
//! Heartbeat), as the coordinator and a member exchange them.

use crate::engine::NodeId;

/// Error codes of the answers (`Errors.java`), those the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    None,
    RebalanceInProgress,
    UnknownMemberId,
    IllegalGeneration,
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
        /// The coordinator process that completed the join phase (its
        /// incarnation): a restarted coordinator counts generations again.
        coordinator: u32,
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
    },
}
