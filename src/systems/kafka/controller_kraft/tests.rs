//! Tests of `kafka/controller-kraft`: KRaft's pure rules (election backoff,
//! EndQuorumEpoch backoff, high watermark, divergence), vote granting per
//! state against a naive oracle, and scenarios with hand-placed faults.

use proptest::prelude::*;

use super::{kraft_columns, KraftModel, PATH};
use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::sim::run_trial;
use crate::engine::{rng, NodeId, Obs};
use crate::systems::raft::core::quorum_offset;
use crate::systems::raft::kraft::{
    divergence, election_backoff_ms, end_epoch_backoff_ms, truncation_point,
};
use crate::systems::raft::tests::{assert_clean, cfg, crash, elections, harness, phases};
use crate::systems::raft::{raft_columns, Entry, Msg, RaftDurable, Server, State};
use crate::systems::ParamValue;

fn model(controllers: usize, brokers: usize, partitions: i64) -> KraftModel {
    let sizes = [controllers, brokers];
    let mut p = PATH.default_params(&sizes);
    p.set_value("partitions", &ParamValue::Int(partitions), &sizes)
        .unwrap();
    KraftModel::new(controllers, brokers, &p)
}

// ----- pure rules -----

#[test]
fn election_backoff_is_100_ms_steps_below_2_to_the_retries_capped() {
    let mut r = rng::stream(3, "test", 0);
    for retries in 1..=6u32 {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..4000 {
            let ms = election_backoff_ms(&mut r, retries, 1000);
            assert_eq!(ms % 100, 0, "{ms}");
            assert!(ms < 100 << retries, "retries {retries}: {ms}");
            assert!(ms <= 1000);
            seen.insert(ms);
        }
        // Every step below the cap shows up: k is uniform in [0, 2^retries).
        let want: Vec<u64> = (0..1u64 << retries).map(|k| (100 * k).min(1000)).collect();
        let want: std::collections::BTreeSet<u64> = want.into_iter().collect();
        assert_eq!(seen, want, "retries {retries}");
    }
    // A smaller cap caps.
    assert!((0..200).all(|_| election_backoff_ms(&mut r, 20, 250) <= 250));
}

#[test]
fn end_epoch_backoff_is_strictly_exponential_by_position() {
    // Three voters: two successors.
    assert_eq!(end_epoch_backoff_ms(Some(0), 2, 1000), 0);
    assert_eq!(end_epoch_backoff_ms(Some(1), 2, 1000), 500);
    assert_eq!(end_epoch_backoff_ms(None, 2, 1000), 1000);
    // Five voters: four successors, base 1000 >> 3 = 125.
    let got: Vec<u64> = (0..4)
        .map(|p| end_epoch_backoff_ms(Some(p), 4, 1000))
        .collect();
    assert_eq!(got, vec![0, 125, 250, 500]);
    assert_eq!(end_epoch_backoff_ms(None, 4, 1000), 1000);
    assert_eq!(end_epoch_backoff_ms(None, 0, 1000), 1000);
}

proptest! {
    /// The high watermark is the largest offset at least a majority of
    /// voters hold.
    #[test]
    fn high_watermark_is_the_majority_offset(ends in proptest::collection::vec(0u64..50, 1..10)) {
        let hw = quorum_offset(ends.clone());
        let majority = ends.len() / 2 + 1;
        let naive = (0..50u64)
            .rev()
            .find(|x| ends.iter().filter(|e| **e >= *x).count() >= majority)
            .unwrap_or(0);
        prop_assert_eq!(hw, naive);
    }
}

#[test]
fn divergence_and_truncation_follow_the_epochs() {
    let log =
        |ts: &[u64]| -> Vec<Entry> { ts.iter().map(|&t| Entry { term: t, op: None }).collect() };
    let leader = log(&[1, 1, 2, 2]);
    // A follower holding [1, 1, 3] (a term-3 leader that never committed).
    assert_eq!(divergence(&leader, 3, 3), Some((2, 4)));
    let follower = log(&[1, 1, 3]);
    assert_eq!(
        truncation_point(&follower, 2, 4),
        2,
        "its own end of epoch <= 2"
    );
    assert_eq!(divergence(&leader, 2, 1), None, "then it matches");
    // A follower ahead in an epoch the leader ended earlier.
    assert_eq!(divergence(&leader, 3, 1), Some((1, 2)));
    assert_eq!(truncation_point(&log(&[1, 1, 1]), 1, 2), 2);
    // Matching prefixes.
    assert_eq!(divergence(&leader, 0, 0), None);
    assert_eq!(divergence(&leader, 4, 2), None);
    assert_eq!(divergence(&leader, 3, 2), None);
}

// ----- vote granting per state -----

#[derive(Clone, Copy, Debug)]
enum Start {
    Unattached,
    Follower,
    Resigned,
    Candidate,
}

/// KRaft's rule: a lower epoch is refused; a higher one makes the voter
/// Unattached (no vote) first; then only an Unattached voter grants, to a
/// candidate it already voted for, or, not having voted, to one whose log is
/// at least as up to date.
fn kraft_grants_oracle(
    state: State,
    epoch: u64,
    vote: Option<NodeId>,
    log: &[u64],
    cand: NodeId,
    req: u64,
    (last_term, last_index): (u64, u64),
) -> bool {
    if req < epoch {
        return false;
    }
    let (state, vote) = if req > epoch {
        (State::Unattached, None)
    } else {
        (state, vote)
    };
    let mine = (log.last().copied().unwrap_or(0), log.len() as u64);
    match (state, vote) {
        (State::Unattached, None) => (last_term, last_index) >= mine,
        (State::Unattached, Some(v)) => v == cand,
        _ => false,
    }
}

proptest! {
    #[test]
    fn vote_granting_per_state_matches_the_naive_rule(
        start in prop_oneof![
            Just(Start::Unattached),
            Just(Start::Follower),
            Just(Start::Resigned),
            Just(Start::Candidate)
        ],
        epoch in 1u64..5,
        vote in proptest::option::of(1u32..3),
        log in proptest::collection::vec(1u64..5, 0..6),
        cand in 1u32..3,
        dreq in 0u64..3,
        last_term in 0u64..6,
        last_index in 0u64..7,
    ) {
        let mut log = log;
        log.sort_unstable();
        let log: Vec<u64> = log.into_iter().filter(|t| *t <= epoch).collect();
        let m = model(3, 0, 1);
        let me = NodeId(0);
        let d = RaftDurable {
            term: epoch,
            vote: match start {
                Start::Unattached => vote.map(NodeId),
                _ => None,
            },
            leader: match start {
                Start::Follower => Some(NodeId(2)),
                Start::Resigned => Some(me),
                _ => None,
            },
            log: log.iter().map(|&t| Entry { term: t, op: None }).collect(),
        };
        let mut s = Server::new(me, 3, m.cfg.clone(), d, false);
        harness::with_ctx(me, |ctx| s.on_start(ctx));
        if let Start::Candidate = start {
            harness::with_ctx(me, |ctx| s.on_timer(ctx, crate::systems::raft::Timer::Election));
            prop_assert_eq!(s.state(), State::Candidate);
        }
        let (state, epoch, vote) = (s.state(), s.term(), s.durable().vote);
        let req = epoch - 1 + dreq; // one below, equal, one above
        let ((), out) = harness::with_ctx(me, |ctx| {
            s.on_message(ctx, NodeId(cand), Msg::Vote { term: req, pre: false, last_index, last_term, force: false })
        });
        let mut sends = out.sends;
        for w in out.persists {
            let ((), o) = harness::with_ctx(me, |ctx| s.on_persisted(ctx, w));
            sends.extend(o.sends);
        }
        let granted = sends.iter().any(|(to, m)| *to == NodeId(cand) && matches!(m, Msg::VoteResp { granted: true, .. }));
        let want = kraft_grants_oracle(state, epoch, vote, &log, NodeId(cand), req, (last_term, last_index));
        prop_assert_eq!(granted, want, "{:?} epoch {} vote {:?}", state, epoch, vote);
        if granted {
            prop_assert_eq!(s.durable().vote, Some(NodeId(cand)));
            prop_assert_eq!(s.term(), req);
        }
    }
}

#[test]
fn a_higher_epoch_vote_keeps_an_unattached_voters_deadline_but_not_a_followers() {
    use crate::systems::raft::Timer;
    let election = |out: &crate::engine::Outbox<crate::systems::raft::RaftNode>| {
        out.timers
            .iter()
            .rev()
            .find(|t| t.2 == Timer::Election)
            .map(|t| t.0)
    };
    let me = NodeId(0);
    let vote = Msg::Vote {
        term: 5,
        pre: false,
        last_index: 0,
        last_term: 0,
        force: false,
    };
    let stale_log = vec![Entry { term: 1, op: None }];
    // Unattached in epoch 1: its timer, then a stale candidate's epoch-5 vote.
    let d = RaftDurable {
        term: 1,
        vote: None,
        leader: None,
        log: stale_log.clone(),
    };
    let mut s = Server::new(me, 3, model(3, 0, 1).cfg, d, false);
    let ((), out) = harness::with_ctx(me, |ctx| s.on_start(ctx));
    let first = election(&out).expect("an unattached voter arms its election timer");
    let ((), out) = harness::with_ctx(me, |ctx| {
        // The harness restarts the node's random stream on every call: move
        // it on, so that a fresh draw would not repeat the first one.
        let _ = rng::index(ctx.rng(), 1000);
        s.on_message(ctx, NodeId(1), vote.clone())
    });
    assert_eq!(s.state(), State::Unattached);
    assert_eq!(s.term(), 5);
    assert_eq!(election(&out), Some(first), "the rest of the old timeout");
    // A follower draws a fresh random timeout in [1000, 2000) ms.
    let d = RaftDurable {
        term: 1,
        vote: None,
        leader: Some(NodeId(2)),
        log: stale_log,
    };
    let mut s = Server::new(me, 3, model(3, 0, 1).cfg, d, false);
    harness::with_ctx(me, |ctx| s.on_start(ctx));
    let ((), out) = harness::with_ctx(me, |ctx| s.on_message(ctx, NodeId(1), vote.clone()));
    assert_eq!(s.state(), State::Unattached);
    let t = election(&out).expect("a fresh election timer").as_ms_f64();
    assert!((1000.0..2000.0).contains(&t), "{t}");
}

#[test]
fn a_stale_candidate_cannot_hold_nine_controllers_off_forever() {
    // Seed found by the 9-controller point of kafka-controller-kraft-sweep
    // (trial 155): a candidate that lost the race with a stale log kept
    // standing with ever higher epochs; while the others drew a fresh
    // election timeout on each of its votes, nobody else ever stood.
    let text = include_str!("../../../../workloads/kafka-controller-kraft-sweep.toml");
    let plan = crate::workload::parse("kafka-controller-kraft-sweep.toml", text).unwrap();
    let w = &plan.points[3].workload;
    let opts = crate::runner::RunOptions::default();
    let seed = rng::trial_seed(w.seed, 155);
    let t = (w.path.prepare)(w).run(seed, &opts, &std::sync::atomic::AtomicBool::new(false));
    assert_clean(&t.out);
    let active = kraft_columns(&t.out, 9, 3)[0];
    assert!(active.is_some(), "no controller activated after the crash");
}

// ----- scenarios -----

#[test]
fn controller_crash_the_standbys_elect_after_the_fetch_timeout_and_brokers_follow() {
    for seed in 1..=10 {
        let out = run_trial(
            &model(3, 3, 1000),
            &cfg(seed, 20, 2, vec![crash(8000, None)]),
            None,
        );
        assert_clean(&out);
        let crashed = out.faults[0].node.unwrap();
        assert!(crashed.index() < 3, "the active controller is a controller");
        // Detection: the fetch timeout (2000 ms) from the last fetch answer,
        // which came at most MAX_FETCH_WAIT_MS (500 ms) before the crash.
        let detected = out
            .records
            .iter()
            .find(|r| matches!(r.obs, Obs::Detected { .. }) && r.at.as_ms_f64() > 8000.0)
            .map(|r| r.at.as_ms_f64() - 8000.0)
            .unwrap_or_else(|| panic!("seed {seed}: nobody detected the crash"));
        assert!(
            (1490.0..=2010.0).contains(&detected),
            "seed {seed}: detected after {detected} ms"
        );
        let after: Vec<_> = elections(&out)
            .into_iter()
            .filter(|e| e.0 > 8000.0)
            .collect();
        assert!(!after.is_empty(), "seed {seed}: no new leader");
        assert!(after.iter().all(|e| e.1 != crashed));
        let raft = raft_columns(&out);
        let k = kraft_columns(&out, 3, 3);
        let leaderless = raft[0].unwrap();
        let active = k[0].unwrap_or_else(|| panic!("seed {seed}: no controller activated"));
        let informed = k[1].unwrap_or_else(|| panic!("seed {seed}: some broker never followed"));
        assert!(leaderless >= detected, "seed {seed}");
        // Activation is the epoch record's commit: a fetch round trip or two.
        assert!(
            active >= leaderless && active < leaderless + 20.0,
            "seed {seed}: active {active} vs leaderless {leaderless}"
        );
        assert!(informed >= leaderless, "seed {seed}");
        // Every broker follows the final leader.
        let leader = after.last().unwrap().1;
        for b in 3..6 {
            assert!(
                phases(&out, "follower")
                    .iter()
                    .any(|(t, n)| n.index() == b && *t >= after[0].0),
                "seed {seed}: broker {b} never followed {leader}"
            );
        }
        assert!(out.clients.writes_ok > 0);
    }
}

#[test]
fn an_isolated_controller_resigns_after_one_and_a_half_fetch_timeouts() {
    for seed in 1..=5 {
        let f = FaultSpec::at(6000, Action::Isolate, Target::Leader, Some(5000));
        let out = run_trial(&model(3, 3, 1000), &cfg(seed, 20, 0, vec![f]), None);
        assert_clean(&out);
        let old = out.faults[0].node.unwrap();
        let resigned = phases(&out, "resigned")
            .into_iter()
            .find(|(t, n)| *n == old && *t > 6000.0)
            .unwrap_or_else(|| panic!("seed {seed}: {old} never resigned"))
            .0;
        // The check-quorum timer (3000 ms) was last reset when a majority had
        // fetched, at most one parked fetch (500 ms) before the cut.
        assert!(
            (6000.0 + 2490.0..=6000.0 + 3001.0).contains(&resigned),
            "seed {seed}: resigned at {resigned}"
        );
        // The majority elected a new leader while the old one was cut off.
        let majority = elections(&out)
            .into_iter()
            .find(|e| e.0 > 6000.0 && e.1 != old)
            .unwrap_or_else(|| panic!("seed {seed}: the majority elected no one"));
        assert!(majority.0 < 11000.0, "seed {seed}: {majority:?}");
        // No leader per epoch twice: the checker ran (assert_clean); and the
        // trial ends with one leader known to every live node.
        let last = elections(&out).last().copied().unwrap();
        assert!(last.0 < 20000.0);
    }
}

#[test]
fn a_restarted_leader_comes_back_resigned_in_its_epoch() {
    let out = run_trial(
        &model(3, 0, 1000),
        &cfg(4, 20, 0, vec![crash(5000, Some(3000))]),
        None,
    );
    assert_clean(&out);
    let old = out.faults[0].node.unwrap();
    let first = elections(&out)
        .into_iter()
        .rev()
        .find(|e| e.0 < 5000.0 && e.1 == old)
        .unwrap();
    let resigned = phases(&out, "resigned")
        .into_iter()
        .find(|(t, n)| *n == old && *t >= 8000.0)
        .expect("the restarted leader resigns first");
    assert!(resigned.0 < 8010.0, "{resigned:?}");
    // It never leads its old epoch again, and ends following the new leader.
    assert!(elections(&out)
        .iter()
        .all(|e| !(e.1 == old && e.2 == first.2 && e.0 > 5000.0)));
    assert!(phases(&out, "follower")
        .iter()
        .any(|(t, n)| *n == old && *t > resigned.0));
}

#[test]
fn failover_costs_nothing_per_partition_but_a_cold_start_does() {
    // 1M partitions at 2 us each: a 2 s image load when a process starts.
    for (partitions, boot_ms) in [(1000, 0.0), (1_000_000, 2000.0)] {
        for seed in 1..=5 {
            let out = run_trial(
                &model(3, 3, partitions),
                &cfg(seed, 20, 0, vec![crash(8000, None)]),
                None,
            );
            assert_clean(&out);
            let first_active = phases(&out, "activated")[0].0;
            assert!(
                first_active >= boot_ms,
                "{partitions}: activated at {first_active}"
            );
            let leaderless = raft_columns(&out)[0].unwrap();
            let active = kraft_columns(&out, 3, 3)[0].unwrap();
            assert!(
                active - leaderless < 20.0,
                "{partitions} seed {seed}: a standby activates at once ({leaderless} -> {active})"
            );
        }
    }
}

#[test]
fn committed_entries_survive_repeated_controller_crashes() {
    for seed in 1..=8 {
        let faults = vec![
            crash(4000, Some(3000)),
            crash(12000, Some(3000)),
            crash(20000, None),
        ];
        let out = run_trial(&model(5, 2, 1000), &cfg(seed, 30, 3, faults), None);
        assert_clean(&out);
        assert!(elections(&out).len() >= 4, "seed {seed}");
        assert!(out.clients.writes_ok > 100, "seed {seed}");
    }
}

#[test]
fn after_random_faults_heal_one_controller_is_active_and_every_broker_follows_it() {
    // Liveness, which the invariants soak does not check: crashes (host
    // down or not), isolations and pauses of random controllers, all undone
    // by 40 s; by 60 s one controller must be active and every broker must
    // fetch from it.
    for seed in 1..=40u64 {
        let mut r = rng::stream(seed, "kraft-liveness", 0);
        let controllers = [3usize, 5][rng::index(&mut r, 2)];
        let mut faults = Vec::new();
        for _ in 0..1 + rng::index(&mut r, 4) {
            let at = rng::range_inclusive(&mut r, 2_000, 30_000);
            let undo = rng::range_inclusive(&mut r, 500, 10_000);
            let target = match rng::index(&mut r, 3) {
                0 => Target::Leader,
                1 => Target::Follower,
                _ => Target::Node(rng::index(&mut r, controllers)),
            };
            let action = match rng::index(&mut r, 4) {
                0 => Action::Crash { host_alive: false },
                1 => Action::Crash { host_alive: true },
                2 => Action::Isolate,
                _ => Action::Pause,
            };
            faults.push(FaultSpec::at(at, action, target, Some(undo)));
        }
        let m = model(controllers, 3, 1000);
        let c = cfg(seed, 60, 2, faults);
        let (out, nodes) = crate::engine::sim::Sim::new(&m, &c).run_keep(None);
        assert_clean(&out);
        let leaders: Vec<&Server> = nodes[..controllers]
            .iter()
            .filter_map(crate::systems::raft::RaftNode::server)
            .filter(|s| s.state() == State::Leader && s.serving())
            .collect();
        assert_eq!(
            leaders.len(),
            1,
            "seed {seed}: active controllers at the end"
        );
        let leader = leaders[0].id;
        for b in &nodes[controllers..controllers + 3] {
            let v = crate::engine::Node::view(b);
            assert_eq!(v.leader, Some(leader), "seed {seed}: a broker's leader");
        }
    }
}

#[test]
fn end_quorum_epoch_overrides_a_followers_fetch_timeout_by_its_position() {
    use crate::systems::raft::Timer;
    // Five voters; node 0 follows node 4 in epoch 3.
    let me = NodeId(0);
    let fetch_timeout_after = |successors: Vec<NodeId>| {
        let d = RaftDurable {
            term: 3,
            vote: None,
            leader: Some(NodeId(4)),
            log: Vec::new(),
        };
        let mut s = Server::new(me, 5, model(5, 0, 1).cfg, d, false);
        harness::with_ctx(me, |ctx| s.on_start(ctx));
        assert_eq!(s.state(), State::Follower);
        let ((), out) = harness::with_ctx(me, |ctx| {
            s.on_message(
                ctx,
                NodeId(4),
                Msg::EndEpoch {
                    epoch: 3,
                    successors,
                },
            )
        });
        out.timers
            .iter()
            .rev()
            .find(|t| t.2 == Timer::FetchTimeout)
            .map(|t| t.0.as_ms_f64())
    };
    let order = |first: u32| {
        let mut v: Vec<NodeId> = (0..4).map(NodeId).collect();
        v.retain(|n| n.0 != first);
        v.insert(0, NodeId(first));
        v
    };
    assert_eq!(fetch_timeout_after(order(0)), Some(0.0), "first: at once");
    // Node 0 second of four: (1000 >> 3) << 0 = 125 ms.
    assert_eq!(fetch_timeout_after(order(1)), Some(125.0));
    let last = vec![NodeId(1), NodeId(2), NodeId(3), me];
    assert_eq!(fetch_timeout_after(last), Some(500.0));
    assert_eq!(fetch_timeout_after(Vec::new()), Some(1000.0), "not listed");
}
