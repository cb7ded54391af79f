//! Messages of `eureka/peer-replication`: the REST calls of Eureka's HTTP API
//! (`ApplicationResource`, `InstanceResource`, `PeerReplicationResource`,
//! `ApplicationsResource`) and a service call from a client to an instance.

/// A replicated operation (PeerEurekaNode's task kinds the model uses).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Register,
    Heartbeat,
    Cancel,
}

/// One item of a replication batch: `action` on instance `inst` (its index in
/// the `instances` group).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub action: Action,
    pub inst: u32,
}

/// Per-item result of a batch (ReplicationInstanceResponse status codes).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ItemStatus {
    /// 200.
    Ok,
    /// 404: a heartbeat for an instance the peer does not hold; the sender
    /// re-sends a register.
    NotFound,
}

#[derive(Clone, Debug)]
pub enum Msg {
    /// `POST /apps/{app}` from an instance.
    Register {
        seq: u64,
        inst: u32,
    },
    /// `PUT /apps/{app}/{id}` (heartbeat) from an instance.
    Renew {
        seq: u64,
        inst: u32,
    },
    /// The server's answer to a register (204) or a renew (200, or 404 when
    /// it does not hold the instance: `found` false).
    Reply {
        seq: u64,
        found: bool,
    },
    /// `POST /peerreplication/batch/` between servers, always marked as a
    /// replication (`isReplication`), so the receiver never forwards it.
    Batch {
        id: u64,
        items: Vec<Item>,
    },
    /// The batch's 200 with one status per item, in order.
    BatchReply {
        id: u64,
        status: Vec<ItemStatus>,
    },
    /// `GET /apps/delta` from a client (the model sends the whole registry:
    /// the client's delta reconciliation ends at the same set).
    Fetch {
        seq: u64,
    },
    /// The registry as the server's response cache holds it: instance
    /// indices, ascending.
    Apps {
        seq: u64,
        instances: Vec<u32>,
    },
    /// A client calls a service instance (load balanced from its registry).
    Call {
        op: u64,
    },
    CallReply {
        op: u64,
    },
}
