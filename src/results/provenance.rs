//! Where a result comes from: electbench version, git commit and whether the
//! tree was dirty (all three fixed when the binary is built), and (for the
//! sidecar) the machine and the wall clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// The provenance columns that do not come from the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub electbench_version: String,
    /// Full git commit hash of the source tree the binary was built from, or
    /// `unknown`.
    pub commit: String,
    /// `true`/`false`: at build time the crate's tracked sources differed
    /// from the commit; empty if unknown.
    pub dirty: String,
}

impl Provenance {
    /// The tree this binary was built from, as `build.rs` saw it at build
    /// time. Nothing is asked of git here: the checkout the binary happens to
    /// run in may be at another commit, and results must describe the code
    /// that produced them.
    pub fn detect() -> Self {
        Provenance {
            electbench_version: env!("CARGO_PKG_VERSION").to_string(),
            commit: env!("ELECTBENCH_GIT_COMMIT").to_string(),
            dirty: env!("ELECTBENCH_GIT_DIRTY").to_string(),
        }
    }
}

/// The host name, from the kernel or the environment.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The CPU model, from /proc/cpuinfo where there is one.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg where there is
/// one (a live run's figures depend on what else the machine ran).
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Seconds since the Unix epoch, now.
#[allow(clippy::disallowed_methods)] // run metadata: the one place that reads the date
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `(YYYYMMDDTHHMMSSZ, YYYY-MM-DDTHH:MM:SSZ)` for Unix time `secs`, UTC.
pub fn utc_stamps(secs: u64) -> (String, String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (
        format!("{y:04}{mo:02}{d:02}T{h:02}{m:02}{s:02}Z"),
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_match_known_dates() {
        assert_eq!(utc_stamps(0).1, "1970-01-01T00:00:00Z");
        assert_eq!(utc_stamps(951_782_400).1, "2000-02-29T00:00:00Z");
        assert_eq!(utc_stamps(1_795_773_905).0, "20261127T100505Z");
    }
}
