//! Safety invariants of `redis/cluster`, checked while the trial runs.
//!
//! 1. A master votes at most once per epoch (`lastVoteEpoch`), across
//!    restarts included.
//! 2. The config epochs a shard is claimed with only increase: every
//!    promotion claims its shard with a config epoch above every earlier
//!    claim of that shard.
//! 3. At most one master per slot range per config epoch.
//! 4. A node's durable currentEpoch and lastVoteEpoch never decrease.
//!
//! Lost writes are counted, not judged: asynchronous replication loses
//! acknowledged writes by design (`lost_acked_writes`).

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{Checker, Findings, NodeId, Obs, SimTime};

use super::{RcNode, RcNote};

#[derive(Debug, Default)]
pub struct RcChecker {
    votes: BTreeMap<(NodeId, u64), NodeId>,
    /// Per shard: config epoch -> the node that claimed it.
    claims: BTreeMap<u32, BTreeMap<u64, NodeId>>,
    epochs: BTreeMap<NodeId, (u64, u64)>,
    /// Acknowledged writes per shard.
    acked: BTreeMap<u32, BTreeSet<u64>>,
}

impl RcChecker {
    pub fn new() -> Self {
        RcChecker::default()
    }
}

/// The master of `shard` at the end of a trial: the live node that serves it
/// in its own view with the highest config epoch.
pub fn final_master(nodes: &[RcNode], up: &[bool], shard: u32) -> Option<usize> {
    nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| up[*i])
        .filter_map(|(i, n)| n.node().map(|c| (i, c)))
        .filter(|(_, c)| c.my_shard() == Some(shard))
        .max_by_key(|(i, c)| (c.conf().shards[shard as usize].1, *i))
        .map(|(i, _)| i)
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
        match *note {
            RcNote::Voted {
                voter,
                epoch,
                candidate,
            } => self.votes.insert((voter, epoch), candidate).map(|other| {
                format!("master {voter} voted twice in epoch {epoch}: for {other} and {candidate}")
            }),
            RcNote::Claim {
                node,
                shard,
                config_epoch,
                promotion,
            } => {
                let claims = self.claims.entry(shard).or_default();
                if let Some(other) = claims.get(&config_epoch) {
                    if *other != node {
                        return Some(format!(
                            "two masters of shard {shard} in config epoch {config_epoch}: \
                             {other} and {node}"
                        ));
                    }
                }
                let top = claims.keys().next_back().copied();
                claims.insert(config_epoch, node);
                match top {
                    Some(t) if promotion && t >= config_epoch => Some(format!(
                        "{node} was promoted for shard {shard} with config epoch \
                         {config_epoch}, not above the earlier {t}"
                    )),
                    _ => None,
                }
            }
            RcNote::Conf {
                node,
                current_epoch,
                last_vote_epoch,
            } => {
                let now = (current_epoch, last_vote_epoch);
                match self.epochs.insert(node, now) {
                    Some(b) if b.0 > now.0 || b.1 > now.1 => Some(format!(
                        "{node}'s durable (currentEpoch, lastVoteEpoch) went back: {b:?} -> {now:?}"
                    )),
                    _ => None,
                }
            }
            RcNote::Acked { op, shard } => {
                self.acked.entry(shard).or_default().insert(op);
                None
            }
        }
    }

    /// `on_record` never reads `nodes`.
    fn reads_nodes(&self, _obs: &Obs<RcNote>) -> bool {
        false
    }

    fn finish(&mut self, nodes: &[RcNode], up: &[bool]) -> Findings {
        let mut lost = 0u64;
        for (&shard, acked) in &self.acked {
            let held: BTreeSet<u64> = match final_master(nodes, up, shard) {
                Some(m) => nodes[m]
                    .node()
                    .expect("a cluster node")
                    .log()
                    .iter()
                    .copied()
                    .collect(),
                // No master: a write is lost if no live node holds it.
                None => nodes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| up[*i])
                    .filter_map(|(_, n)| n.node())
                    .flat_map(|c| c.log().iter().copied())
                    .collect(),
            };
            lost += acked.iter().filter(|op| !held.contains(op)).count() as u64;
        }
        Findings {
            lost_acked_writes: lost,
            violations: Vec::new(),
        }
    }
}
