//! Benchmarks of `rocketmq/nameserver`.
//!
//! * `scan/10000`: one `scanNotActiveBroker` over a `brokerLiveTable` of
//!   10,000 brokers, 1 in 10 of them silent past the 120 s expiry
//!   (`nameserver::expired`, the rule the NameServer's scan applies).
//!   Throughput is brokers examined.
//! * `registrations/<brokers>`: one simulated trial of 2 NameServers and
//!   `brokers` brokers for 120 s, no clients: every broker registers with
//!   both NameServers every 30 s. Throughput is the registrations the
//!   NameServers processed.
//! * `dledger_election/<brokers>`: one simulated trial of `rocketmq/dledger`
//!   with DLedger's defaults on 3, 5, 7 brokers and no producers: the first
//!   election, heartbeats every 2 s, then the master's host dies at 5 s and
//!   the survivors elect a new master (6 s heartbeat loss, DLedger's vote
//!   rounds); 20 s simulated. Throughput is simulator events per trial; the
//!   scenario runs once first and must give a new master with no violation.
//!
//! * `controller_elect/<brokers>`: `rocketmq/controller`'s election policy
//!   over a SyncStateSet of 3, 16 and 256 replicas.
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench rocketmq -- --warm-up-time 1 --measurement-time 3`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::sim::{run_trial, SimConfig};
use electbench::engine::{Obs, SimDuration, SimTime};
use electbench::systems::rocketmq::dledger::{self, DledgerModel};
use electbench::systems::rocketmq::nameserver::{expired, NsParams, RocketNameServer, PATH};

fn scan(c: &mut Criterion) {
    let n = 10_000u32;
    let now = SimTime::ZERO + SimDuration::from_ms(200_000);
    let live: BTreeMap<u32, SimTime> = (0..n)
        .map(|b| {
            let ago = if b % 10 == 0 {
                150_000
            } else {
                b as u64 % 30_000
            };
            (b, SimTime::ZERO + SimDuration::from_ms(200_000 - ago))
        })
        .collect();
    let expiry = SimDuration::from_ms(120_000);
    assert_eq!(expired(&live, now, expiry).len(), (n / 10) as usize);
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter(|| black_box(expired(black_box(&live), now, expiry)))
    });
    group.finish();
}

fn registrations(c: &mut Criterion) {
    let cfg = SimConfig::without_clients(1, 120_000, Vec::new());
    let mut group = c.benchmark_group("registrations");
    for brokers in [10usize, 100, 1_000] {
        let p = PATH.default_params(&[2, brokers]);
        let m = RocketNameServer::new(2, brokers, NsParams::from_params(&p));
        let out = run_trial(&m, &cfg, None);
        let regs = out
            .records
            .iter()
            .filter(|r| {
                matches!(
                    r.obs,
                    Obs::Phase {
                        name: "registerBroker",
                        ..
                    }
                )
            })
            .count();
        assert_eq!(regs, 2 * brokers * 4, "{brokers} brokers");
        group.throughput(Throughput::Elements(regs as u64));
        group.bench_function(BenchmarkId::from_parameter(brokers), |b| {
            b.iter(|| black_box(run_trial(&m, &cfg, None)))
        });
    }
    group.finish();
}

/// `controller_elect/<brokers>`: one `DefaultElectPolicy.elect` over a
/// SyncStateSet of `brokers` replicas whose old master is invalid (the
/// comparator runs over every valid member). Throughput is candidates.
fn controller_elect(c: &mut Criterion) {
    use electbench::systems::rocketmq::controller::elect::{elect, LiveInfo};
    let mut group = c.benchmark_group("controller_elect");
    for n in [3u32, 16, 256] {
        let infos: Vec<LiveInfo> = (0..n)
            .map(|id| LiveInfo {
                id,
                epoch: 1 + id % 3,
                max_offset: (id as u64 * 7919) % 1000,
                priority: i32::MAX,
                valid: id != 0,
            })
            .collect();
        let sse: Vec<u32> = (0..n).collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| elect(black_box(&sse), None, black_box(&infos), Some(0), None))
        });
    }
    group.finish();
}

fn dledger_election(c: &mut Criterion) {
    let crash = FaultSpec::at(
        5000,
        Action::Crash { host_alive: false },
        Target::Leader,
        None,
    );
    let cfg = SimConfig::without_clients(1, 20_000, vec![crash]);
    let mut group = c.benchmark_group("dledger_election");
    for brokers in [3usize, 5, 7] {
        let m = DledgerModel::new(brokers, &dledger::PATH.default_params(&[brokers]));
        let out = run_trial(&m, &cfg, None);
        let master_ms = dledger::dledger_columns(&out)[0];
        assert!(master_ms.is_some(), "{brokers} brokers: no new master");
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(brokers), |b| {
            b.iter(|| black_box(run_trial(&m, &cfg, None)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    scan,
    registrations,
    dledger_election,
    controller_elect
);
criterion_main!(benches);
