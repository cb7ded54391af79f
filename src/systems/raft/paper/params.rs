//! Parameters of `raft/paper`.

use crate::systems::{ParamDefault, ParamKind, ParamSpec};

pub(super) const SPECS: &[ParamSpec] = &[ParamSpec {
    name: "election-timeout-range",
    kind: ParamKind::Enum(&[
        "150-150", "150-151", "150-155", "150-175", "150-200", "150-300", "12-24", "25-50",
        "50-100", "100-200",
    ]),
    default: ParamDefault::Enum("150-300"),
    unit: "ms",
    doc: "The election timeout range of one Figure 16 line, MIN-MAX in ms, as the paper labels \
          it: each timeout is drawn from [MIN, MAX] in whole ms as LogCabin's setElectionTimer \
          did (round(MIN + U * (MAX - MIN))); the heartbeat interval is MIN/2. \
          The paper has no configuration name for it. Default 150-300, the paper's \
          recommendation (§9.3).",
}];
