//! `histograms.csv` keeps every trial's latency histograms losslessly:
//! merging a run's per-trial histograms gives back the percentiles of its
//! `summary.csv`, `electbench hist` merges runs, and bad input exits 2.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use electbench::results::histograms;

/// Writes and reads, two sweep points.
const READS: &str = r#"
name = "hist"
path = "zookeeper/fle"
seed = 11
trials = 7
nodes = [3, 5]
duration_ms = 12000

[clients]
count = 2
rate_per_s = 20
read_ratio = 0.4

[[faults]]
kind = "crash"
target = "leader"
from_ms = 3000
to_ms = 4000
host_alive = true
"#;

fn run_with_seed(root: &Path, seed: &str) -> PathBuf {
    let f = write(root, "hist.toml", READS);
    let out = root.join(format!("out-{seed}"));
    run_ok(&f, &out, &["--seed", seed]);
    run_dir(&out)
}

/// summary.csv rows by (point, metric): the named cells.
fn summary(dir: &Path) -> BTreeMap<(u64, String), BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_path(dir.join("summary.csv")).unwrap();
    let head = rdr.headers().unwrap().clone();
    let mut out = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let row: BTreeMap<String, String> = head
            .iter()
            .zip(rec.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        out.insert((row["point"].parse().unwrap(), row["metric"].clone()), row);
    }
    out
}

#[test]
fn merged_trial_histograms_give_the_summary_percentiles() {
    let root = tempfile::tempdir().unwrap();
    let dir = run_with_seed(root.path(), "11");
    let text = std::fs::read_to_string(dir.join("histograms.csv")).unwrap();
    // A row per trial and metric, in (point, trial) order.
    let order: Vec<(String, String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[11].into(), c[12].into(), c[14].into())
        })
        .collect();
    let mut want = Vec::new();
    for p in 0..2 {
        for t in 0..7 {
            for m in histograms::METRICS {
                want.push((p.to_string(), t.to_string(), m.to_string()));
            }
        }
    }
    assert_eq!(order, want);

    let merged = histograms::merge(std::slice::from_ref(&dir)).unwrap();
    let sum = summary(&dir);
    assert_eq!(merged.len(), 4, "2 points x 2 metrics");
    for ((workload, path, _, point, metric), m) in &merged {
        assert_eq!(
            (workload.as_str(), path.as_str()),
            ("hist", "zookeeper/fle")
        );
        assert_eq!(m.trials, 7);
        let row = &sum[&(*point, metric.clone())];
        let h = &m.histogram;
        assert!(h.len() > 100, "{metric}: {} values", h.len());
        assert_eq!(h.len().to_string(), row["count"], "{metric} count");
        let min: u64 = row["min"].parse().unwrap();
        let max: u64 = row["max"].parse().unwrap();
        // min and max are exact in the summary and within a bucket here.
        assert!(h.lowest_equivalent(h.min()) <= min && min <= h.highest_equivalent(h.min()));
        assert!(h.lowest_equivalent(h.max()) <= max && max <= h.highest_equivalent(h.max()));
        for (name, q) in histograms::QUANTILES {
            let v = h.value_at_quantile(q).clamp(min, max);
            assert_eq!(v.to_string(), row[name], "point {point} {metric} {name}");
        }
    }
}

#[test]
fn hist_merges_runs_and_refuses_a_trial_given_twice() {
    let root = tempfile::tempdir().unwrap();
    let a = run_with_seed(root.path(), "11");
    let b = run_with_seed(root.path(), "12");
    let count = |dir: &Path, point: u64| -> u64 {
        summary(dir)[&(point, "commit_latency_us".to_string())]["count"]
            .parse()
            .unwrap()
    };
    let o = electbench(&[
        "hist",
        a.to_str().unwrap(),
        b.join("histograms.csv").to_str().unwrap(),
        "--metric",
        "commit_latency_us",
        "--point",
        "1",
        "--csv",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("workload,path,nodes,point,metric,trials,count,min,p50"));
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        &cells[..6],
        ["hist", "zookeeper/fle", "5", "1", "commit_latency_us", "14"]
    );
    assert_eq!(cells[6], (count(&a, 1) + count(&b, 1)).to_string());

    // The aligned table names both points and both metrics.
    let o = electbench(&["hist", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 5, "{}", stdout(&o));

    let o = electbench(&["hist", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("appears twice"), "{}", stderr(&o));
}

#[test]
fn bad_histogram_input_exits_2_naming_file_line_and_field() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("nowhere");
    let o = electbench(&["hist", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nowhere") && stderr(&o).contains("no such file"),
        "{}",
        stderr(&o)
    );

    let dir = run_with_seed(root.path(), "11");
    let text = std::fs::read_to_string(dir.join("histograms.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 3 of the file: its histogram cut short.
    let cut = lines[2].len() - 10;
    lines[2].truncate(cut);
    let bad = write(root.path(), "bad.csv", &(lines.join("\n") + "\n"));
    let o = electbench(&["hist", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.csv: line 3: histogram"), "{err}");

    let other = write(root.path(), "other.csv", "a,b\n1,2\n");
    let o = electbench(&["hist", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a histograms.csv"),
        "{}",
        stderr(&o)
    );

    let o = electbench(&["hist", dir.to_str().unwrap(), "--metric", "speed"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("commit_latency_us"), "{}", stderr(&o));
}
