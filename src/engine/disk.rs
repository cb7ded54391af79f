//! Disk model: how long a node's durable write takes to become durable.
//!
//! Each node has one disk that completes writes in the order they were
//! issued (a FIFO device, like one fsyncing log writer): a write that starts
//! while an earlier one is in progress waits for it. A write costs one fsync,
//! drawn from [`DiskConfig::fsync`], plus `bytes / throughput` when a
//! throughput is given (snapshot-sized writes). Group commit (several
//! appends sharing one fsync) is not modelled: each persist effect is its own
//! fsync, an upper bound on the cost of a burst of small writes.
//!
//! The default costs nothing, so a workload without a `[disk]` table gives
//! the results it gave before the disk model existed.

use super::net::Latency;
use super::rng::{self, Rng};
use super::SimDuration;

/// The disk of every node of one trial.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskConfig {
    /// Latency of one fsync, in milliseconds.
    pub fsync: Latency,
    /// Sequential write throughput in bytes per second, for the size part of
    /// a write; `None`: size costs nothing.
    pub throughput_bytes_per_s: Option<f64>,
}

impl Default for DiskConfig {
    fn default() -> Self {
        DiskConfig {
            fsync: Latency::Constant { ms: 0.0 },
            throughput_bytes_per_s: None,
        }
    }
}

impl DiskConfig {
    /// Whether every write completes at once (no event is scheduled for it).
    pub fn is_instant(&self) -> bool {
        matches!(self.fsync, Latency::Constant { ms } if ms <= 0.0)
            && self.throughput_bytes_per_s.is_none()
    }

    /// Time one write of `bytes` takes on an idle disk; `fsync` false skips
    /// the fsync (and its draw).
    pub fn cost(
        &self,
        bytes: u64,
        fsync: bool,
        rng: &mut Rng,
        normals: &mut rng::Normals,
    ) -> SimDuration {
        let fsync = if fsync {
            self.fsync.sample_with(rng, normals)
        } else {
            SimDuration::ZERO
        };
        let size = match self.throughput_bytes_per_s {
            Some(bps) if bps > 0.0 => SimDuration::from_ms_f64(bytes as f64 / bps * 1e3),
            _ => SimDuration::ZERO,
        };
        fsync + size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_disk_is_instant_and_costs_nothing() {
        let d = DiskConfig::default();
        assert!(d.is_instant());
        let mut r = rng::stream(1, "t", 0);
        assert_eq!(
            d.cost(1 << 30, true, &mut r, &mut rng::Normals::default()),
            SimDuration::ZERO
        );
    }

    #[test]
    fn size_costs_bytes_over_throughput_on_top_of_the_fsync() {
        let d = DiskConfig {
            fsync: Latency::Constant { ms: 2.0 },
            throughput_bytes_per_s: Some(100e6),
        };
        assert!(!d.is_instant());
        let mut r = rng::stream(1, "t", 0);
        // 50 MB at 100 MB/s is 500 ms, plus the 2 ms fsync.
        assert_eq!(
            d.cost(50_000_000, true, &mut r, &mut rng::Normals::default()),
            SimDuration::from_ms(502)
        );
        assert_eq!(
            d.cost(50_000_000, false, &mut r, &mut rng::Normals::default()),
            SimDuration::from_ms(500),
            "without fsync only the size costs"
        );
    }
}
