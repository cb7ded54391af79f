//! Summary statistics over many values: exact count, mean, standard deviation,
//! min and max; percentiles from an HdrHistogram (3 significant digits).

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// An accumulator's exact state, to carry a summary across processes (a
/// resumed run continues the accumulators of the run it resumes, so that its
/// summary is byte-identical to an uninterrupted run's). Floats are kept as
/// their bit patterns, and the histogram as (bucket value, count) pairs: a
/// histogram rebuilt from them has the same count in every bucket, which is
/// all its quantiles read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccState {
    /// `scale` (f64 bits); 0 for an [`IntAccumulator`].
    pub scale: u64,
    pub count: u64,
    /// Sum and sum of squares: f64 bits, or the u128 as a decimal string.
    pub sum: String,
    pub sum_sq: String,
    /// f64 bits, or the u64 itself.
    pub min: u64,
    pub max: u64,
    pub buckets: Vec<(u64, u64)>,
}

fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

fn histogram(buckets: &[(u64, u64)]) -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("3 significant digits is a valid precision");
    for &(v, n) in buckets {
        h.record_n(v, n)
            .expect("an auto-resizing histogram takes any u64");
    }
    h
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s:?}"))
}

/// Statistics of one metric at one sweep point.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub count: u64,
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 for a single value.
    pub stddev: f64,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Accumulates values of one metric; `scale` converts a value to the integer
/// the histogram records (1000 keeps three decimals of a millisecond value).
#[derive(Clone, Debug, PartialEq)]
pub struct Accumulator {
    scale: f64,
    hist: Histogram<u64>,
    count: u64,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Accumulator {
    pub fn new(scale: f64) -> Self {
        Accumulator {
            scale,
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
            count: 0,
            sum: 0.0,
            sum_sq: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    pub fn record(&mut self, v: f64) {
        let scaled = (v * self.scale).round().max(0.0) as u64;
        self.hist
            .record(scaled)
            .expect("an auto-resizing histogram takes any u64");
        self.count += 1;
        self.sum += v;
        self.sum_sq += v * v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Add every value `other` recorded (same scale), as if recorded here
    /// after this accumulator's own.
    pub fn merge(&mut self, other: &Accumulator) {
        debug_assert_eq!(self.scale, other.scale, "merge needs one scale");
        if other.count == 0 {
            return;
        }
        self.hist
            .add(&other.hist)
            .expect("an auto-resizing histogram takes any other");
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// This accumulator's exact state.
    pub fn state(&self) -> AccState {
        AccState {
            scale: self.scale.to_bits(),
            count: self.count,
            sum: self.sum.to_bits().to_string(),
            sum_sq: self.sum_sq.to_bits().to_string(),
            min: self.min.to_bits(),
            max: self.max.to_bits(),
            buckets: buckets(&self.hist),
        }
    }

    /// The accumulator whose state is `s`.
    pub fn from_state(s: &AccState) -> Result<Self, String> {
        Ok(Accumulator {
            scale: f64::from_bits(s.scale),
            hist: histogram(&s.buckets),
            count: s.count,
            sum: f64::from_bits(parse(&s.sum)?),
            sum_sq: f64::from_bits(parse(&s.sum_sq)?),
            min: f64::from_bits(s.min),
            max: f64::from_bits(s.max),
        })
    }

    pub fn stats(&self) -> Option<Stats> {
        // A histogram bucket's representative value can lie just outside the
        // data; `stats` clamps so that min <= p50 <= ... <= max always holds.
        stats(
            self.count,
            self.sum,
            self.sum_sq,
            (self.min, self.max),
            |p| self.hist.value_at_quantile(p) as f64 / self.scale,
        )
    }
}

/// Accumulates whole-number values (latencies in µs) with exact integer sums,
/// so merging the accumulators of many trials gives the same statistics in
/// any order: trials finish in an order that depends on the threads, and the
/// summary must not.
#[derive(Clone, Debug, PartialEq)]
pub struct IntAccumulator {
    hist: Histogram<u64>,
    count: u64,
    sum: u128,
    sum_sq: u128,
    min: u64,
    max: u64,
}

impl Default for IntAccumulator {
    fn default() -> Self {
        IntAccumulator {
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
            count: 0,
            sum: 0,
            sum_sq: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

impl IntAccumulator {
    pub fn record(&mut self, v: u64) {
        self.hist
            .record(v)
            .expect("an auto-resizing histogram takes any u64");
        self.count += 1;
        self.sum += u128::from(v);
        self.sum_sq += u128::from(v) * u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Add every value `other` recorded.
    pub fn merge(&mut self, other: &IntAccumulator) {
        if other.count == 0 {
            return;
        }
        self.hist
            .add(&other.hist)
            .expect("an auto-resizing histogram takes any other");
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// This accumulator's exact state.
    pub fn state(&self) -> AccState {
        AccState {
            scale: 0,
            count: self.count,
            sum: self.sum.to_string(),
            sum_sq: self.sum_sq.to_string(),
            min: self.min,
            max: self.max,
            buckets: buckets(&self.hist),
        }
    }

    /// The accumulator whose state is `s`.
    pub fn from_state(s: &AccState) -> Result<Self, String> {
        Ok(IntAccumulator {
            hist: histogram(&s.buckets),
            count: s.count,
            sum: parse(&s.sum)?,
            sum_sq: parse(&s.sum_sq)?,
            min: s.min,
            max: s.max,
        })
    }

    pub fn stats(&self) -> Option<Stats> {
        stats(
            self.count,
            self.sum as f64,
            self.sum_sq as f64,
            (self.min as f64, self.max as f64),
            |p| self.hist.value_at_quantile(p) as f64,
        )
    }
}

/// Statistics of `count` values from their sum, sum of squares, extremes and
/// histogram quantiles (clamped to the extremes).
fn stats(
    count: u64,
    sum: f64,
    sum_sq: f64,
    (min, max): (f64, f64),
    quantile: impl Fn(f64) -> f64,
) -> Option<Stats> {
    if count == 0 {
        return None;
    }
    let n = count as f64;
    let mean = sum / n;
    let var = if count > 1 {
        ((sum_sq - n * mean * mean) / (n - 1.0)).max(0.0)
    } else {
        0.0
    };
    let q = |p: f64| quantile(p).clamp(min, max);
    Some(Stats {
        count,
        mean,
        stddev: var.sqrt(),
        min,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_track_the_data_within_histogram_precision() {
        let mut a = Accumulator::new(1000.0);
        for i in 1..=1000 {
            a.record(i as f64);
        }
        let s = a.stats().unwrap();
        assert_eq!(s.count, 1000);
        assert!((s.mean - 500.5).abs() < 1e-9);
        assert!((s.p50 - 500.0).abs() <= 0.5, "{}", s.p50);
        assert!((s.p99 - 990.0).abs() <= 1.0, "{}", s.p99);
        assert_eq!((s.min, s.max), (1.0, 1000.0));
        assert!(s.p999 <= s.max && s.p50 >= s.min);
        assert!((s.stddev - 288.8194).abs() < 1e-3, "{}", s.stddev);
    }

    #[test]
    fn integer_accumulators_merge_to_the_same_stats_in_any_order() {
        let parts: Vec<IntAccumulator> = [vec![5u64, 900, 3], vec![70_000], vec![1, 2, 3, 4]]
            .iter()
            .map(|vs| {
                let mut a = IntAccumulator::default();
                vs.iter().for_each(|&v| a.record(v));
                a
            })
            .collect();
        let mut fwd = IntAccumulator::default();
        parts.iter().for_each(|p| fwd.merge(p));
        let mut rev = IntAccumulator::default();
        parts.iter().rev().for_each(|p| rev.merge(p));
        let mut whole = Accumulator::new(1.0);
        for v in [5u64, 900, 3, 70_000, 1, 2, 3, 4] {
            whole.record(v as f64);
        }
        assert_eq!(fwd.stats(), rev.stats());
        assert_eq!(
            fwd.stats(),
            whole.stats(),
            "same statistics as recording one by one"
        );
    }

    #[test]
    fn a_restored_state_continues_exactly() {
        let vals: Vec<f64> = (0..500)
            .map(|i| (i as f64 * 37.123).sin() * 1e4 + 1e4)
            .collect();
        let mut whole = Accumulator::new(1000.0);
        let mut first = Accumulator::new(1000.0);
        let mut iw = IntAccumulator::default();
        let mut ifirst = IntAccumulator::default();
        for (k, v) in vals.iter().enumerate() {
            whole.record(*v);
            iw.record(*v as u64);
            if k < 200 {
                first.record(*v);
                ifirst.record(*v as u64);
            }
        }
        let json = serde_json::to_string(&first.state()).unwrap();
        let mut rest = Accumulator::from_state(&serde_json::from_str(&json).unwrap()).unwrap();
        let mut irest = IntAccumulator::from_state(&ifirst.state()).unwrap();
        for v in &vals[200..] {
            rest.record(*v);
            irest.record(*v as u64);
        }
        assert_eq!(rest.stats(), whole.stats());
        assert_eq!(rest.state(), whole.state());
        assert_eq!(irest.stats(), iw.stats());
    }

    #[test]
    fn no_values_no_stats() {
        assert_eq!(Accumulator::new(1.0).stats(), None);
        let mut a = Accumulator::new(1.0);
        a.record(7.0);
        let s = a.stats().unwrap();
        assert_eq!((s.count, s.stddev, s.p50, s.max), (1, 0.0, 7.0, 7.0));
    }
}
