// TEMP: replaced by word.rs on merge (the other helper owns word.rs; this is
// a private minimal copy of its agreed interface so this branch compiles).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::NodeId;

/// Epoch in the high 32 bits, leader + 1 in the low 32 (0 = none).
pub struct LeaderWord(AtomicU64);

impl LeaderWord {
    pub const fn new() -> Self {
        LeaderWord(AtomicU64::new(0))
    }

    /// Replace the current pair by `(epoch, leader)` if it is higher; true if
    /// it did.
    pub fn publish(&self, epoch: u64, leader: NodeId) -> bool {
        let new = ((epoch & 0xffff_ffff) << 32) | (u64::from(leader.0) + 1);
        let mut cur = self.0.load(Ordering::Acquire);
        while new > cur {
            match self
                .0
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
        false
    }

    /// One Acquire load, no lock.
    pub fn read(&self) -> Option<(u64, NodeId)> {
        let w = self.0.load(Ordering::Acquire);
        let l = w & 0xffff_ffff;
        (l != 0).then(|| (w >> 32, NodeId((l - 1) as u32)))
    }
}

impl Default for LeaderWord {
    fn default() -> Self {
        Self::new()
    }
}
