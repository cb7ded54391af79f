//! Benchmarks of the `redis/sentinel` model under the simulator: wall-clock
//! cost of simulating a Sentinel failover, not Redis' own failover time.
//!
//! * `sentinel_failover/<n>`: one whole 6 s simulated trial on `n` nodes
//!   (Redis instances and Sentinels: `n / 3` Sentinels, at least one, with a
//!   majority quorum; the rest Redis instances), no clients,
//!   `down-after-milliseconds` 1000: the master's host dies at 1 s, then
//!   SDOWN, ODOWN, the vote, selection and the promotion seen through INFO.
//!   Throughput is simulator events per trial (fixed by the seed), so
//!   criterion's rate is events per second, not failovers.
//!
//! Before timing, each scenario is run once and checked to promote a replica
//! after the crash with no violation, so a broken model cannot be timed
//! silently.
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench redis -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target, When};
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig};
use electbench::engine::{NodeId, Obs, SimDuration};
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

fn sentinel_failover(c: &mut Criterion) {
    let cfg = SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(6000),
        faults: vec![FaultSpec {
            when: When::At(SimDuration::from_ms(1000)),
            action: Action::Crash { host_alive: false },
            target: Target::Node(0),
            duration: None,
        }],
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    };
    let mut group = c.benchmark_group("sentinel_failover");
    for n in [3usize, 5, 7, 9, 15] {
        let m = model(n);
        let out = run_trial(&m, &cfg, None);
        let promoted: Vec<NodeId> = out
            .records
            .iter()
            .filter_map(|r| match r.obs {
                Obs::Serving { leader, .. } => Some(leader),
                _ => None,
            })
            .collect();
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

criterion_group!(benches, sentinel_failover);
criterion_main!(benches);
