//! Benchmarks of the Kafka group and partition-leader models: wall-clock
//! cost of our own code, not Kafka's failover time.
//!
//! * `group_rebalance/<n>`: one whole 12 s simulated trial of a classic
//!   consumer group of `n` members and its coordinator, no clients: the
//!   group forms (JoinGroup, MEMBER_ID_REQUIRED, the initial delayed join
//!   and its re-arm, SyncGroup) by 6 s, a member leaves cleanly at 8 s and
//!   the group rebalances (heartbeat REBALANCE_IN_PROGRESS, rejoin, join
//!   completion, SyncGroup). Throughput is simulator events per trial
//!   (fixed by the seed), so criterion's rate is events per second.
//! * `offline_election/<p>`: the ZooKeeper-mode controller's offline
//!   election (`PartitionLeaderElectionAlgorithms.offlinePartitionLeaderElection`
//!   with the new ISR of `Election.leaderForOffline`) over `p` partitions
//!   of replication factor 3 spread round-robin over 100 brokers, after
//!   broker 0 dies: every partition is scanned, the 1 % it led get a new
//!   leader. Throughput is partitions scanned. The target (issue 11) is
//!   1,000,000 partitions in under 1 s on one core.
//!
//! Before timing, each scenario is run once and checked (two generations
//! and no violation; every partition led by broker 0 moved), so a broken
//! model cannot be timed silently.
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench groups -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig};
use electbench::engine::{Obs, SimDuration};
use electbench::systems::kafka::elect::{
    elect_offline_all, LeaderAndIsr, Live, OfflineOutcome, PartitionState,
};
use electbench::systems::kafka::group_leader::{GlParams, GroupLeader, PATH};

fn group(n: usize) -> GroupLeader {
    let mut p = PATH.default_params(&[n, 1]);
    p.set_value(
        "member.stop",
        &electbench::systems::ParamValue::Enum("close"),
        &[n, 1],
    )
    .unwrap();
    GroupLeader::new(n, GlParams::from_params(&p))
}

fn leave_at_8s() -> SimConfig {
    SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(12_000),
        faults: vec![FaultSpec::at(
            8000,
            Action::Crash { host_alive: true },
            Target::Path {
                word: "member",
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

fn bench_rebalance(c: &mut Criterion) {
    let mut g = c.benchmark_group("group_rebalance");
    for n in [10usize, 100, 1000] {
        let model = group(n);
        let cfg = leave_at_8s();
        let out = run_trial(&model, &cfg, None);
        let gens = out
            .records
            .iter()
            .filter(|r| matches!(r.obs, Obs::Elected { .. }))
            .count();
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        assert_eq!(
            gens, 2,
            "{n} members: the group forms, then rebalances once"
        );
        g.throughput(Throughput::Elements(out.events));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(run_trial(&model, &cfg, None)).events)
        });
    }
    g.finish();
}

const BROKERS: u32 = 100;

fn partitions(p: usize) -> Vec<PartitionState> {
    (0..p)
        .map(|i| {
            let a: Vec<u32> = (0..3).map(|k| (i as u32 + k) % BROKERS).collect();
            PartitionState {
                state: LeaderAndIsr {
                    leader: Some(a[0]),
                    leader_epoch: 0,
                    isr: a.clone(),
                },
                assignment: a,
            }
        })
        .collect()
}

fn bench_offline(c: &mut Criterion) {
    let mut g = c.benchmark_group("offline_election");
    g.sample_size(10);
    let live: Vec<bool> = (0..BROKERS).map(|b| b != 0).collect();
    for p in [1_000usize, 100_000, 1_000_000] {
        let base = partitions(p);
        let mut check = base.clone();
        let out = elect_offline_all(&mut check, Live(&live), false);
        assert_eq!(
            out,
            OfflineOutcome {
                elected: (p as u64).div_ceil(u64::from(BROKERS)),
                unclean: 0,
                offline: 0
            }
        );
        assert!(check.iter().all(|x| x.state.leader != Some(0)));
        g.throughput(Throughput::Elements(p as u64));
        g.bench_with_input(BenchmarkId::from_parameter(p), &p, |b, _| {
            b.iter_batched(
                || base.clone(),
                // The partitions are returned so that freeing them is not timed.
                |mut parts| {
                    let out = elect_offline_all(&mut parts, Live(&live), false);
                    (black_box(out), parts)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_rebalance, bench_offline);
criterion_main!(benches);
