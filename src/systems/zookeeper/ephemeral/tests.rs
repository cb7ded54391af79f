//! Scenario tests: faults placed by hand, exact outcomes asserted.

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::net::NetConfig;
use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use crate::engine::{NodeId, Obs, Scope, SimDuration};
use crate::runner::FromWorkload;

use super::{Ephemeral, PATH};
use crate::systems::zookeeper::fle::ZkParams;

/// 3 servers, `owners` owners and 2 watchers; `sessionTimeout` `timeout_ms`.
fn model(owners: usize, timeout_ms: u64) -> Ephemeral {
    let mut p = PATH.default_params(&[3, owners, 2]);
    p.set("sessionTimeout", timeout_ms as f64).unwrap();
    Ephemeral {
        servers: 3,
        owners,
        watchers: 2,
        params: ZkParams::from_params(&p),
    }
}

/// A constant 0.5 ms network: timelines are exact.
fn cfg(seed: u64, secs: u64, faults: Vec<FaultSpec>) -> SimConfig {
    SimConfig {
        seed,
        duration: SimDuration::from_ms(secs * 1000),
        net: NetConfig {
            latency: crate::engine::net::Latency::Constant { ms: 0.5 },
            ..NetConfig::default()
        },
        faults,
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

/// Times (ms) of phase `name` about `scope`.
fn phases(out: &SimOutput, name: &str, scope: Option<Scope>) -> Vec<(f64, NodeId)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Phase { name: n, scope: s } if n == name && scope.is_none_or(|x| x == s) => {
                Some((r.at.as_ms_f64(), r.node))
            }
            _ => None,
        })
        .collect()
}

fn assert_clean(out: &SimOutput) {
    assert!(
        out.violations.is_empty(),
        "violations: {:?}",
        out.violations
    );
    assert!(
        out.findings.violations.is_empty(),
        "findings: {:?}",
        out.findings.violations
    );
}

fn crash(ms: u64, target: Target) -> FaultSpec {
    FaultSpec::at(ms, Action::Crash { host_alive: false }, target, None)
}

const OWNER: NodeId = NodeId(3);
const OWNER_SCOPE: Option<Scope> = Some(Scope::Part(3));

#[test]
fn an_owner_crash_expires_its_session_in_the_bucket_after_its_last_touch() {
    // tickTime 2000: sessionTimeout 4000 stays 4000; the client's read
    // timeout is 2666 ms and it pings after 1333 ms of silence.
    let tick = 2000.0;
    for timeout in [4000u64, 6000, 10_000] {
        let ping = (timeout * 2 / 3) as f64 / 2.0;
        for (seed, at) in [(1u64, 5000u64), (2, 6100), (3, 7777)] {
            let out = run_trial(
                &model(1, timeout),
                &cfg(seed, 30, vec![crash(at, Target::Node(3))]),
                None,
            );
            assert_clean(&out);
            let exp = phases(&out, "session_expiring", OWNER_SCOPE);
            assert_eq!(exp.len(), 1, "timeout {timeout} seed {seed}: {exp:?}");
            let (t, leader) = exp[0];
            // The tracker wakes at bucket boundaries (multiples of tickTime).
            assert_eq!(t % tick, 0.0, "expiry at {t} is not on a bucket");
            // Last touch: at most one ping interval before the crash, plus
            // up to tickTime/2 until a follower's PING reply relays it.
            let after = t - at as f64;
            let t_ms = timeout as f64;
            assert!(
                after > t_ms - ping && after <= t_ms + tick / 2.0 + 1.0 + tick,
                "timeout {timeout} seed {seed}: expired {after} ms after the crash"
            );
            // The closeSession commits on every server; the watchers hear
            // NodeDeleted once each; the owner never recreates its znode.
            let closed = phases(&out, "session_closed", OWNER_SCOPE);
            assert_eq!(closed.len(), 3, "{closed:?}");
            assert_eq!(closed[0].1, leader, "the leader applies first");
            assert!(closed.iter().all(|c| c.0 > t && c.0 < t + 5.0));
            let deleted = phases(&out, "watch_deleted", OWNER_SCOPE);
            let mut who: Vec<NodeId> = deleted.iter().map(|d| d.1).collect();
            who.sort();
            assert_eq!(who, vec![NodeId(4), NodeId(5)], "{deleted:?}");
            assert_eq!(phases(&out, "ephemeral_created", OWNER_SCOPE).len(), 1);
            let cols = super::columns(&out, 2);
            assert_eq!(cols[0], Some(closed[0].0 - at as f64));
            assert_eq!(cols[3], Some(1.0), "sessions_expired");
        }
    }
}

#[test]
fn a_zookeeper_leader_crash_expires_no_session_though_every_client_is_disconnected() {
    // sessionTimeout 4000 is far shorter than the failover (a follower
    // notices after syncLimit x tickTime = 10 s): the sessions survive only
    // because the new leader starts every session's clock afresh.
    for seed in 1..=4 {
        let out = run_trial(
            &model(2, 4000),
            &cfg(seed, 40, vec![crash(5000, Target::Leader)]),
            None,
        );
        assert_clean(&out);
        assert!(phases(&out, "session_expiring", None).is_empty());
        assert!(phases(&out, "session_closed", None).is_empty());
        assert!(phases(&out, "session_expired", None).is_empty());
        // 2 owners + 2 watchers, each disconnected once and back.
        let disc = phases(&out, "disconnected", None);
        assert_eq!(disc.len(), 4, "seed {seed}: {disc:?}");
        let back: Vec<_> = phases(&out, "connected", None)
            .into_iter()
            .filter(|c| c.0 > 5000.0)
            .collect();
        assert_eq!(back.len(), 4, "seed {seed}: {back:?}");
        assert!(phases(&out, "watch_deleted", None).is_empty());
        assert_eq!(phases(&out, "ephemeral_created", None).len(), 2);
        assert_eq!(super::columns(&out, 2)[3], Some(0.0));
    }
}

#[test]
fn an_owner_cut_off_longer_than_its_timeout_hears_expired_and_its_znode_is_gone() {
    let isolate = FaultSpec::at(5000, Action::Isolate, Target::Node(3), Some(10_000));
    let out = run_trial(&model(1, 4000), &cfg(1, 30, vec![isolate]), None);
    assert_clean(&out);
    let exp = phases(&out, "session_expiring", OWNER_SCOPE);
    assert_eq!(exp.len(), 1, "{exp:?}");
    assert!(exp[0].0 > 8000.0 && exp[0].0 <= 11_000.0, "{exp:?}");
    // Cut off, the owner's read timeout (2/3 of 4000) fires.
    let disc: Vec<f64> = phases(&out, "disconnected", None)
        .iter()
        .filter(|d| d.1 == OWNER)
        .map(|d| d.0)
        .collect();
    assert_eq!(disc.len(), 1, "{disc:?}");
    assert!(disc[0] > 5000.0 && disc[0] <= 5000.0 + 2667.0, "{disc:?}");
    // Back after the heal: Expired, a new session, the znode again; the
    // watchers saw it go and come back, each event once.
    let expired: Vec<_> = phases(&out, "session_expired", None);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].1, OWNER);
    assert!(expired[0].0 > 15_000.0);
    let created = phases(&out, "ephemeral_created", OWNER_SCOPE);
    assert_eq!(created.len(), 2, "{created:?}");
    assert!(created[1].0 > expired[0].0);
    for w in [NodeId(4), NodeId(5)] {
        let mine = |name| -> Vec<f64> {
            phases(&out, name, OWNER_SCOPE)
                .into_iter()
                .filter(|x| x.1 == w)
                .map(|x| x.0)
                .collect()
        };
        let deleted = mine("watch_deleted");
        assert_eq!(deleted.len(), 1, "{w}: {deleted:?}");
        assert!(deleted[0] > exp[0].0 && deleted[0] < 15_000.0);
        let back = mine("watch_created");
        // Created once at the start, once after the owner's new session.
        assert_eq!(back.len(), 2, "{w}: {back:?}");
        assert!(back[1] > created[1].0);
    }
}

#[test]
fn same_seed_same_trace() {
    let faults = || vec![crash(5000, Target::Leader), crash(9000, Target::Node(3))];
    let a = run_trial(&model(2, 6000), &cfg(9, 30, faults()), None);
    let b = run_trial(&model(2, 6000), &cfg(9, 30, faults()), None);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
}

#[test]
fn the_workload_reader_builds_the_groups() {
    let _ = Ephemeral::from_workload;
    let m = model(3, 4000);
    assert_eq!(crate::engine::Model::servers(&m), 3 + 3 + 2);
}

#[test]
fn a_watcher_cut_off_during_the_deletion_hears_it_from_set_watches_on_reconnect() {
    // The owner's host dies at 2 s (session timeout 10 s); watcher n6 is cut
    // off from 6 s to 14 s, long enough to lose its connection (read timeout
    // 6.7 s) but not its session. The deletion happens while it is away; the
    // server it reconnects to fires NodeDeleted from SetWatches.
    for seed in 1..=3 {
        let faults = vec![
            crash(2000, Target::Node(3)),
            FaultSpec::at(6000, Action::Isolate, Target::Node(5), Some(8000)),
        ];
        let out = run_trial(&model(1, 10_000), &cfg(seed, 30, faults), None);
        assert_clean(&out);
        let exp = phases(&out, "session_expiring", OWNER_SCOPE);
        assert_eq!(exp.len(), 1);
        assert!(exp[0].0 < 14_000.0, "seed {seed}: {exp:?}");
        let heard = |w: NodeId| -> Vec<f64> {
            phases(&out, "watch_deleted", OWNER_SCOPE)
                .into_iter()
                .filter(|x| x.1 == w)
                .map(|x| x.0)
                .collect()
        };
        let (n5, n6) = (heard(NodeId(4)), heard(NodeId(5)));
        assert_eq!(n5.len(), 1, "seed {seed}: {n5:?}");
        assert!(n5[0] > exp[0].0 && n5[0] < exp[0].0 + 5.0);
        assert_eq!(n6.len(), 1, "seed {seed}: one event, not two: {n6:?}");
        assert!(n6[0] > 14_000.0, "seed {seed}: heard at {}", n6[0]);
        // Its session survived: no Expired, and it connected again.
        assert!(phases(&out, "session_expired", None).is_empty());
        assert!(phases(&out, "connected", None)
            .iter()
            .any(|c| c.1 == NodeId(5) && c.0 > 14_000.0 && c.0 <= n6[0]));
    }
}
