//! `violations.csv`: one row per safety violation of every violating trial,
//! with the command that replays that trial. The terminal shows only the
//! first few; this file is the complete list.

use super::stream::ViolationNote;
use super::{join, provenance_cells, Provenance, PROVENANCE_COLUMNS};
use crate::workload::Plan;

/// Columns after the provenance ones.
pub const VIOLATION_COLUMNS: &[&str] = &[
    "point",
    "trial",
    "trial_seed",
    "node",
    "at_ms",
    "what",
    "replay",
];

/// `violations.csv` for every violation found, in (point, trial) order;
/// `replay(point, trial)` gives the shell command that re-runs a trial.
pub fn violations_csv(
    plan: &Plan,
    violations: &[ViolationNote],
    p: &Provenance,
    replay: impl Fn(usize, u64) -> String,
) -> String {
    let mut cols: Vec<String> = PROVENANCE_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.extend(VIOLATION_COLUMNS.iter().map(|s| s.to_string()));
    let mut s = join(cols);
    for v in violations {
        let mut cells = provenance_cells(p, plan, v.point);
        cells.extend([
            v.point.to_string(),
            v.trial.to_string(),
            v.seed.to_string(),
            (v.node + 1).to_string(),
            format!("{:.3}", v.at_ms),
            v.what.clone(),
            replay(v.point, v.trial),
        ]);
        s.push_str(&join(cells));
    }
    s
}
