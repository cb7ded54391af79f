//! The command line: parse, wire, print. The only module that sees everything.
//!
//! Exit codes are a contract: 0 ok, 1 a violation found, 2 bad usage or input
//! (nothing measured), 3 results could not be written, 128 + the signal when
//! interrupted by SIGINT (130), SIGTERM (143) or SIGHUP (129) (the finished
//! trials are written; `run --resume DIR` finishes the run).

mod resume;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::results::{self, provenance, Provenance};
use crate::runner::{self, RunOptions};
use crate::systems;
use crate::workload::{self, Plan};

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: a safety violation (or, later, a regression) was found.
pub const EXIT_FINDING: i32 = 1;
/// Exit code: bad usage or input; nothing was measured.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: results could not be written (disk full, no permission, ...);
/// the message names the file and the system's error.
pub const EXIT_IO: i32 = 3;
/// Exit code: interrupted by Ctrl-C (SIGINT); finished trials were written.
/// SIGTERM and SIGHUP give 128 + their number (143, 129) the same way.
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(Parser, Debug)]
#[command(
    name = "electbench",
    version,
    about = "Benchmark and load-testing harness for leader election and failover",
    long_about = "Benchmark and load-testing harness for leader election and failover.\n\n\
                  Runs workload files (see workloads/README.md) against models of ZooKeeper, \
                  Kafka, Redis, Eureka and RocketMQ failover paths and writes CSV results \
                  (see results/README.md)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a workload file; print a summary and write raw.csv, summary.csv and meta.json.
    Run(RunArgs),
    /// Check workload files without running them.
    Validate {
        /// Workload files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the modelled paths and every parameter with its real default and unit.
    List {
        /// Only this path (e.g. zookeeper/fle).
        path: Option<String>,
    },
    /// Compare two sets of results (run folders or raw.csv files): medians
    /// with 95 % intervals, change and p-value per group and metric.
    Compare(results::compare::CompareArgs),
    /// Draw a figure (SVG or PNG) from run folders: cdf, sweep or timeline.
    Plot(crate::plot::PlotArgs),
    /// Merge the per-trial latency histograms (histograms.csv) of one or
    /// more runs per workload, sweep point and metric, and print count,
    /// min, p50, p90, p95, p99, p999, max and mean (µs).
    Hist(HistArgs),
}

#[derive(clap::Args, Debug)]
struct HistArgs {
    /// Run folders or histograms.csv files; the trials of all of them are
    /// merged (a trial given twice is an error).
    #[arg(required = true, value_name = "RUN")]
    runs: Vec<PathBuf>,
    /// Only this metric.
    #[arg(long, value_parser = ["commit_latency_us", "read_latency_us"])]
    metric: Option<String>,
    /// Only this sweep point (0-based).
    #[arg(long)]
    point: Option<u64>,
    /// Write CSV instead of an aligned table.
    #[arg(long)]
    csv: bool,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Workload file (TOML).
    #[arg(required_unless_present = "resume")]
    file: Option<PathBuf>,
    /// Finish the interrupted or killed run in DIR: its workload file and
    /// options come from DIR/meta.json; the missing trials are run and
    /// appended.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "out", "seed", "trials", "point", "trial", "trace", "timeline"])]
    resume: Option<PathBuf>,
    /// Folder that receives a new sub-folder per run.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Override the workload's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the workload's trial count.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    trials: Option<u64>,
    /// Worker threads (default: the number of CPUs). A live run always runs
    /// one trial at a time (its nodes run on the workload's `workers`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Run on this runtime whatever the workload says: `sim` or `live`.
    #[arg(long, value_parser = ["sim", "live"])]
    runtime: Option<String>,
    /// Run only this sweep point (0-based, as in the `point` column).
    #[arg(long)]
    point: Option<usize>,
    /// Run only this trial (0-based, as in the `trial` column) of each point.
    #[arg(long)]
    trial: Option<u64>,
    /// Print every event of the trial to stderr (needs --trial).
    #[arg(long)]
    trace: bool,
    /// Also write timeline.csv: every trial's phase events and client
    /// successes per 100 ms after the fault.
    #[arg(long)]
    timeline: bool,
    /// Run even when the memory estimate says the run does not fit.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

impl RunArgs {
    /// The workload file (given, or recorded by the run being resumed).
    fn file(&self) -> &Path {
        self.file.as_deref().expect("set before the run starts")
    }
}

/// Wall time the pilot may take before a run starts.
const PILOT_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);
/// A run estimated to take longer than this says so when it starts.
const LONG_RUN: std::time::Duration = std::time::Duration::from_secs(180);

/// Parse the arguments, run the command, return the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { files } => Ok(validate(&files)),
        Command::List { path } => list(path.as_deref()),
        Command::Compare(args) => compare(&args),
        Command::Plot(args) => crate::plot::run(args),
        Command::Hist(args) => hist(&args),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            EXIT_USAGE
        }
    }
}

/// Worker threads when `--threads` is not given: one per CPU.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Print the plan's warnings to stderr: they do not stop anything.
fn print_warnings(plan: &Plan) {
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
}

/// `s` quoted for a POSIX shell: as is when only safe characters, else in
/// single quotes with each `'` written `'\''`.
fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A path for a shell command line. A path that is not UTF-8 is written as
/// bash's `$'...'` with `\xNN` escapes, so the command still names the
/// same file.
fn shell_path(p: &Path) -> String {
    if let Some(s) = p.to_str() {
        return shell_quote(s);
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut q = String::from("$'");
        for &b in p.as_os_str().as_bytes() {
            if b.is_ascii_alphanumeric() || b"/._-+=:,@% ".contains(&b) {
                q.push(b as char);
            } else {
                q.push_str(&format!("\\x{b:02x}"));
            }
        }
        q.push('\'');
        q
    }
    #[cfg(not(unix))]
    shell_quote(&p.to_string_lossy())
}

/// The command that re-runs trial `trial` of point `point` alone with its
/// trace: every override that changes which trial that is (`--seed`,
/// `--trials`, which `--trial` is checked against) is repeated.
fn replay_command(args: &RunArgs, plan: &Plan, point: usize, trial: u64) -> String {
    let trials = args
        .trials
        .map_or(String::new(), |t| format!(" --trials {t}"));
    format!(
        "electbench run {}{trials} --seed {} --point {point} --trial {trial} --trace",
        shell_path(args.file()),
        plan.points[point].workload.seed,
    )
}

fn validate(files: &[PathBuf]) -> i32 {
    let mut code = EXIT_OK;
    for f in files {
        match workload::load(f) {
            Ok(plan) => {
                print_warnings(&plan);
                let w = &plan.points[0].workload;
                let opts = RunOptions {
                    threads: default_threads(),
                    only_point: None,
                    only_trial: None,
                    trace: false,
                    timeline: false,
                };
                let est = runner::estimate_memory(&plan, &opts);
                if let Err(why) = runner::check_memory(&est, runner::available_memory()) {
                    eprintln!("error: {}: {why}", f.display());
                    code = EXIT_USAGE;
                    continue;
                }
                println!(
                    "ok {}: {} ({}), {} sweep point{} x {} trials; about {} of memory on {} thread(s)",
                    f.display(),
                    plan.name,
                    w.path.path,
                    plan.points.len(),
                    if plan.points.len() == 1 { "" } else { "s" },
                    w.trials,
                    runner::fmt_bytes(est.total()),
                    est.threads
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = EXIT_USAGE;
            }
        }
    }
    code
}

fn list(only: Option<&str>) -> Result<i32, String> {
    let paths: Vec<&systems::PathInfo> = match only {
        Some(p) => vec![systems::find(p).ok_or_else(|| {
            let all: Vec<&str> = systems::paths().iter().map(|p| p.path).collect();
            format!("unknown path {p:?}; allowed: {}", all.join(", "))
        })?],
        None => systems::paths().iter().collect(),
    };
    for p in paths {
        println!("{}", p.path);
        println!("  {}", p.summary);
        println!("  node groups (the first is sized by `nodes`, any by [topology] NAME = N):");
        for g in p.groups {
            let default = g
                .default
                .map_or(String::from("required"), |d| format!("default {d}"));
            println!(
                "    {:<14} {}..={} nodes, {}; target word `{}` or `{}:N`",
                g.name, g.min, g.max, default, g.word, g.word
            );
            println!("      {}", g.doc);
        }
        println!("  fault targets: {}", p.target_words().join(", "));
        for t in p.targets {
            println!("    {:<14} {}", t.word, t.doc);
        }
        println!("  parameters ([params] in a workload file):");
        for s in p.params {
            println!(
                "    {:<46} default {:>8} {:<6} allowed: {}",
                s.name,
                s.default_text(),
                s.unit,
                s.allowed()
            );
            println!("      {}", s.doc);
        }
        if !p.columns.is_empty() {
            println!("  extra result columns (raw.csv, after the common ones):");
            for c in p.columns {
                let better = match c.better {
                    systems::Better::Lower => "lower is better",
                    systems::Better::Higher => "higher is better",
                };
                println!("    {:<24} {:<4} {better}: {}", c.name, c.unit, c.doc);
            }
        }
        println!();
    }
    Ok(EXIT_OK)
}

/// `compare`: exit 0, 1 for a regression past `--fail-on-regression`, or
/// an error (exit 2) for bad input; the work is in `results::compare`.
fn compare(args: &results::compare::CompareArgs) -> Result<i32, String> {
    results::compare::run(args)
}

/// `hist`: the merged histograms' statistics; bad input is exit 2.
fn hist(args: &HistArgs) -> Result<i32, String> {
    let mut groups = results::histograms::merge(&args.runs)?;
    groups.retain(|(_, _, _, point, metric), _| {
        args.point.is_none_or(|p| p == *point) && args.metric.as_ref().is_none_or(|m| m == metric)
    });
    if groups.is_empty() {
        return Err("no histogram matches --point/--metric in the given runs".into());
    }
    print!("{}", results::histograms::table(&groups, args.csv));
    Ok(EXIT_OK)
}

fn apply_overrides(plan: &mut Plan, args: &RunArgs) -> Result<(), String> {
    for p in &mut plan.points {
        match args.runtime.as_deref() {
            Some("live") => p.workload.runtime = workload::Runtime::Live,
            Some("sim") => p.workload.runtime = workload::Runtime::Sim,
            _ => {}
        }
        if let Some(s) = args.seed {
            p.workload.seed = s;
        }
        if let Some(t) = args.trials {
            p.workload.trials = t;
        }
    }
    if let Some(p) = args.point {
        if p >= plan.points.len() {
            return Err(format!(
                "--point {p}: {} has {} sweep point(s); allowed: 0..={}",
                args.file().display(),
                plan.points.len(),
                plan.points.len() - 1
            ));
        }
    }
    if let Some(t) = args.trial {
        let trials = plan.points[0].workload.trials;
        if t >= trials {
            return Err(format!(
                "--trial {t}: the run has {trials} trial(s) per point; allowed: 0..={}",
                trials - 1
            ));
        }
    }
    if args.trace && args.trial.is_none() {
        return Err("--trace needs --trial N (a trace of every trial would be enormous)".into());
    }
    Ok(())
}

fn run(mut args: RunArgs) -> Result<i32, String> {
    // A resumed run takes its workload file and options from the folder.
    let resumed = match args.resume.take() {
        Some(dir) => Some(resume::prepare(&dir, &mut args)?),
        None => None,
    };
    let mut plan = match workload::load(args.file()) {
        Ok(p) => p,
        Err(e) => return Err(e.to_string()),
    };
    if let Some(r) = &resumed {
        r.check_workload(&plan)?;
    }
    apply_overrides(&mut plan, &args)?;
    print_warnings(&plan);
    let live = plan
        .points
        .iter()
        .any(|p| p.workload.runtime == workload::Runtime::Live);
    // Live trials measure the machine: never two at once.
    let threads = if live {
        1
    } else {
        args.threads.map_or_else(default_threads, |t| t as usize)
    };
    let opts = RunOptions {
        threads,
        only_point: args.point,
        only_trial: args.trial,
        trace: args.trace,
        timeline: args.timeline,
    };
    // Refuse what cannot fit before anything is created (`--force` runs it
    // anyway, with a warning).
    let fits = |est: &runner::MemoryEstimate, when: &str| -> Result<(), String> {
        let Err(why) = runner::check_memory(est, runner::available_memory()) else {
            return Ok(());
        };
        let file = args.file().display();
        if !args.force {
            return Err(format!(
                "{file}: {when}{why} (or give --force to run anyway)"
            ));
        }
        eprintln!("warning: {file}: {when}{why}; running anyway (--force)");
        Ok(())
    };
    fits(&runner::estimate_memory(&plan, &opts), "")?;
    // A short pilot says what the run will cost before anything is created.
    let pilot = runner::pilot(&plan, &opts, PILOT_BUDGET);
    // What the pilot wrote counts too: a closed loop's writes (and its
    // replicated log) are not in the workload's numbers.
    let est = runner::estimate_memory_after(&plan, &opts, &pilot);
    fits(&est, "after a pilot trial: ")?;
    let start = provenance::unix_now();
    let (stamp, started_utc) = provenance::utc_stamps(start);
    let prov = Provenance::detect();
    let dir = match &resumed {
        Some(r) => r.dir.clone(),
        None => results::create_run_dir(&args.out, &plan.name, &stamp).map_err(|e| {
            format!(
                "--out {}: cannot create a results folder there: {e}; give a writable folder",
                args.out.display()
            )
        })?,
    };
    // SIGINT, SIGTERM and SIGHUP all stop the run the same way; `signal`
    // remembers which one came, for the exit code.
    let stop = Arc::new(AtomicBool::new(false));
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize);
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let planned = runner::jobs(&plan, &opts).len();
    let mut meta = match &resumed {
        Some(r) => r.meta_resumed(&started_utc, threads),
        None => resume::meta_start(&plan, &prov, &args, threads, &started_utc, planned),
    };
    let io_failed = |msg: String, done: u64| {
        eprintln!(
            "error: cannot write results: {msg}\n{done} of {planned} trial(s) are in {}; \
             once the cause is fixed, `electbench run --resume {}` finishes the run",
            dir.display(),
            dir.display()
        );
        Ok(EXIT_IO)
    };
    if let Err(e) = resume::write_meta(&dir, &meta) {
        return io_failed(e, 0);
    }
    let writer = match &resumed {
        Some(_) => results::RunWriter::resume(&dir, &plan, &prov, opts.timeline),
        None => results::RunWriter::create(&dir, &plan, &prov, opts.timeline),
    };
    let mut writer = match writer {
        Ok(w) => w,
        Err(e) if resumed.is_some() => return Err(e),
        Err(e) => return io_failed(e, 0),
    };
    let left = match writer.done {
        0 => format!("{planned} trial(s)"),
        d => format!(
            "resuming: {} of {planned} trial(s) left",
            planned as u64 - d
        ),
    };
    eprintln!(
        "electbench: {left} of {} on {threads} thread(s), about {} of memory, {:.3e} events and {} (pilot of {} point(s)); results go to {} (Ctrl-C stops and keeps finished trials)",
        plan.name,
        runner::fmt_bytes(est.total()),
        pilot.events,
        runner::fmt_duration(pilot.wall),
        pilot.sampled,
        dir.display()
    );
    if pilot.wall > LONG_RUN {
        eprintln!(
            "electbench: this run should take about {}; Ctrl-C (or SIGTERM) stops it with every finished trial kept, and `electbench run --resume {}` finishes it later",
            runner::fmt_duration(pilot.wall),
            dir.display()
        );
    }

    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(planned as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {wide_bar} {pos}/{len} trials {elapsed_precise} eta {eta}",
            )
            .expect("static template"),
        );
        b
    });
    // For tests of a run killed mid-way: stop taking rows after this many
    // are written, until a signal stops the run.
    let pause_after: Option<u64> = std::env::var("ELECTBENCH_TEST_PAUSE_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    let first_job = writer.done as usize;
    let out = runner::run(&plan, &opts, first_job, &stop, &mut |row, busy| {
        for line in &row.trace {
            eprintln!("{line}");
        }
        writer.write_row(row, busy)?;
        if let Some(b) = &bar {
            b.set_position(writer.done);
        }
        if pause_after == Some(writer.done) {
            // A checkpoint here makes what a resume restores the same on
            // every run of the test.
            writer.checkpoint()?;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        Ok(())
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(msg) = out.failed {
        return io_failed(msg, writer.done);
    }
    let sig = signal.load(Ordering::SeqCst);
    if let Err(e) = finish(&dir, &plan, &prov, &mut writer, &mut meta, &out, sig) {
        return io_failed(e, writer.done);
    }

    print!("{}", results::terminal_table(&plan, &writer.points));
    let sim_s: f64 = writer.points.iter().map(|t| t.sim_ns as f64 / 1e9).sum();
    let events: u64 = writer.points.iter().map(|t| t.events).sum();
    let wall = out.wall.as_secs_f64().max(1e-9);
    println!(
        "\n{} of {} trials in {:.3} s wall on {threads} thread(s): {:.0}x real time, {:.2} M events/s",
        writer.done,
        out.planned,
        wall,
        sim_s / wall,
        events as f64 / wall / 1e6
    );
    println!("results: {}", dir.display());

    if !writer.violations.is_empty() {
        let mut trials: Vec<(usize, u64)> = writer
            .violations
            .iter()
            .map(|v| (v.point, v.trial))
            .collect();
        trials.dedup();
        eprintln!("\n{} trial(s) violated a safety invariant:", trials.len());
        for &(point, trial) in trials.iter().take(SHOWN_VIOLATIONS) {
            for v in writer
                .violations
                .iter()
                .filter(|v| (v.point, v.trial) == (point, trial))
            {
                eprintln!(
                    "  point {} trial {} (trial seed {}) at {}: {}",
                    v.point, v.trial, v.seed, v.at, v.what
                );
            }
            eprintln!("  replay: {}", replay_command(&args, &plan, point, trial));
        }
        if trials.len() > SHOWN_VIOLATIONS {
            eprintln!(
                "  ... and {} more trial(s)",
                trials.len() - SHOWN_VIOLATIONS
            );
        }
        if let Err(e) = write_violations(&dir, &plan, &writer.violations, &prov, &args) {
            return io_failed(e, writer.done);
        }
        eprintln!(
            "every violation, with its replay command: {}",
            dir.join("violations.csv").display()
        );
        return Ok(EXIT_FINDING);
    }
    if out.aborted {
        eprintln!(
            "interrupted: {} of {} trials finished and were written to {}; \
             `electbench run --resume {}` finishes the run",
            writer.done,
            out.planned,
            dir.display(),
            dir.display()
        );
        return Ok(if sig == 0 {
            EXIT_INTERRUPTED
        } else {
            128 + sig as i32
        });
    }
    Ok(EXIT_OK)
}

/// Most violating trials listed on the terminal; `violations.csv` has all.
const SHOWN_VIOLATIONS: usize = 20;

/// `violations.csv`: every violation of every trial, with its replay command.
/// Replaced, not refused, when it exists: a resumed run lists the violations
/// of its earlier part again.
fn write_violations(
    dir: &Path,
    plan: &Plan,
    violations: &[results::ViolationNote],
    prov: &Provenance,
    args: &RunArgs,
) -> Result<(), String> {
    let csv = results::violations_csv(plan, violations, prov, |point, trial| {
        replay_command(args, plan, point, trial)
    });
    results::replace_atomic(dir, "violations.csv", &csv)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", dir.join("violations.csv").display()))
}

/// End a run: the last checkpoint, `summary.csv`, and `meta.json` saying
/// whether the run is complete; a complete run's checkpoint is removed.
fn finish(
    dir: &Path,
    plan: &Plan,
    prov: &Provenance,
    writer: &mut results::RunWriter,
    meta: &mut serde_json::Value,
    out: &runner::RunOutput,
    signal: usize,
) -> Result<(), String> {
    writer.checkpoint()?;
    writer.median_cis_from_raw()?;
    // Replacing: an interrupted run that is resumed wrote a summary of its
    // part.
    results::replace_atomic(
        dir,
        "summary.csv",
        &results::summary_csv(plan, &writer.points, prov),
    )
    .map_err(|e| e.to_string())?;
    resume::meta_finish(meta, writer, out, signal);
    resume::write_meta(dir, meta)?;
    if !out.aborted {
        writer.remove_checkpoint()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_spaces_quotes_and_bytes_that_are_not_utf8() {
        assert_eq!(shell_quote("workloads/a-b_c.toml"), "workloads/a-b_c.toml");
        assert_eq!(shell_quote("my file.toml"), "'my file.toml'");
        assert_eq!(shell_quote("it's.toml"), r"'it'\''s.toml'");
        assert_eq!(shell_quote(""), "''");
        #[cfg(unix)]
        {
            use std::ffi::OsStr;
            use std::os::unix::ffi::OsStrExt;
            let p = Path::new(OsStr::from_bytes(b"a b/w\xff'.toml"));
            assert_eq!(shell_path(p), r"$'a b/w\xff\x27.toml'");
        }
    }
}
