//! Scenario tests with faults placed by hand: where each configuration
//! loses acknowledged writes and where it does not, ISR shrink timing, the
//! high watermark under min ISR, metadata refresh, both controller modes,
//! determinism.

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::sim::{LoadConfig, Sim, SimConfig, SimOutput};
use crate::engine::{Obs, Scope, SimDuration, SimTime};
use crate::systems::ParamValue;

use super::layout::NO_LEADER;
use super::{PartitionLeader, PlNode, PlParams, PATH};

/// A model of `brokers` brokers with `set` on top of the defaults
/// (numbers, `true`/`false`, or enum words).
fn model(brokers: usize, set: &[(&str, &'static str)]) -> PartitionLeader {
    let sizes = [brokers, 1];
    let mut p = PATH.default_params(&sizes);
    for &(k, v) in set {
        let value = match v {
            "true" => ParamValue::Bool(true),
            "false" => ParamValue::Bool(false),
            _ => match v.parse::<f64>() {
                Ok(x) if k != "acks" => {
                    p.set(k, x).unwrap();
                    continue;
                }
                _ => ParamValue::Enum(v),
            },
        };
        p.set_value(k, &value, &sizes).unwrap();
    }
    PartitionLeader::new(brokers, PlParams::from_params(&p))
}

fn run(
    m: &PartitionLeader,
    seed: u64,
    secs: u64,
    faults: Vec<FaultSpec>,
    rate: f64,
) -> (SimOutput, Vec<PlNode>) {
    let cfg = SimConfig {
        seed,
        duration: SimDuration::from_ms(secs * 1000),
        faults,
        load: LoadConfig {
            clients: 2,
            rate_per_s: rate,
            ..LoadConfig::default()
        },
        record_ops: true,
        ..SimConfig::default()
    };
    Sim::new(m, &cfg).run_keep(None)
}

fn crash(ms: u64, broker: usize) -> FaultSpec {
    FaultSpec::at(
        ms,
        Action::Crash { host_alive: false },
        Target::Node(broker),
        None,
    )
}

fn cut(ms: u64, groups: Vec<Vec<usize>>, one_way: bool, undo_ms: Option<u64>) -> FaultSpec {
    FaultSpec::at(
        ms,
        Action::Partition { groups, one_way },
        Target::Random,
        undo_ms,
    )
}

fn ms(t: SimTime) -> f64 {
    t.as_ms_f64()
}

fn phases(out: &SimOutput, name: &str) -> Vec<(SimTime, Scope)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Phase { name: n, scope } if n == name => Some((r.at, scope)),
            _ => None,
        })
        .collect()
}

fn ctrl(nodes: &[PlNode], brokers: usize) -> &super::Controller {
    nodes[brokers].controller().unwrap()
}

/// Broker 0's links out are cut at 10 s (its followers and the controller
/// stop hearing it; producers still reach it), and its host dies at 10.5
/// s: what it acknowledged in that half second was never replicated.
fn unreplicated_then_crash() -> Vec<FaultSpec> {
    vec![
        cut(10_000, vec![vec![0], vec![1, 2, 3]], true, None),
        crash(10_500, 0),
    ]
}

#[test]
fn acks_1_loses_the_writes_a_crashed_leader_had_not_replicated() {
    let m = model(3, &[("acks", "1"), ("partitions", "30")]);
    let (out, _) = run(&m, 1, 40, unreplicated_then_crash(), 200.0);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let lost = out.findings.lost_acked_writes;
    // About a third of 400 writes/s for half a second went to broker 0.
    assert!((20..=120).contains(&lost), "lost {lost}");
}

#[test]
fn acks_all_with_min_isr_2_and_clean_election_loses_nothing_on_the_same_crash() {
    for mode in ["kraft", "zk"] {
        let m = model(
            3,
            &[
                ("acks", "all"),
                ("min.insync.replicas", "2"),
                ("partitions", "30"),
                ("controller.mode", mode),
            ],
        );
        for seed in 1..4 {
            let (out, nodes) = run(&m, seed, 60, unreplicated_then_crash(), 200.0);
            assert!(out.violations.is_empty(), "{mode}: {:?}", out.violations);
            assert_eq!(out.findings.lost_acked_writes, 0, "{mode} seed {seed}");
            assert!(out.clients.writes_ok > 10_000, "{mode}: writes resumed");
            // Every partition broker 0 led has a new leader from its ISR.
            let c = ctrl(&nodes, 3);
            assert!(c.leader.iter().all(|&l| l == 1 || l == 2));
        }
    }
}

#[test]
fn acks_1_loses_what_an_isolated_leader_accepted_after_its_replacement() {
    // Broker 0 is cut off from the other brokers and the controller for
    // 20 s; the producers still reach it and it still thinks it leads.
    let faults = vec![cut(
        10_000,
        vec![vec![0], vec![1, 2, 3]],
        false,
        Some(20_000),
    )];
    let m = model(3, &[("acks", "1"), ("partitions", "30")]);
    let (out, nodes) = run(&m, 1, 60, faults.clone(), 100.0);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    // 20 s of a third of 200 writes/s, less what failed over in between:
    // thousands, not a handful.
    assert!(
        out.findings.lost_acked_writes > 1000,
        "{}",
        out.findings.lost_acked_writes
    );
    // After the heal broker 0 follows and truncated its divergent suffix.
    let c = ctrl(&nodes, 3);
    for (ai, &p) in m.sh.layout.active.iter().enumerate() {
        let leader = c.leader[p as usize];
        let lead = nodes[leader as usize].broker().unwrap().reps[ai]
            .as_ref()
            .unwrap();
        let b0 = nodes[0].broker().unwrap().reps[ai].as_ref().unwrap();
        assert!(b0.log.len() <= lead.log.len());
        assert_eq!(b0.log[..], lead.log[..b0.log.len()], "partition {p}");
    }
    // acks=all with min ISR 2 on the same partition: nothing lost.
    let m = model(
        3,
        &[
            ("acks", "all"),
            ("min.insync.replicas", "2"),
            ("partitions", "30"),
        ],
    );
    let (out, _) = run(&m, 1, 60, faults, 100.0);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    assert_eq!(out.findings.lost_acked_writes, 0);
}

/// The followers of broker 0 are cut off from it (not from the controller)
/// at 5 s, so with traffic its ISRs shrink to itself after the lag time;
/// then its host dies at 20 s, and the partition is healed at 40 s.
fn shrink_then_crash() -> Vec<FaultSpec> {
    vec![
        cut(5_000, vec![vec![0], vec![1, 2]], false, Some(35_000)),
        crash(20_000, 0),
    ]
}

#[test]
fn unclean_election_after_the_isr_shrank_to_the_leader_loses_writes_and_is_flagged() {
    let base = [
        ("acks", "all"),
        ("partitions", "3"),
        ("replica.lag.time.max.ms", "4000"),
    ];
    let mut set = base.to_vec();
    set.push(("unclean.leader.election.enable", "true"));
    let m = model(3, &set);
    let (out, _) = run(&m, 1, 60, shrink_then_crash(), 50.0);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let unclean = phases(&out, "unclean-election");
    assert_eq!(unclean.len(), 1, "partition 0 only: {unclean:?}");
    assert_eq!(unclean[0].1, Scope::Part(0));
    assert!(
        out.findings.lost_acked_writes > 100,
        "{}",
        out.findings.lost_acked_writes
    );
    let cols = super::columns_of(&m.sh.layout, &out);
    assert_eq!(cols[5], Some(1.0));

    // Clean: partition 0 stays offline while broker 0 is down; nothing the
    // producers were told is lost (it is all in broker 0's log).
    let m = model(3, &base);
    let (out, nodes) = run(&m, 1, 60, shrink_then_crash(), 50.0);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    assert!(phases(&out, "unclean-election").is_empty());
    assert_eq!(out.findings.lost_acked_writes, 0);
    assert_eq!(ctrl(&nodes, 3).leader[0], NO_LEADER);
}

#[test]
fn a_follower_that_stops_fetching_leaves_the_isr_of_a_written_partition_only() {
    // Broker 2 cannot reach broker 0 from 10 s (both still reach the
    // controller). Partition 0 (replicas 0,1,2) gets traffic; partition 3
    // (the same replicas) is idle.
    let m = model(
        3,
        &[("partitions", "6"), ("model.partitions-with-traffic", "1")],
    );
    assert_eq!(m.sh.layout.active, vec![0]);
    let faults = || vec![cut(10_000, vec![vec![0], vec![2]], false, None)];
    let in_isr = |nodes: &[PlNode], p: usize| ctrl(nodes, 3).isr[p] & 0b100 != 0;
    // Its last catch-up was at about 10 s; the checks run every 15 s: at
    // 30 s it has lagged 20 s (kept), at 45 s 35 s (dropped).
    let (_, nodes) = run(&m, 1, 44, faults(), 20.0);
    assert!(in_isr(&nodes, 0) && in_isr(&nodes, 3));
    let (out, nodes) = run(&m, 1, 46, faults(), 20.0);
    assert!(!in_isr(&nodes, 0), "dropped from the written partition");
    assert!(in_isr(&nodes, 3), "kept in the idle partition");
    assert!(out.violations.is_empty());
}

#[test]
fn the_high_watermark_stands_still_while_the_isr_is_below_min_isr() {
    // min ISR 3 of 3: once broker 2 is fenced the ISR is 2 and the HW
    // freezes, although broker 1 has every record (acks=1 keeps appending).
    let m = model(
        3,
        &[
            ("acks", "1"),
            ("min.insync.replicas", "3"),
            ("partitions", "3"),
        ],
    );
    let (_, nodes) = run(&m, 1, 40, vec![crash(10_000, 2)], 50.0);
    let lead = nodes[0].broker().unwrap().reps[0].as_ref().unwrap();
    let follower = nodes[1].broker().unwrap().reps[0].as_ref().unwrap();
    assert_eq!(ctrl(&nodes, 3).isr[0], 0b011);
    assert!(
        lead.log.len() as u64 > lead.hw + 300,
        "leo {} hw {}",
        lead.log.len(),
        lead.hw
    );
    assert!(follower.log.len() + 5 >= lead.log.len());
    // Before the crash the HW followed the writes: about 10 s of them.
    assert!(lead.hw > 100);

    // acks=all on the same: refused up front (NOT_ENOUGH_REPLICAS), retried
    // until delivery.timeout.ms; nothing issued after the fencing succeeds
    // on partition 0's leader... nor anywhere: every partition has broker 2.
    let m = model(3, &[("min.insync.replicas", "3"), ("partitions", "3")]);
    let (out, _) = run(&m, 1, 40, vec![crash(10_000, 2)], 50.0);
    let late_ok = out
        .records
        .iter()
        .filter(|r| r.at > SimTime(20_000_000_000))
        .filter(|r| matches!(r.obs, Obs::OpDone { ok: true, .. }))
        .count();
    assert_eq!(late_ok, 0);
}

#[test]
fn a_preferred_election_sends_producers_to_refresh_metadata_on_not_leader_or_follower() {
    // Broker 0 crashes at 10 s and restarts at 20 s; the leader imbalance
    // check at 60 s moves its partitions back to it. The old leaders stay
    // alive and answer NOT_LEADER_OR_FOLLOWER; the producers refresh.
    let m = model(
        3,
        &[
            ("partitions", "30"),
            ("leader.imbalance.check.interval.seconds", "60"),
        ],
    );
    let faults = vec![FaultSpec::at(
        10_000,
        Action::Crash { host_alive: false },
        Target::Node(0),
        Some(10_000),
    )];
    let (out, nodes) = run(&m, 1, 70, faults, 100.0);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let pref = phases(&out, "preferred-election");
    assert_eq!(pref.len(), 1);
    let t = pref[0].0;
    assert!((ms(t) - 60_000.0).abs() < 1.0);
    let c = ctrl(&nodes, 3);
    for p in 0..30u32 {
        assert_eq!(
            c.leader[p as usize],
            p % 3,
            "partition {p} back on its preferred replica"
        );
    }
    // Each producer learnt the moved leaders within a second of the move.
    let learnt: Vec<(SimTime, Scope)> = phases(&out, "producer-new-leader")
        .into_iter()
        .filter(|(at, _)| *at > t)
        .collect();
    let moved = (0..30u32).filter(|p| p % 3 == 0).count();
    assert!(learnt.len() >= moved, "{learnt:?}");
    assert!(learnt.iter().all(|(at, _)| ms(*at) < ms(t) + 1000.0));
    for pr in nodes[4..].iter().map(|n| n.producer().unwrap()) {
        for (ai, &p) in m.sh.layout.active.iter().enumerate() {
            assert_eq!(pr.leader_of(ai), Some(p % 3));
        }
    }
    assert_eq!(out.clients.writes_failed, 0);
}

#[test]
fn zk_mode_detects_after_the_session_timeout_and_kraft_after_the_broker_session() {
    let detect = |mode: &'static str| {
        let m = model(3, &[("controller.mode", mode), ("partitions", "30")]);
        let (out, _) = run(&m, 1, 60, vec![crash(20_000, 0)], 50.0);
        assert!(out.violations.is_empty());
        let d = out
            .records
            .iter()
            .find(|r| matches!(r.obs, Obs::Detected { .. }))
            .expect("detected");
        ms(d.at) - 20_000.0
    };
    // kraft: heartbeats every 2 s, fenced 9 s after the last.
    let k = detect("kraft");
    assert!((7_000.0..=9_000.0).contains(&k), "{k}");
    // zk: pings every 6 s; the last reaches the ensemble just after 18 s,
    // so the session expires just after 36 s, rounded up to the next 2 s
    // tick: 38 s.
    let z = detect("zk");
    assert_eq!(z, 18_000.0);
}

#[test]
fn zk_mode_pays_per_partition_writes_and_kraft_one_batch() {
    let elect_span = |mode: &'static str| {
        let m = model(3, &[("controller.mode", mode), ("partitions", "30000")]);
        let (out, _) = run(&m, 1, 40, vec![crash(5_000, 0)], 10.0);
        let d = out
            .records
            .iter()
            .find(|r| matches!(r.obs, Obs::Detected { .. }))
            .unwrap()
            .at;
        let e = phases(&out, "leaders-committed")[0].0;
        ms(e) - ms(d)
    };
    // 10 000 partitions led by broker 0: zk = 2 notice round trips + 1000
    // pipelined round trips of 2 ms for round 1 (its ISR removals come in
    // round 2); kraft = one batch of 5 ms + 30 000 records (every
    // partition it hosts) x 1 us.
    assert!((elect_span("zk") - 2004.0).abs() < 0.01);
    assert!((elect_span("kraft") - 35.0).abs() < 0.01);
}

#[test]
fn a_controlled_shutdown_moves_leadership_without_waiting_for_a_session() {
    let m = model(3, &[("broker.stop", "controlled"), ("partitions", "30")]);
    let f = FaultSpec::at(
        10_000,
        Action::Crash { host_alive: true },
        Target::Node(0),
        None,
    );
    let (out, nodes) = run(&m, 1, 20, vec![f], 50.0);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    assert_eq!(phases(&out, "controlled-shutdown").len(), 1);
    let committed = phases(&out, "leaders-committed")[0].0;
    assert!(ms(committed) < 10_100.0);
    let c = ctrl(&nodes, 3);
    assert!(c.leader.iter().all(|&l| l != 0));
    assert!(c.isr.iter().all(|&m| m.count_ones() == 2));
}

#[test]
fn the_same_seed_gives_the_same_trial_and_another_seed_another() {
    let m = model(5, &[("acks", "1"), ("partitions", "100")]);
    let f = || {
        vec![
            cut(
                8_000,
                vec![vec![0, 1], vec![2, 3, 4, 5]],
                false,
                Some(10_000),
            ),
            crash(25_000, 2),
        ]
    };
    let (a, _) = run(&m, 7, 40, f(), 100.0);
    let (b, _) = run(&m, 7, 40, f(), 100.0);
    let (c, _) = run(&m, 8, 40, f(), 100.0);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.findings, b.findings);
    assert_eq!(a.events, b.events);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn a_million_partitions_on_a_hundred_brokers_fail_over_in_one_trial() {
    let m = model(100, &[("partitions", "1000000")]);
    let (out, nodes) = run(&m, 1, 30, vec![crash(10_000, 0)], 200.0);
    assert!(out.violations.is_empty());
    let cols = super::columns_of(&m.sh.layout, &out);
    // Broker 0 led one residue class of 100: 10 000 partitions.
    assert_eq!(cols[0], Some(10_000.0));
    let c = ctrl(&nodes, 100);
    assert!(c.leader.iter().all(|&l| l != 0 && l != NO_LEADER));
}
