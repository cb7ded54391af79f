//! The live runtime's client threads (`load_threads`, `clients.concurrency`):
//! the operations are the simulator's; the per-thread histograms merged
//! agree with `ClientStats`; a closed loop keeps at most its limit in flight.
//! Outcomes only, never timing.

use std::collections::BTreeMap;

use electbench::engine::fault::Target;
use electbench::engine::live::{run_live, LiveConfig};
use electbench::engine::net::Latency;
use electbench::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use electbench::engine::{
    ClientOp, Ctx, Model, NoCheck, Node, NodeId, Obs, Role, Scope, SimDuration, SimTime, Targeting,
    View,
};
use electbench::metrics::nearest_rank;

/// Server 0 answers each request; a client sends each operation to it and
/// records `OpDone` on the answer.
#[derive(Clone, Debug, Default)]
struct Echo {
    pending: Vec<u64>,
}

impl Node for Echo {
    type Msg = ClientOp;
    type Timer = ();
    type Note = ();
    type Durable = ();

    fn on_start(&mut self, _: &mut Ctx<'_, Self>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, op: ClientOp) {
        if ctx.me() == NodeId(0) {
            ctx.send(from, op);
            return;
        }
        if let Some(k) = self.pending.iter().position(|p| *p == op.id) {
            self.pending.swap_remove(k);
            ctx.record(Obs::OpDone { op, ok: true });
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, Self>, _: ()) {}

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        self.pending.push(op.id);
        ctx.send(NodeId(0), op);
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

struct EchoModel;

impl Model for EchoModel {
    type Node = Echo;
    type Checker = NoCheck;

    fn servers(&self) -> usize {
        1
    }

    fn build(&self, clients: usize) -> (Vec<Echo>, NoCheck) {
        (vec![Echo::default(); 1 + clients], NoCheck)
    }

    fn recover(&self, _: NodeId, _: &()) -> Echo {
        Echo::default()
    }

    fn resolve(&self, target: &Target, t: &mut Targeting<'_, Echo>) -> Option<(usize, Scope)> {
        t.common(target).map(|i| (i, Scope::Whole))
    }
}

fn cfg(clients: usize, rate_per_s: f64, concurrency: Option<u32>, latency_ms: f64) -> SimConfig {
    let mut c = SimConfig {
        seed: 11,
        duration: SimDuration::from_ms(400),
        load: LoadConfig {
            clients,
            rate_per_s,
            read_ratio: 0.3,
            poisson: true,
            warmup: SimDuration::from_ms(50),
            concurrency,
            ..LoadConfig::default()
        },
        record_ops: true,
        ..SimConfig::default()
    };
    c.net.latency = Latency::Constant { ms: latency_ms };
    c
}

fn live(load_threads: usize) -> LiveConfig {
    LiveConfig {
        workers: 2,
        load_threads,
        ..LiveConfig::default()
    }
}

fn ops(out: &SimOutput) -> Vec<(SimTime, ClientOp)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::OpDone { op, ok: true } => Some((r.at, op)),
            _ => None,
        })
        .collect()
}

/// Every operation a live run finished is the simulator's operation of the
/// same id: same intended time, same kind (same streams, same phase draw,
/// same draws per operation), whatever the number of client threads.
#[test]
fn live_client_threads_issue_the_simulators_operations() {
    let c = cfg(6, 500.0, None, 0.5);
    let sim: BTreeMap<u64, ClientOp> = ops(&run_trial(&EchoModel, &c, None))
        .into_iter()
        .map(|(_, op)| (op.id, op))
        .collect();
    for k in [1, 2, 4] {
        let (out, stats) = run_live(&EchoModel, &c, &live(k), None);
        assert_eq!(stats.load.threads, k);
        let done = ops(&out);
        assert!(done.len() > 300, "{k} threads: {} ops", done.len());
        for (_, op) in done {
            // The last few of the live run may be past the simulator's end.
            if let Some(s) = sim.get(&op.id) {
                assert_eq!(*s, op, "{k} threads");
            } else {
                assert!(op.issued.0 > 390_000_000, "{op:?} unknown to sim");
            }
        }
    }
}

/// The client threads' histograms, merged, count the successful measured
/// operations `ClientStats` counts, and their p50 is `ClientStats`'s exact
/// p50 within the histogram's precision.
#[test]
fn the_merged_client_histograms_agree_with_client_stats() {
    for k in [1, 3] {
        let c = cfg(7, 400.0, None, 0.2);
        let (out, stats) = run_live(&EchoModel, &c, &live(k), None);
        let h = stats.load.latency_us.expect("clients ran");
        let mut all: Vec<u64> = out.clients.write_latencies_us.clone();
        all.extend(&out.clients.read_latencies_us);
        assert!(all.len() > 300, "{}", all.len());
        assert_eq!(h.len(), all.len() as u64, "{k} threads");
        let p50 = nearest_rank(&mut all, &[0.5])[0].expect("ops");
        assert!(
            h.equivalent(h.value_at_quantile(0.5), p50),
            "{k} threads: histogram p50 {} vs exact {p50}",
            h.value_at_quantile(0.5)
        );
        assert!(stats.load.offered >= h.len());
        assert!(stats.load.behind_max >= 1);
    }
}

/// A pure closed loop (no rate, `concurrency = 3`) on 2 client threads
/// keeps at most 3 operations of a client in flight: counting each
/// operation from its intended time (at or before it was sent) to its
/// `OpDone`, no client ever has more than 3; and the loop keeps going.
#[test]
fn a_live_closed_loop_keeps_at_most_its_limit_in_flight() {
    for (rate, limit) in [(0.0, 3), (2_000.0, 2)] {
        let c = cfg(4, rate, Some(limit), 0.1);
        let (out, stats) = run_live(&EchoModel, &c, &live(2), None);
        let done = ops(&out);
        assert!(done.len() > 200, "{rate}/s: {} ops", done.len());
        let mut events: BTreeMap<u64, Vec<(SimTime, i32)>> = BTreeMap::new();
        for (at, op) in &done {
            let e = events.entry(op.id >> 40).or_default();
            e.push((op.issued, 1));
            e.push((*at, -1));
        }
        if rate == 0.0 {
            // Intended at a completion of the same client (or the start).
            for (client, e) in &events {
                let ends: Vec<SimTime> = e.iter().filter(|x| x.1 < 0).map(|x| x.0).collect();
                for (t, d) in e {
                    if *d > 0 {
                        assert!(
                            *t == SimTime::ZERO || ends.contains(t),
                            "client {client}: op intended at {t}, not at a completion"
                        );
                    }
                }
            }
            for (client, mut e) in events {
                // A completion before a start at the same instant.
                e.sort();
                let mut n = 0;
                for (_, d) in e {
                    n += d;
                    assert!(n <= limit as i32, "client {client}: {n} in flight");
                }
            }
        }
        assert_eq!(stats.load.threads, 2);
        assert!(stats.load.offered >= done.len() as u64);
        // With a rate the limit holds the same way, from the client's side:
        // offered never runs more than `limit` ahead of what finished.
        assert!(stats.load.offered <= done.len() as u64 + 4 * u64::from(limit));
    }
}
