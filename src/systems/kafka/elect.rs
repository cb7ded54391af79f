//! The controller's partition-leader election algorithms, as pure functions.
//!
//! ZooKeeper mode follows `PartitionStateMachine.scala`
//! (`object PartitionLeaderElectionAlgorithms`) and `Election.scala` (the new
//! ISR each election writes); KRaft follows `PartitionChangeBuilder.java`
//! (`electLeader`, `electPreferredLeader`, `electAnyLeader`,
//! `isValidNewLeader`, `canElectLastKnownLeader`); the automatic preferred
//! leader rebalance follows `KafkaController.scala`
//! (`checkAndTriggerAutoLeaderRebalance`). `PROTOCOLS.md` §2.5.
//!
//! Every rule scans the replica assignment (AR) **in its stored order**; the
//! head of the assignment is the preferred replica. Replica lists are short
//! (the replication factor), so "is in the ISR" is a linear scan, as in the
//! real `Seq.contains`; broker liveness is a slice indexed by broker id, so
//! the offline election over a million partitions is one pass.
//!
//! Simplifications:
//! * Leader recovery state (`LeaderRecoveryState.RECOVERING` after an unclean
//!   election, KIP-704) is reported as `unclean = true`, not modelled further.
//! * KRaft's ELR (KIP-966, `eligible.leader.replicas.enable`, default false)
//!   is an input: with it off, [`kraft_elect`] never uses `elr` or
//!   `last_known_elr`. The ELR bookkeeping itself (who enters the ELR) is not
//!   modelled here.
//! * The auto rebalance check leaves out the conditions that come from
//!   controller state outside a partition (a reassignment or a topic
//!   deletion in progress skips it in the real code).

/// A broker id (`broker.id` / `node.id`).
pub type BrokerId = u32;

/// Leader, ISR and leader epoch of one partition (`LeaderAndIsr.java`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderAndIsr {
    /// `None` is the real `-1` (`LeaderAndIsr.NO_LEADER`).
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    pub isr: Vec<BrokerId>,
}

/// What an election decided: the new state, and whether the leader came
/// from outside the ISR (unclean; the controller marks
/// `uncleanLeaderElectionRate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elected {
    pub state: LeaderAndIsr,
    pub unclean: bool,
}

/// Which brokers are live (registered and not fenced), indexed by broker id.
/// Ids beyond the slice are not live.
#[derive(Clone, Copy, Debug)]
pub struct Live<'a>(pub &'a [bool]);

impl Live<'_> {
    pub fn contains(&self, b: BrokerId) -> bool {
        self.0.get(b as usize).copied().unwrap_or(false)
    }
}

fn first_live_in_isr(replicas: &[BrokerId], isr: &[BrokerId], live: Live<'_>) -> Option<BrokerId> {
    replicas
        .iter()
        .copied()
        .find(|&r| live.contains(r) && isr.contains(&r))
}

/// `offlinePartitionLeaderElection`: the first replica of `assignment` that
/// is live and in the ISR; when there is none and
/// `unclean.leader.election.enable` is true, the first live replica.
/// Returns the leader and whether it was an unclean choice.
pub fn offline_leader(
    assignment: &[BrokerId],
    isr: &[BrokerId],
    live: Live<'_>,
    unclean_enabled: bool,
) -> Option<(BrokerId, bool)> {
    if let Some(l) = first_live_in_isr(assignment, isr, live) {
        return Some((l, false));
    }
    if unclean_enabled {
        return assignment
            .iter()
            .copied()
            .find(|&r| live.contains(r))
            .map(|l| (l, true));
    }
    None
}

/// `Election.leaderForOffline`: the offline election and the state it
/// writes. A clean leader keeps the ISR filtered to live replicas; an unclean
/// one gets the ISR `[leader]`. The leader epoch goes up by one
/// (`LeaderAndIsr.newLeaderAndIsr`). `None`: no leader can be elected, the
/// partition stays offline and nothing is written.
pub fn elect_offline(
    assignment: &[BrokerId],
    cur: &LeaderAndIsr,
    live: Live<'_>,
    unclean_enabled: bool,
) -> Option<Elected> {
    let (leader, unclean) = offline_leader(assignment, &cur.isr, live, unclean_enabled)?;
    let isr = if unclean {
        vec![leader]
    } else {
        cur.isr
            .iter()
            .copied()
            .filter(|&r| live.contains(r))
            .collect()
    };
    Some(Elected {
        state: LeaderAndIsr {
            leader: Some(leader),
            leader_epoch: cur.leader_epoch + 1,
            isr,
        },
        unclean,
    })
}

/// `reassignPartitionLeaderElection` (`Election.leaderForReassign`): the
/// first replica of the *target* replica list that is live and in the ISR;
/// the ISR is unchanged.
pub fn elect_reassign(
    target_replicas: &[BrokerId],
    cur: &LeaderAndIsr,
    live: Live<'_>,
) -> Option<Elected> {
    let leader = first_live_in_isr(target_replicas, &cur.isr, live)?;
    Some(new_leader(cur, leader))
}

/// `preferredReplicaPartitionLeaderElection` (`Election.leaderForPreferredReplica`):
/// only the head of the assignment, and only if it is live and in the ISR;
/// otherwise no change. The ISR is unchanged.
pub fn elect_preferred(
    assignment: &[BrokerId],
    cur: &LeaderAndIsr,
    live: Live<'_>,
) -> Option<Elected> {
    let head = *assignment.first()?;
    (live.contains(head) && cur.isr.contains(&head)).then(|| new_leader(cur, head))
}

/// `controlledShutdownPartitionLeaderElection`
/// (`Election.leaderForControlledShutdown`): the first replica that is live,
/// in the ISR and not shutting down; the new ISR drops the brokers shutting
/// down.
pub fn elect_controlled_shutdown(
    assignment: &[BrokerId],
    cur: &LeaderAndIsr,
    live: Live<'_>,
    shutting_down: &[BrokerId],
) -> Option<Elected> {
    let leader = assignment
        .iter()
        .copied()
        .find(|&r| live.contains(r) && cur.isr.contains(&r) && !shutting_down.contains(&r))?;
    let isr = cur
        .isr
        .iter()
        .copied()
        .filter(|r| !shutting_down.contains(r))
        .collect();
    Some(Elected {
        state: LeaderAndIsr {
            leader: Some(leader),
            leader_epoch: cur.leader_epoch + 1,
            isr,
        },
        unclean: false,
    })
}

fn new_leader(cur: &LeaderAndIsr, leader: BrokerId) -> Elected {
    Elected {
        state: LeaderAndIsr {
            leader: Some(leader),
            leader_epoch: cur.leader_epoch + 1,
            isr: cur.isr.clone(),
        },
        unclean: false,
    }
}

/// One partition as the ZooKeeper-mode controller holds it in its context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub assignment: Vec<BrokerId>,
    pub state: LeaderAndIsr,
}

/// What the controller does when brokers die (`onBrokerFailure` →
/// `OfflinePartition` → `OnlinePartition` with the offline election): every
/// partition whose leader is not live is elected again. Returns
/// (partition index, result) for each partition that got a leader, and the
/// number left offline (no live ISR member and unclean election off).
pub fn elect_offline_all(
    parts: &mut [PartitionState],
    live: Live<'_>,
    unclean_enabled: bool,
) -> OfflineOutcome {
    let mut out = OfflineOutcome::default();
    for p in parts.iter_mut() {
        if p.state.leader.is_some_and(|l| live.contains(l)) {
            continue;
        }
        match elect_offline(&p.assignment, &p.state, live, unclean_enabled) {
            Some(e) => {
                out.elected += 1;
                out.unclean += u64::from(e.unclean);
                p.state = e.state;
            }
            None => {
                out.offline += 1;
            }
        }
    }
    out
}

/// Counts of one [`elect_offline_all`] pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfflineOutcome {
    pub elected: u64,
    pub unclean: u64,
    pub offline: u64,
}

/// Which KRaft election runs (`PartitionChangeBuilder.Election`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KraftElection {
    Preferred,
    Online,
    Unclean,
}

/// The inputs of `PartitionChangeBuilder.electLeader`.
#[derive(Clone, Copy, Debug)]
pub struct KraftInput<'a> {
    pub target_replicas: &'a [BrokerId],
    pub target_isr: &'a [BrokerId],
    pub current_leader: Option<BrokerId>,
    /// `isAcceptableLeader`: registered, unfenced and not shutting down.
    pub acceptable: Live<'a>,
    pub election: KraftElection,
    /// `eligible.leader.replicas.enable` (default false) with a metadata
    /// version that supports it.
    pub elr_enabled: bool,
    pub target_elr: &'a [BrokerId],
    pub last_known_elr: &'a [BrokerId],
}

impl KraftInput<'_> {
    /// `isValidNewLeader`: acceptable, and in the target ISR (or, when the
    /// ISR is empty and ELR is on, in the ELR).
    pub fn is_valid_new_leader(&self, r: BrokerId) -> bool {
        if !self.acceptable.contains(r) {
            return false;
        }
        if self.elr_enabled && self.target_isr.is_empty() {
            return self.target_elr.contains(&r);
        }
        self.target_isr.contains(&r)
    }

    /// `canElectLastKnownLeader`: ELR on, ISR and ELR both empty, exactly one
    /// last known ELR member, and it is acceptable.
    fn can_elect_last_known_leader(&self) -> bool {
        self.elr_enabled
            && self.target_isr.is_empty()
            && self.target_elr.is_empty()
            && self.last_known_elr.len() == 1
            && self.acceptable.contains(self.last_known_elr[0])
    }
}

/// `PartitionChangeBuilder.electLeader`: the leader (`None` = `NO_LEADER`)
/// and whether the election was unclean. `PROTOCOLS.md` §2.5.2.
pub fn kraft_elect(inp: &KraftInput<'_>) -> (Option<BrokerId>, bool) {
    let valid = |r: BrokerId| inp.is_valid_new_leader(r);
    let current_valid = inp.current_leader.is_some_and(valid);
    if inp.election == KraftElection::Preferred {
        // electPreferredLeader: the head, else keep a valid current leader,
        // else the next valid replica after the head.
        if let Some(&head) = inp.target_replicas.first() {
            if valid(head) {
                return (Some(head), false);
            }
        }
        if current_valid {
            return (inp.current_leader, false);
        }
        let next = inp
            .target_replicas
            .iter()
            .skip(1)
            .copied()
            .find(|&r| valid(r));
        return (next, false);
    }
    // electAnyLeader.
    if current_valid {
        return (inp.current_leader, false);
    }
    if let Some(r) = inp.target_replicas.iter().copied().find(|&r| valid(r)) {
        return (Some(r), false);
    }
    if inp.can_elect_last_known_leader() {
        return (Some(inp.last_known_elr[0]), false);
    }
    if inp.election == KraftElection::Unclean {
        if let Some(r) = inp
            .target_replicas
            .iter()
            .copied()
            .find(|&r| inp.acceptable.contains(r))
        {
            return (Some(r), true);
        }
    }
    (None, false)
}

/// `leader.imbalance.per.broker.percentage` default (ReplicationConfigs.java).
pub const LEADER_IMBALANCE_PER_BROKER_PERCENTAGE: u32 = 10;
/// `leader.imbalance.check.interval.seconds` default (ReplicationConfigs.java).
pub const LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS: u64 = 300;

/// `checkAndTriggerAutoLeaderRebalance`, run every
/// `leader.imbalance.check.interval.seconds` when `auto.leader.rebalance.enable`:
/// for each broker, the partitions it is the preferred replica of (head of
/// the assignment) whose leader is another broker; when their share of the
/// broker's preferred partitions exceeds `imbalance_pct` %, those whose
/// preferred replica is live and in the ISR (`canPreferredReplicaBeLeader`)
/// get a preferred election. Returns the partition indices to elect, in
/// broker order then partition order. Partitions with no leader are not
/// counted (the real check reads only partitions with leadership info).
pub fn auto_rebalance_candidates(
    parts: &[PartitionState],
    live: Live<'_>,
    imbalance_pct: u32,
) -> Vec<usize> {
    use std::collections::BTreeMap;
    // preferred broker -> (partitions it prefers with a leader, those led by another)
    let mut per: BTreeMap<BrokerId, (u64, Vec<usize>)> = BTreeMap::new();
    for (i, p) in parts.iter().enumerate() {
        let (Some(&pref), Some(leader)) = (p.assignment.first(), p.state.leader) else {
            continue;
        };
        let e = per.entry(pref).or_default();
        e.0 += 1;
        if leader != pref {
            e.1.push(i);
        }
    }
    let mut out = Vec::new();
    for (pref, (total, off)) in per {
        // imbalanceRatio = off / total > pct / 100, in exact integers.
        if (off.len() as u64) * 100 > u64::from(imbalance_pct) * total {
            out.extend(
                off.into_iter()
                    .filter(|&i| live.contains(pref) && parts[i].state.isr.contains(&pref)),
            );
        }
    }
    out
}

#[cfg(test)]
#[path = "elect_tests.rs"]
mod tests;
