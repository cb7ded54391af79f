//! The command line: parse, wire, print. The only module that sees everything.
//!
//! Exit codes are a contract: 0 ok, 1 a violation found, 2 bad usage or input
//! (nothing measured), 130 interrupted (the finished trials are written).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use crate::results::{self, provenance, Provenance};
use crate::runner::{self, RunOptions, RunOutput};
use crate::systems;
use crate::workload::{self, Plan};

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: a safety violation (or, later, a regression) was found.
pub const EXIT_FINDING: i32 = 1;
/// Exit code: bad usage or input; nothing was measured.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: interrupted by Ctrl-C; finished trials were written.
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
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Workload file (TOML).
    file: PathBuf,
    /// Folder that receives a new sub-folder per run.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Override the workload's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the workload's trial count.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    trials: Option<u64>,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
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
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

static STOP: AtomicBool = AtomicBool::new(false);

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
        shell_path(&args.file),
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

fn apply_overrides(plan: &mut Plan, args: &RunArgs) -> Result<(), String> {
    for p in &mut plan.points {
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
                args.file.display(),
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

fn run(args: RunArgs) -> Result<i32, String> {
    let mut plan = match workload::load(&args.file) {
        Ok(p) => p,
        Err(e) => return Err(e.to_string()),
    };
    apply_overrides(&mut plan, &args)?;
    print_warnings(&plan);
    let threads = args.threads.map_or_else(default_threads, |t| t as usize);
    let opts = RunOptions {
        threads,
        only_point: args.point,
        only_trial: args.trial,
        trace: args.trace,
        timeline: args.timeline,
    };
    // Refuse what cannot fit before anything is created.
    let est = runner::estimate_memory(&plan, &opts);
    runner::check_memory(&est, runner::available_memory())
        .map_err(|why| format!("{}: {why}", args.file.display()))?;
    let start = provenance::unix_now();
    let (stamp, started_utc) = provenance::utc_stamps(start);
    let dir = results::create_run_dir(&args.out, &plan.name, &stamp).map_err(|e| {
        format!(
            "--out {}: cannot create a results folder there: {e}; give a writable folder",
            args.out.display()
        )
    })?;
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst));
    let planned = runner::jobs(&plan, &opts).len();
    eprintln!(
        "electbench: {planned} trial(s) of {} on {threads} thread(s), about {} of memory; results go to {} (Ctrl-C stops and keeps finished trials)",
        plan.name,
        runner::fmt_bytes(est.total()),
        dir.display()
    );

    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {wide_bar} {pos}/{len} trials {elapsed_precise} eta {eta}",
            )
            .expect("static template"),
        );
        b
    });
    let out = runner::run(&plan, &opts, &STOP, &mut |done, total| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    for r in &out.rows {
        for line in &r.trace {
            eprintln!("{line}");
        }
    }
    let prov = Provenance::detect();
    write_results(&dir, &plan, &out, &prov, &args, threads, &started_utc)?;

    print!("{}", results::terminal_table(&plan, &out));
    let sim_s: f64 = out.per_point.iter().map(|t| t.sim_ns as f64 / 1e9).sum();
    let events: u64 = out.per_point.iter().map(|t| t.events).sum();
    let wall = out.wall.as_secs_f64().max(1e-9);
    println!(
        "\n{} of {} trials in {:.3} s wall on {threads} thread(s): {:.0}x real time, {:.2} M events/s",
        out.rows.len(),
        out.planned,
        wall,
        sim_s / wall,
        events as f64 / wall / 1e6
    );
    println!("results: {}", dir.display());

    let violations: Vec<_> = out
        .rows
        .iter()
        .filter(|r| !r.violations.is_empty())
        .collect();
    if !violations.is_empty() {
        eprintln!(
            "\n{} trial(s) violated a safety invariant:",
            violations.len()
        );
        for r in violations.iter().take(SHOWN_VIOLATIONS) {
            for v in &r.violations {
                eprintln!(
                    "  point {} trial {} (trial seed {}) at {}: {}",
                    r.point, r.trial, r.seed, v.at, v.what
                );
            }
            eprintln!(
                "  replay: {}",
                replay_command(&args, &plan, r.point, r.trial)
            );
        }
        write_violations(&dir, &plan, &out, &prov, &args)?;
        if violations.len() > SHOWN_VIOLATIONS {
            eprintln!(
                "  ... and {} more trial(s)",
                violations.len() - SHOWN_VIOLATIONS
            );
        }
        eprintln!(
            "every violation, with its replay command: {}",
            dir.join("violations.csv").display()
        );
        return Ok(EXIT_FINDING);
    }
    if out.aborted {
        eprintln!(
            "interrupted: {} of {} trials finished and were written to {}",
            out.rows.len(),
            out.planned,
            dir.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(EXIT_OK)
}

/// Most violating trials listed on the terminal; `violations.csv` has all.
const SHOWN_VIOLATIONS: usize = 20;

/// `violations.csv`: every violation of every trial, with its replay command.
fn write_violations(
    dir: &Path,
    plan: &Plan,
    out: &RunOutput,
    prov: &Provenance,
    args: &RunArgs,
) -> Result<(), String> {
    let csv = results::violations_csv(plan, out, prov, |r| {
        replay_command(args, plan, r.point, r.trial)
    });
    results::write_atomic(dir, "violations.csv", &csv)
        .map(|_| ())
        .map_err(|e| format!("writing results to {}: {e}", dir.display()))
}

fn write_results(
    dir: &Path,
    plan: &Plan,
    out: &RunOutput,
    prov: &Provenance,
    args: &RunArgs,
    threads: usize,
    started_utc: &str,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("writing results to {}: {e}", dir.display());
    results::write_atomic(dir, "raw.csv", &results::raw_csv(plan, out, prov)).map_err(io)?;
    results::write_atomic(dir, "summary.csv", &results::summary_csv(plan, out, prov))
        .map_err(io)?;
    if args.timeline {
        results::write_atomic(dir, "timeline.csv", &results::timeline_csv(plan, out, prov))
            .map_err(io)?;
    }
    let points: Vec<serde_json::Value> = out
        .per_point
        .iter()
        .enumerate()
        .filter(|(_, t)| t.trials > 0)
        .map(|(i, t)| {
            let busy = t.busy.as_secs_f64();
            serde_json::json!({
                "point": i,
                "trials": t.trials,
                "simulated_s": t.sim_ns as f64 / 1e9,
                "trial_time_s": busy,
                "sim_to_trial_time_ratio": t.sim_ns as f64 / 1e9 / busy.max(1e-9),
                "events": t.events,
                "events_per_s": t.events as f64 / busy.max(1e-9),
            })
        })
        .collect();
    let meta = serde_json::json!({
        "schema_version": results::SCHEMA_VERSION,
        "electbench_version": prov.electbench_version,
        "commit": prov.commit,
        "dirty": prov.dirty,
        // args_os: a path that is not UTF-8 is legal and must not panic here.
        "command_line": std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>(),
        "workload_file": args.file.display().to_string(),
        "workload_sha256": plan.sha256,
        "host": provenance::host_name(),
        "cpu": provenance::cpu_model(),
        "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "os": std::env::consts::OS,
        "threads": threads,
        "started_utc": started_utc,
        "wall_s": out.wall.as_secs_f64(),
        "trials_planned": out.planned,
        "trials_finished": out.rows.len(),
        "interrupted": out.aborted,
        "points": points,
    });
    let text = serde_json::to_string_pretty(&meta).expect("JSON of plain values") + "\n";
    results::write_atomic(dir, "meta.json", &text).map_err(io)?;
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
