//! Fault schedule: what happens to which node, and when.

use super::SimDuration;

/// When a fault fires.
#[derive(Clone, Debug, PartialEq)]
pub enum When {
    /// At a fixed virtual time.
    At(SimDuration),
    /// At a uniformly random time in `[from, to]`, drawn from the trial's fault
    /// stream.
    Window(SimDuration, SimDuration),
}

/// Which node a fault hits; resolved when the fault fires, by the path's
/// model ([`crate::engine::Model::resolve`]), whose default handles every
/// variant but [`Target::Path`] from the nodes' views.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The serving leader (highest term among live servers that say Leader).
    Leader,
    /// A random live server that is not the leader.
    Follower,
    /// A random live server.
    Random,
    /// Server `i` (0-based here; workload files use 1-based numbers).
    Node(usize),
    /// The node the most recent earlier crash/pause/isolate fault hit.
    LastFaulted,
    /// A random live node of node group `group` (index in the path's groups).
    Group(usize),
    /// A word the path declares (`master`, `partition-leader` with `arg` 7),
    /// resolved by its model.
    Path {
        word: &'static str,
        arg: Option<u32>,
    },
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The target's process dies. With `host_alive`, the host's kernel resets
    /// the target's TCP connections, so peers learn at once; without it (host
    /// down, power loss) peers only learn through their own timeouts.
    Crash {
        host_alive: bool,
    },
    /// The target restarts with its durable state.
    Restart,
    /// The target stops processing (GC pause, SIGSTOP); events wait for it.
    Pause,
    Resume,
    /// Cut the target off from every other node, clients included.
    Isolate,
    /// Cut the links between server groups (0-based ids); nodes not named,
    /// clients included, still reach everyone. `one_way` cuts only
    /// `groups[0] -> every other group`.
    Partition {
        groups: Vec<Vec<usize>>,
        one_way: bool,
    },
    /// Remove every partition and isolation.
    Heal,
}

/// One scheduled fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    pub when: When,
    pub action: Action,
    pub target: Target,
    /// Undo the fault after this long (restart, resume or heal).
    pub duration: Option<SimDuration>,
}

impl FaultSpec {
    /// `action` on `target` at `ms` of simulated time, undone `undo_ms`
    /// later (never with `None`): how tests and benches place faults by hand.
    pub fn at(ms: u64, action: Action, target: Target, undo_ms: Option<u64>) -> Self {
        FaultSpec {
            when: When::At(SimDuration::from_ms(ms)),
            action,
            target,
            duration: undo_ms.map(SimDuration::from_ms),
        }
    }
}
