//! The closed loop (`clients.concurrency`) in `sim`, on a toy model: one
//! server that answers each request, one client that sends each operation
//! to it and records `OpDone` on the answer, 1 ms each way.

use super::fault::{Action, FaultSpec, Target};
use super::net::Latency;
use super::sim::{self, LoadConfig, Sim, SimConfig, CLOSED_LOOP_FAIL_PAUSE};
use super::*;

#[derive(Clone, Debug, Default)]
struct Echo {
    /// Client: operations sent and not answered.
    pending: Vec<ClientOp>,
    /// Client: (send time, operation) of every operation it was handed.
    sent: Vec<(SimTime, ClientOp)>,
    /// Client: most operations in flight at once.
    max_pending: usize,
}

impl Node for Echo {
    type Msg = ClientOp;
    type Timer = ();
    type Note = ();
    type Durable = ();

    fn on_start(&mut self, _: &mut Ctx<'_, Self>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, op: ClientOp) {
        if ctx.me() == NodeId(0) {
            ctx.send(from, op); // the server answers
            return;
        }
        if let Some(k) = self.pending.iter().position(|p| p.id == op.id) {
            self.pending.remove(k);
            ctx.record(Obs::OpDone { op, ok: true });
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, Self>, _: ()) {}

    fn on_client(&mut self, ctx: &mut Ctx<'_, Self>, op: ClientOp) {
        self.pending.push(op);
        self.max_pending = self.max_pending.max(self.pending.len());
        self.sent.push((ctx.now(), op));
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
        match target {
            Target::Path { word: "client", .. } => Some((1, Scope::Whole)),
            other => t.common(other).map(|i| (i, Scope::Whole)),
        }
    }
}

fn ms(x: u64) -> SimTime {
    SimTime(x * 1_000_000)
}

/// One client against the echo server for 300 ms, 1 ms each way; the server
/// paused from 100 ms to 150 ms when `stall`.
fn cfg(rate_per_s: f64, concurrency: Option<u32>, stall: bool) -> SimConfig {
    let mut c = SimConfig {
        seed: 3,
        duration: SimDuration::from_ms(300),
        load: LoadConfig {
            clients: 1,
            rate_per_s,
            concurrency,
            ..LoadConfig::default()
        },
        record_ops: true,
        ..SimConfig::default()
    };
    c.net.latency = Latency::Constant { ms: 1.0 };
    if stall {
        c.faults = vec![FaultSpec::at(100, Action::Pause, Target::Node(0), Some(50))];
    }
    c
}

/// (finish time, operation) of every `OpDone`.
fn done(out: &sim::SimOutput) -> Vec<(SimTime, ClientOp)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::OpDone { op, ok: true } => Some((r.at, op)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_stalled_closed_loop_client_sends_nothing_until_its_operation_finishes_and_counts_from_the_intended_time(
) {
    let c = cfg(100.0, Some(1), true);
    let (out, nodes) = Sim::new(&EchoModel, &c).run_keep(None);
    let client = &nodes[1];
    assert_eq!(client.max_pending, 1, "never two operations in flight");
    let done = done(&out);
    // Every operation is sent only once the one before it has finished.
    for (k, (sent_at, op)) in client.sent.iter().enumerate().skip(1) {
        let (prev_done, prev) = done[k - 1];
        assert_eq!(prev.id, client.sent[k - 1].1.id);
        assert!(
            *sent_at >= prev_done,
            "op {} sent before op {} finished",
            op.id,
            prev.id
        );
    }
    // Intended times stay on the open-loop schedule: every 10 ms.
    let first = client.sent[0].1.issued;
    for (_, op) in &client.sent {
        assert_eq!(op.issued.since(first).0 % 10_000_000, 0, "{op:?}");
    }
    // The operation caught by the pause finishes at 150 + 1 ms; the next
    // one, intended during the pause, waited for it and is sent then; the
    // waiting ones go back to back, each counted from its intended time.
    let stalled = done
        .iter()
        .position(|(at, _)| *at >= ms(150))
        .expect("one after the pause");
    assert_eq!(done[stalled].0, ms(151));
    let (at, next) = done[stalled + 1];
    assert_eq!(
        client.sent[stalled + 1].0,
        ms(151),
        "sent at the completion"
    );
    assert_eq!(at, ms(153));
    assert!(next.issued > done[stalled].1.issued && next.issued < ms(150));
    assert!(at.since(next.issued) > SimDuration::from_ms(3));
    // The latencies ClientStats keeps are the records', from the intended time.
    let from_records: Vec<u64> = done
        .iter()
        .map(|(at, op)| at.since(op.issued).0 / 1_000)
        .collect();
    assert_eq!(out.clients.write_latencies_us, from_records);
    assert!(
        from_records.iter().any(|&l| l >= 41_000),
        "{from_records:?}"
    );
    // Nothing intended was dropped: one operation per 10 ms, all sent, all
    // but at most the last one finished.
    assert!(client.sent.len() >= 29, "{}", client.sent.len());
    assert!(client.sent.len() as u64 - out.clients.writes_ok <= 1);
}

#[test]
fn open_loop_without_concurrency_sends_through_the_stall() {
    let c = cfg(100.0, None, true);
    let (_, nodes) = Sim::new(&EchoModel, &c).run_keep(None);
    // Five operations intended during the pause are in flight at once.
    assert!(nodes[1].max_pending >= 4, "{}", nodes[1].max_pending);
}

#[test]
fn a_pure_closed_loop_sends_back_to_back() {
    for limit in [1, 3] {
        let c = cfg(0.0, Some(limit), false);
        let (out, nodes) = Sim::new(&EchoModel, &c).run_keep(None);
        let client = &nodes[1];
        assert_eq!(client.max_pending, limit as usize);
        let done = done(&out);
        // `limit` at the start, then each one intended (and sent) at a
        // completion: a 2 ms round trip, so 150 rounds in 300 ms.
        assert_eq!(done.len(), 150 * limit as usize);
        for (k, (sent_at, op)) in client.sent.iter().enumerate() {
            assert_eq!(*sent_at, op.issued);
            if k >= limit as usize {
                assert_eq!(op.issued, done[k - limit as usize].0);
            }
        }
        assert!(out.clients.write_latencies_us.iter().all(|&l| l == 2_000));
    }
}

#[test]
fn a_pure_closed_loop_client_that_crashed_sends_again_within_the_fail_pause_of_its_restart() {
    // The client's process dies at 100 ms with its operations in flight and
    // is back at 150 ms: its slots are given back, it polls every pause
    // while down, and sends again at most one pause after the restart.
    let mut c = cfg(0.0, Some(2), false);
    let client = Target::Path {
        word: "client",
        arg: None,
    };
    c.faults = vec![FaultSpec::at(
        100,
        Action::Crash { host_alive: false },
        client,
        Some(50),
    )];
    let (out, nodes) = Sim::new(&EchoModel, &c).run_keep(None);
    // The rebuilt client saw only what it was sent after the restart.
    let after = &nodes[1].sent;
    assert!(after[0].0 >= ms(150));
    assert!(after[0].0 <= ms(150) + CLOSED_LOOP_FAIL_PAUSE);
    assert_eq!(nodes[1].max_pending, 2);
    // Back to back again after it: 2 in flight, 2 ms each.
    let done = done(&out);
    assert!(done.iter().filter(|(at, _)| *at > ms(160)).count() >= 2 * 60);
}

#[test]
fn a_pure_closed_loop_whose_operations_take_no_time_waits_the_pause_instead_of_spinning() {
    // No network latency and a server that answers at once: every operation
    // finishes at the instant it was sent; the next one follows 1 ms later.
    let mut c = cfg(0.0, Some(2), false);
    c.net.latency = Latency::Constant { ms: 0.0 };
    let (out, nodes) = Sim::new(&EchoModel, &c).run_keep(None);
    assert_eq!(out.clients.writes_ok, 2 * 301);
    for (k, (at, _)) in nodes[1].sent.iter().enumerate() {
        assert_eq!(*at, ms(k as u64 / 2));
    }
}

#[test]
fn open_loop_results_are_unchanged_by_the_closed_loop_code() {
    // No concurrency: the same operations at the same times as the open
    // loop always sent (one per 10 ms from the phase draw).
    let c = cfg(100.0, None, false);
    let (out, nodes) = Sim::new(&EchoModel, &c).run_keep(None);
    let first = nodes[1].sent[0].0;
    assert!(first < ms(10));
    assert!(nodes[1].sent.len() - out.clients.writes_ok as usize <= 1);
    for (k, (at, op)) in nodes[1].sent.iter().enumerate() {
        assert_eq!(*at, first + SimDuration::from_ms(10 * k as u64));
        assert_eq!(op.issued, *at);
    }
}
