//! The raw queue ceiling, shared by `benches/live.rs` and
//! `benches/runtimes.rs` (each includes this file with `#[path]`), so both
//! quote their live throughput against the same code: bare crossbeam
//! `ArrayQueue`s of [`CAPACITY`] between two threads, nothing else on the
//! path. [`one_way`] streams items from one thread to the other (items/s);
//! [`ping_pong`] bounces one item between them through two queues (round
//! trips/s), the ceiling issue 13 names ("a bare crossbeam queue round
//! trip").

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::queue::ArrayQueue;
use crossbeam::utils::Backoff;

/// Queue and mailbox capacity in every bench (items).
pub const CAPACITY: usize = 1024;

/// Push `item`, retrying with backoff while the queue is full.
pub fn push_retry<T>(q: &ArrayQueue<T>, mut item: T) {
    let backoff = Backoff::new();
    while let Err(back) = q.push(item) {
        item = back;
        backoff.snooze();
    }
}

/// Pop one item, waiting with backoff while the queue is empty.
pub fn pop_wait<T>(q: &ArrayQueue<T>) -> T {
    let backoff = Backoff::new();
    loop {
        if let Some(x) = q.pop() {
            return x;
        }
        backoff.snooze();
    }
}

/// `queue_ceiling/one_way`: `iters` items pushed by a producer thread and
/// popped by the calling thread; the consumer's wall time from the moment
/// both are ready to its last pop.
#[allow(clippy::disallowed_methods)] // a wall-clock bench: Instant::now is the point
pub fn one_way(iters: u64) -> Duration {
    let q = ArrayQueue::<u64>::new(CAPACITY);
    let start = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            start.wait();
            for i in 0..iters {
                push_retry(&q, i);
            }
        });
        start.wait();
        let t0 = Instant::now();
        let mut sum = 0u64;
        for _ in 0..iters {
            sum = sum.wrapping_add(pop_wait(&q));
        }
        let elapsed = t0.elapsed();
        black_box(sum);
        elapsed
    })
}

/// `queue_ceiling/ping_pong`: one item bounced `iters` times between the
/// calling thread and a second thread, through a queue each way; the
/// caller's wall time from the moment both are ready to the last return.
#[allow(clippy::disallowed_methods)] // a wall-clock bench: Instant::now is the point
pub fn ping_pong(iters: u64) -> Duration {
    let (there, back) = (
        ArrayQueue::<u64>::new(CAPACITY),
        ArrayQueue::<u64>::new(CAPACITY),
    );
    let start = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            start.wait();
            for _ in 0..iters {
                let x = pop_wait(&there);
                push_retry(&back, x + 1);
            }
        });
        start.wait();
        let t0 = Instant::now();
        let mut x = 0;
        for _ in 0..iters {
            push_retry(&there, x);
            x = pop_wait(&back);
        }
        let elapsed = t0.elapsed();
        assert_eq!(x, iters, "every round trip came back once");
        elapsed
    })
}
