//! Client latencies in the result files: reads are measured like writes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

/// Header-indexed rows of a CSV file without quoted cells.
fn table(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &BTreeMap<String, String>, col: &str) -> u64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col}: {:?}", row[col]))
}

const READS: &str = r#"
name = "reads"
path = "zookeeper/fle"
seed = 7
trials = 8
nodes = 3
duration_ms = 20000

[clients]
count = 2
rate_per_s = 20
read_ratio = 0.5

[[faults]]
kind = "crash"
target = "leader"
at_ms = 5000
"#;

#[test]
fn a_workload_with_reads_reports_read_latencies() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::write(dir.path(), "reads.toml", READS);
    let out = dir.path().join("out");
    common::run_ok(&f, &out, &[]);
    let run = common::run_dir(&out);
    let raw = table(&run.join("raw.csv"));
    assert_eq!(raw.len(), 8);
    let mut reads = 0;
    for r in &raw {
        assert!(num(r, "reads_ok") > 0);
        reads += num(r, "reads_ok");
        let q: Vec<u64> = ["p50", "p99", "p999", "max"]
            .iter()
            .map(|p| num(r, &format!("read_latency_us_{p}")))
            .collect();
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "{q:?}");
        // A read needs at least a network round trip to its server.
        assert!(q[0] > 0);
    }
    let summary = table(&run.join("summary.csv"));
    let row = summary
        .iter()
        .find(|r| r["metric"] == "read_latency_us")
        .expect("a read_latency_us summary row");
    assert_eq!(row["unit"], "us");
    assert_eq!(num(row, "count"), reads, "every successful read");
    assert!(num(row, "p50") <= num(row, "max"));
}

#[test]
fn a_workload_without_reads_leaves_the_read_columns_empty() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::write(
        dir.path(),
        "writes.toml",
        &READS.replace("read_ratio = 0.5", "read_ratio = 0.0"),
    );
    let out = dir.path().join("out");
    common::run_ok(&f, &out, &[]);
    let run = common::run_dir(&out);
    for r in table(&run.join("raw.csv")) {
        assert_eq!(r["reads_ok"], "0");
        assert_eq!(r["read_latency_us_p50"], "");
        assert_eq!(r["read_latency_us_max"], "");
    }
    let summary = table(&run.join("summary.csv"));
    let row = summary
        .iter()
        .find(|r| r["metric"] == "read_latency_us")
        .unwrap();
    assert_eq!((row["count"].as_str(), row["p50"].as_str()), ("0", ""));
}

#[test]
fn a_warmup_changes_the_measurement_not_the_trial() {
    // One client, 10 writes a second, no fault, 20 s: the warm-up of 10 s
    // leaves about 100 writes in 10 s measured, still 10 ops/s, and the
    // same trial underneath (same events, same writes).
    let text = r#"
name = "warmup"
path = "zookeeper/fle"
seed = 3
trials = 2
nodes = 3
duration_ms = 20000

[clients]
count = 1
rate_per_s = 10
warmup_ms = [0, 10000]
"#;
    let dir = tempfile::tempdir().unwrap();
    let f = common::write(dir.path(), "warmup.toml", text);
    let out = dir.path().join("out");
    common::run_ok(&f, &out, &[]);
    let raw = table(&common::run_dir(&out).join("raw.csv"));
    assert_eq!(raw.len(), 4);
    for t in 0..2 {
        let (cold, warm) = (&raw[t], &raw[2 + t]);
        assert_eq!((cold["point"].as_str(), warm["point"].as_str()), ("0", "1"));
        assert_eq!(warm["clients.warmup_ms"], "10000");
        for c in ["trace_hash", "writes_ok", "sim_events"] {
            assert_eq!(cold[c], warm[c], "{c}");
        }
        let tp = |r: &BTreeMap<String, String>| r["throughput_ops_s"].parse::<f64>().unwrap();
        // Writes finishing in [10 s, 20 s) over 10 s.
        assert!((tp(warm) - 10.0).abs() <= 0.2, "{}", tp(warm));
        // Without a warm-up: every successful write over the 20 s.
        let writes = num(cold, "writes_ok") as f64;
        assert!((tp(cold) - writes / 20.0).abs() < 1e-3, "{}", tp(cold));
    }
}
