//! Safety invariant of `kafka/group-leader`: exactly one group leader per
//! generation. The coordinator names one leader when a join phase completes
//! (`GenerationLeader`, once per generation); every member's JoinGroup answer
//! of that generation must name the same leader, and only that member may
//! believe it leads. Across coordinator moves: a generation whose record was
//! stored (on disk and acknowledged by every in-sync replica, acks=-1) is
//! stored with one leader only, whichever coordinator stored it — a new
//! coordinator continues from the stored generation, it never reuses it.

use std::collections::BTreeMap;

use crate::engine::{Checker, Findings, NodeId, Obs, SimTime};

use super::{GlNode, GlNote};

#[derive(Debug, Default)]
pub struct GlChecker {
    /// (coordinator node and incarnation, generation) -> the leader it
    /// named.
    leaders: BTreeMap<((NodeId, u32), u32), NodeId>,
    /// (coordinator node and incarnation, generation) -> members that lead
    /// it.
    self_leaders: BTreeMap<((NodeId, u32), u32), Vec<NodeId>>,
    /// Stored generation -> its leader.
    stored: BTreeMap<u32, NodeId>,
}

impl GlChecker {
    pub fn new() -> Self {
        GlChecker::default()
    }

    /// The leader named for each generation.
    pub fn leaders(&self) -> &BTreeMap<((NodeId, u32), u32), NodeId> {
        &self.leaders
    }

    /// The leader of each stored generation.
    pub fn stored(&self) -> &BTreeMap<u32, NodeId> {
        &self.stored
    }
}

impl Checker<GlNode> for GlChecker {
    fn on_record(
        &mut self,
        _now: SimTime,
        _node: NodeId,
        obs: &Obs<GlNote>,
        _nodes: &[GlNode],
    ) -> Option<String> {
        let Obs::Note(note) = obs else {
            return None;
        };
        match *note {
            GlNote::GenerationLeader {
                coordinator,
                generation,
                leader,
                ..
            } => self
                .leaders
                .insert((coordinator, generation), leader)
                .map(|other| {
                    format!(
                        "generation {generation} got two leaders from the coordinator: {other} \
                         and {leader}"
                    )
                }),
            GlNote::Joined {
                coordinator,
                member,
                generation,
                leader,
            } => {
                let key = (coordinator, generation);
                let named = self.leaders.get(&key).copied();
                if named != Some(leader) {
                    return Some(format!(
                        "{member} joined generation {generation} with leader {leader}, but the \
                         coordinator named {named:?}"
                    ));
                }
                if member == leader {
                    let v = self.self_leaders.entry(key).or_default();
                    if !v.contains(&member) {
                        v.push(member);
                    }
                    if v.len() > 1 {
                        return Some(format!(
                            "generation {generation} has two members that lead: {v:?}"
                        ));
                    }
                }
                None
            }
            GlNote::Stored { generation, leader } => match self.stored.insert(generation, leader) {
                Some(other) if other != leader => Some(format!(
                    "generation {generation} was stored twice with different leaders: {other} and \
                     {leader}"
                )),
                _ => None,
            },
        }
    }

    /// `on_record` never reads `nodes`.
    fn reads_nodes(&self, _obs: &Obs<GlNote>) -> bool {
        false
    }

    fn finish(&mut self, _nodes: &[GlNode], _up: &[bool]) -> Findings {
        Findings::default()
    }
}
