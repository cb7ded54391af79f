//! Benchmark of Zab broadcast under the simulator: how many ZooKeeper
//! commits the `zookeeper/fle` model simulates per second of wall-clock
//! time, not ZooKeeper's own throughput (that is `electbench run
//! workloads/zookeeper-zab-throughput.toml`, results/zookeeper-throughput.md).
//!
//! * `zab_commits/<n>`: `n` servers with the default parameters (the
//!   request pipeline's calibrated costs included), a LAN (log-normal
//!   one-way latency, median 0.05 ms) and a 0.5 ms median fsync; 20 clients
//!   write 5000 times a second in all (below the 15-server knee of 7.75k)
//!   from 2 s, once the first election is over, for 1 s. Throughput is the
//!   trial's acknowledged writes (`writes_ok`, fixed by the seed), so
//!   criterion's rate is simulated commits per wall second; the time also
//!   covers booting the ensemble and its first election, a small share of
//!   the events.
//!
//! Before timing, each scenario runs once and must acknowledge at least 99 %
//! of the writes it offered with no violation, so a broken model is never
//! timed.
//!
//! `cargo bench --bench zab -- --warm-up-time 1 --measurement-time 5`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::disk::DiskConfig;
use electbench::engine::net::{Latency, NetConfig};
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig};
use electbench::engine::SimDuration;
use electbench::systems::zookeeper::fle::{Fle, PATH};

const CLIENTS: usize = 20;
const RATE_PER_CLIENT: f64 = 250.0;
const LOAD_MS: u64 = 1000;

fn config() -> SimConfig {
    SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(2000 + LOAD_MS),
        net: NetConfig {
            latency: Latency::lognormal_from_median_p99(0.05, 0.2),
            ..NetConfig::default()
        },
        disk: DiskConfig {
            fsync: Latency::lognormal_from_median_p99(0.5, 2.0),
            throughput_bytes_per_s: None,
        },
        load: LoadConfig {
            clients: CLIENTS,
            rate_per_s: RATE_PER_CLIENT,
            start: SimDuration::from_ms(2000),
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

fn zab_commits(c: &mut Criterion) {
    let mut group = c.benchmark_group("zab_commits");
    // A 15-server trial takes about 0.15 s: 30 samples keep a run short.
    group.sample_size(30);
    let cfg = config();
    let offered = CLIENTS as f64 * RATE_PER_CLIENT * LOAD_MS as f64 / 1000.0;
    for n in [3usize, 5, 9, 15] {
        let model = Fle::new(n, &PATH.default_params(&[n]));
        let out = run_trial(&model, &cfg, None);
        assert!(
            out.violations.is_empty(),
            "{n} servers: violations {:?}",
            out.violations
        );
        let commits = out.clients.writes_ok;
        assert!(
            commits as f64 >= 0.99 * offered,
            "{n} servers: {commits} of {offered} writes acknowledged"
        );
        group.throughput(Throughput::Elements(commits));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&model, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, zab_commits);
criterion_main!(benches);
