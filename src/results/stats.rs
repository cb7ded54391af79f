//! Distribution-free statistics for `electbench compare`: the median with a
//! confidence interval from binomial order statistics, the Wilcoxon
//! signed-rank test for paired trials and the Mann–Whitney U test for
//! unpaired ones. Pure functions of their inputs.
//!
//! Why rank tests: failover times are far from normal (a client that happened
//! to sit on the dead leader waits a whole session timeout, so distributions
//! are bimodal with long tails), and a t-test's p-value would not mean what
//! it says. Rank tests assume nothing about the shape.
//!
//! Small samples get the exact permutation distribution (conditional on the
//! ties, counted by dynamic programming over doubled mid-ranks, which are
//! integers), so the p-values are exact even with tied values; larger ones
//! the normal approximation with tie and continuity correction.

/// At most this many non-zero differences get the exact Wilcoxon
/// distribution (2^n sign patterns, counted by sum, not enumerated).
pub const WILCOXON_EXACT_MAX: usize = 25;
/// At most this many values in both samples together get the exact
/// Mann–Whitney distribution.
pub const MANN_WHITNEY_EXACT_MAX: usize = 40;
/// Fewer values than this give no 95 % confidence interval of the median:
/// with n = 5 even [min, max] covers the median with only 93.75 %.
pub const MIN_CI_SAMPLES: usize = 6;

/// The median of `v` (any order); `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let s = sorted(v);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// A distribution-free confidence interval of the median.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MedianCi {
    pub low: f64,
    pub high: f64,
    /// 1-based ranks of the order statistics `low` and `high` are.
    pub ranks: (usize, usize),
    /// The interval's actual coverage (at least the level asked for).
    pub coverage: f64,
}

/// P(X <= k) for X ~ Binomial(n, 1/2), summed from 0 (the plain rule
/// [`median_ci_ranks`] must agree with).
#[cfg(test)]
fn binom_half_cdf(n: usize, k: usize) -> f64 {
    // Work in logs: C(n, i) / 2^n overflows for n past ~1000 otherwise.
    let ln_half_n = n as f64 * std::f64::consts::LN_2;
    let mut ln_c = 0.0f64; // ln C(n, 0)
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        sum += (ln_c - ln_half_n).exp();
    }
    sum.min(1.0)
}

/// The 1-based ranks `(l, n-l+1)` of the order statistics that bound the
/// confidence interval of the median of `n` values at `level` (0.95 for
/// 95 %), and its actual coverage: the widest `l` whose coverage
/// `1 - 2 P(X <= l-1)`, X ~ Binomial(n, 1/2), is still at least `level`.
/// `None` with fewer than [`MIN_CI_SAMPLES`] values or when even
/// `[min, max]` falls short.
///
/// Linear in `sqrt(n)` for large `n`, so it also serves a summary over
/// millions of latencies: the binomial terms further than `20 sqrt(n)` below
/// the mean are below `e^-800` and are skipped (for `n < 1600` none is, so
/// small samples sum exactly the terms they always did).
pub fn median_ci_ranks(n: usize, level: f64) -> Option<((usize, usize), f64)> {
    if n < MIN_CI_SAMPLES {
        return None;
    }
    let alpha = 1.0 - level;
    let ln_half_n = n as f64 * std::f64::consts::LN_2;
    let skip = (20.0 * (n as f64).sqrt()).ceil() as usize;
    let i0 = (n / 2).saturating_sub(skip);
    // ln C(n, i0); work in logs: C(n, i) / 2^n overflows for n past ~1000.
    let mut ln_c = if i0 == 0 {
        0.0
    } else {
        libm::lgamma(n as f64 + 1.0)
            - libm::lgamma(i0 as f64 + 1.0)
            - libm::lgamma((n - i0) as f64 + 1.0)
    };
    // Largest l with 2 P(X <= l - 1) <= alpha; `below` is P(X <= l - 1).
    let mut l = i0;
    let mut below = 0.0f64;
    let mut sum = 0.0f64;
    loop {
        if l > i0 {
            ln_c += ((n - l + 1) as f64).ln() - (l as f64).ln();
        }
        sum += (ln_c - ln_half_n).exp();
        if l < n / 2 && 2.0 * sum.min(1.0) <= alpha {
            below = sum.min(1.0);
            l += 1;
        } else {
            break;
        }
    }
    if l == 0 {
        return None;
    }
    Some(((l, n - l + 1), 1.0 - 2.0 * below))
}

/// The confidence interval `[x_(l), x_(n-l+1)]` of the median at `level`
/// (see [`median_ci_ranks`]).
pub fn median_ci(v: &[f64], level: f64) -> Option<MedianCi> {
    let n = v.len();
    let ((lo, hi), coverage) = median_ci_ranks(n, level)?;
    let s = sorted(v);
    Some(MedianCi {
        low: s[lo - 1],
        high: s[hi - 1],
        ranks: (lo, hi),
        coverage,
    })
}

/// Mid-ranks (1-based; tied values share the mean of their ranks) of `v`,
/// doubled so that they are integers, and the sizes of the tie groups.
fn doubled_midranks(v: &[f64]) -> (Vec<u64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0u64; v.len()];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 averaged, times two: (i+1) + (j+1).
        let r2 = (i + j + 2) as u64;
        for &k in &idx[i..=j] {
            ranks[k] = r2;
        }
        ties.push(j - i + 1);
        i = j + 1;
    }
    (ranks, ties)
}

/// Standard normal upper tail P(Z >= z).
fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// Two-sided p-value from an exact distribution given as counts per value
/// of the statistic (index = statistic), observed statistic `s`.
fn exact_two_sided(counts: &[f64], s: usize) -> f64 {
    let total: f64 = counts.iter().sum();
    let low: f64 = counts[..=s].iter().sum();
    let high: f64 = counts[s..].iter().sum();
    (2.0 * low.min(high) / total).min(1.0)
}

/// The result of a two-sample test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestResult {
    /// The test statistic: W+ (sum of the ranks of positive differences)
    /// for Wilcoxon, U of the first sample for Mann–Whitney.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Values (non-zero differences, or both samples) that entered.
    pub n: usize,
    /// Whether `p` comes from the exact distribution.
    pub exact: bool,
}

/// Wilcoxon signed-rank test of "the differences are symmetric about 0".
/// Zero differences are dropped (Wilcoxon's convention). `None` when no
/// difference is left: there is nothing to test, and nothing changed.
pub fn wilcoxon_signed_rank(diffs: &[f64]) -> Option<TestResult> {
    let d: Vec<f64> = diffs.iter().copied().filter(|x| *x != 0.0).collect();
    let n = d.len();
    if n == 0 {
        return None;
    }
    let abs: Vec<f64> = d.iter().map(|x| x.abs()).collect();
    let (r2, ties) = doubled_midranks(&abs);
    let w2: u64 = r2
        .iter()
        .zip(&d)
        .filter(|(_, x)| **x > 0.0)
        .map(|(r, _)| r)
        .sum();
    let w = w2 as f64 / 2.0;
    if n <= WILCOXON_EXACT_MAX {
        // Under H0 each rank carries a + sign with probability 1/2
        // independently: count the sign patterns by their doubled sum.
        let max: u64 = r2.iter().sum();
        let mut counts = vec![0.0f64; max as usize + 1];
        counts[0] = 1.0;
        let mut reach = 0usize;
        for &r in &r2 {
            let r = r as usize;
            for s in (0..=reach).rev() {
                if counts[s] != 0.0 {
                    counts[s + r] += counts[s];
                }
            }
            reach += r;
        }
        let p = exact_two_sided(&counts, w2 as usize);
        return Some(TestResult {
            statistic: w,
            p,
            n,
            exact: true,
        });
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let tie: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum();
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie / 48.0;
    let p = normal_p(w, mean, var);
    Some(TestResult {
        statistic: w,
        p,
        n,
        exact: false,
    })
}

/// Two-sided normal-approximation p-value with continuity correction.
fn normal_p(stat: f64, mean: f64, var: f64) -> f64 {
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((stat - mean).abs() - 0.5).max(0.0) / var.sqrt();
    (2.0 * normal_sf(z)).min(1.0)
}

/// Mann–Whitney U test (Wilcoxon rank-sum) of "neither sample tends to be
/// larger". `None` when a sample is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<TestResult> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let all: Vec<f64> = a.iter().chain(b).copied().collect();
    let n = all.len();
    let (r2, ties) = doubled_midranks(&all);
    let r1_2: u64 = r2[..n1].iter().sum();
    // U1 = R1 - n1 (n1 + 1) / 2, in doubled units.
    let u = (r1_2 as f64 - (n1 * (n1 + 1)) as f64) / 2.0;
    if n <= MANN_WHITNEY_EXACT_MAX {
        // Under H0 every choice of n1 of the n (tied) ranks for the first
        // sample is equally likely: count the choices by doubled rank sum.
        let max: usize = r2.iter().sum::<u64>() as usize;
        let mut counts = vec![vec![0.0f64; max + 1]; n1 + 1];
        counts[0][0] = 1.0;
        for &r in &r2 {
            let r = r as usize;
            for k in (0..n1).rev() {
                let (lo, hi) = counts.split_at_mut(k + 1);
                for s in 0..=max - r {
                    if lo[k][s] != 0.0 {
                        hi[0][s + r] += lo[k][s];
                    }
                }
            }
        }
        let p = exact_two_sided(&counts[n1], r1_2 as usize);
        return Some(TestResult {
            statistic: u,
            p,
            n,
            exact: true,
        });
    }
    let (f1, f2, nf) = (n1 as f64, n2 as f64, n as f64);
    let tie: f64 = ties.iter().map(|&t| (t * t * t - t) as f64).sum();
    let var = f1 * f2 / 12.0 * ((nf + 1.0) - tie / (nf * (nf - 1.0)));
    let p = normal_p(u, f1 * f2 / 2.0, var);
    Some(TestResult {
        statistic: u,
        p,
        n,
        exact: false,
    })
}

/// Geometric mean of the positive values of `v` and how many entered.
pub fn geometric_mean(v: &[f64]) -> Option<(f64, usize)> {
    let pos: Vec<f64> = v.iter().copied().filter(|x| *x > 0.0).collect();
    if pos.is_empty() {
        return None;
    }
    let ln: f64 = pos.iter().map(|x| x.ln()).sum::<f64>() / pos.len() as f64;
    Some((ln.exp(), pos.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Independent reference: enumerate all 2^n sign patterns of the ranks
    /// (ranks computed naively, O(n^2)) and count those at least as extreme.
    fn wilcoxon_by_enumeration(d: &[f64]) -> f64 {
        let d: Vec<f64> = d.iter().copied().filter(|x| *x != 0.0).collect();
        let n = d.len();
        let rank = |x: f64| {
            let less = d.iter().filter(|y| y.abs() < x.abs()).count() as f64;
            let eq = d.iter().filter(|y| y.abs() == x.abs()).count() as f64;
            less + (eq + 1.0) / 2.0
        };
        let ranks: Vec<f64> = d.iter().map(|x| rank(*x)).collect();
        let w: f64 = ranks
            .iter()
            .zip(&d)
            .filter(|(_, x)| **x > 0.0)
            .map(|(r, _)| r)
            .sum();
        let (mut le, mut ge) = (0u64, 0u64);
        for mask in 0u64..(1 << n) {
            let s: f64 = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| ranks[i])
                .sum();
            if s <= w + 1e-9 {
                le += 1;
            }
            if s >= w - 1e-9 {
                ge += 1;
            }
        }
        (2.0 * le.min(ge) as f64 / (1u64 << n) as f64).min(1.0)
    }

    /// Independent reference: enumerate every split of the pooled values
    /// into a first sample of n1 and compare U.
    fn mann_whitney_by_enumeration(a: &[f64], b: &[f64]) -> f64 {
        let all: Vec<f64> = a.iter().chain(b).copied().collect();
        let n = all.len();
        let u_of = |first: &[usize]| {
            let mut u = 0.0;
            for &i in first {
                for j in (0..n).filter(|j| !first.contains(j)) {
                    if all[i] > all[j] {
                        u += 1.0;
                    } else if all[i] == all[j] {
                        u += 0.5;
                    }
                }
            }
            u
        };
        let obs = u_of(&(0..a.len()).collect::<Vec<_>>());
        let (mut le, mut ge, mut total) = (0u64, 0u64, 0u64);
        for mask in 0u64..(1 << n) {
            if mask.count_ones() as usize != a.len() {
                continue;
            }
            let first: Vec<usize> = (0..n).filter(|i| mask >> i & 1 == 1).collect();
            let u = u_of(&first);
            total += 1;
            if u <= obs + 1e-9 {
                le += 1;
            }
            if u >= obs - 1e-9 {
                ge += 1;
            }
        }
        (2.0 * le.min(ge) as f64 / total as f64).min(1.0)
    }

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn median_ci_ranks_match_the_published_table() {
        // Conover, Practical Nonparametric Statistics, table A3 / the
        // binomial table: 95 % two-sided ranks of the median's interval.
        // n: (l, u, coverage)
        let table = [
            (6, 1, 6, 0.96875),
            (10, 2, 9, 0.978_516),
            (15, 4, 12, 0.964_844),
            (20, 6, 15, 0.958_611),
            (30, 10, 21, 0.957_226),
        ];
        for (n, l, u, cov) in table {
            let v: Vec<f64> = (1..=n).map(|i| i as f64 * 10.0).collect();
            let ci = median_ci(&v, 0.95).unwrap();
            assert_eq!(ci.ranks, (l, u), "n = {n}");
            assert_eq!((ci.low, ci.high), (l as f64 * 10.0, u as f64 * 10.0));
            assert!(close(ci.coverage, cov, 1e-5), "n = {n}: {}", ci.coverage);
        }
        assert_eq!(median_ci(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95), None);
    }

    #[test]
    fn median_ci_ranks_agree_with_the_plain_rule() {
        // The plain rule: sum the binomial from 0 for every candidate l.
        for n in (6..400).chain([1599, 1600, 1601, 2500]) {
            let mut l = 0;
            while l < n / 2 && 2.0 * binom_half_cdf(n, l) <= 0.05 {
                l += 1;
            }
            let (ranks, cov) = median_ci_ranks(n, 0.95).unwrap();
            assert_eq!(ranks, (l, n - l + 1), "n = {n}");
            assert!(close(cov, 1.0 - 2.0 * binom_half_cdf(n, l - 1), 1e-9));
        }
        // Millions of latencies: fast, and about the normal approximation.
        let n = 40_000_000;
        let ((l, u), cov) = median_ci_ranks(n, 0.95).unwrap();
        let approx = n as f64 / 2.0 - 1.96 * (n as f64).sqrt() / 2.0;
        assert!((l as f64 - approx).abs() < 3.0, "{l} vs {approx}");
        assert_eq!(u, n - l + 1);
        assert!((0.95..0.951).contains(&cov), "{cov}");
    }

    #[test]
    fn median_ci_for_large_n_is_about_the_normal_approximation() {
        // For n = 1000, l is about n/2 - 1.96 sqrt(n)/2 = 469.
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        let ci = median_ci(&v, 0.95).unwrap();
        assert!((468..=470).contains(&ci.ranks.0), "{:?}", ci.ranks);
        assert!(ci.coverage >= 0.95 && ci.coverage < 0.96);
    }

    #[test]
    fn wilcoxon_textbook_example() {
        // Fisher's / Darwin's Zea mays differences (scipy.stats.wilcoxon's
        // documented example): W- = 24, exact two-sided p = 0.041259765625.
        let d = [
            6.0, 8.0, 14.0, 16.0, 23.0, 24.0, 28.0, 29.0, 41.0, -48.0, 49.0, 56.0, 60.0, -67.0,
            75.0,
        ];
        let r = wilcoxon_signed_rank(&d).unwrap();
        assert!(r.exact);
        assert_eq!(r.statistic, 120.0 - 24.0);
        assert!(close(r.p, 0.041_259_765_625, 1e-12), "{}", r.p);
    }

    #[test]
    fn wilcoxon_exact_matches_enumeration_with_and_without_ties() {
        let cases: &[&[f64]] = &[
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            &[1.0, -2.0, 3.0, 4.0, -5.0, 6.0, 7.0],
            &[1.5, -1.5, 2.0, 2.0, -3.0, 4.0, 0.0, 5.0, 5.0, -5.0],
            &[
                -0.2, 0.7, 0.7, 0.7, 1.1, -1.1, 2.0, 3.0, 3.0, 4.5, -6.0, 8.0,
            ],
            &[3.0],
        ];
        for d in cases {
            let r = wilcoxon_signed_rank(d).unwrap();
            let want = wilcoxon_by_enumeration(d);
            assert!(close(r.p, want, 1e-12), "{d:?}: {} vs {want}", r.p);
        }
        // Smallest possible two-sided p for n = 6: 2 / 64.
        let r = wilcoxon_signed_rank(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert!(close(r.p, 0.03125, 1e-15));
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0]), None);
    }

    #[test]
    fn wilcoxon_normal_approximation_is_close_to_exact_at_the_boundary() {
        // At n = 25, the largest exact n, the normal approximation must
        // already agree with the exact p closely (it takes over above).
        let d: Vec<f64> = (1..=25)
            .map(|i| if i % 3 == 0 { -(i as f64) } else { i as f64 })
            .collect();
        let exact = wilcoxon_signed_rank(&d).unwrap();
        assert!(exact.exact);
        let (n, w) = (25.0f64, exact.statistic);
        let var = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0;
        let approx = normal_p(w, n * (n + 1.0) / 4.0, var);
        assert!(close(exact.p, approx, 0.005), "{} vs {approx}", exact.p);
        let big: Vec<f64> = (1..=40).map(f64::from).collect();
        let r = wilcoxon_signed_rank(&big).unwrap();
        assert!(!r.exact && r.p < 1e-6);
    }

    #[test]
    fn mann_whitney_textbook_example() {
        // scipy.stats.mannwhitneyu's documented example (Conover): males
        // vs females, U1 = 17, exact two-sided p = 1/9, asymptotic
        // (continuity-corrected) p = 0.11134688653314041.
        let males = [19.0, 22.0, 16.0, 29.0, 24.0];
        let females = [20.0, 11.0, 17.0, 12.0];
        let r = mann_whitney(&males, &females).unwrap();
        assert!(r.exact);
        assert_eq!(r.statistic, 17.0);
        assert!(close(r.p, 1.0 / 9.0, 1e-12), "{}", r.p);
        let approx = normal_p(17.0, 10.0, 5.0 * 4.0 * 10.0 / 12.0);
        assert!(close(approx, 0.111_346_886_533_140_41, 1e-12), "{approx}");
    }

    #[test]
    fn mann_whitney_exact_matches_enumeration_with_and_without_ties() {
        let cases: &[(&[f64], &[f64])] = &[
            (&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]),
            (&[1.0, 5.0, 9.0, 2.0], &[3.0, 4.0, 8.0, 7.0, 6.0]),
            (&[1.0, 2.0, 2.0, 3.0, 5.0], &[2.0, 3.0, 3.0, 4.0, 6.0, 6.0]),
            (&[7.0, 7.0, 7.0], &[7.0, 7.0, 8.0, 1.0]),
        ];
        for (a, b) in cases {
            let r = mann_whitney(a, b).unwrap();
            let want = mann_whitney_by_enumeration(a, b);
            assert!(close(r.p, want, 1e-12), "{a:?} {b:?}: {} vs {want}", r.p);
        }
        // Complete separation, 3 vs 3: 2 / C(6, 3) = 0.1.
        let r = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!(close(r.p, 0.1, 1e-15));
        assert_eq!(r.statistic, 0.0);
    }

    #[test]
    fn mann_whitney_normal_approximation_for_large_samples() {
        // 30 vs 30, shifted by 10 ranks: clearly different. Identical
        // samples: p = 1.
        let a: Vec<f64> = (0..30).map(f64::from).collect();
        let b: Vec<f64> = (10..40).map(f64::from).collect();
        let r = mann_whitney(&a, &b).unwrap();
        assert!(!r.exact);
        // U1 by hand: pairs with a > b are a in 11..=29, b in 10..a, that
        // is 1 + 2 + ... + 19 = 190; the 20 ties (a = b in 10..=29) count
        // half: U1 = 200.
        assert_eq!(r.statistic, 200.0);
        let var = 30.0 * 30.0 * 61.0 / 12.0;
        let z = ((200.0f64 - 450.0).abs() - 0.5) / f64::sqrt(var);
        let want = 2.0 * normal_sf(z);
        // The tie correction (20 pairs of ties) barely moves it.
        assert!(close(r.p, want, 1e-4), "{} vs {want}", r.p);
        assert!(r.p < 0.01);
        let same = mann_whitney(&a, &a).unwrap();
        assert!(close(same.p, 1.0, 1e-12));
    }

    #[test]
    fn normal_tail_known_values() {
        assert!(close(2.0 * normal_sf(1.959_963_985), 0.05, 1e-9));
        assert!(close(normal_sf(0.0), 0.5, 1e-15));
    }

    #[test]
    fn geometric_mean_skips_zeros() {
        let (g, n) = geometric_mean(&[0.0, 2.0, 8.0]).unwrap();
        assert!(close(g, 4.0, 1e-12));
        assert_eq!(n, 2);
        assert_eq!(geometric_mean(&[0.0]), None);
    }
}
