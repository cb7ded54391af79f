//! Benchmarks of the `redis/sentinel` and `redis/cluster` models under the
//! simulator: wall-clock cost of simulating a failover, not Redis' own
//! failover time.
//!
//! * `sentinel_failover/<n>`: one whole 6 s simulated trial on `n` nodes
//!   (Redis instances and Sentinels: `n / 3` Sentinels, at least one, with a
//!   majority quorum; the rest Redis instances), no clients,
//!   `down-after-milliseconds` 1000: the master's host dies at 1 s, then
//!   SDOWN, ODOWN, the vote, selection and the promotion seen through INFO.
//!   Throughput is simulator events per trial (fixed by the seed), so
//!   criterion's rate is events per second, not failovers.
//! * `cluster_failover/<n>`: one whole 8 s simulated trial of a Redis
//!   Cluster of `n` nodes (max(3, n / 2) masters, the rest replicas spread
//!   over them), no clients, `cluster-node-timeout` 1000: the master of
//!   shard 0 dies at 1 s, then PFAIL, FAIL, the replica election and the
//!   promotion. The smallest size is 4: 3 masters and one replica (with
//!   fewer than 3 masters a dead one leaves no majority to vote).
//!
//! Before timing, each scenario is run once and checked to promote a replica
//! after the crash with no violation, so a broken model cannot be timed
//! silently.
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench redis -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use electbench::engine::{NodeId, Obs, SimDuration};
use electbench::systems::redis::cluster::{self, RcParams, RedisCluster};
use electbench::systems::redis::sentinel::{RedisSentinel, RsParams, PATH};

fn model(n: usize) -> RedisSentinel {
    let sentinels = (n / 3).max(1);
    let redis = n - sentinels;
    let mut p = PATH.default_params(&[redis, sentinels]);
    p.set("down-after-milliseconds", 1000.0).unwrap();
    p.set("failover-timeout", 10_000.0).unwrap();
    p.set("quorum", (sentinels / 2 + 1) as f64).unwrap();
    RedisSentinel::new(redis, sentinels, RsParams::from_params(&p))
}

/// A `ms`-long trial without clients in which node 0's host dies at 1 s.
fn crash_node0(ms: u64) -> SimConfig {
    SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(ms),
        faults: vec![FaultSpec::at(
            1000,
            Action::Crash { host_alive: false },
            Target::Node(0),
            None,
        )],
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

/// Every node that started serving as the new master or leader.
fn promoted(out: &SimOutput) -> Vec<NodeId> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Serving { leader, .. } => Some(leader),
            _ => None,
        })
        .collect()
}

fn sentinel_failover(c: &mut Criterion) {
    let cfg = crash_node0(6000);
    let mut group = c.benchmark_group("sentinel_failover");
    for n in [3usize, 5, 7, 9, 15] {
        let m = model(n);
        let out = run_trial(&m, &cfg, None);
        let promoted = promoted(&out);
        assert!(
            promoted.len() == 1 && promoted[0] != NodeId(0),
            "{n} nodes: one replica promoted after the crash, got {promoted:?}"
        );
        assert!(out.violations.is_empty(), "{n} nodes: {:?}", out.violations);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&m, &cfg, None)))
        });
    }
    group.finish();
}

fn cluster_model(n: usize) -> RedisCluster {
    let masters = (n / 2).max(3);
    let replicas = n - masters;
    let mut p = cluster::PATH.default_params(&[masters, replicas]);
    p.set("cluster-node-timeout", 1000.0).unwrap();
    RedisCluster::new(masters, replicas, RcParams::from_params(&p))
}

fn cluster_failover(c: &mut Criterion) {
    let cfg = crash_node0(8000);
    let mut group = c.benchmark_group("cluster_failover");
    for n in [4usize, 6, 9, 12, 15] {
        let m = cluster_model(n);
        let out = run_trial(&m, &cfg, None);
        let promoted = promoted(&out);
        assert!(
            promoted.len() == 1 && promoted[0].index() >= m.masters,
            "{n} nodes: one replica promoted after the crash, got {promoted:?}"
        );
        assert!(out.violations.is_empty(), "{n} nodes: {:?}", out.violations);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(run_trial(&m, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, sentinel_failover, cluster_failover);
criterion_main!(benches);
