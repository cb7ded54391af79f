//! Messages between servers (election and Zab) and between clients and servers.

use std::sync::Arc;

use crate::engine::{ClientOp, NodeId};

use super::app::{Op, WatchKind, ZkError, ZkReply};
use super::tree::TxnBody;

use super::vote::{ServerState, Sid, Zxid};

/// One transaction in a server's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Txn {
    pub zxid: Zxid,
    /// Server the client's request came in through; it answers the client.
    pub origin: NodeId,
    pub client: NodeId,
    /// The load client's operation id, or a session client's request id.
    pub op: u64,
    /// A session transaction (createSession, closeSession, a znode write);
    /// `None` for a `zookeeper/fle` load client's opaque write.
    pub body: Option<Arc<TxnBody>>,
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

/// A request of a session client (the opcode and body of a ZooKeeper
/// `RequestHeader` + request record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkOp {
    Create {
        path: String,
        data: u64,
        ephemeral: bool,
    },
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
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
    Multi(Vec<Op>),
    CloseSession,
}

impl ZkOp {
    /// Reads are answered by the connected server; everything else is a
    /// transaction through the leader.
    pub fn is_read(&self) -> bool {
        matches!(self, ZkOp::GetData { .. } | ZkOp::Exists { .. })
    }
}

/// Every message of the model. `conn` numbers a learner's (or client's)
/// connection, so packets of an earlier, closed connection are recognised and
/// dropped as TCP would. `M` is the message type of the applications hosted
/// on session clients (`Msg::App`); `zookeeper/fle` has none.
#[derive(Clone, Debug)]
pub enum Msg<M = ()> {
    Notification(Notification),
    /// Application-to-application message between hosted apps.
    App(M),

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
    /// The learner's answer to a PING, carrying the sessions its clients
    /// touched since the last one, with their timeouts (ms)
    /// (`LearnerSessionTracker.snapshot`, read by `LearnerHandler` on PING).
    PingReply {
        conn: u64,
        touches: Vec<(u64, u64)>,
    },
    /// A session client's write (or createSession/closeSession) the learner
    /// forwards to the leader (`Learner.request`).
    ForwardZk {
        conn: u64,
        client: NodeId,
        session: u64,
        req: u64,
        /// Boxed: rare, and it would make every message larger.
        op: Box<ZkSessionOp>,
    },
    /// `Learner.validateSession`: may a reconnecting client's session go on?
    Revalidate {
        conn: u64,
        client: NodeId,
        session: u64,
        timeout: u64,
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
    /// The leader's answer to REVALIDATE.
    RevalidateReply {
        conn: u64,
        client: NodeId,
        session: u64,
        valid: bool,
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

    // Session client <-> server (ClientCnxn, NIOServerCnxn).
    /// ConnectRequest: `session` 0 asks for a new session; `timeout` is the
    /// requested session timeout (ms).
    SessConnect {
        conn: u64,
        last_zxid: Zxid,
        session: u64,
        timeout: u64,
    },
    /// ConnectResponse: the session and its negotiated timeout; timeout 0
    /// says the session has expired (the server then closes the socket).
    SessConnected {
        conn: u64,
        session: u64,
        timeout: u64,
    },
    /// SetWatches after a reconnect: the client's watches and the last zxid
    /// it saw.
    SetWatches {
        conn: u64,
        relative_zxid: Zxid,
        /// Data watches, then exist watches (boxed, as `ForwardZk::op`).
        paths: Box<(Vec<String>, Vec<String>)>,
    },
    ZkRequest {
        conn: u64,
        req: u64,
        op: Box<ZkOp>,
    },
    ZkResponse {
        conn: u64,
        req: u64,
        zxid: Zxid,
        result: Result<ZkReply, ZkError>,
    },
    WatchEvent {
        conn: u64,
        path: String,
        kind: WatchKind,
    },
    SessPing {
        conn: u64,
    },
    SessPong {
        conn: u64,
    },
}

/// What a session client asks the leader to turn into a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkSessionOp {
    /// `createSession` with the negotiated timeout (ms).
    CreateSession { timeout: u64 },
    /// A write (or multi, or closeSession) of an existing session.
    Op(ZkOp),
}

impl<M> Msg<M> {
    /// The same packet under another application message type: for server
    /// packets, which carry no application message.
    pub fn retype<N>(self) -> Msg<N> {
        match self {
            Msg::Proposal { conn, txn } => Msg::Proposal { conn, txn },
            Msg::Commit { conn, zxid } => Msg::Commit { conn, zxid },
            _ => unreachable!("only held Zab packets are retyped"),
        }
    }
}

impl<M> Msg<M> {
    /// The connection a learner/leader or client/server packet belongs to;
    /// `None` for election notifications, which have no Zab connection.
    pub fn conn(&self) -> Option<u64> {
        match self {
            Msg::Notification(_) | Msg::App(_) => None,
            Msg::FollowerInfo { conn, .. }
            | Msg::AckEpoch { conn, .. }
            | Msg::AckNewLeader { conn }
            | Msg::Ack { conn, .. }
            | Msg::PingReply { conn, .. }
            | Msg::ForwardZk { conn, .. }
            | Msg::Revalidate { conn, .. }
            | Msg::RevalidateReply { conn, .. }
            | Msg::SessConnect { conn, .. }
            | Msg::SessConnected { conn, .. }
            | Msg::SetWatches { conn, .. }
            | Msg::ZkRequest { conn, .. }
            | Msg::ZkResponse { conn, .. }
            | Msg::WatchEvent { conn, .. }
            | Msg::SessPing { conn }
            | Msg::SessPong { conn }
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

#[cfg(test)]
mod tests {
    #[test]
    fn session_packets_do_not_make_every_message_larger() {
        // A FLE notification (48 bytes) or a Zab SYNC with its tag: what
        // every message of the simulator's queue costs.
        assert!(std::mem::size_of::<super::Msg>() <= 56);
    }
}
