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
