//! The iteration order of the coordinator's member map.
//!
//! `GroupMetadata.members` is a Scala 2.13 `mutable.HashMap[String,
//! MemberMetadata]`. Its iteration order, which picks the next group leader
//! (`members.keys.headOption`), is: table slots in index order, and within a
//! slot the entries sorted by their (improved) hash, equal hashes in
//! insertion order. The hash of a key is Java's `String.hashCode` improved as
//! `h ^ (h >>> 16)`; the slot is `hash & (capacity - 1)`. The table starts at
//! 16 slots and doubles before an insertion would bring the size to
//! `0.75 x capacity`; it never shrinks when members leave. Resizing splits
//! each slot in order, so the order is always the one above for the current
//! capacity.

/// Java's `String.hashCode` over the UTF-16 code units of `s`.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Scala 2.13 `mutable.HashMap.improveHash`.
pub fn improve(h: i32) -> i32 {
    h ^ ((h as u32) >> 16) as i32
}

/// The table's size and capacity, as the real map keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub capacity: u32,
    pub size: u32,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            capacity: 16,
            size: 0,
        }
    }
}

impl Table {
    /// `put` of a new key: grow first when `size + 1 >= threshold`.
    pub fn insert(&mut self) {
        if f64::from(self.size + 1) >= threshold(self.capacity) {
            self.capacity *= 2;
        }
        self.size += 1;
    }

    pub fn remove(&mut self) {
        self.size -= 1;
    }

    /// The sort key of `key` in iteration order (ties: insertion order,
    /// which the caller appends).
    pub fn order_key(&self, key: &str) -> (u32, i32) {
        let h = improve(java_string_hash(key));
        ((h as u32) & (self.capacity - 1), h)
    }
}

/// `newThreshold`: `(capacity x 0.75).toInt`.
fn threshold(capacity: u32) -> f64 {
    (f64::from(capacity) * 0.75).floor()
}
