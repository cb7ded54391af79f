//! What clients saw, folded in as operations finish, so a trial's memory does
//! not grow with the number of operations it ran (100,000 clients at 10
//! operations per second are 40 million operations in a 40 s trial).
//!
//! The accumulator learns the time `t0` of the trial's first applied fault
//! when the fault fires. Each rule below is exactly the one `metrics`
//! documents for the whole record of a trial; an operation that finishes at
//! `t0` itself counts as "before the fault" whether the simulator processed it
//! before or after the fault event, as a post-hoc scan of the records would.

use super::{ClientOp, OpKind, SimDuration, SimTime};

/// Width of a bucket of the client timeline.
pub const BUCKET: SimDuration = SimDuration::from_ms(100);

/// Client outcomes of one trial.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientStats {
    pub writes_ok: u64,
    pub writes_failed: u64,
    pub reads_ok: u64,
    pub reads_failed: u64,
    /// Successful writes that finished at or after `measure_from`: the
    /// throughput's numerator.
    pub writes_ok_measured: u64,
    /// Operations finishing before this instant (the clients' start plus the
    /// warm-up) are left out of the latencies and `writes_ok_measured`; every
    /// other count and the availability rules below still see them, since a
    /// failover during the warm-up is still a failover.
    pub measure_from: SimTime,
    /// Latency of every successful write from its intended send time, in µs,
    /// in completion order (measured writes only).
    pub write_latencies_us: Vec<u64>,
    /// Latency of every successful read, measured like a write's (from its
    /// intended send time, so a read queued behind a failover counts the
    /// wait), in µs, in completion order (measured reads only).
    pub read_latencies_us: Vec<u64>,
    /// Time of the first applied fault, once it fired.
    pub fault_at: Option<SimTime>,
    /// Last success at or before the fault.
    pub last_ok_before: Option<SimTime>,
    /// Last success after the fault.
    pub last_ok_after: Option<SimTime>,
    /// Longest gap between successes after the fault, so far (ns).
    pub max_gap_ns: u64,
    /// First successful write issued at or after the fault.
    pub first_write_after: Option<SimTime>,
    /// Whether to keep the per-bucket timeline after the fault.
    pub keep_timeline: bool,
    /// (succeeded, failed) operations per [`BUCKET`] after the fault.
    pub buckets: Vec<(u32, u32)>,
    /// Operations finished at the current instant before the fault was known:
    /// (finish, issue time, ok, a successful write). The fault may fire later
    /// in the same instant and must see them, as a scan of the records would.
    same_instant: Vec<(SimTime, SimTime, bool, bool)>,
}

impl ClientStats {
    /// An accumulator; `keep_timeline` keeps the per-bucket counts.
    pub fn new(keep_timeline: bool) -> Self {
        ClientStats {
            keep_timeline,
            ..ClientStats::default()
        }
    }

    /// An accumulator that measures latencies and throughput from `from`.
    pub fn measured_from(keep_timeline: bool, from: SimTime) -> Self {
        ClientStats {
            measure_from: from,
            ..ClientStats::new(keep_timeline)
        }
    }

    /// Any operation finished at all.
    pub fn any(&self) -> bool {
        self.writes_ok + self.writes_failed + self.reads_ok + self.reads_failed > 0
    }

    /// The first applied fault fired at `t0`.
    pub fn on_fault(&mut self, t0: SimTime) {
        debug_assert!(self.fault_at.is_none(), "only the first fault is the fault");
        self.fault_at = Some(t0);
        for (at, issued, ok, write_ok) in std::mem::take(&mut self.same_instant) {
            if at == t0 {
                if write_ok && issued >= t0 && self.first_write_after.is_none() {
                    self.first_write_after = Some(at);
                }
                self.bucket(at, ok);
            }
        }
    }

    /// Operation `op` finished at `at`.
    pub fn on_op(&mut self, at: SimTime, op: &ClientOp, ok: bool) {
        let measured = at >= self.measure_from;
        let latency_us = at.since(op.issued).0 / 1_000;
        match (op.kind, ok) {
            (OpKind::Write, true) => {
                self.writes_ok += 1;
                if measured {
                    self.writes_ok_measured += 1;
                    self.write_latencies_us.push(latency_us);
                }
            }
            (OpKind::Write, false) => self.writes_failed += 1,
            (OpKind::Read, true) => {
                self.reads_ok += 1;
                if measured {
                    self.read_latencies_us.push(latency_us);
                }
            }
            (OpKind::Read, false) => self.reads_failed += 1,
        }
        let write_ok = ok && op.kind == OpKind::Write;
        match self.fault_at {
            None => {
                if ok {
                    self.last_ok_before = Some(at);
                }
                // Only operations of the latest instant can still be "at the
                // fault": drop the rest.
                if self.same_instant.first().is_some_and(|e| e.0 != at) {
                    self.same_instant.clear();
                }
                self.same_instant.push((at, op.issued, ok, write_ok));
            }
            Some(t0) => {
                if write_ok && op.issued >= t0 && self.first_write_after.is_none() {
                    self.first_write_after = Some(at);
                }
                self.bucket(at, ok);
                if !ok {
                    return;
                }
                if at <= t0 {
                    self.last_ok_before = Some(at);
                    return;
                }
                let prev = self.last_ok_after.or(self.last_ok_before).unwrap_or(t0);
                self.max_gap_ns = self.max_gap_ns.max(at.since(prev).0);
                self.last_ok_after = Some(at);
            }
        }
    }

    fn bucket(&mut self, at: SimTime, ok: bool) {
        let Some(t0) = self.fault_at else { return };
        if !self.keep_timeline {
            return;
        }
        let b = (at.since(t0).0 / BUCKET.0) as usize;
        if self.buckets.len() <= b {
            self.buckets.resize(b + 1, (0, 0));
        }
        let e = &mut self.buckets[b];
        if ok {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }

    /// The longest gap between successful operations that ends after the
    /// fault, counting the stretch from the last success to `end`.
    pub fn unavailable(&self, end: SimTime) -> Option<SimDuration> {
        let t0 = self.fault_at?;
        if !self.any() {
            return None;
        }
        let prev = self.last_ok_after.or(self.last_ok_before).unwrap_or(t0);
        Some(SimDuration(self.max_gap_ns.max(end.since(prev).0)))
    }

    /// Feed `ops` (finish time, operation, ok) and the first fault, in the
    /// order a simulator would: for tests and for records kept whole.
    pub fn replay(ops: &[(SimTime, ClientOp, bool)], fault_at: Option<SimTime>) -> Self {
        let mut s = ClientStats::new(true);
        let mut fault = fault_at;
        for (at, op, ok) in ops {
            if let Some(t0) = fault {
                if *at > t0 {
                    s.on_fault(t0);
                    fault = None;
                }
            }
            s.on_op(*at, op, *ok);
        }
        if let Some(t0) = fault {
            s.on_fault(t0);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> SimTime {
        SimTime(x * 1_000_000)
    }

    fn w(issued: u64) -> ClientOp {
        ClientOp {
            id: issued,
            kind: OpKind::Write,
            issued: ms(issued),
        }
    }

    #[test]
    fn gaps_are_measured_from_the_last_success_before_the_fault() {
        let ops = [
            (ms(9_001), w(9_000), true),
            (ms(10_100), w(10_100), false),
            (ms(20_302), w(20_300), true),
            (ms(20_401), w(20_400), true),
        ];
        let s = ClientStats::replay(&ops, Some(ms(10_000)));
        assert_eq!(s.first_write_after, Some(ms(20_302)));
        assert_eq!(
            s.unavailable(ms(30_000)),
            Some(SimDuration::from_ms(11_301))
        );
        assert_eq!(s.writes_ok, 3);
        assert_eq!(s.write_latencies_us, vec![1_000, 2_000, 1_000]);
        // 10.1 s is bucket 1 after the fault; 20.302 s is bucket 103.
        assert_eq!(s.buckets[1], (0, 1));
        assert_eq!(s.buckets[103], (1, 0));
    }

    #[test]
    fn a_zero_latency_write_at_the_fault_instant_counts_whichever_event_came_first() {
        // The write finished at the fault's instant, processed before the
        // fault event: it was issued at the fault, so it is the failover.
        let mut s = ClientStats::new(false);
        s.on_op(ms(5), &w(5), true);
        s.on_fault(ms(5));
        assert_eq!(s.first_write_after, Some(ms(5)));
        // One from an earlier instant is not.
        let mut s = ClientStats::new(false);
        s.on_op(ms(4), &w(4), true);
        s.on_fault(ms(5));
        assert_eq!(s.first_write_after, None);
        assert_eq!(s.last_ok_before, Some(ms(4)));
    }

    #[test]
    fn without_any_operation_there_is_no_unavailability() {
        let mut s = ClientStats::new(false);
        s.on_fault(ms(1));
        assert_eq!(s.unavailable(ms(100)), None);
    }

    #[test]
    fn read_latencies_are_kept_like_write_latencies() {
        let r = |issued: u64| ClientOp {
            id: issued,
            kind: OpKind::Read,
            issued: ms(issued),
        };
        let ops = [
            (ms(103), r(100), true),
            (ms(205), w(200), true),
            (ms(310), r(300), false),
            (ms(9_400), r(400), true),
        ];
        let s = ClientStats::replay(&ops, None);
        // From the intended send time: the read waiting 9 s counts 9 s.
        assert_eq!(s.read_latencies_us, vec![3_000, 9_000_000]);
        assert_eq!(s.write_latencies_us, vec![5_000]);
        assert_eq!((s.reads_ok, s.reads_failed), (2, 1));
    }

    #[test]
    fn warmup_operations_count_but_are_not_measured() {
        let r = ClientOp {
            id: 1,
            kind: OpKind::Read,
            issued: ms(900),
        };
        let mut s = ClientStats::measured_from(false, ms(1_000));
        s.on_op(ms(950), &w(940), true); // warm-up
        s.on_op(ms(999), &r, true); // warm-up
        s.on_op(ms(1_000), &w(998), true); // finishes at the boundary: measured
        s.on_op(ms(1_500), &w(1_200), true);
        s.on_op(ms(1_600), &w(1_600), false);
        assert_eq!((s.writes_ok, s.writes_failed, s.reads_ok), (3, 1, 1));
        assert_eq!(s.writes_ok_measured, 2);
        assert_eq!(s.write_latencies_us, vec![2_000, 300_000]);
        assert!(s.read_latencies_us.is_empty());
        // Availability still sees the warm-up's successes.
        assert_eq!(s.last_ok_before, Some(ms(1_500)));
    }
}
