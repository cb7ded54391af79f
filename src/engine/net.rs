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
use super::{SimDuration, SimTime};

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

/// Linux's `TCP_RTO_MAX`: the retransmission timeout stops doubling here.
pub const TCP_RTO_MAX: SimDuration = SimDuration::from_ms(120_000);

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
    /// How long after a process dies on a live host its peers' connections
    /// are reset (before the network hop): the kernel tears the process down
    /// (unmaps its memory) before it closes its sockets.
    pub reset_after: SimDuration,
}

impl NetConfig {
    /// What loss does to one message: `None` when it vanishes
    /// ([`LossMode::Drop`]), otherwise how late its retransmissions make it
    /// ([`LossMode::Retransmit`]: one timeout per lost transmission, doubling
    /// up to [`TCP_RTO_MAX`], at most 15). Draws nothing when there is no
    /// loss, and then one number per transmission looked at. Both runtimes
    /// draw through here.
    #[inline]
    pub fn loss_delay(&self, r: &mut Rng) -> Option<SimDuration> {
        let mut delay = SimDuration::ZERO;
        if self.loss > 0.0 {
            match self.loss_mode {
                LossMode::Drop => {
                    if rng::unit(r) < self.loss {
                        return None;
                    }
                }
                LossMode::Retransmit => {
                    let mut rto = self.rto;
                    for _ in 0..15 {
                        if rng::unit(r) >= self.loss {
                            break;
                        }
                        delay = delay + rto;
                        rto = (rto + rto).min(TCP_RTO_MAX);
                    }
                }
            }
        }
        Some(delay)
    }

    /// Whether a message is delivered twice (one draw, none when
    /// duplication is off).
    #[inline]
    pub fn duplicated(&self, r: &mut Rng) -> bool {
        self.duplicate > 0.0 && rng::unit(r) < self.duplicate
    }

    /// The first retransmission at or after `now` of a message first sent
    /// at `first_sent` and held by a cut link since: TCP resends at
    /// `first_sent + rto`, `+ 2 rto`, `+ 4 rto` … (capped at
    /// [`TCP_RTO_MAX`]).
    pub fn retransmission_at(&self, first_sent: SimTime, now: SimTime) -> SimTime {
        let mut rto = self.rto;
        let mut at = first_sent + rto;
        while at < now {
            rto = (rto + rto).min(TCP_RTO_MAX);
            at = at + rto;
        }
        at
    }
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
            reset_after: SimDuration::ZERO,
        }
    }
}

/// Per-link state, kept only for the links in use: the last delivery time of
/// each directed link (links are FIFO) and the workload's extra base
/// latencies. A node's links start as a vector sorted by peer, so a node that
/// talks to a handful of peers pays a few comparisons and 100,000 clients
/// cost memory only for the connections they open, not `n × n`. Once a node
/// talks to half of all nodes (every server of an ensemble does, after an
/// election) its links become a table indexed by peer: no more memory than
/// the sorted vector, and one probe instead of a binary search whose every
/// step is a likely cache miss when hundreds of nodes take turns.
#[derive(Clone, Debug)]
pub struct Links {
    last: Vec<Table>,
    /// `(from, to, base)`, sorted; usually empty.
    base: Vec<(u32, u32, SimDuration)>,
}

/// The outgoing links of one node.
#[derive(Clone, Debug)]
enum Table {
    /// `(peer, last delivery)`, sorted by peer.
    Sparse(Vec<(u32, SimTime)>),
    /// Last delivery to each peer, by peer index; `SimTime::ZERO` for a link
    /// not used yet, which is the same thing to [`Links::fifo`] (no delivery
    /// is earlier).
    Dense(Vec<SimTime>),
}

impl Links {
    pub fn new(n: usize) -> Self {
        Links {
            last: vec![Table::Sparse(Vec::new()); n],
            base: Vec::new(),
        }
    }

    /// Give the `from -> to` link an extra fixed latency.
    pub fn set_base(&mut self, from: usize, to: usize, base: SimDuration) {
        let key = (from as u32, to as u32);
        match self.base.binary_search_by_key(&key, |e| (e.0, e.1)) {
            Ok(i) => self.base[i].2 = base,
            Err(i) => self.base.insert(i, (key.0, key.1, base)),
        }
    }

    /// The extra fixed latency of `from -> to`.
    pub fn base(&self, from: usize, to: usize) -> SimDuration {
        if self.base.is_empty() {
            return SimDuration::ZERO;
        }
        let key = (from as u32, to as u32);
        self.base
            .binary_search_by_key(&key, |e| (e.0, e.1))
            .map_or(SimDuration::ZERO, |i| self.base[i].2)
    }

    /// When a message sent on `from -> to` that would arrive at `at` really
    /// arrives: never before one sent earlier on the same link.
    #[inline]
    pub fn fifo(&mut self, from: usize, to: usize, at: SimTime) -> SimTime {
        let n = self.last.len();
        match &mut self.last[from] {
            Table::Dense(last) => {
                let at = at.max(last[to]);
                last[to] = at;
                at
            }
            Table::Sparse(links) => {
                let peer = to as u32;
                match links.binary_search_by_key(&peer, |e| e.0) {
                    Ok(i) => {
                        let at = at.max(links[i].1);
                        links[i].1 = at;
                        at
                    }
                    Err(i) => {
                        links.insert(i, (peer, at));
                        if 2 * links.len() >= n {
                            // 8 bytes a node now cost no more than 16 a link.
                            let mut dense = vec![SimTime::ZERO; n];
                            for &(p, t) in links.iter() {
                                dense[p as usize] = t;
                            }
                            self.last[from] = Table::Dense(dense);
                        }
                        at
                    }
                }
            }
        }
    }

    /// Links in use, for memory estimates (a link of a dense table counts
    /// once something was delivered on it after time zero).
    pub fn len(&self) -> usize {
        self.last
            .iter()
            .map(|t| match t {
                Table::Sparse(links) => links.len(),
                Table::Dense(last) => last.iter().filter(|&&t| t > SimTime::ZERO).count(),
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Identity of one active partition, to heal it alone.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CutId(u64);

/// One active partition: the group of each server it names.
#[derive(Clone, Debug)]
struct Cut {
    id: CutId,
    /// Group of node `i`, or `u32::MAX` for nodes it does not name.
    group_of: Vec<u32>,
    one_way: bool,
}

/// Directed reachability between nodes. Several partitions and isolations may
/// be active at once; a link is cut while any of them cuts it. Memory is per
/// node and per partition, never `n × n`.
#[derive(Clone, Debug)]
pub struct Reachability {
    /// How many active isolations cut node `i` off from everyone.
    isolated: Vec<u16>,
    cuts: Vec<Cut>,
    next: u64,
    /// Nothing is cut: the common case costs one branch.
    none: bool,
}

impl Reachability {
    pub fn new(n: usize) -> Self {
        Reachability {
            isolated: vec![0; n],
            cuts: Vec::new(),
            next: 0,
            none: true,
        }
    }

    pub fn blocked(&self, from: usize, to: usize) -> bool {
        if self.none {
            return false;
        }
        if self.isolated[from] > 0 || self.isolated[to] > 0 {
            return true;
        }
        self.cuts.iter().any(|c| {
            let g = |i: usize| c.group_of.get(i).copied().unwrap_or(u32::MAX);
            let (a, b) = (g(from), g(to));
            a != u32::MAX && b != u32::MAX && a != b && (!c.one_way || a == 0)
        })
    }

    /// Nothing is cut.
    pub fn is_clear(&self) -> bool {
        self.none
    }

    fn refresh(&mut self) {
        self.none = self.cuts.is_empty() && self.isolated.iter().all(|&k| k == 0);
    }

    /// Cut node `i` off from every other node (`on`), or undo one such cut.
    pub fn isolate(&mut self, i: usize, on: bool) {
        let k = &mut self.isolated[i];
        *k = if on {
            k.saturating_add(1)
        } else {
            k.saturating_sub(1)
        };
        self.refresh();
    }

    /// Cut the links between `groups` (node indices); `one_way` cuts only
    /// `groups[0] -> every other group`. Nodes not named keep every link.
    pub fn partition(&mut self, groups: &[Vec<usize>], one_way: bool) -> CutId {
        let len = groups.iter().flatten().map(|&i| i + 1).max().unwrap_or(0);
        let mut group_of = vec![u32::MAX; len];
        for (g, members) in groups.iter().enumerate() {
            for &i in members {
                group_of[i] = g as u32;
            }
        }
        self.next += 1;
        let id = CutId(self.next);
        self.cuts.push(Cut {
            id,
            group_of,
            one_way,
        });
        self.none = false;
        id
    }

    /// Heal one partition.
    pub fn remove(&mut self, id: CutId) {
        self.cuts.retain(|c| c.id != id);
        self.refresh();
    }

    /// Remove every partition and isolation.
    pub fn heal_all(&mut self) {
        self.cuts.clear();
        self.isolated.iter_mut().for_each(|k| *k = 0);
        self.none = true;
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
        let one_way = r.partition(&[vec![0], vec![1]], true);
        let both = r.partition(&[vec![0], vec![1]], false);
        assert!(r.blocked(0, 1) && r.blocked(1, 0) && !r.blocked(0, 2));
        r.remove(both);
        assert!(r.blocked(0, 1) && !r.blocked(1, 0));
        r.remove(one_way);
        assert!(!r.blocked(0, 1));
        r.isolate(2, true);
        r.isolate(2, true);
        assert!(r.blocked(2, 0) && r.blocked(1, 2) && !r.blocked(0, 1));
        r.isolate(2, false);
        assert!(r.blocked(0, 2));
        r.heal_all();
        assert!(!r.blocked(0, 2) && !r.blocked(2, 1));
    }

    #[test]
    fn nodes_a_partition_does_not_name_keep_their_links() {
        let mut r = Reachability::new(6);
        r.partition(&[vec![0, 1], vec![2]], false);
        assert!(r.blocked(0, 2) && r.blocked(2, 1));
        assert!(!r.blocked(0, 1) && !r.blocked(0, 4) && !r.blocked(5, 2));
    }

    #[test]
    fn links_are_fifo_per_direction_and_sparse() {
        let mut l = Links::new(100_000);
        let t = |ms: u64| SimTime(ms * 1_000_000);
        assert_eq!(l.fifo(7, 99_999, t(5)), t(5));
        assert_eq!(
            l.fifo(7, 99_999, t(3)),
            t(5),
            "never before an earlier send"
        );
        assert_eq!(
            l.fifo(99_999, 7, t(3)),
            t(3),
            "the other direction is its own link"
        );
        assert_eq!(l.len(), 2);
        l.set_base(1, 2, SimDuration::from_ms(4));
        assert_eq!(l.base(1, 2), SimDuration::from_ms(4));
        assert_eq!(l.base(2, 1), SimDuration::ZERO);
    }

    proptest::proptest! {
        /// Whether a node's links are sparse or have turned dense, `fifo`
        /// answers as a plain map of last deliveries per link would.
        #[test]
        fn fifo_is_a_per_link_running_max(
            n in 1usize..12,
            sends in proptest::collection::vec((0usize..12, 0usize..12, 0u64..1_000), 0..300),
        ) {
            let mut l = Links::new(n);
            let mut model = std::collections::BTreeMap::new();
            for (from, to, at) in sends {
                let (from, to, at) = (from % n, to % n, SimTime(at));
                let want = model.get(&(from, to)).map_or(at, |&t: &SimTime| at.max(t));
                model.insert((from, to), want);
                proptest::prop_assert_eq!(l.fifo(from, to, at), want);
            }
        }
    }

    #[test]
    fn a_node_talking_to_half_the_nodes_turns_dense() {
        let mut l = Links::new(6);
        let t = |ms: u64| SimTime(ms * 1_000_000);
        assert_eq!(l.fifo(0, 5, t(9)), t(9));
        assert_eq!(l.fifo(0, 1, t(2)), t(2));
        assert!(matches!(l.last[0], Table::Sparse(_)));
        assert_eq!(l.fifo(0, 3, t(4)), t(4));
        assert!(matches!(l.last[0], Table::Dense(_)), "3 links of 6 nodes");
        assert_eq!(l.fifo(0, 5, t(1)), t(9), "what the sparse table held");
        assert_eq!(l.fifo(0, 2, t(1)), t(1), "a new link");
        assert_eq!(l.len(), 4);
    }
}
