//! Where the replicas are: the round-robin assignment `controller_zk/cost.rs`
//! uses (partition `p` has replicas `(p + k) mod brokers`, `k` < the
//! replication factor, the first the preferred leader), computed on demand so
//! a million partitions cost no lists; which partitions get traffic; and the
//! compact per-broker slot of each replica it hosts.

use crate::systems::kafka::elect::BrokerId;

/// "No leader" (`LeaderAndIsr.NO_LEADER`, -1).
pub const NO_LEADER: BrokerId = BrokerId::MAX;

/// A set of replica positions (bit `k` = the `k`-th replica of the
/// assignment): how the ISR is stored, one byte per partition.
pub type Mask = u16;

#[derive(Clone, Debug)]
pub struct Layout {
    pub brokers: u32,
    pub partitions: u32,
    /// Replication factor, at most `brokers`.
    pub rf: u32,
    /// Partitions with traffic, ascending.
    pub active: Vec<u32>,
}

impl Layout {
    pub fn new(brokers: u32, partitions: u32, rf: u32, with_traffic: u32) -> Self {
        let a = u64::from(with_traffic.min(partitions));
        let n = u64::from(partitions);
        // Evenly spaced, shifted by i within each gap so that they do not
        // all fall in one residue class (one leader) when the gap is a
        // multiple of the broker count.
        let stride = n.checked_div(a).unwrap_or(1).max(1);
        let active = (0..a).map(|i| (i * n / a + i % stride) as u32).collect();
        Layout {
            brokers,
            partitions,
            rf: rf.min(brokers).max(1),
            active,
        }
    }

    /// The `k`-th replica of partition `p`.
    pub fn replica(&self, p: u32, k: u32) -> BrokerId {
        (p % self.brokers + k) % self.brokers
    }

    /// The assignment (AR) of `p`, in order.
    pub fn assignment(&self, p: u32) -> Vec<BrokerId> {
        (0..self.rf).map(|k| self.replica(p, k)).collect()
    }

    /// Position of broker `b` in the assignment of `p`, if it hosts `p`.
    pub fn position(&self, p: u32, b: BrokerId) -> Option<u32> {
        let k = (b + self.brokers - p % self.brokers) % self.brokers;
        (k < self.rf).then_some(k)
    }

    /// Brokers of `mask` for partition `p`, in assignment order.
    pub fn brokers_of(&self, p: u32, mask: Mask) -> Vec<BrokerId> {
        (0..self.rf)
            .filter(|k| mask & (1 << k) != 0)
            .map(|k| self.replica(p, k))
            .collect()
    }

    /// The mask of `brokers` (each must host `p`).
    pub fn mask_of(&self, p: u32, brokers: &[BrokerId]) -> Mask {
        brokers.iter().fold(0, |m, &b| {
            m | 1
                << self
                    .position(p, b)
                    .expect("an ISR member hosts the partition")
        })
    }

    /// Every replica in the ISR: the initial state.
    pub fn full_mask(&self) -> Mask {
        ((1u32 << self.rf) - 1) as Mask
    }

    /// Index of `p` among the partitions with traffic.
    pub fn active_index(&self, p: u32) -> Option<usize> {
        self.active.binary_search(&p).ok()
    }

    /// Partitions per residue class, rounded up: the stride of a broker's
    /// slots.
    fn per_class(&self) -> u32 {
        self.partitions.div_ceil(self.brokers)
    }

    /// Slots a broker has (some unused when the classes differ in size).
    pub fn slots(&self) -> usize {
        (self.rf * self.per_class()) as usize
    }

    /// The slot of `p` on broker `b`, if `b` hosts it.
    pub fn slot(&self, p: u32, b: BrokerId) -> Option<usize> {
        let k = self.position(p, b)?;
        Some((k * self.per_class() + p / self.brokers) as usize)
    }

    /// The partitions broker `b` hosts, with its position in each.
    pub fn hosted(&self, b: BrokerId) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.rf).flat_map(move |k| {
            let class = (b + self.brokers - k) % self.brokers;
            (class..self.partitions)
                .step_by(self.brokers as usize)
                .map(move |p| (p, k))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_positions_and_hosted_agree_with_the_assignment() {
        let l = Layout::new(5, 23, 3, 4);
        assert_eq!(l.active, vec![0, 6, 13, 20]);
        for b in 0..5 {
            let hosted: Vec<(u32, u32)> = l.hosted(b).collect();
            let mut slots = std::collections::BTreeSet::new();
            for p in 0..23 {
                let a = l.assignment(p);
                let pos = a.iter().position(|&x| x == b).map(|k| k as u32);
                assert_eq!(l.position(p, b), pos);
                assert_eq!(
                    hosted.iter().any(|&(q, k)| q == p && Some(k) == pos),
                    pos.is_some()
                );
                if let Some(s) = l.slot(p, b) {
                    assert!(s < l.slots());
                    assert!(slots.insert(s), "slot {s} used twice on broker {b}");
                }
            }
            assert_eq!(slots.len(), hosted.len());
        }
        // Traffic reaches every residue class even when the gap between
        // partitions with traffic is a multiple of the broker count.
        let big = Layout::new(100, 1_000_000, 3, 1000);
        let classes: std::collections::BTreeSet<u32> = big.active.iter().map(|p| p % 100).collect();
        assert_eq!(classes.len(), 100);
        assert!(big.active.windows(2).all(|w| w[0] < w[1]));
        assert!(*big.active.last().unwrap() < 1_000_000);
        assert_eq!(l.brokers_of(7, 0b101), vec![2, 4]);
        assert_eq!(l.mask_of(7, &[4, 2]), 0b101);
    }
}
