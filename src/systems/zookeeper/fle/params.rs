//! Parameters of `zookeeper/fle`, under ZooKeeper's own names.

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "tickTime",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(2000),
        unit: "ms",
        doc: "Base time unit. Default of conf/zoo_sample.cfg; a config that omits it gets 3000 \
              (ZooKeeperServer.DEFAULT_TICK_TIME).",
    },
    ParamSpec {
        name: "initLimit",
        kind: ParamKind::Int {
            min: 1,
            max: 10_000,
        },
        default: ParamDefault::Int(10),
        unit: "ticks",
        doc: "Ticks for a learner to connect and sync; bounds each Zab discovery/sync wait. \
              ZooKeeper has no default (startup fails without it); 10 is conf/zoo_sample.cfg.",
    },
    ParamSpec {
        name: "syncLimit",
        kind: ParamKind::Int {
            min: 1,
            max: 10_000,
        },
        default: ParamDefault::Int(5),
        unit: "ticks",
        doc: "Ticks a follower may be silent before it or the leader gives up on the other. \
              ZooKeeper has no default (startup fails without it); 5 is conf/zoo_sample.cfg.",
    },
    ParamSpec {
        name: "connectToLearnerMasterLimit",
        kind: ParamKind::Int {
            min: 0,
            max: 10_000,
        },
        default: ParamDefault::Int(0),
        unit: "ticks",
        doc: "Ticks a follower may take to connect to a new leader; 0 means initLimit \
              (QuorumPeerConfig.java).",
    },
    ParamSpec {
        name: "finalizeWait",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(200),
        unit: "ms",
        doc: "How long FLE waits for a better vote after a quorum agrees (FastLeaderElection.java \
              constant finalizeWait).",
    },
    ParamSpec {
        name: "zookeeper.fastleader.minNotificationInterval",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(200),
        unit: "ms",
        doc: "First FLE poll timeout; doubles after each empty poll (FastLeaderElection.java).",
    },
    ParamSpec {
        name: "zookeeper.fastleader.maxNotificationInterval",
        kind: ParamKind::Int {
            min: 1,
            max: 3_600_000,
        },
        default: ParamDefault::Int(60_000),
        unit: "ms",
        doc: "Cap of the FLE poll timeout backoff (FastLeaderElection.java).",
    },
    ParamSpec {
        name: "zookeeper.leaderConnectDelayDuringRetryMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(100),
        unit: "ms",
        doc: "Delay between a learner's attempts to connect to the leader (Learner.java \
              connectToLeader).",
    },
    ParamSpec {
        name: "zookeeper.commitLogCount",
        kind: ParamKind::Int {
            min: 0,
            max: 100_000_000,
        },
        default: ParamDefault::Int(500),
        unit: "count",
        doc: "Committed transactions the leader keeps in memory; a learner further behind is \
              synced by SNAP instead of DIFF (ZKDatabase.java).",
    },
    ParamSpec {
        name: "sessionTimeout",
        kind: ParamKind::Int {
            min: 1,
            max: 3_600_000,
        },
        default: ParamDefault::Int(30_000),
        unit: "ms",
        doc: "Session timeout a client asks for, clamped by the server to [minSessionTimeout, \
              maxSessionTimeout], by default [2, 20] x tickTime (ZooKeeperServer.java \
              processConnectRequest). 30000 is zkCli.sh's default. \
              Drives the client's read timeout (2/3) and connect timeout (1/servers).",
    },
    ParamSpec {
        name: "minSessionTimeout",
        kind: ParamKind::Int {
            min: -1,
            max: 3_600_000,
        },
        default: ParamDefault::Int(-1),
        unit: "ms",
        doc: "Lower bound of a negotiated session timeout; -1 means 2 x tickTime \
              (ZooKeeperServer.java getMinSessionTimeout, QuorumPeerConfig.java).",
    },
    ParamSpec {
        name: "maxSessionTimeout",
        kind: ParamKind::Int {
            min: -1,
            max: 3_600_000,
        },
        default: ParamDefault::Int(-1),
        unit: "ms",
        doc: "Upper bound of a negotiated session timeout; -1 means 20 x tickTime \
              (ZooKeeperServer.java getMaxSessionTimeout, QuorumPeerConfig.java).",
    },
    ParamSpec {
        name: "zookeeper.forceSync",
        kind: ParamKind::Enum(&["yes", "no"]),
        default: ParamDefault::Enum("yes"),
        unit: "",
        doc: "Whether the transaction log is fsynced before a proposal is acknowledged; \"no\" \
              skips the fsync (FileTxnLog.java, system property zookeeper.forceSync). The \
              accepted/current epoch files are written atomically with an fsync either way \
              (AtomicFileOutputStream). Costs time only with a [disk] fsync latency.",
    },
    ParamSpec {
        name: "model.shutdownMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(6),
        unit: "ms",
        doc: "Model cost, no ZooKeeper setting: least time a server takes to leave FOLLOWING or \
              LEADING before it sets LOOKING (QuorumPeer.run: Follower/Leader.shutdown joins the \
              request processors, flushes the sync processor, fast-forwards the database). \
              Until then it answers votes with its old FOLLOWING/LEADING vote. Each shutdown \
              draws shutdownMs + uniform(0, shutdownJitterMs); calibrated on ZooKeeper 3.8.0, \
              see results/zookeeper.md.",
    },
    ParamSpec {
        name: "model.shutdownJitterMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(24),
        unit: "ms",
        doc: "Model cost: the spread of a shutdown (uniform extra time), which staggers the \
              survivors' start of FastLeaderElection. \
              Measured shutdowns took 6-31 ms (results/zookeeper.md).",
    },
    ParamSpec {
        name: "model.fleNotificationUs",
        kind: ParamKind::Int {
            min: 0,
            max: 1_000_000,
        },
        default: ParamDefault::Int(8000),
        unit: "us",
        doc: "Model cost: the election threads' work per received notification \
              (Messenger.WorkerReceiver, which logs each one at INFO, then lookForLeader); \
              notifications are processed one at a time in arrival order, so the more \
              servers vote, the longer they queue. \
              Calibrated so that elections of 3 and 5 servers take what ZooKeeper 3.8.0 logged as \"LEADER ELECTION TOOK\" on a 2-core VM hosting all servers (results/zookeeper.md); on a dedicated host it is far smaller.",
    },
    ParamSpec {
        name: "model.fleSelfDeliveryUs",
        kind: ParamKind::Int {
            min: 0,
            max: 1_000_000,
        },
        default: ParamDefault::Int(1000),
        unit: "us",
        doc: "Model cost: a server's FLE notification to itself does not cross the network \
              but passes the WorkerSender, QuorumCnxManager.addToRecvQueue and the \
              WorkerReceiver threads before lookForLeader polls again; this is how long that \
              takes. \
              Real servers logged their own notification 1-30 ms after \"New election\" on that VM; 1 ms is the least that keeps the model from a third election mode ZooKeeper does not show (results/zookeeper.md).",
    },
    ParamSpec {
        name: "model.makeLeaderMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(14),
        unit: "ms",
        doc: "Model cost: from FLE's decision to lead to Leader.lead() (QuorumPeer.makeLeader \
              builds the LeaderZooKeeperServer and binds the learner socket; a learner that \
              connects earlier is refused). ZooKeeper's \"LEADER ELECTION TOOK\" ends here. \
              Measured median 13 ms (9-25) on ZooKeeper 3.8.0 (results/zookeeper.md).",
    },
    ParamSpec {
        name: "model.leaderLoadDataMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(8),
        unit: "ms",
        doc: "Model cost: Leader.lead() before it accepts learners (ZooKeeperServer.loadData: \
              kill dead sessions, take a snapshot without fsync). A learner that connects \
              meanwhile waits in the socket's backlog. \
              Measured median 6-7 ms (results/zookeeper.md).",
    },
    ParamSpec {
        name: "model.makeFollowerMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(4),
        unit: "ms",
        doc: "Model cost: from FLE's decision to follow to the first connection attempt \
              (QuorumPeer.makeFollower, Follower.followLeader, findLeader, the \
              LeaderConnector thread). \
              Measured 2-5 ms to the log line, the attempt follows (results/zookeeper.md).",
    },
    ParamSpec {
        name: "model.learnerStartupMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(6),
        unit: "ms",
        doc: "Model cost: a learner's work on NEWLEADER besides its disk writes \
              (ZooKeeperServer.startupWithoutServing: request processors, session tracker) \
              before it acks NEWLEADER (Learner.syncWithLeader). \
              Estimated from the learner logs between NEWLEADER and the leader's quorum (results/zookeeper.md).",
    },
    ParamSpec {
        name: "model.leaderStartupMs",
        kind: ParamKind::Int {
            min: 0,
            max: 600_000,
        },
        default: ParamDefault::Int(17),
        unit: "ms",
        doc: "Model cost: the leader's ZooKeeperServer.startup once a quorum acked NEWLEADER \
              (Leader.startZkServer: session tracker, request processors), before it serves \
              and before its learner handlers send UPTODATE (waitForStartup). \
              Measured median 17 ms (10-31) (results/zookeeper.md).",
    },
];

/// The values the model reads, in engine units.
#[derive(Clone, Debug)]
pub struct ZkParams {
    pub tick: SimDuration,
    pub init_limit: u64,
    pub sync_limit: u64,
    pub connect_limit: u64,
    pub finalize_wait: SimDuration,
    pub min_notification_interval: SimDuration,
    pub max_notification_interval: SimDuration,
    pub leader_connect_retry_delay: SimDuration,
    pub commit_log_count: u64,
    /// The session timeout after the server's clamp.
    pub session_timeout: SimDuration,
    /// The session timeout a client asks for (`sessionTimeout`).
    pub requested_session_timeout: SimDuration,
    /// `minSessionTimeout`, `maxSessionTimeout` after their defaults (ms).
    pub min_session_timeout: u64,
    pub max_session_timeout: u64,
    /// `zookeeper.forceSync = yes`: the transaction log is fsynced.
    pub force_sync: bool,
    /// Model costs outside the protocol's rules (see the `model.*` specs).
    pub costs: Costs,
}

/// Time a server spends outside FastLeaderElection's and Zab's rules: process
/// work between "decided" and "serving", and the shutdown before it looks.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    pub shutdown: SimDuration,
    pub shutdown_jitter: SimDuration,
    pub self_delivery: SimDuration,
    pub notification: SimDuration,
    pub make_leader: SimDuration,
    pub leader_load_data: SimDuration,
    pub make_follower: SimDuration,
    pub learner_startup: SimDuration,
    pub leader_startup: SimDuration,
}

impl ZkParams {
    pub fn from_params(p: &Params) -> Self {
        let tick_ms = p.get_u64("tickTime");
        let requested = p.get_u64("sessionTimeout");
        let bound = |name: &str, ticks: u64| {
            let v = p.get(name);
            if v < 0.0 {
                ticks * tick_ms
            } else {
                v as u64
            }
        };
        let min_session = bound("minSessionTimeout", 2);
        let max_session = bound("maxSessionTimeout", 20).max(min_session);
        let negotiated = requested.clamp(min_session, max_session);
        let init_limit = p.get_u64("initLimit");
        let connect = p.get_u64("connectToLearnerMasterLimit");
        let ms = |name| SimDuration::from_ms(p.get_u64(name));
        ZkParams {
            tick: SimDuration::from_ms(tick_ms),
            init_limit,
            sync_limit: p.get_u64("syncLimit"),
            connect_limit: if connect == 0 { init_limit } else { connect },
            finalize_wait: SimDuration::from_ms(p.get_u64("finalizeWait")),
            min_notification_interval: SimDuration::from_ms(
                p.get_u64("zookeeper.fastleader.minNotificationInterval"),
            ),
            max_notification_interval: SimDuration::from_ms(
                p.get_u64("zookeeper.fastleader.maxNotificationInterval"),
            ),
            leader_connect_retry_delay: SimDuration::from_ms(
                p.get_u64("zookeeper.leaderConnectDelayDuringRetryMs"),
            ),
            commit_log_count: p.get_u64("zookeeper.commitLogCount"),
            session_timeout: SimDuration::from_ms(negotiated),
            requested_session_timeout: SimDuration::from_ms(requested),
            min_session_timeout: min_session,
            max_session_timeout: max_session,
            force_sync: p.get_enum("zookeeper.forceSync") == "yes",
            costs: Costs {
                shutdown: ms("model.shutdownMs"),
                shutdown_jitter: ms("model.shutdownJitterMs"),
                self_delivery: SimDuration::from_us(p.get_u64("model.fleSelfDeliveryUs")),
                notification: SimDuration::from_us(p.get_u64("model.fleNotificationUs")),
                make_leader: ms("model.makeLeaderMs"),
                leader_load_data: ms("model.leaderLoadDataMs"),
                make_follower: ms("model.makeFollowerMs"),
                learner_startup: ms("model.learnerStartupMs"),
                leader_startup: ms("model.leaderStartupMs"),
            },
        }
    }

    /// `processConnectRequest`: the timeout a server grants a client that
    /// asks for `requested` ms.
    pub fn negotiate(&self, requested: u64) -> u64 {
        requested.clamp(self.min_session_timeout, self.max_session_timeout)
    }

    /// `initLimit x tickTime`: bound of each discovery/sync wait.
    pub fn init_timeout(&self) -> SimDuration {
        self.tick.saturating_mul(self.init_limit)
    }

    /// `syncLimit x tickTime`: a follower's read timeout once synced.
    pub fn sync_timeout(&self) -> SimDuration {
        self.tick.saturating_mul(self.sync_limit)
    }

    /// `connectToLearnerMasterLimit x tickTime` (initLimit when unset).
    pub fn connect_timeout(&self) -> SimDuration {
        self.tick.saturating_mul(self.connect_limit)
    }
}
