//! The replicated state a server applies from committed transactions: the
//! data tree (DataTree.java) and the session table (`sessionsWithTimeouts`).
//! Every server applies the same transactions in zxid order, so every
//! server computes the same outcome for each; the model checks a write's
//! preconditions when it is applied rather than in the leader's
//! PrepRequestProcessor (against `outstandingChanges`), which gives the
//! same answers in the same order (a failed write is an error transaction
//! through Zab in both).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::NodeId;

use super::app::{Op, WatchKind, ZkError, ZkReply};
use super::msg::Txn;
use super::vote::Zxid;

/// The body of a session transaction (the `TxnHeader` type and record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnBody {
    /// `createSession` with the negotiated timeout (ms).
    CreateSession { session: u64, timeout: u64 },
    /// `closeSession`: the client's own, or the leader's expiry of it.
    CloseSession { session: u64 },
    /// A write of `session`: one op, or a `multi` (all or nothing).
    Ops {
        session: u64,
        ops: Vec<Op>,
        multi: bool,
    },
}

/// One znode: data, `dataVersion`, the zxid that last changed it (`mzxid`)
/// and its ephemeral owner (0 for a persistent node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Znode {
    pub data: u64,
    pub version: i32,
    pub mzxid: Zxid,
    pub owner: u64,
}

/// What applying one transaction did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The answer to the client that sent it (none for a plain
    /// `zookeeper/fle` write).
    pub result: Option<Result<ZkReply, ZkError>>,
    /// Watches to trigger, in order.
    pub triggers: Vec<(String, WatchKind)>,
    /// The session this transaction closed, and its client.
    pub closed: Option<(u64, NodeId)>,
    /// The session this transaction created.
    pub created: Option<(u64, u64)>,
}

/// The data tree and session table of one server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataTree {
    pub nodes: BTreeMap<String, Znode>,
    /// Live sessions: timeout (ms), and the client node that created it
    /// (the model's bookkeeping, for per-client timelines).
    pub sessions: BTreeMap<u64, (u64, NodeId)>,
    /// The last transaction applied.
    pub zxid: Zxid,
}

impl DataTree {
    /// The tree after every transaction of `log` up to `upto`.
    pub fn replay(log: &[Txn], upto: Zxid) -> Self {
        let mut t = DataTree::default();
        for txn in log.iter().take_while(|x| x.zxid <= upto) {
            t.apply(txn);
        }
        t
    }

    /// Ephemerals of `session`, in path order (`getEphemerals`).
    pub fn ephemerals(&self, session: u64) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.owner == session)
            .map(|(p, _)| p.as_str())
            .collect()
    }

    pub fn apply(&mut self, txn: &Txn) -> Applied {
        self.zxid = txn.zxid;
        let Some(body) = &txn.body else {
            return Applied::default();
        };
        match body.as_ref() {
            TxnBody::CreateSession { session, timeout } => {
                self.sessions.insert(*session, (*timeout, txn.client));
                Applied {
                    result: Some(Ok(ZkReply::Created)),
                    created: Some((*session, *timeout)),
                    ..Applied::default()
                }
            }
            TxnBody::CloseSession { session } => {
                let Some((_, client)) = self.sessions.remove(session) else {
                    return Applied {
                        result: Some(Err(ZkError::SessionExpired)),
                        ..Applied::default()
                    };
                };
                // DataTree.killSession: delete every ephemeral of it.
                let gone: Vec<String> = self
                    .ephemerals(*session)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                let mut triggers = Vec::new();
                for p in gone {
                    self.nodes.remove(&p);
                    triggers.push((p, WatchKind::Deleted));
                }
                Applied {
                    result: Some(Ok(ZkReply::Deleted)),
                    triggers,
                    closed: Some((*session, client)),
                    created: None,
                }
            }
            TxnBody::Ops {
                session,
                ops,
                multi,
            } => {
                if !self.sessions.contains_key(session) {
                    return Applied {
                        result: Some(Err(ZkError::SessionExpired)),
                        ..Applied::default()
                    };
                }
                match self.check_and_apply(*session, ops, txn.zxid) {
                    Ok((reply, triggers)) => Applied {
                        result: Some(Ok(if *multi { ZkReply::Multi } else { reply })),
                        triggers,
                        ..Applied::default()
                    },
                    Err(e) => Applied {
                        result: Some(Err(e)),
                        ..Applied::default()
                    },
                }
            }
        }
    }

    /// Apply `ops` in order if every one succeeds; otherwise change nothing
    /// and return the first error. The reply is that of the last op.
    fn check_and_apply(
        &mut self,
        session: u64,
        ops: &[Op],
        zxid: Zxid,
    ) -> Result<(ZkReply, Vec<(String, WatchKind)>), ZkError> {
        // Pending state of the paths the ops touch.
        let mut view: BTreeMap<&str, Option<Znode>> = BTreeMap::new();
        let mut triggers = Vec::new();
        let mut reply = ZkReply::Multi;
        let version_ok = |n: &Znode, v: &Option<i32>| v.is_none_or(|v| v == n.version);
        for op in ops {
            let path = match op {
                Op::Create { path, .. }
                | Op::SetData { path, .. }
                | Op::Delete { path, .. }
                | Op::Check { path, .. } => path.as_str(),
            };
            let cur = *view
                .entry(path)
                .or_insert_with(|| self.nodes.get(path).copied());
            match op {
                Op::Create {
                    data, ephemeral, ..
                } => {
                    if cur.is_some() {
                        return Err(ZkError::NodeExists);
                    }
                    view.insert(
                        path,
                        Some(Znode {
                            data: *data,
                            version: 0,
                            mzxid: zxid,
                            owner: if *ephemeral { session } else { 0 },
                        }),
                    );
                    triggers.push((path.to_string(), WatchKind::Created));
                    reply = ZkReply::Created;
                }
                Op::SetData { data, version, .. } => {
                    let n = cur.ok_or(ZkError::NoNode)?;
                    if !version_ok(&n, version) {
                        return Err(ZkError::BadVersion);
                    }
                    let n = Znode {
                        data: *data,
                        version: n.version.wrapping_add(1),
                        mzxid: zxid,
                        owner: n.owner,
                    };
                    view.insert(path, Some(n));
                    triggers.push((path.to_string(), WatchKind::DataChanged));
                    reply = ZkReply::Stat {
                        data: n.data,
                        version: n.version,
                    };
                }
                Op::Delete { version, .. } => {
                    let n = cur.ok_or(ZkError::NoNode)?;
                    if !version_ok(&n, version) {
                        return Err(ZkError::BadVersion);
                    }
                    view.insert(path, None);
                    triggers.push((path.to_string(), WatchKind::Deleted));
                    reply = ZkReply::Deleted;
                }
                Op::Check { version, .. } => {
                    let n = cur.ok_or(ZkError::NoNode)?;
                    if !version_ok(&n, version) {
                        return Err(ZkError::BadVersion);
                    }
                }
            }
        }
        for (path, n) in view {
            match n {
                Some(n) => {
                    self.nodes.insert(path.to_string(), n);
                }
                None => {
                    self.nodes.remove(path);
                }
            }
        }
        Ok((reply, triggers))
    }
}

/// A transaction body as the log stores it.
pub fn body(b: TxnBody) -> Option<Arc<TxnBody>> {
    Some(Arc::new(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(counter: u64, b: TxnBody) -> Txn {
        Txn {
            zxid: Zxid::new(1, counter),
            origin: NodeId(0),
            client: NodeId(9),
            op: counter,
            body: body(b),
        }
    }

    fn create(path: &str, ephemeral: bool) -> Op {
        Op::Create {
            path: path.into(),
            data: 7,
            ephemeral,
        }
    }

    #[test]
    fn ephemerals_go_with_their_session_and_a_failed_multi_changes_nothing() {
        let mut t = DataTree::default();
        t.apply(&txn(
            1,
            TxnBody::CreateSession {
                session: 5,
                timeout: 4000,
            },
        ));
        let a = t.apply(&txn(
            2,
            TxnBody::Ops {
                session: 5,
                ops: vec![create("/e", true)],
                multi: false,
            },
        ));
        assert_eq!(a.result, Some(Ok(ZkReply::Created)));
        assert_eq!(a.triggers, vec![("/e".to_string(), WatchKind::Created)]);
        // A multi whose second op fails leaves the first undone.
        let a = t.apply(&txn(
            3,
            TxnBody::Ops {
                session: 5,
                ops: vec![
                    create("/p", false),
                    Op::SetData {
                        path: "/e".into(),
                        data: 1,
                        version: Some(3),
                    },
                ],
                multi: true,
            },
        ));
        assert_eq!(a.result, Some(Err(ZkError::BadVersion)));
        assert!(a.triggers.is_empty());
        assert!(!t.nodes.contains_key("/p"));
        let a = t.apply(&txn(
            4,
            TxnBody::Ops {
                session: 5,
                ops: vec![
                    Op::Check {
                        path: "/e".into(),
                        version: Some(0),
                    },
                    create("/p", false),
                ],
                multi: true,
            },
        ));
        assert_eq!(a.result, Some(Ok(ZkReply::Multi)));
        let a = t.apply(&txn(5, TxnBody::CloseSession { session: 5 }));
        assert_eq!(a.closed, Some((5, NodeId(9))));
        assert_eq!(a.triggers, vec![("/e".to_string(), WatchKind::Deleted)]);
        assert!(t.nodes.contains_key("/p"), "persistent nodes stay");
        assert!(!t.nodes.contains_key("/e"));
        // A write of the closed session fails.
        let a = t.apply(&txn(
            6,
            TxnBody::Ops {
                session: 5,
                ops: vec![create("/x", true)],
                multi: false,
            },
        ));
        assert_eq!(a.result, Some(Err(ZkError::SessionExpired)));
        let log: Vec<Txn> = (1..=3)
            .map(|i| {
                txn(
                    i,
                    TxnBody::CreateSession {
                        session: i,
                        timeout: 1,
                    },
                )
            })
            .collect();
        assert_eq!(DataTree::replay(&log, Zxid::new(1, 2)).sessions.len(), 2);
    }
}
