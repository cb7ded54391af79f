//! Run trial 0 of every sweep point of a workload file once, on this thread,
//! and print its events, trace hash and wall time: a fixed amount of work
//! for instruction-count profilers, with no pilot, no threads, no output
//! files. `--nodes N` runs only the first point, with N nodes;
//! `--duration-ms D` overrides the simulated length.
//!
//! ```text
//! cargo build --release --example sim_speed
//! valgrind --tool=callgrind target/release/examples/sim_speed \
//!     workloads/zookeeper-fle-heartbeat.toml --nodes 255 --duration-ms 120000
//! ```
//!
//! Instructions per steady-state event are the difference of two runs of
//! different length over the difference of their events, which cancels
//! start-up and the first election.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use electbench::engine::rng;
use electbench::engine::SimDuration;
use electbench::runner::RunOptions;

#[allow(clippy::disallowed_methods)] // wall time of a benchmark run, for the report only
fn main() {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut nodes: Option<usize> = None;
    let mut duration_ms: Option<u64> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--nodes" => nodes = args.next().and_then(|v| v.parse().ok()),
            "--duration-ms" => duration_ms = args.next().and_then(|v| v.parse().ok()),
            _ => file = Some(PathBuf::from(a)),
        }
    }
    let file = file.expect("usage: sim_speed FILE [--nodes N] [--duration-ms D]");
    let plan = electbench::workload::load(&file).expect("a valid workload file");
    let opts = RunOptions {
        threads: 1,
        only_point: None,
        only_trial: None,
        trace: false,
        timeline: false,
    };
    let stop = AtomicBool::new(false);
    // With --nodes, only the first point, resized.
    let points = if nodes.is_some() {
        1
    } else {
        plan.points.len()
    };
    for p in &plan.points[..points] {
        let mut w = p.workload.clone();
        if let Some(n) = nodes {
            w.nodes = n;
        }
        if let Some(d) = duration_ms {
            w.duration = SimDuration::from_ms(d);
        }
        let trials = (w.path.prepare)(&w);
        let t = std::time::Instant::now();
        let out = trials.run(rng::trial_seed(w.seed, 0), &opts, &stop).out;
        let wall = t.elapsed().as_secs_f64();
        println!(
            "nodes {} events {} trace_hash {:016x} wall_s {:.3} events_per_s {:.0}",
            w.nodes,
            out.events,
            out.trace_hash,
            wall,
            out.events as f64 / wall
        );
    }
}
