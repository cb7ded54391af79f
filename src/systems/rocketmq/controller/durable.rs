//! What survives a crash: a broker's commit log and epoch file
//! (`EpochFileCache`), and the controller's replica info (in the real system
//! the controller's Raft log holds it; here the one controller's disk).

use crate::engine::Durable;

/// One message of the commit log: the client operation it carries and the
/// master epoch it was written in. Offsets count messages, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub op: u64,
    pub epoch: u32,
}

/// One line of the epoch file: `epoch` starts at `start`
/// (`EpochEntry`); it ends where the next starts, the last at the log end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: u32,
    pub start: u64,
}

/// The controller's record of the broker group (`SyncStateInfo` and
/// `BrokerReplicaInfo` of `ReplicasInfoManager`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// Broker id of the master; `None` after a failed election.
    pub master: Option<u32>,
    pub master_epoch: u32,
    /// Broker ids, ascending.
    pub sync_state_set: Vec<u32>,
    pub sync_state_set_epoch: u32,
}

/// A broker's files, or the controller's record.
#[derive(Clone, Debug, Default)]
pub struct RcDurable {
    pub log: Vec<Entry>,
    pub epochs: Vec<EpochEntry>,
    pub info: Info,
}

#[derive(Clone, Debug)]
pub enum RcWrite {
    Append(Vec<Entry>),
    /// Keep the first `n` messages; epoch entries that start at or after
    /// `n` go too (`truncateSuffixByOffset`).
    Truncate(u64),
    Epoch(EpochEntry),
    Info(Info),
}

impl Durable for RcDurable {
    type Write = RcWrite;

    fn apply(&mut self, w: &RcWrite) {
        match w {
            RcWrite::Append(e) => self.log.extend_from_slice(e),
            RcWrite::Truncate(n) => {
                self.log.truncate(*n as usize);
                self.epochs.retain(|e| e.start < *n);
            }
            RcWrite::Epoch(e) => self.epochs.push(*e),
            RcWrite::Info(i) => self.info = i.clone(),
        }
    }

    fn bytes(w: &RcWrite) -> u64 {
        match w {
            RcWrite::Append(e) => 1024 * e.len() as u64,
            _ => 64,
        }
    }

    /// `flushDiskType` = `ASYNC_FLUSH` (MessageStoreConfig.java): the commit
    /// log is not fsynced before the write is acknowledged.
    fn fsync(w: &RcWrite) -> bool {
        matches!(w, RcWrite::Info(_))
    }
}

impl RcDurable {
    pub fn max_offset(&self) -> u64 {
        self.log.len() as u64
    }

    pub fn last_epoch(&self) -> u32 {
        self.epochs.last().map_or(0, |e| e.epoch)
    }

    /// Where `epoch` ends in this log (exclusive), if the file has it.
    pub fn end_of(&self, epoch: u32) -> Option<u64> {
        let i = self.epochs.iter().position(|e| e.epoch == epoch)?;
        Some(
            self.epochs
                .get(i + 1)
                .map_or(self.max_offset(), |n| n.start),
        )
    }
}

/// `EpochFileCache.findConsistentPoint`: walking this (the slave's) epoch
/// file from its last entry back, the first epoch the master's file has
/// with the same start offset; the consistent point is the smaller of the
/// two ends of that epoch. `0` when none matches.
pub fn consistent_point(
    mine: &[EpochEntry],
    my_len: u64,
    master: &[EpochEntry],
    master_len: u64,
) -> u64 {
    let end = |file: &[EpochEntry], len: u64, i: usize| file.get(i + 1).map_or(len, |n| n.start);
    for (i, e) in mine.iter().enumerate().rev() {
        if let Some(j) = master.iter().position(|m| m.epoch == e.epoch) {
            if master[j].start == e.start {
                return end(mine, my_len, i).min(end(master, master_len, j));
            }
        }
    }
    0
}
