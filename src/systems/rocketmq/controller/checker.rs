//! Safety invariants of `rocketmq/controller`, checked while the trial runs.
//!
//! 1. An elected master was in the SyncStateSet, unless
//!    `enableElectUncleanMaster` allowed an unclean election (then it is
//!    counted in `unclean_elections`, not a violation).
//! 2. The controller's master epoch only increases, election after
//!    election; a broker never takes a role of a lower master epoch than one
//!    it took before in the same process.
//! 3. Lost acknowledged writes are counted. They are a violation only where
//!    the real system promises none: `allAckInSyncStateSet` = true and no
//!    unclean election (every acknowledged write is on every SyncStateSet
//!    member, and the new master comes from that set).

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{lost_acked, Checker, Findings, NodeId, Obs, SimTime};

use super::broker::BrokerRole;
use super::{RcNode, RcNote};

#[derive(Debug, Default)]
pub struct RcChecker {
    pub brokers: usize,
    pub promises_no_loss: bool,
    master_epoch: u32,
    roles: BTreeMap<(u32, u32), u32>,
    acked: BTreeSet<u64>,
}

impl RcChecker {
    pub fn new(brokers: usize, promises_no_loss: bool) -> Self {
        RcChecker {
            brokers,
            promises_no_loss,
            master_epoch: 1,
            ..RcChecker::default()
        }
    }
}

/// The master at the end: the controller's, if it is up and holds the role
/// in that epoch.
pub fn final_master(nodes: &[RcNode], up: &[bool], brokers: usize) -> Option<usize> {
    let info = nodes[brokers].controller()?.info();
    let m = info.master? as usize;
    let b = nodes[m].broker()?;
    (up[m] && b.role == BrokerRole::Master && b.master_epoch == info.master_epoch).then_some(m)
}

impl Checker<RcNode> for RcChecker {
    fn on_record(
        &mut self,
        _now: SimTime,
        _node: NodeId,
        obs: &Obs<RcNote>,
        _nodes: &[RcNode],
    ) -> Option<String> {
        let Obs::Note(note) = obs else {
            return None;
        };
        match note {
            RcNote::Elected {
                master,
                master_epoch,
                sync_state_set,
                unclean_allowed,
            } => {
                let before = std::mem::replace(&mut self.master_epoch, *master_epoch);
                if *master_epoch <= before {
                    return Some(format!(
                        "the controller's master epoch went from {before} to {master_epoch}"
                    ));
                }
                (!sync_state_set.contains(master) && !unclean_allowed).then(|| {
                    format!(
                        "broker {master} elected master in epoch {master_epoch} from outside the \
                         SyncStateSet {sync_state_set:?} with enableElectUncleanMaster = false"
                    )
                })
            }
            RcNote::NoMaster { master_epoch } => {
                let before = std::mem::replace(&mut self.master_epoch, *master_epoch);
                (*master_epoch <= before).then(|| {
                    format!("the controller's master epoch went from {before} to {master_epoch}")
                })
            }
            RcNote::RoleChange {
                broker,
                incarnation,
                epoch,
            } => match self.roles.insert((*broker, *incarnation), *epoch) {
                Some(b) if b > *epoch => Some(format!(
                    "broker {broker} took a role of master epoch {epoch} after one of {b}"
                )),
                _ => None,
            },
            RcNote::Acked { op, .. } => {
                self.acked.insert(*op);
                None
            }
        }
    }

    /// `on_record` never reads `nodes`.
    fn reads_nodes(&self, _obs: &Obs<RcNote>) -> bool {
        false
    }

    fn finish(&mut self, nodes: &[RcNode], up: &[bool]) -> Findings {
        let acked: Vec<u64> = self.acked.iter().copied().collect();
        let holds = |i: usize| -> BTreeSet<u64> {
            nodes[i]
                .broker()
                .map(|b| b.d.log.iter().map(|e| e.op).collect())
                .unwrap_or_default()
        };
        let at_master = final_master(nodes, up, self.brokers).map(|m| {
            let h = holds(m);
            acked
                .iter()
                .copied()
                .filter(|a| !h.contains(a))
                .collect::<Vec<_>>()
        });
        let each_lacks = (0..self.brokers).map(|i| {
            let h = holds(i);
            acked
                .iter()
                .copied()
                .filter(|a| !h.contains(a))
                .collect::<Vec<_>>()
        });
        let lost = lost_acked(at_master, acked.clone(), each_lacks);
        let mut violations = Vec::new();
        if self.promises_no_loss && lost > 0 {
            violations.push(format!(
                "{lost} acknowledged writes lost with allAckInSyncStateSet = true and no \
                 unclean election"
            ));
        }
        Findings {
            lost_acked_writes: lost as u64,
            violations,
        }
    }
}
