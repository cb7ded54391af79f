//! Unit tests of the documented edge cases, and property tests of each
//! election against a naive transcription of the real Scala/Java (lists
//! filtered in full, then the head taken).

use proptest::prelude::*;

use super::*;

fn st(leader: Option<BrokerId>, epoch: u32, isr: &[BrokerId]) -> LeaderAndIsr {
    LeaderAndIsr {
        leader,
        leader_epoch: epoch,
        isr: isr.to_vec(),
    }
}

fn live_of(up: &[BrokerId], n: usize) -> Vec<bool> {
    (0..n as u32).map(|b| up.contains(&b)).collect()
}

#[test]
fn offline_takes_first_live_isr_member_in_assignment_order_not_isr_order() {
    let live = live_of(&[1, 2, 3], 4);
    // ISR order [3, 2] does not matter: AR order [0, 2, 3] does.
    let e = elect_offline(&[0, 2, 3], &st(Some(0), 4, &[3, 2, 0]), Live(&live), false).unwrap();
    assert_eq!(e.state, st(Some(2), 5, &[3, 2]));
    assert!(!e.unclean);
}

#[test]
fn offline_without_live_isr_member_stays_offline_unless_unclean() {
    let live = live_of(&[2], 3);
    let cur = st(Some(0), 7, &[0, 1]);
    assert_eq!(elect_offline(&[0, 1, 2], &cur, Live(&live), false), None);
    let e = elect_offline(&[0, 1, 2], &cur, Live(&live), true).unwrap();
    assert_eq!(e.state, st(Some(2), 8, &[2]));
    assert!(e.unclean);
}

#[test]
fn reassignment_scans_the_target_list_and_keeps_the_isr() {
    let live = live_of(&[0, 1, 2, 3], 4);
    let e = elect_reassign(&[3, 1], &st(Some(0), 1, &[0, 1]), Live(&live)).unwrap();
    assert_eq!(e.state, st(Some(1), 2, &[0, 1]));
}

#[test]
fn preferred_only_elects_the_head() {
    let live = live_of(&[0, 1, 2], 3);
    let cur = st(Some(1), 3, &[1, 2]);
    // Head 0 not in ISR: no change, even though 1 and 2 are fine.
    assert_eq!(elect_preferred(&[0, 1, 2], &cur, Live(&live)), None);
    let cur = st(Some(1), 3, &[1, 2, 0]);
    assert_eq!(
        elect_preferred(&[0, 1, 2], &cur, Live(&live))
            .unwrap()
            .state,
        st(Some(0), 4, &[1, 2, 0])
    );
}

#[test]
fn controlled_shutdown_skips_and_drops_brokers_shutting_down() {
    let live = live_of(&[0, 1, 2], 3);
    let e = elect_controlled_shutdown(&[0, 1, 2], &st(Some(0), 2, &[0, 1, 2]), Live(&live), &[0])
        .unwrap();
    assert_eq!(e.state, st(Some(1), 3, &[1, 2]));
    assert_eq!(
        elect_controlled_shutdown(&[0, 1], &st(Some(0), 2, &[0]), Live(&live), &[0]),
        None
    );
}

fn kin<'a>(
    replicas: &'a [BrokerId],
    isr: &'a [BrokerId],
    cur: Option<BrokerId>,
    ok: &'a [bool],
    election: KraftElection,
) -> KraftInput<'a> {
    KraftInput {
        target_replicas: replicas,
        target_isr: isr,
        current_leader: cur,
        acceptable: Live(ok),
        election,
        elr_enabled: false,
        target_elr: &[],
        last_known_elr: &[],
    }
}

#[test]
fn kraft_online_keeps_a_valid_current_leader_over_the_preferred_one() {
    let ok = live_of(&[0, 1, 2], 3);
    let r = kraft_elect(&kin(
        &[0, 1, 2],
        &[0, 1, 2],
        Some(2),
        &ok,
        KraftElection::Online,
    ));
    assert_eq!(r, (Some(2), false));
    // Preferred election moves it to the head.
    let r = kraft_elect(&kin(
        &[0, 1, 2],
        &[0, 1, 2],
        Some(2),
        &ok,
        KraftElection::Preferred,
    ));
    assert_eq!(r, (Some(0), false));
}

#[test]
fn kraft_preferred_falls_back_to_current_then_next_valid() {
    let ok = live_of(&[1, 2], 3);
    let r = kraft_elect(&kin(
        &[0, 1, 2],
        &[0, 1, 2],
        Some(2),
        &ok,
        KraftElection::Preferred,
    ));
    assert_eq!(r, (Some(2), false));
    let r = kraft_elect(&kin(
        &[0, 1, 2],
        &[0, 1, 2],
        None,
        &ok,
        KraftElection::Preferred,
    ));
    assert_eq!(r, (Some(1), false));
}

#[test]
fn kraft_unclean_falls_back_to_first_acceptable_replica() {
    let ok = live_of(&[2], 3);
    let online = kraft_elect(&kin(&[0, 1, 2], &[0], Some(0), &ok, KraftElection::Online));
    assert_eq!(online, (None, false));
    let unclean = kraft_elect(&kin(&[0, 1, 2], &[0], Some(0), &ok, KraftElection::Unclean));
    assert_eq!(unclean, (Some(2), true));
}

#[test]
fn kraft_elr_elects_from_elr_then_last_known_leader() {
    let ok = live_of(&[1, 2], 3);
    let mut k = kin(&[0, 1, 2], &[], None, &ok, KraftElection::Online);
    k.elr_enabled = true;
    k.target_elr = &[2];
    assert_eq!(kraft_elect(&k), (Some(2), false));
    k.target_elr = &[];
    k.last_known_elr = &[1];
    assert_eq!(kraft_elect(&k), (Some(1), false));
    k.elr_enabled = false;
    assert_eq!(kraft_elect(&k), (None, false));
}

#[test]
fn auto_rebalance_triggers_only_above_the_imbalance_percentage() {
    // Broker 0 prefers 10 partitions; 1 of them led by broker 1: 10 %, not
    // above 10 %: nothing. With 2 of 10 (20 %): both, if 0 is in their ISR.
    let mk = |leader| PartitionState {
        assignment: vec![0, 1],
        state: st(Some(leader), 1, &[0, 1]),
    };
    let live = live_of(&[0, 1], 2);
    let mut parts: Vec<PartitionState> = (0..10).map(|_| mk(0)).collect();
    parts[3] = mk(1);
    assert!(auto_rebalance_candidates(&parts, Live(&live), 10).is_empty());
    parts[7] = mk(1);
    parts[7].state.isr = vec![1];
    // 7's preferred replica is out of its ISR: only 3 is elected.
    assert_eq!(auto_rebalance_candidates(&parts, Live(&live), 10), vec![3]);
    parts[7].state.isr = vec![1, 0];
    assert_eq!(
        auto_rebalance_candidates(&parts, Live(&live), 10),
        vec![3, 7]
    );
}

#[test]
fn offline_pass_elects_only_partitions_whose_leader_died() {
    let mut parts = vec![
        PartitionState {
            assignment: vec![0, 1, 2],
            state: st(Some(0), 0, &[0, 1, 2]),
        },
        PartitionState {
            assignment: vec![1, 2, 0],
            state: st(Some(1), 0, &[1, 2, 0]),
        },
        PartitionState {
            assignment: vec![0, 1],
            state: st(Some(0), 0, &[0]),
        },
    ];
    let live = live_of(&[1, 2], 3);
    let out = elect_offline_all(&mut parts, Live(&live), false);
    assert_eq!(
        out,
        OfflineOutcome {
            elected: 1,
            unclean: 0,
            offline: 1
        }
    );
    assert_eq!(parts[0].state, st(Some(1), 1, &[1, 2]));
    assert_eq!(parts[1].state, st(Some(1), 0, &[1, 2, 0]));
    assert_eq!(parts[2].state, st(Some(0), 0, &[0]));
}

// ---- naive transcriptions (oracles) ----

fn naive_offline(ar: &[u32], isr: &[u32], live: &[bool], unclean: bool) -> Option<(u32, bool)> {
    let is_live = |b: u32| (b as usize) < live.len() && live[b as usize];
    let clean: Vec<u32> = ar
        .iter()
        .copied()
        .filter(|&b| is_live(b))
        .filter(|b| isr.contains(b))
        .collect();
    if !clean.is_empty() {
        return Some((clean[0], false));
    }
    if !unclean {
        return None;
    }
    let any: Vec<u32> = ar.iter().copied().filter(|&b| is_live(b)).collect();
    any.first().map(|&b| (b, true))
}

fn naive_kraft(k: &KraftInput<'_>) -> (Option<u32>, bool) {
    let ok = |b: u32| k.acceptable.contains(b);
    let valid = |b: u32| {
        ok(b)
            && if k.elr_enabled && k.target_isr.is_empty() {
                k.target_elr.contains(&b)
            } else {
                k.target_isr.contains(&b)
            }
    };
    let valids: Vec<u32> = k
        .target_replicas
        .iter()
        .copied()
        .filter(|&b| valid(b))
        .collect();
    let cur = k.current_leader.filter(|&c| valid(c));
    match k.election {
        KraftElection::Preferred => {
            if let Some(&h) = k.target_replicas.first() {
                if valid(h) {
                    return (Some(h), false);
                }
            }
            if cur.is_some() {
                return (cur, false);
            }
            let rest: Vec<u32> = k.target_replicas[k.target_replicas.len().min(1)..]
                .iter()
                .copied()
                .filter(|&b| valid(b))
                .collect();
            (rest.first().copied(), false)
        }
        _ => {
            if cur.is_some() {
                return (cur, false);
            }
            if let Some(&v) = valids.first() {
                return (Some(v), false);
            }
            if k.elr_enabled
                && k.target_isr.is_empty()
                && k.target_elr.is_empty()
                && k.last_known_elr.len() == 1
                && ok(k.last_known_elr[0])
            {
                return (Some(k.last_known_elr[0]), false);
            }
            if k.election == KraftElection::Unclean {
                let any: Vec<u32> = k
                    .target_replicas
                    .iter()
                    .copied()
                    .filter(|&b| ok(b))
                    .collect();
                if let Some(&a) = any.first() {
                    return (Some(a), true);
                }
            }
            (None, false)
        }
    }
}

/// A replica assignment of 1..=5 distinct brokers out of 0..6, an ISR that
/// is any subset of it, and a liveness vector.
fn case() -> impl Strategy<Value = (Vec<u32>, Vec<u32>, Vec<bool>)> {
    (
        Just((0u32..6).collect::<Vec<_>>()).prop_shuffle(),
        1usize..=5,
        proptest::collection::vec(any::<bool>(), 6),
        proptest::collection::vec(any::<bool>(), 6),
    )
        .prop_map(|(all, rf, inisr, live)| {
            let ar = all[..rf].to_vec();
            let isr: Vec<u32> = ar.iter().copied().filter(|&b| inisr[b as usize]).collect();
            (ar, isr, live)
        })
}

proptest! {
    #[test]
    fn offline_matches_naive(c in case(), unclean in any::<bool>(), epoch in 0u32..100) {
        let (ar, isr, live) = c;
        let got = offline_leader(&ar, &isr, Live(&live), unclean);
        prop_assert_eq!(got, naive_offline(&ar, &isr, &live, unclean));
        let cur = st(ar.first().copied(), epoch, &isr);
        if let Some(e) = elect_offline(&ar, &cur, Live(&live), unclean) {
            // Epoch +1; a clean leader is in the old ISR and in the new one.
            prop_assert_eq!(e.state.leader_epoch, epoch + 1);
            let l = e.state.leader.unwrap();
            prop_assert_eq!(e.unclean, !isr.contains(&l));
            prop_assert!(e.state.isr.contains(&l));
            prop_assert!(e.state.isr.iter().all(|&b| live[b as usize]));
        }
    }

    #[test]
    fn reassign_preferred_shutdown_match_naive(c in case(), target in Just((0u32..6).collect::<Vec<_>>()).prop_shuffle(), tl in 1usize..=4, sd in proptest::collection::vec(0u32..6, 0..3)) {
        let (ar, isr, live) = c;
        let cur = st(ar.first().copied(), 0, &isr);
        let target = &target[..tl];
        let re = elect_reassign(target, &cur, Live(&live)).and_then(|e| e.state.leader);
        prop_assert_eq!(re, naive_offline(target, &isr, &live, false).map(|x| x.0));
        let pref = elect_preferred(&ar, &cur, Live(&live)).and_then(|e| e.state.leader);
        let naive_pref = ar.first().copied().filter(|&h| live[h as usize] && isr.contains(&h));
        prop_assert_eq!(pref, naive_pref);
        let up_not_sd: Vec<bool> = (0..6u32).map(|b| live[b as usize] && !sd.contains(&b)).collect();
        let cs = elect_controlled_shutdown(&ar, &cur, Live(&live), &sd);
        prop_assert_eq!(cs.as_ref().and_then(|e| e.state.leader), naive_offline(&ar, &isr, &up_not_sd, false).map(|x| x.0));
        if let Some(e) = cs {
            prop_assert!(e.state.isr.iter().all(|b| !sd.contains(b)));
        }
    }

    #[test]
    fn kraft_matches_naive(c in case(), cur in proptest::option::of(0u32..6), which in 0u8..3, elr_on in any::<bool>(), elr in proptest::collection::vec(0u32..6, 0..2), lk in proptest::collection::vec(0u32..6, 0..2)) {
        let (ar, isr, live) = c;
        let election = [KraftElection::Preferred, KraftElection::Online, KraftElection::Unclean][which as usize];
        let k = KraftInput {
            target_replicas: &ar,
            target_isr: &isr,
            current_leader: cur,
            acceptable: Live(&live),
            election,
            elr_enabled: elr_on,
            target_elr: &elr,
            last_known_elr: &lk,
        };
        let got = kraft_elect(&k);
        prop_assert_eq!(got, naive_kraft(&k));
        // A clean result is always a valid new leader, except the last known
        // ELR leader.
        if let (Some(l), false) = got {
            prop_assert!(k.is_valid_new_leader(l) || lk == vec![l]);
        }
    }
}
