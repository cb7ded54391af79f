//! The command line: exit codes and messages for each class of bad input, and
//! the commands a newcomer runs first.

mod common;

use common::{electbench, stderr, stdout, write, SMALL};

/// Run `validate` on a workload made from SMALL with `edit` applied; expect
/// exit 2 and every `needle` in the message.
fn bad(edit: impl Fn(&str) -> String, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", &edit(SMALL));
    let o = electbench(&["validate", f.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("w.toml:"), "no file:line in {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[test]
fn unknown_key_names_line_and_allowed_keys() {
    bad(
        |s| s.replace("seed = 5", "sede = 5"),
        &["w.toml:4:", "sede", "unknown key", "seed"],
    );
}

#[test]
fn wrong_type_is_refused() {
    bad(
        |s| s.replace("rate_per_s = 20", "rate_per_s = \"fast\""),
        &[
            "w.toml:11:",
            "clients.rate_per_s",
            "expected a number",
            "fast",
        ],
    );
}

#[test]
fn zero_nodes_is_refused() {
    bad(
        |s| s.replace("nodes = 3", "nodes = 0"),
        &["w.toml:6:", "nodes", "0"],
    );
}

#[test]
fn negative_duration_is_refused() {
    bad(
        |s| s.replace("duration_ms = 15000", "duration_ms = -5"),
        &["w.toml:7:", "duration_ms", "-5"],
    );
}

#[test]
fn negative_timeout_parameter_is_refused() {
    bad(
        |s| format!("{s}\n[params]\ntickTime = -2000\n"),
        &["params.tickTime", "-2000", "1..=600000 ms"],
    );
}

#[test]
fn unknown_path_lists_the_known_ones() {
    bad(
        |s| s.replace("zookeeper/fle", "zookeeper/zab"),
        &["w.toml:3:", "path", "zookeeper/zab", "zookeeper/fle"],
    );
}

#[test]
fn empty_sweep_list_is_refused() {
    bad(
        |s| s.replace("nodes = 3", "nodes = []"),
        &["w.toml:6:", "empty sweep list"],
    );
}

#[test]
fn fault_after_the_end_of_the_trial_is_refused() {
    bad(
        |s| s.replace("to_ms = 4000", "to_ms = 40000"),
        &["faults.1.to_ms", "40000"],
    );
}

#[test]
fn fault_target_beyond_the_ensemble_is_refused() {
    bad(
        |s| s.replace("target = \"leader\"", "target = 9"),
        &["faults.1.target", "9"],
    );
}

#[test]
fn unknown_parameter_lists_the_real_names() {
    bad(
        |s| format!("{s}\n[params]\nticktime = 2000\n"),
        &["ticktime", "tickTime", "syncLimit"],
    );
}

#[test]
fn toml_syntax_error_names_its_line() {
    bad(
        |s| s.replace("trials = 12", "trials = = 12"),
        &["w.toml:5:", "invalid TOML"],
    );
}

#[test]
fn an_unknown_runtime_is_refused_with_the_allowed_ones() {
    bad(
        |s| format!("runtime = \"real\"\n{s}"),
        &["w.toml:1:", "runtime", "allowed: sim, live"],
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let o = electbench(&["validate", "no/such/workload.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no/such/workload.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unwritable_out_is_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", SMALL);
    // A regular file where the output folder should be.
    let blocker = write(dir.path(), "blocker", "");
    let out = blocker.join("sub");
    let o = electbench(&["run", f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
    assert!(stderr(&o).contains("writable"), "{}", stderr(&o));
}

#[test]
fn bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", SMALL);
    let f = f.to_str().unwrap();
    for (args, needle) in [
        (vec!["run", f, "--trials", "0"], "--trials"),
        (vec!["run", f, "--threads", "0"], "--threads"),
        (vec!["run", f, "--trace"], "--trace needs --trial"),
        (vec!["run", f, "--point", "3"], "--point 3"),
        (vec!["run", f, "--trial", "12"], "--trial 12"),
        (vec!["frobnicate"], "frobnicate"),
    ] {
        let o = electbench(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn every_shipped_workload_validates() {
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/workloads"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("quickstart.toml")));
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let o = electbench(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), files.len());
}

#[test]
fn list_shows_real_names_defaults_and_units() {
    let o = electbench(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("zookeeper/fle"));
    for (name, default) in [
        ("tickTime", "2000"),
        ("initLimit", "10"),
        ("syncLimit", "5"),
        ("finalizeWait", "200"),
        ("zookeeper.fastleader.maxNotificationInterval", "60000"),
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert!(line.contains(&format!("default {default:>8}")), "{line}");
    }
    let o = electbench(&["list", "kafka/nothing"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn run_writes_three_files_in_a_new_folder_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", SMALL);
    let out = dir.path().join("out");
    for _ in 0..2 {
        let o = common::run_ok(&f, &out, &[]);
        assert!(stdout(&o).contains("failover_ms"));
    }
    let mut runs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "two runs, two folders: {runs:?}");
    for r in &runs {
        for file in ["raw.csv", "summary.csv", "meta.json"] {
            assert!(r.join(file).is_file(), "{} lacks {file}", r.display());
        }
        let raw = std::fs::read_to_string(r.join("raw.csv")).unwrap();
        assert_eq!(raw.lines().count(), 1 + 12, "header + one row per trial");
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(r.join("meta.json")).unwrap()).unwrap();
        assert_eq!(meta["trials_finished"], 12);
        assert!(meta["host"].is_string() && meta["cpu"].is_string());
    }
}

#[test]
fn replaying_one_trial_with_trace_prints_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", SMALL);
    let out = dir.path().join("out");
    let o = electbench(&[
        "run",
        f.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--trial",
        "3",
        "--trace",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Notification"), "trace has the election");
    assert!(err.contains("fault crash"), "trace has the fault");
    let raw = std::fs::read_to_string(common::run_dir(&out).join("raw.csv")).unwrap();
    let row = raw.lines().nth(1).unwrap();
    assert!(row.contains(",0,3,"), "the row is trial 3: {row}");
}

#[test]
fn a_safety_violation_exits_1_with_a_replay_command() {
    // Dropping messages (not TCP semantics) breaks Zab's reliable-channel
    // assumption: a follower with a hole in its log can win the next
    // election and acknowledged writes vanish. The checker must say so.
    let workload = r#"
name = "drops"
path = "zookeeper/fle"
seed = 99
trials = 16
nodes = 3
duration_ms = 30000
[network]
loss = 0.001
loss_mode = "drop"
[clients]
count = 3
rate_per_s = 25
[[faults]]
kind = "crash"
target = "leader"
from_ms = 5000
to_ms = 9000
"#;
    let dir = tempfile::tempdir().unwrap();
    // A space in the path, and --trials overriding the file's 2 trials: the
    // replay command must quote the one and repeat the other. 100 trials
    // give more violating trials than the terminal lists.
    let f = write(
        dir.path(),
        "my drops.toml",
        &workload.replace("trials = 16", "trials = 2"),
    );
    let out = dir.path().join("out");
    let o = electbench(&[
        "run",
        f.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--trials",
        "100",
        "-q",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("violated a safety invariant"), "{err}");
    assert!(err.contains("without acknowledged write"), "{err}");
    let quoted = format!("'{}'", f.display());
    assert!(
        err.contains(&format!(
            "replay: electbench run {quoted} --trials 100 --seed 99 --point 0 --trial"
        )),
        "{err}"
    );
    // violations.csv lists every violating trial, each with its replay.
    let violating: usize = err
        .lines()
        .find_map(|l| l.strip_suffix(" trial(s) violated a safety invariant:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let csv = std::fs::read_to_string(common::run_dir(&out).join("violations.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(header.starts_with(&["schema_version"]), "{header:?}");
    assert!(header.ends_with(&[
        "point",
        "trial",
        "trial_seed",
        "node",
        "at_ms",
        "what",
        "replay"
    ]));
    let (point, trial) = (header.len() - 7, header.len() - 6);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let mut trials: Vec<(&str, &str)> = rows.iter().map(|r| (r[point], r[trial])).collect();
    trials.dedup();
    assert_eq!(trials.len(), violating, "{csv}");
    // The terminal shows the first 20 and points to the file.
    assert!(
        violating > 20,
        "{violating} violating trials: raise --trials"
    );
    assert_eq!(err.matches("  replay: ").count(), 20, "{err}");
    assert!(
        err.contains(&format!("... and {} more trial(s)", violating - 20)),
        "{err}"
    );
    assert!(err.contains("violations.csv"), "{err}");
    // The replay command, run by a shell, reproduces the violation, and its
    // trace shows the dropped messages.
    let replay = rows[0].last().unwrap();
    assert!(
        replay.starts_with(&format!("electbench run {quoted} --trials 100")),
        "{replay}"
    );
    let replay_out = dir.path().join("replay out");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --out '{}' -q",
            replay.replacen("electbench", env!("CARGO_BIN_EXE_electbench"), 1),
            replay_out.display()
        ))
        .output()
        .unwrap();
    let trace = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{replay}: {trace}");
    assert!(
        trace.contains(" dropped "),
        "no dropped message in the trace"
    );
    // Tracing the network's drops changes nothing: the same trial without
    // --trace writes the same row, trace_hash included.
    let plain_out = dir.path().join("plain");
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --out '{}' -q",
            replay
                .replacen("electbench", env!("CARGO_BIN_EXE_electbench"), 1)
                .replace(" --trace", ""),
            plain_out.display()
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let row = |out: &std::path::Path| {
        let raw = std::fs::read_to_string(common::run_dir(out).join("raw.csv")).unwrap();
        raw.lines().nth(1).unwrap().to_string()
    };
    assert_eq!(row(&replay_out), row(&plain_out));
    // The results are still written, with the findings counted.
    let raw = std::fs::read_to_string(common::run_dir(&out).join("raw.csv")).unwrap();
    let header: Vec<&str> = raw.lines().next().unwrap().split(',').collect();
    let lost = header
        .iter()
        .position(|c| *c == "lost_acked_writes")
        .unwrap();
    let total: u64 = raw
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(lost).unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(total > 0);
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_the_finished_trials() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // Far more trials than can finish before the signal arrives.
    let long = SMALL.replace("trials = 12", "trials = 1000000");
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "long.toml", &long);
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_electbench"))
        .args([
            "run",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first stderr line comes once the Ctrl-C handler is installed.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.contains("results go to"), "{first}");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("interrupted:"), "{rest}");
    let run = common::run_dir(&out);
    let raw = std::fs::read_to_string(run.join("raw.csv")).unwrap();
    assert!(raw.starts_with("schema_version,"));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["interrupted"], true);
    assert_eq!(
        meta["trials_finished"].as_u64().unwrap() as usize,
        raw.lines().count() - 1,
        "every finished trial is written"
    );
}

/// SMALL with far more client writes than any machine holds.
fn too_big(text: &str) -> String {
    text.replace(
        "[clients]\ncount = 1\nrate_per_s = 20",
        "[clients]\ncount = 100000\nrate_per_s = 1000000",
    )
    .replace("duration_ms = 15000", "duration_ms = 86000000")
}

#[test]
fn a_run_that_cannot_fit_in_memory_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let text = too_big(SMALL);
    assert!(text.contains("count = 100000"), "the edit applied");
    let f = write(dir.path(), "huge.toml", &text);
    let o = electbench(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("huge.toml") && err.contains("of memory"),
        "{err}"
    );
    assert!(err.contains("lower clients.count"), "{err}");
    let out = dir.path().join("out");
    let o = electbench(&["run", f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(
        !out.exists(),
        "nothing is created for a run that cannot fit"
    );
}

#[test]
fn timeline_writes_every_phase_of_each_trial_and_client_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", SMALL);
    let out = dir.path().join("out");
    common::run_ok(&f, &out, &["--timeline"]);
    let run = common::run_dir(&out);
    let text = std::fs::read_to_string(run.join("timeline.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (trial, event, since) = (col("trial"), col("event"), col("since_fault_ms"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Every trial has the ZooKeeper failover phases after its fault, in order:
    // detection, LOOKING, the decision, the leader's epoch agreed, a synced
    // follower, serving; and client buckets.
    for t in 0..12 {
        let t = t.to_string();
        let after: Vec<&str> = rows
            .iter()
            .filter(|r| r[trial] == t && !r[since].starts_with('-') && !r[since].is_empty())
            .map(|r| r[event])
            .collect();
        let pos = |e: &str| {
            after
                .iter()
                .position(|x| *x == e)
                .unwrap_or_else(|| panic!("trial {t}: no {e} after the fault in {after:?}"))
        };
        assert!(pos("detected") <= pos("looking"));
        assert!(pos("looking") < pos("decided"));
        assert!(pos("decided") < pos("epoch_agreed"));
        assert!(pos("epoch_agreed") < pos("synced"));
        assert!(pos("synced") < pos("serving"));
        assert!(after.contains(&"client_ops"));
    }
    // Without --timeline there is no timeline.csv.
    let out2 = dir.path().join("out2");
    common::run_ok(&f, &out2, &[]);
    assert!(!common::run_dir(&out2).join("timeline.csv").exists());
}

#[test]
fn a_name_too_long_for_a_folder_is_refused_by_validate() {
    bad(
        |s| {
            s.replace(
                "name = \"small\"",
                &format!("name = \"{}\"", "n".repeat(300)),
            )
        },
        &["w.toml:2:", "name", "300 characters", "at most 100"],
    );
}

#[test]
fn a_duration_that_rounds_to_zero_is_refused() {
    bad(
        |s| s.replace("duration_ms = 15000", "duration_ms = 1e-300"),
        &["w.toml:7:", "duration_ms", "1e-300", "rounds to 0 ns"],
    );
}

#[test]
fn meaningless_values_warn_in_validate_and_run_but_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace("trials = 12", "trials = 1").replace(
        "[clients]\ncount = 1",
        "[network]\nlatency = { dist = \"constant\", ms = 1e300 }\n\n[clients]\ncount = 1\n\
             start_ms = 20000",
    );
    let f = write(dir.path(), "w.toml", &text);
    let o = electbench(&["validate", f.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: ") && err.contains("w.toml:10: network.latency:"),
        "{err}"
    );
    assert!(err.contains("no client operation is possible"), "{err}");
    let out = dir.path().join("out");
    let o = common::run_ok(&f, &out, &[]);
    let err = stderr(&o);
    assert!(err.contains("w.toml:10: network.latency:"), "{err}");
    assert!(err.contains("clients.start_ms"), "{err}");
}

#[test]
#[allow(clippy::disallowed_methods)] // the test bounds the wall time of a refusal
fn an_oversized_workload_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    // Valid TOML (comments) just over the cap.
    let big = format!("{SMALL}{}", "# padding\n".repeat(110_000));
    assert!(big.len() > 1024 * 1024);
    let f = write(dir.path(), "big.toml", &big);
    let mut files = vec![f.to_str().unwrap().to_string()];
    // /dev/zero never ends: it must be refused as fast as a big file.
    if std::path::Path::new("/dev/zero").exists() {
        files.push("/dev/zero".into());
    }
    for f in &files {
        let started = std::time::Instant::now();
        let o = electbench(&["validate", f]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{f}: {err}");
        assert!(err.contains(&format!("error: {f}: ")), "{err}");
        assert!(err.contains("larger than 1048576 bytes (1 MiB)"), "{err}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{f} took {:?}",
            started.elapsed()
        );
    }
}

#[cfg(unix)]
#[test]
fn a_workload_path_and_out_that_are_not_utf8_work() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join(OsStr::from_bytes(b"w\xff.toml"));
    std::fs::write(&f, SMALL.replace("trials = 12", "trials = 2")).unwrap();
    let out = dir.path().join(OsStr::from_bytes(b"out\xfe"));
    let cmd = |args: &[&OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_electbench"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = cmd(&[OsStr::new("validate"), f.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cmd(&[
        OsStr::new("run"),
        f.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("-q"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = common::run_dir(&out);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["trials_finished"], 2);
    let argv = meta["command_line"].as_array().unwrap();
    assert!(argv
        .iter()
        .any(|a| a.as_str().unwrap().ends_with("w\u{fffd}.toml")));
}

/// After a live run the table shows the live columns (and the worker count
/// in the heading); after a sim run of the same workload it shows neither.
#[test]
fn the_summary_table_shows_the_live_columns_only_for_live_runs() {
    const LIVE: &[&str] = &[
        "leader_selection_ns",
        "election_wait_ns",
        "mailbox_full",
        "cpu_ms",
        "events_per_s",
    ];
    let text = r#"
name = "small-live"
path = "zookeeper/fle"
runtime = "live"
workers = 2
seed = 5
trials = 1
nodes = 3
duration_ms = 400

[network]
latency = { dist = "constant", ms = 0 }

[[faults]]
kind = "crash"
target = "leader"
at_ms = 200
host_alive = true

[params]
tickTime = 20
finalizeWait = 10
"#;
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "w.toml", text);
    let out = dir.path().join("out");
    let (f, out) = (f.to_str().unwrap(), out.to_str().unwrap());
    let live = electbench(&["run", f, "-q", "--out", out]);
    assert_eq!(live.status.code(), Some(0), "{}", stderr(&live));
    let table = stdout(&live);
    assert!(
        table.contains("(1 trials, 3 nodes, live on 2 worker(s))"),
        "{table}"
    );
    for col in LIVE {
        assert!(
            table.lines().any(|l| l.trim_start().starts_with(col)),
            "{col} missing:\n{table}"
        );
    }
    let sim = electbench(&["run", f, "-q", "--out", out, "--runtime", "sim"]);
    assert_eq!(sim.status.code(), Some(0), "{}", stderr(&sim));
    let table = stdout(&sim);
    assert!(table.contains("(1 trials, 3 nodes)"), "{table}");
    assert!(table.contains("failover_ms"), "{table}");
    for col in LIVE.iter().chain(&["worker"]) {
        assert!(!table.contains(col), "{col} in a sim table:\n{table}");
    }
}
