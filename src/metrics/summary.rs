//! Summary statistics over many values: exact count, mean, standard deviation,
//! min and max; percentiles from an HdrHistogram (3 significant digits); and a
//! distribution-free 95 % confidence interval of the median (binomial order
//! statistics, `results::stats::median_ci_ranks`): exact for an
//! [`Accumulator`] (from the values it keeps, or, for a run's summary, which
//! keeps none, from the values the caller reads back from `raw.csv`: see
//! [`Accumulator::set_median_ci`]), and histogram-precise for an
//! [`IntAccumulator`], which takes every write of every trial.

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
    /// An [`Accumulator`]'s values in recording order (f64 bits), for the
    /// median's confidence interval; empty for an [`IntAccumulator`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<u64>,
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
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// 95 % confidence interval of the median (low, high); `None` with too
    /// few values (`results::stats::MIN_CI_SAMPLES`).
    pub median_ci: Option<(f64, f64)>,
}

/// The confidence level of [`Stats::median_ci`].
pub const MEDIAN_CI_LEVEL: f64 = 0.95;

/// Accumulates values of one metric; `scale` converts a value to the integer
/// the histogram records (1000 keeps three decimals of a millisecond value).
/// The median's confidence interval needs exact order statistics, which a
/// histogram only approximates: [`Accumulator::new`] keeps the values
/// themselves (8 bytes each) for it; [`Accumulator::streamed`] keeps none, so
/// its memory and checkpoint stay the same size however many trials it
/// takes, and its interval is computed elsewhere (a run's summary reads the
/// values back from `raw.csv`) and handed in with
/// [`Accumulator::set_median_ci`].
#[derive(Clone, Debug, PartialEq)]
pub struct Accumulator {
    scale: f64,
    hist: Histogram<u64>,
    /// Whether `values` holds every recorded value.
    keep_values: bool,
    values: Vec<f64>,
    /// The interval set from outside, for an accumulator without values.
    median_ci: Option<(f64, f64)>,
    count: u64,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Accumulator {
    /// An accumulator that keeps its values, for an exact median interval.
    pub fn new(scale: f64) -> Self {
        Accumulator {
            scale,
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
            keep_values: true,
            values: Vec::new(),
            median_ci: None,
            count: 0,
            sum: 0.0,
            sum_sq: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// An accumulator that keeps no values: its memory does not grow with
    /// what it records; its median interval is [`Accumulator::set_median_ci`]'s.
    pub fn streamed(scale: f64) -> Self {
        Accumulator {
            keep_values: false,
            ..Accumulator::new(scale)
        }
    }

    /// The median's interval of an accumulator that keeps no values,
    /// computed by the caller from the same values (`None`: too few).
    pub fn set_median_ci(&mut self, ci: Option<(f64, f64)>) {
        self.median_ci = ci;
    }

    pub fn record(&mut self, v: f64) {
        let scaled = (v * self.scale).round().max(0.0) as u64;
        self.hist
            .record(scaled)
            .expect("an auto-resizing histogram takes any u64");
        if self.keep_values {
            self.values.push(v);
        }
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
        if self.keep_values {
            debug_assert!(other.keep_values, "merging needs the other's values");
            self.values.extend_from_slice(&other.values);
        }
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
            values: self.values.iter().map(|v| v.to_bits()).collect(),
        }
    }

    /// The accumulator whose state is `s`, keeping values if `keep_values`
    /// (then `s` must hold every one).
    pub fn from_state(s: &AccState, keep_values: bool) -> Result<Self, String> {
        if keep_values && s.values.len() as u64 != s.count {
            return Err(format!(
                "an accumulator of {} values keeps {}",
                s.count,
                s.values.len()
            ));
        }
        Ok(Accumulator {
            scale: f64::from_bits(s.scale),
            hist: histogram(&s.buckets),
            keep_values,
            values: if keep_values {
                s.values.iter().map(|&b| f64::from_bits(b)).collect()
            } else {
                Vec::new()
            },
            median_ci: None,
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
            if self.keep_values {
                crate::results::stats::median_ci(&self.values, MEDIAN_CI_LEVEL)
                    .map(|c| (c.low, c.high))
            } else {
                self.median_ci
            },
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
    /// The histogram of every recorded value (3 significant digits).
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

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
            values: Vec::new(),
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
            self.median_ci(),
        )
    }

    /// The median's confidence interval from the histogram: the values at
    /// the interval's ranks are read as [`Histogram::value_at_quantile`]
    /// reads its quantiles (the highest value equivalent to the bucket that
    /// holds that rank), so each bound is within the histogram's precision
    /// (3 significant digits) of the exact order statistic, clamped to
    /// [min, max] like the percentiles. Keeping every latency to sort them
    /// would cost memory in proportion to the writes.
    fn median_ci(&self) -> Option<(f64, f64)> {
        let n = usize::try_from(self.count).ok()?;
        let ((lo, hi), _) = crate::results::stats::median_ci_ranks(n, MEDIAN_CI_LEVEL)?;
        let at_rank = |r: usize| {
            let mut seen = 0u64;
            for v in self.hist.iter_recorded() {
                seen += v.count_at_value();
                if seen >= r as u64 {
                    let x = self.hist.highest_equivalent(v.value_iterated_to());
                    return x.clamp(self.min, self.max) as f64;
                }
            }
            self.max as f64
        };
        Some((at_rank(lo), at_rank(hi)))
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
    median_ci: Option<(f64, f64)>,
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
        p95: q(0.95),
        p99: q(0.99),
        p999: q(0.999),
        max,
        median_ci,
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
        let mut rest =
            Accumulator::from_state(&serde_json::from_str(&json).unwrap(), true).unwrap();
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
    fn a_streamed_accumulator_keeps_no_values_and_takes_its_interval() {
        let mut kept = Accumulator::new(1000.0);
        let mut streamed = Accumulator::streamed(1000.0);
        for v in [7.5, 1.0, 3.25, 9.0, 2.0, 4.0, 8.0, 6.0, 5.0, 10.0] {
            kept.record(v);
            streamed.record(v);
        }
        let state = streamed.state();
        assert!(state.values.is_empty(), "the checkpoint holds no values");
        assert!(!serde_json::to_string(&state).unwrap().contains("values"));
        assert_eq!(streamed.stats().unwrap().median_ci, None, "until it is set");
        streamed.set_median_ci(Some((2.0, 9.0)));
        assert_eq!(streamed.stats(), kept.stats());
        // Restored without values, it goes on without them.
        let mut back = Accumulator::from_state(&state, false).unwrap();
        back.record(11.0);
        assert!(back.state().values.is_empty());
        assert!(
            Accumulator::from_state(&state, true).is_err(),
            "values missing"
        );
    }

    #[test]
    fn no_values_no_stats() {
        assert_eq!(Accumulator::new(1.0).stats(), None);
        let mut a = Accumulator::new(1.0);
        a.record(7.0);
        let s = a.stats().unwrap();
        assert_eq!((s.count, s.stddev, s.p50, s.max), (1, 0.0, 7.0, 7.0));
    }

    #[test]
    fn p95_lies_between_p90_and_p99_on_known_data() {
        let mut a = Accumulator::new(1.0);
        let mut i = IntAccumulator::default();
        for v in 1..=1000u64 {
            a.record(v as f64);
            i.record(v);
        }
        for s in [a.stats().unwrap(), i.stats().unwrap()] {
            assert_eq!((s.p90, s.p95, s.p99), (900.0, 950.0, 990.0));
        }
    }

    #[test]
    fn median_ci_on_known_data() {
        // n = 10: the 95 % interval is [x_(2), x_(9)] (coverage 97.9 %).
        let mut a = Accumulator::new(1000.0);
        for v in [7.5, 1.0, 3.25, 9.0, 2.0, 4.0, 8.0, 6.0, 5.0, 10.0] {
            a.record(v);
        }
        assert_eq!(a.stats().unwrap().median_ci, Some((2.0, 9.0)));
        // It survives a checkpoint.
        let b = Accumulator::from_state(&a.state(), true).unwrap();
        assert_eq!(b.stats(), a.stats());
        // Five values are too few.
        let mut few = Accumulator::new(1.0);
        (1..=5).for_each(|v| few.record(f64::from(v)));
        assert_eq!(few.stats().unwrap().median_ci, None);
        // Latencies: from the histogram at the same ranks. 1..=1000 gives
        // ranks 469 and 532, exact below 2048 µs.
        let mut i = IntAccumulator::default();
        (1..=1000u64).rev().for_each(|v| i.record(v));
        assert_eq!(i.stats().unwrap().median_ci, Some((469.0, 532.0)));
        // From 8192 to 16383 µs a bucket is 8 µs wide: each bound is the
        // highest value of its order statistic's bucket, as a percentile is.
        let mut j = IntAccumulator::default();
        (1..=1000u64).for_each(|v| j.record(10_000 + v));
        let (lo, hi) = j.stats().unwrap().median_ci.unwrap();
        assert!((10_469.0..10_477.0).contains(&lo), "{lo}");
        assert!((10_532.0..10_540.0).contains(&hi), "{hi}");
    }
}
