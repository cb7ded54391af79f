//! Parameters of `rocketmq/nameserver`, under the names of RocketMQ's
//! `NamesrvConfig`, `BrokerConfig`, `ClientConfig` and `DefaultMQProducer`.

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec {
        name: "version",
        kind: ParamKind::Enum(&["4.9.4", "5.3"]),
        default: ParamDefault::Enum("5.3"),
        unit: "",
        doc: "Which NameServer scan schedule: 4.9.4 scans every 10 s (NamesrvController.java at \
              tag rocketmq-all-4.9.4, 5 s initial delay, not configurable); 5.3 every \
              scanNotActiveBrokerInterval (RIP-29). Not a RocketMQ setting: the release. The \
              model draws each NameServer's scan phase instead of the initial delay.",
    },
    ParamSpec::int(
        "scanNotActiveBrokerInterval",
        1,
        600_000,
        5_000,
        "ms",
        "Period of scanNotActiveBroker in 5.x (NamesrvConfig.java); ignored with version 4.9.4.",
    ),
    ParamSpec::int(
        "brokerChannelExpiredTime",
        1,
        3_600_000,
        120_000,
        "ms",
        "A broker silent this long is removed by the scan (RouteInfoManager.java \
         DEFAULT_BROKER_CHANNEL_EXPIRED_TIME, a constant in the real code: exposed here to \
         sweep it).",
    ),
    ParamSpec::int(
        "registerNameServerPeriod",
        10_000,
        60_000,
        30_000,
        "ms",
        "How often a broker registers with every NameServer; the broker clamps it to \
         [10000, 60000] (BrokerConfig.java, BrokerController.java).",
    ),
    ParamSpec::int(
        "pollNameServerInterval",
        1,
        3_600_000,
        30_000,
        "ms",
        "How often a producer or consumer refreshes its topic routes from a NameServer \
         (ClientConfig.java, MQClientInstance.startScheduledTask).",
    ),
    ParamSpec::int(
        "sendMsgTimeout",
        1,
        600_000,
        3_000,
        "ms",
        "Total time budget of one send, retries included, checked before each attempt \
         (DefaultMQProducer.java); also the model's timeout of a route query \
         (ClientConfig.mqClientApiTimeout, 3000).",
    ),
    ParamSpec::int(
        "retryTimesWhenSendFailed",
        0,
        16,
        2,
        "count",
        "Extra attempts of a synchronous send on another broker after a failure \
         (DefaultMQProducer.java).",
    ),
];

/// Which NameServer release's scan schedule.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Version {
    V4,
    V5,
}

/// The typed parameters of one sweep point.
#[derive(Clone, Debug, PartialEq)]
pub struct NsParams {
    pub version: Version,
    pub scan_interval_5x: SimDuration,
    pub expiry: SimDuration,
    pub register_period: SimDuration,
    pub poll_interval: SimDuration,
    pub send_timeout: SimDuration,
    pub retries: u32,
}

impl NsParams {
    pub fn from_params(p: &Params) -> Self {
        let ms = |n: &str| SimDuration::from_ms(p.get_u64(n));
        NsParams {
            version: if p.get_enum("version") == "4.9.4" {
                Version::V4
            } else {
                Version::V5
            },
            scan_interval_5x: ms("scanNotActiveBrokerInterval"),
            expiry: ms("brokerChannelExpiredTime"),
            register_period: ms("registerNameServerPeriod"),
            poll_interval: ms("pollNameServerInterval"),
            send_timeout: ms("sendMsgTimeout"),
            retries: p.get_u64("retryTimesWhenSendFailed") as u32,
        }
    }

    /// The scan period.
    pub fn scan_interval(&self) -> SimDuration {
        match self.version {
            Version::V4 => SimDuration::from_ms(10_000),
            Version::V5 => self.scan_interval_5x,
        }
    }
}
