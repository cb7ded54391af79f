//! Every registered path in both runtimes (issue 13, part 5): one election
//! and, for the paths that replicate a log, replication throughput, each
//! under `sim` and `live`, next to the raw queue ceiling measured in the
//! same run.
//!
//! Every trial is built from the path's shipped live workload
//! (`workloads/live-*.toml`, table [`PATHS`]) with, in code: the size axis
//! set, `trials = 1`, the fault moved early and `duration_ms` cut to what
//! the election needs, and **every modelled cost off**: each `model.*`
//! parameter whose unit is a time (`ms`, `us`) set to 0, as in
//! `workloads/live-zookeeper-fle-bare.toml` (the `model.*` parameters that
//! are not costs, `model.check-quorum` and `model.partitions-with-traffic`,
//! keep the workload's value). The workload file is edited as TOML and
//! parsed by `electbench::workload::parse`, so each trial passes the same
//! validation as a file, and is run through the path's registry `prepare`,
//! as `electbench run` runs it.
//!
//! * `queue_ceiling/ping_pong`: the raw queue ceiling as issue 13 defines
//!   it, a bare crossbeam queue round trip: one item bounced between two
//!   threads through an `ArrayQueue` each way (the same code as
//!   `benches/live.rs`, `benches/common/queue.rs`); round trips/s.
//! * `queue_ceiling/one_way`: the same queue streaming items from one thread
//!   to the other; items/s. The stricter ceiling: what two cores can move
//!   through a queue at all.
//! * `election/<system>-<path>/sim/<n>`: wall time of simulating one trial
//!   of the election workload (boot, first election, fault, re-election, to
//!   `duration_ms`), seed 1, criterion's `iter`.
//! * `election/<system>-<path>/live/<n>`: `leader_selection_ns` of live
//!   trials (one trial per iteration), summed by `iter_custom`: from the
//!   first election round after the fault to the first `Elected` of the
//!   fault's scope at or after it, minus the path's configured wait inside
//!   the election (`Trials::election_wait`, the function the `run` command
//!   uses for the `election_wait_ns` column). Trial `i` has seed
//!   `rng::trial_seed(1, i)`, as trial `i` of `electbench run` with
//!   `seed = 1`. A trial whose fault found no target, or without an
//!   election after it, panics, naming the path, size and seed.
//! * `replication/<system>-<path>/sim/<n>`: simulated committed writes per
//!   wall second (throughput = the trial's `writes_ok`, time = the whole
//!   simulated trial, boot included).
//! * `replication/<system>-<path>/live/<n>`: committed writes per second of
//!   a live trial: `iter_custom` returns `iters x (window / writes)`, with
//!   the window from `start_ms + warmup_ms` to the end and `writes` the
//!   acknowledged writes finishing in it (`writes_ok_measured`), and
//!   `Throughput::Elements(1)`, so criterion reports writes/s. At the end
//!   the run prints each live median as a percentage of the
//!   `queue_ceiling/ping_pong` median (the ceiling: writes/s over
//!   round trips/s) and of the `queue_ceiling/one_way` median (writes/s
//!   over items/s), both measured in the same run.
//!
//! **Sampling.** A live trial takes 0.1–2 s of wall time but reports a few
//! µs to ms of `leader_selection_ns`; left to itself criterion would size
//! its iteration counts from the reported durations and run thousands of
//! trials. Every election and replication group therefore uses
//! `SamplingMode::Flat`, `sample_size(10)` and a 1 ms warm-up and
//! measurement time, so each sample is **one trial** and each bench runs 11
//! (one warm-up, ten samples). Criterion warns that it cannot finish ten
//! samples in 1 ms; that is expected. Medians of ten trials on a shared
//! machine: quote the load average with them.
//!
//! **Sizes.** Elections at 3, 5, 7, 9 and 15 of the size axis: `nodes`
//! (the path's first node group) except `kafka/controller-zk`, where the
//! election is a race of brokers for `/controller`, so the brokers are
//! sized (the ZooKeeper ensemble keeps 3 servers). Every path takes all five
//! sizes under `sim`. The live elections of the slowest paths are cut to
//! keep the whole run near 7 minutes on a loaded 2-core machine (each live
//! trial runs its whole `duration_ms` of wall time, 11 per bench):
//! `redis/cluster` at 3 only (a 1.9 s trial: a replica waits 500 ms plus a
//! random delay and its rank before it asks for votes), `kafka/controller-zk`
//! at 5 and 15 (1.3 s: brokers first wait for their ZooKeeper sessions),
//! `redis/sentinel` at 3, 9 and 15, `raft/paper` at 3, 5, 9 and 15,
//! `kafka/controller-kraft` at 3, 5 and 15 (a 2.6 s trial: the fetch
//! timeout, 600 ms, stays above KRaft's 500 ms fetch long-poll). The fault
//! times and durations were sized on this machine under load 5 (a trial
//! that elects too late panics rather than being skipped).
//! Replication at 3, 5, 7, 9 and 15 servers.
//!
//! **What `leader_selection_ns` leaves in, per path.** Only FLE's
//! `finalizeWait` is subtracted (`zookeeper/fle` and `zookeeper/ephemeral`).
//! Every other wait between the first round and the decision is the
//! protocol's and stays in the figure: the randomized election timeouts
//! and backoffs of a split or failed round (`raft/*`, `kafka/controller-kraft`'s
//! `controller.quorum.election.backoff.max.ms`, `rocketmq/dledger`'s vote
//! interval), Sentinel's vote collection and the steps of its failover state
//! machine, one step per run of `sentinelTimer` (every 1000 / hz ms, hz
//! re-drawn in 10..=19 after each run). Detection
//! before the first round (heartbeat and session timeouts) is never in it.
//!
//! **Paths without a live election bench**, with the reason (their `sim`
//! election bench runs):
//! * `eureka/peer-replication`, `rocketmq/nameserver`: no election in the
//!   protocol; they record no `ElectionRound`, so `leader_selection_ns` is
//!   empty by definition.
//! * `kafka/partition-leader`: the controller picks partition leaders from
//!   the ISR in one step and records `Elected` per partition but no
//!   `ElectionRound`, so `leader_selection_ns` is empty.
//! * `kafka/group-leader` and `rocketmq/controller`: the coordinator
//!   (controller) records the round and the decision in the same handler,
//!   so `leader_selection_ns` is 0 by construction (criterion cannot time a
//!   zero).
//!
//! **Replication** runs on `zookeeper/fle` (Zab), `raft/etcd` and
//! `rocketmq/dledger`, from their live workloads with no fault, zero
//! latency and every model cost 0, with 16 clients. **Live**: a pure closed
//! loop of 8 writes in flight per client (`[clients] concurrency = 8`, 128
//! in all), so the figure is the implementation's capacity on this machine
//! (service time under 128 outstanding writes). **Sim**: 16 open-loop
//! clients offering 5,000 writes/s each (80,000/s), simulated writes per
//! wall second: the simulator's own speed (a closed loop of zero-cost
//! writes takes no virtual time, so sim keeps the open loop). The
//! end-of-run table prints each live median with the median of writes that
//! **failed** per trial. A live trial with no committed write in its window
//! is counted as one write and said so on stderr (not a panic, which would
//! lose the whole run).
//! Live: 1.7 s trials at 3, 5, 9 and 15 servers, clients from 1 s (a
//! ZooKeeper client that finds no serving server at start-up waits a random
//! 0-1 s before it tries again), measured from 1.1 s. Sim: clients from
//! 200 ms, measured over 100 ms of simulated time, at 3, 5, 7, 9 and 15.
//!
//! **`rocketmq/dledger`'s figure is timer-bound, as DLedger is.** Each
//! `EntryDispatcher` (`DLedgerEntryPusher.java`, one thread per follower)
//! pushes what is new, then sleeps 1 ms (`waitForRunning(1)`, which no
//! append cuts short), so a new write leaves the leader at the next pass
//! and 128 writes in flight commit at about 128 per millisecond, whatever
//! the group size (`src/systems/raft/dledger.rs`). Measured (2026-11-28,
//! quiet; median of 3 runs of
//! `cargo bench --bench runtimes -- 'replication/(zookeeper-fle|raft-etcd|rocketmq-dledger)/live/3$|queue_ceiling'`):
//! 129.6k writes/s against Zab's 612k in the same runs (0.21x); 117k at 15
//! brokers (one run, load average 3-5). Before, the model pushed at once but set one
//! `maxWaitAckTimeMs` timer per write and never cancelled it on commit
//! (~6,000 dead timers per leader at 100 ms, each timer operation scanning
//! them): 61k (0.16x Zab), a cost of the model, not of DLedger.
//!
//! `RUNTIMES_DUMP=DIR` writes each edited workload to `DIR` as it is built
//! (`electbench run DIR/FILE --trial 0 --trace` replays one).
//!
//! Run: `nice cargo bench --bench runtimes` (7 minutes on this project's
//! 2-core VM at load average 4 to 8);
//! one path: `cargo bench --bench runtimes -- zookeeper-fle`.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use electbench::engine::live::leader_selection_ns;
use electbench::engine::rng;
use electbench::results::stats::median;
use electbench::runner::{RunOptions, Trials};
use electbench::systems::{self, ParamKind, PathInfo};
use electbench::workload;
use toml_edit::{value, DocumentMut};

/// `queue_ceiling/{ping_pong,one_way}`, shared with `benches/live.rs`.
#[path = "common/queue.rs"]
mod queue;

/// Why a path has no live election bench.
type NoLive = Option<&'static str>;

/// One path's election bench.
struct PathBench {
    /// Registry name (`system/path`).
    path: &'static str,
    /// Its live workload in `workloads/`.
    workload: &'static str,
    /// The topology group the size sets; `None` is `nodes`.
    axis: Option<&'static str>,
    /// Sizes of the sim bench.
    sim_sizes: &'static [usize],
    /// Sizes of the live bench.
    live_sizes: &'static [usize],
    /// When the (first) fault hits, and the trial's end (ms).
    fault_at_ms: u64,
    duration_ms: u64,
    /// Set the first fault's `host_alive`.
    host_alive: Option<bool>,
    no_live: NoLive,
}

const ALL: &[usize] = &[3, 5, 7, 9, 15];

/// Every registered path (the bench panics if one is missing).
const PATHS: &[PathBench] = &[
    PathBench {
        path: "zookeeper/fle",
        workload: "live-zookeeper-fle-bare.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: ALL,
        fault_at_ms: 100,
        duration_ms: 220,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "zookeeper/ephemeral",
        workload: "live-zookeeper-ephemeral.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: ALL,
        fault_at_ms: 100,
        duration_ms: 220,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "redis/sentinel",
        workload: "live-redis-sentinel.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[3, 9, 15],
        fault_at_ms: 200,
        duration_ms: 800,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "redis/cluster",
        workload: "live-redis-cluster.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[3],
        fault_at_ms: 200,
        duration_ms: 1900,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "raft/etcd",
        workload: "live-raft-etcd.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: ALL,
        fault_at_ms: 150,
        duration_ms: 400,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "raft/paper",
        workload: "live-raft-paper.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[3, 5, 9, 15],
        fault_at_ms: 100,
        duration_ms: 700,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "kafka/controller-kraft",
        workload: "live-kafka-controller-kraft.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[3, 5, 15],
        fault_at_ms: 800,
        duration_ms: 2600,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "kafka/controller-zk",
        workload: "live-kafka-controller-zk.toml",
        axis: Some("brokers"),
        sim_sizes: ALL,
        live_sizes: &[5, 15],
        fault_at_ms: 1000,
        duration_ms: 1300,
        host_alive: None,
        no_live: None,
    },
    PathBench {
        path: "kafka/group-leader",
        workload: "live-kafka-group-leader.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[],
        fault_at_ms: 100,
        duration_ms: 200,
        // The member leaves gracefully (LeaveGroup), so the rebalance starts
        // at once instead of after session.timeout.ms.
        host_alive: Some(true),
        no_live: Some("round and decision in one coordinator handler: 0 by construction"),
    },
    PathBench {
        path: "kafka/partition-leader",
        workload: "live-kafka-partition-leader.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[],
        fault_at_ms: 300,
        duration_ms: 500,
        host_alive: None,
        no_live: Some("no ElectionRound recorded: leader_selection_ns is empty"),
    },
    PathBench {
        path: "eureka/peer-replication",
        workload: "live-eureka-peer-replication.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[],
        fault_at_ms: 1000,
        duration_ms: 4000,
        host_alive: None,
        no_live: Some("no election in the protocol"),
    },
    PathBench {
        path: "rocketmq/nameserver",
        workload: "live-rocketmq-nameserver.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[],
        fault_at_ms: 500,
        duration_ms: 2000,
        host_alive: None,
        no_live: Some("no election in the protocol"),
    },
    PathBench {
        path: "rocketmq/controller",
        workload: "live-rocketmq-controller.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: &[],
        fault_at_ms: 300,
        duration_ms: 450,
        host_alive: None,
        no_live: Some("round and decision in one controller handler: 0 by construction"),
    },
    PathBench {
        path: "rocketmq/dledger",
        workload: "live-rocketmq-dledger.toml",
        axis: None,
        sim_sizes: ALL,
        live_sizes: ALL,
        fault_at_ms: 150,
        duration_ms: 600,
        host_alive: None,
        no_live: None,
    },
];

/// The paths that replicate a log, and their live workloads.
const REPLICATION: &[(&str, &str)] = &[
    ("zookeeper/fle", "live-zookeeper-fle-bare.toml"),
    ("raft/etcd", "live-raft-etcd.toml"),
    ("rocketmq/dledger", "live-rocketmq-dledger.toml"),
];
const CLIENTS: i64 = 16;
const RATE_PER_CLIENT: f64 = 5_000.0;
/// Writes each live client keeps in flight (`[clients] concurrency`).
const IN_FLIGHT: i64 = 8;
const LOAD_START_MS: i64 = 200;
const WARMUP_MS: i64 = 100;
/// Live clients start late: a ZooKeeper client that finds no serving server
/// at start-up waits a random 0-1 s before it tries again.
const LIVE_LOAD_START_MS: i64 = 1000;
const LIVE_DURATION_MS: i64 = 1700;
/// Live replication sizes (each sample is a 1.7 s trial).
const LIVE_REPLICATION: &[usize] = &[3, 5, 9, 15];
const SIM_WINDOW_MS: i64 = 100;

fn path_info(name: &str) -> &'static PathInfo {
    systems::paths()
        .iter()
        .find(|p| p.path == name)
        .unwrap_or_else(|| panic!("{name} is not a registered path"))
}

/// `zookeeper/fle` -> `zookeeper-fle`.
fn bench_name(path: &str) -> String {
    path.replace('/', "-")
}

/// The path's live workload as an editable TOML document.
fn load_doc(file: &str) -> DocumentMut {
    let at = format!("{}/workloads/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&at)
        .unwrap_or_else(|e| panic!("{at}: {e}"))
        .parse()
        .unwrap_or_else(|e| panic!("{at}: {e}"))
}

/// Set the runtime, one trial, the size, and every model cost to 0.
fn common_edits(
    doc: &mut DocumentMut,
    info: &PathInfo,
    runtime: &str,
    axis: Option<&str>,
    n: usize,
) {
    doc["runtime"] = value(runtime);
    doc["trials"] = value(1);
    match axis {
        None => doc["nodes"] = value(n as i64),
        Some(group) => {
            let topology = doc["topology"].or_insert(toml_edit::table());
            topology[group] = value(n as i64);
        }
    }
    let params = doc["params"].or_insert(toml_edit::table());
    for spec in info.params {
        if !spec.name.starts_with("model.") || !matches!(spec.unit, "ms" | "us") {
            continue;
        }
        params[spec.name] = match spec.kind {
            ParamKind::Int { .. } => value(0),
            _ => value(0.0),
        };
    }
}

/// Parse the edited document as `electbench run` would and prepare its one point.
fn prepare(doc: &DocumentMut, label: &str) -> Box<dyn Trials> {
    if let Some(dir) = std::env::var_os("RUNTIMES_DUMP") {
        let file = std::path::Path::new(&dir)
            .join(format!("{}.toml", label.replace([' ', '(', ')', ','], "_")));
        std::fs::write(&file, doc.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    let plan = workload::parse(label, &doc.to_string())
        .unwrap_or_else(|e| panic!("{label}: the edited workload is invalid: {e:?}"));
    assert_eq!(plan.points.len(), 1, "{label}: one sweep point");
    let w = &plan.points[0].workload;
    (w.path.prepare)(w)
}

/// The election trial of `p` at size `n` on `runtime`.
fn election_trials(p: &PathBench, runtime: &str, n: usize) -> Box<dyn Trials> {
    let mut doc = load_doc(p.workload);
    common_edits(&mut doc, path_info(p.path), runtime, p.axis, n);
    doc["duration_ms"] = value(p.duration_ms as i64);
    let fault = doc["faults"]
        .as_array_of_tables_mut()
        .and_then(|f| f.get_mut(0))
        .unwrap_or_else(|| panic!("{}: the live workload has a fault", p.workload));
    fault["at_ms"] = value(p.fault_at_ms as i64);
    if let Some(alive) = p.host_alive {
        fault["host_alive"] = value(alive);
    }
    prepare(&doc, &format!("{} ({runtime}, {n})", p.workload))
}

/// The replication trial of `path` at `n` servers on `runtime`: no fault,
/// [`CLIENTS`] clients at [`RATE_PER_CLIENT`].
fn replication_trials(path: &str, file: &str, runtime: &str, n: usize) -> Box<dyn Trials> {
    let mut doc = load_doc(file);
    common_edits(&mut doc, path_info(path), runtime, None, n);
    doc.remove("faults");
    let (start, window) = if runtime == "live" {
        (
            LIVE_LOAD_START_MS,
            LIVE_DURATION_MS - LIVE_LOAD_START_MS - WARMUP_MS,
        )
    } else {
        (LOAD_START_MS, SIM_WINDOW_MS)
    };
    doc["duration_ms"] = value(start + WARMUP_MS + window);
    let clients = doc["clients"].or_insert(toml_edit::table());
    clients["count"] = value(CLIENTS);
    if runtime == "live" {
        // A closed loop: the capacity, not goodput at an offered rate.
        clients["concurrency"] = value(IN_FLIGHT);
        clients
            .as_table_like_mut()
            .expect("[clients] is a table")
            .remove("rate_per_s");
    } else {
        clients["rate_per_s"] = value(RATE_PER_CLIENT);
    }
    clients["start_ms"] = value(start);
    clients["warmup_ms"] = value(WARMUP_MS);
    prepare(&doc, &format!("{file} (replication, {runtime}, {n})"))
}

fn opts() -> RunOptions {
    RunOptions::default()
}

/// One trial per sample: see the module doc.
fn one_trial_per_sample<M: criterion::measurement::Measurement>(g: &mut BenchmarkGroup<'_, M>) {
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1));
}

/// A live replication bench: its label, servers, and (writes/s, failed
/// writes) of each trial.
type LiveRates = (String, usize, Vec<(f64, u64)>);

/// Per-call rates measured inside the benches, for the ratio table.
struct Rates {
    /// `queue_ceiling/ping_pong`, round trips/s.
    round_trip: Vec<f64>,
    /// `queue_ceiling/one_way`, items/s.
    one_way: Vec<f64>,
    live: Vec<LiveRates>,
}

static RATES: Mutex<Rates> = Mutex::new(Rates {
    round_trip: Vec::new(),
    one_way: Vec::new(),
    live: Vec::new(),
});

fn queue_ceiling(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_ceiling");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(1));
    type Ceiling = (
        &'static str,
        fn(u64) -> Duration,
        fn(&mut Rates) -> &mut Vec<f64>,
    );
    let ceilings: [Ceiling; 2] = [
        ("ping_pong", queue::ping_pong, |r| &mut r.round_trip),
        ("one_way", queue::one_way, |r| &mut r.one_way),
    ];
    for (name, bench, rates) in ceilings {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let d = bench(iters);
                rates(&mut RATES.lock().expect("no bench panics holding the rates"))
                    .push(iters as f64 / d.as_secs_f64());
                d
            })
        });
    }
    group.finish();
}

fn election(c: &mut Criterion) {
    let registered: Vec<&str> = systems::paths().iter().map(|p| p.path).collect();
    for name in &registered {
        assert!(
            PATHS.iter().any(|p| p.path == *name),
            "{name} has no election bench: add it to PATHS in benches/runtimes.rs"
        );
    }
    let stop = AtomicBool::new(false);
    let opts = opts();
    let mut group = c.benchmark_group("election");
    one_trial_per_sample(&mut group);
    for p in PATHS {
        let id = bench_name(p.path);
        for &n in p.sim_sizes {
            let trials = election_trials(p, "sim", n);
            let first = trials.run(1, &opts, &stop);
            assert!(
                first.out.violations.is_empty(),
                "{} sim at {n}: violations {:?}",
                p.path,
                first.out.violations
            );
            assert!(
                first.out.faults.iter().any(|f| f.applied),
                "{} sim at {n}: the fault at {} ms found no target",
                p.path,
                p.fault_at_ms
            );
            if p.no_live.is_none() {
                assert!(
                    leader_selection_ns(&first.out, trials.election_wait()).is_some(),
                    "{} sim at {n}: no election after the fault at {} ms within {} ms",
                    p.path,
                    p.fault_at_ms,
                    p.duration_ms
                );
            }
            group.bench_function(BenchmarkId::new(format!("{id}/sim"), n), |b| {
                b.iter(|| black_box(trials.run(1, &opts, &stop)))
            });
        }
        for &n in p.live_sizes {
            let trials = election_trials(p, "live", n);
            let wait = trials.election_wait();
            let mut trial = 0u64;
            group.bench_function(BenchmarkId::new(format!("{id}/live"), n), |b| {
                b.iter_custom(|iters| {
                    let mut ns = 0u64;
                    for _ in 0..iters {
                        let seed = rng::trial_seed(1, trial);
                        trial += 1;
                        let t = trials.run(seed, &opts, &stop);
                        assert!(
                            t.out.faults.iter().any(|f| f.applied),
                            "{} live at {n}, seed {seed}: the fault at {} ms found no target",
                            p.path,
                            p.fault_at_ms
                        );
                        ns += leader_selection_ns(&t.out, wait).unwrap_or_else(|| {
                            panic!(
                                "{} live at {n}, seed {seed}: no election after the fault at \
                                 {} ms within {} ms (raise duration_ms in PATHS)",
                                p.path, p.fault_at_ms, p.duration_ms
                            )
                        });
                    }
                    Duration::from_nanos(ns)
                })
            });
        }
    }
    group.finish();
}

fn replication(c: &mut Criterion) {
    let stop = AtomicBool::new(false);
    let opts = opts();
    let mut group = c.benchmark_group("replication");
    one_trial_per_sample(&mut group);
    for &(path, file) in REPLICATION {
        let id = bench_name(path);
        for &n in ALL {
            let trials = replication_trials(path, file, "sim", n);
            let first = trials.run(1, &opts, &stop);
            assert!(
                first.out.violations.is_empty(),
                "{path} sim at {n}: violations {:?}",
                first.out.violations
            );
            let writes = first.out.clients.writes_ok;
            assert!(writes > 0, "{path} sim at {n}: no write committed");
            group.throughput(Throughput::Elements(writes));
            group.bench_function(BenchmarkId::new(format!("{id}/sim"), n), |b| {
                b.iter(|| black_box(trials.run(1, &opts, &stop)))
            });
        }
        for &n in LIVE_REPLICATION {
            let trials = replication_trials(path, file, "live", n);
            let window =
                Duration::from_millis((LIVE_DURATION_MS - LIVE_LOAD_START_MS - WARMUP_MS) as u64);
            let mut trial = 0u64;
            let mut rates = Vec::new();
            group.throughput(Throughput::Elements(1));
            group.bench_function(BenchmarkId::new(format!("{id}/live"), n), |b| {
                b.iter_custom(|iters| {
                    let mut per_write = Duration::ZERO;
                    for _ in 0..iters {
                        let seed = rng::trial_seed(1, trial);
                        trial += 1;
                        let t = trials.run(seed, &opts, &stop);
                        let writes = t.out.clients.writes_ok_measured;
                        let failed = t.out.clients.writes_failed;
                        if writes == 0 {
                            eprintln!(
                                "replication/{id}/live/{n}, seed {seed}: no write committed in \
                                 the window ({failed} failed); counted as 1"
                            );
                        }
                        rates.push((writes as f64 / window.as_secs_f64(), failed));
                        per_write += window / writes.max(1) as u32;
                    }
                    per_write
                })
            });
            RATES
                .lock()
                .expect("no bench panics holding the rates")
                .live
                .push((format!("{id}/live"), n, rates));
        }
    }
    group.finish();
}

/// Each live replication median as a share of the queue ceilings'.
fn print_ratios() {
    let rates = RATES.lock().expect("no bench panics holding the rates");
    let (Some(round_trip), Some(one_way)) = (median(&rates.round_trip), median(&rates.one_way))
    else {
        eprintln!("queue_ceiling/ping_pong or one_way did not run: no ratios to print");
        return;
    };
    eprintln!(
        "\nraw queue ceiling, medians of {} and {} samples: queue_ceiling/ping_pong {:.3e} round \
         trips/s, queue_ceiling/one_way {:.3e} items/s",
        rates.round_trip.len(),
        rates.one_way.len(),
        round_trip,
        one_way
    );
    for (label, n, xs) in &rates.live {
        let ok: Vec<f64> = xs.iter().map(|x| x.0).collect();
        let failed: Vec<f64> = xs.iter().map(|x| x.1 as f64).collect();
        if let (Some(m), Some(f)) = (median(&ok), median(&failed)) {
            eprintln!(
                "replication/{label}/{n}: {m:.0} writes/s = {:.2} % of the round trip ceiling, \
                 {:.3} % of the one-way ceiling (median of {} trials; median {f:.0} writes failed \
                 per trial)",
                100.0 * m / round_trip,
                100.0 * m / one_way,
                xs.len()
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    queue_ceiling(&mut c);
    election(&mut c);
    replication(&mut c);
    print_ratios();
    c.final_summary();
}
