//! Safety invariants of `zookeeper/fle`, checked while the trial runs.
//!
//! 1. At most one leader establishes itself (NEWLEADER acked by a quorum) per
//!    Zab epoch.
//! 2. An elected leader's vote `(peerEpoch, zxid)` is at least the
//!    `(currentEpoch, lastLoggedZxid)` of every member of the quorum that
//!    elected it: the LOOKING voters of its final FLE round (those still
//!    looking in that round when it decides, whose durable state cannot have
//!    changed since they voted), and the ACKEPOCH quorum of Zab discovery.
//! 3. No acknowledged write is lost: when a leader establishes itself its log
//!    holds every write a client has seen acknowledged, and at the end of the
//!    trial the serving leader's log does (with no serving leader, some
//!    server's durable log, crashed or not, must hold each one).
//! 4. A learner serves only committed transactions: when it starts serving
//!    (UPTODATE), what it has applied is no more than its leader committed.

use std::collections::BTreeMap;

use crate::engine::{lost_acked, Checker, Findings, NodeId, Obs, SimTime};

use super::app::App;
use super::vote::{ServerState, Zxid};
use super::{ZkNode, ZkNote};

#[derive(Debug, Default)]
pub struct ZkChecker {
    established: BTreeMap<u64, NodeId>,
    /// Acknowledged writes: zxid -> op id.
    acked: BTreeMap<Zxid, u64>,
}

impl ZkChecker {
    fn missing<A: App>(&self, node: &ZkNode<A>) -> Vec<(Zxid, u64)> {
        let Some(s) = node.server() else {
            return Vec::new();
        };
        let log = s.log();
        self.acked
            .iter()
            .filter(|(z, op)| {
                log.binary_search_by_key(*z, |t| t.zxid)
                    .map_or(true, |i| log[i].op != **op)
            })
            .map(|(z, op)| (*z, *op))
            .collect()
    }
}

impl<A: App> Checker<ZkNode<A>> for ZkChecker {
    fn on_record(
        &mut self,
        _now: SimTime,
        node: NodeId,
        obs: &Obs<ZkNote<A::Note>>,
        nodes: &[ZkNode<A>],
    ) -> Option<String> {
        let Obs::Note(note) = obs else {
            return None;
        };
        match note {
            ZkNote::Acked { op, zxid } => {
                if let Some(prev) = self.acked.insert(*zxid, *op) {
                    if prev != *op {
                        return Some(format!(
                            "zxid {zxid} acknowledged for two different writes ({prev:#x} and {op:#x})"
                        ));
                    }
                }
                None
            }
            ZkNote::Decided {
                leader,
                peer_epoch,
                zxid,
                supporters,
            } => {
                let clock = nodes[leader.index()].server()?.logical_clock();
                for s in supporters {
                    let v = nodes[s.index()].server()?;
                    if v.state() != ServerState::Looking || v.logical_clock() != clock {
                        continue;
                    }
                    let theirs = (v.current_epoch(), v.last_logged_zxid());
                    if theirs > (*peer_epoch, *zxid) {
                        return Some(format!(
                            "{leader} elected with (epoch {peer_epoch}, zxid {zxid}) but its voter {s} has (epoch {}, zxid {})",
                            theirs.0, theirs.1
                        ));
                    }
                }
                None
            }
            ZkNote::EpochAcked {
                leader,
                epoch,
                summary,
                quorum,
            } => {
                for s in quorum.iter().filter(|s| *s != leader) {
                    let v = nodes[s.index()].server()?;
                    // A quorum member has now accepted `epoch`; its currentEpoch
                    // and log are still what it reported in ACKEPOCH.
                    let theirs = (v.current_epoch(), v.last_logged_zxid());
                    if v.accepted_epoch() == *epoch && theirs > *summary {
                        return Some(format!(
                            "{leader} took epoch {epoch} with (epoch {}, zxid {}) behind quorum member {s} at (epoch {}, zxid {})",
                            summary.0, summary.1, theirs.0, theirs.1
                        ));
                    }
                }
                None
            }
            ZkNote::UpToDate { leader, applied } => {
                let committed = nodes[leader.index()].server()?.committed()?;
                (*applied > committed).then(|| {
                    format!(
                        "{node} serves from UPTODATE having applied zxid {applied}, but its leader {leader} has committed only up to {committed}"
                    )
                })
            }
            ZkNote::Established { leader, epoch } => {
                if let Some(other) = self.established.insert(*epoch, *leader) {
                    if other != *leader {
                        return Some(format!(
                            "two leaders established in epoch {epoch}: {other} and {leader}"
                        ));
                    }
                }
                let missing = self.missing(&nodes[leader.index()]);
                missing.first().map(|(z, op)| {
                    format!(
                        "{leader} established epoch {epoch} without acknowledged write {op:#x} (zxid {z}); {} acknowledged writes missing",
                        missing.len()
                    )
                })
            }
            _ => None,
        }
    }

    fn finish(&mut self, nodes: &[ZkNode<A>], up: &[bool]) -> Findings {
        // Against the serving leader of the highest epoch, if there is one;
        // otherwise a write is lost only if no server's durable log (crashed
        // ones included) holds it.
        let leader = nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| {
                up[*i]
                    && n.server()
                        .is_some_and(|s| s.state() == ServerState::Leading && s.serving())
            })
            .max_by_key(|(_, n)| n.server().map(|s| s.current_epoch()))
            .map(|(_, n)| n);
        let acked: Vec<(Zxid, u64)> = self.acked.iter().map(|(z, o)| (*z, *o)).collect();
        Findings::promised(lost_acked(
            leader.map(|l| self.missing(l)),
            acked,
            nodes.iter().map(|n| self.missing(n)),
        ))
    }
}
