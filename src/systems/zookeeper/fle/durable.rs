//! What a ZooKeeper server keeps on disk: the `acceptedEpoch` and
//! `currentEpoch` files (`QuorumPeer.writeLongToFile`, through
//! `AtomicFileOutputStream`, which fsyncs before the rename) and the
//! transaction log (`FileTxnLog`, fsynced on commit unless
//! `zookeeper.forceSync = no`). Snapshots are not separated from the log:
//! the model's log is the whole history.

use crate::engine::Durable;

use super::msg::{SyncMode, Txn};
use super::vote::Zxid;

/// The durable state of one server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZkDurable {
    pub accepted_epoch: u64,
    pub current_epoch: u64,
    /// Every logged transaction, committed or not, in zxid order.
    pub log: Vec<Txn>,
}

/// One write to a server's disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZkWrite {
    AcceptedEpoch(u64),
    CurrentEpoch(u64),
    /// A proposal appended to the log; `fsync` is `zookeeper.forceSync`.
    Append {
        txn: Txn,
        fsync: bool,
    },
    /// What a learner's sync with a new leader does to its log: DIFF appends,
    /// TRUNC cuts then appends, SNAP replaces.
    Sync {
        mode: SyncMode,
        truncate_to: Zxid,
        txns: Vec<Txn>,
    },
}

impl ZkDurable {
    /// `lastLoggedZxid`: includes proposals logged but never committed.
    pub fn last_logged_zxid(&self) -> Zxid {
        self.log.last().map_or(Zxid(0), |t| t.zxid)
    }
}

impl Durable for ZkDurable {
    type Write = ZkWrite;

    fn fsync(w: &ZkWrite) -> bool {
        !matches!(w, ZkWrite::Append { fsync: false, .. })
    }

    fn apply(&mut self, w: &ZkWrite) {
        match w {
            ZkWrite::AcceptedEpoch(e) => self.accepted_epoch = *e,
            ZkWrite::CurrentEpoch(e) => self.current_epoch = *e,
            ZkWrite::Append { txn, .. } => {
                if txn.zxid > self.last_logged_zxid() {
                    self.log.push(txn.clone());
                }
            }
            ZkWrite::Sync {
                mode,
                truncate_to,
                txns,
            } => match mode {
                SyncMode::Snap => self.log = txns.clone(),
                SyncMode::Trunc | SyncMode::Diff => {
                    if *mode == SyncMode::Trunc {
                        self.log.retain(|t| t.zxid <= *truncate_to);
                    }
                    let last = self.last_logged_zxid();
                    self.log
                        .extend(txns.iter().filter(|t| t.zxid > last).cloned());
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NodeId;

    fn txn(epoch: u64, counter: u64) -> Txn {
        Txn {
            zxid: Zxid::new(epoch, counter),
            origin: NodeId(0),
            client: NodeId(9),
            op: counter,
            body: None,
        }
    }

    #[test]
    fn sync_writes_truncate_append_or_replace_the_log() {
        let mut d = ZkDurable {
            log: vec![txn(1, 1), txn(1, 2), txn(1, 3)],
            ..ZkDurable::default()
        };
        d.apply(&ZkWrite::Sync {
            mode: SyncMode::Trunc,
            truncate_to: Zxid::new(1, 2),
            txns: vec![txn(2, 1)],
        });
        assert_eq!(d.log, vec![txn(1, 1), txn(1, 2), txn(2, 1)]);
        d.apply(&ZkWrite::Sync {
            mode: SyncMode::Diff,
            truncate_to: Zxid(0),
            txns: vec![txn(2, 1), txn(2, 2)],
        });
        assert_eq!(d.log.len(), 4, "DIFF skips what the log already has");
        d.apply(&ZkWrite::Sync {
            mode: SyncMode::Snap,
            truncate_to: Zxid(0),
            txns: vec![txn(3, 1)],
        });
        assert_eq!(d.log, vec![txn(3, 1)]);
        d.apply(&ZkWrite::Append {
            txn: txn(3, 1),
            fsync: true,
        });
        assert_eq!(d.log.len(), 1, "an append never duplicates a zxid");
    }
}
