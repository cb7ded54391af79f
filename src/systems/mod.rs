//! The modelled paths and the registry that names them.
//!
//! A path is registered once, by one [`PathInfo`] in [`PATHS`]: its name, its
//! typed parameters (real names, real defaults, units), its node groups, the
//! fault-target words its model resolves, the result columns it adds, and the
//! function that runs its trials (monomorphised over the path's model, so the
//! simulator's event loop never goes through a virtual call). The runner,
//! `list`, `validate` and the test harnesses all go through it. How to add a
//! path is in `src/systems/README.md`.
//!
//! A system may use another as a service through its public client API, never
//! by reaching into its state.

pub mod eureka;
pub mod kafka;
pub mod raft;
pub mod redis;
pub mod rocketmq;
pub mod zookeeper;

use std::collections::BTreeMap;
use std::fmt;

use crate::runner::PrepareFn;

/// What values a parameter takes.
#[derive(Debug)]
pub enum ParamKind {
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A number in `min..=max`.
    Float { min: f64, max: f64 },
    /// `true` or `false`.
    Bool,
    /// One of the listed strings, written as the real system writes them.
    Enum(&'static [&'static str]),
    /// One whole number in `min..=max` per node of node group `group`
    /// (a list as long as the group).
    PerNode {
        group: &'static str,
        min: i64,
        max: i64,
    },
}

/// A parameter's default, as the real system ships it.
#[derive(Debug)]
pub enum ParamDefault {
    Int(i64),
    Float(f64),
    Bool(bool),
    Enum(&'static str),
    /// The same value for every node of the group.
    Each(i64),
}

/// A parameter's value in one sweep point.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Enum(&'static str),
    PerNode(Vec<i64>),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{}", fmt_num(*v)),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Enum(v) => write!(f, "{v}"),
            ParamValue::PerNode(v) => {
                let items: Vec<String> = v.iter().map(i64::to_string).collect();
                write!(f, "[{}]", items.join(" "))
            }
        }
    }
}

/// One protocol parameter of a path, named as the real system names it.
#[derive(Debug)]
pub struct ParamSpec {
    /// The real system's name (`tickTime`, `zookeeper.fastleader.maxNotificationInterval`).
    pub name: &'static str,
    pub kind: ParamKind,
    /// The real system's default (see `doc` where the real system has none).
    pub default: ParamDefault,
    /// Unit of the value: `ms`, `ticks`, `count`, or empty for bools and enums.
    pub unit: &'static str,
    /// Meaning, and the real source file the default comes from.
    pub doc: &'static str,
}

impl ParamSpec {
    /// A whole-number parameter in `min..=max` with a real default.
    pub const fn int(
        name: &'static str,
        min: i64,
        max: i64,
        default: i64,
        unit: &'static str,
        doc: &'static str,
    ) -> ParamSpec {
        ParamSpec {
            name,
            kind: ParamKind::Int { min, max },
            default: ParamDefault::Int(default),
            unit,
            doc,
        }
    }

    /// What is allowed, for messages and `electbench list`.
    pub fn allowed(&self) -> String {
        match self.kind {
            ParamKind::Int { min, max } => format!("a whole number in {min}..={max} {}", self.unit),
            ParamKind::Float { min, max } => {
                format!(
                    "a number in {}..={} {}",
                    fmt_num(min),
                    fmt_num(max),
                    self.unit
                )
            }
            ParamKind::Bool => "true or false".into(),
            ParamKind::Enum(words) => format!("one of {}", quoted(words)),
            // A unitless list must not leave a double space mid-sentence.
            ParamKind::PerNode { group, min, max } => format!(
                "a list of one whole number in {min}..={max}{}{} per node of group `{group}`",
                if self.unit.is_empty() { "" } else { " " },
                self.unit
            ),
        }
        .trim_end()
        .to_string()
    }

    /// Check a number against an `Int` or `Float` spec.
    pub fn check_num(&self, v: f64) -> Result<ParamValue, String> {
        let allowed = self.allowed();
        match self.kind {
            ParamKind::Int { min, max } => {
                if !v.is_finite() || v.fract() != 0.0 {
                    return Err(format!("must be {allowed}"));
                }
                if v < min as f64 || v > max as f64 {
                    return Err(format!("must be {allowed}"));
                }
                Ok(ParamValue::Int(v as i64))
            }
            ParamKind::Float { min, max } => {
                if !v.is_finite() || v < min || v > max {
                    return Err(format!("must be {allowed}"));
                }
                Ok(ParamValue::Float(v))
            }
            _ => Err(format!("expected {allowed}, found a number")),
        }
    }

    /// Check any value against this spec. `group_size` is the size of the
    /// group a per-node list must match.
    pub fn check(&self, v: &ParamValue, group_size: usize) -> Result<ParamValue, String> {
        let allowed = self.allowed();
        match (&self.kind, v) {
            (ParamKind::Int { .. } | ParamKind::Float { .. }, ParamValue::Int(i)) => {
                self.check_num(*i as f64)
            }
            (ParamKind::Int { .. } | ParamKind::Float { .. }, ParamValue::Float(x)) => {
                self.check_num(*x)
            }
            (ParamKind::Bool, ParamValue::Bool(_)) => Ok(v.clone()),
            (ParamKind::Enum(words), ParamValue::Enum(w)) => words
                .iter()
                .find(|x| *x == w)
                .map(|x| ParamValue::Enum(x))
                .ok_or_else(|| format!("must be {allowed}")),
            (ParamKind::PerNode { group, min, max }, ParamValue::PerNode(list)) => {
                if list.len() != group_size {
                    return Err(format!(
                        "needs one value per node of group `{group}`: {group_size} values, found {}",
                        list.len()
                    ));
                }
                if let Some(bad) = list.iter().find(|x| **x < *min || **x > *max) {
                    return Err(format!(
                        "{bad} is out of range: each value must be in {min}..={max}"
                    ));
                }
                Ok(v.clone())
            }
            _ => Err(format!("must be {allowed}")),
        }
    }

    /// The default for a group of `group_size` nodes.
    pub fn default_value(&self, group_size: usize) -> ParamValue {
        match self.default {
            ParamDefault::Int(v) => ParamValue::Int(v),
            ParamDefault::Float(v) => ParamValue::Float(v),
            ParamDefault::Bool(v) => ParamValue::Bool(v),
            ParamDefault::Enum(v) => ParamValue::Enum(v),
            ParamDefault::Each(v) => ParamValue::PerNode(vec![v; group_size]),
        }
    }

    /// The default as `list` prints it.
    pub fn default_text(&self) -> String {
        match self.default {
            ParamDefault::Int(v) => v.to_string(),
            ParamDefault::Float(v) => fmt_num(v),
            ParamDefault::Bool(v) => v.to_string(),
            ParamDefault::Enum(v) => format!("\"{v}\""),
            ParamDefault::Each(v) => format!("{v} for each node"),
        }
    }
}

fn quoted(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number as a person writes it: no trailing `.0` on whole numbers.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A kind of node a path's topology is made of (`servers`; `redis` and
/// `sentinels`; `brokers` and `zookeeper`). Node ids are laid out group after
/// group, in declaration order, then the clients.
#[derive(Debug)]
pub struct GroupSpec {
    /// Key in the workload's `[topology]` table; the first group may also be
    /// sized by the top-level `nodes` key.
    pub name: &'static str,
    /// Fault-target word for "a random live node of this group"; `WORD:N` is
    /// the group's N-th node (from 1).
    pub word: &'static str,
    pub min: usize,
    pub max: usize,
    /// Size when the workload does not say (`None`: it must say).
    pub default: Option<usize>,
    pub doc: &'static str,
}

/// A fault-target word a path's model resolves (`master`, `controller`,
/// `partition-leader:7`), beyond the engine's `leader`, `follower`, `random`,
/// `last`, node numbers and group words.
#[derive(Debug)]
pub struct TargetSpec {
    pub word: &'static str,
    /// Whether the word takes `:N` (a partition, shard or group number).
    pub takes_number: bool,
    pub doc: &'static str,
}

/// Whether lower or higher values of a metric are better.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// A result column a path adds to the common ones.
#[derive(Debug)]
pub struct ColumnSpec {
    /// CSV column name, unit last (`discovery_ms`).
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    /// Exact meaning, as `results/README.md` documents it.
    pub doc: &'static str,
}

impl ColumnSpec {
    /// A time in milliseconds where lower is better: most failover gaps.
    pub const fn lower_ms(name: &'static str, doc: &'static str) -> Self {
        ColumnSpec {
            name,
            unit: "ms",
            better: Better::Lower,
            doc,
        }
    }
}

/// A modelled path: everything the rest of the crate needs to know of it.
#[derive(Debug)]
pub struct PathInfo {
    /// `system/path`, as written in workload files.
    pub path: &'static str,
    pub system: &'static str,
    /// One line: what elects or fails over.
    pub summary: &'static str,
    /// Node groups, at least one; the first is the one `nodes =` sizes.
    pub groups: &'static [GroupSpec],
    pub params: &'static [ParamSpec],
    pub targets: &'static [TargetSpec],
    pub columns: &'static [ColumnSpec],
    /// Builds the path's model for one sweep point and runs its trials.
    pub prepare: PrepareFn,
}

impl PathInfo {
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&'static GroupSpec> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The first group, sized by the top-level `nodes` key.
    pub fn primary(&self) -> &'static GroupSpec {
        &self.groups[0]
    }

    /// Every parameter at its default, for a topology of `sizes` (one count
    /// per group, in declaration order).
    pub fn default_params(&'static self, sizes: &[usize]) -> Params {
        Params {
            path: self,
            values: self
                .params
                .iter()
                .map(|p| (p.name, p.default_value(self.group_size(p, sizes))))
                .collect(),
        }
    }

    /// Size of the group a per-node parameter follows (0 for other kinds).
    pub fn group_size(&self, p: &ParamSpec, sizes: &[usize]) -> usize {
        match p.kind {
            ParamKind::PerNode { group, .. } => self
                .groups
                .iter()
                .position(|g| g.name == group)
                .and_then(|i| sizes.get(i).copied())
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// Every target word a workload may use on this path, for messages.
    pub fn target_words(&self) -> Vec<String> {
        let mut words: Vec<String> = ["leader", "follower", "random", "last"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        for g in self.groups {
            words.push(g.word.to_string());
            words.push(format!("{}:N", g.word));
        }
        for t in self.targets {
            words.push(if t.takes_number {
                format!("{}:N", t.word)
            } else {
                t.word.to_string()
            });
        }
        words
    }
}

/// Every path electbench models, in the order `electbench list` shows them.
pub fn paths() -> &'static [PathInfo] {
    &PATHS
}

/// The registry: one line per path.
static PATHS: [PathInfo; 14] = [
    zookeeper::fle::PATH,
    zookeeper::ephemeral::PATH,
    redis::sentinel::PATH,
    redis::cluster::PATH,
    raft::etcd::PATH,
    raft::paper::PATH,
    kafka::controller_kraft::PATH,
    kafka::controller_zk::PATH,
    kafka::group_leader::PATH,
    kafka::partition_leader::PATH,
    eureka::peer_replication::PATH,
    rocketmq::nameserver::PATH,
    rocketmq::controller::PATH,
    rocketmq::dledger::PATH,
];

/// The path named `path` (`system/path`).
pub fn find(path: &str) -> Option<&'static PathInfo> {
    paths().iter().find(|p| p.path == path)
}

/// Validated parameter values of one path: every parameter present, each
/// within its spec.
#[derive(Clone)]
pub struct Params {
    path: &'static PathInfo,
    values: BTreeMap<&'static str, ParamValue>,
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.values.iter()).finish()
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.path.path == other.path.path && self.values == other.values
    }
}

impl Params {
    /// The spec of `name`, or a message listing the path's parameters.
    pub fn spec(&self, name: &str) -> Result<&'static ParamSpec, String> {
        self.path.param(name).ok_or_else(|| {
            let names: Vec<&str> = self.path.params.iter().map(|p| p.name).collect();
            format!(
                "unknown parameter of {}; allowed: {}",
                self.path.path,
                names.join(", ")
            )
        })
    }

    /// Set `name` to `v`, checking both; `sizes` is the topology.
    pub fn set_value(&mut self, name: &str, v: &ParamValue, sizes: &[usize]) -> Result<(), String> {
        let spec = self.spec(name)?;
        let v = spec.check(v, self.path.group_size(spec, sizes))?;
        self.values.insert(spec.name, v);
        Ok(())
    }

    /// Set numeric parameter `name` to `v`, checking both.
    pub fn set(&mut self, name: &str, v: f64) -> Result<(), String> {
        let spec = self.spec(name)?;
        let v = spec.check_num(v)?;
        self.values.insert(spec.name, v);
        Ok(())
    }

    fn value(&self, name: &str) -> &ParamValue {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("{} declares no parameter {name}", self.path.path))
    }

    /// The value of numeric parameter `name`. Asking for a parameter the path
    /// does not declare, or of another kind, is a bug in the model.
    pub fn get(&self, name: &str) -> f64 {
        match self.value(name) {
            ParamValue::Int(v) => *v as f64,
            ParamValue::Float(v) => *v,
            other => panic!("parameter {name} is not a number: {other:?}"),
        }
    }

    /// `get` of an `Int` parameter whose range starts at 0 or above.
    pub fn get_u64(&self, name: &str) -> u64 {
        match self.value(name) {
            ParamValue::Int(v) => u64::try_from(*v).expect("Int specs used as u64 have min >= 0"),
            other => panic!("parameter {name} is not a whole number: {other:?}"),
        }
    }

    pub fn get_bool(&self, name: &str) -> bool {
        match self.value(name) {
            ParamValue::Bool(v) => *v,
            other => panic!("parameter {name} is not a bool: {other:?}"),
        }
    }

    pub fn get_enum(&self, name: &str) -> &'static str {
        match self.value(name) {
            ParamValue::Enum(v) => v,
            other => panic!("parameter {name} is not an enum: {other:?}"),
        }
    }

    pub fn get_list(&self, name: &str) -> &[i64] {
        match self.value(name) {
            ParamValue::PerNode(v) => v,
            other => panic!("parameter {name} is not a per-node list: {other:?}"),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &ParamValue)> + '_ {
        self.values.iter().map(|(k, v)| (*k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_check() {
        for p in paths() {
            for s in p.params {
                let v = s.default_value(3);
                assert_eq!(s.check(&v, 3), Ok(v.clone()), "{} {}", p.path, s.name);
            }
        }
    }

    #[test]
    fn params_refuse_unknown_names_and_bad_values() {
        let mut ps = find("zookeeper/fle").unwrap().default_params(&[3]);
        assert!(ps.set("tickTime", 1000.0).is_ok());
        assert_eq!(ps.get("tickTime"), 1000.0);
        assert!(ps
            .set("tickTime", 0.5)
            .unwrap_err()
            .contains("whole number"));
        assert!(ps.set("tickTime", -5.0).is_err());
        assert!(ps
            .set("ticktime", 5.0)
            .unwrap_err()
            .contains("allowed: tickTime"));
    }

    const FLAGS: ParamSpec = ParamSpec {
        name: "unclean.leader.election.enable",
        kind: ParamKind::Bool,
        default: ParamDefault::Bool(false),
        unit: "",
        doc: "",
    };
    const ACKS: ParamSpec = ParamSpec {
        name: "acks",
        kind: ParamKind::Enum(&["0", "1", "all"]),
        default: ParamDefault::Enum("all"),
        unit: "",
        doc: "",
    };
    const PRIORITY: ParamSpec = ParamSpec {
        name: "replica-priority",
        kind: ParamKind::PerNode {
            group: "redis",
            min: 0,
            max: 1000,
        },
        default: ParamDefault::Each(100),
        unit: "",
        doc: "",
    };

    #[test]
    fn typed_params_check_their_kind_and_values() {
        assert_eq!(
            FLAGS.check(&ParamValue::Bool(true), 0),
            Ok(ParamValue::Bool(true))
        );
        assert!(FLAGS.check(&ParamValue::Int(1), 0).is_err());
        assert_eq!(
            ACKS.check(&ParamValue::Enum("1"), 0),
            Ok(ParamValue::Enum("1"))
        );
        assert!(ACKS
            .check(&ParamValue::Enum("2"), 0)
            .unwrap_err()
            .contains("\"0\", \"1\", \"all\""));
        assert_eq!(PRIORITY.default_value(3), ParamValue::PerNode(vec![100; 3]));
        assert!(PRIORITY
            .check(&ParamValue::PerNode(vec![100, 0]), 3)
            .unwrap_err()
            .contains("3 values, found 2"));
        assert!(PRIORITY
            .check(&ParamValue::PerNode(vec![100, 0, 2000]), 3)
            .unwrap_err()
            .contains("2000"));
        assert_eq!(
            PRIORITY.check(&ParamValue::PerNode(vec![100, 0, 5]), 3),
            Ok(ParamValue::PerNode(vec![100, 0, 5]))
        );
    }
}
