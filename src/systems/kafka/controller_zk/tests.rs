//! Tests of the broker's rules against the fake ZooKeeper (`fake.rs`).

use crate::engine::{SimDuration, SimTime};

use super::broker::{CONTROLLER, CONTROLLER_EPOCH};
use super::checker::KafkaChecker;
use super::fake::Fake;
use super::msg::{KafkaNote, Outcome};
use super::params::KafkaParams;

fn params(partitions: u64) -> KafkaParams {
    KafkaParams {
        partitions,
        replication_factor: 3,
        ..KafkaParams::default()
    }
}

fn ms(x: u64) -> SimTime {
    SimTime(x * 1_000_000)
}

/// Every note through the checker: no violation.
fn assert_clean(f: &Fake) {
    let mut c = KafkaChecker::default();
    for (t, _, n) in f.notes() {
        assert_eq!(c.on_note(t, n), None);
    }
}

fn elected(f: &Fake) -> Vec<(u32, u64)> {
    f.notes()
        .filter_map(|(_, _, n)| match n {
            KafkaNote::Elected { broker, epoch, .. } => Some((*broker, *epoch)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_broker_to_run_its_multi_wins_epoch_1_and_the_others_follow() {
    let mut f = Fake::new(3, params(100));
    f.run_until(ms(100));
    assert_eq!(elected(&f), vec![(0, 1)]);
    assert_eq!(f.data(CONTROLLER), Some(0));
    assert_eq!(f.data(CONTROLLER_EPOCH), Some(1));
    for b in &f.brokers {
        assert_eq!(b.active_controller, Some(0), "broker {}", b.id);
        assert_eq!(b.epoch_seen, 1, "broker {}", b.id);
    }
    assert!(f.brokers[0].is_active());
    assert_clean(&f);
}

#[test]
fn on_expiry_the_controller_resigns_and_a_survivor_takes_epoch_2() {
    let mut f = Fake::new(3, params(100));
    f.run_until(ms(100));
    f.paused.insert(0);
    f.expire(0);
    f.run_until(ms(200));
    assert_eq!(elected(&f), vec![(0, 1), (1, 2)]);
    f.resume(0);
    f.run_until(ms(300));
    // The old controller resigned on Expired, re-registered and follows.
    assert!(!f.brokers[0].is_active());
    assert_eq!(f.brokers[0].controller_epoch(), None);
    assert_eq!(f.brokers[0].active_controller, Some(1));
    assert_eq!(f.data(CONTROLLER_EPOCH), Some(2));
    assert!(f.data("/brokers/ids/0").is_some(), "registered again");
    assert_clean(&f);
}

/// The controller pauses in `initializeControllerContext` (10 000
/// partitions: 1000 round trips of 1 ms), its session expires and another
/// broker takes over; when it resumes, it goes on with its failover: its
/// requests to brokers carry the old epoch and are rejected, and its first
/// state write (broker 3 never came up, so its replicas go offline) is never
/// applied.
#[test]
fn a_paused_controller_resumes_as_a_zombie_and_is_fenced() {
    let mut f = Fake::new(4, params(10_000));
    f.paused.insert(3);
    f.run_until(ms(100));
    f.paused.insert(0);
    f.expire(0);
    // Broker 1 loads 10 000 partition states (1 s), removes the replicas
    // of brokers 0 and 3 from every ISR (a read and a write each: 2 s) and
    // elects leaders for the half they led (1 s).
    f.run_until(ms(6000));
    assert_eq!(elected(&f), vec![(0, 1), (1, 2)]);
    assert!(f.brokers[1].is_active());
    f.resume(0);
    f.run_until(ms(7000));
    let stale: Vec<(u32, u64, u64)> = f
        .notes()
        .filter_map(|(_, _, n)| match n {
            KafkaNote::StaleEpoch {
                broker,
                epoch,
                seen,
            } => Some((*broker, *epoch, *seen)),
            _ => None,
        })
        .collect();
    // UpdateMetadata and LeaderAndIsr of epoch 1 to brokers 1 and 2.
    assert_eq!(stale.len(), 4, "{stale:?}");
    assert!(stale.iter().all(|s| s.1 == 1 && s.2 == 2));
    let writes: Vec<Outcome> = f
        .notes()
        .filter_map(|(_, b, n)| match n {
            KafkaNote::WriteDone { outcome, .. } if b == 0 => Some(*outcome),
            _ => None,
        })
        .collect();
    assert_eq!(writes, vec![Outcome::Abandoned]);
    assert_eq!(
        f.data("/brokers/topics"),
        Some(2),
        "written last by epoch 2"
    );
    assert_eq!(f.brokers[0].active_controller, Some(1));
    assert_eq!(f.brokers[0].controller_epoch(), None);
    assert!(f.brokers[1].is_active());
    assert_clean(&f);
}

/// The election multi's answer is lost with the connection; the retry
/// after reconnecting finds `/controller` taken (by itself) and accepts its
/// own election after checking the epoch (`checkControllerAndEpoch`).
#[test]
fn a_retried_election_multi_recognises_its_own_success() {
    let mut f = Fake::new(1, params(10));
    f.lose_next_reply_of_multi = true;
    f.run_until(ms(100));
    assert_eq!(elected(&f), vec![(0, 1)]);
    assert_eq!(f.data(CONTROLLER_EPOCH), Some(1));
    assert!(f.brokers[0].is_active());
    assert_clean(&f);
}

#[test]
fn metadata_load_takes_partitions_over_in_flight_round_trips() {
    for partitions in [1000u64, 10_000] {
        let mut f = Fake::new(3, params(partitions));
        f.run_until(ms(60_000));
        let loaded: Vec<f64> = f
            .notes()
            .filter_map(|(_, _, n)| match n {
                KafkaNote::MetadataLoaded { ms, .. } => Some(*ms),
                _ => None,
            })
            .collect();
        // 3 broker reads (1 ms), then ceil(P / 10) reads of 1 ms each.
        let want = 1.0 + (partitions / 10) as f64;
        assert_eq!(loaded, vec![want], "{partitions} partitions");
        let _ = SimDuration::ZERO;
    }
}

// ---------------------------------------------------------------------------
// Scenarios against the modelled ensemble (zookeeper/fle with sessions).
// ---------------------------------------------------------------------------

mod scenarios {
    use crate::engine::fault::{Action, FaultSpec, Target};
    use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
    use crate::engine::{NodeId, Obs, SimDuration};
    use crate::systems::kafka::controller_zk::{KafkaZk, PATH};
    use crate::systems::ParamValue;

    const ZK: usize = 3;

    fn model(brokers: usize, partitions: u64) -> KafkaZk {
        let mut p = PATH.default_params(&[ZK, brokers]);
        p.set("partitions", partitions as f64).unwrap();
        p.set_value(
            "default.replication.factor",
            &ParamValue::Int(3),
            &[ZK, brokers],
        )
        .unwrap();
        KafkaZk::new(ZK, brokers, &p)
    }

    fn cfg(seed: u64, secs: u64, faults: Vec<FaultSpec>) -> SimConfig {
        SimConfig {
            seed,
            duration: SimDuration::from_ms(secs * 1000),
            faults,
            load: LoadConfig {
                clients: 0,
                ..LoadConfig::default()
            },
            ..SimConfig::default()
        }
    }

    fn run(m: &KafkaZk, seed: u64, secs: u64, faults: Vec<FaultSpec>) -> SimOutput {
        let out = run_trial(m, &cfg(seed, secs, faults), None);
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        out
    }

    /// (ms, broker node, controller epoch) of every controller election.
    fn elections(out: &SimOutput) -> Vec<(f64, NodeId, u64)> {
        out.records
            .iter()
            .filter(|r| r.node.index() >= ZK)
            .filter_map(|r| match r.obs {
                Obs::Elected { term, .. } => Some((r.at.as_ms_f64(), r.node, term)),
                _ => None,
            })
            .collect()
    }

    /// (ms, node, epoch) of every controller that finished its failover.
    fn actives(out: &SimOutput) -> Vec<(f64, NodeId, u64)> {
        out.records
            .iter()
            .filter(|r| r.node.index() >= ZK)
            .filter_map(|r| match r.obs {
                Obs::Serving { term, .. } => Some((r.at.as_ms_f64(), r.node, term)),
                _ => None,
            })
            .collect()
    }

    /// (ms, node) of each `name` phase.
    fn phases(out: &SimOutput, name: &str) -> Vec<(f64, NodeId)> {
        out.records
            .iter()
            .filter(|r| matches!(r.obs, Obs::Phase { name: n, .. } if n == name))
            .map(|r| (r.at.as_ms_f64(), r.node))
            .collect()
    }

    fn host_down(ms: u64, target: Target) -> FaultSpec {
        FaultSpec::at(ms, Action::Crash { host_alive: false }, target, None)
    }

    fn controller() -> Target {
        Target::Path {
            word: "controller",
            arg: None,
        }
    }

    #[test]
    fn a_crashed_controller_is_replaced_after_its_session_expires() {
        let m = model(3, 1000);
        for seed in 1..4 {
            let out = run(&m, seed, 60, vec![host_down(20_000, controller())]);
            let e = elections(&out);
            assert_eq!(e.len(), 2, "seed {seed}: {e:?}");
            let (first, second) = (e[0], e[1]);
            assert!(first.0 < 2000.0 && first.2 == 1, "seed {seed}: {e:?}");
            assert_eq!(out.faults[0].node, Some(first.1), "seed {seed}");
            assert_ne!(second.1, first.1, "seed {seed}");
            assert_eq!(second.2, 2, "seed {seed}");
            // zookeeper.session.timeout.ms = 18 s, counted from the dead
            // broker's last ping (at most readTimeout/2 = 6 s before the
            // crash), rounded up to the leader's next 2 s tick bucket.
            let after = second.0 - 20_000.0;
            assert!(
                (12_000.0..20_100.0).contains(&after),
                "seed {seed}: {after}"
            );
            let a = actives(&out);
            assert_eq!(
                a.last().map(|x| (x.1, x.2)),
                Some((second.1, 2)),
                "seed {seed}"
            );
            assert!(phases(&out, "write_fenced").is_empty(), "seed {seed}");
        }
    }

    /// The controller stops the world for 40 s while it loads 100 000
    /// partition states at start-up: another broker wins epoch 2; the
    /// zombie resumes its failover, brokers reject its requests, ZooKeeper
    /// never applies its write, and it resigns.
    #[test]
    fn a_controller_paused_past_its_session_timeout_is_fenced_as_a_zombie() {
        let m = model(3, 100_000);
        let pause = FaultSpec::at(3000, Action::Pause, controller(), Some(40_000));
        let out = run(&m, 3, 150, vec![pause]);
        let e = elections(&out);
        assert_eq!(e.len(), 2, "{e:?}");
        let zombie = e[0].1;
        assert_eq!(out.faults[0].node, Some(zombie));
        assert_eq!((e[1].2, e[1].1 != zombie), (2, true), "{e:?}");
        // When it resumes (43 s) it goes on with its failover, epoch 1.
        let fenced = phases(&out, "write_fenced");
        assert_eq!(fenced.len(), 1, "{fenced:?}");
        assert_eq!(fenced[0].1, zombie);
        assert!(fenced[0].0 >= 43_000.0);
        let stale = phases(&out, "stale_controller_epoch");
        assert!(!stale.is_empty());
        assert!(
            stale.iter().all(|s| s.0 >= 43_000.0 && s.1 != zombie),
            "{stale:?}"
        );
        let resigned = phases(&out, "resign");
        assert_eq!(
            resigned.iter().map(|r| r.1).collect::<Vec<_>>(),
            vec![zombie]
        );
        assert_eq!(actives(&out).last().map(|a| a.2), Some(2));
    }

    #[test]
    fn a_pause_shorter_than_the_session_timeout_changes_no_controller() {
        let m = model(3, 100_000);
        let pause = FaultSpec::at(3000, Action::Pause, controller(), Some(10_000));
        // At start-up the controller finds only itself registered (the others
        // connect later), so its replicaStateMachine rewrites every ISR:
        // about a minute of writes.
        let out = run(&m, 3, 120, vec![pause]);
        let e = elections(&out);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(phases(&out, "write_fenced").is_empty());
        assert!(phases(&out, "stale_controller_epoch").is_empty());
        // It finishes its failover late, as the only controller.
        assert_eq!(
            actives(&out).iter().map(|a| a.2).collect::<Vec<_>>(),
            vec![1]
        );
    }

    /// The first controller of a trial, from a run without faults.
    fn first_controller(m: &KafkaZk, seed: u64) -> NodeId {
        elections(&run(m, seed, 5, vec![]))[0].1
    }

    fn cut_from_zookeeper(ms: u64, node: NodeId, for_ms: u64) -> FaultSpec {
        FaultSpec::at(
            ms,
            Action::Partition {
                groups: vec![vec![node.index()], (0..ZK).collect()],
                one_way: false,
            },
            Target::Random,
            Some(for_ms),
        )
    }

    /// The controller loses ZooKeeper (not the brokers) for 40 s: its session
    /// expires, another broker takes over; after the heal its client hears
    /// Expired, it resigns, registers again with a new session, and the new
    /// controller sees it start up.
    #[test]
    fn a_controller_cut_from_zookeeper_is_replaced_and_rejoins_as_a_broker() {
        let m = model(3, 1000);
        let seed = 5;
        let c = first_controller(&m, seed);
        let out = run(&m, seed, 90, vec![cut_from_zookeeper(10_000, c, 40_000)]);
        let e = elections(&out);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].1, c);
        let next = e[1].1;
        assert!(next != c && e[1].2 == 2 && e[1].0 < 50_000.0, "{e:?}");
        let resigned = phases(&out, "resign");
        assert_eq!(resigned.len(), 1, "{resigned:?}");
        assert_eq!(resigned[0].1, c);
        assert!(resigned[0].0 >= 50_000.0, "it hears Expired after the heal");
        // It found the old controller's registration gone with its session.
        assert!(phases(&out, "broker_failure").is_empty());
        let startups = phases(&out, "broker_startup");
        assert!(
            startups.iter().any(|s| s.1 == next && s.0 > 50_000.0),
            "{startups:?}"
        );
        assert!(phases(&out, "write_fenced").is_empty());
    }

    /// A broker that is not the controller loses ZooKeeper for 40 s: the
    /// controller handles its failure (onBrokerFailure) and, after the heal,
    /// its return; the controller does not change.
    #[test]
    fn a_broker_cut_from_zookeeper_fails_and_returns_under_the_same_controller() {
        let m = model(3, 1000);
        let seed = 5;
        let c = first_controller(&m, seed);
        let other = NodeId(if c.index() == ZK {
            ZK as u32 + 1
        } else {
            ZK as u32
        });
        let out = run(
            &m,
            seed,
            90,
            vec![cut_from_zookeeper(10_000, other, 40_000)],
        );
        let e = elections(&out);
        assert_eq!(e.len(), 1, "{e:?}");
        let failures = phases(&out, "broker_failure");
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].1, c);
        assert!(
            (20_000.0..50_000.0).contains(&failures[0].0),
            "{failures:?}"
        );
        let startups = phases(&out, "broker_startup");
        assert!(
            startups.iter().any(|s| s.1 == c && s.0 > 50_000.0),
            "{startups:?}"
        );
    }

    /// The ZooKeeper leader's host dies just as the brokers race their
    /// election multis after the controller's session expired: requests in
    /// flight fail with ConnectionLoss and are retried once the ensemble has
    /// a new leader; exactly one broker ends up controller, one per epoch.
    #[test]
    fn a_zookeeper_leader_crash_during_a_controller_election_still_elects_one() {
        let m = model(3, 1000);
        for seed in 1..4 {
            let base = run(&m, seed, 60, vec![host_down(20_000, controller())]);
            let detected = base
                .records
                .iter()
                .find(|r| r.node.index() >= ZK && matches!(r.obs, Obs::Detected { .. }))
                .map(|r| r.at.as_ms_f64())
                .expect("the brokers saw /controller deleted");
            let at = detected as u64 + 1;
            let out = run(
                &m,
                seed,
                90,
                vec![
                    host_down(20_000, controller()),
                    host_down(at, Target::Leader),
                ],
            );
            assert!(out.faults.iter().all(|f| f.applied), "seed {seed}");
            assert!(out.faults[1].node.unwrap().index() < ZK, "seed {seed}");
            let e = elections(&out);
            let epochs: Vec<u64> = e.iter().map(|x| x.2).collect();
            let mut unique = epochs.clone();
            unique.dedup();
            assert_eq!(epochs, unique, "seed {seed}: one winner per epoch {e:?}");
            let after: Vec<_> = e.iter().filter(|x| x.0 > 20_000.0).collect();
            assert!(!after.is_empty(), "seed {seed}: {e:?}");
            let last = actives(&out).last().copied().expect("a controller serves");
            assert_eq!(
                (last.1, last.2),
                (after.last().unwrap().1, after.last().unwrap().2)
            );
        }
    }

    /// The controller's process is restarted 5 s after its host died, before
    /// its old session expired: its new registration finds the old one until
    /// the old session expires (with `/controller`); then it registers, and
    /// the brokers elect a controller of epoch 2.
    #[test]
    fn a_broker_restarted_before_its_old_session_expires_registers_after_it() {
        let m = model(3, 1000);
        for seed in 1..4 {
            let crash = FaultSpec::at(
                20_000,
                Action::Crash { host_alive: false },
                controller(),
                Some(5000),
            );
            let out = run(&m, seed, 80, vec![crash]);
            let old = out.faults[0].node.expect("applied");
            let e = elections(&out);
            assert_eq!(
                e.iter().map(|x| x.2).collect::<Vec<_>>(),
                vec![1, 2],
                "seed {seed}"
            );
            assert!(
                e[1].0 > 30_000.0,
                "seed {seed}: after the old session expired"
            );
            let startups = phases(&out, "broker_startup");
            // Unless the restarted broker won epoch 2 itself, the new
            // controller sees it register.
            if e[1].1 != old {
                assert!(
                    startups.iter().any(|s| s.1 == e[1].1),
                    "seed {seed}: {startups:?}"
                );
            }
            assert_eq!(actives(&out).last().map(|a| a.2), Some(2), "seed {seed}");
        }
    }
}
