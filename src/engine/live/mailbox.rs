//! A node's bounded mailbox in the live runtime.
//!
//! Two kinds behind one type, chosen per run: [`MailboxKind::LockFree`], a
//! bounded multi-producer queue (crossbeam's `ArrayQueue`), and
//! [`MailboxKind::Mutex`], a `parking_lot::Mutex<VecDeque>` kept as the
//! explicit baseline the lock-free one is measured against.
//!
//! A full mailbox refuses the item and hands it back ([`Mailbox::push`]
//! returns `Err`); every refusal is counted ([`Mailbox::full_count`]), so
//! backpressure is reported as `mailbox_full`, never a silent drop. What the
//! sender does with a refused item (hold it and retry) is the runtime's
//! business.
//!
//! **What "lock-free" means here.** On the lock-free kind, `push`, `pop`,
//! `len` and `full_count` take no lock and never sleep in the kernel: each is
//! a few atomic loads and one compare-and-swap loop on the queue's head or
//! tail (in which a failed CAS means another thread's succeeded), plus one
//! `fetch_add` on a refusal. `ArrayQueue` is Vyukov's bounded array queue;
//! its one non-lock-free corner is a thread preempted between claiming a slot
//! and stamping it (a few instructions): the thread on the other side of
//! that slot then backs off (spins, then `thread::yield_now`) until it is
//! scheduled again, instead of returning. No lock is held and nothing can
//! deadlock, but that step is not formally lock-free; the stress tests below
//! run four producers on two cores, so the case is exercised. The mutex kind
//! takes the lock for each call, as a baseline should.
//!
//! The refusal counter sits on its own cache line (`CachePadded`) so the
//! producers that bump it do not slow the queue's head and tail.
//!
//! Tests: exact refusal accounting, and a stress test per kind in which four
//! producers push through a mailbox of 8 to one consumer, retrying every
//! refused item: every item arrives exactly once, in order per producer, and
//! the refusal count equals the producers' own count.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam::queue::ArrayQueue;
use crossbeam::utils::CachePadded;
use parking_lot::Mutex;

/// Which queue a mailbox uses (`mailbox = "lock-free" | "mutex"`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum MailboxKind {
    #[default]
    LockFree,
    Mutex,
}

// The lock-free variant is large because crossbeam pads its head and tail to
// their own cache lines; boxing it would put a pointer chase on every push
// and pop, for a value made once per node and never moved after.
#[allow(clippy::large_enum_variant)]
enum Queue<T> {
    LockFree(ArrayQueue<T>),
    Mutex { q: Mutex<VecDeque<T>>, cap: usize },
}

/// A bounded multi-producer mailbox that counts refusals.
pub struct Mailbox<T> {
    queue: Queue<T>,
    full: CachePadded<AtomicU64>,
}

impl<T> Mailbox<T> {
    /// A mailbox of `kind` holding at most `capacity` items (at least 1).
    pub fn new(kind: MailboxKind, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let queue = match kind {
            MailboxKind::LockFree => Queue::LockFree(ArrayQueue::new(capacity)),
            MailboxKind::Mutex => Queue::Mutex {
                q: Mutex::new(VecDeque::with_capacity(capacity)),
                cap: capacity,
            },
        };
        Mailbox {
            queue,
            full: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Enqueue `item`, or hand it back when the mailbox is full (counted).
    pub fn push(&self, item: T) -> Result<(), T> {
        let r = match &self.queue {
            Queue::LockFree(q) => q.push(item),
            Queue::Mutex { q, cap } => {
                let mut q = q.lock();
                if q.len() >= *cap {
                    Err(item)
                } else {
                    q.push_back(item);
                    Ok(())
                }
            }
        };
        if r.is_err() {
            // Relaxed: a counter read after the run (or as a gauge); it
            // orders nothing else.
            self.full.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Dequeue the oldest item, if any.
    pub fn pop(&self) -> Option<T> {
        match &self.queue {
            Queue::LockFree(q) => q.pop(),
            Queue::Mutex { q, .. } => q.lock().pop_front(),
        }
    }

    /// Items waiting now (a snapshot).
    pub fn len(&self) -> usize {
        match &self.queue {
            Queue::LockFree(q) => q.len(),
            Queue::Mutex { q, .. } => q.lock().len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many pushes were refused because the mailbox was full.
    pub fn full_count(&self) -> u64 {
        self.full.load(Ordering::Relaxed)
    }

    /// The most items the mailbox holds at once.
    pub fn capacity(&self) -> usize {
        match &self.queue {
            Queue::LockFree(q) => q.capacity(),
            Queue::Mutex { cap, .. } => *cap,
        }
    }

    /// Which kind of queue this mailbox uses.
    pub fn kind(&self) -> MailboxKind {
        match &self.queue {
            Queue::LockFree(_) => MailboxKind::LockFree,
            Queue::Mutex { .. } => MailboxKind::Mutex,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_mailbox_hands_the_item_back_and_counts_it() {
        for kind in [MailboxKind::LockFree, MailboxKind::Mutex] {
            let m = Mailbox::new(kind, 2);
            assert_eq!(m.push(1), Ok(()));
            assert_eq!(m.push(2), Ok(()));
            assert_eq!(m.push(3), Err(3), "{kind:?}");
            assert_eq!(m.full_count(), 1);
            assert_eq!(m.pop(), Some(1));
            assert_eq!(m.push(3), Ok(()));
            assert_eq!((m.pop(), m.pop(), m.pop()), (Some(2), Some(3), None));
            assert_eq!(m.full_count(), 1);
        }
    }

    /// Four producers, one consumer, a mailbox of 8: the consumer starts
    /// only once a push has been refused, so refusals are certain; every
    /// refused item is retried until it goes in.
    #[test]
    fn many_producers_deliver_every_item_exactly_once_through_a_small_mailbox() {
        const PRODUCERS: usize = 4;
        const ITEMS: u32 = 50_000;
        for kind in [MailboxKind::LockFree, MailboxKind::Mutex] {
            let m = Mailbox::new(kind, 8);
            assert_eq!((m.capacity(), m.kind()), (8, kind));
            let (refused, next) = std::thread::scope(|s| {
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let m = &m;
                        s.spawn(move || {
                            let mut refused = 0u64;
                            for i in 0..ITEMS {
                                let mut item = (p, i);
                                while let Err(back) = m.push(item) {
                                    assert_eq!(back, item, "the refused item comes back");
                                    refused += 1;
                                    item = back;
                                    std::thread::yield_now();
                                }
                            }
                            refused
                        })
                    })
                    .collect();
                let consumer = s.spawn(|| {
                    while m.full_count() == 0 {
                        std::thread::yield_now();
                    }
                    let mut next = [0u32; PRODUCERS];
                    let mut got = 0;
                    while got < PRODUCERS * ITEMS as usize {
                        match m.pop() {
                            Some((p, i)) => {
                                assert_eq!(i, next[p], "{kind:?}: producer {p} out of order");
                                next[p] += 1;
                                got += 1;
                            }
                            None => std::thread::yield_now(),
                        }
                    }
                    next
                });
                let refused: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
                (refused, consumer.join().unwrap())
            });
            assert_eq!(next, [ITEMS; PRODUCERS], "{kind:?}: every item, once");
            assert!(m.is_empty() && m.pop().is_none(), "{kind:?}: nothing extra");
            assert!(refused > 0);
            assert_eq!(m.full_count(), refused, "{kind:?}: every refusal counted");
        }
    }
}
