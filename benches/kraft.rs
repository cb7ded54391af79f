//! Benchmark of `kafka/controller-kraft` under the simulator: wall-clock cost
//! of simulating a KRaft controller failover, not KRaft's own failover time.
//!
//! * `kraft_election/<n>`: one whole 12 s simulated trial with Kafka's
//!   defaults on `n` controllers and 3 brokers, no clients: the first
//!   election, fetches parked and answered, then the active controller's
//!   host dies at 5 s and the standbys elect a new leader (fetch timeout,
//!   Vote, backoff) and the brokers find it. Throughput is simulator events
//!   per trial.
//!
//! Before timing, each scenario runs once and must elect a second leader
//! after the crash with no violation, so a broken model is never timed.
//!
//! `cargo bench --bench kraft -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::sim::{run_trial, SimConfig};
use electbench::engine::Obs;
use electbench::systems::kafka::controller_kraft::{KraftModel, PATH};

const CRASH_AT_MS: u64 = 5000;

fn config() -> SimConfig {
    SimConfig::without_clients(
        1,
        12_000,
        vec![FaultSpec::at(
            CRASH_AT_MS,
            Action::Crash { host_alive: false },
            Target::Leader,
            None,
        )],
    )
}

fn kraft_election(c: &mut Criterion) {
    let mut group = c.benchmark_group("kraft_election");
    let cfg = config();
    for n in [3usize, 5, 7, 9, 15] {
        let model = KraftModel::new(n, 3, &PATH.default_params(&[n, 3]));
        let out = run_trial(&model, &cfg, None);
        let reelected = out
            .records
            .iter()
            .any(|r| matches!(r.obs, Obs::Elected { .. }) && r.at.as_ms_f64() > CRASH_AT_MS as f64);
        assert!(reelected, "{n} controllers: no leader after the crash");
        assert!(out.violations.is_empty(), "{n}: {:?}", out.violations);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&model, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, kraft_election);
criterion_main!(benches);
