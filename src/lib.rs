//! electbench: a benchmark and load-testing harness for leader election and
//! failover. See `README.md` for a tour and `../shared/DESIGN.md` for the design.
//!
//! Modules depend downwards: `cli` -> `results`, `metrics`, `workload` ->
//! `systems` -> `engine`.

pub mod cli;
pub mod engine;
pub mod metrics;
pub mod plot;
pub mod results;
pub mod runner;
pub mod systems;
pub mod workload;
