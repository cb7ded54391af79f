//! The controller's choice of a new master: `DefaultElectPolicy.elect` and
//! `tryElect` (apache/rocketmq `controller/.../elect/impl/DefaultElectPolicy.java`),
//! called by `ReplicasInfoManager.electMaster`.
//!
//! 1. Try the SyncStateSet, then (only with `enableElectUncleanMaster`, as
//!    `electMaster` passes `allReplicaBrokers` only then) every replica.
//! 2. In each try, keep the valid brokers (the heartbeat manager's
//!    `isBrokerActive`). If the old master is among them (and no other broker
//!    is designated), keep it. A designated broker is chosen only if valid.
//! 3. Otherwise sort by the comparator: epoch descending, then max offset
//!    descending, then `brokerElectionPriority` ascending, and take the
//!    first. The real comparator subtracts: the offset difference is cast to
//!    `int` and the priorities are subtracted in `int` arithmetic, both of
//!    which wrap; [`compare`] does the same. The candidates go into a
//!    `TreeSet` built with that comparator, so of two that compare equal the
//!    first inserted stays; they are inserted in the iteration order of a
//!    `HashSet<Long>` of small broker ids, which is ascending id order: the
//!    lowest id wins a full tie.

use std::cmp::Ordering;

/// What the controller knows of one broker from its last heartbeat
/// (`BrokerLiveInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveInfo {
    pub id: u32,
    /// Last epoch of the broker's epoch file.
    pub epoch: u32,
    pub max_offset: u64,
    /// `brokerElectionPriority`: lower is preferred.
    pub priority: i32,
    /// `isBrokerActive`: heartbeat within its timeout.
    pub valid: bool,
}

/// The real comparator, wrapping arithmetic included: `Less` sorts first.
pub fn compare(a: &LiveInfo, b: &LiveInfo) -> Ordering {
    let d: i32 = if a.epoch == b.epoch {
        if a.max_offset == b.max_offset {
            a.priority.wrapping_sub(b.priority)
        } else {
            // `(int) (o2.getMaxOffset() - o1.getMaxOffset())`
            (b.max_offset as i64).wrapping_sub(a.max_offset as i64) as i32
        }
    } else {
        // `o2.getEpoch() - o1.getEpoch()` on ints.
        (b.epoch as i32).wrapping_sub(a.epoch as i32)
    };
    d.cmp(&0)
}

/// `tryElect` over `brokers` (ascending ids).
fn try_elect(
    brokers: &[u32],
    info: &[LiveInfo],
    old_master: Option<u32>,
    prefer: Option<u32>,
) -> Option<u32> {
    let valid: Vec<&LiveInfo> = brokers
        .iter()
        .filter_map(|id| info.iter().find(|i| i.id == *id))
        .filter(|i| i.valid)
        .collect();
    if valid.is_empty() {
        return None;
    }
    if let Some(old) = old_master {
        if valid.iter().any(|i| i.id == old) && prefer.is_none_or(|p| p == old) {
            return Some(old);
        }
    }
    if let Some(p) = prefer {
        return valid.iter().any(|i| i.id == p).then_some(p);
    }
    // The TreeSet keeps the first inserted of equal elements: a stable
    // minimum over ascending ids.
    let mut best = valid[0];
    for i in &valid[1..] {
        if compare(i, best) == Ordering::Less {
            best = i;
        }
    }
    Some(best.id)
}

/// `DefaultElectPolicy.elect`: the new master, if any. `sync_state_set` and
/// `all` are broker ids; `all` is `None` unless unclean election is enabled.
pub fn elect(
    sync_state_set: &[u32],
    all: Option<&[u32]>,
    info: &[LiveInfo],
    old_master: Option<u32>,
    prefer: Option<u32>,
) -> Option<u32> {
    let mut sse = sync_state_set.to_vec();
    sse.sort_unstable();
    if let Some(m) = try_elect(&sse, info, old_master, prefer) {
        return Some(m);
    }
    let mut all = all?.to_vec();
    all.sort_unstable();
    try_elect(&all, info, old_master, prefer)
}
