//! Tests of `rocketmq/dledger`: DLedger's pure rules (vote results, the
//! parse of a vote round, the vote delay), a member's answers per state
//! against a naive oracle, heartbeat-loss timing, and scenarios with
//! hand-placed faults (master crash, preferred-leader transfer).

use proptest::prelude::*;

use super::{dledger_columns, DledgerModel, PATH};
use crate::engine::fault::{Action, FaultSpec, Target};
use crate::engine::sim::run_trial;
use crate::engine::{rng, ClientOp, Ctx, NodeId, Obs, OpKind, Outbox, SimDuration, SimTime};
use crate::systems::raft::core::State;
use crate::systems::raft::dledger::{
    parse_vote, vote_delay_ms, vote_result, DlTimer, ParseResult, VoteResult, VoteTally,
};
use crate::systems::raft::tests::{assert_clean, cfg, crash, elections, phases};
use crate::systems::raft::{raft_columns, Entry, Msg, RaftDurable, RaftNode, Server, Timer};
use crate::systems::ParamValue;

fn model(n: usize, preferred: i64) -> DledgerModel {
    let mut p = PATH.default_params(&[n]);
    p.set_value("preferredLeaderId", &ParamValue::Int(preferred), &[n])
        .unwrap();
    DledgerModel::new(n, &p)
}

/// Run `f` on `s` at `now_ms`; deliver its disk writes at once; return what
/// it sent and recorded.
fn at(
    s: &mut Server,
    now: SimTime,
    f: impl FnOnce(&mut Server, &mut Ctx<'_, RaftNode>),
) -> Outbox<RaftNode> {
    let mut timers = Timers::default();
    at_keeping(s, &mut timers, now, f)
}

/// A server's pending timers, kept from call to call as the engines keep
/// them (a timer set and neither fired, replaced nor cancelled stays).
#[derive(Default)]
struct Timers {
    pending: Vec<(Timer, u64)>,
    next: u64,
}

/// [`at`], with `timers` the server's pending timers before and after.
fn at_keeping(
    s: &mut Server,
    timers: &mut Timers,
    now: SimTime,
    f: impl FnOnce(&mut Server, &mut Ctx<'_, RaftNode>),
) -> Outbox<RaftNode> {
    let me = s.id;
    let mut r = rng::stream(7, "test", u64::from(me.0) ^ now.0);
    let mut out = Outbox::default();
    let Timers { pending, next } = timers;
    {
        let mut ctx = Ctx::new(now, me, 0, &mut r, &mut out, pending, next);
        f(s, &mut ctx);
    }
    let persists = std::mem::take(&mut out.persists);
    for w in persists {
        let mut ctx = Ctx::new(now, me, 0, &mut r, &mut out, pending, next);
        s.on_persisted(&mut ctx, w);
    }
    out
}

fn ms(t: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_ms(t)
}

fn log(terms: &[u64]) -> Vec<Entry> {
    terms.iter().map(|&t| Entry { term: t, op: None }).collect()
}

fn server(n: usize, d: RaftDurable) -> Server {
    Server::new(NodeId(0), n, model(n, 0).cfg, d, false)
}

/// A member of term 5 following leader 1 (it heard its heartbeat at 0).
fn follower(vote: Option<NodeId>, terms: &[u64]) -> Server {
    let mut s = server(
        3,
        RaftDurable {
            term: 5,
            vote,
            leader: None,
            log: log(terms),
        },
    );
    at(&mut s, ms(0), |s, ctx| s.on_start(ctx));
    at(&mut s, ms(0), |s, ctx| {
        s.on_message(ctx, NodeId(1), Msg::Heartbeat { term: 5, commit: 0 })
    });
    assert_eq!(s.state(), State::Follower);
    s
}

fn vote_answer(out: &Outbox<RaftNode>, to: NodeId) -> Option<VoteResult> {
    out.sends.iter().find_map(|(t, m)| match m {
        Msg::DlVoteResp { result, .. } if *t == to => Some(*result),
        _ => None,
    })
}

// ----- pure rules -----

#[test]
fn vote_results_follow_handle_vote_in_the_source_order() {
    let c = NodeId(2);
    let r = |term, vote, leader, ledger, taking, req_term, req_ledger| {
        vote_result(
            term, vote, leader, ledger, taking, c, false, req_term, req_ledger,
        )
    };
    // Ledger first, even with a higher request term.
    assert_eq!(
        r(5, None, None, (3, 10), false, 9, (2, 20)),
        VoteResult::RejectExpiredLedgerTerm
    );
    assert_eq!(
        r(5, None, None, (3, 10), false, 9, (3, 9)),
        VoteResult::RejectSmallLedgerEndIndex
    );
    assert_eq!(
        r(5, None, None, (3, 10), false, 4, (3, 10)),
        VoteResult::RejectExpiredVoteTerm
    );
    assert_eq!(
        r(5, None, None, (3, 10), false, 6, (3, 10)),
        VoteResult::RejectTermNotReady
    );
    let other = Some(NodeId(1));
    assert_eq!(
        r(5, other, other, (3, 10), false, 5, (3, 10)),
        VoteResult::RejectAlreadyHasLeader
    );
    assert_eq!(
        r(5, other, None, (3, 10), false, 5, (3, 10)),
        VoteResult::RejectAlreadyVoted
    );
    assert_eq!(
        r(5, Some(c), other, (3, 10), false, 5, (3, 10)),
        VoteResult::Accept,
        "a repeat"
    );
    assert_eq!(
        r(5, None, None, (6, 10), false, 5, (6, 10)),
        VoteResult::RejectTermSmallThanLedger
    );
    assert_eq!(
        r(5, None, None, (3, 10), true, 5, (3, 10)),
        VoteResult::RejectTakingLeadership
    );
    assert_eq!(
        r(5, None, None, (3, 10), true, 5, (3, 11)),
        VoteResult::Accept
    );
    // A member never refuses its own vote for taking leadership.
    assert_eq!(
        vote_result(5, None, None, (3, 10), true, c, true, 5, (3, 10)),
        VoteResult::Accept
    );
}

#[test]
fn parse_of_a_vote_round_in_priority_order() {
    let t = |valid, accepted, not_ready, bigger, has_leader, max| VoteTally {
        term: 7,
        valid,
        accepted,
        not_ready,
        bigger_ledger: bigger,
        already_has_leader: has_leader,
        known_max_term: max,
    };
    let p = |x: VoteTally| parse_vote(&x, 3, 1000, 6000);
    assert_eq!(
        p(t(3, 3, 0, 0, true, 9)),
        (ParseResult::WaitToVoteNext, Some(0))
    );
    assert_eq!(
        p(t(3, 2, 0, 0, true, 7)),
        (ParseResult::WaitToRevote, Some(6000))
    );
    assert_eq!(
        p(t(1, 1, 0, 0, false, 7)),
        (ParseResult::WaitToRevote, Some(0))
    );
    assert_eq!(
        p(t(3, 1, 0, 2, false, 7)),
        (ParseResult::WaitToRevote, Some(1000))
    );
    assert_eq!(p(t(2, 2, 0, 0, false, 7)), (ParseResult::Passed, None));
    assert_eq!(
        p(t(3, 1, 1, 0, false, 7)),
        (ParseResult::RevoteImmediately, None)
    );
    assert_eq!(
        p(t(3, 1, 0, 0, false, 7)),
        (ParseResult::WaitToVoteNext, Some(0))
    );
    // Five members: quorum 3.
    assert_eq!(
        parse_vote(&t(3, 2, 0, 0, false, 7), 5, 1000, 6000).0,
        ParseResult::WaitToVoteNext
    );
    assert_eq!(
        parse_vote(&t(4, 3, 0, 0, false, 7), 5, 1000, 6000).0,
        ParseResult::Passed
    );
}

#[test]
fn vote_delay_is_whole_ms_in_min_to_max_exclusive() {
    let mut r = rng::stream(3, "test", 0);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20_000 {
        let d = vote_delay_ms(&mut r, 300, 1000);
        assert!((300..1000).contains(&d), "{d}");
        seen.insert(d);
    }
    assert_eq!(seen.first(), Some(&300));
    assert_eq!(seen.last(), Some(&999));
    assert!((0..2000).all(|_| (30..100).contains(&vote_delay_ms(&mut r, 30, 100))));
}

// ----- a member's answers per state -----

/// A naive reading of `handleVote` for a member with no transfer under way:
/// the answer from the facts, in words.
fn naive_answer(
    term: u64,
    vote: Option<NodeId>,
    knows_leader: bool,
    mine: (u64, u64),
    cand: NodeId,
    req: u64,
    theirs: (u64, u64),
) -> VoteResult {
    let older_ledger = theirs.0 < mine.0 || (theirs.0 == mine.0 && theirs.1 < mine.1);
    if older_ledger {
        if theirs.0 < mine.0 {
            VoteResult::RejectExpiredLedgerTerm
        } else {
            VoteResult::RejectSmallLedgerEndIndex
        }
    } else if req < term {
        VoteResult::RejectExpiredVoteTerm
    } else if req > term {
        VoteResult::RejectTermNotReady
    } else if vote.is_some() && vote != Some(cand) {
        if knows_leader {
            VoteResult::RejectAlreadyHasLeader
        } else {
            VoteResult::RejectAlreadyVoted
        }
    } else if req < mine.0 {
        VoteResult::RejectTermSmallThanLedger
    } else {
        VoteResult::Accept
    }
}

proptest! {
    #[test]
    fn a_member_answers_votes_as_the_naive_rule_in_every_state(
        role in 0u8..2,
        vote in proptest::option::of(1u32..3),
        log_terms in proptest::collection::vec(1u64..6, 0..5),
        cand in 1u32..3,
        dreq in 0u64..3,
        last_term in 0u64..7,
        last_index in 0u64..6,
    ) {
        let mut terms = log_terms;
        terms.sort_unstable();
        // role 0: a follower of member 1 in term 5; role 1: a candidate.
        let mut s = follower(vote.map(NodeId), &terms);
        if role == 1 {
            at(&mut s, ms(6011), |s, ctx| s.on_timer(ctx, Timer::Dl(DlTimer::Maintain)));
            prop_assert_eq!(s.state(), State::Candidate);
        }
        let (term, v, knows) = (s.term(), s.durable().vote, s.view().leader.is_some());
        let mine = (s.durable().last_term(), s.durable().last_index());
        let req = term - 1 + dreq;
        let out = at(&mut s, ms(6100), |s, ctx| s.on_message(ctx, NodeId(cand), Msg::DlVote {
            term: req, last_index, last_term, round: 1,
        }));
        let got = vote_answer(&out, NodeId(cand)).expect("an answer");
        let want = naive_answer(term, v, knows, mine, NodeId(cand), req, (last_term, last_index));
        prop_assert_eq!(got, want);
        match got {
            VoteResult::Accept => prop_assert_eq!(s.durable().vote, Some(NodeId(cand))),
            VoteResult::RejectTermNotReady => {
                // A candidate now, term not yet adopted: that waits for its next pass.
                prop_assert_eq!(s.state(), State::Candidate);
                prop_assert_eq!(s.term(), term);
                prop_assert_eq!(s.durable().vote, v);
            }
            _ => prop_assert_eq!(s.durable().vote, v),
        }
    }
}

#[test]
fn a_higher_term_is_adopted_on_the_next_pass_and_the_vote_comes_300_to_999_ms_later() {
    let mut s = follower(None, &[1, 2]);
    at(&mut s, ms(100), |s, ctx| {
        s.on_message(ctx, NodeId(2), Msg::Heartbeat { term: 9, commit: 0 })
    });
    assert_eq!((s.state(), s.term()), (State::Candidate, 5));
    at(&mut s, ms(105), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    assert_eq!(s.term(), 9, "nextTerm jumps to the largest term seen");
    let next = s.dledger_next_vote().expect("a vote time");
    let wait = next.since(ms(105)).as_ms_f64();
    assert!((300.0..1000.0).contains(&wait), "{wait}");
    // No vote before then; a vote round at it.
    let early = at(&mut s, SimTime(next.0 - 1_000_000), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    assert!(!early
        .sends
        .iter()
        .any(|(_, m)| matches!(m, Msg::DlVote { .. })));
    let out = at(&mut s, next, |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    let votes: Vec<_> = out
        .sends
        .iter()
        .filter(|(_, m)| matches!(m, Msg::DlVote { term: 9, .. }))
        .collect();
    assert_eq!(votes.len(), 2, "{:?}", out.sends);
}

// ----- heartbeat loss -----

#[test]
fn a_follower_stands_on_the_first_pass_after_three_missed_heartbeats() {
    let mut s = follower(None, &[]);
    // More than 3 x 2000 ms must pass: not at 6000 ms exactly.
    at(&mut s, ms(6000), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    assert_eq!(s.state(), State::Follower);
    let out = at(&mut s, ms(6000) + SimDuration(1), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    assert_eq!(s.state(), State::Candidate);
    assert_eq!(s.term(), 5, "no term bump on the way to candidate");
    assert!(out.records.iter().any(|r| matches!(
        r,
        Obs::Detected {
            suspect: Some(NodeId(1)),
            ..
        }
    )));
    // A heartbeat resets the count: at 4000 + 6000 still a follower.
    let mut s = follower(None, &[]);
    at(&mut s, ms(4000), |s, ctx| {
        s.on_message(ctx, NodeId(1), Msg::Heartbeat { term: 5, commit: 0 })
    });
    at(&mut s, ms(9990), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    assert_eq!(s.state(), State::Follower);
    at(&mut s, ms(10010), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    assert_eq!(s.state(), State::Candidate);
}

#[test]
fn followers_detect_a_dead_master_between_4_and_6_s_after_the_crash() {
    // The last heartbeat left the master at most 2000 ms before the crash;
    // followers stand on the first 10 ms pass more than 6000 ms after it.
    for seed in 1..=10 {
        let out = run_trial(
            &model(3, 0),
            &cfg(seed, 30, 2, vec![crash(12_000, None)]),
            None,
        );
        assert_clean(&out);
        let t0 = out.faults[0].at;
        let first = out
            .records
            .iter()
            .find_map(|r| match r.obs {
                Obs::Detected { .. } if r.at >= t0 => Some(r.at.since(t0).as_ms_f64()),
                _ => None,
            })
            .expect("detected");
        assert!((3_990.0..=6_012.0).contains(&first), "seed {seed}: {first}");
    }
}

// ----- scenarios -----

#[test]
fn master_crash_elects_a_new_master_and_loses_no_acked_write() {
    for seed in 1..=12 {
        let faults = vec![crash(15_000, Some(20_000))];
        let out = run_trial(&model(3, 0), &cfg(seed, 70, 3, faults), None);
        assert_clean(&out);
        let crashed = out.faults[0].node.expect("a master to crash");
        let after: Vec<_> = elections(&out)
            .into_iter()
            .filter(|e| e.0 > 15_000.0)
            .collect();
        assert!(!after.is_empty(), "seed {seed}: no new leader");
        assert_ne!(after[0].1, crashed, "seed {seed}");
        let cols = dledger_columns(&out);
        let master = cols[0].expect("a new master");
        let leaderless = raft_columns(&out)[0].unwrap();
        // Detection (4-6 s), at most two vote rounds with their waits, then
        // the broker's 100 ms poll.
        assert!(master >= leaderless, "seed {seed}");
        assert!(
            (4_000.0..16_000.0).contains(&master),
            "seed {seed}: {master}"
        );
        assert!(master - leaderless <= 200.0, "seed {seed}");
        // Producers write again after the route refresh.
        assert!(out.clients.writes_ok > 100, "seed {seed}");
        assert_eq!(cols[1], None, "no transfer configured");
    }
}

#[test]
fn a_process_crash_is_seen_at_once_by_vote_rounds() {
    // With the host alive a vote request to the dead process fails at once,
    // so the first round (in the old term) does not wait 2-3 s for it.
    let mut waits_host_down = Vec::new();
    let mut waits_host_up = Vec::new();
    for seed in 1..=8 {
        for host_alive in [false, true] {
            let f = FaultSpec::at(12_000, Action::Crash { host_alive }, Target::Leader, None);
            let out = run_trial(&model(3, 0), &cfg(seed, 40, 0, vec![f]), None);
            assert_clean(&out);
            let cols = raft_columns(&out);
            let t0 = out.faults[0].at;
            let detect = out
                .records
                .iter()
                .find_map(|r| match r.obs {
                    Obs::Detected { .. } if r.at >= t0 => Some(r.at.since(t0).as_ms_f64()),
                    _ => None,
                })
                .unwrap();
            let w = cols[0].unwrap() - detect;
            if host_alive {
                waits_host_up.push(w);
            } else {
                waits_host_down.push(w);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&waits_host_up) + 1000.0 < mean(&waits_host_down),
        "{waits_host_up:?} {waits_host_down:?}"
    );
}

#[test]
fn the_preferred_leader_takes_back_leadership_after_it_returns() {
    for seed in 1..=6 {
        // Broker 1 (member n0) is preferred. It is master after the start
        // (directly or by a transfer); crash it, bring it back.
        let faults = vec![FaultSpec::at(
            20_000,
            Action::Crash { host_alive: false },
            Target::Node(0),
            Some(15_000),
        )];
        let out = run_trial(&model(3, 1), &cfg(seed, 60, 2, faults), None);
        assert_clean(&out);
        let last = *elections(&out).last().unwrap();
        assert_eq!(last.1, NodeId(0), "seed {seed}: {:?}", elections(&out));
        let back = 35_000.0;
        let transfers: Vec<_> = phases(&out, "leadershipTransfer")
            .into_iter()
            .filter(|p| p.0 > back)
            .collect();
        // The leader retries every second while the transferee cannot take
        // over yet (still a candidate after its restart: INCONSISTENT_LEADER).
        assert!(!transfers.is_empty(), "seed {seed}");
        assert!(transfers.iter().all(|p| p.1 != NodeId(0)));
        let took = phases(&out, "takeLeadership-success");
        assert!(
            took.iter().any(|p| p.0 > back && p.1 == NodeId(0)),
            "seed {seed}"
        );
        // The transfer: one term up, a 30-99 ms vote delay, one re-vote.
        let cols = dledger_columns(&out);
        let t = cols[1].expect("a transfer");
        assert!((30.0..400.0).contains(&t), "seed {seed}: {t}");
        let before = elections(&out)
            .into_iter()
            .filter(|e| e.0 < last.0)
            .map(|e| e.2)
            .max()
            .unwrap();
        assert_eq!(last.2, before + 1, "seed {seed}: term + 1");
    }
}

#[test]
fn same_seed_same_trace() {
    let faults = || vec![crash(10_000, Some(8_000))];
    let a = run_trial(&model(5, 2), &cfg(42, 40, 3, faults()), None);
    let b = run_trial(&model(5, 2), &cfg(42, 40, 3, faults()), None);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.records.len(), b.records.len());
    assert_eq!(dledger_columns(&a), dledger_columns(&b));
    let c = run_trial(&model(5, 2), &cfg(43, 40, 3, faults()), None);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn an_accept_from_an_earlier_vote_round_is_not_counted() {
    // Regression (tests/invariants.rs, 5 servers, seed 33): an ACCEPT that
    // answered an earlier round arrived during a later round in a higher
    // term and was counted, electing a second leader in that term. Each
    // DLedger round has its own response futures.
    let mut s = follower(None, &[]);
    at(&mut s, ms(6011), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    let out = at(&mut s, ms(6021), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    let round = vote_round(&out);
    let accept = |round| Msg::DlVoteResp {
        term: 5,
        result: VoteResult::Accept,
        round,
    };
    at(&mut s, ms(6022), |s, ctx| {
        s.on_message(ctx, NodeId(1), accept(round - 1))
    });
    assert_eq!(s.state(), State::Candidate, "a stale answer elected it");
    at(&mut s, ms(6023), |s, ctx| {
        s.on_message(ctx, NodeId(1), accept(round))
    });
    assert_eq!(s.state(), State::Leader);
}

/// Fire `timer` as the engines do: it leaves the pending timers first.
fn fire(s: &mut Server, t: &mut Timers, now: SimTime, timer: Timer) -> Outbox<RaftNode> {
    t.pending.retain(|(k, _)| *k != timer);
    at_keeping(s, t, now, |s, ctx| s.on_timer(ctx, timer))
}

/// Member 0 of 3, master of term 5 from 6022 ms (member 1 gone, member 2
/// voted for it), with its pending timers.
fn master_of_term_5() -> (Server, Timers) {
    let mut t = Timers::default();
    let mut s = server(
        3,
        RaftDurable {
            term: 5,
            ..RaftDurable::default()
        },
    );
    at_keeping(&mut s, &mut t, ms(0), |s, ctx| s.on_start(ctx));
    at_keeping(&mut s, &mut t, ms(0), |s, ctx| {
        s.on_message(ctx, NodeId(1), Msg::Heartbeat { term: 5, commit: 0 })
    });
    // Member 1 is gone: stand at 6011, vote at 6021, member 2 accepts.
    at_keeping(&mut s, &mut t, ms(6011), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    let out = at_keeping(&mut s, &mut t, ms(6021), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::Maintain))
    });
    let round = vote_round(&out);
    at_keeping(&mut s, &mut t, ms(6022), |s, ctx| {
        s.on_message(
            ctx,
            NodeId(2),
            Msg::DlVoteResp {
                term: 5,
                result: VoteResult::Accept,
                round,
            },
        )
    });
    at_keeping(&mut s, &mut t, ms(6022), |s, ctx| {
        s.on_timer(ctx, Timer::Dl(DlTimer::MasterCheck))
    });
    assert!(s.dledger_master());
    (s, t)
}

#[test]
fn append_deadlines_fail_only_uncommitted_writes_and_leave_no_timer_behind() {
    // DLedger keeps one future per append (pendingAppendResponsesByTerm),
    // completes and drops it when the quorum water mark passes it, and
    // QuorumAckChecker fails those older than maxWaitAckTimeMs; there is no
    // timer per append. The model once set one maxWaitAckTimeMs timer per
    // write and never cancelled it on commit: every leader carried
    // rate x maxWaitAckTimeMs dead timers (6,000 at 60k writes/s and
    // 100 ms), which bounded the live replication bench.
    let (mut s, mut t) = master_of_term_5();
    let producer = NodeId(3);
    let write = |id: u64, at: u64| client_write(producer, id, ms(at));
    let acked = |s: &mut Server, ctx: &mut Ctx<'_, RaftNode>, index: u64| {
        s.on_message(
            ctx,
            NodeId(2),
            Msg::AppResp {
                term: 5,
                index,
                reject: false,
                hint: 0,
            },
        )
    };
    let answers = |out: &Outbox<RaftNode>| -> Vec<(u64, bool)> {
        out.sends
            .iter()
            .filter_map(|(to, m)| match m {
                Msg::ClientResp { op, ok, .. } if *to == producer => Some((*op, *ok)),
                _ => None,
            })
            .collect()
    };
    let ack_timer = Timer::Dl(DlTimer::AckTimeout);
    let ack_timers = |t: &Timers| t.pending.iter().filter(|(k, _)| *k == ack_timer).count();
    // Writes 77 (entry 1) and 78 (entry 2): one deadline timer for both.
    at_keeping(&mut s, &mut t, ms(6030), write(77, 6030));
    at_keeping(&mut s, &mut t, ms(6040), write(78, 6040));
    assert_eq!(ack_timers(&t), 1, "{:?}", t.pending);
    // Member 2 holds entry 1: with the leader's own, a quorum.
    let out = at_keeping(&mut s, &mut t, ms(6041), |s, ctx| acked(s, ctx, 1));
    assert_eq!(s.commit(), 1);
    assert_eq!(answers(&out), vec![(77, true)]);
    // maxWaitAckTimeMs = 2500: 77's deadline passes silently (committed),
    // 78's fails it.
    let out = fire(&mut s, &mut t, ms(8530), ack_timer);
    assert_eq!(answers(&out), vec![]);
    assert_eq!(ack_timers(&t), 1, "re-armed for 78");
    let out = fire(&mut s, &mut t, ms(8540), ack_timer);
    assert_eq!(answers(&out), vec![(78, false)]);
    assert_eq!(ack_timers(&t), 0);
    // Write 79 (entry 3) commits with 2 and 3: its deadline goes with it,
    // and the timer finds nothing to fail and nothing to wait for.
    at_keeping(&mut s, &mut t, ms(8600), write(79, 8600));
    let out = at_keeping(&mut s, &mut t, ms(8601), |s, ctx| acked(s, ctx, 3));
    assert_eq!(s.commit(), 3);
    assert_eq!(answers(&out), vec![(79, true)]);
    let out = fire(&mut s, &mut t, ms(11_100), ack_timer);
    assert_eq!(answers(&out), vec![]);
    assert_eq!(ack_timers(&t), 0, "no timer left behind");
}

#[test]
fn an_append_leaves_at_the_dispatchers_next_1_ms_pass() {
    // EntryDispatcher.doWork pushes what is new, then waitForRunning(1),
    // which no append cuts short: a new entry waits for the next pass. The
    // passes run every 1 ms from the election (6022 ms here).
    let (mut s, mut t) = master_of_term_5();
    let write = |id: u64| client_write(NodeId(3), id, ms(6030));
    let pushes = |out: &Outbox<RaftNode>| -> Vec<(NodeId, u64, usize)> {
        out.sends
            .iter()
            .filter_map(|(to, m)| match m {
                Msg::App {
                    prev_index,
                    entries,
                    ..
                } => Some((*to, *prev_index, entries.len())),
                _ => None,
            })
            .collect()
    };
    let dispatch = Timer::Dl(DlTimer::Dispatch);
    let at_330 = ms(6030) + SimDuration(300_000);
    let out = at_keeping(&mut s, &mut t, at_330, write(1));
    assert_eq!(pushes(&out), vec![], "no push from the append itself");
    let due: Vec<_> = out
        .timers
        .iter()
        .filter(|(_, _, k)| *k == dispatch)
        .map(|(after, _, _)| *after)
        .collect();
    assert_eq!(due, vec![SimDuration(700_000)], "the pass at 6031 ms");
    let out = at_keeping(&mut s, &mut t, at_330 + SimDuration(100_000), write(2));
    assert_eq!(pushes(&out), vec![]);
    assert_eq!(
        t.pending.iter().filter(|(k, _)| *k == dispatch).count(),
        1,
        "one pass pending"
    );
    // The pass at 6031 ms pushes both entries to both followers.
    let out = fire(&mut s, &mut t, ms(6031), dispatch);
    assert_eq!(
        pushes(&out),
        vec![(NodeId(1), 0, 2), (NodeId(2), 0, 2)],
        "{:?}",
        out.sends
    );
    assert!(t.pending.iter().all(|(k, _)| *k != dispatch));
}

/// The round of the vote requests `out` sent.
fn vote_round(out: &Outbox<RaftNode>) -> u64 {
    out.sends
        .iter()
        .find_map(|(_, m)| match m {
            Msg::DlVote { round, .. } => Some(*round),
            _ => None,
        })
        .expect("a vote round")
}

/// Client `from`'s write `id`, intended at `issued`, arriving.
fn client_write(
    from: NodeId,
    id: u64,
    issued: SimTime,
) -> impl FnOnce(&mut Server, &mut Ctx<'_, RaftNode>) {
    move |s, ctx| {
        let op = ClientOp {
            id,
            kind: OpKind::Write,
            issued,
        };
        s.on_message(ctx, from, Msg::ClientReq { op })
    }
}
