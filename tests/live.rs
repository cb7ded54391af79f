//! The live runtime: every registered path fails over on real threads and
//! keeps its invariants; a full mailbox is counted and its envelopes still
//! arrive, in order; a stop request ends a live run and keeps its finished
//! trials; 1,000 live nodes fail over without deadlock. Outcomes only, never
//! timing (a live run's timing is the machine's).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use electbench::engine::live::{run_live, LiveConfig};
use electbench::engine::sim::SimConfig;
use electbench::engine::{Checker, Ctx, Findings, Model, Node, NodeId, Obs, Role, SimTime, View};
use electbench::runner::{self, RunOptions};
use electbench::workload::{self, Runtime};

fn opts() -> RunOptions {
    RunOptions {
        threads: 1,
        only_point: None,
        only_trial: None,
        trace: false,
        timeline: false,
    }
}

fn shipped_live() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/workloads"))
        .expect("workloads/")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("live-") && n.ends_with(".toml"))
        })
        .collect();
    files.sort();
    files
}

/// Every registered path has a live workload; one trial of each fails over
/// (the fault is applied) with no invariant violated.
#[test]
fn every_registered_path_fails_over_live_and_keeps_its_invariants() {
    let files = shipped_live();
    for info in electbench::systems::paths() {
        let file = files
            .iter()
            .find(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                text.lines()
                    .any(|l| l.trim() == format!("path = \"{}\"", info.path))
            })
            .unwrap_or_else(|| panic!("no workloads/live-*.toml for {}", info.path));
        let plan = workload::load(file).unwrap_or_else(|e| panic!("{e}"));
        let w = &plan.points[0].workload;
        assert_eq!(w.runtime, Runtime::Live, "{}", file.display());
        let trial = (w.path.prepare)(w).run(7, &opts(), &AtomicBool::new(false));
        let out = &trial.out;
        assert!(!out.aborted);
        assert!(
            out.faults.iter().any(|f| f.applied),
            "{}: the fault hit nothing: {:?}",
            info.path,
            out.faults
        );
        assert!(
            out.violations.is_empty(),
            "{}: {:?}",
            info.path,
            out.violations
        );
        assert_eq!(out.findings.lost_acked_writes, 0, "{}", info.path);
        // The live columns come after the path's own.
        assert_eq!(
            trial.columns.len(),
            info.columns.len() + electbench::results::LIVE_COLUMNS.len(),
            "{}",
            info.path
        );
        assert_eq!(trial.columns[info.columns.len()], Some(2.0), "workers");
    }
}

// A toy path: node 0 sends `COUNT` numbered messages to node 1, the first
// `BURST` at start and the rest `BURST` at a time from a timer every
// millisecond (so from a worker, where a message due at once goes straight
// into the receiver's mailbox unless the clock thread holds an earlier one);
// node 1 records each as a note; the checker wants them all, in order.

const COUNT: u64 = 2_000;
const BURST: u64 = 100;

struct Toy;

#[derive(Default)]
struct ToyNode {
    got: u64,
    sent: u64,
}

impl ToyNode {
    fn burst(&mut self, ctx: &mut Ctx<'_, Self>) {
        for _ in 0..BURST.min(COUNT - self.sent) {
            ctx.send(NodeId(1), self.sent);
            self.sent += 1;
        }
        if self.sent < COUNT {
            ctx.set_timer(electbench::engine::SimDuration::from_ms(1), ());
        }
    }
}

impl Node for ToyNode {
    type Msg = u64;
    type Timer = ();
    type Note = u64;
    type Durable = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if ctx.me() == NodeId(0) {
            self.burst(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, msg: u64) {
        self.got += 1;
        ctx.record(Obs::Note(msg));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _timer: ()) {
        self.burst(ctx);
    }

    fn view(&self) -> View {
        View {
            role: Role::Follower,
            term: 0,
            leader: None,
            serving: false,
        }
    }
}

#[derive(Default)]
struct InOrder {
    next: u64,
}

impl Checker<ToyNode> for InOrder {
    fn on_record(
        &mut self,
        _now: SimTime,
        _node: NodeId,
        obs: &Obs<u64>,
        _nodes: &[ToyNode],
    ) -> Option<String> {
        let Obs::Note(k) = obs else { return None };
        let want = self.next;
        self.next += 1;
        (*k != want).then(|| format!("got message {k}, expected {want}"))
    }

    fn finish(&mut self, nodes: &[ToyNode], _up: &[bool]) -> Findings {
        let mut f = Findings::default();
        if self.next != COUNT || nodes[1].got != COUNT {
            f.violations.push(format!(
                "{} of {COUNT} messages arrived ({} handled)",
                self.next, nodes[1].got
            ));
        }
        f
    }
}

impl Model for Toy {
    type Node = ToyNode;
    type Checker = InOrder;

    fn servers(&self) -> usize {
        2
    }

    fn build(&self, clients: usize) -> (Vec<ToyNode>, InOrder) {
        (
            (0..2 + clients).map(|_| ToyNode::default()).collect(),
            InOrder::default(),
        )
    }

    fn recover(&self, _id: NodeId, _durable: &()) -> ToyNode {
        ToyNode::default()
    }
}

/// A mailbox of 4 refuses most of every burst of 100: every refusal is
/// counted, and every message still arrives, once and in order, with a
/// latency (every message through the clock thread) and with none (most
/// straight from the sending worker, the rest through the clock thread
/// after a refusal).
#[test]
fn a_full_mailbox_is_counted_and_its_envelopes_still_arrive_in_order() {
    for mailbox in [
        electbench::engine::live::mailbox::MailboxKind::LockFree,
        electbench::engine::live::mailbox::MailboxKind::Mutex,
    ] {
        for zero_latency in [false, true] {
            let mut cfg = SimConfig::without_clients(1, 300, Vec::new());
            if zero_latency {
                cfg.net.latency = electbench::engine::net::Latency::Constant { ms: 0.0 };
            }
            let live = LiveConfig {
                workers: 2,
                mailbox,
                capacity: 4,
                ..LiveConfig::default()
            };
            let (out, stats) = run_live(&Toy, &cfg, &live, None);
            assert!(
                out.violations.is_empty(),
                "{mailbox:?}: {:?}",
                out.violations
            );
            assert!(
                stats.mailbox_full > 0,
                "{mailbox:?}: a burst of {COUNT} into a mailbox of 4 was never refused"
            );
            assert_eq!(out.messages, COUNT);
        }
    }
}

const LONG: &str = r#"
name = "live-long"
path = "zookeeper/fle"
runtime = "live"
workers = 2
seed = 1
trials = 3
nodes = 3
duration_ms = DURATION

[network]
latency = { dist = "constant", ms = 0 }

[clients]
count = 1
rate_per_s = 100

[params]
tickTime = 20
finalizeWait = 10
"#;

/// Raising the stop flag (what Ctrl-C does) ends a live trial that would
/// run for a minute, and the trial says where it stopped: within a second
/// of the request, on its own clock.
#[test]
fn a_stop_request_ends_a_live_trial() {
    let plan = workload::parse("long.toml", &LONG.replace("DURATION", "60000")).unwrap();
    let w = &plan.points[0].workload;
    let trials = (w.path.prepare)(w);
    let stop = AtomicBool::new(false);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::SeqCst);
        });
        trials.run(1, &opts(), &stop).out
    });
    assert!(out.aborted);
    assert!(
        out.end < SimTime(1_300_000_000),
        "stopped at {} for a request at 300 ms",
        out.end
    );
}

/// A stop raised as the first trial is handed over keeps that trial and
/// drops the one under way.
#[test]
fn a_stopped_live_run_keeps_its_finished_trials() {
    let plan = workload::parse("long.toml", &LONG.replace("DURATION", "300")).unwrap();
    let stop = AtomicBool::new(false);
    let mut rows = Vec::new();
    let out = runner::run(&plan, &opts(), 0, &stop, &mut |row, _| {
        rows.push(row.trial);
        stop.store(true, Ordering::SeqCst);
        Ok(())
    });
    assert!(out.aborted);
    assert_eq!((out.done, rows), (1, vec![0]));
}

/// 1,000 live nodes on 2 workers: 3 ZooKeeper servers and 997 client
/// sessions writing, the leader's process dies; the ensemble elects again
/// and serves the clients, with no invariant broken. Clients are the
/// meaningful 1,000 here: an ensemble of 1,000 voters is not a deployment.
#[test]
fn a_thousand_live_nodes_fail_over_without_deadlock() {
    let text = r#"
name = "live-1000"
path = "zookeeper/fle"
runtime = "live"
workers = 2
seed = 3
trials = 1
nodes = 3
duration_ms = 2000

[network]
latency = { dist = "constant", ms = 0 }

[clients]
count = 997
rate_per_s = 2

[[faults]]
kind = "crash"
target = "leader"
at_ms = 700
host_alive = true

[params]
tickTime = 20
finalizeWait = 10
"#;
    let plan = workload::parse("k.toml", text).unwrap();
    let w = &plan.points[0].workload;
    let trial = (w.path.prepare)(w).run(3, &opts(), &AtomicBool::new(false));
    let out = &trial.out;
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let fault = out
        .faults
        .iter()
        .find(|f| f.applied)
        .expect("the leader crashed");
    assert!(
        out.records
            .iter()
            .any(|r| r.at > fault.at && matches!(r.obs, Obs::Serving { .. })),
        "no leader served again after the crash"
    );
    assert!(out.clients.writes_ok > 0);
}
