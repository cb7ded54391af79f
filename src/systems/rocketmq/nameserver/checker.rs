//! The invariant of `rocketmq/nameserver`: a broker that keeps heartbeating
//! is never removed. The checker keeps its own record of when each
//! NameServer last received a registration from each broker, and a scan
//! that removes a broker registered there within the expiry is a violation.

use std::collections::BTreeMap;

use crate::engine::{Checker, Findings, NodeId, Obs, SimDuration, SimTime};

use super::{NsNode, NsNote};

#[derive(Clone, Debug, Default)]
pub struct NsChecker {
    pub expiry: SimDuration,
    /// (NameServer, broker) -> last registration received.
    last: BTreeMap<(NodeId, u32), SimTime>,
}

impl NsChecker {
    pub fn new(expiry: SimDuration) -> Self {
        NsChecker {
            expiry,
            ..NsChecker::default()
        }
    }
}

impl Checker<NsNode> for NsChecker {
    fn on_record(
        &mut self,
        now: SimTime,
        _node: NodeId,
        obs: &Obs<NsNote>,
        _nodes: &[NsNode],
    ) -> Option<String> {
        match obs {
            Obs::Note(NsNote::Registered { namesrv, broker }) => {
                self.last.insert((*namesrv, *broker), now);
                None
            }
            Obs::Note(NsNote::Scanned {
                namesrv, broker, ..
            }) => {
                let last = self.last.get(&(*namesrv, *broker)).copied();
                let recent = last.is_some_and(|t| t + self.expiry >= now);
                recent.then(|| {
                    format!(
                        "{namesrv} removed broker {broker}, which registered with it at {:.0} ms, \
                         within {} ms",
                        last.map_or(0.0, |t| t.as_ms_f64()),
                        self.expiry.as_ms_f64()
                    )
                })
            }
            _ => None,
        }
    }

    /// `on_record` never reads `nodes`.
    fn reads_nodes(&self, _obs: &Obs<NsNote>) -> bool {
        false
    }

    fn finish(&mut self, _nodes: &[NsNode], _up: &[bool]) -> Findings {
        Findings::default()
    }
}
