//! Network model: one-way latency distributions, per-link base latency, loss,
//! duplication and partitions.
//!
//! Links are FIFO, like the TCP connections every modelled system uses: a
//! message is never delivered before one sent earlier on the same directed
//! link. Packet loss defaults to TCP semantics ([`LossMode::Retransmit`]): a
//! lost segment is sent again after the retransmission timeout (doubling on
//! each further loss), so the message and everything queued behind it on the
//! link arrive late, but nothing vanishes. [`LossMode::Drop`] makes a lost
//! message vanish instead, which no TCP-based system ever sees; it exists to
//! show what the protocols' reliance on reliable FIFO channels buys (Zab
//! loses acknowledged writes without it). Duplication likewise never happens
//! on TCP and is a robustness knob only.

use super::rng::{self, Rng};
use super::SimDuration;

/// z-score of the 99th percentile of the standard normal distribution.
pub const Z99: f64 = 2.326_347_874_040_841;

/// A one-way latency distribution, in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    Constant {
        ms: f64,
    },
    Uniform {
        min_ms: f64,
        max_ms: f64,
    },
    Exponential {
        mean_ms: f64,
    },
    /// Truncated at zero.
    Normal {
        mean_ms: f64,
        stddev_ms: f64,
    },
    /// `exp(N(mu, sigma))` milliseconds.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
}

impl Latency {
    /// A log-normal distribution with the given median and 99th percentile.
    pub fn lognormal_from_median_p99(median_ms: f64, p99_ms: f64) -> Self {
        Latency::LogNormal {
            mu: libm::log(median_ms),
            sigma: libm::log(p99_ms / median_ms) / Z99,
        }
    }

    /// A normal distribution with the given median (= mean) and 99th percentile.
    pub fn normal_from_median_p99(median_ms: f64, p99_ms: f64) -> Self {
        Latency::Normal {
            mean_ms: median_ms,
            stddev_ms: (p99_ms - median_ms) / Z99,
        }
    }

    /// One draw (a fresh [`rng::Normals`]; the simulator keeps one per stream).
    pub fn sample(&self, rng: &mut Rng) -> SimDuration {
        self.sample_with(rng, &mut rng::Normals::default())
    }

    /// One draw, taking normal variates from `normals`.
    pub fn sample_with(&self, rng: &mut Rng, normals: &mut rng::Normals) -> SimDuration {
        let ms = match *self {
            Latency::Constant { ms } => ms,
            Latency::Uniform { min_ms, max_ms } => min_ms + (max_ms - min_ms) * rng::unit(rng),
            Latency::Exponential { mean_ms } => rng::exponential(rng, mean_ms),
            Latency::Normal { mean_ms, stddev_ms } => mean_ms + stddev_ms * normals.next(rng),
            Latency::LogNormal { mu, sigma } => libm::exp(mu + sigma * normals.next(rng)),
        };
        SimDuration::from_ms_f64(ms)
    }

    /// The distribution's median, for reports.
    pub fn median_ms(&self) -> f64 {
        match *self {
            Latency::Constant { ms } => ms,
            Latency::Uniform { min_ms, max_ms } => (min_ms + max_ms) / 2.0,
            Latency::Exponential { mean_ms } => mean_ms * std::f64::consts::LN_2,
            Latency::Normal { mean_ms, .. } => mean_ms.max(0.0),
            Latency::LogNormal { mu, .. } => libm::exp(mu),
        }
    }
}

/// Extra fixed latency on one directed link (e.g. a node in another zone).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkLatency {
    pub from: usize,
    pub to: usize,
    pub base: SimDuration,
}

/// What happens to a lost message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LossMode {
    /// TCP: resent after the retransmission timeout, which doubles on each
    /// further loss of the same message (up to 15 retransmissions, Linux's
    /// `tcp_retries2`); the message arrives late, never lost.
    Retransmit,
    /// The message vanishes (not TCP; breaks reliable-channel assumptions).
    Drop,
}

/// Linux's `TCP_RTO_MIN`: the smallest retransmission timeout, 200 ms.
pub const TCP_RTO_MIN: SimDuration = SimDuration::from_ms(200);

/// The network of one trial.
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    pub latency: Latency,
    pub links: Vec<LinkLatency>,
    /// Probability that a message (each transmission of it) is lost.
    pub loss: f64,
    pub loss_mode: LossMode,
    /// First retransmission timeout in `Retransmit` mode.
    pub rto: SimDuration,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
}

impl Default for NetConfig {
    /// Same-datacentre network: log-normal one-way latency with a 0.5 ms median
    /// and a 2 ms p99 (a model default, not a parameter of any real system).
    fn default() -> Self {
        NetConfig {
            latency: Latency::lognormal_from_median_p99(0.5, 2.0),
            links: Vec::new(),
            loss: 0.0,
            loss_mode: LossMode::Retransmit,
            rto: TCP_RTO_MIN,
            duplicate: 0.0,
        }
    }
}

/// Directed reachability between nodes. Several partitions may be active at
/// once; a link is cut while any of them cuts it.
#[derive(Clone, Debug)]
pub struct Reachability {
    n: usize,
    cuts: Vec<u16>,
}

impl Reachability {
    pub fn new(n: usize) -> Self {
        Reachability {
            n,
            cuts: vec![0; n * n],
        }
    }

    pub fn blocked(&self, from: usize, to: usize) -> bool {
        self.cuts[from * self.n + to] > 0
    }

    /// Cut (`+1`) or restore (`-1`) the directed links `from -> to`.
    pub fn apply(&mut self, links: &[(usize, usize)], cut: bool) {
        for &(a, b) in links {
            let c = &mut self.cuts[a * self.n + b];
            *c = if cut {
                c.saturating_add(1)
            } else {
                c.saturating_sub(1)
            };
        }
    }

    pub fn heal_all(&mut self) {
        self.cuts.iter_mut().for_each(|c| *c = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantile(mut xs: Vec<f64>, q: f64) -> f64 {
        xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        xs[((xs.len() as f64) * q) as usize]
    }

    #[test]
    fn lognormal_from_median_p99_hits_both() {
        let d = Latency::lognormal_from_median_p99(0.5, 2.0);
        let mut r = rng::stream(9, "t", 0);
        let xs: Vec<f64> = (0..200_000).map(|_| d.sample(&mut r).as_ms_f64()).collect();
        let med = quantile(xs.clone(), 0.5);
        let p99 = quantile(xs, 0.99);
        assert!((med - 0.5).abs() < 0.01, "median {med}");
        assert!((p99 - 2.0).abs() < 0.08, "p99 {p99}");
    }

    #[test]
    fn normal_is_truncated_at_zero() {
        let d = Latency::Normal {
            mean_ms: 0.1,
            stddev_ms: 1.0,
        };
        let mut r = rng::stream(9, "t", 1);
        for _ in 0..10_000 {
            let _ = d.sample(&mut r); // SimDuration is unsigned; this must not panic
        }
        assert_eq!(
            Latency::Constant { ms: -3.0 }.sample(&mut r),
            SimDuration::ZERO
        );
    }

    #[test]
    fn overlapping_partitions_need_every_heal() {
        let mut r = Reachability::new(3);
        r.apply(&[(0, 1)], true);
        r.apply(&[(0, 1), (1, 0)], true);
        assert!(r.blocked(0, 1) && r.blocked(1, 0) && !r.blocked(0, 2));
        r.apply(&[(0, 1), (1, 0)], false);
        assert!(r.blocked(0, 1) && !r.blocked(1, 0));
        r.heal_all();
        assert!(!r.blocked(0, 1));
    }
}
