//! Actor scheduling for the live runtime: one bounded [`Mailbox`] per node,
//! one "scheduled" flag per node and one run queue of node ids shared by the
//! worker threads.
//!
//! The protocol, which makes sure that at most one worker runs a node at a
//! time and that no pushed envelope is left unprocessed (the lost wake-up):
//!
//! * a producer pushes the envelope, then swaps the node's flag to `true`; if
//!   the flag was `false`, the node was idle and the producer puts its id on
//!   the run queue (so a node is on the queue at most once);
//! * a worker that takes an id from the queue owns the node until it clears
//!   the flag: it pops up to a batch of envelopes, clears the flag, and then
//!   looks at the mailbox once more; if it is not empty it wakes the node
//!   again by the same swap (whoever wins the swap queues it).
//!
//! Both sides put a `SeqCst` fence between their write (push / clear) and
//! their read (swap / emptiness check), Dekker style: either the producer's
//! swap sees the cleared flag, or the worker's check sees the envelope.
//!
//! The producer reads the flag before it swaps: a node that is already
//! scheduled (the common case under load) costs a read, not a locked swap.
//! Reading `true` after the fence is as good as a swap that returns `true`:
//! the fences order it against the worker's clear exactly as they order the
//! swap. Each flag has its own cache line, so setting one node's flag does
//! not take the line from a worker clearing another's.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::time::Duration;

use crossbeam::channel::{self, Receiver, Sender};
use crossbeam::utils::CachePadded;

use super::mailbox::{Mailbox, MailboxKind};

/// Mailboxes, flags and the run queue of `n` actors.
pub struct Actors<E> {
    boxes: Vec<Mailbox<E>>,
    scheduled: Vec<CachePadded<AtomicBool>>,
    tx: Sender<u32>,
    rx: Receiver<u32>,
}

impl<E> Actors<E> {
    /// `n` idle actors, each with a mailbox of `kind` and `capacity`.
    pub fn new(n: usize, kind: MailboxKind, capacity: usize) -> Self {
        let (tx, rx) = channel::unbounded();
        Actors {
            boxes: (0..n).map(|_| Mailbox::new(kind, capacity)).collect(),
            scheduled: (0..n)
                .map(|_| CachePadded::new(AtomicBool::new(false)))
                .collect(),
            tx,
            rx,
        }
    }

    /// Number of actors.
    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    /// Put `e` in actor `to`'s mailbox and make the actor runnable; a full
    /// mailbox hands `e` back (and counts the refusal): the caller keeps it
    /// and tries again later.
    pub fn push(&self, to: usize, e: E) -> Result<(), E> {
        self.boxes[to].push(e)?;
        self.wake(to);
        Ok(())
    }

    fn wake(&self, to: usize) {
        fence(Ordering::SeqCst);
        let flag = &self.scheduled[to];
        if !flag.load(Ordering::SeqCst) && !flag.swap(true, Ordering::SeqCst) {
            // The receiver lives as long as `self`: a send cannot fail.
            let _ = self.tx.send(to as u32);
        }
    }

    /// The next runnable actor, if one is waiting now.
    pub fn try_next(&self) -> Option<usize> {
        self.rx.try_recv().ok().map(|i| i as usize)
    }

    /// The next runnable actor, waiting at most `timeout` for one.
    pub fn next(&self, timeout: Duration) -> Option<usize> {
        self.rx.recv_timeout(timeout).ok().map(|i| i as usize)
    }

    /// Run actor `id` (taken from [`Actors::next`]): hand up to `batch` of its
    /// envelopes to `f`, in mailbox order, then release it. Returns how many
    /// were handled.
    pub fn run(&self, id: usize, batch: usize, mut f: impl FnMut(E)) -> usize {
        let mut k = 0;
        while k < batch {
            match self.boxes[id].pop() {
                Some(e) => {
                    f(e);
                    k += 1;
                }
                None => break,
            }
        }
        self.scheduled[id].store(false, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !self.boxes[id].is_empty() {
            self.wake(id);
        }
        k
    }

    /// Pushes refused because a mailbox was full, over all actors.
    pub fn full_count(&self) -> u64 {
        self.boxes.iter().map(Mailbox::full_count).sum()
    }

    /// Envelopes waiting in all mailboxes now.
    pub fn queued(&self) -> usize {
        self.boxes.iter().map(Mailbox::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize};

    /// Many producers, one actor, tiny mailbox: every envelope is handled
    /// exactly once, never by two workers at the same time, and the refusals
    /// are counted (the producers kept and retried what was refused).
    #[test]
    fn every_envelope_is_handled_exactly_once_by_one_worker_at_a_time() {
        for kind in [MailboxKind::LockFree, MailboxKind::Mutex] {
            const PRODUCERS: u64 = 4;
            const EACH: u64 = 20_000;
            let actors: Actors<u64> = Actors::new(1, kind, 8);
            let seen: Vec<AtomicU64> = (0..PRODUCERS * EACH).map(|_| AtomicU64::new(0)).collect();
            let running = AtomicUsize::new(0);
            let handled = AtomicU64::new(0);
            let done = AtomicBool::new(false);
            let mut refused = 0u64;
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| loop {
                        if let Some(id) = actors.next(Duration::from_millis(1)) {
                            actors.run(id, 3, |e| {
                                assert_eq!(
                                    running.fetch_add(1, Ordering::SeqCst),
                                    0,
                                    "two workers ran the node"
                                );
                                seen[e as usize].fetch_add(1, Ordering::Relaxed);
                                handled.fetch_add(1, Ordering::SeqCst);
                                running.fetch_sub(1, Ordering::SeqCst);
                            });
                        } else if done.load(Ordering::SeqCst) {
                            return;
                        }
                    });
                }
                let producers: Vec<_> = (0..PRODUCERS)
                    .map(|p| {
                        let actors = &actors;
                        s.spawn(move || {
                            let mut refused = 0;
                            for k in 0..EACH {
                                let mut e = p * EACH + k;
                                while let Err(back) = actors.push(0, e) {
                                    refused += 1;
                                    e = back;
                                    std::thread::yield_now();
                                }
                            }
                            refused
                        })
                    })
                    .collect();
                for p in producers {
                    refused += p.join().unwrap();
                }
                // No timed assertion: wait for the workers to drain, then
                // stop them; a lost wake-up would hang here (and the test
                // harness would report the hang), not pass.
                while handled.load(Ordering::SeqCst) < PRODUCERS * EACH {
                    std::thread::yield_now();
                }
                done.store(true, Ordering::SeqCst);
            });
            assert!(
                seen.iter().all(|c| c.load(Ordering::Relaxed) == 1),
                "{kind:?}"
            );
            assert_eq!(actors.full_count(), refused, "{kind:?}");
            assert_eq!(actors.queued(), 0);
        }
    }
}
