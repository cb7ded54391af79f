//! Benchmarks of the `zookeeper/fle` model under the simulator: wall-clock
//! cost of simulating a ZooKeeper failover, not ZooKeeper's own failover time.
//!
//! * `fle_failover/<n>`: one whole 3 s simulated trial on `n` servers with no
//!   clients: the first election, then the leader's process crashes at 1 s on
//!   a live host (peers see the connection reset at once), and the
//!   re-election up to the new leader serving. The time therefore includes
//!   booting the ensemble and its first election, besides the failover.
//!   Throughput is simulator events per trial (`SimOutput::events`, fixed by
//!   the seed), so criterion's rate is events per second, not failovers.
//! * `fle_quickstart_trial`: the quickstart scenario, 5 servers, 2 clients at
//!   10 ops/s each, the leader's host crashes at 10 s (peers detect it by
//!   timeout), 30 s simulated. Divide 30 s by the measured time for the ratio
//!   of simulated to wall-clock time.
//!
//! * `ephemeral_owner_expiry/<n>`: `zookeeper/ephemeral` on `n` servers with
//!   one owner and two watchers (sessionTimeout 4000, tickTime 2000): a 20 s
//!   simulated trial in which the owner's host dies at 5 s, its session
//!   expires in the leader's tracker, the closeSession commits and both
//!   watchers hear NodeDeleted. Throughput is simulator events per trial.
//!
//! Before timing, each scenario is run once and checked to elect two leaders
//! one after the other, with no violation, so a broken model cannot be timed
//! silently.
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench zookeeper -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target, When};
use electbench::engine::net::NetConfig;
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use electbench::engine::{NodeId, Obs, SimDuration};
use electbench::systems::zookeeper::fle::{Fle, PATH};

fn config(
    duration_s: u64,
    crash_at_s: u64,
    host_alive: bool,
    clients: usize,
    rate_per_s: f64,
) -> SimConfig {
    SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(duration_s * 1000),
        net: NetConfig::default(),
        faults: vec![FaultSpec {
            when: When::At(SimDuration::from_ms(crash_at_s * 1000)),
            action: Action::Crash { host_alive },
            target: Target::Leader,
            duration: None,
        }],
        load: LoadConfig {
            clients,
            rate_per_s,
            ..Default::default()
        },
        ..SimConfig::default()
    }
}

/// Panics unless the trial saw exactly two leaders serving, the second a
/// different node after the crash, and no violation.
fn assert_failed_over(what: &str, out: &SimOutput, crash_at_s: u64) {
    let serving: Vec<(f64, NodeId)> = out
        .records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Serving { leader, .. } => Some((r.at.as_ms_f64(), leader)),
            _ => None,
        })
        .collect();
    assert_eq!(
        serving.len(),
        2,
        "{what}: expected the initial and the new leader serving, got {serving:?}"
    );
    assert!(
        serving[1].0 > (crash_at_s * 1000) as f64 && serving[1].1 != serving[0].1,
        "{what}: the second leader must be another node, after the crash: {serving:?}"
    );
    assert!(
        out.violations.is_empty(),
        "{what}: violations {:?}",
        out.violations
    );
}

fn fle_failover(c: &mut Criterion) {
    let mut group = c.benchmark_group("fle_failover");
    let cfg = config(3, 1, true, 0, 0.0);
    for n in [3usize, 5, 7, 9, 15] {
        let model = Fle::new(n, &PATH.default_params(&[n]));
        let out = run_trial(&model, &cfg, None);
        assert_failed_over(&format!("{n} nodes"), &out, 1);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&model, &cfg, None)))
        });
    }
    group.finish();
}

fn fle_quickstart_trial(c: &mut Criterion) {
    let cfg = config(30, 10, false, 2, 10.0);
    let model = Fle::new(5, &PATH.default_params(&[5]));
    assert_failed_over("quickstart", &run_trial(&model, &cfg, None), 10);
    c.bench_function("fle_quickstart_trial", |b| {
        b.iter(|| black_box(run_trial(&model, &cfg, None)))
    });
}

fn ephemeral_owner_expiry(c: &mut Criterion) {
    use electbench::systems::zookeeper::ephemeral::{Ephemeral, PATH as EPH};
    use electbench::systems::zookeeper::fle::ZkParams;
    let mut group = c.benchmark_group("ephemeral_owner_expiry");
    for n in [3usize, 5, 7] {
        let mut p = EPH.default_params(&[n, 1, 2]);
        p.set("sessionTimeout", 4000.0).expect("a valid timeout");
        let model = Ephemeral {
            servers: n,
            owners: 1,
            watchers: 2,
            params: ZkParams::from_params(&p),
        };
        let mut cfg = config(20, 5, false, 0, 0.0);
        cfg.faults[0].target = Target::Node(n);
        let out = run_trial(&model, &cfg, None);
        let phase = |name: &str| {
            out.records
                .iter()
                .filter(|r| matches!(r.obs, Obs::Phase { name: x, .. } if x == name))
                .count()
        };
        assert_eq!(
            phase("session_closed"),
            n,
            "{n} servers: closeSession applied everywhere"
        );
        assert_eq!(
            phase("watch_deleted"),
            2,
            "{n} servers: both watchers notified"
        );
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&model, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    fle_failover,
    fle_quickstart_trial,
    ephemeral_owner_expiry
);
criterion_main!(benches);
