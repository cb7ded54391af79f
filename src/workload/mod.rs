//! Workload files: the TOML schema, strict validation with `file:line` errors,
//! and sweep expansion. The schema is documented field by field in
//! `workloads/README.md`.

mod parse;

use std::fmt;
use std::path::PathBuf;

use crate::engine::fault::FaultSpec;
use crate::engine::net::NetConfig;
use crate::engine::sim::LoadConfig;
use crate::engine::SimDuration;
use crate::systems::{Params, PathInfo};

pub use parse::{load, parse};

/// Which runtime drives the nodes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// Deterministic virtual-time simulator.
    Sim,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Sim => "sim",
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
    /// Server count.
    pub nodes: usize,
    /// Simulated time per trial.
    pub duration: SimDuration,
    pub net: NetConfig,
    pub load: LoadConfig,
    pub faults: Vec<FaultSpec>,
    pub params: Params,
}

/// A swept field: its CSV column name and its values, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Dotted path of the field: `nodes`, `params.tickTime`, `faults.1.at_ms`.
    pub column: String,
    /// Line of the list in the file.
    pub line: usize,
    pub values: Vec<f64>,
}

/// One point of the cartesian product of all axes.
#[derive(Clone, Debug)]
pub struct Point {
    /// 0-based position in the product (the last axis varies fastest).
    pub index: usize,
    /// One value per axis, in axis order.
    pub values: Vec<f64>,
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
