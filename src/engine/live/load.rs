//! The live runtime's client threads: the multithreaded load generator.
//!
//! `load_threads` threads (default 1) share the client nodes: client `c`
//! belongs to thread `c % load_threads`. Each thread keeps its clients'
//! next intended send times in its own heap, sleeps until the earliest
//! (`park_timeout`; when it has completions to act on, the workers wake it
//! once per [`Load::wake_every`] completions or when they run out of work,
//! [`Load::flush`], not per completion; in a closed loop it first looks for
//! completions for up to [`LOAD_SPIN_NS`], yielding its core), stamps each
//! operation's `issued` with its **intended** time and pushes it into the
//! client node's mailbox. A push a full mailbox refuses is kept, in order
//! per client, and retried every 50 µs (each refusal counts in
//! `mailbox_full`); an operation is never dropped by the generator.
//!
//! The operations are the ones `sim` issues: the same
//! [`LoadConfig::next_op`] draws from the same `rng::stream(seed, "load", c)`
//! streams, after the same phase draw.
//!
//! # Completions and the histograms
//!
//! A worker that runs a client's handler hands every `Obs::OpDone` it
//! records (operation, time, ok) to the owning thread through that thread's
//! lock-free queue ([`SegQueue`]); a client operation its node could not
//! take (down or paused) is handed back the same way, so a closed-loop slot
//! is given back. Each thread records, for its own clients' successful
//! operations that finished at or after the measurement start (`start_ms +
//! warmup_ms`), the latency from the intended send time to the completion,
//! in µs truncated as `ClientStats` does, into its own HdrHistogram (3
//! significant digits); the histograms are merged at the end
//! ([`LoadStats::latency_us`]). Completions still queued when a thread stops
//! are recorded into its histogram after it is joined. A test checks that the
//! merged histogram agrees with `ClientStats` (same count, same p50 within
//! the histogram's precision).
//!
//! # Closed loop
//!
//! With `clients.concurrency = N` a client keeps at most N operations
//! outstanding (issued, no `OpDone` yet). With a rate, the operations stay
//! due at the open-loop schedule; one due while N are outstanding waits (in
//! order) and is sent when one finishes, its `issued` still its intended
//! time. Without a rate (pure closed loop) each client sends N at the start
//! and one per completion, intended at the completion's time (after a failed
//! or refused one, or one that took no time at all:
//! [`CLOSED_LOOP_FAIL_PAUSE`] later, as in `sim`).
//!
//! # Differences from `sim` (besides the clock)
//!
//! * An operation sent to a client node that is down or paused is dropped by
//!   the node when it handles it (in `sim`: not sent when due); in closed
//!   loop its slot is given back then.
//! * A client node's crash loses its operations in flight; in `sim` a
//!   closed-loop client's slots are given back at the crash, here they are
//!   not (a fault on a client node with `concurrency` set can stall that
//!   client). Shipped workloads fault servers only.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::Duration;

use crossbeam::queue::SegQueue;
use hdrhistogram::Histogram;

use super::clock::LiveClock;
use crate::engine::rng::{self, Rng};
use crate::engine::sim::{LoadConfig, CLOSED_LOOP_FAIL_PAUSE};
use crate::engine::{ClientOp, OpKind, SimTime};

/// Significant digits of the client threads' latency histograms.
pub const HISTOGRAM_SIGFIG: u8 = 3;
/// Largest latency the histograms hold exactly (µs): one hour.
const HISTOGRAM_MAX_US: u64 = 3_600_000_000;

/// How long a closed loop's client thread looks for completions (yielding
/// its core between looks) before it sleeps: its completions come back within
/// microseconds, and a sleep costs a futex wait here and a wake-up in the
/// worker. Measured with `run workloads/live-zookeeper-zab-throughput.toml`
/// on the 2-core VM, 14 alternating runs each: median 585k writes/s with
/// 20 µs against 528k without (1.11×), CPU per write 3.3 µs against 3.7.
const LOAD_SPIN_NS: u64 = 20_000;

/// What a worker hands a client thread about one of its operations.
struct Done {
    op: ClientOp,
    at: SimTime,
    ok: bool,
    /// `false`: the client node could not take it (down or paused).
    taken: bool,
}

/// One client thread's inbox.
struct Lane {
    done: SegQueue<Done>,
    /// Completions were queued since the last [`Load::flush`] (closed loop).
    unwoken: AtomicBool,
    thread: OnceLock<Thread>,
}

/// What the client threads share with the workers.
pub(super) struct Load {
    lanes: Vec<Lane>,
    servers: usize,
    n: usize,
    /// Completions change what a thread sends (a concurrency limit): wake it.
    wake_on_done: bool,
    /// Operations in flight at most, over every client (closed loop).
    slots: usize,
}

/// What the client threads measured, merged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadStats {
    /// Client threads.
    pub threads: usize,
    /// Operations the threads issued (pushed or kept for a full mailbox).
    pub offered: u64,
    /// Most operations one thread found due at once when it woke (open-loop
    /// schedule): 1 means it kept up; more means it issued them late (their
    /// latency still counts from their intended times).
    pub behind_max: u64,
    /// Longest time from an operation's intended send time to a thread
    /// issuing it (open-loop schedule; a wait for a closed-loop slot is not
    /// the thread's lateness and is not counted), in ns.
    pub lag_max_ns: u64,
    /// The per-thread latency histograms merged (µs; successful, measured
    /// operations); `None` without clients.
    pub latency_us: Option<Histogram<u64>>,
}

/// One client thread's own state, handed back when it stops.
pub(super) struct ClientThread {
    histogram: Histogram<u64>,
    offered: u64,
    behind_max: u64,
    lag_max_ns: u64,
}

/// One client, owned by its thread.
struct Client {
    c: usize,
    rng: Rng,
    seq: u64,
    outstanding: u32,
    /// Closed loop with a rate: (intended time, kind) waiting for a slot.
    waiting: VecDeque<(SimTime, OpKind)>,
    /// Operations a full mailbox refused, in order.
    kept: VecDeque<ClientOp>,
}

/// How a thread reaches the nodes.
pub(super) struct Trial<'e> {
    pub load: &'e LoadConfig,
    pub seed: u64,
    pub clock: &'e LiveClock,
    pub end: SimTime,
    pub measure_from: SimTime,
    pub finished: &'e AtomicBool,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_US, HISTOGRAM_SIGFIG)
        .expect("valid histogram bounds")
}

fn record(h: &mut Histogram<u64>, d: &Done, measure_from: SimTime) {
    if d.taken && d.ok && d.at >= measure_from {
        h.saturating_record(d.at.since(d.op.issued).0 / 1_000);
    }
}

impl Load {
    /// `threads` client threads for the clients `servers..n`.
    pub(super) fn new(load: &LoadConfig, threads: usize, servers: usize, n: usize) -> Self {
        let threads = threads.max(1);
        Load {
            lanes: (0..threads)
                .map(|_| Lane {
                    done: SegQueue::new(),
                    unwoken: AtomicBool::new(false),
                    thread: OnceLock::new(),
                })
                .collect(),
            servers,
            n,
            wake_on_done: load.concurrency.is_some(),
            slots: load
                .concurrency
                .map_or(0, |c| c as usize * n.saturating_sub(servers)),
        }
    }

    /// How many completions a worker hands the client threads before it
    /// wakes them ([`Load::flush`]) while it still has work: a quarter of
    /// the closed loop's slots shared among the `workers` (at least 1). A
    /// worker that runs out of work wakes them at once. So at most a quarter
    /// of the slots wait for their client thread to notice them, and a
    /// closed loop of 8 clients × 16 (128 slots) on 2 workers costs one
    /// wake-up per 16 completions instead of one per node batch: about a
    /// third fewer futex calls per write in the whole run (`perf stat -e
    /// syscalls:sys_enter_futex`; the workers' own wake-ups remain).
    pub(super) fn wake_every(&self, workers: usize) -> usize {
        (self.slots / (4 * workers.max(1))).max(1)
    }

    pub(super) fn threads(&self) -> usize {
        self.lanes.len()
    }

    fn lane(&self, op: &ClientOp) -> Option<&Lane> {
        let c = (op.id >> 40) as usize;
        if c < self.servers || c >= self.n {
            return None;
        }
        self.lanes.get(c % self.lanes.len())
    }

    fn hand(&self, d: Done) {
        let Some(lane) = self.lane(&d.op) else {
            return;
        };
        lane.done.push(d);
        if self.wake_on_done && !lane.unwoken.load(Ordering::Relaxed) {
            lane.unwoken.store(true, Ordering::Release);
        }
    }

    /// Wake each client thread that was handed completions since the last
    /// call. Workers call this once they have handed [`Load::wake_every`]
    /// completions and before they wait for work, not per completion: a
    /// futex wake per completion cost a sixth of the CPU of a closed-loop run
    /// (`perf`), while a thread woken later still issues every freed slot's
    /// next operation (latency counts from the completion, so the wait stays
    /// measured).
    pub(super) fn flush(&self) {
        for lane in &self.lanes {
            if lane.unwoken.load(Ordering::Relaxed) && lane.unwoken.swap(false, Ordering::AcqRel) {
                if let Some(t) = lane.thread.get() {
                    t.unpark();
                }
            }
        }
    }

    /// A worker saw `Obs::OpDone { op, ok }` recorded at `at`.
    pub(super) fn done(&self, op: &ClientOp, at: SimTime, ok: bool) {
        self.hand(Done {
            op: *op,
            at,
            ok,
            taken: true,
        });
    }

    /// A client node could not take `op` (down or paused) at `at`.
    pub(super) fn refused(&self, op: ClientOp, at: SimTime) {
        self.hand(Done {
            op,
            at,
            ok: false,
            taken: false,
        });
    }

    /// Wake every client thread (the trial ends).
    pub(super) fn wake_all(&self) {
        for l in &self.lanes {
            if let Some(t) = l.thread.get() {
                t.unpark();
            }
        }
    }

    /// Client thread `t` until `env.finished`; `push` hands an operation to
    /// a client node's mailbox, or hands it back when the mailbox is full.
    pub(super) fn run(
        &self,
        t: usize,
        env: &Trial<'_>,
        push: impl Fn(usize, ClientOp) -> Result<(), ClientOp>,
    ) -> ClientThread {
        let lane = &self.lanes[t];
        let _ = lane.thread.set(std::thread::current());
        let k = self.lanes.len();
        let cfg = env.load;
        let mut me = ClientThread {
            histogram: new_histogram(),
            offered: 0,
            behind_max: 0,
            lag_max_ns: 0,
        };
        let mut clients: Vec<Client> = (self.servers..self.n)
            .filter(|c| c % k == t)
            .map(|c| Client {
                c,
                rng: rng::stream(env.seed, "load", c as u64),
                seq: 0,
                outstanding: 0,
                waiting: VecDeque::new(),
                kept: VecDeque::new(),
            })
            .collect();
        // Client `c` is `clients[c / k - base]`.
        let base = clients.first().map_or(0, |c| c.c / k);
        let limit = cfg.concurrency.unwrap_or(u32::MAX);
        let start_at = (SimTime::ZERO + cfg.start).0;
        // (due, client, operations): the open-loop schedule's next
        // operation, or (pure closed loop) operations to send.
        let mut heap: BinaryHeap<Reverse<(u64, u32, u32)>> = BinaryHeap::new();
        for (j, cl) in clients.iter_mut().enumerate() {
            if cfg.open() {
                let interval = 1e9 / cfg.rate_per_s;
                let phase = (rng::unit(&mut cl.rng) * interval) as u64;
                heap.push(Reverse((start_at + phase, j as u32, 1)));
            } else if cfg.closed() {
                heap.push(Reverse((start_at, j as u32, limit)));
            }
        }
        let mut overflowing: Vec<usize> = Vec::new();
        let now_ns = || env.clock.now().0;

        // Issue client `j`'s operation `kind` intended at `at`.
        let issue = |cl: &mut Client,
                     overflowing: &mut Vec<usize>,
                     j: usize,
                     at: SimTime,
                     kind: OpKind,
                     offered: &mut u64| {
            cl.seq += 1;
            let op = ClientOp {
                id: (cl.c as u64) << 40 | cl.seq,
                kind,
                issued: at,
            };
            cl.outstanding += 1;
            *offered += 1;
            if !cl.kept.is_empty() {
                cl.kept.push_back(op);
            } else if let Err(op) = push(cl.c, op) {
                cl.kept.push_back(op);
                overflowing.push(j);
            }
        };
        let send_waiting =
            |cl: &mut Client, overflowing: &mut Vec<usize>, j: usize, offered: &mut u64| {
                while cl.outstanding < limit {
                    let Some((at, kind)) = cl.waiting.pop_front() else {
                        break;
                    };
                    issue(cl, overflowing, j, at, kind, offered);
                }
            };

        while !env.finished.load(Ordering::Acquire) {
            // Completions of this thread's operations.
            while let Some(d) = lane.done.pop() {
                record(&mut me.histogram, &d, env.measure_from);
                if cfg.concurrency.is_none() {
                    continue;
                }
                let c = (d.op.id >> 40) as usize;
                let j = c / k - base;
                let cl = &mut clients[j];
                cl.outstanding = cl.outstanding.saturating_sub(1);
                if cfg.closed() {
                    let at = if d.ok && d.taken && d.at != d.op.issued {
                        d.at
                    } else {
                        d.at + CLOSED_LOOP_FAIL_PAUSE
                    };
                    heap.push(Reverse((at.0, j as u32, 1)));
                } else {
                    send_waiting(cl, &mut overflowing, j, &mut me.offered);
                }
            }
            let now = now_ns();
            // Operations due, up to the trial's end.
            let mut behind = 0;
            while let Some(&Reverse((at, j, count))) = heap.peek() {
                if at > now || at >= env.end.0 {
                    break;
                }
                heap.pop();
                let j = j as usize;
                let cl = &mut clients[j];
                if cfg.open() {
                    let (next, kind) = cfg.next_op(&mut cl.rng);
                    heap.push(Reverse((at + next.0, j as u32, 1)));
                    behind += 1;
                    me.lag_max_ns = me.lag_max_ns.max(now - at);
                    if cfg.concurrency.is_some() {
                        cl.waiting.push_back((SimTime(at), kind));
                        send_waiting(cl, &mut overflowing, j, &mut me.offered);
                    } else {
                        issue(cl, &mut overflowing, j, SimTime(at), kind, &mut me.offered);
                    }
                } else {
                    for _ in 0..count {
                        if cl.outstanding < limit {
                            let kind = cfg.next_kind(&mut cl.rng);
                            issue(cl, &mut overflowing, j, SimTime(at), kind, &mut me.offered);
                        }
                    }
                }
            }
            me.behind_max = me.behind_max.max(behind);
            // Refused pushes, oldest first.
            if !overflowing.is_empty() {
                let mut still = Vec::new();
                for j in std::mem::take(&mut overflowing) {
                    let cl = &mut clients[j];
                    while let Some(op) = cl.kept.pop_front() {
                        if let Err(op) = push(cl.c, op) {
                            cl.kept.push_front(op);
                            still.push(j);
                            break;
                        }
                    }
                }
                still.dedup();
                overflowing = still;
            }
            // Sleep until the next due operation (at most 10 ms, 50 µs with
            // refused pushes); completions that matter wake us (`flush`).
            let now = now_ns();
            let mut next = heap
                .peek()
                .map_or(u64::MAX, |r| r.0 .0)
                .min(now + 10_000_000);
            if !overflowing.is_empty() {
                next = next.min(now + 50_000);
            }
            // A closed loop's completions come back within microseconds:
            // look for them a little, yielding the core, before sleeping.
            if self.wake_on_done {
                let until = (now + LOAD_SPIN_NS).min(next);
                while lane.done.is_empty() && now_ns() < until {
                    std::thread::yield_now();
                }
            }
            let now = now_ns();
            if next > now && lane.done.is_empty() {
                std::thread::park_timeout(Duration::from_nanos(next - now));
            }
        }
        me
    }

    /// Merge the client threads' results; completions still queued for a
    /// thread go into its histogram first.
    pub(super) fn finish(&self, threads: Vec<ClientThread>, measure_from: SimTime) -> LoadStats {
        let mut s = LoadStats {
            threads: self.lanes.len(),
            ..LoadStats::default()
        };
        let mut merged = new_histogram();
        let mut any = false;
        for (lane, mut me) in self.lanes.iter().zip(threads) {
            while let Some(d) = lane.done.pop() {
                record(&mut me.histogram, &d, measure_from);
            }
            merged
                .add(&me.histogram)
                .expect("same bounds: a merge cannot fail");
            s.offered += me.offered;
            s.behind_max = s.behind_max.max(me.behind_max);
            s.lag_max_ns = s.lag_max_ns.max(me.lag_max_ns);
            any = true;
        }
        if any && self.n > self.servers {
            s.latency_us = Some(merged);
        }
        s
    }
}
