//! What a new ZooKeeper-mode controller must do, and what it costs
//! (`PROTOCOLS.md` §2.2): counts of partitions per step from the replica
//! assignment and the live brokers, and the duration of a pipelined bulk
//! phase of ZooKeeper requests.
//!
//! Replicas are assigned round-robin: partition `p` has replicas
//! `(p + k) mod brokers` for `k` in `0..replication_factor`, its first replica
//! is its preferred (and initial) leader, and every replica starts in the ISR.
//! (Kafka's `AdminUtils.assignReplicasToBrokers` starts at a random broker and
//! shifts followers by a random step; the counts per broker are the same.)
//! Everything is computed per residue class `p mod brokers`, so the cost of
//! the count does not grow with the partition count.

use crate::engine::SimDuration;

/// Partitions (of `partitions`) whose replica set is that of residue class
/// `r` (`p mod brokers == r`).
fn class_size(partitions: u64, brokers: u32, r: u32) -> u64 {
    let b = u64::from(brokers);
    partitions / b + u64::from(u64::from(r) < partitions % b)
}

/// The brokers holding the replicas of residue class `r`, leader first.
fn replicas(brokers: u32, rf: u32, r: u32) -> impl Iterator<Item = u32> {
    (0..rf.min(brokers)).map(move |k| (r + k) % brokers)
}

/// The work of one controller failover, given which brokers the new
/// controller found registered in ZooKeeper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverWork {
    /// Partition state znodes read by `initializeControllerContext`.
    pub partitions: u64,
    /// Partitions with a replica on a dead broker: `replicaStateMachine`
    /// moves those replicas to OfflineReplica, removing them from the ISR
    /// (a conditional write each).
    pub offline_replica_partitions: u64,
    /// Partitions whose leader is dead and that have a live replica:
    /// `partitionStateMachine` elects a new leader for each (a conditional
    /// write each).
    pub elected_partitions: u64,
    /// Partitions with no live replica: they stay OfflinePartition
    /// (`unclean.leader.election.enable` is false).
    pub unavailable_partitions: u64,
    /// Partitions each live broker replicates, by broker id (0 for dead
    /// ones): the size of the LeaderAndIsr it is sent.
    pub replicas_per_broker: Vec<u64>,
}

impl FailoverWork {
    /// The work for `partitions` partitions of replication factor `rf` over
    /// `live.len()` brokers, `live[b]` saying whether broker `b` is registered.
    pub fn new(partitions: u64, rf: u32, live: &[bool]) -> Self {
        let brokers = u32::try_from(live.len()).expect("broker count fits u32");
        assert!(brokers > 0, "a Kafka cluster has at least one broker");
        let mut w = FailoverWork {
            partitions,
            offline_replica_partitions: 0,
            elected_partitions: 0,
            unavailable_partitions: 0,
            replicas_per_broker: vec![0; live.len()],
        };
        for r in 0..brokers {
            let n = class_size(partitions, brokers, r);
            if n == 0 {
                continue;
            }
            let reps: Vec<u32> = replicas(brokers, rf, r).collect();
            for &b in &reps {
                if live[b as usize] {
                    w.replicas_per_broker[b as usize] += n;
                }
            }
            if reps.iter().any(|&b| !live[b as usize]) {
                w.offline_replica_partitions += n;
            }
            if !live[reps[0] as usize] {
                if reps.iter().any(|&b| live[b as usize]) {
                    w.elected_partitions += n;
                } else {
                    w.unavailable_partitions += n;
                }
            }
        }
        w
    }
}

/// Duration of a bulk phase of `requests` ZooKeeper requests issued
/// asynchronously with at most `in_flight` outstanding
/// (`ZooKeeperClient.handleRequests`' semaphore): `ceil(requests / in_flight)`
/// round trips of `rtt` each. A round trip is what the controller measured
/// for its own requests, so it includes the ensemble's Zab commit for writes.
pub fn pipelined(requests: u64, in_flight: u64, rtt: SimDuration) -> SimDuration {
    let rounds = requests.div_ceil(in_flight.max(1));
    rtt.saturating_mul(rounds)
}

/// The pre-1.1 synchronous estimate `PROTOCOLS.md` §2.11 quotes: one request
/// at a time, `per_request` each.
pub fn synchronous(requests: u64, per_request: SimDuration) -> SimDuration {
    per_request.saturating_mul(requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cluster_has_nothing_offline_and_spreads_replicas_evenly() {
        let w = FailoverWork::new(1000, 3, &[true; 5]);
        assert_eq!(w.offline_replica_partitions, 0);
        assert_eq!(w.elected_partitions, 0);
        assert_eq!(w.unavailable_partitions, 0);
        assert_eq!(w.replicas_per_broker, vec![600; 5]);
    }

    /// The closed form against a partition-by-partition count.
    #[test]
    fn counts_match_a_partition_by_partition_oracle() {
        for (partitions, rf, live) in [
            (1000u64, 3u32, vec![true, false, true, true, true]),
            (7, 2, vec![false, true, true]),
            (10, 1, vec![true, false, true]),
            (11, 3, vec![false, false, true, true]),
            (2, 5, vec![true, false, true]),
        ] {
            let b = live.len() as u64;
            let mut oracle = FailoverWork {
                partitions,
                offline_replica_partitions: 0,
                elected_partitions: 0,
                unavailable_partitions: 0,
                replicas_per_broker: vec![0; live.len()],
            };
            for p in 0..partitions {
                let reps: Vec<usize> = (0..u64::from(rf).min(b))
                    .map(|k| ((p + k) % b) as usize)
                    .collect();
                for &r in &reps {
                    if live[r] {
                        oracle.replicas_per_broker[r] += 1;
                    }
                }
                if reps.iter().any(|&r| !live[r]) {
                    oracle.offline_replica_partitions += 1;
                }
                if !live[reps[0]] {
                    if reps.iter().any(|&r| live[r]) {
                        oracle.elected_partitions += 1;
                    } else {
                        oracle.unavailable_partitions += 1;
                    }
                }
            }
            assert_eq!(FailoverWork::new(partitions, rf, &live), oracle);
        }
    }

    #[test]
    fn one_dead_broker_of_five_with_three_replicas() {
        let w = FailoverWork::new(1_000_000, 3, &[false, true, true, true, true]);
        // 3 of 5 residue classes hold a replica on broker 0; 1 is led by it.
        assert_eq!(w.offline_replica_partitions, 600_000);
        assert_eq!(w.elected_partitions, 200_000);
        assert_eq!(w.unavailable_partitions, 0);
    }

    #[test]
    fn pipelining_divides_round_trips_by_the_in_flight_limit() {
        let rtt = SimDuration::from_ms(2);
        assert_eq!(pipelined(10_000, 10, rtt), SimDuration::from_ms(2000));
        assert_eq!(pipelined(10_001, 10, rtt), SimDuration::from_ms(2002));
        assert_eq!(pipelined(0, 10, rtt), SimDuration::ZERO);
        assert_eq!(pipelined(5, 1, rtt), SimDuration::from_ms(10));
        // The §2.11 figure: 10 000 partitions at 2 ms each, one at a time.
        assert_eq!(synchronous(10_000, rtt), SimDuration::from_ms(20_000));
    }
}
