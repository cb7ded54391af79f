//! The runner: spreads the trials of every sweep point over worker threads.
//!
//! Each trial's seed derives from the workload seed and the trial index only
//! (`rng::trial_seed`), so results depend neither on the thread count nor on
//! which thread ran a trial; rows are handed over in (point, trial) order
//! through a bounded reorder buffer, to be written as they come.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::engine::live::{leader_selection_ns, run_live, LiveConfig, LiveModel, LiveStats};
use crate::engine::rng;
use crate::engine::sim::{run_trial, SimConfig, SimOutput, Violation};
use crate::engine::{Model, SimDuration, SimTime};
use crate::metrics::{self, TimelineEvent, TrialMetrics};
use crate::workload::{Plan, Runtime, Workload};

/// What to run of a plan, and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Run only this sweep point (0-based).
    pub only_point: Option<usize>,
    /// Run only this trial (0-based) of each selected point.
    pub only_trial: Option<u64>,
    /// Keep a readable event log of each trial (for replaying one trial).
    pub trace: bool,
    /// Keep each trial's failover timeline (`timeline.csv`).
    pub timeline: bool,
}

impl Default for RunOptions {
    /// One thread, every point and trial, no trace, no timeline.
    fn default() -> Self {
        RunOptions {
            threads: 1,
            only_point: None,
            only_trial: None,
            trace: false,
            timeline: false,
        }
    }
}

/// One finished trial.
#[derive(Clone, Debug)]
pub struct TrialRow {
    pub point: usize,
    pub trial: u64,
    pub seed: u64,
    pub metrics: TrialMetrics,
    pub events: u64,
    pub sim_end: SimTime,
    pub trace_hash: u64,
    pub violations: Vec<Violation>,
    pub trace: Vec<String>,
    /// The path's own columns, in its declaration order.
    pub columns: Vec<Option<f64>>,
    /// Phase events and client buckets, with `--timeline`.
    pub timeline: Vec<TimelineEvent>,
}

/// What a run did in this process.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// Jobs done in all, counting the ones a resumed run started with: the
    /// first `done` jobs of [`jobs`] are written, and no other.
    pub done: u64,
    pub planned: u64,
    /// Stopped before every planned trial was written.
    pub aborted: bool,
    pub wall: Duration,
    /// `on_row` failed with this message (the run stopped there).
    pub failed: Option<String>,
}

/// How far the workers may run ahead of the oldest unwritten job, per thread:
/// a finished trial waits in the reorder buffer until every job before it is
/// written, so this bounds the buffer to `READ_AHEAD x threads` rows.
const READ_AHEAD: usize = 4;

/// Builds a path's model for one sweep point; see [`crate::systems::PathInfo::prepare`].
pub type PrepareFn = fn(&Workload) -> Box<dyn Trials>;

/// A model that a workload sweep point configures.
pub trait FromWorkload: Model + Send + Sync + 'static {
    fn from_workload(w: &Workload) -> Self;

    /// The path's own result columns ([`crate::systems::PathInfo::columns`],
    /// in that order) from a finished trial; `None` is not applicable.
    fn columns(&self, out: &SimOutput) -> Vec<Option<f64>> {
        let _ = out;
        Vec::new()
    }

    /// The protocol's configured wait inside an election (FLE's
    /// `finalizeWait`), which `leader_selection_ns` leaves out and
    /// `election_wait_ns` reports; none unless the path says.
    fn election_wait(&self) -> SimDuration {
        SimDuration::ZERO
    }
}

/// A finished trial, before it becomes a row.
pub struct Trial {
    pub out: SimOutput,
    /// When measurement began: when clients began issuing, plus the
    /// warm-up (`clients.warmup_ms`).
    pub load_start: SimTime,
    pub columns: Vec<Option<f64>>,
}

/// The trials of one sweep point, ready to run: the path's model and the
/// simulator configuration. One virtual call per trial; the event loop inside
/// is monomorphised over the model.
pub trait Trials: Send + Sync {
    /// Run the trial with seed `seed`.
    fn run(&self, seed: u64, opts: &RunOptions, stop: &AtomicBool) -> Trial;

    /// The protocol's configured wait inside an election that
    /// `leader_selection_ns` leaves out ([`FromWorkload::election_wait`] of
    /// the point's model): what the live runtime's rows subtract, and what
    /// `benches/runtimes.rs` subtracts the same way.
    fn election_wait(&self) -> SimDuration;
}

struct SimPoint<M> {
    model: M,
    cfg: SimConfig,
}

impl<M: FromWorkload> Trials for SimPoint<M> {
    fn run(&self, seed: u64, opts: &RunOptions, stop: &AtomicBool) -> Trial {
        let cfg = SimConfig {
            seed,
            trace: opts.trace,
            timeline: opts.timeline,
            ..self.cfg.clone()
        };
        let out = run_trial(&self.model, &cfg, Some(stop));
        Trial {
            columns: self.model.columns(&out),
            out,
            load_start: SimTime::ZERO + cfg.load.start + cfg.load.warmup,
        }
    }

    fn election_wait(&self) -> SimDuration {
        self.model.election_wait()
    }
}

struct LivePoint<M> {
    model: M,
    cfg: SimConfig,
    live: LiveConfig,
}

impl<M: FromWorkload + LiveModel> Trials for LivePoint<M> {
    fn run(&self, seed: u64, opts: &RunOptions, stop: &AtomicBool) -> Trial {
        let cfg = SimConfig {
            seed,
            trace: false,
            timeline: opts.timeline,
            ..self.cfg.clone()
        };
        let (out, stats) = run_live(&self.model, &cfg, &self.live, Some(stop));
        let wait = self.election_wait();
        let mut columns = self.model.columns(&out);
        columns.extend(live_columns(&out, &stats, wait));
        Trial {
            columns,
            out,
            load_start: SimTime::ZERO + cfg.load.start + cfg.load.warmup,
        }
    }

    fn election_wait(&self) -> SimDuration {
        self.model.election_wait()
    }
}

/// The live-only columns ([`crate::results::LIVE_COLUMNS`], in that order).
pub fn live_columns(out: &SimOutput, stats: &LiveStats, wait: SimDuration) -> Vec<Option<f64>> {
    let wall_s = stats.wall_ns as f64 / 1e9;
    vec![
        Some(stats.workers as f64),
        leader_selection_ns(out, wait).map(|ns| ns as f64),
        Some(wait.0 as f64),
        Some(stats.mailbox_full as f64),
        Some(stats.cpu_ns as f64 / 1e6),
        (wall_s > 0.0).then(|| stats.events as f64 / wall_s),
        Some(stats.load.threads as f64),
        (stats.load_wall_ns > 0 && stats.load.offered > 0)
            .then(|| stats.load.offered as f64 / (stats.load_wall_ns as f64 / 1e9)),
        (stats.load.offered > 0).then_some(stats.load.behind_max as f64),
        (stats.load.offered > 0).then(|| stats.load.lag_max_ns as f64 / 1e3),
    ]
}

/// The [`PrepareFn`] of a path whose model is `M`: the registry names
/// `prepare::<M>`. A live workload gets the live runtime.
pub fn prepare<M: FromWorkload + LiveModel>(w: &Workload) -> Box<dyn Trials> {
    if w.runtime == Runtime::Live {
        return Box::new(LivePoint {
            model: M::from_workload(w),
            cfg: sim_config(w),
            live: w.live.clone(),
        });
    }
    Box::new(SimPoint {
        model: M::from_workload(w),
        cfg: sim_config(w),
    })
}

/// The engine configuration of a sweep point (seed 0: each trial sets its own).
fn sim_config(w: &Workload) -> SimConfig {
    SimConfig {
        seed: 0,
        duration: w.duration,
        net: w.net.clone(),
        disk: w.disk.clone(),
        faults: w.faults.clone(),
        load: w.load.clone(),
        trace: false,
        record_ops: false,
        timeline: false,
    }
}

/// The (point, trial) pairs `opts` selects from `plan`, in output order.
pub fn jobs(plan: &Plan, opts: &RunOptions) -> Vec<(usize, u64)> {
    let mut jobs = Vec::new();
    for (p, point) in plan.points.iter().enumerate() {
        if opts.only_point.is_some_and(|o| o != p) {
            continue;
        }
        match opts.only_trial {
            Some(t) => jobs.push((p, t)),
            None => jobs.extend((0..point.workload.trials).map(|t| (p, t))),
        }
    }
    jobs
}

/// Run the jobs of `plan` from `first_job` on (the ones before it were done
/// by the run this one resumes). Reads the wall clock only to report how long
/// trials took (meta.json and the terminal), never to decide anything.
///
/// `on_row(row, busy)` is called on the calling thread for every finished
/// trial **in job order**, i.e. (point, trial) order: a trial that finishes
/// early waits in a reorder buffer, and no worker starts job `i + K` (K =
/// [`READ_AHEAD`] x threads) before job `i` is handed over, so memory stays
/// flat in the number of trials. Raising `stop` ends the run early: trials
/// under way are dropped, finished ones are handed over as long as no earlier
/// job is missing, so what was handed over is always a prefix of the jobs. An
/// error from `on_row` stops the run the same way and is returned in
/// [`RunOutput::failed`].
#[allow(clippy::disallowed_methods)] // wall time of trials, for the speed report only
pub fn run(
    plan: &Plan,
    opts: &RunOptions,
    first_job: usize,
    stop: &AtomicBool,
    on_row: &mut dyn FnMut(TrialRow, Duration) -> Result<(), String>,
) -> RunOutput {
    let started = Instant::now();
    let jobs = jobs(plan, opts);
    let prepared: Vec<Box<dyn Trials>> = plan
        .points
        .iter()
        .map(|p| (p.workload.path.prepare)(&p.workload))
        .collect();
    let threads = opts.threads.max(1);
    let window = READ_AHEAD * threads;
    // (next job to hand out, jobs handed to `on_row`).
    let gate = Mutex::new((first_job, first_job));
    let moved = Condvar::new();
    let (tx, rx) = mpsc::channel::<(usize, TrialRow, Duration)>();
    let mut done = first_job;
    let mut failed = None;
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (jobs, prepared, gate, moved) = (&jobs, &prepared, &gate, &moved);
            s.spawn(move || loop {
                let i = {
                    let mut g = gate.lock().expect("no worker panics holding the gate");
                    loop {
                        if stop.load(Ordering::Relaxed) || g.0 >= jobs.len() {
                            return;
                        }
                        if g.0 < g.1 + window {
                            break;
                        }
                        // A signal handler raises `stop` but cannot notify, so
                        // look at it again now and then; the timeout decides
                        // nothing but how soon a stop is seen.
                        g = moved
                            .wait_timeout(g, Duration::from_millis(20))
                            .expect("no worker panics holding the gate")
                            .0;
                    }
                    g.0 += 1;
                    g.0 - 1
                };
                let (point, trial) = jobs[i];
                let seed = rng::trial_seed(plan.points[point].workload.seed, trial);
                let t = Instant::now();
                let Trial {
                    mut out,
                    load_start,
                    columns,
                } = prepared[point].run(seed, opts, stop);
                if out.aborted {
                    return;
                }
                let timeline = if opts.timeline {
                    metrics::timeline(&out)
                } else {
                    Vec::new()
                };
                let row = TrialRow {
                    point,
                    trial,
                    seed,
                    metrics: metrics::compute(&mut out, load_start),
                    events: out.events,
                    sim_end: out.end,
                    trace_hash: out.trace_hash,
                    violations: out.violations,
                    trace: out.trace,
                    columns,
                    timeline,
                };
                if tx.send((i, row, t.elapsed())).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        // The reorder buffer: finished trials waiting for an earlier one.
        let mut waiting: BTreeMap<usize, (TrialRow, Duration)> = BTreeMap::new();
        for (i, row, busy) in rx {
            if failed.is_some() {
                continue; // drain, so that no worker blocks on a send
            }
            waiting.insert(i, (row, busy));
            while let Some((row, busy)) = waiting.remove(&done) {
                if let Err(e) = on_row(row, busy) {
                    failed = Some(e);
                    stop.store(true, Ordering::SeqCst);
                    break;
                }
                done += 1;
            }
            gate.lock().expect("no worker panics holding the gate").1 = done;
            moved.notify_all();
        }
    });
    RunOutput {
        aborted: done < jobs.len(),
        done: done as u64,
        planned: jobs.len() as u64,
        wall: started.elapsed(),
        failed,
    }
}

/// A run's memory needs, estimated before it starts, so a workload that
/// cannot fit is refused before anything is created.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryEstimate {
    /// The largest trial of the plan (bytes).
    pub per_trial: u64,
    /// Trials in memory at once.
    pub threads: u64,
    /// Finished rows waiting in the reorder buffer, and each point's summary
    /// accumulators (bytes); rows are written as they come, not kept.
    pub rows: u64,
}

/// Bytes per node of engine state (queues, streams, link and timer tables)
/// and model state: a conservative allowance (a `zookeeper/fle` client and
/// its share of pending events take well under this; the 100,000-client
/// quickstart's 4.1 GB peak was mostly the replicated log, [`LOG_BYTES`]).
const NODE_BYTES: u64 = 2_500;
/// Bytes per server pair (links, handlers, vote tables).
const SERVER_PAIR_BYTES: u64 = 256;
/// Bytes per successful write kept until the trial ends (its latency, with
/// the slack of a growing vector).
const WRITE_BYTES: u64 = 16;
/// Bytes per write per server for a replicated log that keeps every entry
/// (ZooKeeper's model logs 24-byte transactions and never truncates), with
/// the slack of a growing vector.
const LOG_BYTES: u64 = 40;
/// Bytes per finished trial's row.
const ROW_BYTES: u64 = 1_024;
/// Bytes per timeline row.
const TIMELINE_ROW_BYTES: u64 = 64;
/// Bytes of one point's summary accumulators: a dozen HdrHistograms of 3
/// significant digits over values up to hours in microseconds.
const POINT_SUMMARY_BYTES: u64 = 4 << 20;

impl MemoryEstimate {
    /// Peak bytes of the whole run.
    pub fn total(&self) -> u64 {
        self.per_trial * self.threads + self.rows
    }
}

/// Estimate the memory `plan` needs on `threads` threads, from the workload
/// alone: a trial's writes are its clients' rate times their active time,
/// so a pure closed loop (`rate_per_s = 0`) counts none here. The pilot
/// measures them ([`estimate_memory_after`]).
pub fn estimate_memory(plan: &Plan, opts: &RunOptions) -> MemoryEstimate {
    estimate_with(plan, opts, |_| 0.0)
}

/// [`estimate_memory`], with each point's writes per trial at least what
/// `pilot` measured (a point it did not sample: the most it measured on
/// any): what makes a closed loop's replicated log count.
pub fn estimate_memory_after(plan: &Plan, opts: &RunOptions, pilot: &Pilot) -> MemoryEstimate {
    let most = pilot.writes.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    estimate_with(plan, opts, |p| {
        pilot.writes.get(p).copied().flatten().unwrap_or(most)
    })
}

fn estimate_with(
    plan: &Plan,
    opts: &RunOptions,
    measured: impl Fn(usize) -> f64,
) -> MemoryEstimate {
    let mut per_trial = 0u64;
    let mut row_max = 0u64;
    let mut points = 0u64;
    let jobs = jobs(plan, opts);
    for (p, point) in plan.points.iter().enumerate() {
        let w = &point.workload;
        let servers = w.nodes as u64;
        let clients = w.load.clients as u64;
        let active_s = w.duration.0.saturating_sub(w.load.start.0) as f64 / 1e9;
        let writes = (clients as f64 * w.load.rate_per_s * active_s * (1.0 - w.load.read_ratio))
            .max(measured(p));
        let trial = (1 << 20)
            + (servers + clients) * NODE_BYTES
            + servers * servers * SERVER_PAIR_BYTES
            + (writes * (WRITE_BYTES + servers * LOG_BYTES) as f64) as u64;
        per_trial = per_trial.max(trial);
        if !jobs.iter().any(|j| j.0 == p) {
            continue;
        }
        points += 1;
        let mut row = ROW_BYTES;
        if opts.timeline {
            let buckets = w.duration.0 / crate::engine::stats::BUCKET.0;
            row += (buckets + servers * 20) * TIMELINE_ROW_BYTES;
        }
        row_max = row_max.max(row);
    }
    let threads = opts.threads.max(1);
    let buffered = jobs.len().min((READ_AHEAD + 1) * threads) as u64;
    MemoryEstimate {
        per_trial,
        threads: (threads as u64).min(jobs.len().max(1) as u64),
        rows: buffered * row_max + points * POINT_SUMMARY_BYTES,
    }
}

/// Memory this machine has available now (`MemAvailable`), if it says.
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes as a person reads them.
pub fn fmt_bytes(b: u64) -> String {
    let gib = b as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

/// Refuse a run whose estimate exceeds 90 % of the memory available.
pub fn check_memory(est: &MemoryEstimate, available: Option<u64>) -> Result<(), String> {
    let Some(avail) = available else {
        return Ok(());
    };
    if est.total() as f64 <= avail as f64 * 0.9 {
        return Ok(());
    }
    Err(format!(
        "the run needs about {} of memory ({} per trial x {} thread(s) + {} of results) but \
         {} is available: lower clients.count, duration_ms, trials or --threads",
        fmt_bytes(est.total()),
        fmt_bytes(est.per_trial),
        est.threads,
        fmt_bytes(est.rows),
        fmt_bytes(avail)
    ))
}

/// What a short pilot says a run will cost, before it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Pilot {
    /// Simulated events of the whole run.
    pub events: f64,
    /// Wall time of the whole run on the run's threads.
    pub wall: Duration,
    /// Sweep points the pilot ran a trial of (the others are assumed to
    /// cost their average).
    pub sampled: usize,
    /// Per sweep point, the writes (ok or failed) of one whole trial,
    /// extrapolated from the share the pilot ran; `None` when not sampled.
    pub writes: Vec<Option<f64>>,
}

/// Most sweep points a pilot samples.
const PILOT_POINTS: usize = 8;

/// Run the first selected trial of up to [`PILOT_POINTS`] sweep points, each
/// for at most its share of `budget` of wall time (a trial cut short is
/// extrapolated from the simulated time it reached), and estimate the
/// whole run's events and wall time. Nothing is written; the pilot's trials
/// are run again by the run itself.
#[allow(clippy::disallowed_methods)] // wall time of the pilot, for the estimate only
pub fn pilot(plan: &Plan, opts: &RunOptions, budget: Duration) -> Pilot {
    let jobs = jobs(plan, opts);
    let mut per_point: Vec<u64> = vec![0; plan.points.len()];
    for &(p, _) in &jobs {
        per_point[p] += 1;
    }
    let firsts: Vec<(usize, u64)> = plan
        .points
        .iter()
        .enumerate()
        .filter_map(|(p, _)| jobs.iter().find(|j| j.0 == p).copied())
        .take(PILOT_POINTS)
        .collect();
    let share = budget / firsts.len().max(1) as u32;
    let quiet = RunOptions {
        trace: false,
        timeline: false,
        ..opts.clone()
    };
    let mut sampled: Vec<(usize, f64, f64)> = Vec::new();
    let mut writes: Vec<Option<f64>> = vec![None; plan.points.len()];
    for &(point, trial) in &firsts {
        let w = &plan.points[point].workload;
        let model = (w.path.prepare)(w);
        let stop = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel::<()>();
        let t = Instant::now();
        let out = std::thread::scope(|s| {
            let stop = &stop;
            s.spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(share) {
                    stop.store(true, Ordering::Relaxed);
                }
            });
            let trial = model.run(rng::trial_seed(w.seed, trial), &quiet, stop);
            drop(tx);
            trial.out
        });
        let wall = t.elapsed().as_secs_f64();
        // The share of the trial's simulated time the pilot covered.
        let covered = if out.aborted {
            (out.end.0 as f64 / w.duration.0.max(1) as f64).clamp(1e-9, 1.0)
        } else {
            1.0
        };
        sampled.push((point, out.events as f64 / covered, wall / covered));
        let made = out.clients.writes_ok + out.clients.writes_failed;
        writes[point] = Some(made as f64 / covered);
    }
    let n = sampled.len().max(1) as f64;
    let avg_events = sampled.iter().map(|s| s.1).sum::<f64>() / n;
    let avg_wall = sampled.iter().map(|s| s.2).sum::<f64>() / n;
    let (mut events, mut wall) = (0.0, 0.0);
    for (p, &trials) in per_point.iter().enumerate() {
        let (e, w) = sampled
            .iter()
            .find(|s| s.0 == p)
            .map_or((avg_events, avg_wall), |s| (s.1, s.2));
        events += e * trials as f64;
        wall += w * trials as f64;
    }
    let threads = (opts.threads.max(1) as f64).min(jobs.len().max(1) as f64);
    Pilot {
        events,
        wall: Duration::from_secs_f64(wall / threads),
        sampled: sampled.len(),
        writes,
    }
}

/// A duration as a person reads it.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
name = "one"
path = "zookeeper/fle"
seed = 3
trials = 1
nodes = 3
duration_ms = 5000
"#;

    fn opts() -> RunOptions {
        RunOptions::default()
    }

    #[test]
    fn a_pilot_that_runs_a_whole_trial_counts_its_events_exactly() {
        let plan = crate::workload::parse("one.toml", ONE).unwrap();
        let p = pilot(&plan, &opts(), Duration::from_secs(30));
        let mut run_events = 0;
        let out = run(&plan, &opts(), 0, &AtomicBool::new(false), &mut |row, _| {
            run_events += row.events;
            Ok(())
        });
        assert_eq!(out.done, 1);
        assert_eq!((p.events, p.sampled), (run_events as f64, 1));
    }

    #[test]
    fn a_closed_loops_writes_count_in_the_memory_estimate_once_the_pilot_has_run() {
        let text = format!("{ONE}\n[clients]\ncount = 2\nconcurrency = 4\nrate_per_s = 0\n");
        let plan = crate::workload::parse("closed.toml", &text).unwrap();
        // No rate: the workload alone says nothing of the writes.
        let before = estimate_memory(&plan, &opts());
        let p = pilot(&plan, &opts(), Duration::from_secs(30));
        let mut writes = 0;
        run(&plan, &opts(), 0, &AtomicBool::new(false), &mut |row, _| {
            writes += row.metrics.writes_ok + row.metrics.writes_failed;
            Ok(())
        });
        assert!(writes > 1_000, "{writes}");
        assert_eq!(p.writes, vec![Some(writes as f64)]);
        let after = estimate_memory_after(&plan, &opts(), &p);
        let servers = plan.points[0].workload.nodes as u64;
        assert_eq!(
            after.per_trial - before.per_trial,
            (writes as f64 * (WRITE_BYTES + servers * LOG_BYTES) as f64) as u64
        );
    }

    #[test]
    fn a_pilot_cut_short_extrapolates_from_the_simulated_time_it_reached() {
        let day = ONE
            .replace("duration_ms = 5000", "duration_ms = 86400000")
            .replace("nodes = 3", "nodes = 25")
            + "\n[params]\ntickTime = 100\n";
        let plan = crate::workload::parse("day.toml", &day).unwrap();
        // A day of 25 servers pinging every 50 ms is some 40 million events:
        // it cannot finish in 50 ms of wall time.
        let p = pilot(&plan, &opts(), Duration::from_millis(50));
        assert!(p.events.is_finite() && p.events > 0.0);
        assert!(p.wall > Duration::from_millis(50), "{:?}", p.wall);
    }

    #[test]
    fn the_wait_left_out_of_leader_selection_is_finalize_wait_on_both_zookeeper_paths_only() {
        // The same FastLeaderElection runs under zookeeper/fle and
        // zookeeper/ephemeral, in either runtime; no other path has a
        // configured wait inside its election.
        let wait = |path: &str, extra: &str, runtime: &str| {
            let text = format!(
                "name = \"w\"\npath = \"{path}\"\nruntime = \"{runtime}\"\nnodes = 3\n\
                 duration_ms = 100\n{extra}"
            );
            let plan = crate::workload::parse("w.toml", &text).unwrap();
            let w = &plan.points[0].workload;
            (w.path.prepare)(w).election_wait()
        };
        for runtime in ["sim", "live"] {
            let fw = "[params]\nfinalizeWait = 37\n";
            assert_eq!(wait("zookeeper/fle", fw, runtime), SimDuration::from_ms(37));
            assert_eq!(
                wait("zookeeper/ephemeral", fw, runtime),
                SimDuration::from_ms(37)
            );
            assert_eq!(
                wait("zookeeper/ephemeral", "", runtime),
                SimDuration::from_ms(200)
            );
            assert_eq!(wait("raft/etcd", "", runtime), SimDuration::ZERO);
        }
    }
}
