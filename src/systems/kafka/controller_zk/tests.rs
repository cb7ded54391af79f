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
    assert_eq!(f.data("/brokers/ids/0"), Some(0));
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
