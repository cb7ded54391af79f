//! Benchmarks of the simulator engine itself, with no protocol in the way.
//!
//! * `event_queue/{1000,100000}`: one pop plus one push on a [`BareQueue`] held
//!   at a steady size; the time per iteration is the cost of one push+pop pair.
//! * `message_delivery/<nodes>n_<in_flight>k`: one whole simulated trial of a
//!   ring of nodes that forward every message they receive to the next node,
//!   with `in_flight` messages circulating, constant 0.1 ms latency, no
//!   clients and no faults. Throughput is messages per trial
//!   (`SimOutput::messages`), so criterion reports the single-core delivery
//!   rate in messages per second.
//! * `heartbeat/<nodes>`: the shape of a steady ZooKeeper ensemble with no
//!   protocol behind it: every node first greets every other (as an
//!   election does, so each node holds a link to each), then node 0 pings
//!   every other node each 50 ms and each answers, for 30 s simulated, with
//!   the default log-normal latency. Throughput is events per trial, so the
//!   rates at 5 and 255 nodes show how the engine's cost per event grows
//!   with the node count (a bigger event heap, more per-node state).
//!
//! Run on a quiet machine, e.g.
//! `cargo bench --bench engine -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use electbench::engine::net::{Latency, NetConfig};
use electbench::engine::sim::{run_trial, BareQueue, LoadConfig, SimConfig};
use electbench::engine::{
    Checker, Ctx, Findings, Model, Node, NodeId, Obs, Role, SimDuration, SimTime, View,
};

/// Marsaglia's xorshift64: cheap enough not to show up next to a heap
/// operation, and fixed, so every run pushes the same times.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Pushed times lie up to this far after the popped one (1 ms, in ns), about
/// the spread of network latencies and short timers in a real trial.
const SPREAD_NS: u64 = 1_000_000;

fn event_queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_queue");
    for size in [1_000usize, 100_000] {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut q = BareQueue::default();
        for i in 0..size {
            q.push(SimTime(rng.next() % SPREAD_NS), i as u64);
        }
        group.throughput(Throughput::Elements(1));
        // The queue lives outside the routine, so criterion's repeated calls
        // (warm-up, each sample) keep working on one queue at steady state
        // instead of paying for a refill each time.
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                let (at, payload) = q.pop().expect("queue is kept at a steady size");
                q.push(SimTime(at.0 + rng.next() % SPREAD_NS), payload);
                black_box(at)
            })
        });
        assert_eq!(q.len(), size, "every pop was matched by a push");
    }
    group.finish();
}

/// A ring node: it forwards every message it receives, incremented, to the
/// next node of the ring.
struct Relay {
    n: u32,
    /// Messages this node injects when it starts.
    initial: u32,
}

impl Node for Relay {
    type Msg = u64;
    type Timer = ();
    type Note = ();
    type Durable = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let next = NodeId((ctx.me().0 + 1) % self.n);
        for _ in 0..self.initial {
            ctx.send(next, 0);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, msg: u64) {
        let next = NodeId((ctx.me().0 + 1) % self.n);
        ctx.send(next, msg + 1);
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Self>, _timer: ()) {}

    fn view(&self) -> View {
        View {
            role: Role::Follower,
            term: 0,
            leader: None,
            serving: false,
        }
    }
}

/// Checks nothing: the benchmark times the engine, not a checker.
struct NoChecker;

impl<N: Node<Note = ()>> Checker<N> for NoChecker {
    fn on_record(&mut self, _: SimTime, _: NodeId, _: &Obs<()>, _: &[N]) -> Option<String> {
        None
    }

    fn finish(&mut self, _: &[N], _: &[bool]) -> Findings {
        Findings::default()
    }
}

/// `nodes` relays with `in_flight` messages spread over them.
struct Ring {
    nodes: u32,
    in_flight: u32,
}

impl Model for Ring {
    type Node = Relay;
    type Checker = NoChecker;

    fn servers(&self) -> usize {
        self.nodes as usize
    }

    fn build(&self, clients: usize) -> (Vec<Relay>, NoChecker) {
        assert_eq!(clients, 0, "the ring has no clients");
        let nodes = (0..self.nodes)
            .map(|i| Relay {
                n: self.nodes,
                initial: self.in_flight / self.nodes + u32::from(i < self.in_flight % self.nodes),
            })
            .collect();
        (nodes, NoChecker)
    }

    fn recover(&self, _id: NodeId, _durable: &()) -> Relay {
        unreachable!("the ring is never faulted")
    }
}

/// One network hop, in ms.
const HOP_MS: f64 = 0.1;
/// Simulated length of one trial: 1000 hops of every message.
const TRIAL_MS: u64 = 100;

fn message_delivery(c: &mut Criterion) {
    let cfg = SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(TRIAL_MS),
        net: NetConfig {
            latency: Latency::Constant { ms: HOP_MS },
            ..Default::default()
        },
        faults: Vec::new(),
        load: LoadConfig {
            clients: 0,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let mut group = c.benchmark_group("message_delivery");
    for (nodes, in_flight) in [(2u32, 16u32), (8, 64), (8, 256)] {
        let ring = Ring { nodes, in_flight };
        // Every message is sent at t = 0 and then once per hop up to and
        // including the trial's end; the last round is sent but not delivered.
        let hops = (TRIAL_MS as f64 / HOP_MS).round() as u64;
        let out = run_trial(&ring, &cfg, None);
        assert_eq!(out.messages, u64::from(in_flight) * (hops + 1));
        assert_eq!(out.events, u64::from(in_flight) * hops);
        group.throughput(Throughput::Elements(out.messages));
        group.bench_function(
            BenchmarkId::from_parameter(format!("{nodes}n_{in_flight}k")),
            |b| b.iter(|| black_box(run_trial(&ring, &cfg, None).messages)),
        );
    }
    group.finish();
}

/// Heartbeat messages.
const HELLO: u8 = 0;
const PING: u8 = 1;
const PONG: u8 = 2;

/// Node 0 pings every other node each [`BEAT_MS`]; the others answer.
struct Beat {
    n: u32,
}

const BEAT_MS: u64 = 50;
/// Simulated length of one heartbeat trial.
const HEARTBEAT_MS: u64 = 30_000;

impl Node for Beat {
    type Msg = u8;
    type Timer = ();
    type Note = ();
    type Durable = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let me = ctx.me().0;
        for peer in (0..self.n).filter(|&p| p != me) {
            ctx.send(NodeId(peer), HELLO);
        }
        if me == 0 {
            ctx.set_timer(SimDuration::from_ms(BEAT_MS), ());
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: u8) {
        if msg == PING {
            ctx.send(from, PONG);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _timer: ()) {
        for peer in 1..self.n {
            ctx.send(NodeId(peer), PING);
        }
        ctx.set_timer(SimDuration::from_ms(BEAT_MS), ());
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

/// `nodes` heartbeat nodes.
struct Ensemble {
    nodes: u32,
}

impl Model for Ensemble {
    type Node = Beat;
    type Checker = NoChecker;

    fn servers(&self) -> usize {
        self.nodes as usize
    }

    fn build(&self, clients: usize) -> (Vec<Beat>, NoChecker) {
        assert_eq!(clients, 0, "the ensemble has no clients");
        let nodes = (0..self.nodes).map(|_| Beat { n: self.nodes }).collect();
        (nodes, NoChecker)
    }

    fn recover(&self, _id: NodeId, _durable: &()) -> Beat {
        unreachable!("the ensemble is never faulted")
    }
}

fn heartbeat(c: &mut Criterion) {
    let cfg = SimConfig {
        seed: 1,
        duration: SimDuration::from_ms(HEARTBEAT_MS),
        net: NetConfig::default(),
        faults: Vec::new(),
        load: LoadConfig {
            clients: 0,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let mut group = c.benchmark_group("heartbeat");
    for nodes in [5u32, 25, 100, 255] {
        let model = Ensemble { nodes };
        let out = run_trial(&model, &cfg, None);
        let n = u64::from(nodes);
        let beats = HEARTBEAT_MS / BEAT_MS;
        // Greetings, then per beat a timer, n-1 pings and n-1 pongs (the last
        // beat's may fall after the end).
        assert!(out.events >= n * (n - 1) + (beats - 1) * (2 * n - 1));
        assert!(out.events <= n * (n - 1) + beats * (2 * n - 1));
        group.throughput(Throughput::Elements(out.events));
        group.bench_function(BenchmarkId::from_parameter(nodes), |b| {
            b.iter(|| black_box(run_trial(&model, &cfg, None).events))
        });
    }
    group.finish();
}

criterion_group!(benches, event_queue, message_delivery, heartbeat);
criterion_main!(benches);
