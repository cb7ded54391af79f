//! Safety invariants of every Raft path, checked while the trial runs.
//!
//! 1. Election safety: at most one leader per term.
//! 2. Committed entries are never lost or reordered: every entry a leader
//!    reports committed agrees with every entry committed before at that
//!    index (same term, same write), and a new leader's log holds every
//!    entry committed in an earlier term (Leader Completeness, §5.4): by a
//!    leader of a lower term than its own. A candidate whose granted votes
//!    were held up (a one-way partition) may win an old term after a later
//!    term committed more; it lacks those entries legitimately and can
//!    commit nothing, since a majority has moved past its term.
//! 3. No acknowledged write is lost: at the end of the trial the serving
//!    leader of the highest term holds every write a leader acknowledged to
//!    its client (with no serving leader, some server's log must hold it).

use std::collections::BTreeMap;

use crate::engine::{lost_acked, Checker, Findings, NodeId, Obs, SimTime};

use super::core::{Entry, State};
use super::{RaftNode, RaftNote};

#[derive(Debug, Default)]
pub struct RaftChecker {
    leaders: BTreeMap<u64, NodeId>,
    /// Committed entries by index.
    committed: Vec<Entry>,
    /// For each committed index, the term of the leader that first
    /// committed it.
    committed_in: Vec<u64>,
    /// Acknowledged writes: (index, term, op).
    acked: Vec<(u64, u64, u64)>,
}

fn holds(log: &[Entry], index: u64, term: u64, op: u64) -> bool {
    log.get(index as usize - 1)
        .is_some_and(|e| e.term == term && e.op.map(|o| o.1) == Some(op))
}

impl RaftChecker {
    fn missing_acked(&self, log: &[Entry]) -> Vec<(u64, u64, u64)> {
        self.acked
            .iter()
            .filter(|(i, t, o)| !holds(log, *i, *t, *o))
            .copied()
            .collect()
    }
}

impl Checker<RaftNode> for RaftChecker {
    fn on_record(
        &mut self,
        _now: SimTime,
        _node: NodeId,
        obs: &Obs<RaftNote>,
        nodes: &[RaftNode],
    ) -> Option<String> {
        let Obs::Note(note) = obs else { return None };
        match note {
            RaftNote::Elected { term, leader } => {
                if let Some(other) = self.leaders.insert(*term, *leader) {
                    if other != *leader {
                        return Some(format!("two leaders in term {term}: {other} and {leader}"));
                    }
                }
                let log = nodes[leader.index()].server()?.log();
                for (k, e) in self.committed.iter().enumerate() {
                    if self.committed_in[k] < *term && log.get(k).copied() != Some(*e) {
                        return Some(format!(
                            "{leader} became leader of term {term} without committed entry {} (term {})",
                            k + 1,
                            e.term
                        ));
                    }
                }
                None
            }
            RaftNote::Committed {
                leader,
                term,
                from,
                entries,
            } => {
                for (k, e) in entries.iter().enumerate() {
                    let i = *from as usize + k; // 1-based
                    match self.committed.get(i - 1) {
                        Some(old) if old != e => {
                            return Some(format!(
                                "{leader} (term {term}) committed entry {i} of term {} where entry {i} of term {} was committed before",
                                e.term, old.term
                            ))
                        }
                        Some(_) => {}
                        None if i - 1 == self.committed.len() => {
                            self.committed.push(*e);
                            self.committed_in.push(*term);
                        }
                        None => {
                            return Some(format!(
                                "{leader} (term {term}) committed entry {i} past a gap at {}",
                                self.committed.len() + 1
                            ))
                        }
                    }
                }
                None
            }
            RaftNote::Ack { index, term, op } => {
                self.acked.push((*index, *term, *op));
                None
            }
            RaftNote::Lost { .. } => None,
        }
    }

    /// Only a new leader's check reads its log.
    fn reads_nodes(&self, obs: &Obs<RaftNote>) -> bool {
        matches!(obs, Obs::Note(RaftNote::Elected { .. }))
    }

    fn finish(&mut self, nodes: &[RaftNode], up: &[bool]) -> Findings {
        let leader = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                n.server()
                    .filter(|s| up[i] && s.state() == State::Leader && s.serving())
            })
            .max_by_key(|s| s.term());
        Findings::promised(lost_acked(
            leader.map(|l| self.missing_acked(l.log())),
            self.acked.clone(),
            nodes
                .iter()
                .filter_map(RaftNode::server)
                .map(|s| self.missing_acked(s.log())),
        ))
    }
}
