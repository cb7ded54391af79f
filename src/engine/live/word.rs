//! The current leader and epoch of one group, in one atomic word that client
//! threads read without a lock (issue 13, part 1).
//!
//! The word packs the epoch into its high 32 bits and `leader + 1` into its
//! low 32 bits; a low half of 0 means "no leader published yet". Because the
//! epoch is the high half, comparing two packed words as integers compares
//! the pairs `(epoch, leader)` lexicographically, so [`LeaderWord::publish`]
//! is a compare-and-swap loop that only ever moves the word up: a stale
//! publisher (an old leader announcing itself late, a slow worker) can never
//! replace a newer pair. Within one epoch the higher node id wins; two
//! leaders in one epoch are a safety violation that the checkers report, the
//! word only stays monotone.
//!
//! **Epoch width.** Only 32 bits of epoch fit. That is the real width of
//! ZooKeeper's epoch (the high half of a zxid) and of Kafka's controller and
//! leader epochs (`int32`); Raft terms and Sentinel config epochs are 64-bit
//! in the real systems, but no run comes near 2^32 elections. An epoch above
//! [`MAX_EPOCH`] is **refused**, not truncated or saturated: truncating would
//! wrap it below older epochs and saturating would make two different epochs
//! equal, and either would let the word go down or stick. `publish` returns
//! `false` for it and leaves the word as it was (a debug build panics
//! instead, so a test that reaches it fails loudly). The same goes for `NodeId(u32::MAX)`, whose `leader + 1`
//! does not fit.
//!
//! **Orderings.** A successful publish is a `Release` compare-and-swap; it
//! pairs with the `Acquire` load in [`LeaderWord::read`], so a reader that
//! sees a pair also sees everything the publishing thread wrote before it.
//! That no reader ever sees the pair go down needs no ordering at all: every
//! write to the word is a larger value than the one it replaced, and each
//! thread's loads of one atomic never go back in its modification order.
//!
//! The word is aligned to its own cache line (64 bytes), so words of
//! different groups kept side by side do not share one.
//!
//! [`LeaderWords`] holds a trial's words: the whole system's (a
//! `LeaderWord`) and one plain 8-byte word per part, with the same publish
//! and read; up to [`MAX_PARTS`] parts, so a million partitions cost 8 MB.
//!
//! Tests: a property test against a naive maximum, a stress test with many
//! publisher and reader threads, and a loom model check of two publishers and
//! a reader (`RUSTFLAGS="--cfg electbench_loom" CARGO_TARGET_DIR=target/loom
//! cargo test --release --lib engine::live::word`; see Cargo.toml for why
//! the cfg is not the usual `loom`).

#[cfg(all(electbench_loom, test))]
use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(all(electbench_loom, test)))]
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::NodeId;

/// The highest epoch a [`LeaderWord`] can hold (2^32 - 1).
pub const MAX_EPOCH: u64 = u32::MAX as u64;

/// A group's `(epoch, leader)` pair, published by compare-and-swap and read
/// with one load. See the module doc for the packing and its limits.
#[repr(align(64))]
pub struct LeaderWord(AtomicU64);

/// The packed form of `(epoch, leader)`, or `None` when it does not fit.
fn pack(epoch: u64, leader: NodeId) -> Option<u64> {
    if epoch > MAX_EPOCH || leader.0 == u32::MAX {
        return None;
    }
    Some((epoch << 32) | u64::from(leader.0 + 1))
}

fn unpack(word: u64) -> Option<(u64, NodeId)> {
    let low = (word & u64::from(u32::MAX)) as u32;
    (low != 0).then(|| (word >> 32, NodeId(low - 1)))
}

impl LeaderWord {
    /// A word with no leader published.
    #[cfg(not(all(electbench_loom, test)))]
    pub const fn new() -> Self {
        LeaderWord(AtomicU64::new(0))
    }

    /// A word with no leader published (loom's atomics have no `const` constructor).
    #[cfg(all(electbench_loom, test))]
    pub fn new() -> Self {
        LeaderWord(AtomicU64::new(0))
    }

    /// Publish `leader` as the leader of `epoch` if `(epoch, leader)` is
    /// higher than the pair held now; `true` if it replaced it. A pair equal
    /// to or lower than the current one, or one that does not fit (epoch
    /// above [`MAX_EPOCH`], `NodeId(u32::MAX)`), leaves the word unchanged
    /// and returns `false`.
    pub fn publish(&self, epoch: u64, leader: NodeId) -> bool {
        publish(&self.0, epoch, leader)
    }

    /// The published `(epoch, leader)`, or `None` before the first publish:
    /// one `Acquire` load (pairs with the successful compare-and-swap in
    /// [`LeaderWord::publish`]), no lock.
    pub fn read(&self) -> Option<(u64, NodeId)> {
        read(&self.0)
    }
}

/// [`LeaderWord::publish`] on any atomic word.
fn publish(word: &AtomicU64, epoch: u64, leader: NodeId) -> bool {
    let Some(new) = pack(epoch, leader) else {
        if cfg!(debug_assertions) {
            panic!("epoch {epoch} / leader {leader:?} does not fit a LeaderWord");
        }
        return false;
    };
    // Relaxed: the value only seeds the compare-and-swap, which checks it.
    let mut cur = word.load(Ordering::Relaxed);
    while new > cur {
        // Release on success pairs with the Acquire load in `read`.
        match word.compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(seen) => cur = seen,
        }
    }
    false
}

/// [`LeaderWord::read`] on any atomic word.
fn read(word: &AtomicU64) -> Option<(u64, NodeId)> {
    unpack(word.load(Ordering::Acquire))
}

impl Default for LeaderWord {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LeaderWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LeaderWord").field(&self.read()).finish()
    }
}

/// The largest number of parts that get a word: 2^24 (16,777,216), 128 MiB
/// of words. Every path's part count is far below it (`kafka/partition-leader`
/// allows 10 million partitions: 80 MB); parts at or above it get no word,
/// and the live runtime resolves their leaders through the model instead.
pub const MAX_PARTS: usize = 1 << 24;

/// The leader words of one trial: the whole system's, aligned to its own
/// cache line, and one plain word per part (`Scope::Part(p)`), 8 bytes each,
/// side by side. A part's word shares its cache line with seven others: a
/// publish to one makes the others' readers reload the line, which costs
/// time, never correctness (each word is its own atomic). Padding every part
/// to a cache line would cost 64 bytes a part, 640 MB at 10 million.
pub struct LeaderWords {
    whole: LeaderWord,
    parts: Box<[AtomicU64]>,
}

/// One word of a [`LeaderWords`]: the whole system's or a part's.
#[derive(Clone, Copy)]
pub struct WordRef<'a>(&'a AtomicU64);

impl WordRef<'_> {
    /// [`LeaderWord::publish`].
    pub fn publish(&self, epoch: u64, leader: NodeId) -> bool {
        publish(self.0, epoch, leader)
    }

    /// [`LeaderWord::read`].
    pub fn read(&self) -> Option<(u64, NodeId)> {
        read(self.0)
    }
}

impl LeaderWords {
    /// Words for the whole system and parts `0..parts` (at most
    /// [`MAX_PARTS`]), none published.
    pub fn new(parts: usize) -> Self {
        LeaderWords {
            whole: LeaderWord::new(),
            parts: (0..parts.min(MAX_PARTS))
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// Parts that have a word.
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// The whole system's word.
    pub fn whole(&self) -> &LeaderWord {
        &self.whole
    }

    /// Word `w`: 0 is the whole system's, `p + 1` part `p`'s; `None` for a
    /// part without a word.
    pub fn get(&self, w: usize) -> Option<WordRef<'_>> {
        match w {
            0 => Some(WordRef(&self.whole.0)),
            _ => self.parts.get(w - 1).map(WordRef),
        }
    }

    /// Parts whose word holds a leader.
    pub fn parts_published(&self) -> usize {
        self.parts.iter().filter(|w| read(w).is_some()).count()
    }
}

#[cfg(all(test, not(electbench_loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Barrier;

    #[test]
    fn a_new_word_has_no_leader_and_keeps_the_highest_pair() {
        let w = LeaderWord::new();
        assert_eq!(w.read(), None);
        assert!(w.publish(0, NodeId(0)), "(0, node 0) is above 'none'");
        assert_eq!(w.read(), Some((0, NodeId(0))));
        assert!(w.publish(3, NodeId(1)));
        assert!(!w.publish(3, NodeId(1)), "an equal pair does not replace");
        assert!(!w.publish(2, NodeId(9)), "a lower epoch never replaces");
        assert!(w.publish(3, NodeId(2)), "same epoch, higher id");
        assert!(!w.publish(3, NodeId(0)));
        assert_eq!(w.read(), Some((3, NodeId(2))));
        assert_eq!(std::mem::align_of::<LeaderWord>(), 64);
    }

    #[test]
    fn the_largest_epoch_and_node_id_that_fit_round_trip() {
        let w = LeaderWord::new();
        assert!(w.publish(MAX_EPOCH, NodeId(u32::MAX - 1)));
        assert_eq!(w.read(), Some((MAX_EPOCH, NodeId(u32::MAX - 1))));
    }

    /// Release builds: a pair that does not fit is refused and the word is
    /// unchanged (debug builds stop on the `debug_assert!` instead).
    #[test]
    #[cfg(not(debug_assertions))]
    fn an_epoch_past_32_bits_is_refused_not_wrapped() {
        let w = LeaderWord::new();
        assert!(w.publish(7, NodeId(1)));
        // Truncated, 2^32 + 8 would read as epoch 8 and replace (7, 1).
        assert!(!w.publish(MAX_EPOCH + 9, NodeId(1)));
        assert!(!w.publish(u64::MAX, NodeId(0)));
        assert!(!w.publish(8, NodeId(u32::MAX)), "leader + 1 does not fit");
        assert_eq!(w.read(), Some((7, NodeId(1))));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "does not fit a LeaderWord")]
    fn an_epoch_past_32_bits_stops_a_debug_build() {
        LeaderWord::new().publish(MAX_EPOCH + 1, NodeId(0));
    }

    #[test]
    fn every_part_has_its_own_word_up_to_the_count() {
        let w = LeaderWords::new(3000);
        assert_eq!(w.parts(), 3000);
        assert!(w.get(0).unwrap().publish(5, NodeId(1)));
        assert_eq!(w.whole().read(), Some((5, NodeId(1))));
        // Part 2999 is word 3000; the words are independent.
        assert!(w.get(3000).unwrap().publish(2, NodeId(7)));
        assert!(w.get(1024).unwrap().publish(1, NodeId(3)));
        assert_eq!(w.get(3000).unwrap().read(), Some((2, NodeId(7))));
        assert_eq!(w.get(1).unwrap().read(), None);
        assert!(w.get(3001).is_none(), "no part 3000");
        assert_eq!(w.parts_published(), 2);
        assert!(std::mem::size_of::<LeaderWords>() <= 128);
    }

    proptest! {
        /// Against a naive oracle: the largest pair published so far, in
        /// lexicographic `(epoch, node)` order; `publish` says `true` exactly
        /// when the pair was above every earlier one.
        #[test]
        fn the_word_is_the_maximum_of_the_pairs_published(
            pairs in proptest::collection::vec((0u64..6, 0u32..5), 0..40)
        ) {
            let w = LeaderWord::new();
            let mut max: Option<(u64, u32)> = None;
            for (e, n) in pairs {
                let higher = max.is_none_or(|m| (e, n) > m);
                prop_assert_eq!(w.publish(e, NodeId(n)), higher);
                if higher {
                    max = Some((e, n));
                }
                prop_assert_eq!(w.read(), max.map(|(e, n)| (e, NodeId(n))));
            }
        }
    }

    /// Eight publishers with random pairs (small ranges, so they collide
    /// and race on equal epochs) and three readers that check every read
    /// is at least the one before; the final value is the maximum of all
    /// pairs, and exactly as many publishes succeeded as the word rose.
    #[test]
    fn concurrent_publishers_never_move_the_word_down() {
        const PUBLISHERS: u64 = 8;
        const READERS: usize = 3;
        const PAIRS: usize = 20_000;
        let w = LeaderWord::new();
        let done = AtomicBool::new(false);
        let start = Barrier::new(PUBLISHERS as usize + READERS);
        let (maxima, reads) = std::thread::scope(|s| {
            let publishers: Vec<_> = (0..PUBLISHERS)
                .map(|t| {
                    let (w, start) = (&w, &start);
                    s.spawn(move || {
                        // xorshift64, seeded per thread: the pairs are fixed,
                        // only the interleaving varies.
                        let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (t + 1).wrapping_mul(0xbf58_476d);
                        let mut max = (0, 0);
                        let mut wins = 0u64;
                        start.wait();
                        for _ in 0..PAIRS {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            let pair = ((x >> 8) % 5_000, ((x >> 40) % 7) as u32);
                            max = max.max(pair);
                            wins += u64::from(w.publish(pair.0, NodeId(pair.1)));
                        }
                        (max, wins)
                    })
                })
                .collect();
            let readers: Vec<_> = (0..READERS)
                .map(|_| {
                    let (w, start, done) = (&w, &start, &done);
                    s.spawn(move || {
                        start.wait();
                        let mut last = None;
                        let mut n = 0u64;
                        while !done.load(Ordering::Relaxed) {
                            let now = w.read();
                            assert!(now >= last, "read {now:?} after {last:?}");
                            last = now;
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let maxima: Vec<_> = publishers.into_iter().map(|p| p.join().unwrap()).collect();
            done.store(true, Ordering::Relaxed);
            let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
            (maxima, reads)
        });
        let max = maxima.iter().map(|&(m, _)| m).max().unwrap();
        assert_eq!(w.read(), Some((max.0, NodeId(max.1))));
        let wins: u64 = maxima.iter().map(|&(_, w)| w).sum();
        assert!(wins >= 1 && wins <= PUBLISHERS * PAIRS as u64);
        assert!(reads > 0);
    }
}

/// Model checks: every interleaving (loom) of publishers and a reader.
#[cfg(all(test, electbench_loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    #[test]
    fn racing_publishers_leave_the_maximum_and_a_reader_never_sees_it_drop() {
        loom::model(|| {
            let w = Arc::new(LeaderWord::new());
            let a = {
                let w = w.clone();
                thread::spawn(move || w.publish(2, NodeId(0)))
            };
            let b = {
                let w = w.clone();
                thread::spawn(move || (w.publish(1, NodeId(4)), w.publish(2, NodeId(1))))
            };
            let first = w.read();
            let second = w.read();
            assert!(second >= first, "{second:?} after {first:?}");
            let seen = [
                None,
                Some((1, NodeId(4))),
                Some((2, NodeId(0))),
                Some((2, NodeId(1))),
            ];
            assert!(seen.contains(&first) && seen.contains(&second));
            let won_a = a.join().unwrap();
            let (won_b1, won_b2) = b.join().unwrap();
            assert_eq!(w.read(), Some((2, NodeId(1))));
            assert!(won_b2, "(2, 1) is above everything else published");
            // (1, 4) wins only if it lands before (2, 0).
            assert!(won_b1 || won_a);
        });
    }
}
