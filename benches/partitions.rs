//! Benchmark of the `kafka/partition-leader` model: the wall-clock cost of
//! one whole simulated broker failover, not Kafka's failover time.
//!
//! * `broker_failover/<p>`: one 30 s simulated trial of `p` partitions of
//!   replication factor 3 on 100 brokers (KRaft), two producers writing 200
//!   records/s each to 1000 of them with acks=all; broker 0's host dies at
//!   10 s, is fenced, and the controller elects new leaders for the
//!   partitions it led (1 %) in one batch that also removes it from the ISR
//!   of the 3 % it hosted; the brokers apply it and the followers refetch.
//!   Throughput is partitions per trial.
//!
//! Before timing, each size is run once and checked (no violation, every
//! partition broker 0 led has a new leader), so a broken model cannot be
//! timed silently.
//!
//! Few samples (each trial at 1M partitions takes about a second):
//! `cargo bench --bench partitions -- --warm-up-time 1 --measurement-time 10`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig};
use electbench::engine::{Obs, Scope, SimDuration};
use electbench::systems::kafka::partition_leader::{PartitionLeader, PlParams, PATH};

const BROKERS: usize = 100;

fn model(partitions: u32) -> PartitionLeader {
    let mut p = PATH.default_params(&[BROKERS, 1]);
    p.set("partitions", f64::from(partitions)).unwrap();
    PartitionLeader::new(BROKERS, PlParams::from_params(&p))
}

fn cfg() -> SimConfig {
    SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(30_000),
        faults: vec![FaultSpec::at(
            10_000,
            Action::Crash { host_alive: false },
            Target::Node(0),
            None,
        )],
        load: LoadConfig {
            clients: 2,
            rate_per_s: 200.0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("broker_failover");
    g.sample_size(10);
    let cfg = cfg();
    for partitions in [1_000u32, 100_000, 1_000_000] {
        let m = model(partitions);
        let out = run_trial(&m, &cfg, None);
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        let elected = out
            .records
            .iter()
            .filter(|r| {
                matches!(
                    r.obs,
                    Obs::Elected {
                        scope: Scope::Part(_),
                        ..
                    }
                )
            })
            .count();
        assert_eq!(
            elected as u32,
            partitions / BROKERS as u32,
            "broker 0 led 1 %"
        );
        g.throughput(Throughput::Elements(u64::from(partitions)));
        g.bench_with_input(BenchmarkId::from_parameter(partitions), &m, |b, m| {
            b.iter(|| run_trial(m, &cfg, None));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
