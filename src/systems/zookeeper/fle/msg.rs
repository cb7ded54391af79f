//! Messages between servers (election and Zab) and between clients and servers.

use crate::engine::{ClientOp, NodeId};

use super::vote::{ServerState, Sid, Zxid};

/// One transaction in a server's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Txn {
    pub zxid: Zxid,
    /// Server the client's request came in through; it answers the client.
    pub origin: NodeId,
    pub client: NodeId,
    pub op: u64,
}

/// An FLE notification (FastLeaderElection.java `Notification`/`ToSend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    pub sid: Sid,
    pub state: ServerState,
    pub leader: Sid,
    pub zxid: Zxid,
    pub election_epoch: u64,
    pub peer_epoch: u64,
}

/// How the leader brings a learner up to date (LearnerHandler.java `syncFollower`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Send the committed transactions the learner lacks.
    Diff,
    /// The learner has transactions the leader never had: cut them, then DIFF.
    Trunc,
    /// The learner is too far behind: send a snapshot.
    Snap,
}

/// Every message of the model. `conn` numbers a learner's (or client's)
/// connection, so packets of an earlier, closed connection are recognised and
/// dropped as TCP would.
#[derive(Clone, Debug)]
pub enum Msg {
    Notification(Notification),

    // Learner -> leader.
    FollowerInfo {
        conn: u64,
        accepted_epoch: u64,
    },
    /// `current_epoch` is `None` for ZooKeeper's −1 (the learner had already
    /// accepted this epoch), which does not count towards the quorum.
    AckEpoch {
        conn: u64,
        current_epoch: Option<u64>,
        last_zxid: Zxid,
    },
    AckNewLeader {
        conn: u64,
    },
    Ack {
        conn: u64,
        zxid: Zxid,
    },
    PingReply {
        conn: u64,
    },
    /// A client write the learner forwards to the leader.
    Forward {
        conn: u64,
        client: NodeId,
        op: ClientOp,
    },
    /// The learner closed the connection.
    LearnerClose {
        conn: u64,
    },

    // Leader -> learner.
    LeaderInfo {
        conn: u64,
        new_epoch: u64,
    },
    Sync {
        conn: u64,
        mode: SyncMode,
        /// For TRUNC: drop every transaction above this zxid first.
        truncate_to: Zxid,
        txns: Vec<Txn>,
        /// The leader's last committed zxid: `txns` above it are proposals
        /// forwarded without their COMMIT (`startForwarding`).
        committed: Zxid,
    },
    NewLeader {
        conn: u64,
        epoch: u64,
    },
    UpToDate {
        conn: u64,
    },
    Proposal {
        conn: u64,
        txn: Txn,
    },
    Commit {
        conn: u64,
        zxid: Zxid,
    },
    Ping {
        conn: u64,
    },
    /// The connection attempt was refused (this server is not leading), or the
    /// leader closed the connection.
    LeaderClose {
        conn: u64,
    },

    // Client <-> server.
    Connect {
        conn: u64,
        last_zxid: Zxid,
    },
    ConnectOk {
        conn: u64,
    },
    /// The server closed the client's connection (refused, or it stopped serving).
    ClientClose {
        conn: u64,
    },
    Request {
        conn: u64,
        op: ClientOp,
    },
    /// The outcome of the client's operation `op` (its id).
    Reply {
        conn: u64,
        op: u64,
        ok: bool,
        zxid: Zxid,
    },
    ClientPing {
        conn: u64,
    },
    ClientPong {
        conn: u64,
    },
}

impl Msg {
    /// The connection a learner/leader or client/server packet belongs to;
    /// `None` for election notifications, which have no Zab connection.
    pub fn conn(&self) -> Option<u64> {
        match self {
            Msg::Notification(_) => None,
            Msg::FollowerInfo { conn, .. }
            | Msg::AckEpoch { conn, .. }
            | Msg::AckNewLeader { conn }
            | Msg::Ack { conn, .. }
            | Msg::PingReply { conn }
            | Msg::Forward { conn, .. }
            | Msg::LearnerClose { conn }
            | Msg::LeaderInfo { conn, .. }
            | Msg::Sync { conn, .. }
            | Msg::NewLeader { conn, .. }
            | Msg::UpToDate { conn }
            | Msg::Proposal { conn, .. }
            | Msg::Commit { conn, .. }
            | Msg::Ping { conn }
            | Msg::LeaderClose { conn }
            | Msg::Connect { conn, .. }
            | Msg::ConnectOk { conn }
            | Msg::ClientClose { conn }
            | Msg::Request { conn, .. }
            | Msg::Reply { conn, .. }
            | Msg::ClientPing { conn }
            | Msg::ClientPong { conn } => Some(*conn),
        }
    }
}
