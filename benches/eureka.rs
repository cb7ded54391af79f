//! Benchmarks of `eureka/peer-replication`.
//!
//! * `replicated_registrations/<peers>`: one simulated trial of `peers`
//!   Eureka servers starting from empty registries, 1,000 instances spread
//!   over them, each registering through the 404 of its first heartbeat
//!   (30 s) and again 40 s after start (InstanceInfoReplicator); every
//!   registration is batched (500 ms, 250 per batch) to every other peer.
//!   The trial runs 45 s simulated, no clients. Throughput is the
//!   registrations applied from replication batches (2 x 1,000 x (peers -
//!   1); the bench checks every peer got every instance), so criterion
//!   reports replicated registrations per second of CPU.
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench eureka -- --warm-up-time 1 --measurement-time 3`.

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::sim::{run_trial, SimConfig};
use electbench::engine::{Obs, Scope};
use electbench::systems::eureka::peer_replication::{EuParams, EurekaPeers, PATH};

const INSTANCES: usize = 1_000;

fn replicated_registrations(c: &mut Criterion) {
    let cfg = SimConfig::without_clients(1, 45_000, Vec::new());
    let mut group = c.benchmark_group("replicated_registrations");
    for peers in [3usize, 5, 7, 11, 15] {
        let p = PATH.default_params(&[peers, INSTANCES]);
        let mut m = EurekaPeers::new(peers, INSTANCES, EuParams::from_params(&p));
        m.cold = true;
        let out = run_trial(&m, &cfg, None);
        let applied: Vec<(u32, Scope)> = out
            .records
            .iter()
            .filter(|r| {
                matches!(
                    r.obs,
                    Obs::Phase {
                        name: "replicated-register",
                        ..
                    }
                )
            })
            .map(|r| (r.node.0, r.obs.scope()))
            .collect();
        let replicated = applied.len();
        let distinct: BTreeSet<(u32, Scope)> = applied.into_iter().collect();
        assert_eq!(distinct.len(), INSTANCES * (peers - 1), "{peers} peers");
        assert!(
            out.violations.is_empty(),
            "{peers} peers: {:?}",
            out.violations
        );
        group.throughput(Throughput::Elements(replicated as u64));
        group.bench_function(BenchmarkId::from_parameter(peers), |b| {
            b.iter(|| black_box(run_trial(&m, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(benches, replicated_registrations);
criterion_main!(benches);
