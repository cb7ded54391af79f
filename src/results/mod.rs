//! Result files: `raw.csv` (one row per trial), `summary.csv` (one row per
//! sweep point × metric) and `meta.json` (machine facts), in a new folder per
//! run. The CSV schema is public and versioned; `results/README.md` documents
//! it column by column and a golden test pins the headers.
//!
//! Simulated results carry no wall-clock facts, so `raw.csv` and
//! `summary.csv` are byte-identical for the same workload, seed and commit on
//! any machine; everything about the machine and the clock goes in `meta.json`.

pub mod compare;
pub mod histograms;
pub mod provenance;
pub mod stats;
pub mod stream;
mod violations;

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::metrics::summary::Stats;
use crate::metrics::TrialMetrics;
use crate::runner::TrialRow;
use crate::systems::{fmt_num, Better, ColumnSpec};
use crate::workload::{Plan, Runtime};

pub use provenance::Provenance;
pub use stream::{PointSummary, RunWriter, ViolationNote};
pub use violations::{violations_csv, VIOLATION_COLUMNS};

/// Version of the CSV schema; bumped on any change of columns or meaning.
/// Version 2 added the path columns after the common ones, `timeline.csv`,
/// and no longer folds a timer that a newer one of the same key replaced into
/// `trace_hash`. Version 3 added `p95` and the median's confidence interval
/// (`median_ci_low`, `median_ci_high`) to `summary.csv`, and read latencies
/// (`read_latency_us_*` in `raw.csv`, the `read_latency_us` metric).
/// Version 4 added `zookeeper/fle`'s `election_took_ms` and
/// `quorum_serving_ms` columns.
pub const SCHEMA_VERSION: u32 = 4;

/// Provenance columns that start every row of both CSV files.
pub const PROVENANCE_COLUMNS: &[&str] = &[
    "schema_version",
    "electbench_version",
    "commit",
    "dirty",
    "workload",
    "workload_sha256",
    "system",
    "path",
    "runtime",
    "nodes",
    "seed",
];

type Cell = fn(&TrialRow) -> String;

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| format!("{x:.3}"))
}

fn opt_u64(v: Option<u64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

fn latency(m: &TrialMetrics, k: usize) -> String {
    opt_u64(m.commit_latency_us[k])
}

/// The metric columns of `raw.csv`, in order, with how each cell is written.
pub const RAW_METRIC_COLUMNS: &[(&str, Cell)] = &[
    ("fault_at_ms", |r| opt_ms(r.metrics.fault_at_ms)),
    ("detect_ms", |r| opt_ms(r.metrics.detect_ms)),
    ("elect_ms", |r| opt_ms(r.metrics.elect_ms)),
    ("recover_ms", |r| opt_ms(r.metrics.recover_ms)),
    ("failover_ms", |r| opt_ms(r.metrics.failover_ms)),
    ("unavailable_ms", |r| opt_ms(r.metrics.unavailable_ms)),
    ("election_rounds", |r| opt_u64(r.metrics.election_rounds)),
    ("messages", |r| opt_u64(r.metrics.messages)),
    ("lost_acked_writes", |r| {
        r.metrics.lost_acked_writes.to_string()
    }),
    ("violations", |r| r.metrics.violations.to_string()),
    ("throughput_ops_s", |r| {
        format!("{:.3}", r.metrics.throughput_ops_s)
    }),
    ("commit_latency_us_p50", |r| latency(&r.metrics, 0)),
    ("commit_latency_us_p99", |r| latency(&r.metrics, 1)),
    ("commit_latency_us_p999", |r| latency(&r.metrics, 2)),
    ("commit_latency_us_max", |r| latency(&r.metrics, 3)),
    ("writes_ok", |r| r.metrics.writes_ok.to_string()),
    ("writes_failed", |r| r.metrics.writes_failed.to_string()),
    ("reads_ok", |r| r.metrics.reads_ok.to_string()),
    ("reads_failed", |r| r.metrics.reads_failed.to_string()),
    ("sim_events", |r| r.events.to_string()),
    ("trace_hash", |r| format!("{:016x}", r.trace_hash)),
    // Added in schema 3, after the schema-2 columns so that their order is
    // unchanged.
    ("read_latency_us_p50", |r| {
        opt_u64(r.metrics.read_latency_us[0])
    }),
    ("read_latency_us_p99", |r| {
        opt_u64(r.metrics.read_latency_us[1])
    }),
    ("read_latency_us_p999", |r| {
        opt_u64(r.metrics.read_latency_us[2])
    }),
    ("read_latency_us_max", |r| {
        opt_u64(r.metrics.read_latency_us[3])
    }),
];

type Metric = (
    &'static str,
    &'static str,
    f64,
    fn(&TrialMetrics) -> Option<f64>,
);

/// The per-trial metrics summarised in `summary.csv`: name, unit, histogram
/// scale, value. `commit_latency_us` and `read_latency_us` follow them, over
/// every write and every read.
pub const SUMMARY_METRICS: &[Metric] = &[
    ("detect_ms", "ms", 1000.0, |m| m.detect_ms),
    ("elect_ms", "ms", 1000.0, |m| m.elect_ms),
    ("recover_ms", "ms", 1000.0, |m| m.recover_ms),
    ("failover_ms", "ms", 1000.0, |m| m.failover_ms),
    ("unavailable_ms", "ms", 1000.0, |m| m.unavailable_ms),
    ("election_rounds", "count", 1.0, |m| {
        m.election_rounds.map(|v| v as f64)
    }),
    ("messages", "count", 1.0, |m| m.messages.map(|v| v as f64)),
    ("lost_acked_writes", "count", 1.0, |m| {
        Some(m.lost_acked_writes as f64)
    }),
    ("violations", "count", 1.0, |m| Some(m.violations as f64)),
    ("throughput_ops_s", "ops/s", 1000.0, |m| {
        Some(m.throughput_ops_s)
    }),
];

/// Columns of `summary.csv` after the provenance and axis columns.
pub const SUMMARY_STAT_COLUMNS: &[&str] = &[
    "trials",
    "metric",
    "unit",
    "count",
    "mean",
    "stddev",
    "min",
    "p50",
    "p90",
    "p95",
    "p99",
    "p999",
    "max",
    "median_ci_low",
    "median_ci_high",
];

/// Quote a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn join(cells: impl IntoIterator<Item = String>) -> String {
    let mut line = cells
        .into_iter()
        .map(|c| csv_field(&c))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// Axis columns: every swept field but `nodes`, which has its own column.
fn axis_columns(plan: &Plan) -> Vec<(usize, &str)> {
    plan.axes
        .iter()
        .enumerate()
        .filter(|(_, a)| a.column != "nodes")
        .map(|(i, a)| (i, a.column.as_str()))
        .collect()
}

fn provenance_cells(p: &Provenance, plan: &Plan, point: usize) -> Vec<String> {
    let w = &plan.points[point].workload;
    vec![
        SCHEMA_VERSION.to_string(),
        p.electbench_version.clone(),
        p.commit.clone(),
        p.dirty.clone(),
        plan.name.clone(),
        plan.sha256.clone(),
        w.path.system.to_string(),
        w.path.path.to_string(),
        w.runtime.name().to_string(),
        w.nodes.to_string(),
        w.seed.to_string(),
    ]
}

fn axis_cells(plan: &Plan, point: usize) -> Vec<String> {
    axis_columns(plan)
        .iter()
        .map(|(i, _)| plan.points[point].values[*i].to_string())
        .collect()
}

/// The header of `raw.csv` for `plan`.
pub fn raw_header(plan: &Plan) -> String {
    let mut cols: Vec<String> = PROVENANCE_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.extend(["point", "trial", "trial_seed"].map(String::from));
    cols.extend(axis_columns(plan).iter().map(|(_, c)| c.to_string()));
    cols.extend(RAW_METRIC_COLUMNS.iter().map(|(c, _)| c.to_string()));
    cols.extend(path_columns(plan).iter().map(|c| c.name.to_string()));
    join(cols)
}

/// The columns the plan's path adds after the common ones, then, for a
/// live plan, [`LIVE_COLUMNS`].
pub fn path_columns(plan: &Plan) -> Vec<&'static ColumnSpec> {
    let w = &plan.points[0].workload;
    let live: &'static [ColumnSpec] = if w.runtime == Runtime::Live {
        LIVE_COLUMNS
    } else {
        &[]
    };
    w.path.columns.iter().chain(live).collect()
}

/// Columns only a live run has, after the path's own (`results/README.md`).
pub const LIVE_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "workers",
        unit: "count",
        better: Better::Higher,
        doc: "Worker threads that ran the nodes (the clock thread comes on top).",
    },
    ColumnSpec {
        name: "leader_selection_ns",
        unit: "ns",
        better: Better::Lower,
        doc: "Wall clock from the first election round after the fault (or the start) to the \
              first Elected of the fault's scope, minus election_wait_ns.",
    },
    ColumnSpec {
        name: "election_wait_ns",
        unit: "ns",
        better: Better::Lower,
        doc: "The protocol's configured wait inside an election that leader_selection_ns \
              leaves out (FLE's finalizeWait; 0 for paths without one).",
    },
    ColumnSpec {
        name: "mailbox_full",
        unit: "count",
        better: Better::Lower,
        doc: "Pushes refused by a full mailbox (kept and retried, never dropped; each retry \
              counts).",
    },
    ColumnSpec {
        name: "cpu_ms",
        unit: "ms",
        better: Better::Lower,
        doc: "Process CPU time (user + system) during the trial.",
    },
    ColumnSpec {
        name: "events_per_s",
        unit: "1/s",
        better: Better::Higher,
        doc: "Envelopes the nodes handled per second of wall time.",
    },
    ColumnSpec {
        name: "client_threads",
        unit: "count",
        better: Better::Higher,
        doc: "Client threads that issued the clients' operations (load_threads).",
    },
    ColumnSpec {
        name: "offered_ops_s",
        unit: "1/s",
        better: Better::Higher,
        doc: "Operations the client threads issued per second of wall time from the clients' \
              start to the trial's end (all clients).",
    },
    ColumnSpec {
        name: "ops_behind_max",
        unit: "count",
        better: Better::Lower,
        doc: "Most operations one client thread found due at once when it woke (1: it kept up \
              with the open-loop schedule); empty without operations.",
    },
    ColumnSpec {
        name: "issue_lag_max_us",
        unit: "us",
        better: Better::Lower,
        doc: "Longest time from an operation's intended send time to its client thread \
              issuing it (a wait for a closed-loop slot is not counted); empty without \
              operations.",
    },
];

/// One `raw.csv` row (with its newline).
pub fn raw_row(plan: &Plan, p: &Provenance, r: &TrialRow) -> String {
    let mut cells = provenance_cells(p, plan, r.point);
    cells.extend([r.point.to_string(), r.trial.to_string(), r.seed.to_string()]);
    cells.extend(axis_cells(plan, r.point));
    cells.extend(RAW_METRIC_COLUMNS.iter().map(|(_, f)| f(r)));
    cells.extend(r.columns.iter().map(|v| opt_ms(*v)));
    join(cells)
}

/// The header of `summary.csv` for `plan`.
pub fn summary_header(plan: &Plan) -> String {
    let mut cols: Vec<String> = PROVENANCE_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.push("point".into());
    cols.extend(axis_columns(plan).iter().map(|(_, c)| c.to_string()));
    cols.extend(SUMMARY_STAT_COLUMNS.iter().map(|s| s.to_string()));
    join(cols)
}

/// Statistics of every summary metric at one sweep point.
pub fn point_stats(
    point: &PointSummary,
    columns: &[&'static ColumnSpec],
) -> Vec<(&'static str, &'static str, Option<Stats>)> {
    let mut out = Vec::new();
    for ((name, unit, _, _), acc) in SUMMARY_METRICS.iter().zip(&point.metrics) {
        out.push((*name, *unit, acc.stats()));
    }
    out.push(("commit_latency_us", "us", point.latency.stats()));
    out.push(("read_latency_us", "us", point.read_latency.stats()));
    for (c, acc) in columns.iter().zip(&point.columns) {
        out.push((c.name, c.unit, acc.stats()));
    }
    out
}

/// The header of `timeline.csv`.
pub const TIMELINE_COLUMNS: &[&str] = &[
    "point",
    "trial",
    "trial_seed",
    "at_ms",
    "since_fault_ms",
    "node",
    "scope",
    "event",
    "term",
    "ops_ok",
    "ops_failed",
];

/// The header of `timeline.csv`.
pub fn timeline_header() -> String {
    let mut cols: Vec<String> = PROVENANCE_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.extend(TIMELINE_COLUMNS.iter().map(|s| s.to_string()));
    join(cols)
}

/// A trial's `timeline.csv` rows (`--timeline`): in the order recorded, then
/// the client buckets. Nodes are numbered from 1, as in workload files.
pub fn timeline_rows(plan: &Plan, p: &Provenance, r: &TrialRow) -> String {
    let mut s = String::new();
    let prov = provenance_cells(p, plan, r.point);
    for e in &r.timeline {
        let mut cells = prov.clone();
        cells.extend([r.point.to_string(), r.trial.to_string(), r.seed.to_string()]);
        cells.push(format!("{:.3}", e.at.as_ms_f64()));
        let since = r.metrics.fault_at_ms.map(|f| e.at.as_ms_f64() - f);
        cells.push(opt_ms(since));
        cells.push(e.node.map_or_else(String::new, |n| (n.0 + 1).to_string()));
        cells.push(e.scope.to_string());
        cells.push(e.event.to_string());
        cells.push(opt_u64(e.term));
        cells.push(opt_u64(e.ops.map(|o| u64::from(o.0))));
        cells.push(opt_u64(e.ops.map(|o| u64::from(o.1))));
        s.push_str(&join(cells));
    }
    s
}

/// A statistic in the terminal table: as in `summary.csv`, but whole
/// nanoseconds.
fn term_stat(v: f64, unit: &str) -> String {
    if unit == "ns" {
        fmt_num(v.round())
    } else {
        stat(v, unit)
    }
}

fn stat(v: f64, unit: &str) -> String {
    if unit == "count" || unit == "us" {
        fmt_num(v.round())
    } else {
        format!("{v:.3}")
    }
}

/// `summary.csv`: one row per sweep point × metric.
pub fn summary_csv(plan: &Plan, points: &[PointSummary], p: &Provenance) -> String {
    let mut s = summary_header(plan);
    for (point, sum) in points.iter().enumerate() {
        if sum.trials == 0 {
            continue;
        }
        for (metric, unit, st) in point_stats(sum, &path_columns(plan)) {
            let mut cells = provenance_cells(p, plan, point);
            cells.push(point.to_string());
            cells.extend(axis_cells(plan, point));
            cells.extend([sum.trials.to_string(), metric.to_string(), unit.to_string()]);
            match st {
                Some(st) => {
                    cells.push(st.count.to_string());
                    cells.push(format!("{:.3}", st.mean));
                    cells.push(format!("{:.3}", st.stddev));
                    for v in [st.min, st.p50, st.p90, st.p95, st.p99, st.p999, st.max] {
                        cells.push(stat(v, unit));
                    }
                    // Empty, not 0, with too few values for a 95 % interval.
                    match st.median_ci {
                        Some((lo, hi)) => cells.extend([stat(lo, unit), stat(hi, unit)]),
                        None => cells.extend([String::new(), String::new()]),
                    }
                }
                None => {
                    cells.push("0".into());
                    cells.extend(std::iter::repeat_n(
                        String::new(),
                        SUMMARY_STAT_COLUMNS.len() - 4,
                    ));
                }
            }
            s.push_str(&join(cells));
        }
    }
    s
}

/// Claim a new folder `DIR/NAME-STAMP[-k]` for a run; never reuses one.
pub fn create_run_dir(out: &Path, name: &str, stamp: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(out)?;
    for k in 1..10_000 {
        let leaf = if k == 1 {
            format!("{name}-{stamp}")
        } else {
            format!("{name}-{stamp}-{k}")
        };
        let dir = out.join(leaf);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "10,000 runs with the same name and second",
    ))
}

/// Write `contents` to `dir/file` through a temporary file and a rename, so a
/// reader never sees half a file and nothing is overwritten. On failure the
/// temporary file is removed and the error names the file.
pub fn write_atomic(dir: &Path, file: &str, contents: &str) -> io::Result<PathBuf> {
    let final_path = dir.join(file);
    if final_path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists; results are never overwritten",
                final_path.display()
            ),
        ));
    }
    replace_atomic(dir, file, contents)
}

/// Write `contents` to `dir/file` through a temporary file and a rename,
/// replacing the file if it exists (`meta.json` and the checkpoint, which a
/// run rewrites as it goes). A kill leaves either the old or the new file,
/// never half of one; on failure the temporary file is removed and the error
/// names the file.
pub fn replace_atomic(dir: &Path, file: &str, contents: &str) -> io::Result<PathBuf> {
    let final_path = dir.join(file);
    let tmp = dir.join(format!(".{file}.tmp"));
    let write = || -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &final_path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io::Error::new(e.kind(), format!("{}: {e}", final_path.display()))
    })?;
    Ok(final_path)
}

/// A human summary line per metric for the terminal.
pub fn terminal_table(plan: &Plan, points: &[PointSummary]) -> String {
    const SHOWN: &[&str] = &[
        "failover_ms",
        "detect_ms",
        "elect_ms",
        "recover_ms",
        "unavailable_ms",
        "election_rounds",
        "messages",
        "commit_latency_us",
        "read_latency_us",
    ];
    // A live run adds its throughput and its own columns (but `workers`, a
    // constant of the point, said in its heading); a sim run's table is
    // only `SHOWN`.
    let live = plan.points[0].workload.runtime == Runtime::Live;
    let live_shown: Vec<&str> = if live {
        std::iter::once("throughput_ops_s")
            .chain(LIVE_COLUMNS.iter().map(|c| c.name))
            .filter(|&n| n != "workers")
            .collect()
    } else {
        Vec::new()
    };
    let mut s = String::new();
    for (point, t) in points.iter().enumerate() {
        if t.trials == 0 {
            continue;
        }
        let pt = &plan.points[point];
        let stats = point_stats(t, &path_columns(plan));
        let axes: Vec<String> = plan
            .axes
            .iter()
            .zip(&pt.values)
            .map(|(a, v)| format!("{}={v}", a.column))
            .collect();
        let workers = stats
            .iter()
            .find(|(m, _, _)| live && *m == "workers")
            .and_then(|(_, _, st)| st.as_ref())
            .map_or(String::new(), |st| {
                format!(", live on {} worker(s)", fmt_num(st.max))
            });
        let _ = writeln!(
            s,
            "\n{} point {} ({} trials, {} nodes{workers}){}{}",
            pt.workload.path.path,
            point,
            t.trials,
            pt.workload.nodes,
            if axes.is_empty() { "" } else { ": " },
            axes.join(" ")
        );
        let _ = writeln!(
            s,
            "  {:<20} {:>6} {:>12} {:>12} {:>12}",
            "metric", "count", "p50", "p99", "max"
        );
        // The live columns come last in `point_stats`.
        let rows = stats
            .iter()
            .filter(|(m, _, _)| SHOWN.contains(m) || live_shown.contains(m));
        for (metric, unit, st) in rows {
            match st {
                Some(st) => {
                    let _ = writeln!(
                        s,
                        "  {:<20} {:>6} {:>12} {:>12} {:>12}",
                        metric,
                        st.count,
                        term_stat(st.p50, unit),
                        term_stat(st.p99, unit),
                        term_stat(st.max, unit)
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "  {metric:<20} {:>6} {:>12} {:>12} {:>12}",
                        0, "-", "-", "-"
                    );
                }
            }
        }
        let (lost, viol) = (t.lost_acked_writes, t.violations);
        let sim_s = t.sim_ns as f64 / 1e9;
        let busy = t.busy.as_secs_f64().max(1e-9);
        let _ = writeln!(
            s,
            "  lost_acked_writes {lost}, violations {viol}; simulated {sim_s:.1} s in {busy:.3} s of trial time ({:.0}x real time per core), {:.2} M events/s",
            sim_s / busy,
            t.events as f64 / busy / 1e6
        );
    }
    s
}
