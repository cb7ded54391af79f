//! Parameters of `eureka/peer-replication`, under the Spring Cloud Netflix
//! property names (`eureka.server.*`, `eureka.client.*`, `eureka.instance.*`)
//! with the defaults of Netflix's `DefaultEurekaServerConfig`,
//! `DefaultEurekaClientConfig` and `LeaseInfo`/`AbstractInstanceConfig`
//! (PROTOCOLS.md §4). Spring Cloud's `EurekaServerConfigBean` may ship other
//! defaults for some of them (PROTOCOLS.md §4.0 does not cover it); a
//! workload sets them explicitly to model a Spring deployment.

use crate::engine::SimDuration;
use crate::systems::{ParamDefault, ParamKind, ParamSpec, Params};

pub(super) const SPECS: &[ParamSpec] = &[
    ParamSpec::int(
        "eureka.instance.lease-renewal-interval-in-seconds",
        1,
        3600,
        30,
        "s",
        "How often an instance renews its lease (LeaseInfo.java DEFAULT_LEASE_RENEWAL_INTERVAL; \
         AbstractInstanceConfig.java).",
    ),
    ParamSpec::int(
        "eureka.instance.lease-expiration-duration-in-seconds",
        1,
        36_000,
        90,
        "s",
        "Lease duration. Because Lease.renew() sets lastUpdateTimestamp = now + duration and \
         isExpired() adds the duration again, a renewed lease expires 2 x this after its last \
         renewal (Lease.java, \"minor bug ... will not be fixed\"); a never-renewed one after 1 x \
         (LeaseInfo.java DEFAULT_LEASE_DURATION).",
    ),
    ParamSpec::int(
        "eureka.server.eviction-interval-timer-in-ms",
        1,
        3_600_000,
        60_000,
        "ms",
        "Period of the EvictionTask (DefaultEurekaServerConfig.getEvictionIntervalTimerInMs).",
    ),
    ParamSpec {
        name: "eureka.server.enable-self-preservation",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(true),
        unit: "",
        doc: "Stop evicting while renewals in the last minute are not above the renewal \
              threshold (PeerAwareInstanceRegistryImpl.isLeaseExpirationEnabled; \
              DefaultEurekaServerConfig.shouldEnableSelfPreservation).",
    },
    ParamSpec {
        name: "eureka.server.renewal-percent-threshold",
        kind: ParamKind::Float { min: 0.0, max: 1.0 },
        default: ParamDefault::Float(0.85),
        unit: "",
        doc: "Fraction of expected renewals below which self-preservation stops eviction \
              (DefaultEurekaServerConfig.getRenewalPercentThreshold).",
    },
    ParamSpec::int(
        "eureka.server.renewal-threshold-update-interval-ms",
        1,
        86_400_000,
        900_000,
        "ms",
        "Period of updateRenewalThreshold: the expected count becomes the registry's instance \
         count if that exceeds renewal-percent-threshold x the current value, or always with \
         self-preservation off (DefaultEurekaServerConfig.getRenewalThresholdUpdateIntervalMs).",
    ),
    ParamSpec::int(
        "eureka.server.expected-client-renewal-interval-seconds",
        1,
        3600,
        30,
        "s",
        "Renewal interval the threshold assumes: threshold = expected x (60 / this) x \
         renewal-percent-threshold, truncated (AbstractInstanceRegistry.updateRenewsPerMinThreshold).",
    ),
    ParamSpec {
        name: "eureka.server.use-read-only-response-cache",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(true),
        unit: "",
        doc: "Serve registry fetches from the read-only map copied from the read-write cache \
              every response-cache-update-interval-ms (ResponseCacheImpl.java); false serves \
              the read-write cache, which every register/cancel/eviction invalidates.",
    },
    ParamSpec::int(
        "eureka.server.response-cache-update-interval-ms",
        1,
        3_600_000,
        30_000,
        "ms",
        "Period of the read-only cache refresh (DefaultEurekaServerConfig.getResponseCacheUpdateIntervalMs).",
    ),
    ParamSpec::int(
        "eureka.server.max-time-for-replication",
        1,
        3_600_000,
        30_000,
        "ms",
        "Expiry of a queued cancel replication task (DefaultEurekaServerConfig.getMaxTimeForReplication); \
         register and heartbeat tasks expire after the lease renewal interval \
         (PeerEurekaNode.getLeaseRenewalOf).",
    ),
    ParamSpec::int(
        "eureka.server.peer-node-read-timeout-ms",
        1,
        600_000,
        5_000,
        "ms",
        "Read timeout of a batch to a peer; a timeout is Congestion: the batch is re-queued and \
         dispatch pauses 1000 ms (DefaultEurekaServerConfig.getPeerNodeReadTimeoutMs, \
         ReplicationTaskProcessor.java).",
    ),
    ParamSpec::int(
        "eureka.server.max-elements-in-peer-replication-pool",
        1,
        1_000_000,
        10_000,
        "count",
        "Pending replication tasks per peer; when full the oldest is dropped \
         (DefaultEurekaServerConfig.getMaxElementsInPeerReplicationPool, AcceptorExecutor.java).",
    ),
    ParamSpec::int(
        "eureka.client.registry-fetch-interval-seconds",
        1,
        3600,
        30,
        "s",
        "How often a client fetches the registry (delta) (DefaultEurekaClientConfig.getRegistryFetchIntervalSeconds).",
    ),
    ParamSpec::int(
        "eureka.client.eureka-server-read-timeout-seconds",
        1,
        600,
        8,
        "s",
        "Read timeout of a client or instance request to a Eureka server; a timeout or a reset \
         connection moves the request to the next server of the list, at most 3 attempts \
         (DefaultEurekaClientConfig.getEurekaServerReadTimeoutSeconds, RetryableEurekaHttpClient.java).",
    ),
    ParamSpec::int(
        "ribbon.ReadTimeout",
        1,
        600_000,
        1_000,
        "ms",
        "Not a Eureka setting: how long a client waits for a service instance to answer a call \
         before counting it failed. Spring Cloud Netflix's RibbonClientConfiguration sets 1000; \
         the model does not retry a failed call on another instance.",
    ),
];

/// The typed parameters of one sweep point.
#[derive(Clone, Debug, PartialEq)]
pub struct EuParams {
    pub renewal_interval: SimDuration,
    pub lease_duration: SimDuration,
    pub eviction_interval: SimDuration,
    pub self_preservation: bool,
    pub renewal_percent: f64,
    pub threshold_update_interval: SimDuration,
    pub expected_renewal_interval_s: u64,
    pub read_only_cache: bool,
    pub cache_update_interval: SimDuration,
    pub max_time_for_replication: SimDuration,
    pub peer_read_timeout: SimDuration,
    pub replication_pool: usize,
    pub fetch_interval: SimDuration,
    pub server_read_timeout: SimDuration,
    pub call_timeout: SimDuration,
}

impl EuParams {
    pub fn from_params(p: &Params) -> Self {
        let ms = |n: &str| SimDuration::from_ms(p.get_u64(n));
        let s = |n: &str| SimDuration::from_ms(p.get_u64(n) * 1000);
        EuParams {
            renewal_interval: s("eureka.instance.lease-renewal-interval-in-seconds"),
            lease_duration: s("eureka.instance.lease-expiration-duration-in-seconds"),
            eviction_interval: ms("eureka.server.eviction-interval-timer-in-ms"),
            self_preservation: p.get_bool("eureka.server.enable-self-preservation"),
            renewal_percent: p.get("eureka.server.renewal-percent-threshold"),
            threshold_update_interval: ms("eureka.server.renewal-threshold-update-interval-ms"),
            expected_renewal_interval_s: p
                .get_u64("eureka.server.expected-client-renewal-interval-seconds"),
            read_only_cache: p.get_bool("eureka.server.use-read-only-response-cache"),
            cache_update_interval: ms("eureka.server.response-cache-update-interval-ms"),
            max_time_for_replication: ms("eureka.server.max-time-for-replication"),
            peer_read_timeout: ms("eureka.server.peer-node-read-timeout-ms"),
            replication_pool: p.get_u64("eureka.server.max-elements-in-peer-replication-pool")
                as usize,
            fetch_interval: s("eureka.client.registry-fetch-interval-seconds"),
            server_read_timeout: s("eureka.client.eureka-server-read-timeout-seconds"),
            call_timeout: ms("ribbon.ReadTimeout"),
        }
    }

    /// Renewals per minute below which self-preservation stops eviction, for
    /// `expected` clients sending renews (truncated to an int, as
    /// `updateRenewsPerMinThreshold` does).
    pub fn threshold(&self, expected: u64) -> u64 {
        let per_min = 60.0 / self.expected_renewal_interval_s as f64;
        (expected as f64 * per_min * self.renewal_percent) as u64
    }
}
