//! Identifiers and the vote rules of FastLeaderElection.

use std::collections::BTreeMap;
use std::fmt;

/// A ZooKeeper transaction id: `epoch << 32 | counter` (ZxidUtils.java).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Zxid(pub u64);

impl Zxid {
    pub fn new(epoch: u64, counter: u64) -> Self {
        Zxid(epoch << 32 | (counter & 0xffff_ffff))
    }

    pub fn epoch(self) -> u64 {
        self.0 >> 32
    }

    pub fn counter(self) -> u64 {
        self.0 & 0xffff_ffff
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// A server id (`myid`), 1-based like ZooKeeper's.
pub type Sid = u64;

/// QuorumPeer.ServerState. Observers are not modelled.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
}

/// A vote as FastLeaderElection keeps it (Vote.java).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub leader: Sid,
    pub zxid: Zxid,
    pub election_epoch: u64,
    pub peer_epoch: u64,
    pub state: ServerState,
}

impl Vote {
    /// Vote.java `equals`: when either side is LOOKING, votes match on leader,
    /// zxid, election epoch and peer epoch; between FOLLOWING/LEADING votes,
    /// only leader and peer epoch count (all modelled servers speak the same
    /// notification version).
    pub fn matches(&self, other: &Vote) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            self.leader == other.leader
                && self.zxid == other.zxid
                && self.election_epoch == other.election_epoch
                && self.peer_epoch == other.peer_epoch
        } else {
            self.leader == other.leader && self.peer_epoch == other.peer_epoch
        }
    }
}

/// Full key of a vote: what two votes share when either is LOOKING.
type FullKey = (Sid, Zxid, u64, u64);

fn full_key(v: &Vote) -> FullKey {
    (v.leader, v.zxid, v.election_epoch, v.peer_epoch)
}

/// The votes one election holds (`recvset`, `outofelection`): the latest vote
/// of each server, with tallies kept as votes come and go, so "how many votes
/// match this one" costs a map lookup instead of a scan of every server's
/// vote. `lookForLeader`'s `termPredicate` scans; the count is the same
/// ([`Vote::matches`] on each vote), only cheaper for large ensembles.
#[derive(Clone, Debug, Default)]
pub struct VoteSet {
    by_sid: BTreeMap<Sid, Vote>,
    /// Every vote by full key.
    full: BTreeMap<FullKey, u32>,
    /// LOOKING votes by full key.
    looking: BTreeMap<FullKey, u32>,
    /// FOLLOWING/LEADING votes by (leader, peer epoch).
    settled: BTreeMap<(Sid, u64), u32>,
}

fn bump<K: Ord>(m: &mut BTreeMap<K, u32>, k: K, up: bool) {
    if up {
        *m.entry(k).or_insert(0) += 1;
    } else if let Some(c) = m.get_mut(&k) {
        *c -= 1;
        if *c == 0 {
            m.remove(&k);
        }
    }
}

impl VoteSet {
    fn count(&mut self, v: &Vote, up: bool) {
        bump(&mut self.full, full_key(v), up);
        if v.state == ServerState::Looking {
            bump(&mut self.looking, full_key(v), up);
        } else {
            bump(&mut self.settled, (v.leader, v.peer_epoch), up);
        }
    }

    /// Record `v` as `sid`'s latest vote.
    pub fn insert(&mut self, sid: Sid, v: Vote) {
        if let Some(old) = self.by_sid.insert(sid, v) {
            self.count(&old, false);
        }
        self.count(&v, true);
    }

    pub fn clear(&mut self) {
        *self = VoteSet::default();
    }

    pub fn get(&self, sid: &Sid) -> Option<&Vote> {
        self.by_sid.get(sid)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Sid, &Vote)> {
        self.by_sid.iter()
    }

    /// How many held votes match `target` ([`Vote::matches`]).
    pub fn matching(&self, target: &Vote) -> usize {
        let get = |m: &BTreeMap<FullKey, u32>| m.get(&full_key(target)).copied().unwrap_or(0);
        let n = if target.state == ServerState::Looking {
            get(&self.full)
        } else {
            get(&self.looking)
                + self
                    .settled
                    .get(&(target.leader, target.peer_epoch))
                    .copied()
                    .unwrap_or(0)
        };
        n as usize
    }
}

/// FastLeaderElection.java `totalOrderPredicate`: does candidate `new` beat
/// `cur`? Higher peer epoch first, then higher zxid, then higher sid. Every
/// modelled server is a voter of weight 1, so the weight test always passes.
pub fn beats(new: (u64, Zxid, Sid), cur: (u64, Zxid, Sid)) -> bool {
    new > cur
}

/// Majority quorum (QuorumMaj): strictly more than half of `voters`.
pub fn is_quorum(count: usize, voters: usize) -> bool {
    2 * count > voters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(leader: Sid, zxid: u64, ee: u64, pe: u64, state: ServerState) -> Vote {
        Vote {
            leader,
            zxid: Zxid(zxid),
            election_epoch: ee,
            peer_epoch: pe,
            state,
        }
    }

    #[test]
    fn higher_peer_epoch_beats_higher_zxid_and_sid() {
        assert!(beats((2, Zxid(1), 1), (1, Zxid(100), 9)));
        assert!(!beats((1, Zxid(100), 9), (2, Zxid(1), 1)));
    }

    #[test]
    fn higher_zxid_beats_higher_sid_within_an_epoch() {
        assert!(beats((1, Zxid(5), 1), (1, Zxid(4), 9)));
        assert!(!beats((1, Zxid(4), 9), (1, Zxid(5), 1)));
    }

    #[test]
    fn sid_breaks_ties_and_a_vote_never_beats_itself() {
        assert!(beats((1, Zxid(5), 3), (1, Zxid(5), 2)));
        assert!(!beats((1, Zxid(5), 3), (1, Zxid(5), 3)));
    }

    #[test]
    fn zxid_packs_epoch_and_counter() {
        let z = Zxid::new(3, 7);
        assert_eq!((z.epoch(), z.counter()), (3, 7));
        assert!(Zxid::new(2, 0xffff_fffe) < Zxid::new(3, 0));
    }

    #[test]
    fn looking_votes_compare_election_epoch_but_settled_votes_do_not() {
        use ServerState::*;
        let a = v(3, 10, 4, 1, Looking);
        assert!(a.matches(&v(3, 10, 4, 1, Looking)));
        assert!(!a.matches(&v(3, 10, 5, 1, Looking)));
        // One side LOOKING: all four fields count.
        assert!(a.matches(&v(3, 10, 4, 1, Following)));
        assert!(!a.matches(&v(3, 11, 4, 1, Following)));
        let f = v(3, 10, 4, 1, Following);
        assert!(f.matches(&v(3, 99, 7, 1, Leading)));
        assert!(!f.matches(&v(3, 10, 4, 2, Leading)));
    }

    proptest::proptest! {
        #[test]
        fn vote_set_counts_what_a_scan_counts(
            ops in proptest::collection::vec(
                (1u64..6, 1u64..4, 0u64..3, 1u64..3, 1u64..3, 0u8..3),
                0..60,
            ),
            target in (1u64..4, 0u64..3, 1u64..3, 1u64..3, 0u8..3),
        ) {
            let state = |k: u8| match k {
                0 => ServerState::Looking,
                1 => ServerState::Following,
                _ => ServerState::Leading,
            };
            let mut set = VoteSet::default();
            let mut naive: BTreeMap<Sid, Vote> = BTreeMap::new();
            for (sid, leader, zxid, ee, pe, st) in ops {
                let vote = v(leader, zxid, ee, pe, state(st));
                set.insert(sid, vote);
                naive.insert(sid, vote);
            }
            let t = v(target.0, target.1, target.2, target.3, state(target.4));
            let want = naive.values().filter(|x| x.matches(&t)).count();
            proptest::prop_assert_eq!(set.matching(&t), want);
        }
    }

    #[test]
    fn quorum_is_a_strict_majority() {
        assert!(!is_quorum(2, 4));
        assert!(is_quorum(3, 5));
        assert!(!is_quorum(2, 5));
        assert!(is_quorum(1, 1));
    }
}
