//! The modelled paths, one sans-IO model per path, and the registry that names
//! them with their parameters (real names, real defaults, units).
//!
//! A system may use another as a service through its public client API, never
//! by reaching into its state.

pub mod zookeeper;

use std::collections::BTreeMap;
use std::fmt;

/// One protocol parameter of a path, named as the real system names it.
#[derive(Debug)]
pub struct ParamSpec {
    /// The real system's name (`tickTime`, `zookeeper.fastleader.maxNotificationInterval`).
    pub name: &'static str,
    /// The real system's default (see `doc` where the real system has none).
    pub default: f64,
    /// Unit of the value: `ms`, `ticks`, `count`.
    pub unit: &'static str,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// Whether only whole numbers are allowed.
    pub integer: bool,
    /// Meaning, and the real source file the default comes from.
    pub doc: &'static str,
}

impl ParamSpec {
    /// Whether `v` is allowed; on refusal, says what is allowed.
    pub fn check(&self, v: f64) -> Result<(), String> {
        if !v.is_finite() {
            return Err(format!("must be a finite number in {}", self.allowed()));
        }
        if self.integer && v.fract() != 0.0 {
            return Err(format!("must be a whole number in {}", self.allowed()));
        }
        if v < self.min || v > self.max {
            return Err(format!("must be in {}", self.allowed()));
        }
        Ok(())
    }

    /// The allowed range, for messages and `electbench list`.
    pub fn allowed(&self) -> String {
        format!(
            "{}..={} {}",
            fmt_num(self.min),
            fmt_num(self.max),
            self.unit
        )
    }
}

/// A number as a person writes it: no trailing `.0` on whole numbers.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A modelled path.
#[derive(Debug)]
pub struct PathInfo {
    /// `system/path`, as written in workload files.
    pub path: &'static str,
    pub system: &'static str,
    /// One line: what elects or fails over.
    pub summary: &'static str,
    /// Allowed server counts.
    pub min_nodes: usize,
    pub max_nodes: usize,
    pub params: &'static [ParamSpec],
}

impl PathInfo {
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Every parameter at its default.
    pub fn default_params(&'static self) -> Params {
        Params {
            path: self,
            values: self.params.iter().map(|p| (p.name, p.default)).collect(),
        }
    }
}

/// Every path electbench models, in the order `electbench list` shows them.
pub fn paths() -> &'static [PathInfo] {
    &PATHS
}

static PATHS: [PathInfo; 1] = [zookeeper::fle::PATH];

/// The path named `path` (`system/path`).
pub fn find(path: &str) -> Option<&'static PathInfo> {
    paths().iter().find(|p| p.path == path)
}

/// Validated parameter values of one path: every parameter present, each
/// within its spec.
#[derive(Clone)]
pub struct Params {
    path: &'static PathInfo,
    values: BTreeMap<&'static str, f64>,
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
    /// Set `name` to `v`, checking both.
    pub fn set(&mut self, name: &str, v: f64) -> Result<(), String> {
        let spec = self.path.param(name).ok_or_else(|| {
            let names: Vec<&str> = self.path.params.iter().map(|p| p.name).collect();
            format!(
                "unknown parameter of {}; allowed: {}",
                self.path.path,
                names.join(", ")
            )
        })?;
        spec.check(v)?;
        self.values.insert(spec.name, v);
        Ok(())
    }

    /// The value of `name`. Asking for a parameter the path does not declare is
    /// a bug in the model, not a user error.
    pub fn get(&self, name: &str) -> f64 {
        *self
            .values
            .get(name)
            .unwrap_or_else(|| panic!("{} declares no parameter {name}", self.path.path))
    }

    /// `get` as a whole number (specs declared `integer` are whole).
    pub fn get_u64(&self, name: &str) -> u64 {
        self.get(name) as u64
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.values.iter().map(|(k, v)| (*k, *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_check() {
        for p in paths() {
            for s in p.params {
                assert_eq!(s.check(s.default), Ok(()), "{} {}", p.path, s.name);
            }
        }
    }

    #[test]
    fn params_refuse_unknown_names_and_bad_values() {
        let mut ps = find("zookeeper/fle").unwrap().default_params();
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
}
