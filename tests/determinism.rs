//! A simulated run is a function of (workload file, seed, commit): the same
//! bytes out on every run and with any number of worker threads.

mod common;

use common::{run_dir, write, SMALL};

/// Run `file` with `extra` flags into a fresh folder; return (raw,
/// summary, histograms).
fn run(file: &std::path::Path, extra: &[&str]) -> (String, String, String) {
    let out = tempfile::tempdir().unwrap();
    common::run_ok(file, out.path(), extra);
    let dir = run_dir(out.path());
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    (read("raw.csv"), read("summary.csv"), read("histograms.csv"))
}

/// A workload with a sweep, random fault times, Poisson clients, reads,
/// message loss and a restart, so that many random streams are exercised.
const BUSY: &str = r#"
name = "busy"
path = "zookeeper/fle"
seed = 99
trials = 16
nodes = [3, 5]
duration_ms = 30000

[network]
latency = { dist = "lognormal", median_ms = 0.5, p99_ms = 4.0 }
loss = 0.001

[clients]
count = 3
rate_per_s = 25
read_ratio = 0.3
arrival = "poisson"

[[faults]]
kind = "crash"
target = "leader"
from_ms = 5000
to_ms = 9000
duration_ms = 12000

[[faults]]
kind = "isolate"
target = "follower"
from_ms = 20000
to_ms = 22000
duration_ms = 3000
"#;

#[test]
fn same_seed_gives_identical_csv_with_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "busy.toml", BUSY);
    let a = run(&f, &["--threads", "1"]);
    let b = run(&f, &["--threads", "2"]);
    let c = run(&f, &["--threads", "2"]);
    assert_eq!(a.0, b.0, "raw.csv differs between 1 and 2 threads");
    assert_eq!(a.1, b.1, "summary.csv differs between 1 and 2 threads");
    assert_eq!(a.2, b.2, "histograms.csv differs between 1 and 2 threads");
    assert_eq!(b, c, "two identical runs differ");
    assert_eq!(a.0.lines().count(), 1 + 2 * 16);
    // Two histogram rows (writes, reads) per trial.
    assert_eq!(a.2.lines().count(), 1 + 2 * 2 * 16);
}

#[test]
fn another_seed_gives_other_results() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", SMALL);
    let a = run(&f, &[]);
    let b = run(&f, &["--seed", "6"]);
    assert_ne!(a.0, b.0);
}

#[test]
fn replaying_one_trial_reproduces_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "busy.toml", BUSY);
    let (all, _, hists) = run(&f, &[]);
    let (one, _, one_hists) = run(&f, &["--point", "1", "--trial", "7"]);
    let row = one.lines().nth(1).unwrap();
    assert!(
        all.lines().any(|l| l == row),
        "trial 7 of point 1 alone: {row}"
    );
    for h in one_hists.lines().skip(1) {
        assert!(hists.lines().any(|l| l == h), "histogram row: {h}");
    }
}

/// Every registered path, on one of its shipped workloads (its first sweep
/// point, a few trials): the same bytes with one worker thread and with two.
#[test]
fn every_registered_path_gives_identical_csv_with_one_or_two_threads() {
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/workloads"))
        .expect("workloads/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // Live runs are not deterministic (their own tests are in live.rs).
        .filter(|p| {
            !std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.trim() == "runtime = \"live\"")
        })
        .collect();
    files.sort();
    for info in electbench::systems::paths() {
        let line = format!("path = \"{}\"", info.path);
        let file = files
            .iter()
            .find(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .any(|l| l.trim() == line)
            })
            .unwrap_or_else(|| panic!("no shipped workload for {}", info.path));
        let flags = |t: &'static str| ["--point", "0", "--trials", "4", "--threads", t];
        let one = run(file, &flags("1"));
        let two = run(file, &flags("2"));
        assert_eq!(one, two, "{} ({})", info.path, file.display());
    }
}
