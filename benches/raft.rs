//! Benchmarks of the Raft paths under the simulator: wall-clock cost of
//! simulating an election, not Raft's own election time.
//!
//! * `etcd_election/<n>`: one whole 6 s simulated trial of `raft/etcd` with
//!   etcd's defaults on `n` servers and no clients: the first election,
//!   heartbeats, then the leader's host dies at 2.5 s and the survivors elect
//!   a new leader. Throughput is simulator events per trial.
//! * `paper_election/<n>`: the Figure 16 setup (150-300 ms) on `n` servers,
//!   the leader crashed at 1 s, 2 s simulated.
//!
//! Before timing, each scenario runs once and must elect a second leader
//! after the crash with no violation, so a broken model is never timed.
//!
//! `cargo bench --bench raft -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::sim::{run_trial, SimConfig, SimOutput};
use electbench::engine::Obs;
use electbench::systems::raft::etcd::{Etcd, PATH};
use electbench::systems::raft::paper::{self, Paper};
use electbench::systems::raft::RaftModel;

fn config(duration_ms: u64, crash_at_ms: u64) -> SimConfig {
    SimConfig::without_clients(
        1,
        duration_ms,
        vec![FaultSpec::at(
            crash_at_ms,
            Action::Crash { host_alive: false },
            Target::Leader,
            None,
        )],
    )
}

fn assert_reelected(what: &str, out: &SimOutput, crash_at_ms: u64) {
    let after = out
        .records
        .iter()
        .any(|r| matches!(r.obs, Obs::Elected { .. }) && r.at.as_ms_f64() > crash_at_ms as f64);
    assert!(after, "{what}: no leader elected after the crash");
    assert!(out.violations.is_empty(), "{what}: {:?}", out.violations);
}

fn etcd_election(c: &mut Criterion) {
    let mut group = c.benchmark_group("etcd_election");
    let cfg = config(6000, 2500);
    for n in [3usize, 5, 7, 9, 15] {
        let model = Etcd::etcd(n, &PATH.default_params(&[n]));
        let out = run_trial(&model, &cfg, None);
        assert_reelected(&format!("etcd {n}"), &out, 2500);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&model, &cfg, None)))
        });
    }
    group.finish();
}

fn paper_election(c: &mut Criterion) {
    let mut group = c.benchmark_group("paper_election");
    let cfg = config(2000, 1000);
    for n in [3usize, 5, 7, 9, 15] {
        let model: Paper = RaftModel::new(n, paper::setup(n, 150, 300));
        let out = run_trial(&model, &cfg, None);
        assert_reelected(&format!("paper {n}"), &out, 1000);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&model, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, etcd_election, paper_election);
criterion_main!(benches);
