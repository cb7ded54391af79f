//! Engine rules, each on a toy model: keyed timers, durable writes through
//! the disk model, crash recovery from the durable copy, model-resolved
//! targets and scoped observations.

use super::disk::DiskConfig;
use super::fault::{Action, FaultSpec, Target, When};
use super::net::Latency;
use super::sim::{run_trial, SimConfig, SimOutput};
use super::*;

/// Durable state of the toy node: a log of numbers.
#[derive(Clone, Debug, Default, PartialEq)]
struct Log(Vec<u64>);

impl Durable for Log {
    type Write = u64;
    fn apply(&mut self, w: &u64) {
        self.0.push(*w);
    }
    fn bytes(_: &u64) -> u64 {
        1_000_000
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum T {
    /// Keyed by `k`; `n` is a payload that does not take part in the key…
    Tick(u8),
    Write(u64),
}

/// What the toy node does: at start it sets `Tick(1)` at 10 ms and again at
/// 30 ms (the second replaces the first), `Tick(2)` at 20 ms and cancels it,
/// and persists what `Write` timers say.
#[derive(Clone, Debug, Default)]
struct Toy {
    log: Log,
    fired: Vec<(SimTime, u8)>,
    durable_at: Vec<(SimTime, u64)>,
    starts: u32,
}

impl Node for Toy {
    type Msg = ();
    type Timer = T;
    type Note = ();
    type Durable = Log;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.starts += 1;
        ctx.set_timer(SimDuration::from_ms(10), T::Tick(1));
        ctx.set_timer(SimDuration::from_ms(30), T::Tick(1));
        ctx.set_timer(SimDuration::from_ms(20), T::Tick(2));
        ctx.cancel_timer(&T::Tick(2));
        ctx.set_timer(SimDuration::from_ms(40), T::Write(7));
        ctx.set_timer(SimDuration::from_ms(41), T::Write(8));
        ctx.record(Obs::Phase {
            name: "started",
            scope: Scope::Part(3),
        });
    }

    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: ()) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: T) {
        match timer {
            T::Tick(k) => self.fired.push((ctx.now(), k)),
            T::Write(v) => {
                self.log.apply(&v);
                ctx.persist(v);
            }
        }
    }

    fn on_persisted(&mut self, ctx: &mut Ctx<'_, Self>, w: u64) {
        self.durable_at.push((ctx.now(), w));
    }

    fn durable(&self) -> Log {
        self.log.clone()
    }

    fn view(&self) -> View {
        View {
            role: Role::Follower,
            term: 0,
            leader: None,
            serving: true,
        }
    }
}

/// Two toy nodes; the word `second` targets node 2 in scope 9.
struct Toys;

impl Model for Toys {
    type Node = Toy;
    type Checker = NoCheck;

    fn servers(&self) -> usize {
        2
    }

    fn build(&self, clients: usize) -> (Vec<Toy>, NoCheck) {
        assert_eq!(clients, 0);
        (vec![Toy::default(), Toy::default()], NoCheck)
    }

    fn recover(&self, _: NodeId, durable: &Log) -> Toy {
        Toy {
            log: durable.clone(),
            ..Toy::default()
        }
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, Toy>) -> Option<(usize, Scope)> {
        match target {
            Target::Path { word: "second", .. } => Some((1, Scope::Part(9))),
            other => t.common(other).map(|i| (i, Scope::Whole)),
        }
    }
}

/// A disk with `disk_ms` per fsync and 1 GB/s, or an instant one for 0.
fn cfg(disk_ms: f64, faults: Vec<FaultSpec>) -> SimConfig {
    let disk = if disk_ms > 0.0 {
        DiskConfig {
            fsync: Latency::Constant { ms: disk_ms },
            throughput_bytes_per_s: Some(1e9),
        }
    } else {
        DiskConfig::default()
    };
    SimConfig {
        duration: SimDuration::from_ms(200),
        disk,
        faults,
        load: sim::LoadConfig {
            clients: 0,
            ..sim::LoadConfig::default()
        },
        ..SimConfig::default()
    }
}

fn run(c: &SimConfig) -> (SimOutput, Vec<Toy>) {
    sim::Sim::new(&Toys, c).run_keep(None)
}

fn crash_second_at(ms: u64, restart_after_ms: u64) -> FaultSpec {
    FaultSpec {
        when: When::At(SimDuration::from_ms(ms)),
        action: Action::Crash { host_alive: false },
        target: Target::Path {
            word: "second",
            arg: None,
        },
        duration: Some(SimDuration::from_ms(restart_after_ms)),
    }
}

#[test]
fn setting_a_timer_replaces_the_pending_one_of_its_key_and_cancel_drops_it() {
    let (_, nodes) = run(&cfg(0.0, vec![]));
    // Tick(1) at 10 ms was replaced by the one at 30 ms; Tick(2) was cancelled.
    assert_eq!(nodes[0].fired, vec![(SimTime(30_000_000), 1)]);
}

#[test]
fn an_instant_disk_makes_a_write_durable_as_the_handler_returns() {
    let (_, nodes) = run(&cfg(0.0, vec![]));
    assert_eq!(
        nodes[0].durable_at,
        vec![(SimTime(40_000_000), 7), (SimTime(41_000_000), 8)]
    );
}

#[test]
fn writes_wait_for_fsync_and_size_and_queue_behind_each_other() {
    let (_, nodes) = run(&cfg(5.0, vec![]));
    // 5 ms fsync + 1 MB at 1 GB/s = 6 ms each; the second waits for the first.
    assert_eq!(
        nodes[0].durable_at,
        vec![(SimTime(46_000_000), 7), (SimTime(52_000_000), 8)]
    );
}

#[test]
fn a_crash_keeps_only_what_was_durable() {
    // Crash node 2 at 50 ms: write 7 (durable at 46 ms) survives, write 8
    // (due at 52 ms) is lost. It restarts at 60 ms from the durable copy, and
    // the new process writes 7 and 8 again at 100 and 101 ms.
    let (out, nodes) = run(&cfg(5.0, vec![crash_second_at(50, 10)]));
    assert_eq!(nodes[1].log, Log(vec![7, 7, 8]));
    assert_eq!(nodes[1].starts, 1, "a recovered node is a fresh process");
    assert_eq!(
        nodes[1].durable_at,
        vec![(SimTime(106_000_000), 7), (SimTime(112_000_000), 8)]
    );
    assert_eq!(nodes[0].log, Log(vec![7, 8]));
    // The model resolved its own word and scope.
    let f = &out.faults[0];
    assert_eq!(
        (f.node, f.scope, f.applied),
        (Some(NodeId(1)), Scope::Part(9), true)
    );
}

#[test]
fn observations_keep_their_scope() {
    let (out, _) = run(&cfg(0.0, vec![]));
    assert!(out.records.iter().all(|r| matches!(
        r.obs,
        Obs::Phase {
            name: "started",
            scope: Scope::Part(3)
        }
    )));
    assert_eq!(out.records.len(), 2);
}

#[test]
fn same_seed_same_trace_hash_with_a_disk() {
    let a = run_trial(&Toys, &cfg(5.0, vec![crash_second_at(50, 10)]), None);
    let b = run_trial(&Toys, &cfg(5.0, vec![crash_second_at(50, 10)]), None);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
}

/// 10,000 toy servers and 100,000 toy clients.
struct Crowd;

impl Model for Crowd {
    type Node = Toy;
    type Checker = NoCheck;

    fn servers(&self) -> usize {
        10_000
    }

    fn build(&self, clients: usize) -> (Vec<Toy>, NoCheck) {
        (vec![Toy::default(); self.servers() + clients], NoCheck)
    }

    fn recover(&self, _: NodeId, durable: &Log) -> Toy {
        Toy {
            log: durable.clone(),
            ..Toy::default()
        }
    }
}

#[test]
fn ten_thousand_servers_and_a_hundred_thousand_clients_cost_memory_per_node_not_per_pair() {
    // Per-pair state would be 110,000² = 1.2e10 entries and abort; per-node
    // state is a few megabytes. Isolating a node and partitioning half the
    // servers from the other half are per-node and per-partition too.
    let half: Vec<usize> = (0..5_000).collect();
    let rest: Vec<usize> = (5_000..10_000).collect();
    let c = SimConfig {
        duration: SimDuration::from_ms(50),
        faults: vec![
            FaultSpec {
                when: When::At(SimDuration::from_ms(1)),
                action: Action::Isolate,
                target: Target::Node(3),
                duration: Some(SimDuration::from_ms(5)),
            },
            FaultSpec {
                when: When::At(SimDuration::from_ms(2)),
                action: Action::Partition {
                    groups: vec![half, rest],
                    one_way: false,
                },
                target: Target::Random,
                duration: Some(SimDuration::from_ms(5)),
            },
        ],
        load: sim::LoadConfig {
            clients: 100_000,
            rate_per_s: 1.0,
            ..sim::LoadConfig::default()
        },
        ..SimConfig::default()
    };
    let (out, nodes) = sim::Sim::new(&Crowd, &c).run_keep(None);
    assert_eq!(nodes.len(), 110_000);
    assert!(out.faults.iter().all(|f| f.applied));
    // Every node fired its one surviving Tick(1) at 30 ms.
    assert!(nodes
        .iter()
        .all(|n| n.fired == vec![(SimTime(30_000_000), 1)]));
}
