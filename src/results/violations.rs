//! `violations.csv`: one row per safety violation of every violating trial,
//! with the command that replays that trial. The terminal shows only the
//! first few; this file is the complete list.

use super::{join, provenance_cells, Provenance, PROVENANCE_COLUMNS};
use crate::runner::{RunOutput, TrialRow};
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

/// `violations.csv` for every violation in `run`, in (point, trial) order;
/// `replay` gives the shell command that re-runs a trial.
pub fn violations_csv(
    plan: &Plan,
    run: &RunOutput,
    p: &Provenance,
    replay: impl Fn(&TrialRow) -> String,
) -> String {
    let mut cols: Vec<String> = PROVENANCE_COLUMNS.iter().map(|s| s.to_string()).collect();
    cols.extend(VIOLATION_COLUMNS.iter().map(|s| s.to_string()));
    let mut s = join(cols);
    for r in run.rows.iter().filter(|r| !r.violations.is_empty()) {
        let command = replay(r);
        for v in &r.violations {
            let mut cells = provenance_cells(p, plan, r.point);
            cells.extend([
                r.point.to_string(),
                r.trial.to_string(),
                r.seed.to_string(),
                (v.node.0 + 1).to_string(),
                format!("{:.3}", v.at.as_ms_f64()),
                v.what.clone(),
                command.clone(),
            ]);
            s.push_str(&join(cells));
        }
    }
    s
}
