//! Zab broadcast under load: pipelining, commit order, the follower's fsync
//! before its ACK, and the request pipeline's service times
//! (`pipeline.rs`). Every trial has a constant network and disk and no
//! fault, so the outcomes are exact; the message-level assertions read the
//! simulator's trace of deliveries.

use crate::engine::disk::DiskConfig;
use crate::engine::net::{Latency, LinkLatency, NetConfig};
use crate::engine::sim::{run_trial, LoadConfig, SimConfig, SimOutput};
use crate::engine::{NodeId, Obs, SimDuration, SimTime};
use crate::metrics::{self, TrialMetrics};
use crate::systems::zookeeper::fle::{Fle, PATH};
use crate::systems::{ParamValue, Params};

const NET_MS: f64 = 0.5;
const START_MS: u64 = 1_000;
const WARMUP_MS: u64 = 500;

/// Default parameters with every `model.*` cost 0 but those in `set`.
fn params(n: usize, set: &[(&str, i64)]) -> Params {
    let mut p = PATH.default_params(&[n]);
    for spec in PATH.params.iter().filter(|s| s.name.starts_with("model.")) {
        p.set_value(spec.name, &ParamValue::Int(0), &[n]).unwrap();
    }
    for (k, v) in set {
        p.set_value(k, &ParamValue::Int(*v), &[n]).unwrap();
    }
    p
}

/// `clients` clients, each writing `rate` times a second from 1 s on, over
/// a constant 0.5 ms network and a disk whose fsync takes `fsync_ms`.
fn config(secs: u64, clients: usize, rate: f64, fsync_ms: f64, trace: bool) -> SimConfig {
    SimConfig {
        seed: 17,
        duration: SimDuration::from_ms(secs * 1000),
        net: NetConfig {
            latency: Latency::Constant { ms: NET_MS },
            ..NetConfig::default()
        },
        disk: DiskConfig {
            fsync: Latency::Constant { ms: fsync_ms },
            throughput_bytes_per_s: None,
        },
        load: LoadConfig {
            clients,
            rate_per_s: rate,
            start: SimDuration::from_ms(START_MS),
            warmup: SimDuration::from_ms(WARMUP_MS),
            ..LoadConfig::default()
        },
        trace,
        record_ops: true,
        ..SimConfig::default()
    }
}

fn run(n: usize, p: &Params, c: &SimConfig) -> (SimOutput, TrialMetrics) {
    let mut out = run_trial(&Fle::new(n, p), c, None);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
    assert_eq!(out.findings.lost_acked_writes, 0);
    let serving = out
        .records
        .iter()
        .filter(|r| matches!(r.obs, Obs::Serving { .. }))
        .count();
    assert_eq!(serving, 1, "one leader throughout");
    let m = metrics::compute(&mut out, SimTime::ZERO + c.load.start + c.load.warmup);
    (out, m)
}

/// One delivery of a PROPOSAL, ACK or COMMIT, read from the trace.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Packet {
    /// Delivery time, in microseconds.
    at_us: f64,
    to: NodeId,
    from: NodeId,
    kind: Kind,
    zxid: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Proposal,
    Ack,
    Commit,
}

fn node(word: &str) -> NodeId {
    let k: u32 = word.trim_start_matches('n').parse().expect("node as nK");
    NodeId(k - 1)
}

/// Deliveries of Zab broadcast packets, in trace (time) order. Lines read
/// `<time>ms <to> <- <from> <Msg as Debug>`.
fn packets(out: &SimOutput) -> Vec<Packet> {
    out.trace
        .iter()
        .filter_map(|line| {
            let mut w = line.split_whitespace();
            let at = w.next()?.strip_suffix("ms")?.parse::<f64>().ok()?;
            let to = w.next()?;
            if w.next()? != "<-" {
                return None;
            }
            let from = w.next()?;
            let kind = match w.next()? {
                "Proposal" => Kind::Proposal,
                "Ack" => Kind::Ack,
                "Commit" => Kind::Commit,
                _ => return None,
            };
            let rest = &line[line.find("Zxid(")? + 5..];
            let zxid = rest[..rest.find(')')?].parse().ok()?;
            Some(Packet {
                at_us: (at * 1000.0).round(),
                to: node(to),
                from: node(from),
                kind,
                zxid,
            })
        })
        .collect()
}

fn latencies_us(out: &SimOutput) -> Vec<u64> {
    out.records
        .iter()
        .filter_map(|r| match r.obs {
            Obs::OpDone { op, ok: true } if op.issued.0 >= START_MS * 1_000_000 => {
                Some(r.at.since(op.issued).0 / 1_000)
            }
            _ => None,
        })
        .collect()
}

const SEND_US: f64 = NET_MS * 1000.0;

/// The leader keeps proposing while earlier proposals wait for their ACKs:
/// with 6 ms between a PROPOSAL and its commit, one client at 1000 writes/s
/// is served in full, and a follower holds several proposals it has not
/// acked yet. A broadcast that waited for each commit before the next
/// proposal would top out near 1000 / 6 writes/s.
#[test]
fn proposals_are_pipelined_not_serialised_behind_acks() {
    let (out, m) = run(3, &params(3, &[]), &config(3, 1, 1000.0, 5.0, true));
    assert!(
        m.commit_latency_us[0].unwrap() >= 5_000,
        "each write waits for an fsync: {:?}",
        m.commit_latency_us
    );
    assert!(
        m.throughput_ops_s >= 990.0,
        "the offered 1000 writes/s commit: {}",
        m.throughput_ops_s
    );
    let leader = NodeId(2);
    let mut in_flight = [0i64; 2];
    let mut most = 0;
    for p in packets(&out) {
        match p.kind {
            Kind::Proposal if p.from == leader => in_flight[p.to.index()] += 1,
            Kind::Ack if p.to == leader => in_flight[p.from.index()] -= 1,
            _ => {}
        }
        most = most.max(in_flight[0]).max(in_flight[1]);
    }
    assert!(most >= 4, "at most {most} un-acked proposals at a follower");
}

/// Commits go out in zxid order, each once a quorum acked it (the leader's
/// own ACK plus two of four followers), without waiting for the followers
/// behind a 20 ms link.
#[test]
fn commits_go_in_zxid_order_at_a_quorum_of_acks_not_all() {
    let mut c = config(3, 2, 200.0, 2.0, true);
    let leader = NodeId(4);
    let slow = [NodeId(0), NodeId(1)];
    c.net.links = slow
        .iter()
        .map(|s| LinkLatency {
            from: leader.index(),
            to: s.index(),
            base: SimDuration::from_ms(20),
        })
        .collect();
    let (out, _) = run(5, &params(5, &[]), &c);
    let ps = packets(&out);
    let to_fast: Vec<&Packet> = ps
        .iter()
        .filter(|p| p.kind == Kind::Proposal && p.to == NodeId(2))
        .collect();
    let proposed: Vec<u64> = to_fast.iter().map(|p| p.zxid).collect();
    assert!(proposed.len() > 500, "{} proposals", proposed.len());
    // A fast follower hears each COMMIT one fsync and two hops after the
    // PROPOSAL (plus a group commit's wait), never the slow links' 20 ms.
    for commit in ps
        .iter()
        .filter(|p| p.kind == Kind::Commit && p.to == NodeId(2))
    {
        let proposal = to_fast.iter().find(|p| p.zxid == commit.zxid).unwrap();
        let took = commit.at_us - proposal.at_us;
        assert!(
            (2_000.0 + 2.0 * SEND_US..20_000.0).contains(&took),
            "zxid {:#x}: {took} us from PROPOSAL to COMMIT",
            commit.zxid
        );
    }
    for f in [NodeId(0), NodeId(2)] {
        let commits: Vec<&Packet> = ps
            .iter()
            .filter(|p| p.kind == Kind::Commit && p.to == f)
            .collect();
        let zxids: Vec<u64> = commits.iter().map(|p| p.zxid).collect();
        assert!(
            zxids.windows(2).all(|w| w[1] == w[0] + 1),
            "{f}: commits in zxid order, none skipped"
        );
        assert_eq!(&zxids[..], &proposed[..zxids.len()], "{f}");
        for commit in commits {
            let sent = commit.at_us - SEND_US;
            let acks = ps
                .iter()
                .filter(|p| {
                    p.kind == Kind::Ack
                        && p.to == leader
                        && p.zxid == commit.zxid
                        && p.at_us <= sent
                })
                .count();
            assert!(
                acks >= 2,
                "{f}: zxid {:#x} committed at {sent} us with {acks} follower ACKs",
                commit.zxid
            );
        }
    }
}

/// A follower acks a proposal once its log write is durable: never sooner
/// than one fsync (5 ms) after the PROPOSAL arrived. With
/// `zookeeper.forceSync = no` the same follower acks at once.
#[test]
fn a_follower_acks_only_after_its_fsync() {
    let gaps = |force_sync: &'static str| {
        let mut p = params(3, &[]);
        p.set_value("zookeeper.forceSync", &ParamValue::Enum(force_sync), &[3])
            .unwrap();
        let (out, _) = run(3, &p, &config(2, 1, 200.0, 5.0, true));
        let ps = packets(&out);
        let mut gaps = Vec::new();
        for ack in ps
            .iter()
            .filter(|p| p.kind == Kind::Ack && p.to == NodeId(2))
        {
            let got = ps
                .iter()
                .find(|p| p.kind == Kind::Proposal && p.to == ack.from && p.zxid == ack.zxid)
                .expect("every ACK answers a PROPOSAL");
            gaps.push(ack.at_us - SEND_US - got.at_us);
        }
        assert!(gaps.len() > 300, "{} ACKs", gaps.len());
        gaps
    };
    let synced = gaps("yes");
    assert!(
        synced.iter().all(|&g| g >= 5_000.0),
        "an ACK before the fsync: least gap {:?} us",
        synced.iter().cloned().fold(f64::INFINITY, f64::min)
    );
    let unsynced = gaps("no");
    assert!(
        unsynced.iter().all(|&g| g == 0.0),
        "forceSync=no acks at once"
    );
}

/// Without load, a write's latency grows by exactly the stages it passes:
/// the leader's (`leaderRequestUs + proposalSendUs × 2 learners`) and a
/// follower's, whose ACK the quorum of three needs.
#[test]
fn an_unloaded_write_pays_each_stage_once() {
    let c = config(3, 1, 20.0, 0.0, false);
    let (free, _) = run(3, &params(3, &[]), &c);
    let costs = [
        ("model.leaderRequestUs", 100),
        ("model.proposalSendUs", 50),
        ("model.followerRequestUs", 30),
    ];
    let (paid, _) = run(3, &params(3, &costs), &c);
    let (a, b) = (latencies_us(&free), latencies_us(&paid));
    assert_eq!(a.len(), b.len());
    assert!(a.len() >= 30, "{} writes", a.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(y - x, 100 + 2 * 50 + 30, "{x} us -> {y} us");
    }
}

/// Offered more than the leader can serve, the ensemble commits exactly
/// `1 / (leaderRequestUs + proposalSendUs × learners)` writes a second;
/// offered less, all of it.
#[test]
fn the_leader_saturates_at_one_over_its_service_time() {
    let costs = [("model.leaderRequestUs", 100), ("model.proposalSendUs", 50)];
    for (n, capacity) in [(3usize, 5_000.0), (5, 1e6 / 300.0)] {
        let p = params(n, &costs);
        let (_, over) = run(n, &p, &config(3, 8, 1000.0, 0.0, false));
        assert!(
            (over.throughput_ops_s / capacity - 1.0).abs() < 0.01,
            "{n} servers: {} writes/s, capacity {capacity}",
            over.throughput_ops_s
        );
        let (_, under) = run(n, &p, &config(3, 2, 1000.0, 0.0, false));
        assert!(
            (under.throughput_ops_s / 2_000.0 - 1.0).abs() < 0.01,
            "{n} servers: {} of 2000 writes/s",
            under.throughput_ops_s
        );
        assert!(
            over.commit_latency_us[0] > Some(100_000),
            "{n} servers: writes queue beyond saturation: {:?}",
            over.commit_latency_us
        );
    }
}

/// A follower slower than the leader becomes the bottleneck: the quorum
/// needs its ACKs, which it sends one `followerRequestUs` apart.
#[test]
fn slow_followers_cap_the_throughput() {
    let p = params(3, &[("model.followerRequestUs", 400)]);
    let (_, m) = run(3, &p, &config(3, 4, 1000.0, 0.0, false));
    assert!(
        (m.throughput_ops_s / 2_500.0 - 1.0).abs() < 0.01,
        "{} writes/s, the followers serve 2500",
        m.throughput_ops_s
    );
}

/// Group commit: a 10 ms fsync does not cap the throughput at 100 writes/s,
/// since every write that arrives during an fsync shares the next one; it
/// only adds to the latency.
#[test]
fn a_slow_fsync_costs_latency_not_throughput() {
    let p = PATH.default_params(&[3]);
    let (_, fast) = run(3, &p, &config(3, 4, 1000.0, 0.0, false));
    let (_, slow) = run(3, &p, &config(3, 4, 1000.0, 10.0, false));
    for m in [&fast, &slow] {
        assert!(
            (m.throughput_ops_s / 4_000.0 - 1.0).abs() < 0.01,
            "{}",
            m.throughput_ops_s
        );
    }
    assert!(slow.commit_latency_us[0].unwrap() >= fast.commit_latency_us[0].unwrap() + 10_000);
}
