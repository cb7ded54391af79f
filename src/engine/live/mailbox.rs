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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam::queue::ArrayQueue;
use parking_lot::Mutex;

/// Which queue a mailbox uses (`mailbox = "lock-free" | "mutex"`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum MailboxKind {
    #[default]
    LockFree,
    Mutex,
}

enum Queue<T> {
    LockFree(ArrayQueue<T>),
    Mutex { q: Mutex<VecDeque<T>>, cap: usize },
}

/// A bounded multi-producer mailbox that counts refusals.
pub struct Mailbox<T> {
    queue: Queue<T>,
    full: AtomicU64,
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
            full: AtomicU64::new(0),
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
}
