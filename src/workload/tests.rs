//! Tests of the workload parser: a full example, sweeps, and one test per
//! class of bad input, each asserting the line and the key part of the message.

use super::*;
use crate::engine::fault::{Action, Target, When};
use crate::engine::net::{Latency, LinkLatency};
use crate::systems::{GroupSpec, ParamDefault, ParamKind, ParamSpec, TargetSpec};

/// Three lines every bad-input case builds on; additions start at line 4.
const BASE: &str = "name = \"t\"\npath = \"zookeeper/fle\"\nnodes = 3\n";

fn ok(text: &str) -> Plan {
    parse("x.toml", text).unwrap_or_else(|e| panic!("should parse, got: {e}"))
}

/// Assert that `text` is refused at `line` with a message containing `needle`.
fn refused(text: &str, line: usize, needle: &str) -> WorkloadError {
    let e = parse("x.toml", text).expect_err("should be refused");
    assert_eq!(e.line, Some(line), "wrong line in: {e}");
    assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
    assert!(
        e.to_string().starts_with(&format!("x.toml:{line}: ")),
        "{e}"
    );
    e
}

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

const FULL: &str = r#"# A leader crash under load.
name = "zk-leader-crash"
description = "kill the leader, measure failover"
path = "zookeeper/fle"
seed = 42
trials = 20
nodes = 5
duration_ms = 30000

[network]
latency = { dist = "lognormal", median_ms = 1.0, p99_ms = 4.0 }
loss = 0.01

[[network.links]]
from = 1
to = 5
base_ms = 20

[clients]
count = 2
rate_per_s = 50
arrival = "poisson"

[[faults]]
kind = "crash"
target = "leader"
at_ms = 10000
duration_ms = 5000
host_alive = true

[[faults]]
kind = "partition"
groups = [[1, 2], [3, 4, 5]]
from_ms = 12000
to_ms = 14000

[[faults]]
kind = "heal"
at_ms = 20000

[params]
initLimit = 5
"zookeeper.fastleader.maxNotificationInterval" = 1000
"#;

#[test]
fn full_example_parses_to_expected_structs() {
    let plan = ok(FULL);
    assert_eq!(plan.name, "zk-leader-crash");
    assert_eq!(plan.description, "kill the leader, measure failover");
    assert_eq!(plan.file, PathBuf::from("x.toml"));
    assert_eq!(plan.sha256.len(), 64);
    assert!(plan.axes.is_empty());
    assert_eq!(plan.points.len(), 1);
    let p = &plan.points[0];
    assert_eq!(p.index, 0);
    assert!(p.values.is_empty());
    let w = &p.workload;
    assert_eq!(w.path.path, "zookeeper/fle");
    assert_eq!(w.runtime, Runtime::Sim);
    assert_eq!((w.seed, w.trials, w.nodes), (42, 20, 5));
    assert_eq!(w.duration, SimDuration::from_ms(30_000));
    assert_eq!(w.net.latency, Latency::lognormal_from_median_p99(1.0, 4.0));
    assert_eq!(w.net.loss, 0.01);
    assert_eq!(w.net.duplicate, 0.0);
    assert_eq!(
        w.net.links,
        vec![LinkLatency {
            from: 0,
            to: 4,
            base: SimDuration::from_ms(20)
        }]
    );
    assert_eq!(w.load.clients, 2);
    assert_eq!(w.load.rate_per_s, 50.0);
    assert_eq!(w.load.read_ratio, 0.0);
    assert_eq!(w.load.start, SimDuration::ZERO);
    assert!(w.load.poisson);
    assert_eq!(w.faults.len(), 3);
    assert_eq!(w.faults[0].when, When::At(SimDuration::from_ms(10_000)));
    assert_eq!(w.faults[0].action, Action::Crash { host_alive: true });
    assert_eq!(w.faults[0].target, Target::Leader);
    assert_eq!(w.faults[0].duration, Some(SimDuration::from_ms(5_000)));
    assert_eq!(
        w.faults[1].when,
        When::Window(SimDuration::from_ms(12_000), SimDuration::from_ms(14_000))
    );
    assert_eq!(
        w.faults[1].action,
        Action::Partition {
            groups: vec![vec![0, 1], vec![2, 3, 4]],
            one_way: false
        }
    );
    assert_eq!(w.faults[1].duration, None);
    assert_eq!(w.faults[2].action, Action::Heal);
    assert_eq!(w.params.get("tickTime"), 2000.0);
    assert_eq!(w.params.get("initLimit"), 5.0);
    assert_eq!(
        w.params.get("zookeeper.fastleader.maxNotificationInterval"),
        1000.0
    );
}

#[test]
fn minimal_file_takes_every_default() {
    let plan = ok(BASE);
    assert_eq!(plan.description, "");
    let w = &plan.points[0].workload;
    assert_eq!((w.seed, w.trials, w.nodes), (1, 100, 3));
    assert_eq!(w.duration, SimDuration::from_ms(60_000));
    assert_eq!(w.net, NetConfig::default());
    assert_eq!(w.load, LoadConfig::default());
    assert!(w.faults.is_empty());
    assert_eq!(w.params, w.path.default_params(&[w.nodes]));
}

#[test]
fn sha256_is_of_the_file_bytes() {
    // SHA-256 of the empty string is well known; check the hex form on BASE.
    assert_eq!(
        hex_sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(ok(BASE).sha256, hex_sha256(BASE.as_bytes()));
}

#[test]
fn sweep_of_two_fields_is_a_product_with_last_axis_fastest() {
    let text = with(
        "duration_ms = 20000\n\
         [network]\n\
         latency = { dist = \"normal\", median_ms = [0.5, 1, 2], p99_ms = 4 }\n\
         [params]\n\
         tickTime = [1000, 2000]\n",
    );
    let plan = ok(&text);
    let cols: Vec<&str> = plan.axes.iter().map(|a| a.column.as_str()).collect();
    assert_eq!(cols, ["network.latency.median_ms", "params.tickTime"]);
    assert_eq!(plan.axes[0].line, 6);
    assert_eq!(plan.axes[0].values, [0.5, 1.0, 2.0]);
    assert_eq!(plan.axes[1].values, [1000.0, 2000.0]);
    assert_eq!(plan.points.len(), 6);
    let got: Vec<(usize, Vec<f64>)> = plan
        .points
        .iter()
        .map(|p| {
            (
                p.index,
                p.values.iter().map(|v| v.as_f64().unwrap()).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, vec![0.5, 1000.0]),
            (1, vec![0.5, 2000.0]),
            (2, vec![1.0, 1000.0]),
            (3, vec![1.0, 2000.0]),
            (4, vec![2.0, 1000.0]),
            (5, vec![2.0, 2000.0]),
        ]
    );
    for p in &plan.points {
        let w = &p.workload;
        assert_eq!(
            w.net.latency,
            Latency::normal_from_median_p99(p.values[0].as_f64().unwrap(), 4.0)
        );
        assert_eq!(p.values[1], w.params.get("tickTime"));
        assert_eq!(w.seed, 1);
        assert_eq!(w.duration, SimDuration::from_ms(20_000));
    }
}

#[test]
fn axes_follow_document_order_not_reading_order() {
    // The parser reads `nodes` before `[clients]`, but `clients.count` is written first.
    let text = "name = \"t\"\npath = \"zookeeper/fle\"\n\
                [clients]\ncount = [1, 2]\n\
                [[faults]]\nkind = \"crash\"\ntarget = 1\nat_ms = [10, 20]\n";
    let text = text.replace(
        "path = \"zookeeper/fle\"\n",
        "path = \"zookeeper/fle\"\nnodes = [3, 5]\n",
    );
    let plan = ok(&text);
    let cols: Vec<&str> = plan.axes.iter().map(|a| a.column.as_str()).collect();
    assert_eq!(cols, ["nodes", "clients.count", "faults.1.at_ms"]);
    assert_eq!(plan.points.len(), 8);
    assert_eq!(plan.points[7].workload.nodes, 5);
    assert_eq!(plan.points[7].workload.load.clients, 2);
}

#[test]
fn dotted_and_quoted_param_names_agree() {
    let quoted = ok(&with(
        "[params]\n\"zookeeper.fastleader.maxNotificationInterval\" = [500, 700]\n",
    ));
    let dotted = ok(&with(
        "[params]\nzookeeper.fastleader.maxNotificationInterval = [500, 700]\n",
    ));
    assert_eq!(quoted.axes, dotted.axes);
    assert_eq!(
        quoted.axes[0].column,
        "params.zookeeper.fastleader.maxNotificationInterval"
    );
    assert_eq!(
        dotted.points[1]
            .workload
            .params
            .get("zookeeper.fastleader.maxNotificationInterval"),
        700.0
    );
}

#[test]
fn latency_forms_and_links_sweep() {
    let plan = ok(&with(
        "[network.latency]\ndist = \"uniform\"\nmin_ms = 1\nmax_ms = 3\n\
         [[network.links]]\nfrom = 2\nto = 1\nbase_ms = [5, 10]\n",
    ));
    assert_eq!(plan.axes[0].column, "network.links.1.base_ms");
    let w = &plan.points[1].workload;
    assert_eq!(
        w.net.latency,
        Latency::Uniform {
            min_ms: 1.0,
            max_ms: 3.0
        }
    );
    assert_eq!(w.net.links[0].from, 1);
    assert_eq!(w.net.links[0].base, SimDuration::from_ms(10));
}

#[test]
fn targets_and_inline_fault_lists() {
    let plan = ok(&with(
        "faults = [\n\
           { kind = \"pause\", target = \"follower\", at_ms = 1, duration_ms = 100 },\n\
           { kind = \"restart\", target = \"last\", at_ms = 2 },\n\
           { kind = \"isolate\", target = 3, at_ms = 3 },\n\
           { kind = \"resume\", target = \"random\", at_ms = 4 },\n\
         ]\n",
    ));
    let t: Vec<Target> = plan.points[0]
        .workload
        .faults
        .iter()
        .map(|f| f.target.clone())
        .collect();
    assert_eq!(
        t,
        [
            Target::Follower,
            Target::LastFaulted,
            Target::Node(2),
            Target::Random
        ]
    );
}

#[test]
fn load_reports_an_unreadable_file_without_a_line() {
    let e = load(Path::new("/nonexistent/electbench/x.toml")).unwrap_err();
    assert_eq!(e.line, None);
    assert_eq!(e.field, "");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/electbench/x.toml: "),
        "{e}"
    );
}

// ---- bad inputs: one per class ----

#[test]
fn unknown_top_level_key_lists_allowed_keys() {
    let e = refused(
        &with("netwrok = 1\n"),
        4,
        "netwrok: unknown key; allowed keys here: name, description, path, runtime, workers, load_threads, mailbox, \
         mailbox_capacity, seed, trials, nodes, topology, duration_ms, network, disk, clients, faults, params",
    );
    assert_eq!(e.field, "netwrok");
}

#[test]
fn unknown_nested_key_names_its_dotted_path() {
    refused(
        &with("[clients]\ncount = 1\nrate = 5\n"),
        6,
        "clients.rate: unknown key; allowed keys here: count, rate_per_s",
    );
    refused(
        &with("[[faults]]\nkind = \"heal\"\nat_ms = 1\n[[faults]]\nkind = \"heal\"\natms = 2\n"),
        9,
        "faults.2.atms: unknown key",
    );
}

#[test]
fn wrong_type_says_expected_and_found() {
    refused(
        &with("\n\n\n\n[clients]\nrate_per_s = \"fast\"\n"),
        9,
        "x.toml:9: clients.rate_per_s: expected a number, found string \"fast\"",
    );
    refused(
        &with("seed = 1.5\n"),
        4,
        "seed: expected an integer, found float 1.5",
    );
    refused(
        &with("network = 3\n"),
        4,
        "network: expected a table, found integer 3",
    );
}

#[test]
fn nodes_zero_names_the_path_range() {
    refused(
        "name = \"t\"\npath = \"zookeeper/fle\"\n\n\n\n\nnodes = 0\n",
        7,
        "x.toml:7: nodes: 0 is not allowed: zookeeper/fle needs 1..=255 servers",
    );
    refused(
        "name = \"t\"\npath = \"zookeeper/fle\"\nnodes = 3.0\n",
        3,
        "nodes: expected an integer, found float 3.0",
    );
}

#[test]
fn negative_duration_is_refused() {
    refused(
        &with("duration_ms = -5\n"),
        4,
        "duration_ms: -5 is not allowed: simulated time per trial must be > 0",
    );
    refused(
        &with("duration_ms = inf\n"),
        4,
        "duration_ms: inf is not allowed",
    );
    refused(
        &with("duration_ms = nan\n"),
        4,
        "duration_ms: nan is not allowed",
    );
}

#[test]
fn unknown_path_lists_allowed_paths() {
    refused(
        "name = \"t\"\npath = \"zookeeper/zab\"\nnodes = 3\n",
        2,
        "path: \"zookeeper/zab\" is not allowed: allowed paths: zookeeper/fle",
    );
}

#[test]
fn empty_sweep_list_is_refused() {
    refused(
        &with("[clients]\nrate_per_s = []\n"),
        5,
        "clients.rate_per_s: empty sweep list: give at least one value",
    );
}

#[test]
fn sweep_element_errors_name_the_element_line() {
    refused(
        &with("[clients]\nrate_per_s = [\n  10,\n  \"x\",\n]\n"),
        7,
        "clients.rate_per_s: expected a number in the sweep list, found string \"x\"",
    );
    // A value that is only bad in a later point is reported at its own line.
    refused(
        &with("[clients]\nread_ratio = [\n  0.5,\n  1.5,\n]\n"),
        7,
        "clients.read_ratio: 1.5 is not allowed",
    );
}

#[test]
fn the_live_runtime_and_its_settings_are_read() {
    let plan = parse(
        "w.toml",
        &with("runtime = \"live\"\nworkers = 3\nmailbox = \"mutex\"\nmailbox_capacity = 16\n"),
    )
    .unwrap();
    let w = &plan.points[0].workload;
    assert_eq!(w.runtime, Runtime::Live);
    assert_eq!(w.live.workers, 3);
    assert_eq!(
        w.live.mailbox,
        crate::engine::live::mailbox::MailboxKind::Mutex
    );
    assert_eq!(w.live.capacity, 16);
    refused(
        &with("runtime = \"real\"\n"),
        4,
        "\"real\" is not allowed: allowed: sim, live",
    );
    refused(
        &with("mailbox = \"spsc\"\n"),
        4,
        "\"spsc\" is not allowed: allowed: \"lock-free\", \"mutex\"",
    );
    refused(&with("workers = 0\n"), 4, "workers: 0 is not allowed");
    assert_eq!(w.live.load_threads, 1, "one client thread by default");
    let plan = parse("w.toml", &with("runtime = \"live\"\nload_threads = 4\n")).unwrap();
    assert_eq!(plan.points[0].workload.live.load_threads, 4);
    refused(
        &with("load_threads = 0\n"),
        4,
        "x.toml:4: load_threads: 0 is not allowed: must be in 1..=1024",
    );
}

#[test]
fn concurrency_makes_a_closed_loop_and_allows_a_zero_rate() {
    let load = |extra: &str| {
        parse("w.toml", &with(&format!("[clients]\ncount = 2\n{extra}")))
            .unwrap()
            .points[0]
            .workload
            .load
            .clone()
    };
    // Absent: open loop at the default rate.
    let open = load("");
    assert_eq!((open.concurrency, open.rate_per_s), (None, 10.0));
    // A limit without a rate: a pure closed loop.
    let closed = load("concurrency = 16\n");
    assert_eq!((closed.concurrency, closed.rate_per_s), (Some(16), 0.0));
    assert!(closed.closed() && !closed.open());
    assert_eq!(load("concurrency = 4\nrate_per_s = 0\n").rate_per_s, 0.0);
    // A limit and a rate: the open-loop schedule, at most 4 in flight.
    let both = load("rate_per_s = 500\nconcurrency = 4\n");
    assert_eq!((both.concurrency, both.rate_per_s), (Some(4), 500.0));
    assert!(!both.closed() && both.open());
    refused(
        &with("[clients]\nconcurrency = 0\n"),
        5,
        "x.toml:5: clients.concurrency: 0 is not allowed: operations a client keeps \
         outstanding must be in 1..=65536",
    );
    refused(
        &with("[clients]\nconcurrency = 2.5\n"),
        5,
        "clients.concurrency: expected an integer",
    );
    refused(
        &with("[clients]\nrate_per_s = 0\n"),
        5,
        "x.toml:5: clients.rate_per_s: 0 is not allowed: operations per second per client \
         must be > 0 (or 0 with concurrency, a pure closed loop)",
    );
}

#[test]
fn fault_time_beyond_duration_is_refused() {
    refused(
        &with(
            "duration_ms = 1000\n[[faults]]\nkind = \"crash\"\ntarget = \"leader\"\nat_ms = 1000\n",
        ),
        8,
        "faults.1.at_ms: 1000 is not allowed: must be >= 0 and < duration_ms (1000)",
    );
    // Checked per point when the duration is swept.
    refused(
        &with(
            "duration_ms = [5000, 1000]\n[[faults]]\nkind = \"heal\"\nfrom_ms = 100\nto_ms = 2000\n",
        ),
        8,
        "faults.1.to_ms: 2000 is not allowed: must be >= 0 and < duration_ms (1000)",
    );
}

#[test]
fn window_end_before_start_is_refused() {
    refused(
        &with("[[faults]]\nkind = \"heal\"\nfrom_ms = 200\nto_ms = 100\n"),
        7,
        "faults.1.to_ms: 100 is not allowed: must be >= from_ms (200)",
    );
}

#[test]
fn overlapping_partition_groups_are_refused() {
    refused(
        &with("[[faults]]\nkind = \"partition\"\nat_ms = 1\ngroups = [[1, 2], [2, 3]]\n"),
        7,
        "faults.1.groups: 2 is not allowed: server 2 is already in group 1",
    );
    refused(
        &with("[[faults]]\nkind = \"partition\"\nat_ms = 1\ngroups = [[1, 2, 3]]\n"),
        7,
        "give at least two lists of server numbers",
    );
    refused(
        &with("[[faults]]\nkind = \"partition\"\nat_ms = 1\ngroups = [[1], []]\n"),
        7,
        "a group needs at least one server",
    );
    refused(
        &with("[[faults]]\nkind = \"partition\"\nat_ms = 1\n"),
        4,
        "faults.1.groups: required key is missing",
    );
}

#[test]
fn target_out_of_range_is_refused() {
    refused(
        &with("[[faults]]\nkind = \"crash\"\ntarget = 4\nat_ms = 1\n"),
        6,
        "faults.1.target: 4 is not allowed: server numbers are 1..=3 (nodes = 3)",
    );
    refused(
        &with("[[faults]]\nkind = \"crash\"\ntarget = \"boss\"\nat_ms = 1\n"),
        6,
        "allowed: leader, follower, random, last, server, server:N or a server number 1..=3",
    );
    // With nodes swept, the check runs per point and still names the target's line.
    let text = "name = \"t\"\npath = \"zookeeper/fle\"\nnodes = [5, 3]\n\
                [[faults]]\nkind = \"isolate\"\ntarget = 5\nat_ms = 1\n";
    refused(
        text,
        6,
        "faults.1.target: 5 is not allowed: server numbers are 1..=3",
    );
    refused(
        &with("[[network.links]]\nfrom = 1\nto = 9\nbase_ms = 1\n"),
        6,
        "network.links.1.to: 9 is not allowed",
    );
}

#[test]
fn target_rules_follow_the_kind() {
    refused(
        &with("[[faults]]\nkind = \"heal\"\ntarget = 1\nat_ms = 1\n"),
        6,
        "faults.1.target: not allowed for kind = \"heal\"",
    );
    refused(
        &with("[[faults]]\nkind = \"crash\"\nat_ms = 1\n"),
        4,
        "faults.1.target: required key is missing",
    );
    refused(
        &with("[[faults]]\nkind = \"restart\"\ntarget = 1\nat_ms = 1\nduration_ms = 5\n"),
        8,
        "faults.1.duration_ms: not allowed for kind = \"restart\"",
    );
    refused(
        &with("[[faults]]\nkind = \"pause\"\ntarget = 1\nat_ms = 1\nhost_alive = true\n"),
        8,
        "faults.1.host_alive: not allowed for kind = \"pause\"; only crash take host_alive",
    );
    refused(
        &with("[[faults]]\nkind = \"explode\"\n"),
        5,
        "faults.1.kind: \"explode\" is not allowed: allowed: crash, restart",
    );
}

#[test]
fn probability_above_one_is_refused() {
    refused(
        &with("[network]\nloss = 1.5\n"),
        5,
        "network.loss: 1.5 is not allowed: a probability must be >= 0 and < 1",
    );
    refused(
        &with("[network]\nduplicate = 1\n"),
        5,
        "network.duplicate: 1 is not allowed",
    );
}

#[test]
fn param_not_whole_is_refused_with_its_range() {
    refused(
        &with("[params]\ntickTime = 1.5\n"),
        5,
        "params.tickTime: 1.5 is not allowed: must be a whole number in 1..=600000 ms",
    );
}

#[test]
fn unknown_param_lists_the_path_params() {
    refused(
        &with("[params]\ntickTime = 100\nticktime = 100\n"),
        6,
        "params.ticktime: unknown parameter of zookeeper/fle; allowed: tickTime, initLimit",
    );
    refused(
        &with("[params]\ntickTime = 100\n\"zookeeper.fastleader.maxNotificationIntervall\" = 1\n"),
        6,
        "params.zookeeper.fastleader.maxNotificationIntervall: unknown parameter",
    );
}

#[test]
fn missing_required_key_is_reported_at_its_table() {
    let e = refused(
        "path = \"zookeeper/fle\"\nnodes = 3\n",
        1,
        "name: required key is missing",
    );
    assert_eq!(e.field, "name");
    refused(
        "name = \"t\"\nnodes = 3\n",
        1,
        "path: required key is missing; allowed paths",
    );
    refused(
        &with("\n[[network.links]]\nfrom = 1\nbase_ms = 1\n"),
        5,
        "network.links.1.to: required key is missing",
    );
}

#[test]
fn bad_name_is_refused() {
    refused(
        "name = \"my run\"\npath = \"zookeeper/fle\"\nnodes = 3\n",
        1,
        "name: \"my run\" is not allowed: use only letters, digits",
    );
    refused(
        "name = \"..\"\npath = \"zookeeper/fle\"\nnodes = 3\n",
        1,
        "is not allowed",
    );
}

#[test]
fn syntax_error_names_its_line() {
    let e = refused(&with("\n[clients\ncount = 1\n"), 5, "invalid TOML: ");
    assert_eq!(e.field, "");
    refused(&with("nodes = 4\n"), 4, "duplicate key");
}

#[test]
fn both_time_forms_are_refused() {
    refused(
        &with("[[faults]]\nkind = \"crash\"\ntarget = \"leader\"\nat_ms = 1\nfrom_ms = 1\nto_ms = 2\n"),
        8,
        "faults.1.from_ms: cannot be given with at_ms; give at_ms, or from_ms and to_ms, not both",
    );
    refused(
        &with("[[faults]]\nkind = \"heal\"\n"),
        4,
        "faults.1: the fault needs a time: give at_ms, or from_ms and to_ms",
    );
    refused(
        &with("[[faults]]\nkind = \"heal\"\nfrom_ms = 1\n"),
        4,
        "faults.1.to_ms: required key is missing",
    );
}

#[test]
fn unsweepable_fields_refuse_lists() {
    refused(
        &with("seed = [1, 2]\n"),
        4,
        "seed: [1, 2] is not allowed: cannot be swept",
    );
    refused(
        &with("trials = [1, 2]\n"),
        4,
        "trials: [1, 2] is not allowed: cannot be swept",
    );
    refused(
        &with("[[faults]]\nkind = \"crash\"\ntarget = [1, 2]\nat_ms = 1\n"),
        6,
        "faults.1.target: [1, 2] is not allowed: cannot be swept",
    );
    refused(
        &with("[[network.links]]\nfrom = [1, 2]\nto = 3\nbase_ms = 1\n"),
        5,
        "network.links.1.from: [1, 2] is not allowed: cannot be swept",
    );
}

#[test]
fn latency_forms_cannot_mix_and_must_be_complete() {
    refused(
        &with(
            "[network]\nlatency = { dist = \"normal\", mean_ms = 1, median_ms = 1, p99_ms = 2 }\n",
        ),
        5,
        "network.latency.median_ms: cannot be mixed with mean_ms and stddev_ms",
    );
    refused(
        &with("[network.latency]\ndist = \"lognormal\"\nmedian_ms = 1\n"),
        4,
        "network.latency.p99_ms: required key is missing; dist = \"lognormal\" needs mu and \
         sigma, or median_ms and p99_ms",
    );
    refused(
        &with("[network.latency]\ndist = \"constant\"\nmean_ms = 1\n"),
        6,
        "network.latency.mean_ms: unknown key for dist = \"constant\"; allowed keys here: dist, ms",
    );
    refused(
        &with("[network.latency]\ndist = \"lognormal\"\nmedian_ms = 2\np99_ms = 1\n"),
        7,
        "network.latency.p99_ms: 1 is not allowed: must be >= median_ms (2)",
    );
    refused(
        &with("[network.latency]\ndist = \"gamma\"\n"),
        5,
        "network.latency.dist: \"gamma\" is not allowed: allowed: constant, uniform",
    );
}

#[test]
fn sweep_product_is_capped() {
    let big: Vec<String> = (1..=400).map(|i| i.to_string()).collect();
    let list = format!("[{}]", big.join(", "));
    refused(
        &with(&format!(
            "duration_ms = {list}\n[clients]\nrate_per_s = {list}\n"
        )),
        6,
        "the sweep has more than 100000 points",
    );
}

#[test]
fn readme_example_parses_as_documented() {
    let readme = include_str!("../../workloads/README.md");
    let section = readme
        .split("## A complete example")
        .nth(1)
        .expect("README has the example section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the example section has a toml block");
    let plan = ok(example);
    let cols: Vec<&str> = plan.axes.iter().map(|a| a.column.as_str()).collect();
    assert_eq!(
        cols,
        [
            "nodes",
            "params.zookeeper.fastleader.maxNotificationInterval"
        ]
    );
    assert_eq!(plan.points.len(), 4);
    let w = &plan.points[3].workload;
    assert_eq!((w.nodes, w.trials, w.seed), (5, 200, 7));
    assert_eq!(w.net.latency, NetConfig::default().latency);
    assert_eq!(w.net.links.len(), 2);
    assert_eq!(w.faults.len(), 2);
}

#[test]
fn loss_mode_and_rto_parse_and_are_checked() {
    use crate::engine::net::LossMode;
    let ok = "name = \"x\"\npath = \"zookeeper/fle\"\nnodes = 3\n[network]\nloss = 0.01\nloss_mode = \"drop\"\nrto_ms = 300\n";
    let plan = parse("w.toml", ok).unwrap();
    let net = &plan.points[0].workload.net;
    assert_eq!(net.loss_mode, LossMode::Drop);
    assert_eq!(net.rto, crate::engine::SimDuration::from_ms(300));
    let plan = parse("w.toml", &ok.replace("loss_mode = \"drop\"\n", "")).unwrap();
    assert_eq!(plan.points[0].workload.net.loss_mode, LossMode::Retransmit);
    let e = parse("w.toml", &ok.replace("\"drop\"", "\"lose\"")).unwrap_err();
    assert_eq!(e.line, Some(6));
    assert!(e.message.contains("retransmit, drop"), "{e}");
    let e = parse("w.toml", &ok.replace("rto_ms = 300", "rto_ms = 0")).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (Some(7), "network.rto_ms"));
}

#[test]
fn reset_after_parses_sweeps_and_is_checked() {
    let ok =
        "name = \"x\"\npath = \"zookeeper/fle\"\nnodes = 3\n[network]\nreset_after_ms = [0, 15]\n";
    let plan = parse("w.toml", ok).unwrap();
    let got: Vec<_> = plan
        .points
        .iter()
        .map(|p| p.workload.net.reset_after)
        .collect();
    assert_eq!(
        got,
        [
            crate::engine::SimDuration::ZERO,
            crate::engine::SimDuration::from_ms(15)
        ]
    );
    let e = parse("w.toml", &ok.replace("[0, 15]", "-1")).unwrap_err();
    assert_eq!(
        (e.line, e.field.as_str()),
        (Some(5), "network.reset_after_ms")
    );
    assert!(e.message.contains(">= 0 and <= 60000"), "{e}");
}

// ---- paths with several node groups, path target words and typed
// parameters, which no registered path has yet ----

const TEST_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "down-after-milliseconds",
        kind: ParamKind::Int {
            min: 1,
            max: 600_000,
        },
        default: ParamDefault::Int(30_000),
        unit: "ms",
        doc: "",
    },
    ParamSpec {
        name: "unclean.leader.election.enable",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(false),
        unit: "",
        doc: "",
    },
    ParamSpec {
        name: "acks",
        kind: ParamKind::Enum(&["0", "1", "all"]),
        default: ParamDefault::Enum("all"),
        unit: "",
        doc: "",
    },
    ParamSpec {
        name: "replica-priority",
        kind: ParamKind::PerNode {
            group: "sentinels",
            min: 0,
            max: 1000,
        },
        default: ParamDefault::Each(100),
        unit: "",
        doc: "",
    },
];

/// Two paths for the parser's sake: `test/sentinel` has a required first
/// group and a second group with a default, plus path target words;
/// `test/kraft` has a first group with a default and a required second group.
static TEST_PATHS: [PathInfo; 2] = [
    PathInfo {
        path: "test/sentinel",
        system: "test",
        summary: "two groups, path words, typed parameters",
        groups: &[
            GroupSpec {
                name: "servers",
                word: "server",
                min: 1,
                max: 9,
                default: None,
                doc: "",
            },
            GroupSpec {
                name: "sentinels",
                word: "sentinel",
                min: 1,
                max: 5,
                default: Some(3),
                doc: "",
            },
        ],
        params: TEST_PARAMS,
        targets: &[
            TargetSpec {
                word: "master",
                takes_number: false,
                doc: "",
            },
            TargetSpec {
                word: "shard-leader",
                takes_number: true,
                doc: "",
            },
        ],
        columns: &[],
        prepare: crate::runner::prepare::<crate::systems::zookeeper::fle::Fle>,
    },
    PathInfo {
        path: "test/kraft",
        system: "test",
        summary: "a first group with a default, a required second group",
        groups: &[
            GroupSpec {
                name: "brokers",
                word: "broker",
                min: 1,
                max: 9,
                default: Some(3),
                doc: "",
            },
            GroupSpec {
                name: "controllers",
                word: "controller",
                min: 0,
                max: 5,
                default: None,
                doc: "",
            },
        ],
        params: &[],
        targets: &[],
        columns: &[],
        prepare: crate::runner::prepare::<crate::systems::zookeeper::fle::Fle>,
    },
];

/// The first lines of a `test/sentinel` file; additions start at line 4.
const SENTINEL: &str = "name = \"t\"\npath = \"test/sentinel\"\nnodes = 5\n";

fn ok_t(text: &str) -> Plan {
    parse_in("x.toml", text, &TEST_PATHS).unwrap_or_else(|e| panic!("should parse, got: {e}"))
}

/// [`refused`] against the test paths.
fn refused_t(text: &str, line: usize, needle: &str) -> WorkloadError {
    let e = parse_in("x.toml", text, &TEST_PATHS).expect_err("should be refused");
    assert_eq!(e.line, Some(line), "wrong line in: {e}");
    assert!(e.to_string().contains(needle), "{e:?} lacks {needle:?}");
    assert!(
        e.to_string().starts_with(&format!("x.toml:{line}: ")),
        "{e}"
    );
    e
}

fn sentinel(extra: &str) -> String {
    format!("{SENTINEL}{extra}")
}

#[test]
fn topology_sizes_every_group_in_declaration_order() {
    let w = &ok_t(SENTINEL).points[0].workload;
    assert_eq!(w.topology.groups, [("servers", 5), ("sentinels", 3)]);
    assert_eq!(w.nodes, 8);

    let w = &ok_t(&sentinel("[topology]\nsentinels = 4\n")).points[0].workload;
    assert_eq!(w.topology.groups, [("servers", 5), ("sentinels", 4)]);
    assert_eq!(w.nodes, 9);

    // The first group may be sized in [topology] instead of by `nodes`.
    let text = "name = \"t\"\npath = \"test/sentinel\"\n[topology]\nservers = 2\nsentinels = 1\n";
    let w = &ok_t(text).points[0].workload;
    assert_eq!(w.topology.groups, [("servers", 2), ("sentinels", 1)]);

    // A one-group path fills its one group from `nodes`, or from [topology].
    let w = &ok(BASE).points[0].workload;
    assert_eq!(w.topology, Topology::single("servers", 3));
    let text = "name = \"t\"\npath = \"zookeeper/fle\"\n[topology]\nservers = 4\n";
    let w = &ok(text).points[0].workload;
    assert_eq!(
        (w.topology.groups.as_slice(), w.nodes),
        (&[("servers", 4)][..], 4)
    );

    // Groups with defaults may all be left out; required ones may not.
    let w = &ok_t("name = \"t\"\npath = \"test/kraft\"\n[topology]\ncontrollers = 0\n").points[0]
        .workload;
    assert_eq!(w.topology.groups, [("brokers", 3), ("controllers", 0)]);
    assert_eq!(w.nodes, 3);
}

#[test]
fn topology_sizes_sweep_under_their_own_columns() {
    let plan = ok_t(&sentinel("[topology]\nsentinels = [1, 3]\n"));
    assert_eq!(plan.axes.len(), 1);
    assert_eq!(plan.axes[0].column, "topology.sentinels");
    assert_eq!(plan.axes[0].line, 5);
    assert_eq!(plan.axes[0].values, [1.0, 3.0]);
    let nodes: Vec<usize> = plan.points.iter().map(|p| p.workload.nodes).collect();
    assert_eq!(nodes, [6, 8]);

    // `nodes` keeps its column on a path with several groups.
    let text = "name = \"t\"\npath = \"test/sentinel\"\nnodes = [1, 2]\n";
    assert_eq!(ok_t(text).axes[0].column, "nodes");
}

#[test]
fn topology_refuses_the_first_group_twice_unknown_groups_and_bad_sizes() {
    let e = refused_t(
        &sentinel("\n[topology]\nservers = 5\n"),
        6,
        "topology.servers: sizes the same group as nodes (line 3); give one of them",
    );
    assert_eq!(e.field, "topology.servers");
    refused_t(
        &sentinel("[topology]\nsentinel = 3\n"),
        5,
        "topology.sentinel: unknown node group of test/sentinel; allowed keys here: servers, \
         sentinels",
    );
    refused_t(
        &sentinel("[topology]\nsentinels = 6\n"),
        5,
        "topology.sentinels: 6 is not allowed: test/sentinel needs 1..=5 sentinels",
    );
    refused_t(
        &sentinel("[topology]\nsentinels = [2,\n 0]\n"),
        6,
        "topology.sentinels: 0 is not allowed: test/sentinel needs 1..=5 sentinels",
    );
    refused_t(
        &sentinel("[topology]\nsentinels = 2.0\n"),
        5,
        "topology.sentinels: expected an integer, found float 2.0",
    );
    refused_t(
        "name = \"t\"\npath = \"test/sentinel\"\n[topology]\nsentinels = 2\n",
        1,
        "nodes: required key is missing; test/sentinel needs 1..=9 servers; give nodes = N or \
         [topology] servers = N",
    );
    refused_t(
        "name = \"t\"\npath = \"test/kraft\"\nnodes = 3\n",
        1,
        "topology.controllers: required key is missing; test/kraft needs 0..=5 controllers",
    );
    refused_t(
        "name = \"t\"\npath = \"test/kraft\"\n\n[topology]\nbrokers = 3\n",
        4,
        "topology.controllers: required key is missing",
    );
    refused_t(
        &sentinel("topology = 3\n"),
        4,
        "topology: expected a table, found integer 3",
    );
}

#[test]
fn node_numbers_run_across_groups_and_messages_say_so() {
    let plan = ok_t(&sentinel(
        "[topology]\nsentinels = 3\n\
         [[network.links]]\nfrom = 8\nto = 1\nbase_ms = 1\n\
         [[faults]]\nkind = \"crash\"\ntarget = 7\nat_ms = 1\n\
         [[faults]]\nkind = \"partition\"\ngroups = [[1, 6], [2, 7]]\nat_ms = 2\n",
    ));
    let w = &plan.points[0].workload;
    assert_eq!((w.net.links[0].from, w.net.links[0].to), (7, 0));
    assert_eq!(w.faults[0].target, Target::Node(6));
    assert_eq!(
        w.faults[1].action,
        Action::Partition {
            groups: vec![vec![0, 5], vec![1, 6]],
            one_way: false
        }
    );

    let numbers = "node numbers are 1..=8: servers 1..=5, sentinels 6..=8";
    refused_t(
        &sentinel("[[faults]]\nkind = \"crash\"\ntarget = 9\nat_ms = 1\n"),
        6,
        &format!("faults.1.target: 9 is not allowed: {numbers}"),
    );
    refused_t(
        &sentinel("[[network.links]]\nfrom = 0\nto = 1\nbase_ms = 1\n"),
        5,
        &format!("network.links.1.from: 0 is not allowed: {numbers}"),
    );
    refused_t(
        &sentinel("[[faults]]\nkind = \"partition\"\ngroups = [[1], [2, 9]]\nat_ms = 1\n"),
        6,
        &format!("faults.1.groups: 9 is not allowed: {numbers}"),
    );
    refused_t(
        &sentinel("[[faults]]\nkind = \"partition\"\ngroups = [[1, 6], [6]]\nat_ms = 1\n"),
        6,
        "6 is not allowed: node 6 is already in group 1; a node may be in one group only",
    );
    refused_t(
        &sentinel("[[faults]]\nkind = \"crash\"\nat_ms = 1\n"),
        4,
        "or a node number 1..=8 (servers 1..=5, sentinels 6..=8)",
    );
    // With a group swept, the numbering is that of each point.
    refused_t(
        &sentinel(
            "[topology]\nsentinels = [3, 2]\n[[faults]]\nkind = \"crash\"\ntarget = 8\nat_ms = 1\n",
        ),
        8,
        "8 is not allowed: node numbers are 1..=7: servers 1..=5, sentinels 6..=7",
    );
}

/// The targets of every fault of `extra` added to a `test/sentinel` file.
fn sentinel_targets(extra: &str) -> Vec<Target> {
    ok_t(&sentinel(extra)).points[0]
        .workload
        .faults
        .iter()
        .map(|f| f.target.clone())
        .collect()
}

#[test]
fn target_words_come_from_the_path() {
    let fault =
        |target: &str| format!("[[faults]]\nkind = \"crash\"\ntarget = \"{target}\"\nat_ms = 1\n");
    let words = [
        "leader",
        "server",
        "sentinel",
        "server:5",
        "sentinel:2",
        "master",
        "shard-leader",
        "shard-leader:7",
        "shard-leader:0",
    ];
    let text: String = words.iter().map(|w| fault(w)).collect();
    assert_eq!(
        sentinel_targets(&text),
        [
            Target::Leader,
            Target::Group(0),
            Target::Group(1),
            Target::Node(4),
            // Servers are nodes 1..=5, so the second sentinel is node 7.
            Target::Node(6),
            Target::Path {
                word: "master",
                arg: None
            },
            Target::Path {
                word: "shard-leader",
                arg: None
            },
            Target::Path {
                word: "shard-leader",
                arg: Some(7)
            },
            Target::Path {
                word: "shard-leader",
                arg: Some(0)
            },
        ]
    );
    // `WORD:N` of a group counts within the group as the topology has it.
    assert_eq!(
        sentinel_targets(&format!(
            "[topology]\nsentinels = 5\n{}",
            fault("sentinel:5")
        )),
        [Target::Node(9)]
    );

    // The one group of zookeeper/fle has its word too.
    let plan = ok(&with(
        "[[faults]]\nkind = \"crash\"\ntarget = \"server:2\"\nat_ms = 1\n\
         [[faults]]\nkind = \"pause\"\ntarget = \"server\"\nat_ms = 2\n",
    ));
    let t: Vec<&Target> = plan.points[0]
        .workload
        .faults
        .iter()
        .map(|f| &f.target)
        .collect();
    assert_eq!(t, [&Target::Node(1), &Target::Group(0)]);
}

#[test]
fn target_words_are_refused_with_the_path_list() {
    let at6 = |target: &str, needle: &str| {
        refused_t(
            &sentinel(&format!(
                "[[faults]]\nkind = \"crash\"\ntarget = \"{target}\"\nat_ms = 1\n"
            )),
            6,
            needle,
        );
    };
    let list = "allowed: leader, follower, random, last, server, server:N, sentinel, sentinel:N, \
                master, shard-leader:N or a node number 1..=8 (servers 1..=5, sentinels 6..=8)";
    // Words are matched exactly: no case folding, no trimming.
    at6(
        "Leader",
        &format!("faults.1.target: \"Leader\" is not allowed: {list}"),
    );
    at6("sentinel ", list);
    at6("boss:1", list);
    at6("3", list);
    at6(
        "sentinel:4",
        "\"sentinel:4\" is not allowed: sentinel:N needs N in 1..=3 (sentinels has 3 nodes)",
    );
    at6("sentinel:0", "sentinel:N needs N in 1..=3");
    at6("server:", "server:N needs N in 1..=5 (servers has 5 nodes)");
    at6("server:+1", "server:N needs N in 1..=5");
    at6(
        "master:1",
        "\"master:1\" is not allowed: master takes no number; write \"master\"",
    );
    at6(
        "shard-leader:-1",
        "shard-leader:N needs a whole number N in 0..=4294967295",
    );
    at6("shard-leader:x", "shard-leader:N needs a whole number N");
    at6(
        "shard-leader:4294967296",
        "shard-leader:N needs a whole number N",
    );
    refused_t(
        &sentinel("[[faults]]\nkind = \"crash\"\nat_ms = 1\n"),
        4,
        "faults.1.target: required key is missing; kind = \"crash\" needs one of leader, \
         follower, random, last, server, server:N, sentinel, sentinel:N, master, shard-leader:N \
         or a node number",
    );
    refused_t(
        &sentinel("[[faults]]\nkind = \"crash\"\ntarget = true\nat_ms = 1\n"),
        6,
        "faults.1.target: expected a string (leader, follower, random, last, server, server:N, \
         sentinel, sentinel:N, master, shard-leader:N) or a node number, found boolean true",
    );
    // A one-group path names its numbers as before.
    refused(
        &with("[[faults]]\nkind = \"crash\"\ntarget = \"server:4\"\nat_ms = 1\n"),
        6,
        "server:N needs N in 1..=3 (servers has 3 nodes)",
    );
}

#[test]
fn disk_takes_an_fsync_latency_and_a_throughput() {
    use crate::engine::disk::DiskConfig;
    assert_eq!(ok(BASE).points[0].workload.disk, DiskConfig::default());
    let w = &ok(&with("[disk]\n")).points[0].workload;
    assert_eq!(w.disk, DiskConfig::default());

    let plan = ok(&with(
        "[disk]\nfsync = { dist = \"uniform\", min_ms = 1, max_ms = 3 }\nthroughput_mb_s = 250\n",
    ));
    assert_eq!(
        plan.points[0].workload.disk,
        DiskConfig {
            fsync: Latency::Uniform {
                min_ms: 1.0,
                max_ms: 3.0
            },
            throughput_bytes_per_s: Some(250e6),
        }
    );

    // The fsync table is a latency table: every form, and its numbers sweep.
    let plan = ok(&with(
        "[disk.fsync]\ndist = \"lognormal\"\nmedian_ms = [0.5, 2]\np99_ms = 8\n\
         [clients]\ncount = 0\n",
    ));
    assert_eq!(plan.axes[0].column, "disk.fsync.median_ms");
    assert_eq!(plan.points.len(), 2);
    assert_eq!(
        plan.points[1].workload.disk.fsync,
        Latency::lognormal_from_median_p99(2.0, 8.0)
    );
    let plan = ok(&with("[disk]\nthroughput_mb_s = [100, 0.5]\n"));
    assert_eq!(plan.axes[0].column, "disk.throughput_mb_s");
    assert_eq!(
        plan.points[1].workload.disk.throughput_bytes_per_s,
        Some(500_000.0)
    );
}

#[test]
fn disk_refuses_unknown_keys_and_bad_values() {
    refused(
        &with("[disk]\nfsync_ms = 2\n"),
        5,
        "disk.fsync_ms: unknown key; allowed keys here: fsync, throughput_mb_s",
    );
    refused(
        &with("[disk]\nthroughput_mb_s = 0\n"),
        5,
        "disk.throughput_mb_s: 0 is not allowed: MB (10^6 bytes) per second must be > 0",
    );
    refused(
        &with("[disk]\nthroughput_mb_s = \"fast\"\n"),
        5,
        "disk.throughput_mb_s: expected a number, found string \"fast\"",
    );
    refused(
        &with("[disk]\nfsync = { dist = \"constant\", ms = -1 }\n"),
        5,
        "disk.fsync.ms: -1 is not allowed: must be >= 0",
    );
    refused(
        &with("[disk]\nfsync = { dist = \"gamma\" }\n"),
        5,
        "disk.fsync.dist: \"gamma\" is not allowed: allowed: constant, uniform, exponential",
    );
    refused(
        &with("[disk.fsync]\nms = 1\n"),
        4,
        "disk.fsync.dist: required key is missing",
    );
    refused(
        &with("disk = 1\n"),
        4,
        "disk: expected a table, found integer 1",
    );
}

#[test]
fn bool_and_enum_params_take_their_values() {
    let w = &ok_t(SENTINEL).points[0].workload;
    assert!(!w.params.get_bool("unclean.leader.election.enable"));
    assert_eq!(w.params.get_enum("acks"), "all");
    let w = &ok_t(&sentinel(
        "[params]\nunclean.leader.election.enable = true\nacks = \"1\"\n\
         down-after-milliseconds = 5000\n",
    ))
    .points[0]
        .workload;
    assert!(w.params.get_bool("unclean.leader.election.enable"));
    assert_eq!(w.params.get_enum("acks"), "1");
    assert_eq!(w.params.get("down-after-milliseconds"), 5000.0);
}

#[test]
fn bool_and_enum_params_sweep_as_text_axes() {
    let plan = ok_t(&sentinel(
        "[params]\n\"unclean.leader.election.enable\" = [true, false]\n\
         acks = [\"0\", \"1\", \"all\"]\ndown-after-milliseconds = [1000, 5000]\n",
    ));
    let cols: Vec<&str> = plan.axes.iter().map(|a| a.column.as_str()).collect();
    assert_eq!(
        cols,
        [
            "params.unclean.leader.election.enable",
            "params.acks",
            "params.down-after-milliseconds"
        ]
    );
    let text = |s: &str| AxisValue::Text(s.to_string());
    assert_eq!(plan.axes[0].values, [text("true"), text("false")]);
    assert_eq!(plan.axes[1].values, [text("0"), text("1"), text("all")]);
    assert_eq!(plan.axes[1].line, 6);
    assert_eq!(plan.points.len(), 12);
    // Last axis fastest, as for numbers; the values print as written.
    let shown: Vec<String> = plan.points[..4]
        .iter()
        .map(|p| {
            p.values
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        shown,
        ["true 0 1000", "true 0 5000", "true 1 1000", "true 1 5000"]
    );
    for p in &plan.points {
        let ps = &p.workload.params;
        assert_eq!(
            p.values[0].to_string(),
            ps.get_bool("unclean.leader.election.enable").to_string()
        );
        assert_eq!(p.values[1].to_string(), ps.get_enum("acks"));
        assert_eq!(p.values[2], ps.get("down-after-milliseconds"));
    }
    assert!(!plan.points[11]
        .workload
        .params
        .get_bool("unclean.leader.election.enable"));
    assert_eq!(plan.points[11].workload.params.get_enum("acks"), "all");
}

#[test]
fn bool_and_enum_params_refuse_other_values() {
    let flag = "params.unclean.leader.election.enable";
    refused_t(
        &sentinel("[params]\n\"unclean.leader.election.enable\" = 1\n"),
        5,
        &format!("{flag}: expected true or false, found integer 1"),
    );
    refused_t(
        &sentinel("[params]\n\"unclean.leader.election.enable\" = \"true\"\n"),
        5,
        &format!("{flag}: expected true or false, found string \"true\""),
    );
    refused_t(
        &sentinel("[params]\n\"unclean.leader.election.enable\" = [\n  true,\n  0,\n]\n"),
        7,
        &format!("{flag}: expected true or false in the sweep list, found integer 0"),
    );
    refused_t(
        &sentinel("[params]\n\"unclean.leader.election.enable\" = []\n"),
        5,
        "empty sweep list: give at least one value",
    );
    refused_t(
        &sentinel("[params]\nacks = \"2\"\n"),
        5,
        "params.acks: \"2\" is not allowed: must be one of \"0\", \"1\", \"all\"",
    );
    // Words are matched exactly.
    refused_t(
        &sentinel("[params]\nacks = \"ALL\"\n"),
        5,
        "params.acks: \"ALL\" is not allowed: must be one of \"0\", \"1\", \"all\"",
    );
    refused_t(
        &sentinel("[params]\nacks = 1\n"),
        5,
        "params.acks: expected one of \"0\", \"1\", \"all\", found integer 1",
    );
    // A bad word of a sweep is reported at its own line, in its own point.
    refused_t(
        &sentinel("[params]\nacks = [\n  \"all\",\n  \"-1\",\n]\n"),
        7,
        "params.acks: \"-1\" is not allowed: must be one of",
    );
    refused_t(
        &sentinel("[params]\nacks = [\"all\", 1]\n"),
        5,
        "params.acks: expected one of \"0\", \"1\", \"all\" in the sweep list, found integer 1",
    );
    // A number parameter still says what it takes.
    refused_t(
        &sentinel("[params]\ndown-after-milliseconds = true\n"),
        5,
        "params.down-after-milliseconds: expected a number, found boolean true",
    );
}

#[test]
fn per_node_params_are_lists_as_long_as_their_group() {
    let w = &ok_t(SENTINEL).points[0].workload;
    assert_eq!(w.params.get_list("replica-priority"), [100, 100, 100]);
    // The default follows the group's size.
    let w = &ok_t(&sentinel("[topology]\nsentinels = 5\n")).points[0].workload;
    assert_eq!(w.params.get_list("replica-priority"), [100; 5]);
    let w = &ok_t(&sentinel("[params]\nreplica-priority = [0, 1000, 7]\n")).points[0].workload;
    assert_eq!(w.params.get_list("replica-priority"), [0, 1000, 7]);
    // A list is one value, not a sweep.
    assert!(ok_t(&sentinel("[params]\nreplica-priority = [1, 2, 3]\n"))
        .axes
        .is_empty());
}

#[test]
fn per_node_params_refuse_bad_lists() {
    let field = "params.replica-priority";
    refused_t(
        &sentinel("[params]\nreplica-priority = [1, 2]\n"),
        5,
        &format!(
            "{field}: [1, 2] is not allowed: needs one value per node of group `sentinels`: 3 \
             values, found 2"
        ),
    );
    refused_t(
        &sentinel("[params]\nreplica-priority = [\n  1,\n  2000,\n  3,\n]\n"),
        7,
        &format!("{field}: 2000 is not allowed: each value must be in 0..=1000"),
    );
    refused_t(
        &sentinel("[params]\nreplica-priority = [1, 2.5, 3]\n"),
        5,
        &format!("{field}: expected a whole number in the per-node list, found float 2.5"),
    );
    refused_t(
        &sentinel("[params]\nreplica-priority = 100\n"),
        5,
        &format!(
            "{field}: expected a list of one whole number in 0..=1000 per node of group \
             `sentinels`, found integer 100"
        ),
    );
    refused_t(
        &sentinel("[params]\nreplica-priority = [[1, 2, 3], [3, 2, 1]]\n"),
        5,
        &format!(
            "{field}: [[1, 2, 3], [3, 2, 1]] is not allowed: per-node lists cannot be swept yet; \
             give a list of one whole number in 0..=1000 per node of group `sentinels`"
        ),
    );
    // The length is checked per point when the group's size is swept.
    refused_t(
        &sentinel("[topology]\nsentinels = [3, 4]\n[params]\nreplica-priority = [1, 2, 3]\n"),
        7,
        "needs one value per node of group `sentinels`: 4 values, found 3",
    );
}

#[test]
fn an_enum_param_of_zookeeper_parses_and_sweeps() {
    let plan = ok(&with(
        "[params]\n\"zookeeper.forceSync\" = [\"yes\", \"no\"]\n",
    ));
    assert_eq!(plan.axes[0].column, "params.zookeeper.forceSync");
    let got: Vec<&str> = plan
        .points
        .iter()
        .map(|p| p.workload.params.get_enum("zookeeper.forceSync"))
        .collect();
    assert_eq!(got, ["yes", "no"]);
    refused(
        &with("[params]\nzookeeper.forceSync = false\n"),
        5,
        "params.zookeeper.forceSync: expected one of \"yes\", \"no\", found boolean false",
    );
}

#[test]
fn a_name_longer_than_the_limit_is_refused_at_its_line() {
    let name = |n: usize| "a".repeat(n);
    let at_limit = BASE.replace("\"t\"", &format!("\"{}\"", name(MAX_NAME_CHARS)));
    assert_eq!(ok(&at_limit).name.len(), MAX_NAME_CHARS);
    let long = BASE.replace("\"t\"", &format!("\"{}\"", name(300)));
    let e = refused(&long, 1, "300 characters; at most 100");
    assert_eq!(e.field, "name");
}

#[test]
fn a_duration_that_rounds_to_zero_nanoseconds_is_refused() {
    let e = refused(&with("duration_ms = 1e-300\n"), 4, "rounds to 0 ns");
    assert_eq!(e.field, "duration_ms");
    refused(&with("duration_ms = 0.0000004\n"), 4, "rounds to 0 ns");
    // 0.6 ns rounds to 1 ns: the shortest trial there is.
    let p = ok(&with("duration_ms = 0.0000006\n"));
    assert_eq!(p.points[0].workload.duration, SimDuration(1));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn a_sane_file_has_no_warnings() {
    assert!(ok(FULL).warnings.is_empty(), "{:?}", ok(FULL).warnings);
}

#[test]
fn a_latency_median_beyond_the_trial_is_a_warning_not_an_error() {
    let p = ok(&with(
        "duration_ms = 1000\n[network]\nlatency = { dist = \"constant\", ms = 1e300 }\n",
    ));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = p.warnings[0].to_string();
    assert!(w.starts_with("x.toml:6: network.latency: "), "{w}");
    assert!(w.contains("exceeds the trial's duration_ms (1000)"), "{w}");
    // The disk's fsync latency too, once however many points repeat it.
    let p = ok(&with(
        "duration_ms = [1000, 2000]\n[disk]\nfsync = { dist = \"uniform\", min_ms = 5000, \
         max_ms = 7000 }\n",
    ));
    assert_eq!(p.points.len(), 2);
    assert_eq!(
        p.warnings.len(),
        2,
        "one per distinct duration: {:?}",
        p.warnings
    );
    assert!(p.warnings[0].to_string().contains("disk.fsync"));
}

#[test]
fn clients_starting_after_the_trial_are_a_warning() {
    let p = ok(&with(
        "duration_ms = 1000\n[clients]\ncount = 2\nstart_ms = 1000\n",
    ));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = p.warnings[0].to_string();
    assert!(w.starts_with("x.toml:7: clients.start_ms: "), "{w}");
    assert!(w.contains("no client operation is possible"), "{w}");
    // No clients, nothing to warn about.
    let p = ok(&with(
        "duration_ms = 1000\n[clients]\ncount = 0\nstart_ms = 5000\n",
    ));
    assert!(p.warnings.is_empty());
}

#[test]
fn a_fault_on_the_last_nanosecond_is_a_warning() {
    // 0.0000019 ms < 0.000002 ms as written, but both are 2 ns.
    let p = ok(&with(
        "duration_ms = 0.000002\n[[faults]]\nkind = \"crash\"\ntarget = 1\nat_ms = 0.0000019\n",
    ));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = p.warnings[0].to_string();
    assert!(w.starts_with("x.toml:8: faults.1.at_ms: "), "{w}");
    assert!(w.contains("not before the end of the trial"), "{w}");
}

#[test]
fn warmup_defaults_to_zero_is_sweepable_and_must_end_before_the_trial() {
    let p = ok(&with("duration_ms = 1000\n"));
    assert_eq!(p.points[0].workload.load.warmup, SimDuration::ZERO);
    let p = ok(&with(
        "duration_ms = 1000\n[clients]\nwarmup_ms = [0, 250.5]\n",
    ));
    assert_eq!(p.axes[0].column, "clients.warmup_ms");
    let w: Vec<SimDuration> = p.points.iter().map(|pt| pt.workload.load.warmup).collect();
    assert_eq!(w, [SimDuration::ZERO, SimDuration::from_ms_f64(250.5)]);
    refused(
        &with("duration_ms = 1000\n[clients]\nwarmup_ms = 1000\n"),
        6,
        "must be >= 0 ms and < duration_ms (1000)",
    );
    refused(
        &with("duration_ms = 1000\n[clients]\nwarmup_ms = -1\n"),
        6,
        "must be >= 0 ms",
    );
}
