//! The election policy against a naive oracle, the consistent point of the
//! epoch files, and scenarios with faults placed by hand: a master crash
//! with and without `allAckInSyncStateSet` (exactly which writes are lost),
//! a paused slave leaving and rejoining the SyncStateSet, determinism.

use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::net::{Latency, NetConfig};
use crate::engine::sim::{LoadConfig, Sim, SimConfig, SimOutput};
use crate::engine::{NodeId, Obs, OpKind, SimDuration, SimTime};

use super::elect::{compare, elect, LiveInfo};
use super::{
    columns, consistent_point, BrokerRole, EpochEntry, RcNode, RcParams, RocketController, PATH,
};

const S: u64 = 1_000;

fn params(brokers: usize) -> RcParams {
    RcParams::from_params(&PATH.default_params(&[brokers, 1]))
}

fn cfg(seed: u64, secs: u64, rate: f64, faults: Vec<FaultSpec>) -> SimConfig {
    SimConfig {
        seed,
        duration: SimDuration::from_ms(secs * S),
        net: NetConfig {
            latency: Latency::Constant { ms: 1.0 },
            ..NetConfig::default()
        },
        faults,
        load: LoadConfig {
            clients: 3,
            rate_per_s: rate,
            ..LoadConfig::default()
        },
        record_ops: true,
        ..SimConfig::default()
    }
}

fn phase_times(out: &SimOutput, name: &str) -> Vec<SimTime> {
    out.records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Phase { name: n, .. } if n == name))
        .map(|r| r.at)
        .collect()
}

fn acked_writes(out: &SimOutput) -> BTreeSet<u64> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::OpDone { op, ok: true } if op.kind == OpKind::Write => Some(op.id),
            _ => None,
        })
        .collect()
}

fn info(id: u32, epoch: u32, max_offset: u64, priority: i32, valid: bool) -> LiveInfo {
    LiveInfo {
        id,
        epoch,
        max_offset,
        priority,
        valid,
    }
}

// ----- the election policy -----

#[test]
fn a_valid_old_master_is_kept_whatever_the_others_have() {
    let i = [info(0, 1, 5, i32::MAX, true), info(1, 9, 99, 0, true)];
    assert_eq!(elect(&[0, 1], None, &i, Some(0), None), Some(0));
}

#[test]
fn higher_epoch_beats_higher_offset_and_offset_beats_priority() {
    let i = [
        info(0, 1, 50, i32::MAX, false),
        info(1, 3, 10, i32::MAX, true),
        info(2, 2, 90, 0, true),
    ];
    assert_eq!(elect(&[0, 1, 2], None, &i, Some(0), None), Some(1));
    let i = [
        info(0, 1, 50, i32::MAX, false),
        info(1, 2, 10, 0, true),
        info(2, 2, 11, i32::MAX, true),
    ];
    assert_eq!(elect(&[0, 1, 2], None, &i, Some(0), None), Some(2));
}

#[test]
fn out_of_sync_replicas_are_elected_only_when_unclean_is_enabled() {
    let i = [
        info(0, 1, 50, i32::MAX, false),
        info(1, 1, 40, i32::MAX, false),
        info(2, 1, 10, i32::MAX, true),
    ];
    assert_eq!(elect(&[0, 1], None, &i, Some(0), None), None);
    assert_eq!(elect(&[0, 1], Some(&[0, 1, 2]), &i, Some(0), None), Some(2));
}

/// The real comparator casts the offset difference to `int`: two brokers
/// whose offsets differ by 2^31 or more can sort the wrong way round.
#[test]
fn offsets_more_than_two_gib_apart_flip_as_in_the_real_comparator() {
    let small = info(1, 1, 0, i32::MAX, true);
    let big = info(2, 1, (1 << 32) - 100, i32::MAX, true);
    // (int)(0 - (2^32 - 100)) = 100 > 0: `big` sorts after `small`.
    assert_eq!(compare(&big, &small), std::cmp::Ordering::Greater);
    let two_gib = info(2, 1, 1 << 31, i32::MAX, true);
    // (int)(0 - 2^31) = i32::MIN < 0: still the right way round.
    assert_eq!(compare(&two_gib, &small), std::cmp::Ordering::Less);
    assert_eq!(elect(&[1, 2], None, &[small, big], None, None), Some(1));
    let bigger = info(2, 1, 100, i32::MAX, true);
    assert_eq!(elect(&[1, 2], None, &[small, bigger], None, None), Some(2));
}

/// The naive reading of DefaultElectPolicy: valid SyncStateSet members (then
/// all replicas if unclean), the old master if valid, else the greatest
/// (epoch, max offset, -priority), lowest id on a tie.
fn oracle(sse: &[u32], unclean: bool, infos: &[LiveInfo], old: Option<u32>) -> Option<u32> {
    let pick = |set: &[u32]| -> Option<u32> {
        let valid: Vec<&LiveInfo> = infos
            .iter()
            .filter(|i| set.contains(&i.id) && i.valid)
            .collect();
        if let Some(o) = old.filter(|o| valid.iter().any(|i| i.id == *o)) {
            return Some(o);
        }
        valid
            .iter()
            .min_by_key(|i| {
                (
                    std::cmp::Reverse(i.epoch),
                    std::cmp::Reverse(i.max_offset),
                    i.priority,
                    i.id,
                )
            })
            .map(|i| i.id)
    };
    pick(sse).or_else(|| {
        unclean
            .then(|| pick(&infos.iter().map(|i| i.id).collect::<Vec<_>>()))
            .flatten()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Within the range where the real comparator's `int` arithmetic does
    /// not wrap (offsets under 2^31 apart, priorities not negative), the
    /// policy is the naive order.
    #[test]
    fn elect_matches_the_naive_order(
        raw in proptest::collection::vec((0u32..4, 0u64..50, prop_oneof![0i32..3, Just(i32::MAX)], any::<bool>(), any::<bool>()), 1..7),
        old in proptest::option::of(0u32..7),
        unclean in any::<bool>(),
    ) {
        let infos: Vec<LiveInfo> = raw
            .iter()
            .enumerate()
            .map(|(id, &(e, o, p, v, _))| info(id as u32, e, o, p, v))
            .collect();
        let sse: Vec<u32> = raw.iter().enumerate().filter(|(_, r)| r.4).map(|(id, _)| id as u32).collect();
        let all: Vec<u32> = (0..infos.len() as u32).collect();
        let got = elect(&sse, unclean.then_some(all.as_slice()), &infos, old, None);
        prop_assert_eq!(got, oracle(&sse, unclean, &infos, old));
        if let Some(m) = got {
            prop_assert!(infos[m as usize].valid);
            prop_assert!(unclean || sse.contains(&m));
        }
    }
}

// ----- epoch files -----

#[test]
fn consistent_point_is_the_end_of_the_last_shared_epoch() {
    let e = |epoch, start| EpochEntry { epoch, start };
    // The slave was master in epoch 2 from offset 10 and wrote to 14; the
    // new master took epoch 3 at offset 12.
    let slave = [e(1, 0), e(2, 10)];
    let master = [e(1, 0), e(2, 10), e(3, 12)];
    assert_eq!(consistent_point(&slave, 14, &master, 20), 12);
    // The new master never had epoch 2: back to the end of epoch 1.
    let master = [e(1, 0), e(3, 8)];
    assert_eq!(consistent_point(&slave, 14, &master, 20), 8);
    // A slave that is only behind keeps everything.
    assert_eq!(consistent_point(&[e(1, 0)], 5, &[e(1, 0)], 9), 5);
    // Nothing in common.
    assert_eq!(consistent_point(&[e(4, 0)], 5, &[e(1, 0)], 9), 0);
}

// ----- scenarios -----

fn crash_master(seed: u64, all_ack: bool) -> (SimOutput, Vec<RcNode>) {
    let mut p = params(3);
    p.all_ack = all_ack;
    let m = RocketController::new(3, p);
    let crash = FaultSpec::at(
        30 * S,
        Action::Crash { host_alive: false },
        Target::Node(0),
        None,
    );
    let c = cfg(seed, 90, 50.0, vec![crash]);
    Sim::new(&m, &c).run_keep(None)
}

/// The master's host dies. The lost acknowledged writes are exactly the
/// acknowledged ones the old master holds past the new master's epoch
/// boundary: written and acknowledged by the old master alone (inSyncReplicas
/// = 1), never transferred. With allAckInSyncStateSet none is lost.
#[test]
fn a_master_crash_loses_exactly_the_untransferred_acked_writes_unless_all_ack() {
    let mut lost_without = 0;
    for seed in 1..=5 {
        for all_ack in [false, true] {
            let (out, nodes) = crash_master(seed, all_ack);
            assert!(
                out.violations.is_empty(),
                "seed {seed}: {:?}",
                out.violations
            );
            let info = nodes[3].controller().expect("controller").info().clone();
            let new = info.master.expect("a new master") as usize;
            assert!(new == 1 || new == 2, "seed {seed}");
            assert_eq!(info.master_epoch, 2);
            let nm = nodes[new].broker().expect("broker");
            assert_eq!(nm.role, BrokerRole::Master);
            let boundary = nm.d.epochs.last().expect("epoch 2").start as usize;
            assert_eq!(nm.d.epochs.last().map(|e| e.epoch), Some(2));
            let old = nodes[0].broker().expect("broker");
            let acked = acked_writes(&out);
            let expected: BTreeSet<u64> = old.d.log[boundary.min(old.d.log.len())..]
                .iter()
                .map(|e| e.op)
                .filter(|op| acked.contains(op))
                .collect();
            // Everything the new master has of epoch 1 is the old master's
            // prefix.
            assert_eq!(&nm.d.log[..boundary], &old.d.log[..boundary]);
            assert_eq!(
                out.findings.lost_acked_writes,
                expected.len() as u64,
                "seed {seed} allAck {all_ack}"
            );
            if all_ack {
                assert_eq!(out.findings.lost_acked_writes, 0, "seed {seed}");
            } else {
                lost_without += out.findings.lost_acked_writes;
            }
            // The other slave followed the new master, truncated to its
            // boundary and caught up.
            let other = 3 - new;
            let o = nodes[other].broker().expect("broker");
            assert_eq!(o.role, BrokerRole::Slave { master: new as u32 });
            assert_eq!(&o.d.log[..boundary], &nm.d.log[..boundary]);
        }
    }
    // 150 writes/s and transfers every 100 ms: each crash strands some.
    assert!(lost_without >= 5, "lost only {lost_without} in 5 crashes");
}

/// The controller detects the dead master within the heartbeat timeout
/// plus one scan, elects at once, and the new master serves one hop later.
#[test]
fn the_new_master_serves_within_heartbeat_timeout_plus_one_scan() {
    for seed in 1..=5 {
        let (out, _) = crash_master(seed, false);
        let cols = columns(3, &out);
        let ms = cols[0].expect("a new master");
        // Last heartbeat at most 1 s before the crash; inactive after 10 s;
        // found by the next 5 s scan; two network hops.
        assert!(ms > 9_000.0 && ms <= 15_010.0, "seed {seed}: {ms}");
        assert_eq!(cols[1], Some(1.0));
        assert_eq!(cols[2], Some(0.0));
        // The surviving slave joins the new master's SyncStateSet again.
        assert_eq!(
            phase_times(&out, "alterSyncStateSet:add").len(),
            1,
            "seed {seed}"
        );
    }
}

/// A slave paused for 40 s stops reading from its HA connection: the master
/// closes it after haHousekeepingInterval (20 s) and drops the slave from the
/// SyncStateSet at its next check (5 s); once the slave resumes, reconnects
/// and catches up, it is added back.
#[test]
fn a_paused_slave_leaves_the_sync_state_set_after_the_housekeeping_interval_and_rejoins() {
    for seed in 1..=3 {
        let m = RocketController::new(3, params(3));
        let pause = FaultSpec::at(20 * S, Action::Pause, Target::Node(2), Some(40 * S));
        let c = cfg(seed, 90, 20.0, vec![pause]);
        let (out, nodes) = Sim::new(&m, &c).run_keep(None);
        assert!(out.violations.is_empty());
        let removed = phase_times(&out, "alterSyncStateSet:remove");
        assert_eq!(removed.len(), 1, "seed {seed}");
        let t = removed[0].as_ms_f64();
        assert!(t > 40_000.0 && t <= 45_200.0, "seed {seed}: removed at {t}");
        let added = phase_times(&out, "alterSyncStateSet:add");
        assert_eq!(added.len(), 1, "seed {seed}");
        let t = added[0].as_ms_f64();
        assert!(
            (60_000.0..=62_000.0).contains(&t),
            "seed {seed}: added at {t}"
        );
        assert_eq!(columns(3, &out)[1], Some(2.0));
        let info = nodes[3].controller().expect("controller").info();
        assert_eq!(info.sync_state_set, vec![0, 1, 2]);
        assert_eq!(info.master, Some(0));
        // The slave has everything but the last transfer round.
        let slave = &nodes[2].broker().expect("broker").d.log;
        let master = &nodes[0].broker().expect("broker").d.log;
        assert!(
            slave.len() + 20 >= master.len(),
            "seed {seed}: {} of {}",
            slave.len(),
            master.len()
        );
        assert!(master.starts_with(slave), "seed {seed}");
    }
}

/// With allAckInSyncStateSet a paused SyncStateSet member stalls every write
/// until the master drops it: the writes in between time out
/// (FLUSH_SLAVE_TIMEOUT), none is acknowledged, none is lost.
#[test]
fn all_ack_writes_stall_while_a_paused_member_is_still_in_the_set() {
    let mut p = params(3);
    p.all_ack = true;
    let m = RocketController::new(3, p);
    let pause = FaultSpec::at(20 * S, Action::Pause, Target::Node(2), Some(40 * S));
    let c = cfg(1, 90, 20.0, vec![pause]);
    let out = Sim::new(&m, &c).run(None);
    let removed = phase_times(&out, "alterSyncStateSet:remove")[0];
    let ok_between = out
        .records
        .iter()
        .filter(|r| {
            matches!(r.obs, Obs::OpDone { op, ok: true } if op.kind == OpKind::Write
                && op.issued.as_ms_f64() > 20_010.0 && r.at < removed && op.issued + SimDuration::from_ms(3_000) < removed)
        })
        .count();
    assert_eq!(ok_between, 0);
    assert!(out.clients.writes_ok > 0);
    assert_eq!(out.findings.lost_acked_writes, 0);
}

#[test]
fn same_seed_same_trace() {
    let run = || {
        let (out, _) = crash_master(7, false);
        (out.trace_hash, out.findings.lost_acked_writes, out.events)
    };
    assert_eq!(run(), run());
}

#[test]
fn targets_resolve_to_the_master_and_a_slave() {
    let m = RocketController::new(3, params(3));
    let f = |word| {
        FaultSpec::at(
            10 * S,
            Action::Crash { host_alive: true },
            Target::Path { word, arg: None },
            None,
        )
    };
    let out = Sim::new(&m, &cfg(1, 20, 1.0, vec![f("master")])).run(None);
    assert_eq!(out.faults[0].node, Some(NodeId(0)));
    let out = Sim::new(&m, &cfg(1, 20, 1.0, vec![f("slave")])).run(None);
    assert!(matches!(out.faults[0].node, Some(NodeId(1 | 2))));
}
