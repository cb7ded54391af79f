//! Results that survive the process: `raw.csv`, `histograms.csv` (and
//! `timeline.csv`) are written row by row as trials finish, and a checkpoint lets `run --resume`
//! carry on exactly where a killed or interrupted run stopped.
//!
//! Each row is handed to the operating system with one `write` as it comes
//! (in (point, trial) order: the runner reorders), so a killed process loses
//! no written row. About every [`CHECKPOINT_EVERY`] the files are synced and
//! `checkpoint.json` is replaced atomically: it holds how many jobs are
//! written, the byte length of each of those files at that moment, and each
//! point's summary accumulators, exactly (floats as bit patterns, histograms
//! bucket by bucket), whose size does not grow with the trials. A resumed run truncates the files to the
//! checkpoint's lengths, which drops a partial last line and any row written
//! after it, restores the accumulators and re-runs the jobs from there: trials
//! are deterministic, so the re-run rows are the same bytes, and the summary
//! accumulates the same values in the same order, so `raw.csv` and
//! `summary.csv` are byte-identical to an uninterrupted run's. (Rows on disk
//! alone could not give that: they hold only four latency percentiles and
//! three decimals of each time.) The one statistic that needs every
//! per-trial value, the median's confidence interval, is computed at the end
//! from `raw.csv` itself ([`RunWriter::median_cis_from_raw`]): it prints the
//! order statistics with the same three decimals `raw.csv` holds, so the
//! rounded values give the same cells, and neither memory nor the checkpoint
//! keeps a value per trial.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{
    histograms, path_columns, raw_header, raw_row, replace_atomic, timeline_header, timeline_rows,
    Provenance, SUMMARY_METRICS,
};
use crate::metrics::summary::{AccState, Accumulator, IntAccumulator};
use crate::runner::TrialRow;
use crate::workload::Plan;

/// The checkpoint file of a run folder; removed once the run is complete.
pub const CHECKPOINT: &str = "checkpoint.json";

/// How often the files are synced and the checkpoint replaced, at most: a
/// resumed run re-runs the trials written since, and nothing else depends on
/// it. A checkpoint grows with the histograms' buckets (up to megabytes for a
/// long sweep), so the gap is also at least 20 times what the last one took,
/// which keeps checkpoints under 5 % of the writing thread's time.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// One sweep point's summary so far: mergeable accumulators, whose memory
/// grows neither with the trials nor with the operations (the median's
/// confidence interval is read from `raw.csv` at the end, see
/// [`RunWriter::median_cis_from_raw`]).
#[derive(Clone, Debug)]
pub struct PointSummary {
    pub trials: u64,
    /// One per [`SUMMARY_METRICS`] entry, in that order.
    pub metrics: Vec<Accumulator>,
    /// Every successful write latency of every trial (µs).
    pub latency: IntAccumulator,
    /// Every successful read latency of every trial (µs).
    pub read_latency: IntAccumulator,
    /// One per path column.
    pub columns: Vec<Accumulator>,
    pub lost_acked_writes: u64,
    pub violations: u64,
    /// Speed report only (meta.json and the terminal).
    pub events: u64,
    pub sim_ns: u128,
    pub busy: Duration,
}

impl PointSummary {
    fn new(columns: usize) -> Self {
        PointSummary {
            trials: 0,
            metrics: SUMMARY_METRICS
                .iter()
                .map(|(_, _, scale, _)| Accumulator::streamed(*scale))
                .collect(),
            latency: IntAccumulator::default(),
            read_latency: IntAccumulator::default(),
            columns: (0..columns)
                .map(|_| Accumulator::streamed(1000.0))
                .collect(),
            lost_acked_writes: 0,
            violations: 0,
            events: 0,
            sim_ns: 0,
            busy: Duration::ZERO,
        }
    }

    /// Add a trial. Rows come in (point, trial) order, so the float sums
    /// are the same as over the whole of `raw.csv` at once.
    fn add(&mut self, r: &mut TrialRow, busy: Duration) {
        for ((_, _, _, get), acc) in SUMMARY_METRICS.iter().zip(&mut self.metrics) {
            if let Some(v) = get(&r.metrics) {
                acc.record(v);
            }
        }
        if let Some(acc) = r.metrics.commit_latency_acc.take() {
            self.latency.merge(&acc);
        }
        if let Some(acc) = r.metrics.read_latency_acc.take() {
            self.read_latency.merge(&acc);
        }
        for (k, acc) in self.columns.iter_mut().enumerate() {
            if let Some(v) = r.columns.get(k).copied().flatten() {
                acc.record(v);
            }
        }
        self.trials += 1;
        self.lost_acked_writes += r.metrics.lost_acked_writes;
        self.violations += r.metrics.violations;
        self.events += r.events;
        self.sim_ns += u128::from(r.sim_end.0);
        self.busy += busy;
    }

    fn state(&self) -> PointState {
        PointState {
            trials: self.trials,
            metrics: self.metrics.iter().map(Accumulator::state).collect(),
            latency: self.latency.state(),
            read_latency: self.read_latency.state(),
            columns: self.columns.iter().map(Accumulator::state).collect(),
            lost_acked_writes: self.lost_acked_writes,
            violations: self.violations,
            events: self.events,
            sim_ns: self.sim_ns.to_string(),
            busy_s: self.busy.as_secs_f64(),
        }
    }

    fn from_state(s: &PointState) -> Result<Self, String> {
        let accs = |v: &[AccState]| -> Result<Vec<Accumulator>, String> {
            v.iter()
                .map(|a| Accumulator::from_state(a, false))
                .collect()
        };
        Ok(PointSummary {
            trials: s.trials,
            metrics: accs(&s.metrics)?,
            latency: IntAccumulator::from_state(&s.latency)?,
            read_latency: IntAccumulator::from_state(&s.read_latency)?,
            columns: accs(&s.columns)?,
            lost_acked_writes: s.lost_acked_writes,
            violations: s.violations,
            events: s.events,
            sim_ns: s.sim_ns.parse().map_err(|_| "bad sim_ns".to_string())?,
            busy: Duration::from_secs_f64(s.busy_s.max(0.0)),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct PointState {
    trials: u64,
    metrics: Vec<AccState>,
    latency: AccState,
    read_latency: AccState,
    columns: Vec<AccState>,
    lost_acked_writes: u64,
    violations: u64,
    events: u64,
    sim_ns: String,
    busy_s: f64,
}

/// A safety violation found in a written trial, for the report at the end.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ViolationNote {
    pub point: usize,
    pub trial: u64,
    pub seed: u64,
    /// The node that observed it (0-based).
    pub node: u32,
    /// Simulated time, as the terminal shows it.
    pub at: String,
    pub at_ms: f64,
    pub what: String,
}

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    /// The first `jobs_done` jobs (in (point, trial) order) are written.
    jobs_done: u64,
    raw_bytes: u64,
    histograms_bytes: u64,
    timeline_bytes: Option<u64>,
    points: Vec<PointState>,
    violations: Vec<ViolationNote>,
}

/// An open file of the run folder and its length so far.
struct Out {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Out {
    fn create(dir: &Path, name: &str, header: &str) -> Result<Out, String> {
        let path = dir.join(name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_msg(&path, e))?;
        let mut out = Out { path, file, len: 0 };
        out.write(header)?;
        Ok(out)
    }

    /// Reopen a file of a run being resumed, cut to `len` bytes after
    /// checking that it starts with `header`.
    fn reopen(dir: &Path, name: &str, header: &str, len: u64) -> Result<Out, String> {
        let path = dir.join(name);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_msg(&path, e))?;
        let have = file.metadata().map_err(|e| io_msg(&path, e))?.len();
        let mut head = vec![0u8; header.len()];
        let head_ok = file.read_exact(&mut head).is_ok() && head == header.as_bytes();
        if have < len || len < header.len() as u64 || !head_ok {
            return Err(format!(
                "{}: does not match {} (different header or shorter than recorded); it cannot be resumed",
                path.display(),
                CHECKPOINT
            ));
        }
        file.set_len(len).map_err(|e| io_msg(&path, e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| io_msg(&path, e))?;
        Ok(Out { path, file, len })
    }

    fn write(&mut self, text: &str) -> Result<(), String> {
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| io_msg(&self.path, e))?;
        self.len += text.len() as u64;
        Ok(())
    }

    fn sync(&self) -> Result<(), String> {
        self.file.sync_data().map_err(|e| io_msg(&self.path, e))
    }
}

fn io_msg(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

/// Writes a run's rows as they come and keeps its summary accumulators.
pub struct RunWriter<'a> {
    dir: PathBuf,
    plan: &'a Plan,
    prov: &'a Provenance,
    raw: Out,
    histograms: Out,
    timeline: Option<Out>,
    pub points: Vec<PointSummary>,
    /// Jobs written, counting those of the run this one resumes.
    pub done: u64,
    pub violations: Vec<ViolationNote>,
    last_checkpoint: Instant,
    /// The gap until the next checkpoint.
    checkpoint_gap: Duration,
}

impl<'a> RunWriter<'a> {
    /// Start the files of a new run in `dir` (`timeline.csv` with
    /// `timeline`), and its first checkpoint.
    #[allow(clippy::disallowed_methods)] // checkpoint cadence only
    pub fn create(
        dir: &Path,
        plan: &'a Plan,
        prov: &'a Provenance,
        timeline: bool,
    ) -> Result<Self, String> {
        let raw = Out::create(dir, "raw.csv", &raw_header(plan))?;
        let histograms = Out::create(dir, histograms::FILE, &histograms::header())?;
        let timeline = if timeline {
            Some(Out::create(dir, "timeline.csv", &timeline_header())?)
        } else {
            None
        };
        let columns = path_columns(plan).len();
        let mut w = RunWriter {
            dir: dir.to_path_buf(),
            plan,
            prov,
            raw,
            histograms,
            timeline,
            points: (0..plan.points.len())
                .map(|_| PointSummary::new(columns))
                .collect(),
            done: 0,
            violations: Vec::new(),
            last_checkpoint: Instant::now(),
            checkpoint_gap: CHECKPOINT_EVERY,
        };
        w.checkpoint()?;
        Ok(w)
    }

    /// Reopen the files of the run in `dir` at its last checkpoint.
    #[allow(clippy::disallowed_methods)] // checkpoint cadence only
    pub fn resume(
        dir: &Path,
        plan: &'a Plan,
        prov: &'a Provenance,
        timeline: bool,
    ) -> Result<Self, String> {
        let path = dir.join(CHECKPOINT);
        let text = fs::read_to_string(&path).map_err(|e| io_msg(&path, e))?;
        let ck: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a checkpoint: {e}", path.display()))?;
        if ck.points.len() != plan.points.len() || ck.timeline_bytes.is_some() != timeline {
            return Err(format!(
                "{}: does not match the workload's sweep points",
                path.display()
            ));
        }
        let raw = Out::reopen(dir, "raw.csv", &raw_header(plan), ck.raw_bytes)?;
        let histograms = Out::reopen(
            dir,
            histograms::FILE,
            &histograms::header(),
            ck.histograms_bytes,
        )?;
        let timeline = match ck.timeline_bytes {
            Some(len) => Some(Out::reopen(dir, "timeline.csv", &timeline_header(), len)?),
            None => None,
        };
        let points = ck
            .points
            .iter()
            .map(PointSummary::from_state)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            plan,
            prov,
            raw,
            histograms,
            timeline,
            points,
            done: ck.jobs_done,
            violations: ck.violations,
            last_checkpoint: Instant::now(),
            checkpoint_gap: CHECKPOINT_EVERY,
        })
    }

    /// Write one finished trial (the next in (point, trial) order) and add
    /// it to its point's summary.
    #[allow(clippy::disallowed_methods)] // checkpoint cadence only
    pub fn write_row(&mut self, mut row: TrialRow, busy: Duration) -> Result<(), String> {
        self.raw.write(&raw_row(self.plan, self.prov, &row))?;
        self.histograms
            .write(&histograms::rows(self.plan, self.prov, &row))?;
        if let Some(t) = &mut self.timeline {
            t.write(&timeline_rows(self.plan, self.prov, &row))?;
        }
        for v in &row.violations {
            self.violations.push(ViolationNote {
                point: row.point,
                trial: row.trial,
                seed: row.seed,
                node: v.node.0,
                at: v.at.to_string(),
                at_ms: v.at.as_ms_f64(),
                what: v.what.clone(),
            });
        }
        self.points[row.point].add(&mut row, busy);
        self.done += 1;
        if self.last_checkpoint.elapsed() >= self.checkpoint_gap {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Sync the files and replace the checkpoint with the present state.
    #[allow(clippy::disallowed_methods)] // checkpoint cadence only
    pub fn checkpoint(&mut self) -> Result<(), String> {
        let started = Instant::now();
        // Synced first, so the checkpoint never claims bytes a crash of the
        // machine could lose.
        self.raw.sync()?;
        self.histograms.sync()?;
        if let Some(t) = &self.timeline {
            t.sync()?;
        }
        let ck = Checkpoint {
            jobs_done: self.done,
            raw_bytes: self.raw.len,
            histograms_bytes: self.histograms.len,
            timeline_bytes: self.timeline.as_ref().map(|t| t.len),
            points: self.points.iter().map(PointSummary::state).collect(),
            violations: self.violations.clone(),
        };
        let text = serde_json::to_string(&ck).expect("JSON of plain values");
        replace_atomic(&self.dir, CHECKPOINT, &text).map_err(|e| e.to_string())?;
        self.last_checkpoint = Instant::now();
        self.checkpoint_gap = CHECKPOINT_EVERY.max(started.elapsed() * 20);
        Ok(())
    }

    /// Set every per-trial metric's median confidence interval (the
    /// accumulators keep no values) from the rows of `raw.csv` written so
    /// far, one sweep point at a time: rows are in (point, trial) order, so
    /// memory holds one point's values at most. `raw.csv` has each value as
    /// the summary prints it (three decimals, or a whole number), so the
    /// interval's cells are the ones the exact values would give.
    pub fn median_cis_from_raw(&mut self) -> Result<(), String> {
        use crate::metrics::summary::MEDIAN_CI_LEVEL;
        use crate::results::stats::median_ci;
        let path = self.raw.path.clone();
        let bad = |what: String| format!("{}: {what}", path.display());
        let mut rdr = csv::Reader::from_path(&path).map_err(|e| bad(e.to_string()))?;
        let headers = rdr.headers().map_err(|e| bad(e.to_string()))?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| bad(format!("no column {name:?}")))
        };
        let point_col = col("point")?;
        // Column of each accumulator: the summary metrics, then the path's.
        let metric_cols: Vec<usize> = SUMMARY_METRICS
            .iter()
            .map(|(name, ..)| col(name))
            .chain(path_columns(self.plan).iter().map(|c| col(c.name)))
            .collect::<Result<_, _>>()?;
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); metric_cols.len()];
        let mut current: Option<usize> = None;
        let trials: Vec<u64> = self.points.iter().map(|p| p.trials).collect();
        let points = &mut self.points;
        let mut flush = |point: usize, values: &mut Vec<Vec<f64>>| {
            let p = &mut points[point];
            let accs = p.metrics.iter_mut().chain(p.columns.iter_mut());
            for (acc, v) in accs.zip(values.iter_mut()) {
                acc.set_median_ci(median_ci(v, MEDIAN_CI_LEVEL).map(|c| (c.low, c.high)));
                v.clear();
            }
        };
        for rec in rdr.records() {
            let rec = rec.map_err(|e| bad(e.to_string()))?;
            let line = rec.position().map_or(0, |p| p.line());
            let point: usize = rec
                .get(point_col)
                .and_then(|s| s.parse().ok())
                .filter(|&p| p < self.plan.points.len())
                .ok_or_else(|| bad(format!("line {line}: bad point")))?;
            if current != Some(point) {
                if let Some(c) = current {
                    flush(c, &mut values);
                }
                // At most one value per trial: no growth by doubling.
                let trials = usize::try_from(trials[point]).unwrap_or(0);
                values.iter_mut().for_each(|v| v.reserve_exact(trials));
            }
            current = Some(point);
            for (v, &c) in values.iter_mut().zip(&metric_cols) {
                let cell = rec.get(c).unwrap_or("");
                if cell.is_empty() {
                    continue;
                }
                v.push(
                    cell.parse()
                        .map_err(|_| bad(format!("line {line}: {cell:?} is not a number")))?,
                );
            }
        }
        if let Some(c) = current {
            flush(c, &mut values);
        }
        Ok(())
    }

    /// A complete run needs no checkpoint.
    pub fn remove_checkpoint(&self) -> Result<(), String> {
        let path = self.dir.join(CHECKPOINT);
        fs::remove_file(&path).map_err(|e| io_msg(&path, e))
    }
}
