//! Results name the commit the binary was BUILT from, not the commit checked
//! out where it RUNS: a binary built at commit A and run inside a checkout of
//! commit B must still report A, or results could not be compared across
//! commits.

mod common;

use std::path::Path;
use std::process::Command;

use common::{run_dir, stderr, write, SMALL};

/// What build.rs recorded; the library was compiled with the same values.
const BUILT_COMMIT: &str = env!("ELECTBENCH_GIT_COMMIT");
const BUILT_DIRTY: &str = env!("ELECTBENCH_GIT_DIRTY");

/// Run `git ARGS` in `dir`; its trimmed standard output, or `None` when git is
/// not installed or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // If the tests run from a git hook, these point at the real
        // repository; the commands below must only ever see `dir`.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The values of column `name` in every data row of the CSV `text`.
fn column(text: &str, name: &str) -> Vec<String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split(',').collect();
    let i = header
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no {name:?} column in {header:?}"));
    // The provenance columns come first and hold no commas, so a plain split
    // finds them even if a later cell is quoted.
    lines
        .map(|l| l.split(',').nth(i).expect("a full row").to_string())
        .collect()
}

#[test]
fn run_reports_the_build_commit_not_the_checkout_it_runs_in() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    if git(dir, &["init", "-q"]).is_none() {
        eprintln!("note: git is not installed; skipping the checkout-of-another-commit test");
        return;
    }
    assert!(SMALL.contains("trials = 12"), "SMALL changed: {SMALL}");
    write(
        dir,
        "small.toml",
        &SMALL.replace("trials = 12", "trials = 2"),
    );
    git(dir, &["add", "small.toml"]).expect("git add");
    // An identity of its own and no hooks or signing, so the commit succeeds
    // on any machine whatever its git configuration.
    git(
        dir,
        &[
            "-c",
            "user.name=electbench-test",
            "-c",
            "user.email=test@electbench",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "another commit",
        ],
    )
    .expect("git commit");
    let other = git(dir, &["rev-parse", "HEAD"]).expect("the temporary repository has a HEAD");
    assert_ne!(
        other, BUILT_COMMIT,
        "the temporary commit cannot be the build commit"
    );

    // Relative paths: the binary really runs inside the other checkout.
    let o = Command::new(env!("CARGO_BIN_EXE_electbench"))
        .args(["run", "small.toml", "--out", "out", "-q"])
        .current_dir(dir)
        .output()
        .expect("the electbench binary runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = run_dir(&dir.join("out"));

    let raw = std::fs::read_to_string(run.join("raw.csv")).unwrap();
    let commits = column(&raw, "commit");
    assert_eq!(commits.len(), 2, "one row per trial:\n{raw}");
    for c in &commits {
        assert_eq!(c, BUILT_COMMIT, "raw.csv names the checkout, not the build");
        assert_ne!(c, &other);
    }
    for d in column(&raw, "dirty") {
        assert_eq!(d, BUILT_DIRTY);
    }

    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["commit"], BUILT_COMMIT, "meta.json: {meta}");
    assert_ne!(meta["commit"], other.as_str());
    assert_eq!(meta["dirty"], BUILT_DIRTY, "meta.json: {meta}");
}

#[test]
fn build_commit_is_the_source_head_when_the_tree_is_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Only a checkout that tracks this crate says anything about it; build.rs
    // applies the same rule.
    let head = git(root, &["ls-files", "--error-unmatch", "--", "Cargo.toml"])
        .and_then(|_| git(root, &["rev-parse", "HEAD"]));
    let Some(head) = head else {
        eprintln!("note: {} is not a git checkout; skipping", root.display());
        return;
    };
    // Without optional locks git leaves the index alone; rewriting it would
    // make cargo re-run build.rs on the next build for nothing.
    let status = [
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
    ];
    match git(root, &status) {
        Some(changes) if changes.is_empty() => {
            assert_eq!(BUILT_COMMIT, head, "build.rs recorded a stale commit");
            assert_eq!(BUILT_DIRTY, "false");
        }
        _ => eprintln!(
            "note: {} has uncommitted changes; skipping the comparison with HEAD",
            root.display()
        ),
    }
}
