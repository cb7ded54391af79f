//! Controller-to-broker requests, the broker's timers and the facts its
//! checker reads.

use super::zk::Req;

/// A controller request to a broker (ControllerChannelManager.scala), each
/// carrying the sender's controller epoch, by which brokers fence a stale
/// controller (ReplicaManager.scala `STALE_CONTROLLER_EPOCH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KafkaMsg {
    /// The live brokers (and the controller's id).
    UpdateMetadata {
        controller_epoch: u64,
        controller: u32,
    },
    /// Leader and ISR of `partitions` partitions this broker replicates, in
    /// one batch.
    LeaderAndIsr {
        controller_epoch: u64,
        controller: u32,
        partitions: u64,
    },
}

impl KafkaMsg {
    pub fn controller_epoch(&self) -> u64 {
        match self {
            KafkaMsg::UpdateMetadata {
                controller_epoch, ..
            }
            | KafkaMsg::LeaderAndIsr {
                controller_epoch, ..
            } => *controller_epoch,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            KafkaMsg::UpdateMetadata { .. } => "UpdateMetadata",
            KafkaMsg::LeaderAndIsr { .. } => "LeaderAndIsr",
        }
    }
}

/// A step of `onControllerFailover` whose bulk ZooKeeper work is modelled
/// as a duration (see `cost.rs`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// `initializeControllerContext`: every partition's state znode read.
    InitializeContext,
    /// `replicaStateMachine.startup()`: offline replicas removed from ISRs.
    ReplicaStateMachine,
    /// `partitionStateMachine.startup()`: leaders elected for offline
    /// partitions.
    PartitionStateMachine,
    /// `onBrokerFailure` of an active controller: the dead broker's leaders
    /// re-elected and its replicas removed from ISRs.
    BrokerFailure,
}

impl Step {
    /// The timeline phase recorded when the step is done.
    pub fn phase(self) -> &'static str {
        match self {
            Step::InitializeContext => "initialize_context",
            Step::ReplicaStateMachine => "replica_state_machine",
            Step::PartitionStateMachine => "partition_state_machine",
            Step::BrokerFailure => "broker_failure",
        }
    }
}

/// Broker timers, keyed by value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KafkaTimer {
    /// The bulk part of controller epoch `epoch`'s step `step` is done.
    StepDone { epoch: u64, step: Step },
    /// Try `registerBroker` again: a registration of an earlier session of
    /// this broker was still there.
    RetryRegister,
}

/// What became of a controller's fenced state write.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// ZooKeeper applied it.
    Accepted,
    /// The `/controller_epoch` zkVersion check failed
    /// (`wrapRequestWithControllerEpochCheck`): another controller was
    /// elected (ControllerMovedException).
    EpochCheck,
    /// ZooKeeper answered that the writer's session had expired.
    SessionExpired,
    /// The connection was lost before an answer; re-issued (as a new write)
    /// once reconnected, as `retryRequestUntilConnected` does. It may have
    /// been applied.
    Lost,
    /// Outstanding or awaiting its retry when the session expired: the
    /// controller resigned without learning whether it was applied.
    Abandoned,
}

/// Facts for the path's checker and columns.
#[derive(Clone, Debug, PartialEq)]
pub enum KafkaNote {
    /// `broker`'s multi created `/controller` and set `/controller_epoch`
    /// to `epoch` (zkVersion `version`).
    Elected {
        broker: u32,
        epoch: u64,
        version: i32,
    },
    /// A controller of `epoch` issued a fenced state write.
    WriteIssued { broker: u32, req: Req, epoch: u64 },
    /// What became of it.
    WriteDone {
        broker: u32,
        req: Req,
        epoch: u64,
        outcome: Outcome,
    },
    /// `initializeControllerContext` read `partitions` partition states in
    /// `ms` of simulated time.
    MetadataLoaded {
        epoch: u64,
        partitions: u64,
        ms: f64,
    },
    /// `broker` applied a request of controller epoch `epoch`.
    Applied { broker: u32, epoch: u64 },
    /// `broker` rejected a request of `epoch`, having seen `seen`
    /// (STALE_CONTROLLER_EPOCH).
    StaleEpoch { broker: u32, epoch: u64, seen: u64 },
    /// A controller of `epoch` resigned (`onControllerResignation`).
    Resigned { broker: u32, epoch: u64 },
}
