//! `histograms.csv`: every trial's latency histograms, kept losslessly so
//! that trials, sweep points and whole runs can be merged later into exact
//! histograms (the summary's percentiles are read from such a merge).
//!
//! One row per trial and metric (`commit_latency_us`, then `read_latency_us`),
//! in (point, trial) order like `raw.csv`, written as trials land. The
//! `histogram` cell is the HdrHistogram "V2 compressed" encoding (the V2
//! encoding of every bucket count, DEFLATE-compressed), in standard base64:
//! the same bytes HdrHistogram's Java, C, Go and Rust libraries write in
//! their interval logs, so any of them can decode it. Values are µs, with 3
//! significant digits (the precision of every histogram here); a trial with
//! no such operation has `count` 0 and an empty histogram.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::{join, provenance_cells, Provenance, PROVENANCE_COLUMNS};
use crate::runner::TrialRow;
use crate::workload::Plan;

/// The file name in a run folder.
pub const FILE: &str = "histograms.csv";

/// The metrics with a histogram per trial, in row order within a trial.
pub const METRICS: [&str; 2] = ["commit_latency_us", "read_latency_us"];

/// Columns after the provenance columns.
pub const COLUMNS: &[&str] = &[
    "point",
    "trial",
    "trial_seed",
    "metric",
    "count",
    "histogram",
];

/// The header of `histograms.csv`.
pub fn header() -> String {
    let mut cols: Vec<String> = PROVENANCE_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.extend(COLUMNS.iter().map(|s| s.to_string()));
    join(cols)
}

/// Base64 of the V2 compressed encoding of `h`. Deterministic: the same
/// counts give the same text.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("a histogram serializes into memory");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The histogram whose [`encode`] is `text`.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 encoding: {e:?}"))
}

fn empty() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid precision")
}

/// A trial's rows (with their newlines): one per [`METRICS`] entry.
pub fn rows(plan: &Plan, p: &Provenance, r: &TrialRow) -> String {
    let prov = provenance_cells(p, plan, r.point);
    let mut s = String::new();
    let accs = [&r.metrics.commit_latency_acc, &r.metrics.read_latency_acc];
    for (metric, acc) in METRICS.iter().zip(accs) {
        let h = acc.as_ref().map(|a| a.histogram());
        let none = empty();
        let h = h.unwrap_or(&none);
        let mut cells = prov.clone();
        cells.extend([
            r.point.to_string(),
            r.trial.to_string(),
            r.seed.to_string(),
            metric.to_string(),
            h.len().to_string(),
            encode(h),
        ]);
        s.push_str(&join(cells));
    }
    s
}

/// One row of `histograms.csv`, decoded.
#[derive(Clone, Debug)]
pub struct Row {
    pub workload: String,
    pub workload_sha256: String,
    pub path: String,
    pub nodes: String,
    pub seed: String,
    pub point: u64,
    pub trial: u64,
    pub metric: String,
    pub histogram: Histogram<u64>,
}

/// Where a run's `histograms.csv` is: `path` itself or, for a folder, the
/// file in it.
pub fn locate(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(FILE)
    } else {
        path.to_path_buf()
    }
}

/// Every row of a `histograms.csv` file, checked: `f` gets each in file
/// order. Errors name the file, the line and the field.
pub fn read(path: &Path, mut f: impl FnMut(Row) -> Result<(), String>) -> Result<(), String> {
    let at = |line: u64, what: String| format!("{}: line {line}: {what}", path.display());
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| match e.kind() {
            csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => format!(
                "{}: no such file (`electbench run` writes histograms.csv into each run folder; runs from before it did, like the committed baselines, have none)",
                path.display()
            ),
            _ => format!("{}: {e}", path.display()),
        })?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            format!(
                "{}: no column {name:?}; not a histograms.csv (its columns: {}, {})",
                path.display(),
                PROVENANCE_COLUMNS.join(", "),
                COLUMNS.join(", ")
            )
        })
    };
    let [workload, sha, cpath, nodes, seed, point, trial, metric, count, hist] = [
        "workload",
        "workload_sha256",
        "path",
        "nodes",
        "seed",
        "point",
        "trial",
        "metric",
        "count",
        "histogram",
    ]
    .map(col);
    let (workload, sha, cpath, nodes, seed) = (workload?, sha?, cpath?, nodes?, seed?);
    let (point, trial, metric, count, hist) = (point?, trial?, metric?, count?, hist?);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let field = |i: usize| rec.get(i).unwrap_or("");
        let num = |i: usize, name: &str| -> Result<u64, String> {
            field(i)
                .parse()
                .map_err(|_| at(line, format!("{name} {:?} is not a whole number", field(i))))
        };
        let m = field(metric);
        if !METRICS.contains(&m) {
            return Err(at(
                line,
                format!("metric {m:?} is not one of {}", METRICS.join(", ")),
            ));
        }
        let h = decode(field(hist)).map_err(|e| at(line, format!("histogram: {e}")))?;
        let n = num(count, "count")?;
        if h.len() != n {
            return Err(at(
                line,
                format!("count {n} but the histogram holds {} values", h.len()),
            ));
        }
        f(Row {
            workload: field(workload).to_string(),
            workload_sha256: field(sha).to_string(),
            path: field(cpath).to_string(),
            nodes: field(nodes).to_string(),
            seed: field(seed).to_string(),
            point: num(point, "point")?,
            trial: num(trial, "trial")?,
            metric: m.to_string(),
            histogram: h,
        })?;
    }
    Ok(())
}

/// A group of `electbench hist`: workload, path, nodes, point, metric.
pub type GroupKey = (String, String, String, u64, String);

/// Trials merged into one histogram: a group of `electbench hist`.
#[derive(Clone, Debug)]
pub struct Merged {
    pub trials: u64,
    pub histogram: Histogram<u64>,
}

/// Merge the rows of every file in `paths` per (workload, path, nodes,
/// point, metric). A trial (same workload file, seed, point and trial) seen
/// twice is an error: it would count its operations twice.
pub fn merge(paths: &[PathBuf]) -> Result<BTreeMap<GroupKey, Merged>, String> {
    let mut groups: BTreeMap<GroupKey, Merged> = BTreeMap::new();
    let mut seen: BTreeSet<(String, String, u64, u64, String)> = BTreeSet::new();
    for p in paths {
        let file = locate(p);
        read(&file, |r| {
            let key = (
                r.workload_sha256.clone(),
                r.seed.clone(),
                r.point,
                r.trial,
                r.metric.clone(),
            );
            if !seen.insert(key) {
                return Err(format!(
                    "{}: point {} trial {} of workload {} (seed {}) appears twice in the input; \
                     each trial may be merged once",
                    file.display(),
                    r.point,
                    r.trial,
                    r.workload,
                    r.seed
                ));
            }
            let g = groups
                .entry((r.workload, r.path, r.nodes, r.point, r.metric))
                .or_insert_with(|| Merged {
                    trials: 0,
                    histogram: empty(),
                });
            g.trials += 1;
            g.histogram
                .add(&r.histogram)
                .map_err(|e| format!("{}: merging: {e:?}", file.display()))?;
            Ok(())
        })?;
    }
    Ok(groups)
}

/// The quantiles `electbench hist` prints, as in `summary.csv`.
pub const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
];

/// `electbench hist`'s table: per group, trials, count, min, the
/// [`QUANTILES`], max and mean (µs), read from the merged histogram (so
/// within its 3 significant digits; the percentiles are the ones
/// `summary.csv` gives for the same trials, up to its clamping to the exact
/// min and max).
pub fn table(groups: &BTreeMap<GroupKey, Merged>, csv: bool) -> String {
    let mut out = String::new();
    let head = [
        "workload", "path", "nodes", "point", "metric", "trials", "count", "min", "p50", "p90",
        "p95", "p99", "p999", "max", "mean",
    ];
    let mut lines: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for ((workload, path, nodes, point, metric), m) in groups {
        let h = &m.histogram;
        let mut cells = vec![
            workload.clone(),
            path.clone(),
            nodes.clone(),
            point.to_string(),
            metric.clone(),
            m.trials.to_string(),
            h.len().to_string(),
        ];
        if h.is_empty() {
            cells.extend(std::iter::repeat_n(String::new(), 8));
        } else {
            cells.push(h.min().to_string());
            for (_, q) in QUANTILES {
                cells.push(h.value_at_quantile(q).to_string());
            }
            cells.push(h.max().to_string());
            cells.push(format!("{:.1}", h.mean()));
        }
        lines.push(cells);
    }
    if csv {
        for l in lines {
            out.push_str(&join(l));
        }
        return out;
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < 5 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_every_bucket_and_is_deterministic() {
        let mut h = empty();
        for v in [1u64, 2, 2, 999, 1_000, 123_456, 9_876_543, 40_000_000] {
            h.record(v).unwrap();
        }
        let text = encode(&h);
        assert_eq!(text, encode(&h.clone()));
        assert!(text.starts_with("HISTF"), "V2 compressed cookie: {text}");
        let back = decode(&text).unwrap();
        assert_eq!(back.len(), h.len());
        let buckets = |h: &Histogram<u64>| {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect::<Vec<_>>()
        };
        assert_eq!(buckets(&back), buckets(&h));
        assert_eq!(decode(&encode(&empty())).unwrap().len(), 0);
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err(), "base64, but not a histogram");
    }
}
