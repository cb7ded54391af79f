//! Tests of `kafka/group-leader`: the member map's iteration order against a
//! naive transcription of Scala 2.13's `mutable.HashMap`; whole trials with
//! faults placed by hand and exact outcomes (constant 1 ms one-way network,
//! instant disk, every member starting at 0).

use proptest::prelude::*;

use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::net::Latency;
use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use crate::engine::{NodeId, Obs, SimDuration};

use super::hashorder::{improve, java_string_hash, Table};
use super::{columns_of, GlParams, GroupLeader, PATH};

// ---------- the HashMap order ----------

#[test]
fn java_string_hash_matches_known_values() {
    assert_eq!(java_string_hash(""), 0);
    assert_eq!(java_string_hash("a"), 97);
    assert_eq!(java_string_hash("hello"), 99_162_322);
    // Overflow wraps as in Java.
    assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    assert_eq!(improve(0x1234_5678), 0x1234_5678 ^ 0x1234);
    assert_eq!(improve(-1), -1 ^ 0xffff);
}

/// A naive transcription of Scala 2.13 `mutable.HashMap`: a table of
/// buckets kept sorted by hash (equal hashes: the newer after), doubled
/// before an insertion reaches the 0.75 threshold by moving every entry, in
/// iteration order, to its bucket in the new table; iterated bucket by
/// bucket.
struct NaiveMap {
    table: Vec<Vec<(i32, String)>>,
    size: usize,
}

impl NaiveMap {
    fn new() -> Self {
        NaiveMap {
            table: vec![Vec::new(); 16],
            size: 0,
        }
    }

    fn put(&mut self, k: &str) {
        let threshold = (self.table.len() as f64 * 0.75) as usize;
        if self.size + 1 >= threshold {
            let n = self.table.len() * 2;
            let old: Vec<(i32, String)> = self.table.drain(..).flatten().collect();
            self.table = vec![Vec::new(); n];
            for (h, key) in old {
                self.table[(h as u32 as usize) & (n - 1)].push((h, key));
            }
        }
        let h = improve(java_string_hash(k));
        let n = self.table.len();
        let bucket = &mut self.table[(h as u32 as usize) & (n - 1)];
        let pos = bucket
            .iter()
            .position(|(bh, _)| *bh > h)
            .unwrap_or(bucket.len());
        bucket.insert(pos, (h, k.to_string()));
        self.size += 1;
    }

    fn remove(&mut self, k: &str) {
        for b in &mut self.table {
            b.retain(|(_, key)| key != k);
        }
        self.size -= 1;
    }

    fn keys(&self) -> Vec<String> {
        self.table
            .iter()
            .flatten()
            .map(|(_, k)| k.clone())
            .collect()
    }
}

/// The model's order: sort by (slot, hash, insertion number).
fn model_order(t: &Table, live: &[(String, u64)]) -> Vec<String> {
    let mut v: Vec<_> = live
        .iter()
        .map(|(k, seq)| {
            let (s, h) = t.order_key(k);
            ((s, h, *seq), k.clone())
        })
        .collect();
    v.sort();
    v.into_iter().map(|x| x.1).collect()
}

proptest! {
    #[test]
    fn member_map_order_matches_scala_hashmap(ops in proptest::collection::vec((any::<bool>(), 0u16..400, 0usize..64), 1..300)) {
        let mut naive = NaiveMap::new();
        let mut table = Table::default();
        let mut live: Vec<(String, u64)> = Vec::new();
        let mut seq = 0;
        for (add, id, victim) in ops {
            if add || live.is_empty() {
                // Short keys collide in slots often; a few exact duplicates
                // of a hash ("Aa" / "BB") come from the fixed pair below.
                let k = match id % 50 {
                    0 => format!("Aa{id}"),
                    1 => format!("BB{id}"),
                    _ => format!("consumer-electbench-1-{id:x}"),
                };
                if live.iter().any(|(x, _)| *x == k) {
                    continue;
                }
                naive.put(&k);
                table.insert();
                seq += 1;
                live.push((k, seq));
            } else {
                let (k, _) = live.remove(victim % live.len());
                naive.remove(&k);
                table.remove();
            }
            prop_assert_eq!(model_order(&table, &live), naive.keys());
        }
    }
}

#[test]
fn table_capacity_grows_before_the_twelfth_key_and_never_shrinks() {
    let mut t = Table::default();
    for _ in 0..11 {
        t.insert();
    }
    assert_eq!(t.capacity, 16);
    t.insert();
    assert_eq!(t.capacity, 32);
    for _ in 0..12 {
        t.remove();
    }
    assert_eq!((t.capacity, t.size), (32, 0));
}

// ---------- whole trials ----------

fn params(f: impl FnOnce(&mut crate::systems::Params)) -> GlParams {
    let mut p = PATH.default_params(&[3, 1]);
    f(&mut p);
    GlParams::from_params(&p)
}

fn run(members: usize, p: GlParams, secs: u64, faults: Vec<FaultSpec>) -> SimOutput {
    let mut cfg = SimConfig {
        seed: 7,
        duration: SimDuration::from_ms(secs * 1000),
        faults,
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    };
    cfg.net.latency = Latency::Constant { ms: 1.0 };
    let out = run_trial(&GroupLeader::new(members, p), &cfg, None);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    out
}

fn phase_times(out: &SimOutput, name: &str) -> Vec<f64> {
    out.records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Phase { name: n, .. } if n == name))
        .map(|r| r.at.as_ms_f64())
        .collect()
}

/// (time ms, leader, generation) of every completed join phase.
fn generations(out: &SimOutput) -> Vec<(f64, NodeId, u64)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Elected { leader, term, .. } => Some((r.at.as_ms_f64(), leader, term)),
            _ => None,
        })
        .collect()
}

fn detections(out: &SimOutput) -> Vec<(f64, Option<NodeId>)> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::Detected { suspect, .. } => Some((r.at.as_ms_f64(), suspect)),
            _ => None,
        })
        .collect()
}

fn fault(ms: u64, action: Action, target: Target) -> FaultSpec {
    FaultSpec::at(ms, action, target, None)
}

#[test]
fn initial_delayed_join_rearms_once_and_never_completes_early() {
    // Every member is in at 3 ms (JoinGroup, MEMBER_ID_REQUIRED, JoinGroup
    // again); the 3000 ms initial delay then re-arms once, because members
    // arrived in its window, and the join completes at 6003 ms although
    // everyone had joined at 3 ms.
    let out = run(5, GlParams::default(), 10, vec![]);
    assert_eq!(phase_times(&out, "initial-delay-rearmed"), vec![3003.0]);
    let g = generations(&out);
    assert_eq!(g.len(), 1);
    assert_eq!((g[0].0, g[0].2), (6003.0, 1));
    // Every member has its assignment one SyncGroup round trip later.
    let serving: Vec<f64> = out
        .records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Serving { term: 1, .. }))
        .map(|r| r.at.as_ms_f64())
        .collect();
    assert_eq!(serving, vec![6006.0; 5]);
}

#[test]
fn initial_delay_is_capped_by_the_rebalance_timeout() {
    // max.poll.interval.ms 4000: remaining 1000 after the first 3000, so the
    // re-armed delay is 1000 and the join completes at 4003.
    let p = params(|p| p.set("max.poll.interval.ms", 4000.0).unwrap());
    let out = run(3, p, 10, vec![]);
    assert_eq!(phase_times(&out, "initial-delay-rearmed"), vec![3003.0]);
    assert_eq!(generations(&out)[0].0, 4003.0);
}

#[test]
fn member_crash_is_noticed_after_the_session_timeout_then_rebalances() {
    // session.timeout.ms 10000. Heartbeats leave every 3000 ms from 9006
    // and arrive 1 ms later; the member's host dies at 20000, its last
    // heartbeat arrived at 18007, so the coordinator removes it at 28007.
    // The others learn of the rebalance from the heartbeat that arrives at
    // 30007, revoke at 30008, rejoin at 30009, which completes generation 2
    // at once; assignments arrive at 30012.
    let p = params(|p| p.set("session.timeout.ms", 10_000.0).unwrap());
    let out = run(
        4,
        p,
        40,
        vec![fault(
            20_000,
            Action::Crash { host_alive: false },
            Target::Path {
                word: "member",
                arg: None,
            },
        )],
    );
    let crashed = out.faults[0].node.unwrap();
    assert_eq!(detections(&out), vec![(28_007.0, Some(crashed))]);
    let g = generations(&out);
    assert_eq!(g.len(), 2);
    assert_eq!((g[1].0, g[1].2), (30_009.0, 2));
    // A member crash does not change the leader.
    assert_eq!(g[1].1, g[0].1);
    assert!(phase_times(&out, "leader-chosen").is_empty());
    let cols = columns_of(&out, 4);
    assert_eq!(cols, vec![Some(4.0), None, Some(1.0), None]);
}

#[test]
fn clean_leave_rebalances_at_once() {
    // member.stop = close: the LeaveGroup reaches the coordinator 1 ms after
    // the process stops (20001), the rebalance starts there, the others
    // learn at their next heartbeat (sent 21006, answered 21008) and the
    // join completes at 21009.
    let p = params(|p| {
        p.set_value(
            "member.stop",
            &crate::systems::ParamValue::Enum("close"),
            &[4, 1],
        )
        .unwrap()
    });
    let out = run(
        4,
        p,
        30,
        vec![fault(
            20_000,
            Action::Crash { host_alive: true },
            Target::Path {
                word: "member",
                arg: None,
            },
        )],
    );
    let crashed = out.faults[0].node.unwrap();
    assert_eq!(detections(&out), vec![(20_001.0, Some(crashed))]);
    assert_eq!(phase_times(&out, "leave-group"), vec![20_001.0]);
    assert_eq!(phase_times(&out, "preparing-rebalance")[1], 20_001.0);
    let g = generations(&out);
    assert_eq!((g[1].0, g[1].2), (21_009.0, 2));
}

#[test]
fn killed_member_with_live_host_is_not_noticed_until_session_timeout() {
    // member.stop = kill: the connection reset carries no LeaveGroup; the
    // real coordinator ignores it and so does the model.
    let out = run(
        3,
        GlParams::default(),
        30,
        vec![fault(
            20_000,
            Action::Crash { host_alive: true },
            Target::Path {
                word: "member",
                arg: None,
            },
        )],
    );
    assert!(detections(&out).is_empty());
    assert_eq!(generations(&out).len(), 1);
}

#[test]
fn leader_departure_picks_the_first_key_of_the_member_map() {
    // The leader leaves cleanly; the coordinator's new leader must be the
    // member whose id comes first in the Scala HashMap's iteration order
    // of the remaining ids, checked by rebuilding that order with the
    // naive map from the ids the coordinator handed out.
    for seed in 0..20u64 {
        let p = params(|p| {
            p.set_value(
                "member.stop",
                &crate::systems::ParamValue::Enum("close"),
                &[6, 1],
            )
            .unwrap()
        });
        let model = GroupLeader::new(6, p);
        let mut cfg = SimConfig {
            seed,
            duration: SimDuration::from_ms(25_000),
            faults: vec![fault(
                20_000,
                Action::Crash { host_alive: true },
                Target::Path {
                    word: "group-leader",
                    arg: None,
                },
            )],
            load: LoadConfig {
                clients: 0,
                ..LoadConfig::default()
            },
            trace: false,
            ..SimConfig::default()
        };
        cfg.net.latency = Latency::Constant { ms: 1.0 };
        let out = run_trial(&model, &cfg, None);
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        let g = generations(&out);
        assert_eq!(g.len(), 2, "seed {seed}");
        let old = g[0].1;
        assert_eq!(out.faults[0].node, Some(old));
        assert_eq!(phase_times(&out, "leader-chosen"), vec![20_001.0]);
        let ids = member_ids(&model, &cfg);
        // The ids in the order they were added, the old leader's removed.
        let mut naive = NaiveMap::new();
        for (id, _) in &ids {
            naive.put(id);
        }
        let old_id = &ids.iter().find(|(_, n)| *n == old).unwrap().0;
        naive.remove(old_id);
        let first = naive.keys()[0].clone();
        let want = ids.iter().find(|(k, _)| *k == first).unwrap().1;
        assert_eq!(g[1].1, want, "seed {seed}");
    }
}

/// (member id, node) in the order the coordinator added them: the first
/// delivery of each id's second JoinGroup, read from a traced rerun.
fn member_ids(model: &GroupLeader, cfg: &SimConfig) -> Vec<(String, NodeId)> {
    let cfg = SimConfig {
        trace: true,
        ..cfg.clone()
    };
    let out = run_trial(model, &cfg, None);
    let coord = format!(" {} <- ", model.coordinator());
    let mut ids: Vec<(String, NodeId)> = Vec::new();
    for line in &out.trace {
        let Some(at) = line.find(&coord) else {
            continue;
        };
        let rest = &line[at + coord.len()..];
        let Some((from, msg)) = rest.split_once(' ') else {
            continue;
        };
        let Some(id) = msg
            .strip_prefix("JoinGroup { member_id: \"")
            .and_then(|m| m.strip_suffix("\" }"))
        else {
            continue;
        };
        if id.is_empty() || ids.iter().any(|(k, _)| k == id) {
            continue;
        }
        let n: u32 = from.trim_start_matches('n').parse().expect("node name nK");
        ids.push((id.to_string(), NodeId(n - 1)));
    }
    ids
}

#[test]
fn member_that_does_not_rejoin_within_the_rebalance_timeout_is_removed() {
    // max.poll.interval.ms 10000 (< session.timeout.ms 45000). Member 1 is
    // paused at 20000 (its heartbeats stop; its session would expire only
    // at 18007 + 45000); member 2 leaves cleanly at 20500, so the rebalance
    // starts at 20501 with a DelayedJoin of 10000 ms. Everyone but the
    // paused member rejoins by 21009; the join completes when the delayed
    // join expires at 30501, removing the paused member.
    let p = params(|p| {
        p.set("max.poll.interval.ms", 10_000.0).unwrap();
        p.set_value(
            "member.stop",
            &crate::systems::ParamValue::Enum("close"),
            &[5, 1],
        )
        .unwrap();
    });
    let out = run(
        5,
        p,
        35,
        vec![
            fault(20_000, Action::Pause, Target::Node(0)),
            fault(20_500, Action::Crash { host_alive: true }, Target::Node(1)),
        ],
    );
    assert_eq!(phase_times(&out, "removed-not-rejoined"), vec![30_501.0]);
    let g = generations(&out);
    assert_eq!((g[1].0, g[1].2), (30_501.0, 2));
    let size = out
        .records
        .iter()
        .filter(|r| matches!(r.obs, Obs::ElectionRound { term: 2, .. }))
        .count();
    assert_eq!(size, 3);
}

#[test]
fn leader_crash_is_noticed_after_the_session_timeout_and_a_new_leader_leads() {
    // Default session.timeout.ms 45000: the leader's last heartbeat arrives
    // at 18007, it is removed at 63007 and a new leader is chosen there.
    let out = run(
        10,
        GlParams::default(),
        80,
        vec![fault(
            20_000,
            Action::Crash { host_alive: false },
            Target::Path {
                word: "group-leader",
                arg: None,
            },
        )],
    );
    let old = out.faults[0].node.unwrap();
    assert_eq!(detections(&out), vec![(63_007.0, Some(old))]);
    assert_eq!(phase_times(&out, "leader-chosen"), vec![63_007.0]);
    let g = generations(&out);
    assert_eq!(g.len(), 2);
    assert_ne!(g[1].1, old);
    let cols = columns_of(&out, 10);
    assert_eq!(cols[1], Some(43_007.0));
}

#[test]
fn same_seed_same_records() {
    let a = run(50, GlParams::default(), 30, vec![]);
    let b = run(50, GlParams::default(), 30, vec![]);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(generations(&a), generations(&b));
}

// ---------- coordinator failover (3 brokers) ----------
//
// 4 members are nodes 0..4, brokers nodes 4, 5, 6. The group's partition is
// 41 ("electbench".hashCode % 50), so its replicas are brokers 41 % 3 = 2,
// 0, 1: nodes 6 (the coordinator), 4 and 5. Brokers heartbeat each other at
// 0, 2000, 4000, .... The group's first record is stored at 6007 (the
// leader's SyncGroup arrives at 6005, node 4's ack of its copy at 6007), so
// members are Stable at 6008 and heartbeat at 9008, 12008, ..., answered
// 2 ms later.

fn run3(members: usize, p: GlParams, secs: u64, faults: Vec<FaultSpec>) -> SimOutput {
    let mut cfg = SimConfig {
        seed: 7,
        duration: SimDuration::from_ms(secs * 1000),
        faults,
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    };
    cfg.net.latency = Latency::Constant { ms: 1.0 };
    let model = GroupLeader::with_brokers(members, 3, p);
    assert_eq!(model.replicas(), vec![NodeId(6), NodeId(4), NodeId(5)]);
    let out = run_trial(&model, &cfg, None);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    out
}

/// (time ms, node) of every record of phase `name`.
fn phase_nodes(out: &SimOutput, name: &str) -> Vec<(f64, NodeId)> {
    out.records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Phase { name: n, .. } if n == name))
        .map(|r| (r.at.as_ms_f64(), r.node))
        .collect()
}

fn coordinator_crash(ms: u64, host_alive: bool) -> FaultSpec {
    fault(
        ms,
        Action::Crash { host_alive },
        Target::Path {
            word: "coordinator",
            arg: None,
        },
    )
}

#[test]
fn partition_for_the_group_and_its_replicas() {
    let p = GlParams::default();
    assert_eq!(java_string_hash("electbench"), 708_759_041);
    let m = GroupLeader::with_brokers(4, 3, p.clone());
    assert_eq!(m.partition(), 41);
    let one = GroupLeader::new(4, p.clone());
    // One broker: replication capped at 1, the coordinator is the node after
    // the members, as before brokers were modelled.
    assert_eq!(one.replicas(), vec![NodeId(4)]);
    let five = GroupLeader::with_brokers(4, 5, p);
    assert_eq!(five.replicas(), vec![NodeId(5), NodeId(6), NodeId(7)]);
}

#[test]
fn coordinator_host_crash_moves_the_group_without_a_rebalance() {
    // The coordinator's host dies at 20500. Its last broker heartbeat
    // arrived at 20001, so the other brokers fence it at 29001 and node 4,
    // next in the assignment, is elected and loads the group until 29051.
    // Members notice nothing until the heartbeat they sent at 21008 has
    // been unanswered for request.timeout.ms: at the tick of 51008 they mark
    // the coordinator unknown, FindCoordinator (1 ms each way) names node
    // 4, and its NONE to their heartbeat arrives at 51012. The stored
    // record kept members, generation and leader: no rebalance.
    let out = run3(
        4,
        GlParams::default(),
        70,
        vec![coordinator_crash(20_500, false)],
    );
    assert_eq!(out.faults[0].node, Some(NodeId(6)));
    assert_eq!(
        detections(&out),
        vec![(29_001.0, Some(NodeId(6))), (29_001.0, Some(NodeId(6)))]
    );
    assert_eq!(
        phase_nodes(&out, "coordinator-elected"),
        vec![(29_001.0, NodeId(4))]
    );
    assert_eq!(
        phase_nodes(&out, "group-loaded"),
        vec![(29_051.0, NodeId(4))]
    );
    assert_eq!(phase_times(&out, "coordinator-unknown"), vec![51_008.0; 4]);
    assert_eq!(
        phase_times(&out, "coordinator-discovered"),
        vec![51_010.0; 4]
    );
    assert_eq!(phase_times(&out, "coordinator-serving"), vec![51_012.0; 4]);
    // One generation, before the fault: the move bumps nothing.
    let g = generations(&out);
    assert_eq!(g.len(), 1);
    assert!(phase_times(&out, "revoke").is_empty());
    assert!(phase_times(&out, "heartbeat-expired").is_empty());
    let cols = columns_of(&out, 4);
    assert_eq!(cols, vec![None, None, Some(0.0), Some(30_512.0)]);
}

#[test]
fn coordinator_process_crash_is_noticed_at_once_and_served_after_the_load() {
    // Only the process dies: the members' connections are reset at once,
    // they mark the coordinator unknown and look it up every
    // retry.backoff.ms; the brokers still name the dead one (connection
    // refused) until they fence it at 29001. coordinator.load.ms 5000: the
    // members find node 4 during its load, their heartbeats are answered
    // NONE blindly (not yet "serving"), and only a heartbeat after
    // group-loaded (34001) counts.
    let p = params(|p| p.set("coordinator.load.ms", 5000.0).unwrap());
    let out = run3(4, p, 50, vec![coordinator_crash(20_500, true)]);
    assert_eq!(phase_times(&out, "coordinator-unknown"), vec![20_501.0; 4]);
    assert_eq!(
        phase_nodes(&out, "group-loaded"),
        vec![(34_001.0, NodeId(4))]
    );
    let found = phase_times(&out, "coordinator-discovered");
    assert_eq!(found.len(), 4);
    assert!(
        found.iter().all(|&t| t > 29_001.0 && t < 29_200.0),
        "{found:?}"
    );
    let served = phase_times(&out, "coordinator-serving");
    assert_eq!(served.len(), 4);
    // Heartbeats every 3000 from discovery: two blind answers during the
    // load, the third after it.
    for (f, s) in found.iter().zip(&served) {
        assert_eq!(*s, f + 6002.0);
    }
    assert!(served.iter().all(|&t| t > 34_001.0));
    assert_eq!(generations(&out).len(), 1);
}

#[test]
fn join_during_the_load_gets_load_in_progress_and_retries() {
    // The coordinator's host dies at 20500; member 0's process is killed at
    // 25000 and restarts at 30000, as a new consumer: it looks the
    // coordinator up (node 4, loading until 34001 with coordinator.load.ms
    // 5000) and its JoinGroup is answered COORDINATOR_LOAD_IN_PROGRESS
    // every retry.backoff.ms until the group is loaded.
    let p = params(|p| p.set("coordinator.load.ms", 5000.0).unwrap());
    let faults = vec![
        coordinator_crash(20_500, false),
        FaultSpec::at(
            25_000,
            Action::Crash { host_alive: false },
            Target::Node(0),
            Some(5000),
        ),
    ];
    let model = GroupLeader::with_brokers(4, 3, p);
    let mut cfg = SimConfig {
        seed: 7,
        duration: SimDuration::from_ms(100_000),
        faults,
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        trace: true,
        ..SimConfig::default()
    };
    cfg.net.latency = Latency::Constant { ms: 1.0 };
    let out = run_trial(&model, &cfg, None);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    let at = |l: &str| -> f64 { l.split("ms ").next().unwrap().parse().unwrap() };
    let load_errors: Vec<f64> = out
        .trace
        .iter()
        .filter(|l| l.contains("n1 <- n5 JoinError { error: CoordinatorLoadInProgress }"))
        .map(|l| at(l))
        .collect();
    assert!(load_errors.len() > 30, "{load_errors:?}");
    assert!(load_errors.iter().all(|&t| t > 30_000.0 && t < 34_001.0));
    let first_id = out
        .trace
        .iter()
        .find(|l| l.contains("n1 <- n5 MemberIdRequired"))
        .map(|l| at(l))
        .expect("the restarted member gets an id");
    assert!(first_id > 34_001.0 && first_id < 34_110.0, "{first_id}");
    // The new member's join rebalances the group; the old id of member 0
    // is removed when its heartbeat deadline (reset at the load) passes,
    // and generation 2 has the 4 live members.
    let g = generations(&out);
    assert_eq!(g.last().unwrap().2, 2);
    let size = out
        .records
        .iter()
        .filter(|r| matches!(r.obs, Obs::ElectionRound { term: 2, .. }))
        .count();
    assert_eq!(size, 4);
    assert_eq!(phase_times(&out, "heartbeat-expired"), vec![79_001.0]);
}

#[test]
fn short_session_finds_the_new_coordinator_sooner_and_does_not_rebalance() {
    // session.timeout.ms 6000: the members' own session check fires at the
    // tick of 27008 (last answer 18010), before the heartbeat's request
    // timeout. The brokers have not fenced node 6 yet and name it again;
    // discovery resets the session timer (27010), the connection attempt to
    // the dead host would take socket.connection.setup.timeout.ms, but the
    // session runs out first, at the tick of 33010: by then node 4 leads
    // and loaded the group at 29051, giving every member until 35051, and
    // the members' heartbeats reach it at 33013. A shorter session makes
    // the move shorter (12.5 s here against 30.5 s with the default), and
    // the load's fresh deadlines keep it free of a rebalance.
    let p = params(|p| p.set("session.timeout.ms", 6000.0).unwrap());
    let out = run3(4, p, 60, vec![coordinator_crash(20_500, false)]);
    let mut unknown = vec![27_008.0; 4];
    unknown.extend([33_010.0; 4]);
    assert_eq!(phase_times(&out, "coordinator-unknown"), unknown);
    let mut found = vec![27_010.0; 4];
    found.extend([33_012.0; 4]);
    assert_eq!(phase_times(&out, "coordinator-discovered"), found);
    assert_eq!(phase_times(&out, "coordinator-serving"), vec![33_014.0; 4]);
    assert!(phase_times(&out, "heartbeat-expired").is_empty());
    assert_eq!(generations(&out).len(), 1);
    let cols = columns_of(&out, 4);
    assert_eq!(cols, vec![None, None, Some(0.0), Some(12_514.0)]);
}

#[test]
fn store_group_waits_for_an_in_sync_follower_until_it_is_fenced() {
    // Follower node 5 dies at 1000, before the first SyncGroup. The leader's
    // SyncGroup (6004) is stored locally at once but acks=-1 waits for node
    // 5 until the coordinator fences it (its last heartbeat arrived at 1:
    // 9001); then every member gets its assignment, at 9002.
    let out = run3(
        4,
        GlParams::default(),
        12,
        vec![fault(
            1000,
            Action::Crash { host_alive: false },
            Target::Node(5),
        )],
    );
    let serving: Vec<f64> = out
        .records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Serving { term: 1, .. }))
        .map(|r| r.at.as_ms_f64())
        .collect();
    assert_eq!(serving, vec![9002.0; 4]);
}

#[test]
fn same_seed_same_records_with_a_coordinator_move() {
    let model = GroupLeader::with_brokers(20, 3, GlParams::default());
    let cfg = SimConfig {
        seed: 3,
        duration: SimDuration::from_ms(80_000),
        faults: vec![coordinator_crash(20_500, true)],
        load: LoadConfig {
            clients: 0,
            ..LoadConfig::default()
        },
        ..SimConfig::default()
    };
    let a = run_trial(&model, &cfg, None);
    let b = run_trial(&model, &cfg, None);
    assert!(a.violations.is_empty(), "{:?}", a.violations);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_eq!(
        phase_times(&a, "coordinator-serving"),
        phase_times(&b, "coordinator-serving")
    );
    assert_eq!(phase_times(&a, "coordinator-serving").len(), 20);
}
