//! `scripts/compare-commits.sh` on two commits of a temporary repository: a
//! copy of this crate whose second commit doubles a workload's `syncLimit`.
//! The script builds both in worktrees, runs the workload at each, and its
//! `compare` flags the slower detection as a regression.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

const WORKLOAD: &str = r#"
name = "slow"
path = "zookeeper/fle"
seed = 9
trials = 20
nodes = 3
duration_ms = 40000

[clients]
count = 1
rate_per_s = 10

[[faults]]
kind = "crash"
target = "leader"
from_ms = 5000
to_ms = 6000

[params]
syncLimit = 5
"#;

#[test]
fn the_script_compares_two_commits_and_flags_a_regression() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("git is not installed: skipped");
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    // A copy of the crate's tracked files (not the committed results).
    let files = git(manifest, &["ls-files"]);
    for f in files.lines().filter(|f| !f.starts_with("results/")) {
        let (from, to) = (manifest.join(f), repo.join(f));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
    std::fs::write(repo.join("workloads/slow.toml"), WORKLOAD).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let slower = WORKLOAD.replace("syncLimit = 5", "syncLimit = 10");
    std::fs::write(repo.join("workloads/slow.toml"), slower).unwrap();
    git(&repo, &["commit", "-q", "-am", "twice the syncLimit"]);

    // Dependencies are built once and kept between test runs.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare-commits-target");
    let out = tmp.path().join("out");
    let o = Command::new("bash")
        .current_dir(&repo)
        .env("CARGO_TARGET_DIR", &target)
        .env("ELECTBENCH_COMPARE_DIR", &out)
        .args([
            "scripts/compare-commits.sh",
            "--fail-on-regression",
            "10",
            "HEAD~1",
            "HEAD",
            "workloads/slow.toml",
        ])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let detect = stdout
        .lines()
        .find(|l| l.contains("detect_ms"))
        .unwrap_or_else(|| panic!("no detect_ms row in\n{stdout}"));
    assert!(detect.contains("worse"), "{detect}");
    assert!(
        stdout.contains(&format!("results: {}", out.display())),
        "{stdout}"
    );
    // Both result folders are kept; both worktrees are gone.
    assert!(out.join("base-slow").is_dir() && out.join("head-slow").is_dir());
    let trees = git(&repo, &["worktree", "list"]);
    assert_eq!(trees.lines().count(), 1, "{trees}");
}
