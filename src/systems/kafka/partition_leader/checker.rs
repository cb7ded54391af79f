//! Safety of `kafka/partition-leader`, checked while the trial runs:
//!
//! 1. An elected leader was in the ISR it was elected from, unless
//!    `unclean.leader.election.enable` is on (then the election is counted
//!    in `unclean_elections`).
//! 2. A partition's leader epoch only increases across its leader changes.
//!
//! At the end, the acknowledged writes missing from each partition's
//! current leader's log are `lost_acked_writes`. Losing them is a violation
//! only where Kafka promises it cannot happen: acks=all,
//! `min.insync.replicas` >= 2 and clean election. Elsewhere (acks=0/1,
//! unclean election, min ISR 1) it is the measured trade-off.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::layout::NO_LEADER;
use super::params::Acks;
use super::{Note, PlNode, Shared};
use crate::engine::{lost_acked, Checker, Findings, NodeId, Obs, SimTime};

#[derive(Debug)]
pub struct PlChecker {
    sh: Arc<Shared>,
    last_epoch: Vec<u32>,
    /// Acknowledged write ids per partition with traffic.
    acked: Vec<Vec<u64>>,
}

impl PlChecker {
    pub fn new(sh: Arc<Shared>) -> Self {
        PlChecker {
            last_epoch: vec![0; sh.layout.partitions as usize],
            acked: vec![Vec::new(); sh.layout.active.len()],
            sh,
        }
    }

    /// Whether the configuration promises that no acknowledged write is lost.
    pub fn promised(&self) -> bool {
        let p = &self.sh.p;
        p.acks == Acks::All && p.min_insync >= 2 && !p.unclean
    }
}

impl Checker<PlNode> for PlChecker {
    fn on_record(
        &mut self,
        _now: SimTime,
        _node: NodeId,
        obs: &Obs<Note>,
        _nodes: &[PlNode],
    ) -> Option<String> {
        let Obs::Note(note) = obs else {
            return None;
        };
        match *note {
            Note::Elected {
                p,
                leader,
                leader_epoch,
                prior_isr,
                prior_epoch,
            } => {
                let last = &mut self.last_epoch[p as usize];
                let floor = (*last).max(prior_epoch);
                if leader_epoch <= floor {
                    return Some(format!(
                        "partition {p}: leader epoch {leader_epoch} does not exceed {floor}"
                    ));
                }
                *last = leader_epoch;
                if leader != NO_LEADER && !self.sh.p.unclean {
                    let pos = self.sh.layout.position(p, leader)?;
                    if prior_isr & (1 << pos) == 0 {
                        return Some(format!(
                            "partition {p}: broker {leader} elected from outside the ISR \
                             {:?} with unclean election off",
                            self.sh.layout.brokers_of(p, prior_isr)
                        ));
                    }
                }
                None
            }
            Note::Acked { ai, id } => {
                self.acked[ai as usize].push(id);
                None
            }
            Note::IsrShrink { .. } => None,
        }
    }

    /// `on_record` never reads `nodes`.
    fn reads_nodes(&self, _obs: &Obs<Note>) -> bool {
        false
    }

    fn finish(&mut self, nodes: &[PlNode], up: &[bool]) -> Findings {
        let l = &self.sh.layout;
        let ctrl = nodes[l.brokers as usize]
            .controller()
            .expect("the controller follows the brokers");
        let ids = |b: u32, ai: usize| -> BTreeSet<u64> {
            nodes[b as usize]
                .broker()
                .and_then(|br| br.reps[ai].as_ref())
                .map(|r| r.log.iter().map(|e| e.id).collect())
                .unwrap_or_default()
        };
        let mut lost = 0usize;
        for (ai, acked) in self.acked.iter().enumerate() {
            if acked.is_empty() {
                continue;
            }
            let p = l.active[ai];
            let leader = ctrl.leader[p as usize];
            let at_leader = (leader != NO_LEADER && up[leader as usize]).then(|| {
                let have = ids(leader, ai);
                acked
                    .iter()
                    .copied()
                    .filter(|a| !have.contains(a))
                    .collect()
            });
            let each = (0..l.rf).map(|k| {
                let have = ids(l.replica(p, k), ai);
                acked
                    .iter()
                    .copied()
                    .filter(|a| !have.contains(a))
                    .collect()
            });
            lost += lost_acked(at_leader, acked.clone(), each);
        }
        if self.promised() {
            Findings::promised(lost)
        } else {
            Findings {
                lost_acked_writes: lost as u64,
                violations: Vec::new(),
            }
        }
    }
}
