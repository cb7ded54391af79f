//! Seed sweeps with random fault schedules: crashes (with and without a live
//! host), restarts, pauses, isolations and partitions at random times, random
//! latency and TCP loss, under client load. The checkers run after every
//! event; any violation fails the test with a command that replays it.

use electbench::engine::fault::{Action, FaultSpec, Target, When};
use electbench::engine::net::{Latency, NetConfig};
use electbench::engine::rng::{self, Rng};
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig};
use electbench::engine::SimDuration;
use electbench::systems::zookeeper::fle::{Fle, PATH};

fn ms(rng: &mut Rng, lo: u64, hi: u64) -> SimDuration {
    SimDuration::from_ms(rng::range_inclusive(rng, lo, hi))
}

fn random_fault(rng: &mut Rng, servers: usize, end_ms: u64) -> FaultSpec {
    let target = match rng::range_inclusive(rng, 0, 3) {
        0 => Target::Leader,
        1 => Target::Follower,
        2 => Target::Random,
        _ => Target::Node(rng::index(rng, servers)),
    };
    let undo = Some(ms(rng, 500, 15_000));
    let (action, duration) = match rng::range_inclusive(rng, 0, 5) {
        0 => (Action::Crash { host_alive: false }, undo),
        1 => (Action::Crash { host_alive: true }, undo),
        2 => (Action::Pause, undo),
        3 => (Action::Isolate, undo),
        4 => {
            let cut = 1 + rng::index(rng, servers - 1);
            let mut ids: Vec<usize> = (0..servers).collect();
            for i in (1..ids.len()).rev() {
                ids.swap(i, rng::index(rng, i + 1));
            }
            let (a, b) = ids.split_at(cut);
            let one_way = rng::unit(rng) < 0.3;
            (
                Action::Partition {
                    groups: vec![a.to_vec(), b.to_vec()],
                    one_way,
                },
                undo,
            )
        }
        _ => (Action::Crash { host_alive: false }, None),
    };
    FaultSpec {
        when: When::At(ms(rng, 1_000, end_ms - 5_000)),
        action,
        target,
        duration,
    }
}

/// `ELECTBENCH_SEEDS=N` multiplies the number of seeds (for a longer soak).
/// The trial of `seed` on `servers` servers.
fn trial(
    servers: usize,
    seed: u64,
    trace: bool,
) -> (SimConfig, electbench::engine::sim::SimOutput) {
    let mut r = rng::stream(seed, "schedule", servers as u64);
    let end_ms = 60_000;
    let faults = (0..1 + rng::index(&mut r, 4))
        .map(|_| random_fault(&mut r, servers, end_ms))
        .collect();
    let cfg = SimConfig {
        seed,
        duration: SimDuration::from_ms(end_ms),
        net: NetConfig {
            latency: Latency::lognormal_from_median_p99(
                0.2 + rng::unit(&mut r),
                3.0 + 20.0 * rng::unit(&mut r),
            ),
            loss: if rng::unit(&mut r) < 0.3 { 0.01 } else { 0.0 },
            ..NetConfig::default()
        },
        faults,
        load: LoadConfig {
            clients: 3,
            rate_per_s: 20.0,
            read_ratio: 0.2,
            ..LoadConfig::default()
        },
        trace,
    };
    let model = Fle::new(servers, &PATH.default_params(&[servers]));
    let out = run_trial(&model, &cfg, None);
    (cfg, out)
}

/// `ELECTBENCH_SEEDS=N` multiplies the number of seeds (for a longer soak).
fn sweep(servers: usize, seeds: std::ops::Range<u64>) {
    let scale: u64 = std::env::var("ELECTBENCH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let seeds = seeds.start..seeds.start + (seeds.end - seeds.start) * scale;
    let mut failures = Vec::new();
    for seed in seeds {
        let (cfg, out) = trial(servers, seed, false);
        if !out.violations.is_empty() || out.findings.lost_acked_writes > 0 {
            failures.push(format!(
                "servers {servers} seed {seed}: {:?}\n  faults: {:?}\n  replay: ELECTBENCH_REPLAY={servers}:{seed} cargo test --release --test invariants replay -- --ignored --nocapture",
                out.violations, cfg.faults
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the trials violated safety:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Print the event trace of `ELECTBENCH_REPLAY=servers:seed`.
#[test]
#[ignore]
fn replay() {
    let spec = std::env::var("ELECTBENCH_REPLAY").expect("set ELECTBENCH_REPLAY=servers:seed");
    let (servers, seed) = spec.split_once(':').expect("servers:seed");
    let (cfg, out) = trial(servers.parse().unwrap(), seed.parse().unwrap(), true);
    eprintln!("faults: {:?}", cfg.faults);
    for line in &out.trace {
        eprintln!("{line}");
    }
    eprintln!("violations: {:?}", out.violations);
}

#[test]
fn three_servers_stay_safe_under_random_faults() {
    sweep(3, 0..150);
}

#[test]
fn five_servers_stay_safe_under_random_faults() {
    sweep(5, 0..150);
}

#[test]
fn seven_servers_stay_safe_under_random_faults() {
    sweep(7, 0..80);
}
