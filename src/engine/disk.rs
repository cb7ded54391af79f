//! Disk model: how long a node's durable write takes to become durable.
//!
//! Each node has one disk that completes writes in the order they were
//! issued, with **group commit**, as a log writer like ZooKeeper's
//! `SyncRequestProcessor` or Kafka's log flusher does it: a write that finds
//! the disk idle starts an fsync at once; writes that arrive while an fsync
//! is in progress wait and share the *next* fsync, which starts when the
//! current one ends. An fsync's time is drawn from [`DiskConfig::fsync`], once
//! per batch; each write also costs `bytes / throughput` when a throughput is
//! given (snapshot-sized writes), added to its batch in arrival order. A write
//! that asks for no fsync ([`crate::engine::Durable::fsync`]) costs only its
//! size, but still completes in order behind what was queued before it.
//!
//! Simplification: every durable write of a node shares this one queue (a
//! real server may write small files, such as ZooKeeper's epoch files,
//! outside its log writer's queue, on the same device).
//!
//! The default costs nothing, so a workload without a `[disk]` table gives
//! the results it gave before the disk model existed.

use super::net::Latency;
use super::rng::{self, Rng};
use super::{SimDuration, SimTime};

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

/// The disk of one node: the fsync in progress and the batch waiting for it.
#[derive(Clone, Debug, Default)]
pub struct DiskQueue {
    /// When the batch in progress ends (the disk is idle from then on).
    busy_until: SimTime,
    /// When the batch that starts at `busy_until` ends, once a write joined it.
    queued: Option<SimTime>,
}

impl DiskQueue {
    /// A write of `bytes` (waiting for an fsync when `fsync`) issued at `now`:
    /// when it is durable.
    pub fn write(
        &mut self,
        cfg: &DiskConfig,
        now: SimTime,
        bytes: u64,
        fsync: bool,
        rng: &mut Rng,
        normals: &mut rng::Normals,
    ) -> SimTime {
        // A queued batch that has started by now is the one in progress.
        if now >= self.busy_until {
            if let Some(q) = self.queued.take() {
                self.busy_until = q;
            }
        }
        let size = cfg.cost(bytes, false, rng, normals);
        if now >= self.busy_until {
            let end = now + size + cfg.cost(0, fsync, rng, normals);
            self.busy_until = end;
            return end;
        }
        let end = match self.queued {
            Some(q) => q + size,
            None => self.busy_until + size + cfg.cost(0, fsync, rng, normals),
        };
        self.queued = Some(end);
        end
    }

    /// The process died: what it had queued is gone (the engine drops the
    /// pending completions), and its next write finds the disk idle.
    pub fn reset(&mut self, now: SimTime) {
        self.busy_until = now;
        self.queued = None;
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

    #[test]
    fn writes_during_an_fsync_share_the_next_one() {
        let d = DiskConfig {
            fsync: Latency::Constant { ms: 10.0 },
            throughput_bytes_per_s: None,
        };
        let mut q = DiskQueue::default();
        let (mut r, mut n) = (rng::stream(1, "t", 0), rng::Normals::default());
        let ms = |x: u64| SimTime(x * 1_000_000);
        let mut w = |at| q.write(&d, ms(at), 0, true, &mut r, &mut n);
        assert_eq!(w(0), ms(10), "idle: one fsync");
        assert_eq!(w(2), ms(20), "busy: the next batch");
        assert_eq!(w(5), ms(20), "joins that batch");
        assert_eq!(w(15), ms(30), "the batch ending at 20 is in progress");
        assert_eq!(w(31), ms(41), "idle again");
    }
}
