//! Benchmarks of the live runtime's primitives (issue 13, part 5), on real
//! threads and the monotonic clock.
//!
//! * `queue_ceiling/one_way`: a bare crossbeam `ArrayQueue` (capacity
//!   [`CAPACITY`]) between one producer thread and one consumer thread,
//!   nothing else on the path; items/s: what two cores move through a queue
//!   at all.
//! * `queue_ceiling/ping_pong`: **the raw queue ceiling** as issue 13 names it
//!   ("a bare crossbeam queue round trip"): the same queue, one item bounced
//!   between two threads through two queues; round trips/s (the floor of one
//!   message's hop from one worker to another and back, with no scheduler in
//!   between). Live throughput figures are quoted as ratios to both, measured
//!   in the same run (`benches/runtimes.rs` runs the same code,
//!   `benches/common/queue.rs`, next to its live throughputs and prints the
//!   ratios).
//! * `mailbox/{lock_free,mutex}/<producers>`: the live runtime's [`Mailbox`]
//!   of each kind (capacity [`CAPACITY`]) with 1, 2, 4 and 8 producer
//!   threads and one consumer (the bench's own thread); items/s. A refused
//!   push is retried (crossbeam's `Backoff`), as a sender holding a refused
//!   message would. On a 2-core machine 4 and 8 producers oversubscribe the
//!   cores, so those rows measure contention plus preemption, not only
//!   contention.
//! * `mailbox_pairs/<producers>` (printed after criterion's benches, not a
//!   criterion bench): the same two mailboxes in 21 alternating rounds of
//!   2,000,000 items each (lock-free first in even rounds, mutex first in
//!   odd), so both kinds see the same machine state; it prints each kind's
//!   median items/s and the median of the per-round ratios, the figure to
//!   quote for "lock-free against mutex" on a machine whose speed drifts
//!   between criterion's back-to-back groups. It runs unless the command
//!   line's filter names something that does not contain `mailbox`.
//! * `timers/throughput/{heap_park,tokio}`: 10,000 timers, all due at once,
//!   set and fired: a `BinaryHeap` timer queue driven by one OS thread (the
//!   live runtime's per-worker design), against one tokio task per timer
//!   doing `tokio::time::sleep_until` on a current-thread runtime; timers/s.
//! * `timers/lateness/{heap_park,tokio}`: 1,000 timers spread evenly over
//!   20 ms; the heap thread sleeps with `thread::park_timeout` until the next
//!   deadline. Criterion's "time" here is the **mean wake-up lateness** per
//!   timer (fire time minus deadline); p50 and p99 over every timer fired in
//!   the bench come from an HdrHistogram and are printed as
//!   `timers/lateness/<kind>: p50 = … µs, p99 = … µs`.
//!
//! Run: `cargo bench --bench live` (about a minute: `sample_size(10)`, 1 s
//! warm-up, 2 s measurement per bench). These are wall-clock figures on a
//! shared machine: quote the load with them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use crossbeam::utils::Backoff;
use electbench::engine::live::mailbox::{Mailbox, MailboxKind};
use electbench::results::stats::median;
use hdrhistogram::Histogram;
use queue::CAPACITY;

/// `queue_ceiling/one_way` and the queue helpers, shared with `benches/runtimes.rs`.
#[path = "common/queue.rs"]
mod queue;

#[allow(clippy::disallowed_methods)] // a wall-clock bench: Instant::now is the point
fn queue_ceiling(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_ceiling");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_way", |b| b.iter_custom(queue::one_way));
    group.bench_function("ping_pong", |b| b.iter_custom(queue::ping_pong));
    group.finish();
}

/// Push `iters` items through a [`Mailbox`] of `kind` from `producers`
/// threads to the calling thread (producer `p` sends `p`, `p + producers`,
/// ...); the consumer's wall time from the moment all are ready to its last
/// pop. A refused push is retried with backoff.
#[allow(clippy::disallowed_methods)] // a wall-clock bench: Instant::now is the point
fn mailbox_run(kind: MailboxKind, producers: u64, iters: u64) -> Duration {
    let m = Mailbox::<u64>::new(kind, CAPACITY);
    let start = Barrier::new(producers as usize + 1);
    thread::scope(|s| {
        for p in 0..producers {
            let (m, start) = (&m, &start);
            s.spawn(move || {
                start.wait();
                let backoff = Backoff::new();
                let mut i = p;
                while i < iters {
                    match m.push(i) {
                        Ok(()) => {
                            i += producers;
                            backoff.reset();
                        }
                        Err(_) => backoff.snooze(),
                    }
                }
            });
        }
        start.wait();
        let t0 = Instant::now();
        let backoff = Backoff::new();
        let (mut got, mut sum) = (0u64, 0u64);
        while got < iters {
            match m.pop() {
                Some(x) => {
                    got += 1;
                    sum = sum.wrapping_add(x);
                    backoff.reset();
                }
                None => backoff.snooze(),
            }
        }
        let elapsed = t0.elapsed();
        black_box(sum);
        elapsed
    })
}

const PRODUCERS: [u64; 4] = [1, 2, 4, 8];

fn mailbox(c: &mut Criterion) {
    let mut group = c.benchmark_group("mailbox");
    group.throughput(Throughput::Elements(1));
    for (name, kind) in [
        ("lock_free", MailboxKind::LockFree),
        ("mutex", MailboxKind::Mutex),
    ] {
        for producers in PRODUCERS {
            group.bench_with_input(
                BenchmarkId::new(name, producers),
                &producers,
                |b, &producers| b.iter_custom(|iters| mailbox_run(kind, producers, iters)),
            );
        }
    }
    group.finish();
}

/// Rounds of [`mailbox_pairs`] per producer count.
const PAIR_ROUNDS: usize = 21;
/// Items each kind moves per round.
const PAIR_ITEMS: u64 = 2_000_000;

/// `mailbox_pairs/<producers>`: the lock-free mailbox against the mutex one
/// in alternating pairs (each round runs both kinds, the order swapped every
/// round), so both see the same machine; prints each kind's median and the
/// median of the per-round ratios.
fn mailbox_pairs() {
    for producers in PRODUCERS {
        let (mut lock_free, mut mutex, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..PAIR_ROUNDS {
            let mut order = [MailboxKind::LockFree, MailboxKind::Mutex];
            if round % 2 == 1 {
                order.reverse();
            }
            let mut rate = [0.0; 2];
            for kind in order {
                let r = PAIR_ITEMS as f64 / mailbox_run(kind, producers, PAIR_ITEMS).as_secs_f64();
                rate[usize::from(kind == MailboxKind::Mutex)] = r;
            }
            lock_free.push(rate[0]);
            mutex.push(rate[1]);
            ratio.push(rate[0] / rate[1]);
        }
        let (lo, hi) = (
            ratio.iter().copied().fold(f64::INFINITY, f64::min),
            ratio.iter().copied().fold(0.0, f64::max),
        );
        let m = |v: &[f64]| median(v).expect("PAIR_ROUNDS > 0");
        eprintln!(
            "mailbox_pairs/{producers}: lock_free {:.3e} items/s, mutex {:.3e} items/s, \
             lock_free/mutex {:.2}x (medians of {PAIR_ROUNDS} alternating rounds of {PAIR_ITEMS} \
             items; ratios {lo:.2}-{hi:.2})",
            m(&lock_free),
            m(&mutex),
            m(&ratio),
        );
    }
}

/// Timers all due at once (throughput).
const TIMERS_DUE: u64 = 10_000;
/// Timers spread over [`SPREAD`] (lateness).
const TIMERS_SPREAD: u64 = 1_000;
const SPREAD: Duration = Duration::from_millis(20);

/// One worker thread's timer queue: pops each timer whose deadline has
/// passed, parks until the next otherwise. Returns the lateness of each
/// timer in nanoseconds, in firing order.
#[allow(clippy::disallowed_methods)] // the live runtime's clock
fn heap_park(deadlines: &[Instant]) -> Vec<u64> {
    let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = deadlines
        .iter()
        .enumerate()
        .map(|(i, &d)| Reverse((d, i)))
        .collect();
    let mut late = Vec::with_capacity(deadlines.len());
    while let Some(&Reverse((deadline, _))) = heap.peek() {
        let now = Instant::now();
        if now >= deadline {
            heap.pop();
            late.push((now - deadline).as_nanos() as u64);
        } else {
            thread::park_timeout(deadline - now);
        }
    }
    late
}

/// The same timers as one tokio task each on a current-thread runtime.
#[allow(clippy::disallowed_methods)] // the live runtime's clock
fn tokio_sleep(rt: &tokio::runtime::Runtime, deadlines: &[Instant]) -> Vec<u64> {
    rt.block_on(async {
        let tasks: Vec<_> = deadlines
            .iter()
            .map(|&d| {
                tokio::spawn(async move {
                    tokio::time::sleep_until(d.into()).await;
                    (Instant::now() - d).as_nanos() as u64
                })
            })
            .collect();
        let mut late = Vec::with_capacity(tasks.len());
        for t in tasks {
            late.push(t.await.expect("timer task panicked"));
        }
        late
    })
}

#[allow(clippy::disallowed_methods)] // a wall-clock bench: Instant::now is the point
fn timers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread tokio runtime");
    type Driver<'a> = Box<dyn Fn(&[Instant]) -> Vec<u64> + 'a>;
    let drivers: [(&str, Driver); 2] = [
        ("heap_park", Box::new(heap_park)),
        ("tokio", Box::new(|d: &[Instant]| tokio_sleep(&rt, d))),
    ];

    let mut group = c.benchmark_group("timers");
    group.throughput(Throughput::Elements(TIMERS_DUE));
    for (name, drive) in &drivers {
        group.bench_function(BenchmarkId::new("throughput", name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let deadlines = vec![t0; TIMERS_DUE as usize];
                    black_box(drive(&deadlines));
                    total += t0.elapsed();
                }
                total
            })
        });
    }
    // Criterion's time per element here is the mean lateness of one timer.
    group.throughput(Throughput::Elements(1));
    for (name, drive) in &drivers {
        let mut hist = Histogram::<u64>::new(3).expect("3 significant digits");
        group.bench_function(BenchmarkId::new("lateness", name), |b| {
            b.iter_custom(|iters| {
                let mut mean_late_ns = 0u64;
                for _ in 0..iters {
                    let t0 = Instant::now() + Duration::from_millis(1);
                    let step = SPREAD / TIMERS_SPREAD as u32;
                    let deadlines: Vec<_> =
                        (0..TIMERS_SPREAD as u32).map(|i| t0 + step * i).collect();
                    let late = drive(&deadlines);
                    for &l in &late {
                        hist.record(l.max(1)).expect("auto-resizing histogram");
                    }
                    mean_late_ns += late.iter().sum::<u64>() / late.len() as u64;
                }
                Duration::from_nanos(mean_late_ns)
            })
        });
        println!(
            "timers/lateness/{name}: p50 = {:.1} µs, p99 = {:.1} µs, max = {:.1} µs over {} timers",
            hist.value_at_quantile(0.5) as f64 / 1e3,
            hist.value_at_quantile(0.99) as f64 / 1e3,
            hist.max() as f64 / 1e3,
            hist.len()
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = queue_ceiling, mailbox, timers
}

fn main() {
    benches();
    // The paired comparison runs unless a filter names something else.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.as_deref().is_none_or(|f| f.contains("mailbox")) {
        mailbox_pairs();
    }
    Criterion::default().configure_from_args().final_summary();
}
