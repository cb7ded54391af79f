//! A Kafka broker in ZooKeeper mode: its `KafkaController` (election,
//! failover, resignation) and the part of its `ReplicaManager` that fences
//! stale controllers. Sans-IO: it acts only through a [`ZkPort`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::{NodeId, Obs, Role, SimDuration, SimTime, View};

use super::cost::{pipelined, FailoverWork};
use super::msg::{KafkaMsg, KafkaNote, KafkaTimer, Outcome, Step};
use super::params::KafkaParams;
use super::zk::{Op, Req, SessionState, WatchKind, ZkApi, ZkError, ZkEvent, ZkPort, ZkReply};
use crate::systems::zookeeper::fle::App;

/// `ControllerZNode.path`.
pub const CONTROLLER: &str = "/controller";
/// `ControllerEpochZNode.path`.
pub const CONTROLLER_EPOCH: &str = "/controller_epoch";
/// The persistent paths `KafkaZkClient.createTopLevelPaths` makes, parents
/// first. `/brokers/topics` also stands for every partition state znode
/// below it: the controller's fenced state writes set it.
pub const TOP_LEVEL: [&str; 3] = ["/brokers", "/brokers/ids", "/brokers/topics"];
/// Where the controller's fenced partition-state writes go (see [`TOP_LEVEL`]).
pub const PARTITION_STATE: &str = "/brokers/topics";

/// `/brokers/ids/<id>`.
pub fn broker_path(id: u32) -> String {
    format!("/brokers/ids/{id}")
}

/// What the cluster looks like to every broker: fixed for a trial.
#[derive(Debug)]
pub struct Cluster {
    pub params: KafkaParams,
    /// Node id of each broker, by broker id (`broker.id` = index).
    pub nodes: Vec<NodeId>,
}

/// What an outstanding ZooKeeper request is for; enough to re-issue it
/// after a connection loss (`retryRequestUntilConnected`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    /// `createTopLevelPaths`: a persistent path, NodeExists is fine.
    TopLevel(&'static str),
    /// `registerBroker`: the ephemeral `/brokers/ids/<id>` (its data: the
    /// session that made it, standing for its `ephemeralOwner`); then
    /// Startup (first session) or Reelect (`RegisterBrokerAndReelect`).
    Register,
    /// `CheckedEphemeral.getAfterNodeExists`: is the existing registration
    /// mine (a retried create that had succeeded)?
    CheckRegistration,
    /// `maybeResign`: exists-watch on `/controller`, then (in a Reelect)
    /// `elect()`.
    WatchController { then_elect: bool },
    /// `elect()` step 1: `getControllerId`.
    ElectControllerId,
    /// `getControllerEpoch`.
    ElectReadEpoch,
    /// `maybeCreateControllerEpochZNode`.
    ElectCreateEpoch,
    /// The election multi: create ephemeral `/controller`, set
    /// `/controller_epoch` to `epoch` if its zkVersion is still `expect`.
    ElectMulti { epoch: u64, expect: i32 },
    /// `checkControllerAndEpoch` after NodeExists/BadVersion: is
    /// `/controller` me…
    CheckControllerId { epoch: u64 },
    /// …and is the epoch the one I tried to write?
    CheckEpoch { epoch: u64 },
    /// `initializeControllerContext`, and the broker-change watch after
    /// it: is broker `b` registered? (an exists-watch on its znode)
    BrokerAlive { epoch: u64, broker: u32 },
    /// A state write of `step`, wrapped in the `/controller_epoch` check.
    StepWrite { epoch: u64, step: Step },
}

/// An outstanding request: what it is for, and when it went out (for the
/// round trip the controller measures).
#[derive(Clone, Debug)]
struct Outstanding {
    what: Pending,
    sent: SimTime,
}

/// The controller this broker is, while it is one.
#[derive(Clone, Debug)]
struct Controller {
    epoch: u64,
    /// zkVersion of `/controller_epoch` written by this controller's election.
    epoch_version: i32,
    elected_at: SimTime,
    /// Registered brokers as last read, by id (`None`: not read yet).
    live: Vec<Option<bool>>,
    /// The live brokers `work` was computed for.
    work_live: Vec<bool>,
    work: Option<FailoverWork>,
    /// The step under way.
    step: Option<Step>,
    /// `onControllerFailover` is done.
    active: bool,
    /// Partition state writes of the broker failure under way.
    failure_writes: u64,
}

/// A Kafka broker (ZooKeeper mode).
#[derive(Clone, Debug)]
pub struct Broker {
    /// `broker.id`.
    pub id: u32,
    cluster: Arc<Cluster>,
    /// This process has run `KafkaController.startup` (on its first session).
    started: bool,
    /// The next SyncConnected is a new session that must re-register
    /// (`RegisterBrokerAndReelect`).
    reregister: bool,
    connected: bool,
    /// `activeControllerId`, as this broker last read it.
    pub active_controller: Option<u32>,
    ctl: Option<Controller>,
    pending: BTreeMap<Req, Outstanding>,
    /// Requests lost with the connection, re-issued on reconnect (with the
    /// id of the lost one).
    retry: Vec<(Pending, Req)>,
    /// Highest controller epoch this broker's ReplicaManager has seen.
    pub epoch_seen: u64,
    /// Round trips of this broker's ZooKeeper reads and writes so far.
    read_rtt: Mean,
    write_rtt: Mean,
}

/// A running mean of round trips.
#[derive(Clone, Debug, Default)]
struct Mean {
    sum: u64,
    n: u64,
}

impl Mean {
    fn add(&mut self, d: SimDuration) {
        self.sum += d.0;
        self.n += 1;
    }

    fn get(&self) -> Option<SimDuration> {
        (self.n > 0).then(|| SimDuration(self.sum / self.n))
    }
}

impl Broker {
    pub fn new(id: u32, cluster: Arc<Cluster>) -> Self {
        Broker {
            id,
            cluster,
            started: false,
            reregister: false,
            connected: false,
            active_controller: None,
            ctl: None,
            pending: BTreeMap::new(),
            retry: Vec::new(),
            epoch_seen: 0,
            read_rtt: Mean::default(),
            write_rtt: Mean::default(),
        }
    }

    /// The controller epoch this broker acts in, while it believes it is
    /// the controller (a zombie does too, until it learns otherwise).
    pub fn controller_epoch(&self) -> Option<u64> {
        self.ctl.as_ref().map(|c| c.epoch)
    }

    /// This broker is the controller and `onControllerFailover` is done.
    pub fn is_active(&self) -> bool {
        self.ctl.as_ref().is_some_and(|c| c.active)
    }

    pub fn view(&self) -> View {
        match &self.ctl {
            Some(c) => View {
                role: Role::Leader,
                term: c.epoch,
                leader: Some(self.cluster.nodes[self.id as usize]),
                serving: c.active,
            },
            None => View {
                role: Role::Follower,
                term: self.epoch_seen,
                leader: self
                    .active_controller
                    .map(|b| self.cluster.nodes[b as usize]),
                serving: false,
            },
        }
    }

    fn params(&self) -> &KafkaParams {
        &self.cluster.params
    }

    fn issue<Z: ZkPort>(&mut self, zk: &mut Z, what: Pending) {
        let req = match &what {
            Pending::TopLevel(path) => zk.create(path, 0, false),
            Pending::Register => {
                let session = zk.session_id();
                zk.create(&broker_path(self.id), session, true)
            }
            Pending::CheckRegistration => zk.get_data(&broker_path(self.id), false),
            Pending::WatchController { .. } => zk.exists(CONTROLLER, true),
            // Kafka's client sets a watch on a getData of a path that has
            // a registered handler; every broker registers one on
            // /controller at startup.
            Pending::ElectControllerId | Pending::CheckControllerId { .. } => {
                zk.get_data(CONTROLLER, true)
            }
            Pending::ElectReadEpoch | Pending::CheckEpoch { .. } => {
                zk.get_data(CONTROLLER_EPOCH, false)
            }
            Pending::ElectCreateEpoch => zk.create(CONTROLLER_EPOCH, 0, false),
            Pending::ElectMulti { epoch, expect } => zk.multi(vec![
                Op::Create {
                    path: CONTROLLER.into(),
                    data: u64::from(self.id),
                    ephemeral: true,
                },
                Op::SetData {
                    path: CONTROLLER_EPOCH.into(),
                    data: *epoch,
                    version: Some(*expect),
                },
            ]),
            Pending::BrokerAlive { broker, .. } => zk.exists(&broker_path(*broker), true),
            Pending::StepWrite { epoch, .. } => {
                let version = self
                    .ctl
                    .as_ref()
                    .filter(|c| c.epoch == *epoch)
                    .expect("a step write is issued by the controller of its epoch")
                    .epoch_version;
                let req = zk.multi(vec![
                    Op::Check {
                        path: CONTROLLER_EPOCH.into(),
                        version: Some(version),
                    },
                    Op::SetData {
                        path: PARTITION_STATE.into(),
                        data: *epoch,
                        version: None,
                    },
                ]);
                zk.record(Obs::Note(KafkaNote::WriteIssued {
                    broker: self.id,
                    req,
                    epoch: *epoch,
                }));
                req
            }
        };
        self.pending.insert(
            req,
            Outstanding {
                what,
                sent: zk.now(),
            },
        );
    }

    pub fn on_start<Z: ZkPort>(&mut self, _zk: &mut Z) {
        // Everything starts once the session is connected (ZooKeeperClient
        // waits for SyncConnected before KafkaServer goes on).
    }

    pub fn on_event<Z: ZkPort>(&mut self, zk: &mut Z, ev: ZkEvent) {
        match ev {
            ZkEvent::Session(s) => self.on_session(zk, s),
            ZkEvent::Watch { path, kind } => {
                if let Some(b) = path.strip_prefix("/brokers/ids/") {
                    // The controller's broker-change watch (BrokerChangeHandler).
                    if let (Some(c), Ok(broker)) = (&self.ctl, b.parse::<u32>()) {
                        let epoch = c.epoch;
                        self.issue(zk, Pending::BrokerAlive { epoch, broker });
                    }
                } else if path == CONTROLLER {
                    match kind {
                        // ControllerChangeHandler.handleDeletion -> Reelect.
                        WatchKind::Deleted => {
                            zk.record(Obs::detected(
                                self.active_controller
                                    .map(|b| self.cluster.nodes[b as usize]),
                            ));
                            self.issue(zk, Pending::WatchController { then_elect: true });
                        }
                        // handleCreation / handleDataChange -> ControllerChange.
                        WatchKind::Created | WatchKind::DataChanged => {
                            self.issue(zk, Pending::WatchController { then_elect: false });
                        }
                    }
                }
            }
            ZkEvent::Reply { req, result } => {
                let Some(o) = self.pending.remove(&req) else {
                    return; // answered after a resignation cleared it
                };
                match result {
                    Err(ZkError::ConnectionLoss) => self.retry.push((o.what, req)),
                    // The session is gone: processExpire handles the rest.
                    Err(ZkError::SessionExpired) => {
                        self.write_done(zk, &o.what, req, Outcome::SessionExpired)
                    }
                    result => {
                        let rtt = zk.now().since(o.sent);
                        self.on_reply(zk, req, o.what, rtt, result)
                    }
                }
            }
        }
    }

    fn on_session<Z: ZkPort>(&mut self, zk: &mut Z, s: SessionState) {
        match s {
            SessionState::SyncConnected => {
                self.connected = true;
                if !self.started || self.reregister {
                    // KafkaServer.startup: createTopLevelPaths, registerBroker,
                    // then KafkaController.startup (Startup event); after an
                    // expiry RegisterBrokerAndReelect.
                    if !self.started {
                        for p in TOP_LEVEL {
                            self.issue(zk, Pending::TopLevel(p));
                        }
                    }
                    self.started = true;
                    self.reregister = false;
                    self.issue(zk, Pending::Register);
                }
                for (what, lost) in std::mem::take(&mut self.retry) {
                    self.write_done(zk, &what, lost, Outcome::Lost);
                    self.issue(zk, what);
                }
            }
            // Requests wait for the connection; the controller does not
            // resign on a mere disconnection.
            SessionState::Disconnected => self.connected = false,
            SessionState::Expired => {
                // processExpire, then ZooKeeperClient.reinitialize.
                self.connected = false;
                self.active_controller = None;
                let pending = std::mem::take(&mut self.pending);
                let retry = std::mem::take(&mut self.retry);
                for (what, req) in pending.into_iter().map(|(r, o)| (o.what, r)).chain(retry) {
                    self.write_done(zk, &what, req, Outcome::Abandoned);
                }
                self.resign(zk);
                self.reregister = true;
                zk.cancel_timer(KafkaTimer::RetryRegister);
                zk.new_session();
            }
        }
    }

    /// Record what became of `what` if it is a state write.
    fn write_done<Z: ZkPort>(&self, zk: &mut Z, what: &Pending, req: Req, outcome: Outcome) {
        if let Pending::StepWrite { epoch, .. } = *what {
            if matches!(
                outcome,
                Outcome::EpochCheck | Outcome::SessionExpired | Outcome::Abandoned
            ) {
                zk.record(Obs::phase("write_fenced"));
            }
            zk.record(Obs::Note(KafkaNote::WriteDone {
                broker: self.id,
                req,
                epoch,
                outcome,
            }));
        }
    }

    /// `onControllerResignation` (a no-op for a broker that is not the
    /// controller).
    fn resign<Z: ZkPort>(&mut self, zk: &mut Z) {
        if let Some(c) = self.ctl.take() {
            if let Some(step) = c.step {
                zk.cancel_timer(KafkaTimer::StepDone {
                    epoch: c.epoch,
                    step,
                });
            }
            // Outstanding state writes stay: their answers are still
            // recorded. Their retries and the context reads go.
            self.pending
                .retain(|_, o| !matches!(o.what, Pending::BrokerAlive { .. }));
            let retry = std::mem::take(&mut self.retry);
            for (what, req) in retry {
                match what {
                    Pending::BrokerAlive { .. } => {}
                    Pending::StepWrite { .. } => {
                        self.write_done(zk, &what, req, Outcome::Abandoned)
                    }
                    _ => self.retry.push((what, req)),
                }
            }
            zk.record(Obs::phase("resign"));
            zk.record(Obs::Note(KafkaNote::Resigned {
                broker: self.id,
                epoch: c.epoch,
            }));
        }
    }

    /// `maybeResign` with the controller id just read.
    fn controller_is<Z: ZkPort>(&mut self, zk: &mut Z, id: Option<u32>) {
        self.active_controller = id;
        if self.ctl.is_some() && id != Some(self.id) {
            self.resign(zk);
        }
    }

    fn on_reply<Z: ZkPort>(
        &mut self,
        zk: &mut Z,
        req: Req,
        what: Pending,
        rtt: SimDuration,
        result: Result<ZkReply, ZkError>,
    ) {
        use Pending as P;
        if matches!(
            what,
            P::WatchController { .. }
                | P::CheckRegistration
                | P::ElectControllerId
                | P::ElectReadEpoch
                | P::CheckControllerId { .. }
                | P::CheckEpoch { .. }
                | P::BrokerAlive { .. }
        ) {
            self.read_rtt.add(rtt);
        } else {
            self.write_rtt.add(rtt);
        }
        match (what, result) {
            (P::TopLevel(_), Ok(_) | Err(ZkError::NodeExists)) => {}
            (P::Register, Ok(_)) => {
                // Startup registers the /controller handler and elects;
                // RegisterBrokerAndReelect reelects: both maybeResign first.
                self.issue(zk, P::WatchController { then_elect: true });
            }
            (P::Register, Err(_)) => self.issue(zk, P::CheckRegistration),
            (P::CheckRegistration, Ok(ZkReply::Stat { data, .. })) if data == zk.session_id() => {
                self.issue(zk, P::WatchController { then_elect: true });
            }
            // The registration of an earlier session of this broker (a
            // process restarted before its old session expired): the real
            // broker fails to start ("node already exists and owner does not
            // match current session") and exits; the model retries each
            // second, as a supervisor restarting it would, until the old
            // session expires and its registration goes.
            (P::CheckRegistration, _) => {
                zk.set_timer(SimDuration::from_ms(1000), KafkaTimer::RetryRegister);
            }
            (P::WatchController { then_elect }, r) => {
                let id = match r {
                    Ok(ZkReply::Stat { data, .. }) => Some(data as u32),
                    _ => None,
                };
                self.controller_is(zk, id);
                if then_elect {
                    self.issue(zk, P::ElectControllerId);
                }
            }
            // elect(): a controller exists already: record it and stop.
            (P::ElectControllerId, Ok(ZkReply::Stat { data, .. })) => {
                self.controller_is(zk, Some(data as u32));
            }
            (P::ElectControllerId, Err(_)) => {
                self.active_controller = None;
                self.issue(zk, P::ElectReadEpoch);
            }
            (P::ElectReadEpoch, Ok(ZkReply::Stat { data, version })) => {
                zk.record(Obs::round(data + 1));
                self.issue(
                    zk,
                    P::ElectMulti {
                        epoch: data + 1,
                        expect: version,
                    },
                );
            }
            (P::ElectReadEpoch, Err(_)) => self.issue(zk, P::ElectCreateEpoch),
            // InitialControllerEpoch 0 at zkVersion 0.
            (P::ElectCreateEpoch, Ok(_)) => {
                zk.record(Obs::round(1));
                self.issue(
                    zk,
                    P::ElectMulti {
                        epoch: 1,
                        expect: 0,
                    },
                );
            }
            (P::ElectCreateEpoch, Err(_)) => self.issue(zk, P::ElectReadEpoch),
            (P::ElectMulti { epoch, expect }, Ok(_)) => {
                self.become_controller(zk, epoch, expect + 1)
            }
            (P::ElectMulti { epoch, .. }, Err(ZkError::NodeExists | ZkError::BadVersion)) => {
                self.issue(zk, P::CheckControllerId { epoch });
            }
            (P::ElectMulti { .. }, Err(_)) => {
                self.issue(zk, P::WatchController { then_elect: false })
            }
            (P::CheckControllerId { epoch }, Ok(ZkReply::Stat { data, .. }))
                if data == u64::from(self.id) =>
            {
                self.issue(zk, P::CheckEpoch { epoch });
            }
            // ControllerMovedException -> maybeResign.
            (P::CheckControllerId { .. }, _) => {
                self.issue(zk, P::WatchController { then_elect: false })
            }
            // My own retried multi had succeeded.
            (P::CheckEpoch { epoch }, Ok(ZkReply::Stat { data, version })) if data == epoch => {
                self.become_controller(zk, epoch, version)
            }
            (P::CheckEpoch { .. }, _) => self.issue(zk, P::WatchController { then_elect: false }),
            (P::BrokerAlive { epoch, broker }, r) => {
                let Some(c) = self.ctl.as_mut().filter(|c| c.epoch == epoch) else {
                    return;
                };
                c.live[broker as usize] = Some(matches!(r, Ok(ZkReply::Stat { .. })));
                if c.work.is_none() {
                    if c.live.iter().all(Option::is_some) {
                        self.context_read(zk);
                    }
                } else {
                    self.reconcile(zk);
                }
            }
            (P::StepWrite { epoch, step }, r) => {
                let outcome = match r {
                    Ok(_) => Outcome::Accepted,
                    Err(ZkError::BadVersion) => Outcome::EpochCheck,
                    Err(e) => panic!("a fenced state write fails only its check, got {e:?}"),
                };
                self.write_done(zk, &P::StepWrite { epoch, step }, req, outcome);
                if outcome != Outcome::Accepted {
                    // ControllerMovedException: maybeResign.
                    self.issue(zk, P::WatchController { then_elect: false });
                    return;
                }
                if let Some(c) = self.ctl.as_mut().filter(|c| c.epoch == epoch) {
                    if c.step == Some(step) {
                        self.step_bulk(zk, step);
                    }
                }
            }
            (what, r) => panic!("broker {}: unexpected reply {r:?} to {what:?}", self.id),
        }
    }

    /// The election multi succeeded: `onControllerFailover`.
    fn become_controller<Z: ZkPort>(&mut self, zk: &mut Z, epoch: u64, version: i32) {
        let me = zk.me();
        self.active_controller = Some(self.id);
        self.epoch_seen = self.epoch_seen.max(epoch);
        let brokers = self.cluster.nodes.len();
        self.ctl = Some(Controller {
            epoch,
            epoch_version: version,
            elected_at: zk.now(),
            live: vec![None; brokers],
            work_live: vec![false; brokers],
            work: None,
            step: Some(Step::InitializeContext),
            active: false,
            failure_writes: 0,
        });
        zk.record(Obs::elected(me, epoch));
        zk.record(Obs::phase("elect"));
        zk.record(Obs::Note(KafkaNote::Elected {
            broker: self.id,
            epoch,
            version,
        }));
        // initializeControllerContext: the live brokers first (one read per
        // broker id; the real client reads the children of /brokers/ids and
        // then each registration).
        for b in 0..brokers as u32 {
            self.issue(zk, Pending::BrokerAlive { epoch, broker: b });
        }
    }

    /// The live brokers are known: read every partition's state.
    fn context_read<Z: ZkPort>(&mut self, zk: &mut Z) {
        let p = self.params().clone();
        let rtt = self.read_rtt.get().expect("the broker reads preceded this");
        let c = self.ctl.as_mut().expect("called by the controller");
        let live: Vec<bool> = c.live.iter().map(|l| l.unwrap_or(false)).collect();
        c.work = Some(FailoverWork::new(p.partitions, p.replication_factor, &live));
        c.work_live = live;
        let d = pipelined(p.partitions, p.max_in_flight, rtt);
        zk.set_timer(
            d,
            KafkaTimer::StepDone {
                epoch: c.epoch,
                step: Step::InitializeContext,
            },
        );
    }

    /// Start `step`: its first batch is a real fenced write through the
    /// ensemble; the rest is a duration ([`Broker::step_bulk`]). A step with
    /// nothing to write is done at once.
    fn start_step<Z: ZkPort>(&mut self, zk: &mut Z, step: Step) {
        let c = self.ctl.as_mut().expect("called by the controller");
        let w = c.work.as_ref().expect("context is initialised first");
        let n = match step {
            Step::InitializeContext => unreachable!("started by become_controller"),
            Step::ReplicaStateMachine => w.offline_replica_partitions,
            Step::PartitionStateMachine => w.elected_partitions,
            Step::BrokerFailure => c.failure_writes,
        };
        c.step = Some(step);
        let epoch = c.epoch;
        if n == 0 {
            self.step_done(zk, step);
        } else {
            self.issue(zk, Pending::StepWrite { epoch, step });
        }
    }

    /// The first batch of `step` was written: the rest of it, pipelined.
    /// Each partition is read then conditionally written (KafkaZkClient
    /// `getTopicPartitionStatesRaw`, `updateLeaderAndIsr`).
    fn step_bulk<Z: ZkPort>(&mut self, zk: &mut Z, step: Step) {
        let p = self.params().clone();
        let read = self.read_rtt.get().expect("reads preceded the writes");
        let write = self.write_rtt.get().expect("the first batch was written");
        let c = self.ctl.as_ref().expect("called by the controller");
        let w = c.work.as_ref().expect("context is initialised first");
        let n = match step {
            Step::ReplicaStateMachine => w.offline_replica_partitions,
            Step::PartitionStateMachine => w.elected_partitions,
            Step::BrokerFailure => c.failure_writes,
            Step::InitializeContext => unreachable!("has no write"),
        };
        let total = pipelined(n, p.max_in_flight, read + write);
        let first = read + write;
        let rest = SimDuration(total.0.saturating_sub(first.0));
        zk.set_timer(
            rest,
            KafkaTimer::StepDone {
                epoch: c.epoch,
                step,
            },
        );
    }

    pub fn on_timer<Z: ZkPort>(&mut self, zk: &mut Z, t: KafkaTimer) {
        let (epoch, step) = match t {
            KafkaTimer::StepDone { epoch, step } => (epoch, step),
            KafkaTimer::RetryRegister => {
                self.issue(zk, Pending::Register);
                return;
            }
        };
        if self
            .ctl
            .as_ref()
            .is_some_and(|c| c.epoch == epoch && c.step == Some(step))
        {
            self.step_done(zk, step);
        }
    }

    fn step_done<Z: ZkPort>(&mut self, zk: &mut Z, step: Step) {
        let c = self.ctl.as_ref().expect("called by the controller");
        let (epoch, elected_at) = (c.epoch, c.elected_at);
        let live: Vec<u32> = c
            .live
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == Some(true))
            .map(|(b, _)| b as u32)
            .collect();
        let per_broker = c
            .work
            .as_ref()
            .expect("context is initialised first")
            .replicas_per_broker
            .clone();
        zk.record(Obs::phase(step.phase()));
        match step {
            Step::InitializeContext => {
                zk.record(Obs::Note(KafkaNote::MetadataLoaded {
                    epoch,
                    partitions: self.params().partitions,
                    ms: zk.now().since(elected_at).as_ms_f64(),
                }));
                // sendUpdateMetadataRequest to every live broker, itself
                // included, before the state machines start.
                for &b in &live {
                    zk.send(
                        self.cluster.nodes[b as usize],
                        KafkaMsg::UpdateMetadata {
                            controller_epoch: epoch,
                            controller: self.id,
                        },
                    );
                }
                zk.record(Obs::phase("send_update_metadata"));
                // replicaStateMachine.startup: OnlineReplica for every live
                // replica (LeaderAndIsr to each live broker), then
                // OfflineReplica for the dead ones (ZooKeeper writes).
                for &b in &live {
                    zk.send(
                        self.cluster.nodes[b as usize],
                        KafkaMsg::LeaderAndIsr {
                            controller_epoch: epoch,
                            controller: self.id,
                            partitions: per_broker[b as usize],
                        },
                    );
                }
                self.start_step(zk, Step::ReplicaStateMachine);
            }
            Step::ReplicaStateMachine => self.start_step(zk, Step::PartitionStateMachine),
            Step::PartitionStateMachine => {
                let me = zk.me();
                let c = self.ctl.as_mut().expect("called by the controller");
                c.step = None;
                c.active = true;
                zk.record(Obs::phase("active"));
                zk.record(Obs::serving(me, epoch));
                self.reconcile(zk);
            }
            Step::BrokerFailure => {
                self.ctl.as_mut().expect("called by the controller").step = None;
                self.reconcile(zk);
            }
        }
    }

    /// An active controller with no step under way acts on the brokers that
    /// registered or went away since its work was computed:
    /// `onBrokerStartup` (UpdateMetadata to all, LeaderAndIsr to the new
    /// one) and `onBrokerFailure` (its leaders re-elected, its replicas
    /// removed from ISRs: a fenced write step).
    fn reconcile<Z: ZkPort>(&mut self, zk: &mut Z) {
        let p = self.params().clone();
        let me = self.id;
        let Some(c) = self.ctl.as_mut() else {
            return;
        };
        if !c.active || c.step.is_some() {
            return;
        }
        let live: Vec<bool> = c.live.iter().map(|l| *l == Some(true)).collect();
        if live == c.work_live {
            return;
        }
        let old = c.work.take().expect("computed before active");
        let new = FailoverWork::new(p.partitions, p.replication_factor, &live);
        let started = (0..live.len()).any(|b| live[b] && !c.work_live[b]);
        let failed = (0..live.len()).any(|b| !live[b] && c.work_live[b]);
        let joined: Vec<usize> = (0..live.len())
            .filter(|&b| live[b] && !c.work_live[b])
            .collect();
        let epoch = c.epoch;
        for (b, &l) in live.iter().enumerate() {
            if l {
                zk.send(
                    self.cluster.nodes[b],
                    KafkaMsg::UpdateMetadata {
                        controller_epoch: epoch,
                        controller: me,
                    },
                );
            }
        }
        for &b in &joined {
            zk.send(
                self.cluster.nodes[b],
                KafkaMsg::LeaderAndIsr {
                    controller_epoch: epoch,
                    controller: me,
                    partitions: new.replicas_per_broker[b],
                },
            );
        }
        c.failure_writes = new
            .offline_replica_partitions
            .saturating_sub(old.offline_replica_partitions)
            + new
                .elected_partitions
                .saturating_sub(old.elected_partitions);
        c.work = Some(new);
        c.work_live = live;
        if started {
            zk.record(Obs::phase("broker_startup"));
        }
        if failed {
            self.start_step(zk, Step::BrokerFailure);
        }
    }

    /// A controller request (ReplicaManager `becomeLeaderOrFollower`,
    /// `maybeUpdateMetadataCache`): applied unless its controller epoch is
    /// older than the newest this broker has seen.
    pub fn on_message<Z: ZkPort>(&mut self, zk: &mut Z, _from: NodeId, msg: KafkaMsg) {
        let epoch = msg.controller_epoch();
        if epoch < self.epoch_seen {
            zk.record(Obs::phase("stale_controller_epoch"));
            zk.record(Obs::Note(KafkaNote::StaleEpoch {
                broker: self.id,
                epoch,
                seen: self.epoch_seen,
            }));
            return;
        }
        self.epoch_seen = epoch;
        zk.record(Obs::Note(KafkaNote::Applied {
            broker: self.id,
            epoch,
        }));
    }
}

impl App for Broker {
    type Msg = KafkaMsg;
    type Timer = KafkaTimer;
    type Note = KafkaNote;

    fn on_start(&mut self, zk: &mut ZkApi<'_, '_, Self>) {
        Broker::on_start(self, zk);
    }

    fn on_event(&mut self, zk: &mut ZkApi<'_, '_, Self>, ev: ZkEvent) {
        Broker::on_event(self, zk, ev);
    }

    fn on_message(&mut self, zk: &mut ZkApi<'_, '_, Self>, from: NodeId, msg: KafkaMsg) {
        Broker::on_message(self, zk, from, msg);
    }

    fn on_timer(&mut self, zk: &mut ZkApi<'_, '_, Self>, t: KafkaTimer) {
        Broker::on_timer(self, zk, t);
    }

    fn view(&self) -> View {
        Broker::view(self)
    }
}
