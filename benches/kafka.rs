//! Benchmarks of the `kafka/controller-zk` model under the simulator:
//! wall-clock cost of simulating a controller election and failover, not
//! Kafka's own failover time.
//!
//! * `controller_election/<b>`: one whole 20 s simulated trial of 3
//!   ZooKeeper servers and `b` brokers (3 to 15), 1000 partitions of
//!   replication factor 3, `zookeeper.session.timeout.ms` 4000 (the least
//!   the ensemble grants at tickTime 2000): the ensemble elects its leader,
//!   the brokers connect, register and race for `/controller`; the
//!   controller's host dies at 8 s, its session expires, the survivors race
//!   again and the winner runs `onControllerFailover`. Throughput is
//!   simulator events per trial (fixed by the seed).
//! * `controller_failover_partitions/<p>`: the same at 5 brokers with `p`
//!   partitions (1000 to 1 000 000) and the default 18 s session timeout,
//!   the crash late enough for the cold start's failover to be over: the
//!   bulk steps are durations, so the cost should not grow with `p`.
//!
//! Before timing, each scenario is run once and checked to elect a new
//! controller (epoch 2) that finishes its failover, with no violation.
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench kafka -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use electbench::engine::{Obs, SimDuration};
use electbench::systems::kafka::controller_zk::{KafkaZk, PATH};
use electbench::systems::ParamValue;

fn model(brokers: usize, partitions: u64, session_ms: u64) -> KafkaZk {
    let sizes = [3, brokers];
    let mut p = PATH.default_params(&sizes);
    p.set("partitions", partitions as f64).unwrap();
    p.set("zookeeper.session.timeout.ms", session_ms as f64)
        .unwrap();
    p.set_value("default.replication.factor", &ParamValue::Int(3), &sizes)
        .unwrap();
    KafkaZk::new(3, brokers, &p)
}

/// A trial without clients in which the controller's host dies at `crash_ms`.
fn crash_controller(crash_ms: u64, end_ms: u64) -> SimConfig {
    SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(end_ms),
        faults: vec![FaultSpec::at(
            crash_ms,
            Action::Crash { host_alive: false },
            Target::Path {
                word: "controller",
                arg: None,
            },
            None,
        )],
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

/// The controller epochs that finished their failover.
fn active_epochs(out: &SimOutput) -> Vec<u64> {
    out.records
        .iter()
        .filter(|r| r.node.index() >= 3)
        .filter_map(|r| match r.obs {
            Obs::Serving { term, .. } => Some(term),
            _ => None,
        })
        .collect()
}

fn check(what: &str, out: &SimOutput) {
    assert_eq!(active_epochs(out), vec![1, 2], "{what}: a new controller");
    assert!(out.violations.is_empty(), "{what}: {:?}", out.violations);
}

fn controller_election(c: &mut Criterion) {
    let cfg = crash_controller(8000, 20_000);
    let mut group = c.benchmark_group("controller_election");
    for b in [3usize, 5, 7, 9, 15] {
        let m = model(b, 1000, 4000);
        let out = run_trial(&m, &cfg, None);
        check(&format!("{b} brokers"), &out);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(b), |bench| {
            bench.iter(|| black_box(run_trial(&m, &cfg, None)))
        });
    }
    group.finish();
}

fn controller_failover_partitions(c: &mut Criterion) {
    let cfg = crash_controller(1_500_000, 2_400_000);
    let mut group = c.benchmark_group("controller_failover_partitions");
    for p in [1000u64, 10_000, 100_000, 1_000_000] {
        let m = model(5, p, 18_000);
        let out = run_trial(&m, &cfg, None);
        check(&format!("{p} partitions"), &out);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(p), |bench| {
            bench.iter(|| black_box(run_trial(&m, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, controller_election, controller_failover_partitions);
criterion_main!(benches);
