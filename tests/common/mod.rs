//! Helpers shared by the integration tests: run the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn electbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_electbench"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the electbench binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A small, fast workload: 3 servers, one client, leader crash.
pub const SMALL: &str = r#"
name = "small"
path = "zookeeper/fle"
seed = 5
trials = 12
nodes = 3
duration_ms = 15000

[clients]
count = 1
rate_per_s = 20

[[faults]]
kind = "crash"
target = "leader"
from_ms = 3000
to_ms = 4000
host_alive = true
"#;

/// Write `text` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("temp dir is writable");
    p
}

/// The only run folder under `out`.
pub fn run_dir(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("out exists")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one run folder in {}: {dirs:?}",
        out.display()
    );
    dirs.into_iter().next().unwrap()
}

/// `electbench run FILE --out OUT -q EXTRA...`, which must exit 0.
pub fn run_ok(file: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = electbench(&args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    o
}
