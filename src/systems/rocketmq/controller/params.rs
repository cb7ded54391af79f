//! Parameters of `rocketmq/controller`, under the names of RocketMQ's
//! `BrokerConfig`, `ControllerConfig`, `MessageStoreConfig`, `ClientConfig`
//! and `DefaultMQProducer` (apache/rocketmq, 5.x).

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec::int(
        "brokerHeartbeatInterval",
        1,
        600_000,
        1_000,
        "ms",
        "How often a broker sends BrokerHeartbeat (epoch, max offset, election priority) to \
         the controller (BrokerConfig.java).",
    ),
    ParamSpec::int(
        "controllerHeartBeatTimeoutMills",
        1,
        3_600_000,
        10_000,
        "ms",
        "Heartbeat timeout the broker announces; the controller treats a broker silent this \
         long as inactive (BrokerConfig.java, DefaultBrokerHeartbeatManager.isBrokerActive).",
    ),
    ParamSpec::int(
        "scanNotActiveBrokerInterval",
        1,
        600_000,
        5_000,
        "ms",
        "Period of the controller's scanNotActiveBroker, first run 2000 ms after start \
         (ControllerConfig.java, DefaultBrokerHeartbeatManager.java).",
    ),
    ParamSpec::int(
        "scanInactiveMasterInterval",
        1,
        600_000,
        5_000,
        "ms",
        "Period of the controller leader's rescan for groups whose master is inactive \
         (ControllerConfig.java, DLedgerController.scanInactiveMasterAndTriggerReelect).",
    ),
    ParamSpec {
        name: "enableElectUncleanMaster",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(false),
        unit: "",
        doc: "When no SyncStateSet member is valid, elect from all replicas \
              (ControllerConfig.java, ReplicasInfoManager.electMaster).",
    },
    ParamSpec {
        name: "notifyBrokerRoleChanged",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(true),
        unit: "",
        doc: "The controller pushes the election result to every broker of the group; when \
              false, brokers learn it at their next syncBrokerMetadataPeriod poll \
              (ControllerConfig.java, ControllerManager.notifyBrokerRoleChanged).",
    },
    ParamSpec::int(
        "syncBrokerMetadataPeriod",
        1,
        600_000,
        5_000,
        "ms",
        "How often a broker polls the controller's replica info (master, epochs, \
         SyncStateSet); a broker that sees no master asks for an election (BrokerConfig.java, \
         ReplicasManager.schedulingSyncBrokerMetadata).",
    ),
    ParamSpec::int(
        "checkSyncStateSetPeriod",
        1,
        600_000,
        5_000,
        "ms",
        "How often the master checks whether to shrink its SyncStateSet (BrokerConfig.java, \
         ReplicasManager.checkSyncStateSetAndDoReport).",
    ),
    ParamSpec::int(
        "haMaxTimeSlaveNotCatchup",
        1,
        3_600_000,
        15_000,
        "ms",
        "A slave that has not caught up with the master for longer than this leaves the \
         SyncStateSet (MessageStoreConfig.java, AutoSwitchHAService.maybeShrinkSyncStateSet).",
    ),
    ParamSpec::int(
        "haSendHeartbeatInterval",
        1,
        600_000,
        5_000,
        "ms",
        "How often an idle slave reports its max offset to the master (MessageStoreConfig.java).",
    ),
    ParamSpec::int(
        "haHousekeepingInterval",
        1,
        3_600_000,
        20_000,
        "ms",
        "The master closes an HA connection it has read nothing from for this long \
         (MessageStoreConfig.java).",
    ),
    ParamSpec {
        name: "allAckInSyncStateSet",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(false),
        unit: "",
        doc: "A write is acknowledged only when every SyncStateSet member has it; otherwise \
              when inSyncReplicas replicas (the master included) have it \
              (MessageStoreConfig.java, CommitLog.asyncPutMessage).",
    },
    ParamSpec::int(
        "inSyncReplicas",
        1,
        64,
        1,
        "count",
        "Replicas, the master included, that must have a write before it is acknowledged, \
         when allAckInSyncStateSet is false (MessageStoreConfig.java).",
    ),
    ParamSpec::int(
        "minInSyncReplicas",
        1,
        64,
        1,
        "count",
        "A put is rejected (IN_SYNC_REPLICAS_NOT_ENOUGH) while the SyncStateSet is smaller \
         (MessageStoreConfig.java, CommitLog.asyncPutMessage).",
    ),
    ParamSpec::int(
        "slaveTimeout",
        1,
        600_000,
        3_000,
        "ms",
        "How long the master waits for the acknowledgements a write needs before answering \
         FLUSH_SLAVE_TIMEOUT (MessageStoreConfig.java).",
    ),
    ParamSpec {
        name: "brokerElectionPriority",
        kind: ParamKind::PerNode {
            group: "brokers",
            min: i32::MIN as i64,
            max: i32::MAX as i64,
        },
        default: ParamDefault::Each(i32::MAX as i64),
        unit: "",
        doc: "Election priority of each broker, lower is preferred, compared after epoch and \
              max offset (BrokerConfig.java, DefaultElectPolicy comparator; \
              Integer.MAX_VALUE by default).",
    },
    ParamSpec::int(
        "pollNameServerInterval",
        1,
        3_600_000,
        30_000,
        "ms",
        "How often a producer refreshes its topic route (ClientConfig.java, \
         MQClientInstance.startScheduledTask).",
    ),
    ParamSpec::int(
        "sendMsgTimeout",
        1,
        600_000,
        3_000,
        "ms",
        "Time budget of one synchronous send (DefaultMQProducer.java); also the model's \
         timeout of a route query.",
    ),
];

/// The typed parameters of one sweep point.
#[derive(Clone, Debug, PartialEq)]
pub struct RcParams {
    pub heartbeat_interval: SimDuration,
    pub heartbeat_timeout: SimDuration,
    pub scan_interval: SimDuration,
    pub scan_inactive_master_interval: SimDuration,
    pub unclean: bool,
    pub notify_role_changed: bool,
    pub sync_metadata_period: SimDuration,
    pub check_sync_state_set_period: SimDuration,
    pub max_not_catchup: SimDuration,
    pub ha_heartbeat_interval: SimDuration,
    pub ha_housekeeping: SimDuration,
    pub all_ack: bool,
    pub in_sync_replicas: usize,
    pub min_in_sync_replicas: usize,
    pub slave_timeout: SimDuration,
    /// `brokerElectionPriority` of each broker.
    pub priority: Vec<i32>,
    pub poll_interval: SimDuration,
    pub send_timeout: SimDuration,
}

impl RcParams {
    pub fn from_params(p: &Params) -> Self {
        let ms = |n: &str| SimDuration::from_ms(p.get_u64(n));
        RcParams {
            heartbeat_interval: ms("brokerHeartbeatInterval"),
            heartbeat_timeout: ms("controllerHeartBeatTimeoutMills"),
            scan_interval: ms("scanNotActiveBrokerInterval"),
            scan_inactive_master_interval: ms("scanInactiveMasterInterval"),
            unclean: p.get_bool("enableElectUncleanMaster"),
            notify_role_changed: p.get_bool("notifyBrokerRoleChanged"),
            sync_metadata_period: ms("syncBrokerMetadataPeriod"),
            check_sync_state_set_period: ms("checkSyncStateSetPeriod"),
            max_not_catchup: ms("haMaxTimeSlaveNotCatchup"),
            ha_heartbeat_interval: ms("haSendHeartbeatInterval"),
            ha_housekeeping: ms("haHousekeepingInterval"),
            all_ack: p.get_bool("allAckInSyncStateSet"),
            in_sync_replicas: p.get_u64("inSyncReplicas") as usize,
            min_in_sync_replicas: p.get_u64("minInSyncReplicas") as usize,
            slave_timeout: ms("slaveTimeout"),
            priority: p
                .get_list("brokerElectionPriority")
                .iter()
                .map(|v| *v as i32)
                .collect(),
            poll_interval: ms("pollNameServerInterval"),
            send_timeout: ms("sendMsgTimeout"),
        }
    }

    /// Whether the real system promises that no acknowledged write is lost
    /// when one master fails: every write waits for the whole SyncStateSet
    /// and the new master comes only from it.
    pub fn promises_no_loss(&self) -> bool {
        self.all_ack && !self.unclean
    }
}
