//! `zookeeper/fle` (work in progress).
mod params;
use crate::systems::PathInfo;
pub use params::ZkParams;

/// Registry entry of this path.
pub const PATH: PathInfo = PathInfo {
    path: "zookeeper/fle",
    system: "zookeeper",
    summary: "FastLeaderElection among the ensemble, then Zab discovery, sync and broadcast",
    min_nodes: 1,
    max_nodes: 255,
    params: params::SPECS,
};
