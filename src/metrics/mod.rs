//! Per-trial metrics, computed from a trial's observations. The meaning of each
//! metric is the same on every path (DESIGN.md "Measurements"); the exact
//! definitions are in `results/README.md`.

pub mod summary;

use std::collections::BTreeSet;

use crate::engine::sim::SimOutput;
use crate::engine::{Obs, OpKind, SimTime};

/// The metrics of one trial. `None` is "not applicable" (no fault applied, no
/// election happened, no client succeeded): written as an empty cell, never 0.
#[derive(Clone, Debug, Default, PartialEq)]
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
    /// Latency of every successful write, from its intended send time, in µs,
    /// in completion order.
    pub commit_latencies_us: Vec<u64>,
}

impl TrialMetrics {
    /// Exact percentile `q` (0..=1) of the trial's commit latencies, in µs
    /// (nearest rank).
    pub fn commit_latency_us(&self, q: f64) -> Option<u64> {
        let mut v = self.commit_latencies_us.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

fn ms_between(later: SimTime, earlier: SimTime) -> f64 {
    later.since(earlier).as_ms_f64()
}

/// Compute a trial's metrics. `load_start` is when clients began issuing.
pub fn compute(out: &SimOutput, load_start: SimTime) -> TrialMetrics {
    let mut m = TrialMetrics {
        lost_acked_writes: out.findings.lost_acked_writes,
        violations: out.violations.len() as u64,
        ..TrialMetrics::default()
    };

    // Client outcomes.
    let mut successes: Vec<SimTime> = Vec::new();
    for r in &out.records {
        if let Obs::OpDone { op, ok } = r.obs {
            match (op.kind, ok) {
                (OpKind::Write, true) => {
                    m.writes_ok += 1;
                    m.commit_latencies_us.push(r.at.since(op.issued).0 / 1_000);
                }
                (OpKind::Write, false) => m.writes_failed += 1,
                (OpKind::Read, true) => m.reads_ok += 1,
                (OpKind::Read, false) => m.reads_failed += 1,
            }
            if ok {
                successes.push(r.at);
            }
        }
    }
    let active_s = out.end.since(load_start).as_ms_f64() / 1e3;
    if active_s > 0.0 {
        m.throughput_ops_s = m.writes_ok as f64 / active_s;
    }

    let Some(fault) = out.faults.iter().find(|f| f.applied) else {
        return m;
    };
    let t0 = fault.at;
    m.fault_at_ms = Some(t0.as_ms_f64());

    let detect = out.records.iter().find_map(|r| match r.obs {
        Obs::Detected { .. } if r.at >= t0 => Some(r.at),
        _ => None,
    });
    m.detect_ms = detect.map(|t| ms_between(t, t0));

    let serving = out
        .records
        .iter()
        .find(|r| r.at > t0 && matches!(r.obs, Obs::Serving { .. }));
    let window_end = serving.map_or(out.end, |r| r.at);
    let msgs_end = serving.map_or(out.protocol_msgs, |r| r.protocol_msgs);
    m.messages = Some(msgs_end.saturating_sub(fault.protocol_msgs));
    let rounds: BTreeSet<u64> = out
        .records
        .iter()
        .filter(|r| r.at >= t0 && r.at <= window_end)
        .filter_map(|r| match r.obs {
            Obs::ElectionRound { term } => Some(term),
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
    m.failover_ms = out
        .records
        .iter()
        .find(|r| matches!(r.obs, Obs::OpDone { op, ok: true } if op.kind == OpKind::Write && op.issued >= t0))
        .map(|r| ms_between(r.at, t0));

    // The longest gap between successful operations that ends after the fault
    // (not applicable without clients).
    if m.writes_ok + m.writes_failed + m.reads_ok + m.reads_failed == 0 {
        return m;
    }
    let before = successes
        .iter()
        .rev()
        .find(|t| **t <= t0)
        .copied()
        .unwrap_or(t0);
    let mut prev = before;
    let mut gap = 0u64;
    for &t in successes.iter().filter(|t| **t > t0) {
        gap = gap.max(t.since(prev).0);
        prev = t;
    }
    gap = gap.max(out.end.since(prev).0);
    m.unavailable_ms = Some(gap as f64 / 1e6);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sim::{AppliedFault, Record};
    use crate::engine::{ClientOp, Findings, NodeId};

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
        SimOutput {
            records,
            faults: fault_at
                .map(|t| AppliedFault {
                    at: ms(t),
                    what: "crash",
                    node: Some(NodeId(4)),
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
            rec(
                20_000,
                150,
                Obs::Detected {
                    suspect: Some(NodeId(4)),
                },
            ),
            rec(20_000, 150, Obs::ElectionRound { term: 2 }),
            rec(20_001, 151, Obs::ElectionRound { term: 2 }),
            rec(
                20_200,
                170,
                Obs::Elected {
                    leader: NodeId(3),
                    term: 2,
                },
            ),
            rec(
                20_205,
                180,
                Obs::Serving {
                    leader: NodeId(3),
                    term: 2,
                },
            ),
            write(20_300, 20_302, true),
            write(20_400, 20_401, true),
        ];
        let m = compute(&output(recs, Some(10_000)), SimTime::ZERO);
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
        assert_eq!(m.commit_latencies_us, vec![1_000, 2_000, 1_000]);
        assert_eq!(m.commit_latency_us(0.5), Some(1_000));
        assert_eq!(m.commit_latency_us(1.0), Some(2_000));
    }

    #[test]
    fn without_a_fault_failover_metrics_are_empty_not_zero() {
        let m = compute(&output(vec![write(1, 2, true)], None), SimTime::ZERO);
        assert_eq!(m.fault_at_ms, None);
        assert_eq!(m.detect_ms, None);
        assert_eq!(m.elect_ms, None);
        assert_eq!(m.failover_ms, None);
        assert_eq!(m.election_rounds, None);
    }

    #[test]
    fn without_clients_there_is_no_unavailability_to_report() {
        let recs = vec![rec(10_100, 0, Obs::Detected { suspect: None })];
        let m = compute(&output(recs, Some(10_000)), SimTime::ZERO);
        assert_eq!(m.detect_ms, Some(100.0));
        assert_eq!(m.unavailable_ms, None);
        assert_eq!(m.failover_ms, None);
    }

    #[test]
    fn a_fault_without_election_has_no_elect_or_recover_time() {
        let recs = vec![write(5_000, 5_001, true), write(10_500, 10_501, true)];
        let m = compute(&output(recs, Some(10_000)), SimTime::ZERO);
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
        let m = compute(&output(recs, Some(10_000)), SimTime::ZERO);
        assert_eq!(m.failover_ms, Some(2_003.0));
    }
}
