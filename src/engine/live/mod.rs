//! The `live` runtime: the same sans-IO nodes on real threads with a real
//! clock (issue 13). `sim` answers "what does the protocol do, reproducibly";
//! `live` answers "what does this in-memory implementation cost on this CPU,
//! under real concurrency".
//!
//! # Design
//!
//! * **Actors.** Every node is an actor with a bounded [`mailbox::Mailbox`]
//!   of envelopes (a message, a timer firing, a client operation, a
//!   connection reset, a write made durable). Worker threads
//!   (`workers`, default one per core) take runnable nodes from one run
//!   queue; the per-node "scheduled" flag of [`sched::Actors`] makes sure
//!   that at most one worker runs a node at a time and that no envelope is
//!   left behind (the lost wake-up; see that module). Handlers run through
//!   the same `Ctx` and `Outbox` as in `sim`, so a node cannot tell the
//!   runtimes apart. 1,000 nodes on 2 cores are 1,000 mailboxes, not 1,000
//!   threads.
//! * **The clock thread.** One more thread owns every deadline in one heap
//!   ordered by `(deadline, sequence)`: message deliveries (the sender draws
//!   the workload's latency from the same [`crate::engine::net`] model, the
//!   envelope is held until its deadline, never before what the same sender
//!   sent earlier on the link; what a cut link held is released when it
//!   heals at the sender's next TCP retransmission plus a fresh latency
//!   draw, in send order, and what the sender sends later on the link is
//!   ordered behind it, as in `sim`), timers (keyed by the same tokens `Ctx` hands
//!   out, so a replaced or cancelled timer is dropped as in `sim`), disk
//!   completions (the disk model's delay as a deadline, then
//!   `on_persisted`; an instant disk calls `on_persisted` as the handler
//!   returns, as `sim` does), client operations and faults. It sleeps on a
//!   condition variable until the earliest deadline. A refused push is never
//!   dropped: the clock thread keeps the envelope (in order, behind any kept
//!   earlier for that node) and retries every 50 µs; every refusal is
//!   counted (`mailbox_full`).
//! * **Direct delivery.** A message due at once (zero latency, no loss
//!   delay) skips the clock thread: the sending worker pushes it straight
//!   into the receiver's mailbox, unless the clock thread still holds an
//!   earlier message of the same sender (a per-sender count, raised when a
//!   message goes to the clock, lowered when the clock thread has pushed it
//!   into a mailbox), so no link ever reorders. A refused direct push is
//!   counted and handed to the clock thread like any other.
//! * **Faults** are applied by the clock thread at their real time. It takes
//!   the world lock exclusively (workers hold it shared while running a
//!   node), so it waits for the handlers under way to return and then sees
//!   every node at rest: `Model::resolve` runs on that consistent snapshot,
//!   and crash / restart / pause / resume / isolate / partition / heal change
//!   the nodes and the reachability exactly as `sim` does. A paused node's
//!   envelopes are stashed and re-queued on resume.
//! * **Leader words.** Every `Obs::Elected`/`Obs::Serving` publishes
//!   `(term, leader)` in its scope's word of a [`word::LeaderWords`]: one
//!   for the whole system and one per part, as many parts as the larger of
//!   `Model::parts` (partitions, shards) and the node count (paths that
//!   number parts by node id), 8 bytes a part, at most
//!   [`word::MAX_PARTS`] (2^24; a part beyond it has no word). The fault
//!   thread resolves the `leader` target from the whole system's word,
//!   without a lock, when the path's leader is the engine's and the word
//!   names a live server that still leads in that term (otherwise through
//!   `Model::resolve`).
//! * **Load.** Client threads ([`load`], `load_threads`, default 1; client
//!   `c` belongs to thread `c % load_threads`) issue the clients'
//!   operations, not the clock thread: each keeps its clients' next intended
//!   send times in its own heap, sleeps until the earliest, and pushes the
//!   operation into the client node's mailbox (a refused push is kept in
//!   order and retried, counted in `mailbox_full`). The operations are
//!   `sim`'s (same streams, phase draw and draws); an operation's `issued`
//!   is its intended send time, so a stall of the thread or of the node
//!   shows in its latency (no coordinated omission). Workers hand each
//!   `OpDone` to the owning thread through a lock-free queue; each thread
//!   records its clients' latencies in its own HdrHistogram, merged at the
//!   end. `clients.concurrency` makes it a closed loop (at most N in flight
//!   per client; see [`load`]).
//! * **The clock.** Every thread of a trial reads one [`clock::LiveClock`]
//!   (the TSC through `quanta`, calibrated against the monotonic clock): a
//!   handler's `now` is read as its envelope is handled.
//! * **Observations** are recorded per thread with their time (nanoseconds
//!   since the trial's start, as a `SimTime`), their node and the node's own
//!   record count, and merged in that order at the end into the same
//!   `SimOutput` the
//!   simulator produces, so the same metrics code computes the same columns.
//!
//! # The checker
//!
//! A checker's `on_record` takes `&[N]`, an oracle no real node has. In live
//! the checker runs **online with the world stopped**: when a handler has
//! recorded observations, its worker (still owning the node) lets go of the
//! world lock, takes it exclusively — so every other handler under way
//! returns first and none starts — and shows the checker those records with
//! every node at rest, *before* the handler's messages, timers and writes
//! leave the node. So nothing this handler caused has reached another node
//! yet, as in `sim`; what differs is that other nodes may have handled
//! unrelated envelopes between the record and the check (in `sim` the check
//! is at the same instant). Each such check stops the world once and costs
//! throughput, counted in every live figure. Only the records a checker
//! says it reads the nodes for (`Checker::reads_nodes`: a ZooKeeper vote,
//! epoch or UPTODATE, a Raft leader's log) stop the world; the rest (every
//! client acknowledgement among them) are checked under the checker's lock
//! alone, still before the handler's messages leave, with an empty `nodes`
//! (in `sim` too, so a checker that read the nodes after saying it does not
//! would panic in every test that runs it).
//!
//! The alternative, `LiveConfig::check_online = false`, feeds the checker
//! after the run: every record in time order with the nodes in their final
//! state. It gives false positives wherever `on_record` reads `nodes`, so it
//! is not what workloads use. Which checkers read `nodes` in `on_record`:
//!
//! * `ZkChecker` (`zookeeper/fle`, `zookeeper/ephemeral`,
//!   `kafka/controller-zk`): `Decided` reads the voters and the leader's
//!   logical clock, `EpochAcked` the quorum members' epochs and logs,
//!   `UpToDate` the leader's committed zxid, and the ephemeral checks read
//!   a server's tree. Measured: after the run, a crashed and rebuilt leader
//!   looks `LOOKING` in its old round and followers have moved to the next
//!   epoch, so `Decided` and `EpochAcked` fire falsely.
//! * `RaftChecker` (`raft/*`, `kafka/controller-kraft`): `Elected` reads the
//!   new leader's log.
//! * `redis/*`, `kafka/group-leader`, `eureka/*`, `rocketmq/*`: their
//!   `on_record` does not read `nodes`; exact either way.
//!
//! `finish` runs on the final state in both runtimes: exact.

//! # Where a live election's time goes
//!
//! An election is a chain of message hops (the ZooKeeper-mode Kafka
//! controller race, from a broker's election multi to its answer, is about
//! seven: broker, follower, leader, the followers' proposal and ack, the
//! commit, the answer), so `leader_selection_ns` is mostly hand-offs
//! between threads. Measured on the project's shared 2-core VM (load
//! average 5-7, `live-kafka-controller-zk-bare.toml`, timestamps in a
//! scratch build) when every message still went through the clock thread:
//! a hop from send to the receiver's handler took 28 µs at the median, of
//! which the clock thread's wake-up was 10 µs, the worker's wake-up from the
//! run queue 11 µs, and the handler 6 µs (the node's own code 0.4 µs; the
//! rest the checker's stop-the-world, 0.8 µs, and queueing what it sent).
//! Direct delivery (above) takes the clock thread out of a zero-latency hop:
//! the same race's median `leader_selection_ns` went from 186-363 µs to
//! 27-29 µs (three runs of 11 trials each, the two binaries alternating,
//! load average 2-4). What remains per hop is the receiving worker's
//! wake-up when it was idle, and the handler.

//! # Differences from `sim`
//!
//! * Not deterministic: the same seed gives the same random draws per
//!   stream, but the interleaving of threads decides the order; `trace_hash`
//!   is 0 and baselines never include live runs.
//! * A client operation due while its client node is down or paused is
//!   dropped when the node handles it (in `sim`: when it is due).
//! * A client node's crash in a closed loop does not give its slots back
//!   (in `sim` it does); see [`load`].
//! * A message's latency is drawn from the sender's network stream (in
//!   `sim`: one network stream for all senders).
//! * The clock's resolution is the OS's: a sleep overshoots by tens of
//!   microseconds, a deadline in the past fires at once.

pub mod clock;
pub mod load;
pub mod mailbox;
pub mod runtime;
pub mod sched;
pub mod word;

pub use load::LoadStats;
pub use runtime::{leader_selection_ns, run_live, LiveConfig, LiveModel, LiveStats};
