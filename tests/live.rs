//! The live runtime: every shipped live workload (so every registered path)
//! fails over on real threads (a path that had elected a leader elects one
//! again after the fault) and keeps its invariants; a full mailbox is
//! counted and its envelopes still arrive, in order; a healed link delivers
//! what it held in order with what follows; every partition of a path with
//! thousands has its leader word; a stop request ends a live run and keeps its finished
//! trials; 1,000 live nodes fail over without deadlock. Outcomes only, never
//! timing (a live run's timing is the machine's).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use electbench::engine::fault::{Action, FaultSpec, Target};
use electbench::engine::live::{run_live, LiveConfig};
use electbench::engine::net::Latency;
use electbench::engine::sim::SimConfig;
use electbench::engine::{
    Checker, Ctx, Findings, Model, Node, NodeId, Obs, Role, Scope, SimDuration, SimTime, View,
};
use electbench::runner::{self, FromWorkload, RunOptions};
use electbench::systems::kafka::partition_leader::PartitionLeader;
use electbench::workload::{self, Runtime};

fn opts() -> RunOptions {
    RunOptions::default()
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

/// Every shipped live workload (every registered path has at least one):
/// one trial of each fails over (the fault, if it has one, is applied) with
/// no invariant violated.
#[test]
fn every_shipped_live_workload_fails_over_and_keeps_its_invariants() {
    let files = shipped_live();
    let mut covered = std::collections::BTreeSet::new();
    for file in &files {
        let plan = workload::load(file).unwrap_or_else(|e| panic!("{e}"));
        let w = &plan.points[0].workload;
        let name = file.display();
        assert_eq!(w.runtime, Runtime::Live, "{name}");
        covered.insert(w.path.path);
        let trial = (w.path.prepare)(w).run(7, &opts(), &AtomicBool::new(false));
        let out = &trial.out;
        assert!(!out.aborted, "{name}");
        // A throughput workload has no fault; every other one must hit.
        assert!(
            w.faults.is_empty() || out.faults.iter().any(|f| f.applied),
            "{name}: the fault hit nothing: {:?}",
            out.faults
        );
        assert!(out.violations.is_empty(), "{name}: {:?}", out.violations);
        assert_eq!(out.findings.lost_acked_writes, 0, "{name}");
        // A path that elected a leader in the fault's scope before the fault
        // elects one again after it, within the trial (every shipped live
        // fault hits a leader, or a path without one).
        if let Some(f) = out.faults.iter().find(|f| f.applied) {
            let elected = |after: bool| {
                out.records.iter().any(|r| {
                    matches!(r.obs, Obs::Elected { scope, .. } if scope == f.scope)
                        && (r.at >= f.at) == after
                })
            };
            assert!(
                !elected(false) || elected(true),
                "{name}: no leader elected after the fault at {:?}",
                f.at
            );
        }
        // The live columns come after the path's own.
        let own = w.path.columns.len();
        assert_eq!(
            trial.columns.len(),
            own + electbench::results::LIVE_COLUMNS.len(),
            "{name}"
        );
        assert_eq!(trial.columns[own], Some(2.0), "{name}: workers");
    }
    for info in electbench::systems::paths() {
        assert!(
            covered.contains(info.path),
            "no workloads/live-*.toml for {}",
            info.path
        );
    }
    // Not only the first file of a path: zookeeper/fle has two.
    assert!(files.len() > electbench::systems::paths().len());
}

// A toy path: node 0 sends `count` numbered messages to node 1, the first
// `burst` at start and the rest `burst` at a time from a timer every
// millisecond (so from a worker, where a message due at once goes straight
// into the receiver's mailbox unless the clock thread holds an earlier one);
// node 1 records each as a note; the checker wants them all, in order.

#[derive(Clone, Copy)]
struct Toy {
    count: u64,
    burst: u64,
}

/// Bursts of 100 into a small mailbox.
const BURSTS: Toy = Toy {
    count: 2_000,
    burst: 100,
};

/// One message a millisecond, for 150 ms.
const TICKS: Toy = Toy {
    count: 150,
    burst: 1,
};

struct ToyNode {
    toy: Toy,
    got: u64,
    sent: u64,
}

impl ToyNode {
    fn burst(&mut self, ctx: &mut Ctx<'_, Self>) {
        for _ in 0..self.toy.burst.min(self.toy.count - self.sent) {
            ctx.send(NodeId(1), self.sent);
            self.sent += 1;
        }
        if self.sent < self.toy.count {
            ctx.set_timer(SimDuration::from_ms(1), ());
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

struct InOrder {
    count: u64,
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
        if self.next != self.count || nodes[1].got != self.count {
            f.violations.push(format!(
                "{} of {} messages arrived ({} handled)",
                self.next, self.count, nodes[1].got
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
            (0..2 + clients)
                .map(|_| self.recover(NodeId(0), &()))
                .collect(),
            InOrder {
                count: self.count,
                next: 0,
            },
        )
    }

    fn recover(&self, _id: NodeId, _durable: &()) -> ToyNode {
        ToyNode {
            toy: *self,
            got: 0,
            sent: 0,
        }
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
            let (out, stats) = run_live(&BURSTS, &cfg, &live, None);
            assert!(
                out.violations.is_empty(),
                "{mailbox:?}: {:?}",
                out.violations
            );
            assert!(
                stats.mailbox_full > 0,
                "{mailbox:?}: bursts of {} into a mailbox of 4 were never refused",
                BURSTS.burst
            );
            assert_eq!(out.messages, BURSTS.count);
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

/// The link 0 -> 1 is cut from 20 ms to 50 ms while node 0 sends one
/// message a millisecond. What the cut held is released at TCP's first
/// retransmission (200 ms after each was sent); what node 0 sends after the
/// heal, with no latency, must still arrive after it: every message arrives,
/// once, in send order, as in `sim`.
#[test]
fn a_healed_link_delivers_what_it_held_before_what_follows() {
    let cut = FaultSpec::at(
        20,
        Action::Partition {
            groups: vec![vec![0], vec![1]],
            one_way: false,
        },
        Target::Random,
        Some(30),
    );
    let mut cfg = SimConfig::without_clients(1, 600, vec![cut]);
    cfg.net.latency = Latency::Constant { ms: 0.0 };
    let live = LiveConfig {
        workers: 2,
        ..LiveConfig::default()
    };
    let (out, _) = run_live(&TICKS, &cfg, &live, None);
    assert!(out
        .faults
        .iter()
        .any(|f| f.applied && f.what == "partition"));
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    assert_eq!(out.messages, TICKS.count);
}

/// `kafka/partition-leader` with 3,000 partitions on 3 brokers, the busiest
/// broker's process dies: a third of the partitions, numbered across the
/// whole range, get a new leader. Every partition with an `Elected` or
/// `Serving` record has its leader word set at the end, and no other (the
/// words once stopped at partition 1,022).
#[test]
fn every_partition_has_a_leader_word() {
    let text = r#"
name = "live-words"
path = "kafka/partition-leader"
runtime = "live"
workers = 2
seed = 1
trials = 1
nodes = 3
duration_ms = 1200

[network]
latency = { dist = "constant", ms = 0 }

[clients]
count = 0

[[faults]]
kind = "crash"
target = "leader"
at_ms = 600
host_alive = true

[params]
partitions = 3000
"broker.heartbeat.interval.ms" = 20
"broker.session.timeout.ms" = 90
"replica.lag.time.max.ms" = 300
"#;
    let plan = workload::parse("w.toml", text).unwrap();
    let w = &plan.points[0].workload;
    let model = <PartitionLeader as FromWorkload>::from_workload(w);
    let cfg = SimConfig {
        seed: 1,
        duration: w.duration,
        net: w.net.clone(),
        disk: w.disk.clone(),
        faults: w.faults.clone(),
        load: w.load.clone(),
        ..SimConfig::default()
    };
    let live = LiveConfig {
        workers: 2,
        ..LiveConfig::default()
    };
    let (out, stats) = run_live(&model, &cfg, &live, None);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let led: std::collections::BTreeSet<u32> = out
        .records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Elected {
                scope: Scope::Part(p),
                ..
            }
            | Obs::Serving {
                scope: Scope::Part(p),
                ..
            } => Some(p),
            _ => None,
        })
        .collect();
    assert!(
        led.iter().any(|&p| p >= 2000),
        "no partition above 2000 elected: {} partitions",
        led.len()
    );
    assert_eq!(stats.parts_published, led.len());
}
