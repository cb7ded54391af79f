//! Workload files: the TOML schema, strict validation with `file:line` errors,
//! and sweep expansion. The schema is documented field by field in
//! `workloads/README.md`.

mod parse;

use std::fmt;
use std::path::PathBuf;

use crate::engine::disk::DiskConfig;
use crate::engine::fault::FaultSpec;
use crate::engine::live::LiveConfig;
use crate::engine::net::NetConfig;
use crate::engine::sim::LoadConfig;
use crate::engine::{SimDuration, Topology};
use crate::systems::{Params, PathInfo};

pub use parse::{load, parse};

/// Which runtime drives the nodes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// Deterministic virtual-time simulator.
    Sim,
    /// The same nodes on worker threads with the monotonic clock
    /// ([`crate::engine::live`]); not deterministic.
    Live,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Sim => "sim",
            Runtime::Live => "live",
        }
    }
}

/// One fully validated sweep point of a workload.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    pub path: &'static PathInfo,
    pub runtime: Runtime,
    pub seed: u64,
    pub trials: u64,
    /// Every node that is not a client: the sum of the topology's groups.
    pub nodes: usize,
    /// Size of each of the path's node groups.
    pub topology: Topology,
    /// Simulated time per trial.
    pub duration: SimDuration,
    pub net: NetConfig,
    pub disk: DiskConfig,
    pub load: LoadConfig,
    pub faults: Vec<FaultSpec>,
    pub params: Params,
    /// How the live runtime runs (`workers`, `mailbox`, `mailbox_capacity`);
    /// read only when `runtime` is [`Runtime::Live`].
    pub live: LiveConfig,
}

/// A swept field: its CSV column name and its values, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Dotted path of the field: `nodes`, `params.tickTime`, `faults.1.at_ms`.
    pub column: String,
    /// Line of the list in the file.
    pub line: usize,
    pub values: Vec<AxisValue>,
}

/// One value of a sweep axis: a number, or a bool or enum word of a typed
/// parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum AxisValue {
    Num(f64),
    Text(String),
}

impl AxisValue {
    /// The number, for numeric axes.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AxisValue::Num(v) => Some(*v),
            AxisValue::Text(_) => None,
        }
    }
}

impl PartialEq<f64> for AxisValue {
    fn eq(&self, other: &f64) -> bool {
        self.as_f64() == Some(*other)
    }
}

impl fmt::Display for AxisValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AxisValue::Num(v) => f.write_str(&crate::systems::fmt_num(*v)),
            AxisValue::Text(t) => f.write_str(t),
        }
    }
}

/// One point of the cartesian product of all axes.
#[derive(Clone, Debug)]
pub struct Point {
    /// 0-based position in the product (the last axis varies fastest).
    pub index: usize,
    /// One value per axis, in axis order.
    pub values: Vec<AxisValue>,
    pub workload: Workload,
}

/// A parsed workload file: its provenance and every sweep point.
#[derive(Clone, Debug)]
pub struct Plan {
    pub file: PathBuf,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub name: String,
    pub description: String,
    pub axes: Vec<Axis>,
    /// At least one point; exactly one when nothing is swept.
    pub points: Vec<Point>,
    /// Legal values that make the run (partly) meaningless: a latency whose
    /// median outlasts the trial, clients that start after it ends, a fault
    /// on its last instant. `validate` and `run` print them and go on.
    pub warnings: Vec<WorkloadError>,
}

/// A bad workload file: which file, line and field, the bad value and what is
/// allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadError {
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// Dotted field path (`faults.2.at_ms`), or empty for whole-file problems.
    pub field: String,
    /// What is wrong: the bad value and what is allowed.
    pub message: String,
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for WorkloadError {}
