//! `electbench compare` on real runs of the binary: a run against itself is
//! identical, a model with a longer failure-detection timeout is flagged
//! worse, `--fail-on-regression` sets the exit code, bad input exits 2.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{electbench, run_dir, run_ok, stderr, stdout, write};

/// A 3-server ensemble whose leader's host dies (no connection reset, so
/// followers only notice after `syncLimit` ticks of silence: detect_ms is
/// about syncLimit x tickTime).
fn workload(name: &str, sync_limit: u32, nodes: &str) -> String {
    format!(
        r#"
name = "{name}"
path = "zookeeper/fle"
seed = 5
trials = 10
nodes = {nodes}
duration_ms = 40000

[clients]
count = 1
rate_per_s = 20

[params]
syncLimit = {sync_limit}

[[faults]]
kind = "crash"
target = "leader"
from_ms = 3000
to_ms = 4000
host_alive = false
"#
    )
}

struct Runs {
    _dir: tempfile::TempDir,
    /// syncLimit 5, nodes 3 and 5 (two groups).
    fast: PathBuf,
    /// syncLimit 10, same seeds: detect_ms about doubles.
    slow: PathBuf,
    /// syncLimit 10 with another seed: unpaired.
    slow_other_seed: PathBuf,
    /// Another workload name: no group in common with `fast`.
    other: PathBuf,
}

/// The runs every test compares, made once.
fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run = |file: &str, text: &str, out: &str, extra: &[&str]| {
            let f = write(dir.path(), file, text);
            let out = dir.path().join(out);
            run_ok(&f, &out, extra);
            run_dir(&out)
        };
        Runs {
            fast: run("fast.toml", &workload("cmp", 5, "[3, 5]"), "fast", &[]),
            slow: run("slow.toml", &workload("cmp", 10, "[3, 5]"), "slow", &[]),
            slow_other_seed: run(
                "slow2.toml",
                &workload("cmp", 10, "[3, 5]"),
                "slow2",
                &["--seed", "99"],
            ),
            other: run("other.toml", &workload("other", 5, "3"), "other", &[]),
            _dir: dir,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `compare --format csv`: the rows as maps from column to cell.
fn csv_rows(out: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn a_run_compared_with_itself_is_identical_in_every_group_and_exits_0() {
    let r = runs();
    let o = electbench(&[
        "compare",
        s(&r.fast),
        s(&r.fast),
        "--fail-on-regression",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let groups: Vec<&str> = out.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(groups.len(), 2, "two groups (nodes 3 and 5): {out}");
    for g in groups {
        assert!(g.contains("identical (10 paired trials"), "{g}");
    }
    let o = electbench(&["compare", s(&r.fast), s(&r.fast), "--format", "csv"]);
    let rows = csv_rows(&stdout(&o));
    let tested: Vec<_> = rows.iter().filter(|r| r["test"] != "geomean").collect();
    assert!(tested.len() >= 20, "{rows:?}");
    for row in tested {
        assert_eq!(row["verdict"], "identical", "{row:?}");
        assert_eq!(row["base_median"], row["new_median"], "{row:?}");
    }
    // No warnings: same workload file, same build.
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn a_longer_sync_limit_is_flagged_worse_with_a_positive_change() {
    let r = runs();
    let o = electbench(&["compare", s(&r.fast), s(&r.slow), "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The workload file differs (syncLimit), and compare says so.
    assert!(
        stderr(&o).contains("workload_sha256 differs"),
        "{}",
        stderr(&o)
    );
    let rows = csv_rows(&stdout(&o));
    let detect: Vec<_> = rows
        .iter()
        .filter(|r| r["metric"] == "detect_ms" && r["test"] == "wilcoxon")
        .collect();
    assert_eq!(detect.len(), 2, "{rows:?}");
    for row in detect {
        let change: f64 = row["change_pct"].parse().unwrap();
        assert!((80.0..120.0).contains(&change), "{row:?}");
        assert_eq!(row["verdict"], "worse", "{row:?}");
        assert!(row["p"].parse::<f64>().unwrap() < 0.05, "{row:?}");
    }
    let geo = rows
        .iter()
        .find(|r| r["metric"] == "detect_ms" && r["test"] == "geomean")
        .unwrap();
    assert!(geo["group"].contains("2 groups"), "{geo:?}");
    // The election itself does not depend on syncLimit: no verdict.
    let elect = rows
        .iter()
        .find(|r| r["metric"] == "elect_ms" && r["test"] == "wilcoxon")
        .unwrap();
    assert_ne!(elect["verdict"], "better", "{elect:?}");

    // Unpaired (other trial seeds): Mann-Whitney still sees it.
    let o = electbench(&["compare", s(&r.fast), s(&r.slow_other_seed)]);
    let out = stdout(&o);
    assert!(
        out.contains("unpaired: 10 vs 10 trials (Mann-Whitney U)"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("nodes=3") && l.contains("detect_ms"))
        .unwrap();
    assert!(line.contains("worse") && line.contains("+"), "{line}");
}

#[test]
fn fail_on_regression_exits_1_past_the_threshold_and_0_below_it() {
    let r = runs();
    let o = electbench(&[
        "compare",
        s(&r.fast),
        s(&r.slow),
        "--fail-on-regression",
        "50",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("regression:") && err.contains("detect_ms"),
        "{err}"
    );
    let o = electbench(&[
        "compare",
        s(&r.fast),
        s(&r.slow),
        "--fail-on-regression",
        "500",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Better is never a regression: the slow run as BASE.
    let o = electbench(&[
        "compare",
        "--base",
        s(&r.slow),
        "--new",
        s(&r.fast),
        "--fail-on-regression",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("better"), "{}", stdout(&o));
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let r = runs();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let o = electbench(&["compare", s(&missing), s(&r.fast)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope") && stderr(&o).contains("no such file"));

    let summary = r.fast.join("summary.csv");
    let o = electbench(&["compare", s(&r.fast), s(&summary)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("summary.csv: not a raw.csv"),
        "{}",
        stderr(&o)
    );

    let junk = write(dir.path(), "junk.csv", "hello\nworld\n");
    let o = electbench(&["compare", s(&junk), s(&r.fast)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("junk.csv: not a raw.csv"),
        "{}",
        stderr(&o)
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = electbench(&["compare", s(&empty), s(&r.fast)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no raw.csv"), "{}", stderr(&o));

    let o = electbench(&["compare", s(&r.fast), s(&r.other)]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("no common group"), "{err}");
    assert!(
        err.contains("only in BASE") && err.contains("only in NEW"),
        "{err}"
    );

    let o = electbench(&["compare", s(&r.fast)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn an_incomplete_run_is_compared_with_a_warning() {
    let r = runs();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("run");
    std::fs::create_dir(&copy).unwrap();
    let raw = std::fs::read_to_string(r.fast.join("raw.csv")).unwrap();
    // Keep the first 4 trials, and half of the fifth (a kill mid-write).
    let mut lines: Vec<&str> = raw.lines().take(6).collect();
    let cut = &lines[5][..lines[5].len() / 2];
    lines[5] = cut;
    std::fs::write(copy.join("raw.csv"), lines.join("\n")).unwrap();
    std::fs::write(copy.join("meta.json"), r#"{"complete": false}"#).unwrap();
    let o = electbench(&["compare", s(&r.fast), s(&copy), "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("the run is incomplete"), "{err}");
    assert!(err.contains("skipped 1 row"), "{err}");
    assert!(err.contains("too few samples"), "{err}");
    assert!(err.contains("only in BASE"), "{err}");
    let out = stdout(&o);
    assert!(
        out.contains("| group | metric |") && out.contains("|---|"),
        "{out}"
    );
    assert!(out.contains("unpaired: 10 vs 4 trials"), "{out}");
    assert!(out.contains("[too few samples]"), "{out}");
}
