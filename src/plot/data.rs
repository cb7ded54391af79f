//! Reading run folders for `plot`: raw.csv and timeline.csv, by column name
//! (never by position, so a later schema that adds columns still plots).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::systems;

/// One CSV file: its header and rows of cells.
pub struct Table {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Column `name`, which every file electbench writes has.
    fn must(&self, name: &str) -> Result<usize, String> {
        self.col(name).ok_or_else(|| {
            format!(
                "{}: no `{name}` column; is this a file written by `electbench run`?",
                self.path.display()
            )
        })
    }
}

/// Read a CSV file, keeping only the rows `keep` accepts (timeline.csv can
/// hold millions of rows, of which a figure needs one trial's). Parsed with
/// the `csv` crate, as `compare` does.
fn read_csv(
    path: &Path,
    keep: &mut dyn FnMut(&[String], &[String]) -> bool,
) -> Result<Table, String> {
    let io = |e: csv::Error| format!("{}: {e}", path.display());
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(io)?;
    let header: Vec<String> = rd.headers().map_err(io)?.iter().map(String::from).collect();
    if header.iter().all(String::is_empty) {
        return Err(format!("{}: the file is empty", path.display()));
    }
    let mut rows = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(io)?;
        // A run killed mid-write can leave a cut-off last row: skip it.
        if rec.len() != header.len() {
            continue;
        }
        let cells: Vec<String> = rec.iter().map(String::from).collect();
        if keep(&header, &cells) {
            rows.push(cells);
        }
    }
    Ok(Table {
        path: path.to_path_buf(),
        header,
        rows,
    })
}

/// One run folder.
pub struct Run {
    pub label: String,
    pub dir: PathBuf,
    pub raw: Table,
    /// The workload's name (from raw.csv).
    pub workload: String,
    /// The modelled path (`zookeeper/fle`), for units of its own columns.
    pub path: String,
    /// Columns that can be swept: `nodes`, then those between `trial_seed`
    /// and the first metric column.
    pub axes: Vec<String>,
    /// Numeric metric columns.
    pub metrics: Vec<String>,
}

/// The first metric column of raw.csv; the swept columns come just before it.
const FIRST_METRIC: &str = "fault_at_ms";

impl Run {
    /// Open a run folder, or the folder of a raw.csv given directly.
    pub fn open(p: &Path, label: Option<String>) -> Result<Run, String> {
        let (dir, raw_path) = if p.is_dir() {
            (p.to_path_buf(), p.join("raw.csv"))
        } else if p.is_file() {
            (parent(p), p.to_path_buf())
        } else {
            return Err(format!(
                "{}: no such run folder (give a folder written by `electbench run`, or its raw.csv)",
                p.display()
            ));
        };
        if !raw_path.is_file() {
            return Err(format!(
                "{}: no raw.csv in this folder; is it a run folder written by `electbench run`?",
                dir.display()
            ));
        }
        let raw = read_csv(&raw_path, &mut |_, _| true)?;
        let seed_col = raw.must("trial_seed")?;
        let first_metric = raw.must(FIRST_METRIC)?;
        raw.must("point")?;
        let mut axes = vec!["nodes".to_string()];
        axes.extend(raw.header[seed_col + 1..first_metric].iter().cloned());
        // trace_hash is hexadecimal: an identity, not a quantity.
        let metrics = raw.header[first_metric..]
            .iter()
            .filter(|m| *m != "trace_hash")
            .cloned()
            .collect();
        let cell = |name: &str| -> Result<String, String> {
            let c = raw.must(name)?;
            Ok(raw.rows.first().map(|r| r[c].clone()).unwrap_or_default())
        };
        let workload = cell("workload")?;
        let path = cell("path")?;
        if raw.rows.is_empty() {
            return Err(format!("{}: no trials in this file", raw_path.display()));
        }
        let label = label.unwrap_or_else(|| {
            dir.canonicalize()
                .unwrap_or_else(|_| dir.clone())
                .file_name()
                .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into())
        });
        Ok(Run {
            label,
            dir,
            raw,
            workload,
            path,
            axes,
            metrics,
        })
    }

    /// Check that `metric` is a metric column of this run.
    pub fn check_metric(&self, metric: &str) -> Result<(), String> {
        if self.metrics.iter().any(|m| m == metric) {
            return Ok(());
        }
        Err(format!(
            "{}: unknown metric {metric:?}; allowed: {}",
            self.raw.path.display(),
            self.metrics.join(", ")
        ))
    }

    /// Check that `axis` is a sweepable column of this run.
    pub fn check_axis(&self, axis: &str) -> Result<(), String> {
        if self.axes.iter().any(|a| a == axis) {
            return Ok(());
        }
        Err(format!(
            "{}: unknown axis {axis:?}; allowed: {}",
            self.raw.path.display(),
            self.axes.join(", ")
        ))
    }

    /// The swept columns whose value differs between points of this run
    /// (what tells one point's curve from another's).
    pub fn varying_axes(&self) -> Vec<String> {
        self.axes
            .iter()
            .filter(|a| {
                let c = self.raw.col(a).expect("axes are header columns");
                let first = &self.raw.rows[0][c];
                self.raw.rows.iter().any(|r| &r[c] != first)
            })
            .cloned()
            .collect()
    }

    /// Each point's rows: point number → (its axis values, rows).
    pub fn points(&self) -> BTreeMap<u64, Vec<&Vec<String>>> {
        let pc = self.raw.col("point").expect("checked in open");
        let mut by: BTreeMap<u64, Vec<&Vec<String>>> = BTreeMap::new();
        for r in &self.raw.rows {
            by.entry(r[pc].parse().unwrap_or(0)).or_default().push(r);
        }
        by
    }

    /// "nodes=3, syncLimit=2" for the given axes of `row`.
    pub fn describe(&self, row: &[String], axes: &[String]) -> String {
        axes.iter()
            .map(|a| {
                let c = self.raw.col(a).expect("axes are header columns");
                format!("{}={}", short_axis(a), row[c])
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// timeline.csv's rows of one trial, or why there are none.
    pub fn timeline(&self, point: u64, trial: u64) -> Result<Table, String> {
        let path = self.dir.join("timeline.csv");
        if !path.is_file() {
            return Err(format!(
                "{}: no timeline.csv in this run; re-run it with `electbench run FILE --timeline`",
                self.dir.display()
            ));
        }
        let (p, t) = (point.to_string(), trial.to_string());
        let mut cols: Option<(usize, usize)> = None;
        let table = read_csv(&path, &mut |h, cells| {
            let (pc, tc) = *cols.get_or_insert_with(|| {
                let find = |n: &str| h.iter().position(|c| c == n).unwrap_or(usize::MAX);
                (find("point"), find("trial"))
            });
            cells.get(pc) == Some(&p) && cells.get(tc) == Some(&t)
        })?;
        for c in ["since_fault_ms", "node", "event", "ops_ok", "ops_failed"] {
            table.must(c)?;
        }
        if table.rows.is_empty() {
            return Err(format!(
                "{}: no rows for --point {point} --trial {trial}",
                path.display()
            ));
        }
        Ok(table)
    }
}

fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `params.syncLimit` → `syncLimit`: the prefix is the same for every
/// parameter and only crowds a legend.
pub fn short_axis(axis: &str) -> &str {
    axis.strip_prefix("params.").unwrap_or(axis)
}

/// Unit of a metric column, from the naming rules in results/README.md and
/// the path's own column declarations.
pub fn metric_unit(path: &str, metric: &str) -> &'static str {
    if let Some(c) = systems::find(path).and_then(|p| p.columns.iter().find(|c| c.name == metric)) {
        return c.unit;
    }
    if metric.ends_with("_ms") {
        "ms"
    } else if metric.contains("_us") {
        "µs"
    } else if metric.ends_with("_ops_s") {
        "ops/s"
    } else {
        "count"
    }
}

/// Unit of a swept column: a parameter's declared unit, else by its name.
pub fn axis_unit(path: &str, axis: &str) -> &'static str {
    if let Some(name) = axis.strip_prefix("params.") {
        if let Some(s) = systems::find(path).and_then(|p| p.param(name)) {
            return s.unit;
        }
    }
    if axis == "nodes" {
        "servers"
    } else if axis.ends_with("_ms") {
        "ms"
    } else if axis.ends_with("_per_s") {
        "1/s"
    } else {
        ""
    }
}

/// `name (unit)`, or `name` alone when the unit is empty.
pub fn with_unit(name: &str, unit: &str) -> String {
    if unit.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({unit})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_files_read_with_quotes_and_skip_a_cut_off_row() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.csv");
        std::fs::write(&f, "a,b,c\nx,\"b,c\",\"d\"\"e\"\ncut,off\n").unwrap();
        let t = read_csv(&f, &mut |_, _| true).unwrap();
        assert_eq!(t.header, ["a", "b", "c"]);
        assert_eq!(t.rows, [["x", "b,c", "d\"e"]]);
    }
}
