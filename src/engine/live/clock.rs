//! The live runtime's clock: nanoseconds since the trial started, as a
//! [`SimTime`], read on every handled envelope.
//!
//! It reads the TSC through `quanta` (calibrated against the monotonic clock
//! when the clock is made; the OS clock where the TSC is not invariant):
//! about 10 ns a read against 30–60 ns for `std::time::Instant` on the
//! 2-core VM this was measured on, where the per-envelope read was a tenth
//! of a closed-loop run's CPU. Every thread of a trial (workers, the clock
//! thread, client threads) reads the same [`LiveClock`], so their times
//! compare; a sleep until a deadline is computed as a duration from now
//! ([`LiveClock::until`]), so the OS sleeps do not mix the two clocks.

use std::time::Duration;

use crate::engine::SimTime;

/// Time since a trial's start.
#[derive(Clone)]
pub struct LiveClock {
    clock: quanta::Clock,
    start: u64,
}

impl LiveClock {
    /// A clock whose zero is now.
    #[allow(clippy::disallowed_methods)] // the live runtime's one clock
    pub fn start() -> Self {
        let clock = quanta::Clock::new();
        let start = clock.raw();
        LiveClock { clock, start }
    }

    /// Time since the start.
    #[allow(clippy::disallowed_methods)] // the live runtime's one clock
    pub fn now(&self) -> SimTime {
        SimTime(self.clock.delta_as_nanos(self.start, self.clock.raw()))
    }

    /// How long from now until `at` (zero if it has passed).
    pub fn until(&self, at: SimTime) -> Duration {
        Duration::from_nanos(at.0.saturating_sub(self.now().0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clock moves forward, never back, on one thread and across two,
    /// and measures an interval as the OS clock does: each of our reads is
    /// bracketed by two OS reads, so a preemption anywhere widens the
    /// brackets instead of failing the test; what is left is the
    /// calibration error (parts per million; 0.5 % allowed).
    #[test]
    #[allow(clippy::disallowed_methods)] // the OS clock is the reference
    fn the_clock_is_monotonic_and_measures_intervals_as_the_os_clock_does() {
        use std::time::Instant;
        let c = LiveClock::start();
        let mut last = c.now();
        for _ in 0..100_000 {
            let t = c.now();
            assert!(t >= last);
            last = t;
        }
        let before = c.now();
        let theirs = std::thread::scope(|s| s.spawn(|| c.now()).join().unwrap());
        assert!(theirs >= before);
        let o1 = Instant::now();
        let q1 = c.now();
        let o2 = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let o3 = Instant::now();
        let q2 = c.now();
        let o4 = Instant::now();
        let ours = (q2.0 - q1.0) as f64;
        let (least, most) = ((o3 - o2).as_nanos() as f64, (o4 - o1).as_nanos() as f64);
        assert!(
            ours >= least * 0.995 && ours <= most * 1.005,
            "ours {ours} ns, the OS clock's {least}..={most} ns"
        );
    }
}
