//! Messages between brokers, the controller and producers.

use crate::engine::NodeId;

use super::durable::{Entry, EpochEntry, Info};

/// What a put answers a producer (`PutMessageStatus`/`SendStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendStatus {
    /// `SEND_OK`: acknowledged.
    Ok,
    /// `FLUSH_SLAVE_TIMEOUT`: stored on the master, not acknowledged.
    SlaveTimeout,
    /// `IN_SYNC_REPLICAS_NOT_ENOUGH`: rejected.
    NotEnoughReplicas,
    /// Not the master (a slave rejects writes).
    NotMaster,
}

#[derive(Clone, Debug)]
pub enum Msg {
    // Broker -> controller.
    /// `BrokerHeartbeat`: what the election comparator reads.
    Heartbeat {
        epoch: u32,
        max_offset: u64,
        priority: i32,
    },
    /// `GetReplicaInfo` (the syncBrokerMetadata poll, and at start).
    GetReplicaInfo,
    /// `brokerElect`: a broker that sees no master asks for an election.
    BrokerElect,
    /// `AlterSyncStateSet` from the master.
    Alter {
        master_epoch: u32,
        sync_state_set_epoch: u32,
        new_set: Vec<u32>,
    },
    /// The master registers its route (`registerBrokerWhenRoleChange`) with
    /// the NameServer the controller is embedded in.
    RegisterRoute {
        master_epoch: u32,
    },

    // Controller -> broker.
    /// The answer to GetReplicaInfo or BrokerElect.
    ReplicaInfo(Info),
    /// `notifyBrokerRoleChanged`.
    RoleChanged(Info),
    /// The answer to Alter; `info` is the controller's record after it.
    AlterResult {
        ok: bool,
        info: Info,
    },

    // HA connection, slave <-> master; `conn` numbers the connection.
    /// Slave -> master: open the connection.
    HaHandshake {
        conn: u64,
    },
    /// Master -> slave: the master's epoch file and max offset.
    HaEpochs {
        conn: u64,
        epochs: Vec<EpochEntry>,
        max_offset: u64,
    },
    /// Master -> slave: messages from `start`.
    HaData {
        conn: u64,
        start: u64,
        entries: Vec<Entry>,
    },
    /// Master -> slave: the master closed the connection (housekeeping).
    HaClose {
        conn: u64,
    },
    /// Slave -> master: its max offset (the acknowledgement and heartbeat).
    HaAck {
        conn: u64,
        offset: u64,
    },

    // Producer <-> route source and master.
    GetRoute {
        seq: u64,
    },
    Route {
        seq: u64,
        master: Option<NodeId>,
    },
    /// A send (`read` false) or a pull from the master (`read` true).
    Send {
        op: u64,
        read: bool,
    },
    SendResult {
        op: u64,
        status: SendStatus,
    },
}
