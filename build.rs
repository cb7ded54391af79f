//! Build script: records which git commit the binary is built from.
//!
//! Results must name the code that produced them. Asking git at run time
//! would instead name whatever happens to be checked out when the binary
//! runs, so a binary built at commit A and run after checking out B would
//! claim B. This script asks git once, at build time, and bakes the answer in
//! through two variables for `env!`:
//!
//! - `ELECTBENCH_GIT_COMMIT`: the full hash of HEAD, or `unknown` when git or
//!   the repository is absent (a crates.io tarball, say).
//! - `ELECTBENCH_GIT_DIRTY`: `true` if the crate's tracked sources differ from
//!   that commit, `false` if not, empty when unknown.
//!
//! A missing git never fails the build: it only makes the answer `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate's inputs, relative to its root. Cargo re-runs this script when
/// any of them changes, and the dirty flag looks at exactly these paths: a
/// flag computed over more files (README, committed baselines) would go stale
/// whenever one of those changed, because nothing would re-run the script.
const SOURCES: &[&str] = &[
    "src",
    "benches",
    "tests",
    "Cargo.toml",
    "Cargo.lock",
    "build.rs",
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for source in SOURCES {
        watch(&root.join(source));
    }
    watch_git(root);

    let commit = head_commit(root);
    // The dirty flag only means something relative to a known commit.
    let dirty = commit.as_ref().and_then(|_| dirty(root));
    println!(
        "cargo:rustc-env=ELECTBENCH_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    println!(
        "cargo:rustc-env=ELECTBENCH_GIT_DIRTY={}",
        dirty.map(|d| d.to_string()).unwrap_or_default()
    );
}

/// Run `git ARGS` in `root` and return its trimmed standard output, or `None`
/// when git is not installed, fails, or prints something that is not UTF-8.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The full hash of HEAD, if `root` is part of a git work tree that tracks
/// this crate.
fn head_commit(root: &Path) -> Option<String> {
    // A crate unpacked from a tarball may sit inside some unrelated repository
    // (cargo's own `target/package`, or a home directory kept in git). That
    // repository's HEAD says nothing about this code, so insist that it tracks
    // our Cargo.toml before believing it.
    git(root, &["ls-files", "--error-unmatch", "--", "Cargo.toml"])?;
    let hash = git(root, &["rev-parse", "--verify", "--quiet", "HEAD"])?;
    // SHA-1 repositories give 40 hex digits, SHA-256 ones 64; anything else
    // would be a surprise that should not end up in a CSV column.
    let is_hash = matches!(hash.len(), 40 | 64) && hash.bytes().all(|b| b.is_ascii_hexdigit());
    is_hash.then_some(hash)
}

/// Whether tracked files among SOURCES differ from HEAD, in the index or in
/// the work tree.
fn dirty(root: &Path) -> Option<bool> {
    let mut args = vec![
        // Plain `git status` may rewrite the index to refresh its cached file
        // times. The index is watched below, so such a write would make cargo
        // run this script again on the next build for no reason.
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
    ];
    args.extend_from_slice(SOURCES);
    git(root, &args).map(|s| !s.is_empty())
}

/// Tell cargo to re-run this script when HEAD moves or the index changes.
///
/// In a linked worktree `.git` is a file, HEAD and the index live in the
/// worktree's own git directory and branches in the common one, so both are
/// asked of git rather than assumed to be `root/.git`.
fn watch_git(root: &Path) {
    // git prints these relative to `root` or absolute; joining handles both.
    let Some(git_dir) = git(root, &["rev-parse", "--git-dir"]).map(|d| root.join(d)) else {
        return;
    };
    let common_dir = git(root, &["rev-parse", "--git-common-dir"])
        .map(|d| root.join(d))
        .unwrap_or_else(|| git_dir.clone());

    // HEAD changes on checkout and, when detached, on every commit.
    watch(&git_dir.join("HEAD"));
    // The index changes on add, commit, reset and checkout.
    watch(&git_dir.join("index"));
    // When HEAD names a branch, a commit moves only that branch's ref.
    if let Some(branch) = git(root, &["symbolic-ref", "--quiet", "HEAD"]) {
        watch_ref(&common_dir, &branch);
    }
    // Refs may also live packed in one file or, with the newer backend, in a
    // reftable directory.
    watch(&common_dir.join("packed-refs"));
    watch(&common_dir.join("reftable"));
}

/// Watch the loose ref file `name` (e.g. `refs/heads/main`) under `common_dir`.
///
/// A branch that exists only in packed-refs, or that has no commit yet, has
/// no file; the next commit will create one. Watching a path that does not
/// exist would make cargo re-run the script on every build, so watch the
/// nearest folder that exists instead, in which that file will appear. The
/// git directory itself is never watched: objects land in it on every fetch.
fn watch_ref(common_dir: &Path, name: &str) {
    let mut path: PathBuf = common_dir.join(name);
    while !path.exists() {
        if !path.pop() || path == common_dir || !path.starts_with(common_dir) {
            return;
        }
    }
    watch(&path);
}

/// Ask cargo to re-run this script when `path` changes, if it exists (cargo
/// treats a missing path as always changed).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
