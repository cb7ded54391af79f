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
//!
//! With sessions (apps hosted on session clients, `zookeeper/ephemeral`):
//!
//! 5. An ephemeral znode never outlives its session's expiry by more than one
//!    tick bucket: the leader's tracker files a session in the bucket after
//!    `timeout` and within one `tickTime` of the last touch it saw
//!    (`touch + timeout < bucket <= touch + timeout + tickTime`) and never
//!    expires it (proposes its closeSession) before that bucket. It may
//!    expire it later than the bucket: a leader whose process was paused
//!    runs its tracker thread late, as the real `SessionTrackerImpl` does,
//!    and such a leader has usually lost its quorum, so its closeSession
//!    does not commit.
//!    a server that applied a closeSession holds no ephemeral of that
//!    session; at the end, every ephemeral a serving server holds belongs to
//!    a session in its session table.
//! 6. A watch fires at most once: every watch event a client receives
//!    consumes a watch it registered (and a registration fires only once).

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
    /// Watch registrations that fired: (session, registration).
    fired: std::collections::BTreeSet<(u64, u64)>,
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
        now: SimTime,
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
            ZkNote::Expiring {
                session,
                touched,
                timeout,
                tick,
                bucket,
            } => {
                let due = *touched + *timeout;
                (*bucket <= due || *bucket > due + *tick || now < *bucket).then(|| {
                    format!(
                        "{node} expired session {session:#x} at {:.3} ms from bucket {:.3} ms: last touch {:.3} ms + timeout {:.3} ms must fall in the tick ({:.3} ms) before the bucket, and the bucket must be due",
                        now.as_ms_f64(),
                        bucket.as_ms_f64(),
                        touched.as_ms_f64(),
                        timeout.as_ms_f64(),
                        tick.as_ms_f64()
                    )
                })
            }
            ZkNote::SessionClosed { session, zxid } => {
                let tree = nodes[node.index()].server()?.tree();
                if let Some(p) = tree.ephemerals(*session).first() {
                    return Some(format!(
                        "{node} applied closeSession of {session:#x} (zxid {zxid}) but still holds its ephemeral {p}"
                    ));
                }
                tree.sessions.contains_key(session).then(|| {
                    format!("{node} applied closeSession of {session:#x} but still has the session")
                })
            }
            ZkNote::WatchFired {
                session,
                path,
                kind,
                registration,
            } => match registration {
                None => Some(format!(
                    "{node} (session {session:#x}) got a {kind:?} event on {path} with no watch registered: a watch fired twice"
                )),
                Some(r) => (!self.fired.insert((*session, *r))).then(|| {
                    format!("{node}: watch {r} on {path} fired twice")
                }),
            },
            ZkNote::SessionStarted { .. } | ZkNote::App(_) => None,
        }
    }

    /// The notes whose check looks at server state: a decided vote, an
    /// acknowledged epoch, UPTODATE, an established leader, a closed session.
    fn reads_nodes(&self, obs: &Obs<ZkNote<A::Note>>) -> bool {
        matches!(
            obs,
            Obs::Note(
                ZkNote::Decided { .. }
                    | ZkNote::EpochAcked { .. }
                    | ZkNote::UpToDate { .. }
                    | ZkNote::Established { .. }
                    | ZkNote::SessionClosed { .. }
            )
        )
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
        let mut f = Findings::promised(lost_acked(
            leader.map(|l| self.missing(l)),
            acked,
            nodes.iter().map(|n| self.missing(n)),
        ));
        for (i, n) in nodes.iter().enumerate() {
            let Some(s) = n.server().filter(|s| up[i] && s.serving()) else {
                continue;
            };
            let tree = s.tree();
            for (p, z) in &tree.nodes {
                if z.owner != 0 && !tree.sessions.contains_key(&z.owner) {
                    f.violations.push(format!(
                        "n{} holds ephemeral {p} of session {:#x}, which it no longer has",
                        i + 1,
                        z.owner
                    ));
                }
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimDuration, SimTime};
    use crate::systems::zookeeper::fle::WatchKind;

    type N = ZkNode;

    fn record(c: &mut ZkChecker, at_ms: u64, note: ZkNote) -> Option<String> {
        Checker::<N>::on_record(
            c,
            SimTime(at_ms * 1_000_000),
            NodeId(0),
            &Obs::Note(note),
            &[],
        )
    }

    #[test]
    fn a_watch_event_without_a_registration_or_twice_is_a_violation() {
        let mut c = ZkChecker::default();
        let fired = |registration| ZkNote::WatchFired {
            session: 7,
            path: "/owner/3".into(),
            kind: WatchKind::Deleted,
            registration,
        };
        assert_eq!(record(&mut c, 1, fired(Some(1))), None);
        assert!(record(&mut c, 2, fired(Some(1))).is_some());
        assert!(record(&mut c, 3, fired(None)).is_some());
    }

    #[test]
    fn an_expiry_outside_its_tick_bucket_is_a_violation() {
        let mut c = ZkChecker::default();
        let exp = |bucket_ms: u64| ZkNote::Expiring {
            session: 7,
            touched: SimTime(1_000_000_000),
            timeout: SimDuration::from_ms(4000),
            tick: SimDuration::from_ms(2000),
            bucket: SimTime(bucket_ms * 1_000_000),
        };
        // Due at 5000: its bucket must lie in (5000, 7000].
        assert!(
            record(&mut c, 5000, exp(5000)).is_some(),
            "bucket too early"
        );
        assert_eq!(record(&mut c, 6000, exp(6000)), None);
        assert_eq!(record(&mut c, 7000, exp(7000)), None);
        assert!(record(&mut c, 9000, exp(9000)).is_some(), "bucket too late");
        assert!(
            record(&mut c, 5500, exp(6000)).is_some(),
            "before its bucket"
        );
        // A tracker that runs late (a paused leader) expires from the right
        // bucket after it.
        assert_eq!(record(&mut c, 21_000, exp(6000)), None);
    }
}
