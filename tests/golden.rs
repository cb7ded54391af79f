//! The CSV schema is public: these headers change only with SCHEMA_VERSION and
//! results/README.md.

mod common;

use common::{electbench, run_dir, stderr};

const RAW_HEADER: &str = "schema_version,electbench_version,commit,dirty,workload,workload_sha256,system,path,runtime,nodes,seed,point,trial,trial_seed,fault_at_ms,detect_ms,elect_ms,recover_ms,failover_ms,unavailable_ms,election_rounds,messages,lost_acked_writes,violations,throughput_ops_s,commit_latency_us_p50,commit_latency_us_p99,commit_latency_us_p999,commit_latency_us_max,writes_ok,writes_failed,reads_ok,reads_failed,sim_events,trace_hash,read_latency_us_p50,read_latency_us_p99,read_latency_us_p999,read_latency_us_max,discovery_ms,sync_ms,election_took_ms,quorum_serving_ms";

const SUMMARY_HEADER: &str = "schema_version,electbench_version,commit,dirty,workload,workload_sha256,system,path,runtime,nodes,seed,point,trials,metric,unit,count,mean,stddev,min,p50,p90,p95,p99,p999,max,median_ci_low,median_ci_high";

const HISTOGRAMS_HEADER: &str = "schema_version,electbench_version,commit,dirty,workload,workload_sha256,system,path,runtime,nodes,seed,point,trial,trial_seed,metric,count,histogram";
const TIMELINE_HEADER: &str = "schema_version,electbench_version,commit,dirty,workload,workload_sha256,system,path,runtime,nodes,seed,point,trial,trial_seed,at_ms,since_fault_ms,node,scope,event,term,ops_ok,ops_failed";

const SWEEP: &str = r#"
name = "sweep"
path = "zookeeper/fle"
trials = 2
nodes = [3, 5]
duration_ms = 5000
[clients]
rate_per_s = [5, 10]
[params]
syncLimit = [2, 5]
"#;

#[test]
fn quickstart_headers_are_pinned() {
    let out = tempfile::tempdir().unwrap();
    let o = electbench(&[
        "run",
        "workloads/quickstart.toml",
        "--trials",
        "2",
        "--timeline",
        "--out",
        out.path().to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = run_dir(out.path());
    let raw = std::fs::read_to_string(dir.join("raw.csv")).unwrap();
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let timeline = std::fs::read_to_string(dir.join("timeline.csv")).unwrap();
    assert_eq!(raw.lines().next().unwrap(), RAW_HEADER);
    assert_eq!(summary.lines().next().unwrap(), SUMMARY_HEADER);
    assert_eq!(timeline.lines().next().unwrap(), TIMELINE_HEADER);
    let hists = std::fs::read_to_string(dir.join("histograms.csv")).unwrap();
    assert_eq!(hists.lines().next().unwrap(), HISTOGRAMS_HEADER);
    let metrics: Vec<&str> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(13).unwrap())
        .collect();
    assert_eq!(
        metrics,
        [
            "detect_ms",
            "elect_ms",
            "recover_ms",
            "failover_ms",
            "unavailable_ms",
            "election_rounds",
            "messages",
            "lost_acked_writes",
            "violations",
            "throughput_ops_s",
            "commit_latency_us",
            "read_latency_us",
            "discovery_ms",
            "sync_ms",
            "election_took_ms",
            "quorum_serving_ms"
        ]
    );
}

#[test]
fn swept_fields_get_their_own_columns() {
    let dir = tempfile::tempdir().unwrap();
    let f = common::write(dir.path(), "sweep.toml", SWEEP);
    let out = dir.path().join("out");
    common::run_ok(&f, &out, &[]);
    let raw = std::fs::read_to_string(run_dir(&out).join("raw.csv")).unwrap();
    let header = raw.lines().next().unwrap();
    let expected = RAW_HEADER.replace(
        "trial,trial_seed,",
        "trial,trial_seed,clients.rate_per_s,params.syncLimit,",
    );
    assert_eq!(
        header, expected,
        "nodes keeps its own column; other axes follow trial_seed"
    );
    // 2 x 2 x 2 points, 2 trials each; the last axis varies fastest.
    assert_eq!(raw.lines().count(), 1 + 16);
    let row = |i: usize| raw.lines().nth(i).unwrap().split(',').collect::<Vec<_>>();
    assert_eq!((row(1)[9], row(1)[14], row(1)[15]), ("3", "5", "2"));
    assert_eq!((row(3)[9], row(3)[14], row(3)[15]), ("3", "5", "5"));
    assert_eq!((row(15)[9], row(15)[14], row(15)[15]), ("5", "10", "5"));
}
