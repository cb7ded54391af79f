//! Scenario tests with faults placed by hand: the 120 s expiry plus the scan
//! interval of each version, the immediate removal on a closed connection,
//! and a broker that keeps registering is never removed.

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::net::{Latency, NetConfig};
use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use crate::engine::{NodeId, Obs, Scope, SimDuration, SimTime};

use super::{columns, NsParams, RocketNameServer, Version, PATH};

const S: u64 = 1_000;

fn model(namesrvs: usize, brokers: usize, version: Version) -> RocketNameServer {
    let p = PATH.default_params(&[namesrvs, brokers]);
    let mut p = NsParams::from_params(&p);
    p.version = version;
    RocketNameServer::new(namesrvs, brokers, p)
}

fn cfg(seed: u64, secs: u64, faults: Vec<FaultSpec>) -> SimConfig {
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
            rate_per_s: 5.0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

fn crash(ms: u64, node: usize, host_alive: bool) -> FaultSpec {
    FaultSpec::at(ms, Action::Crash { host_alive }, Target::Node(node), None)
}

fn phases(out: &SimOutput, name: &str, broker: u32) -> Vec<(SimTime, NodeId)> {
    out.records
        .iter()
        .filter(|r| {
            matches!(r.obs, Obs::Phase { name: n, scope } if n == name && scope == Scope::Part(broker))
        })
        .map(|r| (r.at, r.node))
        .collect()
}

/// A broker whose host dies is removed by each NameServer at its first scan
/// after 120 s past the last registration that NameServer received: within
/// one scan interval (5 s in 5.x, 10 s in 4.9.4) after the expiry.
#[test]
fn silent_broker_is_removed_after_the_expiry_within_one_scan_interval() {
    for (version, scan_ms) in [(Version::V5, 5_000.0), (Version::V4, 10_000.0)] {
        for seed in 1..=5 {
            let m = model(3, 4, version);
            // Broker 0 is node 3.
            let out = run_trial(&m, &cfg(seed, 300, vec![crash(40 * S, 3, false)]), None);
            let removed = phases(&out, "scanNotActiveBroker", 0);
            assert_eq!(removed.len(), 3, "{version:?} seed {seed}");
            for (t, ns) in removed {
                let last = phases(&out, "registerBroker", 0)
                    .into_iter()
                    .filter(|(_, n)| *n == ns)
                    .map(|(t, _)| t)
                    .next_back()
                    .unwrap_or(SimTime::ZERO);
                let after = t.since(last).as_ms_f64();
                assert!(
                    after > 120_000.0 && after <= 120_000.0 + scan_ms,
                    "{version:?} seed {seed}: {ns} removed it {after} ms after its last registration"
                );
            }
            let cols = columns(3, 4, &out);
            let divergence = cols[1].expect("every NameServer removed it");
            assert!(
                divergence <= scan_ms + 2.0,
                "{version:?} seed {seed}: {divergence}"
            );
            let stale = cols[2].expect("every client dropped it");
            assert!(
                stale >= cols[0].unwrap() && stale <= cols[0].unwrap() + scan_ms + 30_000.0 + 10.0
            );
            assert!(out.violations.is_empty());
        }
    }
}

/// A broker killed on a live host (its connections close, as on a clean
/// shutdown's unregister) is removed by every NameServer one hop later.
#[test]
fn closed_connection_unregisters_at_once() {
    let m = model(3, 4, Version::V5);
    let out = run_trial(&m, &cfg(1, 120, vec![crash(40 * S, 4, true)]), None);
    let removed = phases(&out, "onChannelDestroy", 1);
    assert_eq!(removed.len(), 3);
    let cols = columns(3, 4, &out);
    let reset = NetConfig::default().reset_after.as_ms_f64();
    assert_eq!(cols[0], Some(reset + 1.0));
    assert_eq!(cols[1], Some(0.0));
    // Clients drop it at their next route refresh.
    assert!(cols[2].unwrap() <= 30_000.0 + 10.0);
    assert!(phases(&out, "scanNotActiveBroker", 1).is_empty());
}

/// Brokers that keep registering are never removed, over many scans.
#[test]
fn heartbeating_brokers_are_never_removed() {
    for version in [Version::V4, Version::V5] {
        let m = model(2, 6, version);
        let out = run_trial(&m, &cfg(3, 900, Vec::new()), None);
        for b in 0..6 {
            assert!(phases(&out, "scanNotActiveBroker", b).is_empty());
            assert_eq!(phases(&out, "registerBroker", b).len() as u64, 2 * 900 / 30);
        }
        assert!(out.violations.is_empty());
        assert_eq!(out.clients.writes_failed, 0);
    }
}

#[test]
fn same_seed_same_trace() {
    let m = model(2, 4, Version::V5);
    let c = SimConfig {
        net: NetConfig::default(),
        ..cfg(9, 300, vec![crash(50 * S, 2, false)])
    };
    assert_eq!(
        run_trial(&m, &c, None).trace_hash,
        run_trial(&m, &c, None).trace_hash
    );
}
