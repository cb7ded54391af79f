//! Identifiers and the vote rules of FastLeaderElection.

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

    #[test]
    fn quorum_is_a_strict_majority() {
        assert!(!is_quorum(2, 4));
        assert!(is_quorum(3, 5));
        assert!(!is_quorum(2, 5));
        assert!(is_quorum(1, 1));
    }
}
