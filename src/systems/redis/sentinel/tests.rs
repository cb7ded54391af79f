//! Unit tests of the pure rules, scenario tests with faults placed by hand,
//! and an oracle property of replica selection.

use std::cmp::Reverse;

use proptest::prelude::*;

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::net::{LinkLatency, NetConfig};
use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use crate::engine::{NodeId, Obs, SimDuration};
use crate::systems::ParamValue;

use super::select::{self, Candidate, Excluded, MasterState};
use super::{RedisSentinel, RsParams, PATH};

/// A model of `r` Redis instances and `s` Sentinels with `down-after` 1 s,
/// `failover-timeout` 10 s and the given parameters on top.
fn model(r: usize, s: usize, set: &[(&str, f64)], priority: Option<Vec<i64>>) -> RedisSentinel {
    let mut p = PATH.default_params(&[r, s]);
    p.set("down-after-milliseconds", 1000.0).unwrap();
    p.set("failover-timeout", 10_000.0).unwrap();
    for (k, v) in set {
        p.set(k, *v).unwrap();
    }
    if let Some(list) = priority {
        p.set_value("replica-priority", &ParamValue::PerNode(list), &[r, s])
            .unwrap();
    }
    RedisSentinel::new(r, s, RsParams::from_params(&p))
}

fn cfg(seed: u64, secs: u64, faults: Vec<FaultSpec>, links: Vec<LinkLatency>) -> SimConfig {
    SimConfig {
        seed,
        duration: SimDuration::from_ms(secs * 1000),
        net: NetConfig {
            links,
            ..NetConfig::default()
        },
        faults,
        load: LoadConfig {
            clients: 2,
            rate_per_s: 20.0,
            ..LoadConfig::default()
        },
        record_ops: true,
        ..SimConfig::default()
    }
}

fn at(ms: u64, action: Action, target: Target, undo_ms: Option<u64>) -> FaultSpec {
    FaultSpec::at(ms, action, target, undo_ms)
}

fn crash(ms: u64, target: Target) -> FaultSpec {
    at(ms, Action::Crash { host_alive: false }, target, None)
}

/// (time ms, node) of every phase `name`.
fn phases(out: &SimOutput, name: &str) -> Vec<(f64, NodeId)> {
    out.records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Phase { name: n, .. } if n == name))
        .map(|r| (r.at.as_ms_f64(), r.node))
        .collect()
}

/// The replicas promoted (`+promoted-slave`), with their epochs.
fn promoted(out: &SimOutput) -> Vec<(NodeId, u64)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Serving { leader, term, .. } => Some((leader, term)),
            _ => None,
        })
        .collect()
}

fn rounds(out: &SimOutput) -> Vec<u64> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::ElectionRound { term, .. } => Some(term),
            _ => None,
        })
        .collect()
}

fn ok_writes_after(out: &SimOutput, ms: f64) -> usize {
    out.records
        .iter()
        .filter(|r| r.at.as_ms_f64() > ms)
        .filter(|r| matches!(r.obs, Obs::OpDone { ok: true, op } if op.kind == crate::engine::OpKind::Write))
        .count()
}

fn assert_safe(out: &SimOutput) {
    assert!(
        out.violations.is_empty(),
        "violations: {:?}",
        out.violations
    );
}

// -------------------------------------------------------------------
// Replica selection, the pure rule.
// -------------------------------------------------------------------

fn cand(id: u32, priority: u32, offset: u64, run_id: Option<u64>) -> Candidate {
    Candidate {
        id: NodeId(id),
        down: false,
        disconnected: false,
        last_avail_age_ms: 100,
        info_age_ms: Some(500),
        priority,
        offset,
        run_id,
        link_down_ms: 0,
    }
}

const SDOWN: MasterState = MasterState {
    sdown_for_ms: Some(2000),
    down_after_ms: 1000,
};

#[test]
fn selection_orders_by_priority_then_offset_then_run_id() {
    let a = cand(1, 100, 50, Some(9));
    let b = cand(2, 100, 70, Some(5));
    let c = cand(3, 10, 1, None);
    assert_eq!(
        select::select(&[a.clone(), b.clone()], SDOWN),
        Some(NodeId(2))
    );
    // A better priority beats a larger offset.
    assert_eq!(
        select::select(&[a.clone(), b.clone(), c], SDOWN),
        Some(NodeId(3))
    );
    // Equal offsets: the smaller run id; an unknown run id last.
    let d = cand(4, 100, 70, Some(3));
    let e = cand(5, 100, 70, None);
    assert_eq!(
        select::select(&[e.clone(), b.clone(), d], SDOWN),
        Some(NodeId(4))
    );
    assert_eq!(select::select(&[e, b], SDOWN), Some(NodeId(2)));
}

#[test]
fn selection_excludes_what_sentinel_excludes() {
    let ok = cand(1, 100, 10, Some(1));
    assert_eq!(select::excluded(&ok, SDOWN), None);
    let with = |f: &dyn Fn(&mut Candidate)| {
        let mut c = ok.clone();
        f(&mut c);
        select::excluded(&c, SDOWN)
    };
    assert_eq!(with(&|c| c.down = true), Some(Excluded::Down));
    assert_eq!(
        with(&|c| c.disconnected = true),
        Some(Excluded::Disconnected)
    );
    assert_eq!(
        with(&|c| c.last_avail_age_ms = 5001),
        Some(Excluded::NoRecentPong)
    );
    assert_eq!(with(&|c| c.priority = 0), Some(Excluded::PriorityZero));
    assert_eq!(with(&|c| c.info_age_ms = None), Some(Excluded::StaleInfo));
    // INFO may be 5 s old while the master is SDOWN, 30 s otherwise.
    assert_eq!(
        with(&|c| c.info_age_ms = Some(5001)),
        Some(Excluded::StaleInfo)
    );
    let mut c = ok.clone();
    c.info_age_ms = Some(20_000);
    let up = MasterState {
        sdown_for_ms: None,
        down_after_ms: 1000,
    };
    assert_eq!(select::excluded(&c, up), None);
    // Master link down longer than the master's SDOWN + 10 x down-after.
    assert_eq!(with(&|c| c.link_down_ms = 12_000), None);
    assert_eq!(
        with(&|c| c.link_down_ms = 12_001),
        Some(Excluded::MasterLinkDownTooLong)
    );
}

/// The rules of sentinelSelectSlave transcribed directly: filter, then the
/// minimum of (priority, larger offset, known run id, run id).
fn oracle(cands: &[Candidate], m: MasterState) -> Option<NodeId> {
    let validity = if m.sdown_for_ms.is_some() {
        5000
    } else {
        30_000
    };
    let max_down = m.sdown_for_ms.unwrap_or(0) + 10 * m.down_after_ms;
    cands
        .iter()
        .filter(|c| !c.down && !c.disconnected)
        .filter(|c| c.last_avail_age_ms <= 5000)
        .filter(|c| c.priority != 0)
        .filter(|c| matches!(c.info_age_ms, Some(a) if a <= validity))
        .filter(|c| c.link_down_ms <= max_down)
        .min_by_key(|c| (c.priority, Reverse(c.offset), c.run_id.is_none(), c.run_id))
        .map(|c| c.id)
}

fn arb_candidate() -> impl Strategy<Value = Candidate> {
    (
        (any::<bool>(), any::<bool>(), 0u64..8000),
        (prop::option::of(0u64..40_000), 0u32..4, 0u64..5),
        (prop::option::of(0u64..4), 0u64..40_000),
    )
        .prop_map(
            |((down, disc, avail), (info, prio, off), (run, link))| Candidate {
                id: NodeId(0),
                down: down && avail % 3 == 0,
                disconnected: disc && avail % 5 == 0,
                last_avail_age_ms: avail,
                info_age_ms: info,
                priority: prio,
                offset: off,
                run_id: run,
                link_down_ms: link,
            },
        )
}

proptest! {
    #[test]
    fn selection_matches_a_direct_transcription_of_the_rules(
        mut cands in prop::collection::vec(arb_candidate(), 0..8),
        sdown in prop::option::of(0u64..20_000),
        down_after in 1u64..3000,
    ) {
        for (i, c) in cands.iter_mut().enumerate() {
            c.id = NodeId(i as u32);
        }
        let m = MasterState { sdown_for_ms: sdown, down_after_ms: down_after };
        prop_assert_eq!(select::select(&cands, m), oracle(&cands, m));
    }
}

// -------------------------------------------------------------------
// Scenarios.
// -------------------------------------------------------------------

#[test]
fn quorum_two_of_three_fails_over_a_crashed_master() {
    for seed in 0..5 {
        let out = run_trial(
            &model(3, 3, &[], None),
            &cfg(seed, 40, vec![crash(10_000, Target::Node(0))], vec![]),
            None,
        );
        assert_safe(&out);
        let p = promoted(&out);
        assert_eq!(p.len(), 1, "seed {seed}: one promotion: {p:?}");
        assert!(p[0].0 == NodeId(1) || p[0].0 == NodeId(2));
        assert_eq!(rounds(&out).len(), 1, "seed {seed}: one election round");
        // Every Sentinel switches to the promoted replica.
        let mut switched: Vec<NodeId> =
            phases(&out, "+switch-master").iter().map(|x| x.1).collect();
        switched.sort();
        assert_eq!(
            switched,
            vec![NodeId(3), NodeId(4), NodeId(5)],
            "seed {seed}"
        );
        // SDOWN comes after down-after-milliseconds, not before.
        let sdown = phases(&out, "+sdown");
        assert!(
            sdown[0].0 > 11_000.0 && sdown[0].0 < 12_200.0,
            "seed {seed}: {sdown:?}"
        );
        assert!(
            ok_writes_after(&out, 20_000.0) > 300,
            "seed {seed}: clients write again"
        );
    }
}

#[test]
fn no_failover_without_a_majority_of_sentinels_and_the_candidate_retries() {
    // Sentinels 2 and 3 are cut off before the crash. With quorum 1 the
    // remaining Sentinel reaches ODOWN alone and tries, but one vote of
    // three known Sentinels is no majority: each attempt aborts after the
    // election timeout (10 s) and the next waits 2 x failover-timeout
    // (20 s) from the last start.
    let out = run_trial(
        &model(3, 3, &[("quorum", 1.0)], None),
        &cfg(
            3,
            70,
            vec![
                at(8000, Action::Isolate, Target::Node(4), None),
                at(8000, Action::Isolate, Target::Node(5), None),
                crash(10_000, Target::Node(0)),
            ],
            vec![],
        ),
        None,
    );
    assert_safe(&out);
    assert!(promoted(&out).is_empty(), "no promotion without a majority");
    let mut epochs = rounds(&out);
    epochs.sort();
    epochs.dedup();
    assert!(epochs.len() >= 3, "a new epoch every retry: {epochs:?}");
    // The cut-off Sentinels see the master down too and try alone; each
    // Sentinel's attempts are 2 x failover-timeout apart.
    let tries = phases(&out, "+try-failover");
    for s in 3..6 {
        let mine: Vec<f64> = tries
            .iter()
            .filter(|t| t.1 == NodeId(s))
            .map(|t| t.0)
            .collect();
        assert!(mine.len() >= 3, "{s}: {mine:?}");
        assert!(
            mine.windows(2).all(|w| w[1] - w[0] >= 20_000.0),
            "{s}: {mine:?}"
        );
    }
    assert!(phases(&out, "-failover-abort-not-elected").len() >= 6);
}

#[test]
fn replica_with_priority_zero_is_never_promoted() {
    for seed in 0..6 {
        let out = run_trial(
            &model(3, 3, &[], Some(vec![100, 0, 100])),
            &cfg(seed, 40, vec![crash(10_000, Target::Node(0))], vec![]),
            None,
        );
        assert_safe(&out);
        assert_eq!(
            promoted(&out).iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![NodeId(2)]
        );
    }
    // No replica may be promoted: the failover aborts, nobody is promoted.
    let out = run_trial(
        &model(3, 3, &[], Some(vec![100, 0, 0])),
        &cfg(1, 40, vec![crash(10_000, Target::Node(0))], vec![]),
        None,
    );
    assert_safe(&out);
    assert!(promoted(&out).is_empty());
    assert!(!phases(&out, "-failover-abort-no-good-slave").is_empty());
}

/// The master's stream to the replicas `to` stops 500 ms before the master's
/// host dies (a one-way cut whose held data dies with the master), so those
/// replicas end 500 ms of writes behind.
fn stall_then_crash(to: Vec<usize>) -> Vec<FaultSpec> {
    vec![
        at(
            9500,
            Action::Partition {
                groups: vec![vec![0], to],
                one_way: true,
            },
            Target::Random,
            Some(1000),
        ),
        crash(
            10_000,
            Target::Path {
                word: "master",
                arg: None,
            },
        ),
    ]
}

#[test]
fn larger_offset_wins_at_equal_priority_and_priority_beats_offset() {
    for seed in 0..4 {
        let out = run_trial(
            &model(3, 3, &[], None),
            &cfg(seed, 40, stall_then_crash(vec![2]), vec![]),
            None,
        );
        assert_safe(&out);
        assert_eq!(promoted(&out)[0].0, NodeId(1), "seed {seed}");
        assert_eq!(out.findings.lost_acked_writes, 0, "seed {seed}");
    }
    // A better priority wins though it has less data, and acknowledged
    // writes are lost.
    let mut lost = 0;
    for seed in 0..4 {
        let out = run_trial(
            &model(3, 3, &[], Some(vec![100, 100, 10])),
            &cfg(seed, 40, stall_then_crash(vec![2]), vec![]),
            None,
        );
        assert_safe(&out);
        assert_eq!(promoted(&out)[0].0, NodeId(2), "seed {seed}");
        lost += out.findings.lost_acked_writes;
    }
    assert!(lost > 0, "the lagging replica lacked acknowledged writes");
}

#[test]
fn failover_completes_when_the_leader_sentinel_crashes_mid_failover() {
    let faults = || vec![crash(10_000, Target::Node(0))];
    let m = model(3, 3, &[("failover-timeout", 5000.0)], None);
    let first = run_trial(&m, &cfg(2, 60, faults(), vec![]), None);
    let (elected_at, leader) = phases(&first, "+elected-leader")[0];
    // The same trial, with the elected leader's host dying 5 ms after its
    // election, before it sends SLAVEOF NO ONE.
    let mut f = faults();
    f.push(crash(elected_at as u64 + 5, Target::Node(leader.index())));
    let out = run_trial(&m, &cfg(2, 60, f, vec![]), None);
    assert_safe(&out);
    assert_eq!(phases(&out, "+elected-leader")[0].1, leader);
    let p = promoted(&out);
    assert_eq!(p.len(), 1, "{p:?}");
    let winners = phases(&out, "+promoted-slave");
    assert_ne!(
        winners[0].1, leader,
        "another Sentinel finished the failover"
    );
    assert!(p[0].1 >= 2, "in a later epoch: {p:?}");
    // The others had voted for the crashed leader: they wait 2 x
    // failover-timeout from their vote before trying themselves.
    assert!(
        winners[0].0 > elected_at + 9_000.0,
        "{winners:?} vs {elected_at}"
    );
}

#[test]
fn wait_acknowledged_writes_survive_a_single_master_crash() {
    let mut without_wait = 0;
    for seed in 0..4 {
        let out = run_trial(
            &model(3, 3, &[], None),
            &cfg(seed, 40, stall_then_crash(vec![1, 2]), vec![]),
            None,
        );
        assert_safe(&out);
        without_wait += out.findings.lost_acked_writes;
    }
    // 2 clients x 20 writes/s for 500 ms, in each of 4 trials.
    assert!(
        without_wait >= 4 * 15,
        "asynchronous replication loses {without_wait}"
    );
    for seed in 0..4 {
        let mut m = model(
            3,
            3,
            &[("min-replicas-to-write", 1.0), ("wait-numreplicas", 1.0)],
            None,
        );
        // As from_workload arms it for a single master crash.
        m.writes_guaranteed = true;
        let out = run_trial(
            &m,
            &cfg(seed, 40, stall_then_crash(vec![1, 2]), vec![]),
            None,
        );
        assert_safe(&out);
        assert_eq!(out.findings.lost_acked_writes, 0, "seed {seed}");
        assert!(
            ok_writes_after(&out, 20_000.0) > 300,
            "seed {seed}: writes resume"
        );
    }
}

#[test]
fn isolated_master_acks_until_demoted_unless_min_replicas_stops_it() {
    // The master is cut off from replicas and Sentinels for 20 s; clients
    // still reach it. The majority side fails over; the old master keeps
    // acknowledging writes until it is demoted after the partition heals
    // (once TCP's backed-off retransmissions get through and its INFO shows
    // role:master for 8 s), and the demotion discards them.
    let cut = at(
        10_000,
        Action::Partition {
            groups: vec![vec![0], vec![1, 2, 3, 4, 5]],
            one_way: false,
        },
        Target::Random,
        Some(20_000),
    );
    let ok_writes_between =
        |out: &SimOutput, a: f64, b: f64| ok_writes_after(out, a) - ok_writes_after(out, b);
    let mut plain = 0;
    let mut guarded = 0;
    for seed in 0..3 {
        let out = run_trial(
            &model(3, 3, &[], None),
            &cfg(seed, 70, vec![cut.clone()], vec![]),
            None,
        );
        assert_safe(&out);
        assert_eq!(promoted(&out).len(), 1, "seed {seed}");
        assert!(
            !phases(&out, "+convert-to-slave").is_empty(),
            "seed {seed}: old master demoted"
        );
        // The isolated master acknowledges through the whole partition.
        assert!(
            ok_writes_between(&out, 23_000.0, 30_000.0) >= 7 * 40 - 2,
            "seed {seed}"
        );
        plain += out.findings.lost_acked_writes;
        let out = run_trial(
            &model(3, 3, &[("min-replicas-to-write", 1.0)], None),
            &cfg(seed, 70, vec![cut.clone()], vec![]),
            None,
        );
        assert_safe(&out);
        // With the guard it refuses every write from max-lag (10 s) plus at
        // most 2 s of cron granularity after the cut until the partition
        // heals.
        assert_eq!(
            ok_writes_between(&out, 22_000.0, 30_000.0),
            0,
            "seed {seed}"
        );
        assert!(
            ok_writes_between(&out, 10_000.0, 20_000.0) > 0,
            "seed {seed}"
        );
        guarded += out.findings.lost_acked_writes;
    }
    // 2 clients x 20 writes/s: the whole partition and more is lost without
    // the guard, much less with it.
    assert!(plain > 3 * 20 * 40, "plain {plain}");
    assert!(
        guarded > 0 && guarded * 2 < plain,
        "plain {plain} guarded {guarded}"
    );
}

#[test]
fn a_quiet_cluster_never_fails_over() {
    let out = run_trial(&model(3, 5, &[], None), &cfg(9, 60, vec![], vec![]), None);
    assert_safe(&out);
    assert!(phases(&out, "+sdown").is_empty());
    assert!(rounds(&out).is_empty());
    assert_eq!(out.findings.lost_acked_writes, 0);
}

#[test]
fn a_paused_sentinel_enters_tilt_and_leaves_it_after_30_s() {
    // Sentinel 1 (node 4) stops for 3 s: its next timer run is more than 2 s
    // after the previous one, so it distrusts its clock for 30 s.
    let out = run_trial(
        &model(3, 3, &[], None),
        &cfg(
            4,
            60,
            vec![at(10_000, Action::Pause, Target::Node(3), Some(3000))],
            vec![],
        ),
        None,
    );
    assert_safe(&out);
    let tilt = phases(&out, "+tilt");
    assert_eq!(tilt.len(), 1, "{tilt:?}");
    assert_eq!(tilt[0].1, NodeId(3));
    assert!(tilt[0].0 >= 13_000.0 && tilt[0].0 < 13_200.0, "{tilt:?}");
    let untilt = phases(&out, "-tilt");
    assert_eq!(untilt.len(), 1, "{untilt:?}");
    assert!(untilt[0].0 - tilt[0].0 >= 30_000.0 && untilt[0].0 - tilt[0].0 < 30_200.0);
    assert!(
        promoted(&out).is_empty(),
        "a paused Sentinel fails nothing over"
    );
}

#[test]
fn the_same_seed_replays_the_same_trial() {
    let m = model(3, 3, &[("wait-numreplicas", 1.0)], None);
    let run = |seed| {
        let faults = vec![
            crash(
                8000,
                Target::Path {
                    word: "master",
                    arg: None,
                },
            ),
            at(20_000, Action::Restart, Target::Node(0), None),
        ];
        run_trial(&m, &cfg(seed, 40, faults, vec![]), None)
    };
    let (a, b, c) = (run(5), run(5), run(6));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_ne!(a.trace_hash, c.trace_hash);
}
