//! Replica selection for promotion, as sentinel.c `sentinelSelectSlave` and
//! `compareSlavesForPromotion`: a pure rule over what one Sentinel knows.

use std::cmp::Ordering;

use crate::engine::NodeId;

/// SENTINEL_PING_PERIOD: selection uses the constant, not the PING period
/// derived from down-after-milliseconds.
pub const PING_PERIOD_MS: u64 = 1000;
/// SENTINEL_INFO_PERIOD.
pub const INFO_PERIOD_MS: u64 = 10_000;

/// What a Sentinel knows of one replica when it selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: NodeId,
    /// SDOWN or ODOWN in this Sentinel's view.
    pub down: bool,
    /// The Sentinel's link to it is disconnected.
    pub disconnected: bool,
    /// Since its last valid PING reply.
    pub last_avail_age_ms: u64,
    /// Since its last INFO reply; `None` if it never answered INFO.
    pub info_age_ms: Option<u64>,
    /// `slave_priority` from INFO.
    pub priority: u32,
    /// `slave_repl_offset` from INFO.
    pub offset: u64,
    /// `run_id` from INFO, `None` if unknown.
    pub run_id: Option<u64>,
    /// `master_link_down_since_seconds` from INFO, in ms.
    pub link_down_ms: u64,
}

/// Why a replica cannot be promoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Excluded {
    Down,
    Disconnected,
    NoRecentPong,
    PriorityZero,
    StaleInfo,
    MasterLinkDownTooLong,
}

/// The master's state the rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterState {
    /// How long the master has been SDOWN; `None` if it is not.
    pub sdown_for_ms: Option<u64>,
    pub down_after_ms: u64,
}

/// Whether `c` is excluded, and why (first rule that excludes it, in the
/// order sentinelSelectSlave tests them).
pub fn excluded(c: &Candidate, m: MasterState) -> Option<Excluded> {
    let max_master_down = m.sdown_for_ms.unwrap_or(0) + 10 * m.down_after_ms;
    let info_validity = if m.sdown_for_ms.is_some() {
        5 * PING_PERIOD_MS
    } else {
        3 * INFO_PERIOD_MS
    };
    if c.down {
        Some(Excluded::Down)
    } else if c.disconnected {
        Some(Excluded::Disconnected)
    } else if c.last_avail_age_ms > 5 * PING_PERIOD_MS {
        Some(Excluded::NoRecentPong)
    } else if c.priority == 0 {
        Some(Excluded::PriorityZero)
    } else if c.info_age_ms.is_none_or(|a| a > info_validity) {
        Some(Excluded::StaleInfo)
    } else if c.link_down_ms > max_master_down {
        Some(Excluded::MasterLinkDownTooLong)
    } else {
        None
    }
}

/// compareSlavesForPromotion: lower priority first, then the larger
/// replication offset, then the smaller run id, an unknown run id last.
pub fn compare(a: &Candidate, b: &Candidate) -> Ordering {
    a.priority
        .cmp(&b.priority)
        .then(b.offset.cmp(&a.offset))
        .then(match (a.run_id, b.run_id) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            // Run ids are fixed-width hex strings: numeric order is their
            // case-insensitive string order.
            (Some(x), Some(y)) => x.cmp(&y),
        })
}

/// sentinelSelectSlave: the best replica that no rule excludes.
pub fn select(cands: &[Candidate], m: MasterState) -> Option<NodeId> {
    let mut ok: Vec<&Candidate> = cands.iter().filter(|c| excluded(c, m).is_none()).collect();
    // qsort is not stable; equal elements (same priority, offset and run
    // id) cannot occur between two live processes, whose run ids differ.
    ok.sort_by(|a, b| compare(a, b));
    ok.first().map(|c| c.id)
}
