//! Per-trial metrics, computed from a trial's observations. The meaning of each
//! metric is the same on every path (DESIGN.md "Measurements"); the exact
//! definitions are in `results/README.md`.

pub mod summary;

use std::collections::BTreeSet;

use crate::engine::sim::{Record, SimOutput};
use crate::engine::stats::BUCKET;
use crate::engine::{NodeId, Obs, Scope, SimDuration, SimTime};

use summary::IntAccumulator;

/// The metrics of one trial. `None` is "not applicable" (no fault applied, no
/// election happened, no client succeeded): written as an empty cell, never 0.
#[derive(Clone, Debug, PartialEq)]
pub struct TrialMetrics {
    /// Time of the first applied fault.
    pub fault_at_ms: Option<f64>,
    pub detect_ms: Option<f64>,
    pub elect_ms: Option<f64>,
    pub recover_ms: Option<f64>,
    pub failover_ms: Option<f64>,
    pub unavailable_ms: Option<f64>,
    pub election_rounds: Option<u64>,
    pub messages: Option<u64>,
    pub lost_acked_writes: u64,
    pub violations: u64,
    pub throughput_ops_s: f64,
    pub writes_ok: u64,
    pub writes_failed: u64,
    pub reads_ok: u64,
    pub reads_failed: u64,
    /// Exact (nearest-rank) p50, p99, p999 and max of the trial's write
    /// latencies from their intended send time, in µs.
    pub commit_latency_us: [Option<u64>; 4],
    /// Every write latency of the trial (µs), for the summary over trials;
    /// the runner takes it into its point's accumulator as the trial lands.
    pub commit_latency_acc: Option<IntAccumulator>,
    /// The same for successful reads.
    pub read_latency_us: [Option<u64>; 4],
    pub read_latency_acc: Option<IntAccumulator>,
}

impl Default for TrialMetrics {
    fn default() -> Self {
        TrialMetrics {
            fault_at_ms: None,
            detect_ms: None,
            elect_ms: None,
            recover_ms: None,
            failover_ms: None,
            unavailable_ms: None,
            election_rounds: None,
            messages: None,
            lost_acked_writes: 0,
            violations: 0,
            throughput_ops_s: 0.0,
            writes_ok: 0,
            writes_failed: 0,
            reads_ok: 0,
            reads_failed: 0,
            commit_latency_us: [None; 4],
            commit_latency_acc: None,
            read_latency_us: [None; 4],
            read_latency_acc: None,
        }
    }
}

/// The quantiles of [`TrialMetrics::commit_latency_us`].
pub const LATENCY_QUANTILES: [f64; 4] = [0.5, 0.99, 0.999, 1.0];

/// Exact nearest-rank quantiles `qs` of `v` (reordered in place).
pub fn nearest_rank(v: &mut [u64], qs: &[f64]) -> Vec<Option<u64>> {
    qs.iter()
        .map(|&q| {
            if v.is_empty() {
                return None;
            }
            let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
            Some(*v.select_nth_unstable(rank - 1).1)
        })
        .collect()
}

/// One row of a trial's failover timeline: a common observation or phase of
/// one node, or (with `ops`) the client operations that finished in one
/// 100 ms bucket after the fault.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEvent {
    pub at: SimTime,
    pub node: Option<NodeId>,
    pub scope: Scope,
    /// `detected`, `election_round`, `elected`, `serving`, a path's phase
    /// name, or `client_ops` for a bucket.
    pub event: &'static str,
    /// The term of an election round, an election or a serving leader.
    pub term: Option<u64>,
    /// (succeeded, failed) client operations of the bucket starting at `at`.
    pub ops: Option<(u32, u32)>,
}

/// The timeline of a trial: every common observation and phase in the order
/// recorded, then the client buckets from the first applied fault on.
pub fn timeline(out: &SimOutput) -> Vec<TimelineEvent> {
    let mut events: Vec<TimelineEvent> = out
        .records
        .iter()
        .filter_map(|r| {
            let (event, term) = match r.obs {
                Obs::Detected { .. } => ("detected", None),
                Obs::ElectionRound { term, .. } => ("election_round", Some(term)),
                Obs::Elected { term, .. } => ("elected", Some(term)),
                Obs::Serving { term, .. } => ("serving", Some(term)),
                Obs::Phase { name, .. } => (name, None),
                Obs::OpDone { .. } | Obs::Note(_) => return None,
            };
            Some(TimelineEvent {
                at: r.at,
                node: Some(r.node),
                scope: r.obs.scope(),
                event,
                term,
                ops: None,
            })
        })
        .collect();
    if let Some(t0) = out.clients.fault_at {
        for (k, &(ok, failed)) in out.clients.buckets.iter().enumerate() {
            events.push(TimelineEvent {
                at: t0 + SimDuration(BUCKET.0 * k as u64),
                node: None,
                scope: Scope::Whole,
                event: "client_ops",
                term: None,
                ops: Some((ok, failed)),
            });
        }
    }
    events
}

fn ms_between(later: SimTime, earlier: SimTime) -> f64 {
    later.since(earlier).as_ms_f64()
}

/// The exact quantiles [`LATENCY_QUANTILES`] of a trial's latencies, and
/// their accumulator for the summary over trials.
fn latencies(mut v: Vec<u64>) -> ([Option<u64>; 4], Option<IntAccumulator>) {
    let mut acc = IntAccumulator::default();
    for &x in &v {
        acc.record(x);
    }
    let q = nearest_rank(&mut v, &LATENCY_QUANTILES);
    ([q[0], q[1], q[2], q[3]], Some(acc))
}

/// Compute a trial's metrics. `load_start` is when measurement began: when
/// clients began issuing, plus the warm-up.
/// Takes the output to drop the trial's latencies once summarised.
pub fn compute(out: &mut SimOutput, load_start: SimTime) -> TrialMetrics {
    let c = &mut out.clients;
    let mut m = TrialMetrics {
        lost_acked_writes: out.findings.lost_acked_writes,
        violations: out.violations.len() as u64,
        writes_ok: c.writes_ok,
        writes_failed: c.writes_failed,
        reads_ok: c.reads_ok,
        reads_failed: c.reads_failed,
        ..TrialMetrics::default()
    };
    (m.commit_latency_us, m.commit_latency_acc) =
        latencies(std::mem::take(&mut c.write_latencies_us));
    (m.read_latency_us, m.read_latency_acc) = latencies(std::mem::take(&mut c.read_latencies_us));
    let active_s = out.end.since(load_start).as_ms_f64() / 1e3;
    if active_s > 0.0 {
        m.throughput_ops_s = c.writes_ok_measured as f64 / active_s;
    }

    let Some(fault) = out.faults.iter().find(|f| f.applied) else {
        return m;
    };
    let t0 = fault.at;
    m.fault_at_ms = Some(t0.as_ms_f64());
    // The common columns are about what the fault hit: the whole system, or
    // the partition (shard, group) the model resolved the target to.
    let scoped = |r: &&Record| r.obs.scope() == fault.scope;

    let detect = out.records.iter().filter(scoped).find_map(|r| match r.obs {
        Obs::Detected { .. } if r.at >= t0 => Some(r.at),
        _ => None,
    });
    m.detect_ms = detect.map(|t| ms_between(t, t0));

    let serving = out
        .records
        .iter()
        .filter(scoped)
        .find(|r| r.at > t0 && matches!(r.obs, Obs::Serving { .. }));
    let window_end = serving.map_or(out.end, |r| r.at);
    let msgs_end = serving.map_or(out.protocol_msgs, |r| r.protocol_msgs);
    m.messages = Some(msgs_end.saturating_sub(fault.protocol_msgs));
    let rounds: BTreeSet<u64> = out
        .records
        .iter()
        .filter(scoped)
        .filter(|r| r.at >= t0 && r.at <= window_end)
        .filter_map(|r| match r.obs {
            Obs::ElectionRound { term, .. } => Some(term),
            _ => None,
        })
        .collect();
    m.election_rounds = Some(rounds.len() as u64);

    if let Some(s) = serving {
        let Obs::Serving { leader, .. } = s.obs else {
            unreachable!("filtered on Serving")
        };
        let elected = out
            .records
            .iter()
            .filter(scoped)
            .filter(|r| r.at >= t0 && r.at <= s.at)
            .filter(|r| matches!(r.obs, Obs::Elected { leader: l, .. } if l == leader))
            .map(|r| r.at)
            .next_back();
        if let Some(e) = elected {
            m.elect_ms = detect.map(|d| ms_between(e.max(d), d));
            m.recover_ms = Some(ms_between(s.at, e));
        }
    }

    // What a client sees: the first write issued after the fault that succeeds.
    m.failover_ms = c.first_write_after.map(|t| ms_between(t, t0));
    // The longest gap between successful operations that ends after the
    // fault (not applicable without clients).
    m.unavailable_ms = c.unavailable(out.end).map(|d| d.as_ms_f64());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sim::AppliedFault;
    use crate::engine::stats::ClientStats;
    use crate::engine::{ClientOp, Findings, NodeId, OpKind, Scope};

    fn ms(x: u64) -> SimTime {
        SimTime(x * 1_000_000)
    }

    fn rec(at: u64, msgs: u64, obs: Obs<()>) -> Record {
        Record {
            at: ms(at),
            node: NodeId(0),
            protocol_msgs: msgs,
            obs,
        }
    }

    fn write(issued: u64, done: u64, ok: bool) -> Record {
        rec(
            done,
            0,
            Obs::OpDone {
                op: ClientOp {
                    id: issued,
                    kind: OpKind::Write,
                    issued: ms(issued),
                },
                ok,
            },
        )
    }

    fn output(records: Vec<Record>, fault_at: Option<u64>) -> SimOutput {
        let ops: Vec<_> = records
            .iter()
            .filter_map(|r| match r.obs {
                Obs::OpDone { op, ok } => Some((r.at, op, ok)),
                _ => None,
            })
            .collect();
        SimOutput {
            clients: ClientStats::replay(&ops, fault_at.map(ms)),
            records,
            faults: fault_at
                .map(|t| AppliedFault {
                    at: ms(t),
                    what: "crash",
                    node: Some(NodeId(4)),
                    scope: Scope::Whole,
                    applied: true,
                    protocol_msgs: 100,
                })
                .into_iter()
                .collect(),
            violations: vec![],
            findings: Findings::default(),
            events: 0,
            messages: 0,
            protocol_msgs: 500,
            end: ms(30_000),
            trace_hash: 0,
            trace: vec![],
            aborted: false,
        }
    }

    #[test]
    fn timeline_splits_into_detect_elect_recover_and_failover() {
        let recs = vec![
            write(9_000, 9_001, true),
            write(10_100, 10_100, false),
            rec(20_000, 150, Obs::detected(Some(NodeId(4)))),
            rec(20_000, 150, Obs::round(2)),
            rec(20_001, 151, Obs::round(2)),
            rec(20_200, 170, Obs::elected(NodeId(3), 2)),
            rec(20_205, 180, Obs::serving(NodeId(3), 2)),
            write(20_300, 20_302, true),
            write(20_400, 20_401, true),
        ];
        let m = compute(&mut output(recs, Some(10_000)), SimTime::ZERO);
        assert_eq!(m.detect_ms, Some(10_000.0));
        assert_eq!(m.elect_ms, Some(200.0));
        assert_eq!(m.recover_ms, Some(5.0));
        assert_eq!(m.failover_ms, Some(10_302.0));
        assert_eq!(m.election_rounds, Some(1));
        assert_eq!(m.messages, Some(80));
        assert_eq!((m.writes_ok, m.writes_failed), (3, 1));
        // Longest gap: the last success before the fault (9.001 s) to 20.302 s,
        // unless the tail after the last success (30 s - 20.401 s) is longer.
        assert_eq!(m.unavailable_ms, Some(11_301.0));
        assert_eq!(m.commit_latency_us[0], Some(1_000), "p50");
        assert_eq!(m.commit_latency_us[3], Some(2_000), "max");
        assert_eq!(m.commit_latency_acc.unwrap().stats().unwrap().count, 3);
    }

    #[test]
    fn without_a_fault_failover_metrics_are_empty_not_zero() {
        let m = compute(&mut output(vec![write(1, 2, true)], None), SimTime::ZERO);
        assert_eq!(m.fault_at_ms, None);
        assert_eq!(m.detect_ms, None);
        assert_eq!(m.elect_ms, None);
        assert_eq!(m.failover_ms, None);
        assert_eq!(m.election_rounds, None);
    }

    #[test]
    fn without_clients_there_is_no_unavailability_to_report() {
        let recs = vec![rec(10_100, 0, Obs::detected(None))];
        let m = compute(&mut output(recs, Some(10_000)), SimTime::ZERO);
        assert_eq!(m.detect_ms, Some(100.0));
        assert_eq!(m.unavailable_ms, None);
        assert_eq!(m.failover_ms, None);
    }

    #[test]
    fn a_fault_without_election_has_no_elect_or_recover_time() {
        let recs = vec![write(5_000, 5_001, true), write(10_500, 10_501, true)];
        let m = compute(&mut output(recs, Some(10_000)), SimTime::ZERO);
        assert_eq!(m.elect_ms, None);
        assert_eq!(m.recover_ms, None);
        assert_eq!(m.election_rounds, Some(0));
        assert_eq!(m.failover_ms, Some(501.0));
    }

    #[test]
    fn a_write_in_flight_at_the_fault_does_not_count_as_failover() {
        // Issued before the fault, acknowledged after it: not what a client
        // that starts writing after the fault sees.
        let recs = vec![write(9_999, 10_001, true), write(12_000, 12_003, true)];
        let m = compute(&mut output(recs, Some(10_000)), SimTime::ZERO);
        assert_eq!(m.failover_ms, Some(2_003.0));
    }

    #[test]
    fn warmup_is_left_out_of_throughput_and_latencies() {
        // Clients from 0, warm-up to 10 s, trial to 30 s, no fault. Three
        // writes in the warm-up (latency 500 ms), ten after it (1 ms): 10
        // writes in the 20 s measured is 0.5 ops/s (13 / 30 s without the
        // warm-up), and every latency percentile is 1 ms.
        let mut recs = Vec::new();
        for k in 0..3 {
            recs.push(write(2_000 * k, 2_000 * k + 500, true));
        }
        for k in 0..10 {
            recs.push(write(12_000 + 1_000 * k, 12_000 + 1_000 * k + 1, true));
        }
        let mut out = output(recs.clone(), None);
        let mut c = ClientStats::measured_from(false, ms(10_000));
        for r in &recs {
            if let Obs::OpDone { op, ok } = r.obs {
                c.on_op(r.at, &op, ok);
            }
        }
        out.clients = c;
        let m = compute(&mut out, ms(10_000));
        assert_eq!(m.throughput_ops_s, 0.5);
        assert_eq!(m.writes_ok, 13, "still counted");
        assert_eq!(m.commit_latency_us, [Some(1_000); 4]);
        assert_eq!(m.commit_latency_acc.unwrap().stats().unwrap().count, 10);
        // Without the warm-up.
        let m = compute(&mut output(recs, None), SimTime::ZERO);
        assert!((m.throughput_ops_s - 13.0 / 30.0).abs() < 1e-12);
        assert_eq!(m.commit_latency_us[3], Some(500_000));
    }
}
