//! The invariants of `eureka/peer-replication`:
//!
//! * nothing is evicted while self-preservation is on (the eviction run
//!   reports the renewal count and threshold it saw, and the checker
//!   recomputes `isLeaseExpirationEnabled` from them);
//! * every registration that stays renewed reaches every live peer: at the
//!   end of a trial, an instance whose lease server H acknowledged a renewal
//!   at `ta` (3 to 30 s before the end) is held by every live server S that
//!   has run since `ta - 120 s` and has received a batch from H at
//!   `ta + 2 s` or later (the heartbeat, or its 404 and the register that
//!   follows, went out in an earlier batch).

use std::collections::BTreeMap;

use crate::engine::{Checker, Findings, NodeId, Obs, SimDuration, SimTime};

use super::{EuNode, EuNote};

#[derive(Clone, Debug, Default)]
pub struct EuChecker {
    now: SimTime,
    /// Instance -> (server that last acknowledged its renewal, when).
    acked: BTreeMap<u32, (NodeId, SimTime)>,
    /// Node id of instance 0.
    pub first_instance: u32,
}

impl EuChecker {
    pub fn new(first_instance: u32) -> Self {
        EuChecker {
            first_instance,
            ..EuChecker::default()
        }
    }
}

impl Checker<EuNode> for EuChecker {
    fn on_record(
        &mut self,
        now: SimTime,
        _node: NodeId,
        obs: &Obs<EuNote>,
        _nodes: &[EuNode],
    ) -> Option<String> {
        self.now = now;
        match obs {
            Obs::Note(EuNote::Evicted {
                server,
                inst,
                renews_last_min,
                threshold,
                self_preservation,
            }) => {
                let enabled = !self_preservation || (*threshold > 0 && renews_last_min > threshold);
                (!enabled).then(|| {
                    format!(
                        "{server} evicted instance {inst} in self-preservation \
                         (renews last minute {renews_last_min} <= threshold {threshold})"
                    )
                })
            }
            Obs::Note(EuNote::Acked { inst, server }) => {
                self.acked.insert(*inst, (*server, now));
                None
            }
            _ => None,
        }
    }

    /// `on_record` never reads `nodes`.
    fn reads_nodes(&self, _obs: &Obs<EuNote>) -> bool {
        false
    }

    fn finish(&mut self, nodes: &[EuNode], up: &[bool]) -> Findings {
        let mut f = Findings::default();
        let end = self.now;
        for (&inst, &(home, ta)) in &self.acked {
            let inode = (self.first_instance + inst) as usize;
            if !up[inode] || !up[home.index()] {
                continue;
            }
            if ta + SimDuration::from_ms(30_000) < end || ta + SimDuration::from_ms(3_000) > end {
                continue;
            }
            for (s, node) in nodes.iter().enumerate() {
                let EuNode::Server(srv) = node else { continue };
                if s == home.index() || !up[s] {
                    continue;
                }
                let settled = srv
                    .started
                    .is_none_or(|t| t + SimDuration::from_ms(120_000) <= ta);
                let heard = srv
                    .last_batch_from
                    .get(&home)
                    .is_some_and(|t| *t >= ta + SimDuration::from_ms(2_000));
                if settled && heard && !srv.holds(inst) {
                    f.violations.push(format!(
                        "instance {inst}, renewed at {home} at {:.0} ms, is missing on live peer n{}",
                        ta.as_ms_f64(),
                        s + 1
                    ));
                }
            }
        }
        f
    }
}
