//! `meta.json` as a run goes (written first with `"complete": false`, rewritten
//! at the end), and `run --resume DIR`, which reads it back.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::RunArgs;
use crate::results::{self, provenance, Provenance, RunWriter};
use crate::runner::RunOutput;
use crate::workload::Plan;

/// A run folder being resumed.
pub struct Resumed {
    pub dir: PathBuf,
    meta: Value,
    sha256: String,
}

fn read_meta(dir: &Path) -> Result<Value, String> {
    let path = dir.join("meta.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "--resume {}: cannot read {}: {e}",
            dir.display(),
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a run's meta.json: {e}", path.display()))
}

/// Read `dir/meta.json` and set `args` to the workload file and options the
/// run was started with.
pub fn prepare(dir: &Path, args: &mut RunArgs) -> Result<Resumed, String> {
    let meta = read_meta(dir)?;
    let what = |k: &str| format!("{}/meta.json has no {k}", dir.display());
    if meta["complete"] == true {
        return Err(format!(
            "--resume {}: that run is complete; there is nothing to resume",
            dir.display()
        ));
    }
    // Rows carry the commit that measured them: one run, one build.
    let prov = Provenance::detect();
    let was = (
        meta["electbench_version"].as_str().unwrap_or(""),
        meta["commit"].as_str().unwrap_or(""),
        meta["dirty"].as_str().unwrap_or(""),
    );
    let now = (
        prov.electbench_version.as_str(),
        prov.commit.as_str(),
        prov.dirty.as_str(),
    );
    if was != now {
        return Err(format!(
            "--resume {}: the run was measured by electbench {} at commit {} (dirty {}), this binary \
             is {} at commit {} (dirty {}); resume with the build that started it, or start a new run",
            dir.display(),
            was.0,
            was.1,
            was.2,
            now.0,
            now.1,
            now.2
        ));
    }
    // A kill during an atomic replacement leaves its hidden temporary file;
    // the run's own files are rewritten from here, so it can go.
    for name in [
        "meta.json",
        crate::results::stream::CHECKPOINT,
        "summary.csv",
    ] {
        let _ = std::fs::remove_file(dir.join(format!(".{name}.tmp")));
    }
    let file = meta["workload_path"]
        .as_str()
        .ok_or_else(|| what("workload_path"))?;
    let sha256 = meta["workload_sha256"]
        .as_str()
        .ok_or_else(|| what("workload_sha256"))?
        .to_string();
    let o = &meta["overrides"];
    args.file = Some(PathBuf::from(file));
    args.seed = o["seed"].as_u64();
    args.trials = o["trials"].as_u64();
    args.point = o["point"].as_u64().map(|p| p as usize);
    args.trial = o["trial"].as_u64();
    args.timeline = o["timeline"].as_bool().unwrap_or(false);
    args.runtime = o["runtime"].as_str().map(String::from);
    Ok(Resumed {
        dir: dir.to_path_buf(),
        meta,
        sha256,
    })
}

impl Resumed {
    /// Refuse a workload file that is not the one the run started with.
    pub fn check_workload(&self, plan: &Plan) -> Result<(), String> {
        if plan.sha256 == self.sha256 {
            return Ok(());
        }
        Err(format!(
            "--resume {}: the workload file {} changed since the run started (SHA-256 {} then, {} now); \
             restore it, or start a new run",
            self.dir.display(),
            plan.file.display(),
            self.sha256,
            plan.sha256
        ))
    }

    /// The run's meta.json, marked incomplete again, with this resumption
    /// added to `resumes`.
    pub fn meta_resumed(&self, started_utc: &str, threads: usize) -> Value {
        let mut meta = self.meta.clone();
        meta["complete"] = json!(false);
        meta["interrupted"] = json!(false);
        meta["stopped_by"] = Value::Null;
        let entry = json!({
            // args_os: a path that is not UTF-8 is legal and must not panic here.
        "command_line": command_line(),
            "started_utc": started_utc,
            "threads": threads,
        });
        match meta["resumes"].as_array_mut() {
            Some(list) => list.push(entry),
            None => meta["resumes"] = json!([entry]),
        }
        meta
    }
}

/// The meta.json of a run that is starting: `"complete": false` until it ends.
pub fn meta_start(
    plan: &Plan,
    prov: &Provenance,
    args: &RunArgs,
    threads: usize,
    started_utc: &str,
    planned: usize,
) -> Value {
    let file = args.file();
    // Absolute, so that `--resume` works from any folder.
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    json!({
        "schema_version": results::SCHEMA_VERSION,
        "electbench_version": prov.electbench_version,
        "commit": prov.commit,
        "dirty": prov.dirty,
        "complete": false,
        "interrupted": false,
        "stopped_by": null,
        // args_os: a path that is not UTF-8 is legal and must not panic here.
        "command_line": command_line(),
        "workload_file": file.display().to_string(),
        "workload_path": abs.to_string_lossy(),
        "workload_sha256": plan.sha256,
        "overrides": {
            "seed": args.seed,
            "trials": args.trials,
            "point": args.point,
            "trial": args.trial,
            "timeline": args.timeline,
            "runtime": args.runtime,
        },
        "host": provenance::host_name(),
        "cpu": provenance::cpu_model(),
        "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "load_average": provenance::load_average(),
        "runtime": plan.points[0].workload.runtime.name(),
        "workers": (plan.points[0].workload.runtime == crate::workload::Runtime::Live)
            .then(|| plan.points[0].workload.live.workers),
        "load_threads": (plan.points[0].workload.runtime == crate::workload::Runtime::Live)
            .then(|| plan.points[0].workload.live.load_threads),
        "os": std::env::consts::OS,
        "threads": threads,
        "started_utc": started_utc,
        "wall_s": 0.0,
        "trials_planned": planned,
        "trials_finished": 0,
        "resumes": [],
    })
}

/// The final facts of a run (or of a part of it, when interrupted).
pub fn meta_finish(meta: &mut Value, writer: &RunWriter, out: &RunOutput, signal: usize) {
    let points: Vec<Value> = writer
        .points
        .iter()
        .enumerate()
        .filter(|(_, t)| t.trials > 0)
        .map(|(i, t)| {
            let busy = t.busy.as_secs_f64();
            json!({
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
    let stopped_by = match signal {
        0 if out.aborted => json!("stop"),
        0 => Value::Null,
        s => json!(signal_hook::low_level::signal_name(s as i32).unwrap_or("signal")),
    };
    let wall = meta["wall_s"].as_f64().unwrap_or(0.0) + out.wall.as_secs_f64();
    meta["complete"] = json!(!out.aborted);
    meta["interrupted"] = json!(out.aborted);
    meta["stopped_by"] = stopped_by;
    meta["wall_s"] = json!(wall);
    meta["trials_finished"] = json!(writer.done);
    meta["points"] = json!(points);
}

/// Replace `dir/meta.json` atomically.
pub fn write_meta(dir: &Path, meta: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(meta).expect("JSON of plain values") + "\n";
    results::replace_atomic(dir, "meta.json", &text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The command line as text (a path that is not UTF-8 is shown lossily).
fn command_line() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}
