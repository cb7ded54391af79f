//! Scenario tests with faults placed by hand (exact windows the real rules
//! allow), a unit test of the lease rule and a determinism check.

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::net::{Latency, NetConfig};
use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use crate::engine::{NodeId, Obs, Scope, SimDuration, SimTime};

use super::{columns, EuParams, EurekaPeers, Lease, PATH};

const S: u64 = 1_000;

fn model(servers: usize, instances: usize, set: &[(&str, f64)]) -> EurekaPeers {
    let mut p = PATH.default_params(&[servers, instances]);
    for (k, v) in set {
        p.set(k, *v).unwrap();
    }
    EurekaPeers::new(servers, instances, EuParams::from_params(&p))
}

fn cfg(seed: u64, secs: u64, faults: Vec<FaultSpec>, latency_ms: f64) -> SimConfig {
    SimConfig {
        seed,
        duration: SimDuration::from_ms(secs * S),
        net: NetConfig {
            latency: Latency::Constant { ms: latency_ms },
            ..NetConfig::default()
        },
        faults,
        load: LoadConfig {
            clients: 3,
            rate_per_s: 5.0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

fn dead_host(ms: u64, node: usize, undo_ms: Option<u64>) -> FaultSpec {
    FaultSpec::at(
        ms,
        Action::Crash { host_alive: false },
        Target::Node(node),
        undo_ms,
    )
}

/// (time, node) of every phase `name` about instance `inst`.
fn phases(out: &SimOutput, name: &str, inst: u32) -> Vec<(SimTime, NodeId)> {
    out.records
        .iter()
        .filter(|r| {
            matches!(r.obs, Obs::Phase { name: n, scope } if n == name && scope == Scope::Part(inst))
        })
        .map(|r| (r.at, r.node))
        .collect()
}

fn ms(t: SimTime) -> f64 {
    t.as_ms_f64()
}

#[test]
fn a_renewed_lease_expires_twice_the_duration_after_its_last_renewal() {
    let d = SimDuration::from_ms(90 * S);
    let mut l = Lease {
        last_update: SimTime::ZERO,
        duration: d,
    };
    // Never renewed: 1 x duration.
    assert!(!l.is_expired(SimTime::ZERO + d));
    assert!(l.is_expired(SimTime::ZERO + d + SimDuration(1)));
    // Renewed at 10 s: 10 s + 2 x 90 s.
    let at = SimTime::ZERO + SimDuration::from_ms(10 * S);
    l.last_update = at + d; // what Lease.renew() stores
    assert!(!l.is_expired(at + d + d));
    assert!(l.is_expired(at + d + d + SimDuration(1)));
}

#[test]
fn threshold_is_truncated_like_update_renews_per_min_threshold() {
    let m = model(1, 10, &[]);
    assert_eq!(m.params.threshold(10), 17); // 10 x 2 x 0.85
    assert_eq!(m.params.threshold(3), 5); // 5.1 truncated
    assert_eq!(m.params.threshold(0), 0);
}

/// A silent instance is evicted by every server after 2 x 90 s past its last
/// renewal and within one eviction period after that, never sooner.
#[test]
fn dead_instance_is_evicted_between_180_and_240_s_after_its_last_renewal() {
    for seed in 1..=5 {
        let m = model(3, 10, &[]);
        // Instance 0 is node 3.
        let out = run_trial(
            &m,
            &cfg(seed, 400, vec![dead_host(20 * S, 3, None)], 1.0),
            None,
        );
        let last_renew = phases(&out, "renew", 0)
            .into_iter()
            .filter(|(t, _)| ms(*t) <= 20_000.0)
            .map(|(t, _)| t)
            .next_back()
            // The steady state renewed every lease at time 0.
            .unwrap_or(SimTime::ZERO);
        let evicted = phases(&out, "evict", 0);
        assert_eq!(evicted.len(), 3, "seed {seed}: every server evicts it");
        for (t, n) in evicted {
            let after = ms(t) - ms(last_renew);
            assert!(
                after > 180_000.0 && after <= 240_000.0 + 2.0,
                "seed {seed}: {n} evicted {after} ms after the last renewal"
            );
        }
        // Clients stop listing it within the cache refresh plus one fetch.
        let stale = columns(3, 10, &out)[1].expect("every client dropped it");
        let from_renew = stale + 20_000.0 - ms(last_renew);
        assert!(from_renew > 180_000.0 && from_renew <= 300_000.0 + 10.0);
    }
}

/// Four of ten instances cut off from the only server drop the renewals to
/// 12 a minute, under the threshold of 17: self-preservation keeps them
/// registered. With self-preservation off they are evicted.
#[test]
fn self_preservation_stops_eviction_during_a_partition() {
    let cut = vec![FaultSpec::at(
        10 * S,
        Action::Partition {
            groups: vec![vec![0], vec![1, 2, 3, 4]],
            one_way: false,
        },
        Target::Random,
        None,
    )];
    let on = run_trial(&model(1, 10, &[]), &cfg(1, 600, cut.clone(), 1.0), None);
    for i in 0..4 {
        assert!(phases(&on, "evict", i).is_empty(), "instance {i} evicted");
    }
    assert!(on.violations.is_empty(), "{:?}", on.violations);
    let mut m = model(1, 10, &[]);
    m.params.self_preservation = false;
    let off = run_trial(&m, &cfg(1, 600, cut, 1.0), None);
    for i in 0..4 {
        assert_eq!(phases(&off, "evict", i).len(), 1, "instance {i}");
    }
    for i in 4..10 {
        assert!(
            phases(&off, "evict", i).is_empty(),
            "instance {i} still renews"
        );
    }
}

/// A lone registration waits MAX_BATCHING_DELAY (500 ms) in each peer queue,
/// then one network hop: replication_lag_ms = 500 + latency.
#[test]
fn a_registration_reaches_every_peer_after_the_batching_delay() {
    let m = model(3, 1, &[]);
    // The instance (node 3) dies at 10 s and restarts at 11 s; it registers
    // 40 s later, when no other task is pending.
    let out = run_trial(
        &m,
        &cfg(1, 120, vec![dead_host(10 * S, 3, Some(S))], 2.0),
        None,
    );
    let reg = phases(&out, "register", 0);
    assert_eq!(reg.len(), 1);
    assert_eq!(ms(reg[0].0), 11_000.0 + 40_000.0 + 2.0);
    let reps = phases(&out, "replicated-register", 0);
    assert_eq!(reps.len(), 2);
    for (t, n) in &reps {
        assert_ne!(*n, reg[0].1);
        assert_eq!(ms(*t) - ms(reg[0].0), 502.0);
    }
    assert_eq!(columns(3, 1, &out)[0], Some(502.0));
}

/// Clients fetching from a dead server time out (8 s) and move to the next
/// server of their list, within one fetch interval plus the timeout.
#[test]
fn clients_move_to_another_server_when_theirs_dies() {
    for seed in 1..=5 {
        let m = model(3, 10, &[]);
        let out = run_trial(
            &m,
            &cfg(seed, 120, vec![dead_host(40 * S, 0, None)], 1.0),
            None,
        );
        let f = columns(3, 10, &out)[2].expect("client 0 fetched from server 1 and moved");
        assert!(f > 8_000.0 && f <= 38_000.0 + 10.0, "seed {seed}: {f}");
        assert!(out.violations.is_empty());
    }
}

#[test]
fn same_seed_same_trace() {
    let m = model(3, 10, &[]);
    let c = cfg(7, 300, vec![dead_host(20 * S, 5, None)], 1.0);
    let c = SimConfig {
        net: NetConfig::default(),
        ..c
    };
    assert_eq!(
        run_trial(&m, &c, None).trace_hash,
        run_trial(&m, &c, None).trace_hash
    );
}
