//! Every shipped workload (`workloads/*.toml`) still gives the protocol results
//! of its committed baseline run(s) in `results/baseline/`.
//!
//! The comparison is by column NAME, not by position, because the schema is
//! allowed to grow: a newer engine may add documented columns to `raw.csv`, and
//! it bumps `schema_version` when it does. What must not change is a value the
//! baseline already has, so:
//!
//! - every column present in both files is compared cell by cell, row by row
//!   (rows are in (point, trial) order in `raw.csv`, (point, metric) order in
//!   `summary.csv`), except provenance and the engine-internal columns listed
//!   in [`ENGINE_COLUMNS_BY_SCHEMA`];
//! - a column only in the new file is allowed (a newly documented column);
//! - a column only in the baseline fails (a column was dropped);
//! - the row count must match (in `summary.csv`, after leaving out the rows of
//!   metrics the baseline does not have: a path column added since);
//!
//! `meta.json` is not compared: it holds machine and wall-clock facts only.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const WORKLOAD_DIR: &str = "workloads";
const BASELINE_DIR: &str = "results/baseline";

/// Provenance columns that say who built the binary, not what it simulated:
/// they differ between the baseline's commit and this one by design.
const PROVENANCE_SKIPPED: &[&str] = &["schema_version", "electbench_version", "commit", "dirty"];

/// SHA-256 of the workload file. It is compared like any result column while
/// the file's bytes are those the baseline was made from, and skipped once the
/// file was edited (say, a comment), since the results must still match.
const WORKLOAD_SHA_COLUMN: &str = "workload_sha256";

/// Engine-internal columns whose meaning changed, in a documented way, at a
/// schema version: `(schema, columns)` means a baseline written with a schema
/// below `schema` is not compared on `columns` against a file written with
/// `schema` or later. A baseline at the new file's own schema is compared on
/// them like on any other column, so the newest baseline of a workload, once
/// regenerated, pins them again.
const ENGINE_COLUMNS_BY_SCHEMA: &[(u32, &[&str])] = &[
    // The trace hash folds engine events, and schema 2 no longer folds timers
    // that a newer timer replaced: the same trial hashes differently.
    (2, &["trace_hash"]),
];

/// Shipped workloads that may have no baseline, each with the reason. Any
/// other workload without a baseline fails the test by name.
const NO_BASELINE_ALLOWED: &[(&str, &str)] = &[(
    "zk-fle-heartbeat",
    "speed workload, 1 h simulated per trial; too slow for the test suite",
)];

/// Mismatching cells listed per compared file; the rest are only counted, so a
/// model change that moves every row still gives a readable message.
const MAX_LISTED: usize = 20;

// ---------------------------------------------------------------------------
// CSV files
// ---------------------------------------------------------------------------

/// A CSV file split into its header and rows.
struct Table {
    /// For messages.
    what: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Split `text` on newlines and commas. Result files never quote a cell
    /// (no value contains a comma), so a cell starting with `"` would mean the
    /// writer changed and this naive split is no longer valid: refuse it.
    fn parse(what: &str, text: &str) -> Table {
        let mut lines = text.lines();
        let split = |n: usize, line: &str| -> Vec<String> {
            line.split(',')
                .map(|cell| {
                    assert!(
                        !cell.starts_with('"'),
                        "{what}:{n}: quoted cell {cell:?}; this test splits on ',' and cannot read quoted CSV"
                    );
                    cell.to_owned()
                })
                .collect()
        };
        let header = split(
            1,
            lines.next().unwrap_or_else(|| panic!("{what}: empty file")),
        );
        let mut seen = BTreeSet::new();
        for name in &header {
            assert!(seen.insert(name), "{what}: column {name:?} appears twice");
        }
        let rows: Vec<Vec<String>> = lines
            .enumerate()
            .map(|(i, line)| {
                let row = split(i + 2, line);
                assert_eq!(
                    row.len(),
                    header.len(),
                    "{what}:{}: {} cells under a header of {}",
                    i + 2,
                    row.len(),
                    header.len()
                );
                row
            })
            .collect();
        Table {
            what: what.to_owned(),
            header,
            rows,
        }
    }

    /// The rows of `self` whose `column` holds a value some row of `base`
    /// holds: summary rows of a metric the baseline never had (a path column
    /// added since) are new, documented rows, not a difference.
    fn rows_known_to(&self, base: &Table, column: &str) -> Table {
        let (Some(c), Some(bc)) = (self.col(column), base.col(column)) else {
            return Table {
                what: self.what.clone(),
                header: self.header.clone(),
                rows: self.rows.clone(),
            };
        };
        let known: BTreeSet<&String> = base.rows.iter().map(|r| &r[bc]).collect();
        Table {
            what: self.what.clone(),
            header: self.header.clone(),
            rows: self
                .rows
                .iter()
                .filter(|r| known.contains(&r[c]))
                .cloned()
                .collect(),
        }
    }

    fn read(path: &Path) -> Table {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Table::parse(&path.display().to_string(), &text)
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The single value of `name` over all rows (a provenance column).
    fn constant(&self, name: &str) -> String {
        let c = self
            .col(name)
            .unwrap_or_else(|| panic!("{}: no {name} column", self.what));
        let values: BTreeSet<&str> = self.rows.iter().map(|r| r[c].as_str()).collect();
        assert_eq!(
            values.len(),
            1,
            "{}: expected one {name} over all rows, found {values:?}",
            self.what
        );
        values.into_iter().next().unwrap().to_owned()
    }

    fn schema(&self) -> u32 {
        let v = self.constant("schema_version");
        v.parse()
            .unwrap_or_else(|_| panic!("{}: schema_version {v:?} is not a number", self.what))
    }

    /// `point=0, trial=3` for messages: the row's key columns that exist.
    fn label(&self, row: usize, key: &[&str]) -> String {
        let parts: Vec<String> = key
            .iter()
            .filter_map(|k| self.col(k).map(|c| format!("{k}={}", self.rows[row][c])))
            .collect();
        if parts.is_empty() {
            format!("row {}", row + 1)
        } else {
            parts.join(", ")
        }
    }
}

/// The columns not compared between a baseline written with `base_schema` and
/// a new file written with `new_schema`.
fn skipped_columns(
    base_schema: u32,
    new_schema: u32,
    workload_changed: bool,
) -> BTreeSet<&'static str> {
    let mut skip: BTreeSet<&str> = PROVENANCE_SKIPPED.iter().copied().collect();
    if workload_changed {
        skip.insert(WORKLOAD_SHA_COLUMN);
    }
    for &(schema, columns) in ENGINE_COLUMNS_BY_SCHEMA {
        if base_schema < schema && schema <= new_schema {
            skip.extend(columns.iter().copied());
        }
    }
    skip
}

/// Compare `new` against `base` by column name; `Err` describes every way they
/// differ. `key` names the columns that identify a row in messages.
fn compare(base: &Table, new: &Table, skip: &BTreeSet<&str>, key: &[&str]) -> Result<(), String> {
    let mut problems = String::new();
    let dropped: Vec<&str> = base
        .header
        .iter()
        .filter(|h| new.col(h).is_none())
        .map(String::as_str)
        .collect();
    if !dropped.is_empty() {
        let _ = writeln!(
            problems,
            "  columns in the baseline but not in the new file (dropped): {dropped:?}"
        );
    }
    if base.rows.len() != new.rows.len() {
        // Rows are matched by position, so with a different count every later
        // row would be compared against the wrong one: report only this.
        let _ = writeln!(
            problems,
            "  row count: baseline {}, new {}",
            base.rows.len(),
            new.rows.len()
        );
    } else {
        let pairs: Vec<(&str, usize, usize)> = base
            .header
            .iter()
            .enumerate()
            .filter(|(_, h)| !skip.contains(h.as_str()))
            .filter_map(|(b, h)| new.col(h).map(|n| (h.as_str(), b, n)))
            .collect();
        let mut mismatches = 0usize;
        let mut listed = String::new();
        for (r, (brow, nrow)) in base.rows.iter().zip(&new.rows).enumerate() {
            for &(name, b, n) in &pairs {
                if brow[b] != nrow[n] {
                    mismatches += 1;
                    if mismatches <= MAX_LISTED {
                        let _ = writeln!(
                            listed,
                            "    {name} at {}: baseline {:?}, new {:?}",
                            base.label(r, key),
                            brow[b],
                            nrow[n]
                        );
                    }
                }
            }
        }
        if mismatches > 0 {
            let _ = writeln!(
                problems,
                "  {mismatches} mismatching cells (first {} listed):\n{listed}",
                mismatches.min(MAX_LISTED)
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} against baseline {}:\n{problems}",
            new.what, base.what
        ))
    }
}

// ---------------------------------------------------------------------------
// Workloads and baseline folders
// ---------------------------------------------------------------------------

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `(name, file)` of every shipped workload, by file name; live workloads
/// are left out (their results are not deterministic, so nothing is pinned).
fn shipped_workloads() -> Vec<(String, PathBuf)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_path(WORKLOAD_DIR))
        .expect("workloads/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            !std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.trim() == "runtime = \"live\"")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no workloads/*.toml");
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let doc: toml_edit::DocumentMut = text
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let name = doc
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("{}: no name = \"...\"", f.display()))
                .to_owned();
            (name, f)
        })
        .collect()
}

/// The part of a run folder's name after `name-` if it is a run stamp
/// (`YYYYMMDDTHHMMSSZ`, optionally `-k`), so that `zk-fle-leader` would not
/// claim `zk-fle-leader-pause-…`.
fn run_stamp<'a>(folder: &'a str, name: &str) -> Option<&'a str> {
    let stamp = folder.strip_prefix(name)?.strip_prefix('-')?;
    let (time, k) = match stamp.split_once('-') {
        Some((t, k)) => (t, Some(k)),
        None => (stamp, None),
    };
    let b = time.as_bytes();
    let is_time = b.len() == 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z';
    let is_k = k.is_none_or(|k| !k.is_empty() && k.bytes().all(|c| c.is_ascii_digit()));
    (is_time && is_k).then_some(stamp)
}

/// Folder names under `results/baseline/`.
fn baseline_folders() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_path(BASELINE_DIR))
        .expect("results/baseline/ exists")
        .map(|e| e.expect("dir entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().expect("UTF-8 folder name"))
        .collect();
    names.sort();
    names
}

/// Baseline folders of workload `name`, oldest first.
fn baselines_of(name: &str, folders: &[String]) -> Vec<PathBuf> {
    let mut mine: Vec<(&str, &String)> = folders
        .iter()
        .filter_map(|f| run_stamp(f, name).map(|s| (s, f)))
        .collect();
    // `-k` marks a later run within the same second; compare it as a number.
    mine.sort_by_key(|(s, _)| {
        let (t, k) = s.split_once('-').unwrap_or((s, "1"));
        (t.to_owned(), k.parse::<u32>().unwrap_or(0))
    });
    mine.into_iter()
        .map(|(_, f)| repo_path(BASELINE_DIR).join(f))
        .collect()
}

fn sha256_hex(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[test]
fn every_shipped_workload_reproduces_its_committed_baselines() {
    let folders = baseline_folders();
    let allowed: BTreeMap<&str, &str> = NO_BASELINE_ALLOWED.iter().copied().collect();
    let mut failures: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();

    for (name, file) in shipped_workloads() {
        let baselines = baselines_of(&name, &folders);
        if baselines.is_empty() {
            match allowed.get(name.as_str()) {
                Some(why) => eprintln!("{name}: no baseline, allowed: {why}"),
                None => missing.push(format!("{name} ({})", file.display())),
            }
            continue;
        }

        // One run per workload, then compared against each of its baselines.
        let out = tempfile::tempdir().unwrap();
        common::run_ok(&file, out.path(), &[]);
        let run = common::run_dir(out.path());
        let raw = Table::read(&run.join("raw.csv"));
        let summary = Table::read(&run.join("summary.csv"));
        let new_schema = raw.schema();
        assert_eq!(
            summary.schema(),
            new_schema,
            "{name}: raw and summary schemas differ"
        );
        let file_sha = sha256_hex(&file);
        // meta.json's wall time, so a slow workload shows in `--nocapture`.
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("meta.json")).unwrap()).unwrap();
        eprintln!("{name}: ran in {} s (wall)", meta["wall_s"]);

        for base_dir in baselines {
            let base_raw = Table::read(&base_dir.join("raw.csv"));
            let base_summary = Table::read(&base_dir.join("summary.csv"));
            let base_schema = base_raw.schema();
            if base_schema > new_schema {
                failures.push(format!(
                    "{name}: baseline {} has schema {base_schema}, newer than this build's {new_schema}",
                    base_dir.display()
                ));
                continue;
            }
            let workload_changed = base_raw.constant(WORKLOAD_SHA_COLUMN) != file_sha;
            if workload_changed {
                eprintln!(
                    "{name}: {} changed since baseline {}; not comparing {WORKLOAD_SHA_COLUMN}",
                    file.display(),
                    base_dir.display()
                );
            }
            let skip = skipped_columns(base_schema, new_schema, workload_changed);
            eprintln!(
                "{name}: comparing against {} (schema {base_schema} -> {new_schema}), skipping {skip:?}",
                base_dir.display()
            );
            for result in [
                compare(&base_raw, &raw, &skip, &["point", "trial"]),
                compare(
                    &base_summary,
                    &summary.rows_known_to(&base_summary, "metric"),
                    &skip,
                    &["point", "metric"],
                ),
            ] {
                if let Err(e) = result {
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
    }

    if !missing.is_empty() {
        failures.insert(
            0,
            format!(
                "workloads without a baseline in {BASELINE_DIR}/ (run `electbench run FILE --out {BASELINE_DIR}` \
                 and commit it, or add the name to NO_BASELINE_ALLOWED with a reason): {}",
                missing.join(", ")
            ),
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_no_baseline_allow_list_names_only_shipped_workloads_still_without_one() {
    // A stale entry would silently excuse a future workload of the same name,
    // or hide that a baseline now exists and is never compared.
    let folders = baseline_folders();
    let shipped: BTreeSet<String> = shipped_workloads().into_iter().map(|(n, _)| n).collect();
    for (name, why) in NO_BASELINE_ALLOWED {
        assert!(
            !why.is_empty(),
            "{name}: an allow-list entry needs a reason"
        );
        assert!(
            shipped.contains(*name),
            "{name} is allowed no baseline but is not a shipped workload"
        );
        assert!(
            baselines_of(name, &folders).is_empty(),
            "{name} is allowed no baseline but has one: remove it from NO_BASELINE_ALLOWED"
        );
    }
}

#[test]
fn every_baseline_folder_belongs_to_a_shipped_workload() {
    // A folder no workload claims (renamed workload, typo in the stamp) would
    // otherwise never be compared.
    let names: Vec<String> = shipped_workloads().into_iter().map(|(n, _)| n).collect();
    let orphans: Vec<String> = baseline_folders()
        .into_iter()
        .filter(|f| !names.iter().any(|n| run_stamp(f, n).is_some()))
        .collect();
    assert!(
        orphans.is_empty(),
        "baseline folders of no shipped workload: {orphans:?}"
    );
}

// ---------------------------------------------------------------------------
// The comparison itself, on small hand-written tables
// ---------------------------------------------------------------------------

const BASE: &str = "schema_version,commit,point,trial,detect_ms,trace_hash
1,aaa,0,0,1.500,00ff
1,aaa,0,1,2.500,01ff
";

fn skip_v1() -> BTreeSet<&'static str> {
    skipped_columns(1, 1, false)
}

#[test]
fn provenance_columns_are_not_compared_but_results_are() {
    let base = Table::parse("base", BASE);
    let new = Table::parse("new", &BASE.replace("1,aaa,", "1,bbb,"));
    assert!(compare(&base, &new, &skip_v1(), &["point", "trial"]).is_ok());
    let new = Table::parse("new", &BASE.replace("2.500", "2.501"));
    let err = compare(&base, &new, &skip_v1(), &["point", "trial"]).unwrap_err();
    assert!(err.contains("1 mismatching cells"), "{err}");
    assert!(
        err.contains(r#"detect_ms at point=0, trial=1: baseline "2.500", new "2.501""#),
        "{err}"
    );
}

#[test]
fn columns_are_matched_by_name_and_new_columns_are_allowed() {
    let base = Table::parse("base", BASE);
    // Columns reordered and one added: still equal.
    let new = Table::parse(
        "new",
        "schema_version,commit,point,trial,new_col,trace_hash,detect_ms
1,aaa,0,0,x,00ff,1.500
1,aaa,0,1,y,01ff,2.500
",
    );
    assert!(compare(&base, &new, &skip_v1(), &["point", "trial"]).is_ok());
}

#[test]
fn a_column_dropped_from_the_baseline_fails() {
    let base = Table::parse("base", BASE);
    let new = Table::parse(
        "new",
        "schema_version,commit,point,trial,trace_hash
1,aaa,0,0,00ff
1,aaa,0,1,01ff
",
    );
    let err = compare(&base, &new, &skip_v1(), &["point", "trial"]).unwrap_err();
    assert!(err.contains(r#"(dropped): ["detect_ms"]"#), "{err}");
}

#[test]
fn a_different_row_count_fails() {
    let base = Table::parse("base", BASE);
    let new = Table::parse(
        "new",
        BASE.lines().take(2).collect::<Vec<_>>().join("\n").as_str(),
    );
    let err = compare(&base, &new, &skip_v1(), &["point", "trial"]).unwrap_err();
    assert!(err.contains("row count: baseline 2, new 1"), "{err}");
}

#[test]
fn trace_hash_is_skipped_only_against_a_baseline_of_an_older_schema() {
    let base = Table::parse("base", BASE);
    let new = Table::parse(
        "new",
        &BASE.replace("00ff", "99ff").replace("1,aaa", "2,aaa"),
    );
    assert!(compare(
        &base,
        &new,
        &skipped_columns(1, 2, false),
        &["point", "trial"]
    )
    .is_ok());
    // Same schema on both sides: the hash must match.
    let err = compare(
        &base,
        &new,
        &skipped_columns(2, 2, false),
        &["point", "trial"],
    )
    .unwrap_err();
    assert!(err.contains("trace_hash at point=0, trial=0"), "{err}");
}

#[test]
fn mismatches_are_all_counted_but_at_most_20_listed() {
    let mut text = String::from("point,trial,x\n");
    for t in 0..30 {
        text.push_str(&format!("0,{t},1\n"));
    }
    let base = Table::parse("base", &text);
    let new = Table::parse("new", &text.replace(",1\n", ",2\n"));
    let err = compare(&base, &new, &skip_v1(), &["point", "trial"]).unwrap_err();
    assert!(
        err.contains("30 mismatching cells (first 20 listed)"),
        "{err}"
    );
    assert_eq!(err.matches("    x at ").count(), MAX_LISTED, "{err}");
}

#[test]
#[should_panic(expected = "quoted cell")]
fn a_quoted_cell_is_refused_since_the_split_cannot_read_it() {
    Table::parse("t", "a,b\n\"1,2\",3\n");
}

#[test]
fn a_run_folder_belongs_only_to_the_workload_named_before_its_stamp() {
    assert_eq!(
        run_stamp(
            "zk-fle-leader-pause-20261127T103429Z",
            "zk-fle-leader-pause"
        ),
        Some("20261127T103429Z")
    );
    assert_eq!(
        run_stamp(
            "zk-fle-leader-pause-20261127T103429Z-2",
            "zk-fle-leader-pause"
        ),
        Some("20261127T103429Z-2")
    );
    assert_eq!(
        run_stamp("zk-fle-leader-pause-20261127T103429Z", "zk-fle-leader"),
        None
    );
    assert_eq!(run_stamp("quickstart-old", "quickstart"), None);
}
