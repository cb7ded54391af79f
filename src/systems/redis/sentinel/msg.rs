//! Messages between Redis instances, Sentinels and clients.

use crate::engine::{ClientOp, NodeId};

/// A Redis instance's role as INFO reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoRole {
    Master,
    Replica,
}

/// The fields of an INFO reply Sentinel reads (sentinel.c
/// sentinelRefreshInstanceInfo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// `run_id`: random, new at every start of the process.
    pub run_id: u64,
    pub role: InfoRole,
    /// Master: its connected replicas (`slaveN:` lines).
    pub replicas: Vec<NodeId>,
    /// Replica: `master_host`/`master_port`.
    pub master: Option<NodeId>,
    /// Replica: `master_link_status:up`.
    pub link_up: bool,
    /// Replica: `master_link_down_since_seconds`, in ms; 0 while up or
    /// never connected.
    pub link_down_ms: u64,
    /// `slave_repl_offset` (replica) or `master_repl_offset` (master), in
    /// writes.
    pub offset: u64,
    /// `slave_priority`.
    pub priority: u32,
}

/// A Sentinel's hello, published on `__sentinel__:hello` of each instance
/// every 2 s (sentinel.c sentinelSendHello).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub sentinel: NodeId,
    pub current_epoch: u64,
    /// The master address this Sentinel holds, and its config epoch.
    pub master: NodeId,
    pub config_epoch: u64,
}

/// A client command's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; for a write followed by WAIT, `replicas` is what WAIT returned.
    Ok { replicas: usize },
    /// `-READONLY`: the instance is a replica.
    ReadOnly,
    /// `-NOREPLICAS`: min-replicas-to-write not met.
    NoReplicas,
}

#[derive(Clone, Debug)]
pub enum Msg {
    // Sentinel -> instance.
    Ping,
    InfoReq,
    /// PUBLISH __sentinel__:hello; the instance forwards it to its
    /// subscribers (every Sentinel that has contacted it).
    Publish(Hello),
    /// The MULTI; SLAVEOF; CONFIG REWRITE; CLIENT KILL; EXEC transaction;
    /// `None` is SLAVEOF NO ONE.
    SlaveOf(Option<NodeId>),
    // Instance -> Sentinel.
    Pong,
    InfoReply(Box<Info>),
    Hello(Hello),
    // Sentinel <-> Sentinel.
    /// SENTINEL IS-MASTER-DOWN-BY-ADDR with the asker's current epoch;
    /// `vote` is the runid argument: the asker's own id (a vote request) or
    /// `*`.
    IsMasterDown {
        master: NodeId,
        epoch: u64,
        vote: bool,
    },
    IsMasterDownReply {
        down: bool,
        leader: Option<NodeId>,
        leader_epoch: u64,
    },
    // Client <-> Sentinel.
    GetMasterAddr {
        req: u64,
    },
    MasterAddr {
        req: u64,
        master: NodeId,
    },
    // Client <-> instance.
    Cmd {
        conn: u64,
        op: ClientOp,
    },
    Reply {
        conn: u64,
        op: u64,
        outcome: Outcome,
    },
    /// CLIENT KILL: the instance closed the client's connection.
    Kill,
    // Replica <-> master.
    /// PSYNC replid offset, on handshake `attempt`.
    Psync {
        attempt: u64,
        replid: u64,
        offset: u64,
    },
    /// +FULLRESYNC followed by the (diskless) RDB: the master's whole data.
    FullResync {
        attempt: u64,
        replid: u64,
        log: Vec<u64>,
    },
    /// +CONTINUE with the backlog from the replica's offset.
    Continue {
        attempt: u64,
        replid: u64,
        from: u64,
        ops: Vec<u64>,
    },
    /// Propagated writes starting at offset `from` (empty: a ping).
    Stream {
        from: u64,
        ops: Vec<u64>,
    },
    /// REPLCONF ACK offset.
    Ack {
        offset: u64,
    },
    /// REPLCONF GETACK.
    GetAck,
    /// The replica closed its connection to this master (the FIN after its
    /// last bytes on the link).
    ReplClose,
}
