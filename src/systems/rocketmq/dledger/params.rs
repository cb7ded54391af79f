//! Parameters of `rocketmq/dledger`, under the names of DLedger's
//! `DLedgerConfig`, RocketMQ's `MessageStoreConfig` and the producer's
//! `DefaultMQProducer` / `ClientConfig`.

use crate::engine::{NodeId, SimDuration};
use crate::systems::raft::dledger::DledgerConfig;
use crate::systems::{ParamSpec, Params};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec::int(
        "heartBeatTimeIntervalMs",
        10,
        600_000,
        2000,
        "ms",
        "The leader starts a heartbeat round when more than this has passed since the last one \
         began (DLedgerConfig.java; DLedgerLeaderElector.java maintainAsLeader).",
    ),
    ParamSpec::int(
        "maxHeartBeatLeak",
        1,
        100,
        3,
        "count",
        "A follower stands after more than maxHeartBeatLeak x heartBeatTimeIntervalMs without a \
         heartbeat of its leader; a leader steps down after as long without a success quorum; a \
         candidate told of an existing leader waits as long on top of its vote delay \
         (DLedgerConfig.java; DLedgerLeaderElector.java).",
    ),
    ParamSpec::int(
        "minVoteIntervalMs",
        0,
        600_000,
        300,
        "ms",
        "Lower bound of a candidate's vote delay, minVoteIntervalMs + nextInt(max - min) \
         (DLedgerConfig.java; DLedgerLeaderElector.java getNextTimeToRequestVote).",
    ),
    ParamSpec::int(
        "maxVoteIntervalMs",
        1,
        600_000,
        1000,
        "ms",
        "Upper bound (exclusive) of the vote delay; also the extra wait after a round where too \
         many members had a bigger ledger, and the random part of a round's wait, 2000 + \
         nextInt(maxVoteIntervalMs) ms (DLedgerConfig.java).",
    ),
    ParamSpec::int(
        "minTakeLeadershipVoteIntervalMs",
        0,
        600_000,
        30,
        "ms",
        "Lower bound of the vote delay of a preferred member taking leadership \
         (DLedgerConfig.java).",
    ),
    ParamSpec::int(
        "maxTakeLeadershipVoteIntervalMs",
        1,
        600_000,
        100,
        "ms",
        "Upper bound (exclusive) of that delay (DLedgerConfig.java).",
    ),
    ParamSpec::int(
        "maxLeadershipTransferWaitIndex",
        1,
        1_000_000_000,
        1000,
        "entries",
        "The leader transfers to a preferred member only if it is fewer entries than this behind \
         (DLedgerConfig.java; DLedgerServer.java checkPreferredLeader).",
    ),
    ParamSpec::int(
        "leadershipTransferWaitTimeout",
        0,
        600_000,
        1000,
        "ms",
        "How long the transferee waits for its ledger to reach the leader's end before it fails \
         the transfer (DLedgerConfig.java; DLedgerServer.java handleLeadershipTransfer).",
    ),
    ParamSpec::int(
        "maxWaitAckTimeMs",
        1,
        600_000,
        2500,
        "ms",
        "An append not committed within this fails (WAIT_QUORUM_ACK_TIMEOUT) (DLedgerConfig.java; \
         DLedgerEntryPusher.java).",
    ),
    ParamSpec::int(
        "preferredLeaderId",
        0,
        15,
        0,
        "server",
        "The preferred leader (MessageStoreConfig.java preferredLeaderId, passed to DLedger as \
         preferredLeaderIds; default null): the server number k (DLedger member n<k-1>), 0 for \
         none.",
    ),
    ParamSpec::int(
        "sendMsgTimeout",
        1,
        600_000,
        3000,
        "ms",
        "The producer's deadline per send (DefaultMQProducer.java).",
    ),
    ParamSpec::int(
        "retryTimesWhenSendFailed",
        0,
        16,
        2,
        "count",
        "Extra attempts of a refused synchronous send (DefaultMQProducer.java); the model's \
         producer retries at the same master, the only one of its one broker group.",
    ),
    ParamSpec::int(
        "pollNameServerInterval",
        1,
        600_000,
        30_000,
        "ms",
        "Period of the producer's route refresh from the NameServer (ClientConfig.java).",
    ),
];

/// DLedger's settings read into the Raft core's DLedger configuration.
pub fn dledger_config(p: &Params) -> DledgerConfig {
    let pref = p.get_u64("preferredLeaderId");
    DledgerConfig {
        heartbeat_interval_ms: p.get_u64("heartBeatTimeIntervalMs"),
        max_heartbeat_leak: p.get_u64("maxHeartBeatLeak"),
        min_vote_interval_ms: p.get_u64("minVoteIntervalMs"),
        max_vote_interval_ms: p.get_u64("maxVoteIntervalMs"),
        min_take_leadership_vote_interval_ms: p.get_u64("minTakeLeadershipVoteIntervalMs"),
        max_take_leadership_vote_interval_ms: p.get_u64("maxTakeLeadershipVoteIntervalMs"),
        max_leadership_transfer_wait_index: p.get_u64("maxLeadershipTransferWaitIndex"),
        leadership_transfer_wait_timeout_ms: p.get_u64("leadershipTransferWaitTimeout"),
        max_wait_ack_time_ms: p.get_u64("maxWaitAckTimeMs"),
        preferred_leader: (pref > 0).then(|| NodeId(pref as u32 - 1)),
    }
}

/// The producer's settings: (sendMsgTimeout, pollNameServerInterval,
/// retryTimesWhenSendFailed).
pub fn producer(p: &Params) -> (SimDuration, SimDuration, u32) {
    (
        SimDuration::from_ms(p.get_u64("sendMsgTimeout")),
        SimDuration::from_ms(p.get_u64("pollNameServerInterval")),
        p.get_u64("retryTimesWhenSendFailed") as u32,
    )
}
