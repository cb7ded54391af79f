//! Safety invariants of `redis/sentinel`, checked while the trial runs.
//!
//! 1. At most one Sentinel is elected leader per epoch.
//! 2. The replica a leader selects passes every exclusion rule of
//!    sentinelSelectSlave in that leader's view, and its real
//!    `replica-priority` is not 0.
//! 3. A Sentinel's durable current epoch, config epoch and vote epoch never
//!    decrease, across restarts included.
//! 4. Lost writes are counted, not judged: asynchronous replication loses
//!    acknowledged writes by design. Only when the workload arms the
//!    guarantee (`min-replicas-to-write >= 1`, `WAIT` with at least one
//!    replica, and a schedule of a single master crash with no restart) is a
//!    lost acknowledged write a violation.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{Checker, Findings, NodeId, Obs, SimTime};

use super::select;
use super::{RsNode, RsNote};

#[derive(Debug, Default)]
pub struct RsChecker {
    /// Real `replica-priority` of each Redis instance.
    pub priority: Vec<u32>,
    /// Whether a lost acknowledged write is a violation (see 4).
    pub writes_guaranteed: bool,
    leaders: BTreeMap<u64, NodeId>,
    epochs: BTreeMap<NodeId, (u64, u64, u64)>,
    acked: BTreeSet<u64>,
}

impl RsChecker {
    pub fn new(priority: Vec<u32>, writes_guaranteed: bool) -> Self {
        RsChecker {
            priority,
            writes_guaranteed,
            ..RsChecker::default()
        }
    }
}

/// The master at the end of the trial: the one the live Sentinel with the
/// highest config epoch names, if it is up; else the live instance in the
/// master role with the most data.
pub fn final_master(nodes: &[RsNode], up: &[bool]) -> Option<usize> {
    let named = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| up[*i])
        .filter_map(|(_, n)| n.sentinel())
        .max_by_key(|s| s.conf().config_epoch)
        .map(|s| s.current_master().index());
    if let Some(m) = named {
        if up[m] && nodes[m].redis().is_some_and(|r| r.is_master()) {
            return Some(m);
        }
    }
    nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| up[*i])
        .filter_map(|(i, n)| n.redis().filter(|r| r.is_master()).map(|r| (r.offset(), i)))
        .max()
        .map(|(_, i)| i)
}

impl Checker<RsNode> for RsChecker {
    fn on_record(
        &mut self,
        _now: SimTime,
        _node: NodeId,
        obs: &Obs<RsNote>,
        _nodes: &[RsNode],
    ) -> Option<String> {
        let Obs::Note(note) = obs else {
            return None;
        };
        match note {
            RsNote::Leader { sentinel, epoch } => match self.leaders.insert(*epoch, *sentinel) {
                Some(other) if other != *sentinel => Some(format!(
                    "two Sentinel leaders in epoch {epoch}: {other} and {sentinel}"
                )),
                _ => None,
            },
            RsNote::Selected {
                sentinel,
                epoch,
                chosen,
                master,
            } => {
                if let Some(why) = select::excluded(chosen, *master) {
                    return Some(format!(
                        "{sentinel} promoted {} in epoch {epoch} though it is excluded ({why:?})",
                        chosen.id
                    ));
                }
                let real = self.priority.get(chosen.id.index()).copied();
                (real == Some(0)).then(|| {
                    format!(
                        "{sentinel} promoted {} in epoch {epoch}: its replica-priority is 0",
                        chosen.id
                    )
                })
            }
            RsNote::Epochs {
                sentinel,
                current,
                config,
                leader_epoch,
            } => {
                let now = (*current, *config, *leader_epoch);
                let before = self.epochs.insert(*sentinel, now);
                match before {
                    Some(b) if b.0 > now.0 || b.1 > now.1 || b.2 > now.2 => Some(format!(
                        "{sentinel}'s durable epochs went back: (current, config, vote) {b:?} -> {now:?}"
                    )),
                    _ => None,
                }
            }
            RsNote::Acked { op, .. } => {
                self.acked.insert(*op);
                None
            }
            RsNote::Started { .. } | RsNote::Switched { .. } => None,
        }
    }

    /// `on_record` never reads `nodes`.
    fn reads_nodes(&self, _obs: &Obs<RsNote>) -> bool {
        false
    }

    fn finish(&mut self, nodes: &[RsNode], up: &[bool]) -> Findings {
        let holder = final_master(nodes, up);
        let lost = match holder {
            Some(m) => {
                let data: BTreeSet<u64> = nodes[m]
                    .redis()
                    .expect("a Redis instance")
                    .log()
                    .iter()
                    .copied()
                    .collect();
                self.acked.iter().filter(|op| !data.contains(op)).count()
            }
            // No master: a write is lost if no live instance holds it.
            None => {
                let mut held = BTreeSet::new();
                for (i, n) in nodes.iter().enumerate() {
                    if let (true, Some(r)) = (up[i], n.redis()) {
                        held.extend(r.log().iter().copied());
                    }
                }
                self.acked.iter().filter(|op| !held.contains(op)).count()
            }
        } as u64;
        let mut violations = Vec::new();
        if self.writes_guaranteed && lost > 0 {
            violations.push(format!(
                "{lost} WAIT-acknowledged writes lost after a single master crash with \
                 min-replicas-to-write >= 1"
            ));
        }
        Findings {
            lost_acked_writes: lost,
            violations,
        }
    }
}
