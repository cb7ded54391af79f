//! Results that survive: rows are on disk as trials finish, a killed or
//! stopped run is marked incomplete, and `run --resume DIR` finishes it with
//! the same bytes as an uninterrupted run. No test decides anything on the
//! wall clock: they wait for observable conditions (rows in raw.csv, the
//! process's exit) with a generous overall limit.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{electbench, run_dir, stderr, write, SMALL};

/// SMALL swept over two sizes, `trials` trials per point, with reads, so
/// that every summary accumulator (read latencies too) must survive a resume.
fn workload(trials: u64) -> String {
    SMALL
        .replace("trials = 12", &format!("trials = {trials}"))
        .replace("nodes = 3", "nodes = [3, 5]")
        .replace("rate_per_s = 20", "rate_per_s = 20\nread_ratio = 0.3")
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_electbench"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Lines in `out`'s run folder's raw.csv, once there is one.
fn raw_lines(out: &Path) -> usize {
    let Ok(mut dirs) = std::fs::read_dir(out) else {
        return 0;
    };
    let Some(Ok(dir)) = dirs.next() else {
        return 0;
    };
    std::fs::read(dir.path().join("raw.csv"))
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Wait until raw.csv under `out` has at least `n` lines; a run that exits
/// first, or a minute without them, fails the test.
#[allow(clippy::disallowed_methods)] // an overall limit, not an outcome
fn wait_for_rows(child: &mut Child, out: &Path, n: usize) {
    let start = std::time::Instant::now();
    while raw_lines(out) < n {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before raw.csv had {n} lines"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "raw.csv never reached {n} lines"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn meta(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap()
}

/// No hidden temporary file is left in `dir`.
fn no_temporaries(dir: &Path) {
    let tmp: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
}

/// raw.csv holds only whole rows, in (point, trial) order from the start.
fn whole_rows_in_order(raw: &str, trials: u64) -> usize {
    assert!(raw.ends_with('\n'), "a partial last row");
    let mut lines = raw.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (pc, tc) = (
        header.iter().position(|c| *c == "point").unwrap(),
        header.iter().position(|c| *c == "trial").unwrap(),
    );
    let mut n = 0;
    for (k, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "row {k}: {line}");
        let want = (k as u64 / trials, k as u64 % trials);
        assert_eq!(
            (cells[pc].parse().unwrap(), cells[tc].parse().unwrap()),
            want,
            "row {k} out of order"
        );
        n += 1;
    }
    n
}

/// An uninterrupted run of `file` with `extra`; its folder.
fn reference(file: &Path, root: &Path, extra: &[&str]) -> PathBuf {
    let out = root.join("reference");
    common::run_ok(file, &out, extra);
    run_dir(&out)
}

fn same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs from the uninterrupted run's");
    }
}

fn resume_ok(dir: &Path) {
    let o = electbench(&["run", "--resume", dir.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = meta(dir);
    assert_eq!(m["complete"], true);
    assert_eq!(m["interrupted"], false);
    assert_eq!(m["resumes"].as_array().unwrap().len(), 1);
    assert!(!dir.join("checkpoint.json").exists());
    no_temporaries(dir);
}

#[test]
fn a_killed_run_keeps_its_rows_and_resumes_to_the_same_bytes() {
    const TRIALS: u64 = 150;
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), "w.toml", &workload(TRIALS));
    let want = reference(&f, root.path(), &["--timeline"]);

    // The run stops taking rows after 200 are written (a test hook), so the
    // SIGKILL surely lands mid-run.
    let out = root.path().join("killed");
    let mut child = spawn(
        &[
            "run",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
            "--timeline",
        ],
        &[("ELECTBENCH_TEST_PAUSE_AFTER", "200")],
    );
    wait_for_rows(&mut child, &out, 1 + 200);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let dir = run_dir(&out);
    assert_eq!(meta(&dir)["complete"], false, "marked incomplete");
    assert!(!dir.join("summary.csv").exists());
    let raw = std::fs::read_to_string(dir.join("raw.csv")).unwrap();
    assert_eq!(whole_rows_in_order(&raw, TRIALS), 200);
    // As if the kill had cut a row in half.
    let mut f2 = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("raw.csv"))
        .unwrap();
    std::io::Write::write_all(&mut f2, b"2,0.1.0,abc").unwrap();
    // And a histogram row.
    let mut f3 = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("histograms.csv"))
        .unwrap();
    std::io::Write::write_all(&mut f3, b"3,0.1.0,abc,false,w,HISTF").unwrap();

    resume_ok(&dir);
    same_files(
        &dir,
        &want,
        &["raw.csv", "summary.csv", "timeline.csv", "histograms.csv"],
    );
}

/// Send `signal` once raw.csv has rows: the run stops, keeps them, says it
/// was interrupted and exits with `code`. Then, if `edit`, a changed workload
/// file is refused; if not, the run resumes to the same bytes as an
/// uninterrupted one.
fn stopped_by(signal: &str, code: i32, edit: bool) {
    const TRIALS: u64 = 150;
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), "w.toml", &workload(TRIALS));
    let out = root.path().join("out");
    // The run stops taking rows after 100 (a test hook), so the signal
    // surely lands mid-run.
    let mut child = spawn(
        &[
            "run",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
        &[("ELECTBENCH_TEST_PAUSE_AFTER", "100")],
    );
    wait_for_rows(&mut child, &out, 1 + 100);
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code), "{err}");
    assert!(
        err.contains("interrupted:") && err.contains("--resume"),
        "{err}"
    );
    let dir = run_dir(&out);
    let m = meta(&dir);
    assert_eq!(m["complete"], false);
    assert_eq!(m["interrupted"], true);
    assert_eq!(m["stopped_by"], format!("SIG{signal}"));
    let raw = std::fs::read_to_string(dir.join("raw.csv")).unwrap();
    let rows = whole_rows_in_order(&raw, TRIALS);
    assert!(rows >= 100);
    assert_eq!(m["trials_finished"].as_u64().unwrap() as usize, rows);
    assert!(dir.join("summary.csv").exists());
    assert!(dir.join("checkpoint.json").exists());
    no_temporaries(&dir);

    if edit {
        std::fs::write(&f, workload(TRIALS) + "\n# edited\n").unwrap();
        let o = electbench(&["run", "--resume", dir.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert!(err.contains("changed since the run started"), "{err}");
        assert_eq!(meta(&dir)["complete"], false, "nothing was touched");
    } else {
        let want = reference(&f, root.path(), &[]);
        resume_ok(&dir);
        same_files(&dir, &want, &["raw.csv", "summary.csv", "histograms.csv"]);
    }
}

#[test]
fn sigterm_stops_like_ctrl_c_with_exit_143_and_resumes() {
    stopped_by("TERM", 143, false);
}

#[test]
fn sighup_stops_like_ctrl_c_with_exit_129_and_a_changed_workload_is_not_resumed() {
    stopped_by("HUP", 129, true);
}

#[test]
fn a_complete_run_is_not_resumed() {
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), "w.toml", SMALL);
    let dir = reference(&f, root.path(), &[]);
    assert_eq!(meta(&dir)["complete"], true);
    assert!(!dir.join("checkpoint.json").exists());
    let o = electbench(&["run", "--resume", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("complete"), "{}", stderr(&o));
}

/// A file size limit makes the disk "full" part-way through raw.csv.
#[test]
fn a_full_disk_exits_3_naming_the_file_and_the_run_resumes() {
    const TRIALS: u64 = 500;
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), "w.toml", &workload(TRIALS));
    let want = reference(&f, root.path(), &[]);
    let size = std::fs::metadata(want.join("raw.csv")).unwrap().len();
    let out = root.path().join("full");
    // dash counts `ulimit -f` in 512-byte blocks; the limit is half of
    // raw.csv. Ignoring SIGXFSZ makes writes past it fail with EFBIG.
    let o = Command::new("sh")
        .args([
            "-c",
            &format!(
                "trap '' XFSZ; ulimit -f {}; exec \"$0\" \"$@\"",
                size / 1024
            ),
            env!("CARGO_BIN_EXE_electbench"),
            "run",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(
        ["raw.csv", "histograms.csv", "checkpoint.json"]
            .iter()
            .any(|f| err.contains(f)),
        "{err}"
    );
    let dir = run_dir(&out);
    no_temporaries(&dir);
    assert_eq!(meta(&dir)["complete"], false);
    resume_ok(&dir);
    same_files(&dir, &want, &["raw.csv", "summary.csv", "histograms.csv"]);
}
