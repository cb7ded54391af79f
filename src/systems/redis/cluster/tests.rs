//! Unit tests of the vote rule and the checker, and scenario tests with
//! faults placed by hand: a master crash and its replica's promotion, rank
//! ordering, no failover without a majority of masters.

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::rng;
use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use crate::engine::{Checker, Ctx, NodeId, Obs, Outbox, Scope, SimDuration, SimTime};

use super::durable::ConfWrite;
use super::msg::{Header, Msg};
use super::{RcChecker, RcNode, RcNote, RcParams, RedisCluster, PATH};

const TIMEOUT_MS: u64 = 5000;

/// `m` masters, `r` replicas, `cluster-node-timeout` 5 s.
fn model(m: usize, r: usize) -> RedisCluster {
    let mut p = PATH.default_params(&[m, r]);
    p.set("cluster-node-timeout", TIMEOUT_MS as f64).unwrap();
    RedisCluster::new(m, r, RcParams::from_params(&p))
}

fn cfg(seed: u64, secs: u64, faults: Vec<FaultSpec>, clients: usize) -> SimConfig {
    SimConfig {
        seed,
        duration: SimDuration::from_ms(secs * 1000),
        faults,
        load: LoadConfig {
            clients,
            rate_per_s: 20.0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

fn at(ms: u64, action: Action, target: Target, undo_ms: Option<u64>) -> FaultSpec {
    FaultSpec::at(ms, action, target, undo_ms)
}

fn crash_master0(ms: u64) -> FaultSpec {
    at(
        ms,
        Action::Crash { host_alive: false },
        Target::Path {
            word: "master",
            arg: Some(0),
        },
        None,
    )
}

/// (time ms, node) of every phase `name` about shard `shard`.
fn phases(out: &SimOutput, name: &str, shard: u32) -> Vec<(f64, NodeId)> {
    out.records
        .iter()
        .filter(|r| {
            matches!(r.obs, Obs::Phase { name: n, scope } if n == name && scope == Scope::Part(shard))
        })
        .map(|r| (r.at.as_ms_f64(), r.node))
        .collect()
}

/// (time ms, node, epoch) of every election won.
fn wins(out: &SimOutput) -> Vec<(f64, NodeId, u64)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Elected { leader, term, .. } => Some((r.at.as_ms_f64(), leader, term)),
            _ => None,
        })
        .collect()
}

fn assert_safe(out: &SimOutput) {
    assert!(
        out.violations.is_empty(),
        "violations: {:?}",
        out.violations
    );
}

// -------------------------------------------------------------------
// The vote rule, on one master driven by hand.
// -------------------------------------------------------------------

/// Drive node `n` through one handler call; what it sent and persisted.
fn call(
    n: &mut RcNode,
    now_ms: u64,
    f: impl FnOnce(&mut RcNode, &mut Ctx<'_, RcNode>),
) -> (Vec<(NodeId, Msg)>, Vec<ConfWrite>) {
    let mut out: Outbox<RcNode> = Outbox::default();
    let mut timers = Vec::new();
    let mut next = 0;
    let mut r = rng::stream(1, "test", 0);
    let me = NodeId(2);
    let mut ctx = Ctx::new(
        SimTime(now_ms * 1_000_000),
        me,
        0,
        &mut r,
        &mut out,
        &mut timers,
        &mut next,
    );
    f(n, &mut ctx);
    (out.sends, out.persists)
}

fn request(epoch: u64, master: NodeId) -> Msg {
    Msg::AuthRequest {
        h: Header {
            current_epoch: epoch,
            config_epoch: 1,
            slots: None,
            replica_of: Some(master),
            offset: 0,
        },
        shard: 0,
    }
}

/// The replicas a vote ACK goes to, in the order granted.
fn granted(persists: &[ConfWrite]) -> Vec<NodeId> {
    persists
        .iter()
        .filter_map(|w| match &w.reply {
            Some((to, Msg::AuthAck { .. })) => Some(*to),
            _ => None,
        })
        .collect()
}

#[test]
fn master_votes_once_per_epoch_and_not_twice_for_one_master_within_two_timeouts() {
    use crate::engine::{Model, Node};
    // 3 masters x 2 replicas: replicas 3 and 6 follow master 0, 4 and 7
    // master 1. Master 2 votes.
    let m = model(3, 6);
    let (mut nodes, _) = m.build(0);
    let mut voter = nodes.remove(2);
    let fail = |node| Msg::Fail {
        h: Header {
            current_epoch: 3,
            config_epoch: 1,
            slots: Some(0),
            replica_of: None,
            offset: 0,
        },
        node,
    };
    // Master 0 is not FAIL yet: no vote.
    let (_, p) = call(&mut voter, 10, |n, c| {
        n.on_message(c, NodeId(3), request(4, NodeId(0)))
    });
    assert!(
        granted(&p).is_empty(),
        "voted for a replica of a live master"
    );
    call(&mut voter, 20, |n, c| {
        n.on_message(c, NodeId(6), fail(NodeId(0)))
    });
    call(&mut voter, 20, |n, c| {
        n.on_message(c, NodeId(7), fail(NodeId(1)))
    });
    // Epoch 5: replica 3 gets the vote; replica 4 (of another failed
    // master) asking in the same epoch does not.
    let (_, p1) = call(&mut voter, 30, |n, c| {
        n.on_message(c, NodeId(3), request(5, NodeId(0)))
    });
    let (_, p2) = call(&mut voter, 31, |n, c| {
        n.on_message(c, NodeId(4), request(5, NodeId(1)))
    });
    assert_eq!(granted(&p1), vec![NodeId(3)]);
    assert!(granted(&p2).is_empty(), "a second vote in epoch 5");
    // The ACK leaves only once nodes.conf is on disk, with the vote in it.
    assert_eq!(p1[p1.len() - 1].conf.last_vote_epoch, 5);
    // Epoch 6 for replica 4: granted.
    let (_, p3) = call(&mut voter, 32, |n, c| {
        n.on_message(c, NodeId(4), request(6, NodeId(1)))
    });
    assert_eq!(granted(&p3), vec![NodeId(4)]);
    // A new epoch, but within 2 x node timeout of the vote for master 0.
    let (_, p4) = call(&mut voter, 30 + 2 * TIMEOUT_MS - 1, |n, c| {
        n.on_message(c, NodeId(6), request(7, NodeId(0)))
    });
    assert!(granted(&p4).is_empty(), "voted again for master 0 too soon");
    let (_, p5) = call(&mut voter, 30 + 2 * TIMEOUT_MS + 1, |n, c| {
        n.on_message(c, NodeId(6), request(8, NodeId(0)))
    });
    assert_eq!(granted(&p5), vec![NodeId(6)]);
    // A request from an older epoch than the voter's is refused.
    let (_, p6) = call(&mut voter, 30 + 6 * TIMEOUT_MS, |n, c| {
        n.on_message(c, NodeId(3), request(7, NodeId(0)))
    });
    assert!(granted(&p6).is_empty(), "voted for an old epoch");
}

#[test]
fn checker_flags_a_second_vote_in_one_epoch_and_two_owners_of_one_config_epoch() {
    let mut c = RcChecker::new();
    let t = SimTime::ZERO;
    let vote = |candidate| {
        Obs::Note(RcNote::Voted {
            voter: NodeId(1),
            epoch: 4,
            candidate,
        })
    };
    assert!(c.on_record(t, NodeId(1), &vote(NodeId(3)), &[]).is_none());
    assert!(c.on_record(t, NodeId(1), &vote(NodeId(6)), &[]).is_some());
    let claim = |node, config_epoch, promotion| {
        Obs::Note(RcNote::Claim {
            node,
            shard: 0,
            config_epoch,
            promotion,
        })
    };
    assert!(c
        .on_record(t, NodeId(0), &claim(NodeId(0), 1, false), &[])
        .is_none());
    assert!(c
        .on_record(t, NodeId(3), &claim(NodeId(3), 4, true), &[])
        .is_none());
    // Another master of shard 0 in epoch 4, and a promotion not above 4.
    assert!(c
        .on_record(t, NodeId(6), &claim(NodeId(6), 4, true), &[])
        .is_some());
    assert!(c
        .on_record(t, NodeId(6), &claim(NodeId(6), 3, true), &[])
        .is_some());
}

// -------------------------------------------------------------------
// Scenarios
// -------------------------------------------------------------------

#[test]
fn master_crash_promotes_its_replica_within_the_expected_window() {
    let t = TIMEOUT_MS as f64;
    for seed in 1..=8 {
        let out = run_trial(
            &model(3, 3),
            &cfg(seed, 40, vec![crash_master0(15_000)], 2),
            None,
        );
        assert_safe(&out);
        let w = wins(&out);
        assert_eq!(w.len(), 1, "seed {seed}: one election won: {w:?}");
        let (won, node, epoch) = w[0];
        // Replica 3 follows master 0; the first election after the initial
        // epochs 1..3 is epoch 4.
        assert_eq!((node, epoch), (NodeId(3), 4), "seed {seed}");
        // PFAIL after at least one node timeout; FAIL and the rank-0 delay
        // (500..1000 ms after the replica's schedule) follow.
        let pfail = phases(&out, "pfail", 0)[0].0;
        assert!(pfail >= 15_000.0 + t - 5.0, "seed {seed}: pfail at {pfail}");
        assert!(
            pfail <= 15_000.0 + 1.5 * t + 200.0,
            "seed {seed}: pfail at {pfail}"
        );
        let fail = phases(&out, "fail", 0)[0].0;
        let sched = phases(&out, "election-scheduled", 0);
        let req = phases(&out, "failover-auth-request", 0);
        assert_eq!(sched.len(), 1, "seed {seed}");
        assert_eq!(req.len(), 1, "seed {seed}");
        assert!(
            sched[0].0 >= fail && sched[0].0 <= fail + 200.0,
            "seed {seed}"
        );
        let delay = req[0].0 - sched[0].0;
        assert!(
            (500.0..=1100.0).contains(&delay),
            "seed {seed}: delay {delay}"
        );
        assert!(
            won - req[0].0 < 100.0,
            "seed {seed}: votes took {}",
            won - req[0].0
        );
        assert!(won <= 15_000.0 + 3.0 * t, "seed {seed}: won at {won}");
        // Every master voted for 3: the other two live masters.
        assert_eq!(
            phases(&out, "failover-auth-granted", 0).len(),
            2,
            "seed {seed}"
        );
        // Clients follow MOVED to the new master of shard 0.
        let seen = phases(&out, "client-new-master", 0);
        assert!(
            !seen.is_empty(),
            "seed {seed}: no write acknowledged by the new master"
        );
        assert!(seen[0].0 > won, "seed {seed}");
    }
}

#[test]
fn the_old_master_returns_as_a_replica_of_the_new_one() {
    let restart = at(35_000, Action::Restart, Target::Node(0), None);
    let out = run_trial(
        &model(3, 3),
        &cfg(3, 50, vec![crash_master0(15_000), restart], 2),
        None,
    );
    assert_safe(&out);
    assert_eq!(wins(&out).len(), 1);
    let demoted = phases(&out, "demoted", 0);
    assert_eq!(demoted.len(), 1, "{demoted:?}");
    assert_eq!(demoted[0].1, NodeId(0));
}

/// 3 masters x 2 replicas; `lagging` (3 or 6, both replicas of master 0) is
/// cut off from master 0 from 5 s, so it misses the writes until the crash.
fn rank_trial(seed: u64, lagging: usize) -> SimOutput {
    let cut = at(
        5_000,
        Action::Partition {
            groups: vec![vec![0], vec![lagging]],
            one_way: false,
        },
        Target::Node(0),
        Some(10_500),
    );
    let crash = at(
        15_000,
        Action::Crash { host_alive: false },
        Target::Node(0),
        None,
    );
    run_trial(&model(3, 6), &cfg(seed, 40, vec![cut, crash], 2), None)
}

#[test]
fn the_replica_with_the_larger_offset_starts_first_and_wins() {
    for (lagging, fresh) in [(6, 3), (3, 6)] {
        for seed in 1..=5 {
            let out = rank_trial(seed, lagging);
            assert_safe(&out);
            let w = wins(&out);
            assert_eq!(w.len(), 1, "seed {seed}, lagging {lagging}: {w:?}");
            assert_eq!(
                w[0].1,
                NodeId(fresh as u32),
                "seed {seed}, lagging {lagging}"
            );
            let req = phases(&out, "failover-auth-request", 0);
            assert_eq!(req[0].1, NodeId(fresh as u32), "seed {seed}: {req:?}");
            // The lagging replica ranks 1: a second later, if it asks at
            // all before it learns of the winner.
            let sched = phases(&out, "election-scheduled", 0);
            let of = |n: usize| sched.iter().find(|s| s.1 == NodeId(n as u32)).map(|s| s.0);
            let late = phases(&out, "failover-auth-request", 0)
                .into_iter()
                .find(|r| r.1 == NodeId(lagging as u32));
            if let (Some(s), Some(r)) = (of(lagging), late) {
                assert!(
                    r.0 - s >= 1500.0,
                    "seed {seed}: rank 1 asked after {}",
                    r.0 - s
                );
            }
        }
    }
}

#[test]
fn no_failover_without_a_majority_of_masters() {
    // Masters 0 and 1 on one side; master 2 and every replica on the other.
    let cut = at(
        10_000,
        Action::Partition {
            groups: vec![vec![0, 1], vec![2, 3, 4, 5]],
            one_way: false,
        },
        Target::Node(0),
        None,
    );
    for seed in 1..=4 {
        let out = run_trial(&model(3, 3), &cfg(seed, 60, vec![cut.clone()], 2), None);
        assert_safe(&out);
        // The replicas' side has one master of three: masters 0 and 1 stay
        // PFAIL there, never FAIL, and no replica asks for votes.
        assert!(!phases(&out, "pfail", 0).is_empty(), "seed {seed}");
        assert!(phases(&out, "fail", 0).is_empty(), "seed {seed}");
        assert!(phases(&out, "fail", 1).is_empty(), "seed {seed}");
        assert!(
            phases(&out, "failover-auth-request", 0).is_empty(),
            "seed {seed}"
        );
        assert!(
            phases(&out, "failover-auth-request", 1).is_empty(),
            "seed {seed}"
        );
        // Shard 2's master is FAIL for masters 0 and 1, but its replica is
        // cut off from them.
        let fail2 = phases(&out, "fail", 2);
        assert!(
            !fail2.is_empty() && fail2.iter().all(|f| f.1.index() < 2),
            "seed {seed}"
        );
        assert!(wins(&out).is_empty(), "seed {seed}: {:?}", wins(&out));
    }
}

#[test]
fn a_replica_with_no_failover_set_never_asks() {
    let mut p = PATH.default_params(&[3, 3]);
    p.set("cluster-node-timeout", TIMEOUT_MS as f64).unwrap();
    p.set_value(
        "cluster-replica-no-failover",
        &crate::systems::ParamValue::Enum("yes"),
        &[3, 3],
    )
    .unwrap();
    let m = RedisCluster::new(3, 3, RcParams::from_params(&p));
    let out = run_trial(&m, &cfg(1, 40, vec![crash_master0(15_000)], 2), None);
    assert_safe(&out);
    assert!(!phases(&out, "fail", 0).is_empty());
    assert!(wins(&out).is_empty());
}

#[test]
fn an_old_master_cut_off_with_its_clients_loses_the_writes_it_acknowledged_alone() {
    // Master 0 cut off from every other node, not from the clients, 10 s.
    let cut = at(
        10_000,
        Action::Partition {
            groups: vec![vec![0], vec![1, 2, 3, 4, 5]],
            one_way: false,
        },
        Target::Node(0),
        Some(10_000),
    );
    let out = run_trial(&model(3, 3), &cfg(2, 40, vec![cut], 2), None);
    assert_safe(&out);
    // Replica 3 takes shard 0 on the majority side ...
    let w = wins(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].1, NodeId(3));
    // ... the old master returns as its replica after the heal ...
    let demoted = phases(&out, "demoted", 0);
    assert_eq!(demoted.len(), 1, "{demoted:?}");
    assert!(demoted[0].0 >= 20_000.0, "{demoted:?}");
    // ... and what it acknowledged alone is gone: from the cut until it saw
    // a majority of masters PFAIL (at least one node timeout, at most 1.5:
    // the wait for its next PING, then the timeout), about a third of the
    // clients' 40 writes/s.
    let lost = out.findings.lost_acked_writes;
    let per_s = 40.0 / 3.0;
    let t = TIMEOUT_MS as f64 / 1000.0;
    assert!(lost as f64 >= 0.5 * per_s * t, "lost {lost}");
    assert!(lost as f64 <= per_s * (1.5 * t + 2.0), "lost {lost}");
}
