//! `electbench compare BASE NEW`: did a change make failover better or worse?
//!
//! Each side is one or more `raw.csv` files (or run folders holding one).
//! Rows are grouped by workload, path, runtime, nodes and every swept (axis)
//! column; groups are matched across sides by that key. Per group and metric
//! it prints each side's median with a distribution-free 95 % confidence
//! interval, the change of the medians and a two-sided p-value: Wilcoxon
//! signed-rank on per-trial differences when both sides ran the same trial
//! seeds (the same random scenarios, so pairing removes the scenario noise),
//! Mann–Whitney U otherwise. The statistics live in [`super::stats`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::stats::{self, MedianCi};
use crate::systems::{self, Better};

/// Arguments of `electbench compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The baseline: a run folder or a raw.csv.
    base_pos: Option<PathBuf>,
    /// The candidate: a run folder or a raw.csv.
    new_pos: Option<PathBuf>,
    /// More baseline run folders or raw.csv files (repeatable); their rows
    /// are pooled with the positional BASE.
    #[arg(long = "base", value_name = "PATH")]
    base: Vec<PathBuf>,
    /// More candidate run folders or raw.csv files (repeatable).
    #[arg(long = "new", value_name = "PATH")]
    new: Vec<PathBuf>,
    /// Significance level: a change with p >= alpha is shown as `~`.
    #[arg(long, default_value_t = 0.05, value_parser = parse_alpha)]
    alpha: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit 1 when a significant change is worse by more than PCT percent.
    #[arg(long, value_name = "PCT")]
    fail_on_regression: Option<f64>,
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(a) if a > 0.0 && a < 1.0 => Ok(a),
        _ => Err(format!("{s:?}: must be a number between 0 and 1")),
    }
}

/// How the comparison is printed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Csv,
}

/// The metrics compared: quality measures only. `fault_at_ms` is an input,
/// and the op counters, `sim_events` and the rarer percentiles are not
/// measures of failover quality (or too noisy per trial to test).
pub const COMPARED: &[&str] = &[
    "detect_ms",
    "elect_ms",
    "recover_ms",
    "failover_ms",
    "unavailable_ms",
    "election_rounds",
    "messages",
    "lost_acked_writes",
    "violations",
    "throughput_ops_s",
    "commit_latency_us_p50",
    "commit_latency_us_p99",
];

/// Columns a file must have to be taken for a `raw.csv`.
const REQUIRED: &[&str] = &[
    "schema_version",
    "workload",
    "workload_sha256",
    "dirty",
    "path",
    "runtime",
    "nodes",
    "trial",
    "trial_seed",
    "fault_at_ms",
    "trace_hash",
];

/// One trial row, reduced to what the comparison uses.
struct Row {
    trial_seed: String,
    trace_hash: String,
    /// Metric values; a column the file lacks is absent, an empty cell None.
    values: BTreeMap<String, Option<f64>>,
}

/// The rows of one group on one side.
#[derive(Default)]
struct Group {
    path: String,
    rows: Vec<Row>,
}

/// One side: its groups, and the provenance seen, for the warnings.
#[derive(Default)]
struct Side {
    groups: BTreeMap<String, Group>,
    schema: BTreeSet<String>,
    /// workload name -> SHA-256s seen.
    sha: BTreeMap<String, BTreeSet<String>>,
    dirty: BTreeSet<String>,
}

/// The raw.csv a command-line argument names: the file, or a run folder's
/// `raw.csv` (warning when its meta.json says the run is incomplete).
fn raw_csv_of(arg: &Path) -> Result<PathBuf, String> {
    if arg.is_dir() {
        let raw = arg.join("raw.csv");
        if !raw.is_file() {
            return Err(format!(
                "{}: no raw.csv in this folder; give a run folder or a raw.csv",
                arg.display()
            ));
        }
        let meta = arg.join("meta.json");
        if let Ok(text) = std::fs::read_to_string(&meta) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if v["complete"] == false {
                    eprintln!(
                        "warning: {}: the run is incomplete (interrupted or killed); comparing the trials it finished",
                        arg.display()
                    );
                }
            }
        }
        return Ok(raw);
    }
    if !arg.exists() {
        return Err(format!("{}: no such file or folder", arg.display()));
    }
    Ok(arg.to_path_buf())
}

/// Read one raw.csv into `side`.
fn load(arg: &Path, side: &mut Side) -> Result<(), String> {
    let file = raw_csv_of(arg)?;
    let name = file.display().to_string();
    // Flexible: a killed run's raw.csv may end in a cut-off row, which is
    // skipped with a warning rather than refusing the whole file.
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&file)
        .map_err(|e| format!("{name}: {e}"))?;
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| format!("{name}: not a raw.csv: {e}"))?
        .iter()
        .map(String::from)
        .collect();
    let col = |c: &str| header.iter().position(|h| h == c);
    for c in REQUIRED {
        if col(c).is_none() {
            return Err(format!(
                "{name}: not a raw.csv (no `{c}` column); give a run folder or its raw.csv (summary.csv has no trials)"
            ));
        }
    }
    let at = |c: &str| col(c).expect("checked above");
    // Axis columns sit between trial_seed and the first metric column.
    let axes: Vec<usize> = (at("trial_seed") + 1..at("fault_at_ms")).collect();
    let mut cut = 0;
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| format!("{name}: {e}"))?;
        if rec.len() != header.len() {
            cut += 1;
            continue;
        }
        let cell = |c: usize| rec.get(c).unwrap_or("").to_string();
        let path = cell(at("path"));
        let mut key = format!(
            "{} {} {} nodes={}",
            cell(at("workload")),
            path,
            cell(at("runtime")),
            cell(at("nodes"))
        );
        for &a in &axes {
            let _ = write!(key, " {}={}", header[a], cell(a));
        }
        let path_cols = systems::find(&path).map_or(&[][..], |p| p.columns);
        let mut values = BTreeMap::new();
        let metric_names = COMPARED
            .iter()
            .copied()
            .chain(path_cols.iter().map(|c| c.name));
        for m in metric_names {
            if let Some(c) = col(m) {
                let text = cell(c);
                let v = if text.is_empty() {
                    None
                } else {
                    Some(text.parse::<f64>().map_err(|_| {
                        format!("{name}: row {}: `{m}` is {text:?}, not a number", i + 2)
                    })?)
                };
                values.insert(m.to_string(), v);
            }
        }
        side.schema.insert(cell(at("schema_version")));
        side.sha
            .entry(cell(at("workload")))
            .or_default()
            .insert(cell(at("workload_sha256")));
        side.dirty.insert(cell(at("dirty")));
        let g = side.groups.entry(key).or_default();
        g.path = path;
        g.rows.push(Row {
            trial_seed: cell(at("trial_seed")),
            trace_hash: cell(at("trace_hash")),
            values,
        });
    }
    if cut > 0 {
        eprintln!(
            "warning: {name}: skipped {cut} row(s) with the wrong number of cells (cut off?)"
        );
    }
    Ok(())
}

/// A significant change's direction, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Paired trials with equal trace hashes: the runs behaved identically.
    Identical,
    Better,
    Worse,
    /// p >= alpha.
    NoChange,
    /// No test possible (a side has no values).
    NotApplicable,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Identical => "identical",
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoChange => "~",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// One side's summary of one metric in one group.
struct SideStats {
    n: usize,
    median: Option<f64>,
    ci: Option<MedianCi>,
}

fn side_stats(v: &[f64]) -> SideStats {
    SideStats {
        n: v.len(),
        median: stats::median(v),
        ci: stats::median_ci(v, 0.95),
    }
}

/// One line of the comparison.
struct Line {
    group: String,
    metric: String,
    base: SideStats,
    new: SideStats,
    change_pct: Option<f64>,
    p: Option<f64>,
    test: &'static str,
    verdict: Verdict,
}

/// Whether lower or higher is better for a metric of `path`.
pub fn direction(metric: &str, path: &str) -> Better {
    if let Some(c) = systems::find(path).and_then(|p| p.columns.iter().find(|c| c.name == metric)) {
        return c.better;
    }
    if metric == "throughput_ops_s" {
        return Better::Higher;
    }
    // Everything else compared is a time, a latency percentile or a count
    // of cost or damage: lower is better.
    Better::Lower
}

fn change_pct(base: Option<f64>, new: Option<f64>) -> Option<f64> {
    match (base, new) {
        (Some(b), Some(n)) if b == n => Some(0.0),
        (Some(b), Some(n)) if b != 0.0 => Some((n - b) / b.abs() * 100.0),
        _ => None,
    }
}

fn values(rows: &[Row], m: &str) -> Vec<f64> {
    rows.iter()
        .filter_map(|r| r.values.get(m).copied().flatten())
        .collect()
}

/// Compare one matched group: its lines, and a note on the pairing.
fn compare_group(label: &str, b: &Group, n: &Group, alpha: f64) -> (Vec<Line>, String) {
    let paired = b.rows.len() == n.rows.len()
        && b.rows
            .iter()
            .zip(&n.rows)
            .all(|(x, y)| x.trial_seed == y.trial_seed);
    let changed = paired.then(|| {
        b.rows
            .iter()
            .zip(&n.rows)
            .filter(|(x, y)| x.trace_hash != y.trace_hash)
            .count()
    });
    let note = match changed {
        Some(0) => format!(
            "identical ({} paired trials, no trace changed)",
            b.rows.len()
        ),
        Some(c) => format!(
            "paired by trial seed: {c} of {} trials changed (Wilcoxon signed-rank)",
            b.rows.len()
        ),
        None => format!(
            "unpaired: {} vs {} trials (Mann-Whitney U)",
            b.rows.len(),
            n.rows.len()
        ),
    };
    let path_cols = systems::find(&b.path).map_or(&[][..], |p| p.columns);
    let metrics: Vec<&str> = COMPARED
        .iter()
        .copied()
        .chain(path_cols.iter().map(|c| c.name))
        .filter(|m| {
            b.rows.first().is_some_and(|r| r.values.contains_key(*m))
                && n.rows.first().is_some_and(|r| r.values.contains_key(*m))
        })
        .collect();
    let mut lines = Vec::new();
    for m in metrics {
        let (bv, nv) = (values(&b.rows, m), values(&n.rows, m));
        let (bs, ns) = (side_stats(&bv), side_stats(&nv));
        let mut change = change_pct(bs.median, ns.median);
        let (p, test, mut verdict) = if changed == Some(0) {
            change = bs.median.map(|_| 0.0);
            (Some(1.0), "identical", Verdict::Identical)
        } else if paired {
            // Only trials where the metric applies on both sides pair up.
            let diffs: Vec<f64> = b
                .rows
                .iter()
                .zip(&n.rows)
                .filter_map(|(x, y)| Some(y.values.get(m)?.as_ref()? - x.values.get(m)?.as_ref()?))
                .collect();
            if diffs.is_empty() {
                (None, "wilcoxon", Verdict::NotApplicable)
            } else {
                // Every difference zero: nothing to test, nothing changed.
                let p = stats::wilcoxon_signed_rank(&diffs).map_or(1.0, |r| r.p);
                (Some(p), "wilcoxon", Verdict::NoChange)
            }
        } else {
            match stats::mann_whitney(&bv, &nv) {
                Some(r) => (Some(r.p), "mann-whitney", Verdict::NoChange),
                None => (None, "mann-whitney", Verdict::NotApplicable),
            }
        };
        if verdict == Verdict::NoChange && p.is_some_and(|p| p < alpha) {
            // The direction of a significant change: the medians' change,
            // or when the medians tie, the shift of the means.
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let delta = match change {
                Some(c) if c != 0.0 => c,
                _ => mean(&nv) - mean(&bv),
            };
            let up_is_worse = direction(m, &b.path) == Better::Lower;
            verdict = match (delta > 0.0) == up_is_worse {
                _ if delta == 0.0 => Verdict::NoChange,
                true => Verdict::Worse,
                false => Verdict::Better,
            };
        }
        lines.push(Line {
            group: label.to_string(),
            metric: m.to_string(),
            base: bs,
            new: ns,
            change_pct: change,
            p,
            test,
            verdict,
        });
    }
    (lines, note)
}

/// Warnings that make a comparison suspect, without stopping it.
fn provenance_warnings(base: &Side, new: &Side) {
    let schema: BTreeSet<&String> = base.schema.iter().chain(&new.schema).collect();
    if schema.len() > 1 {
        eprintln!(
            "warning: schema_version differs: base {:?}, new {:?}; columns may not mean the same (results/README.md, schema history)",
            base.schema, new.schema
        );
    }
    for (w, shas) in &base.sha {
        if let Some(other) = new.sha.get(w) {
            if shas != other {
                eprintln!(
                    "warning: workload_sha256 differs for workload {w:?}: the workload file changed between the runs"
                );
            }
        }
    }
    if base.dirty != new.dirty {
        eprintln!(
            "warning: the dirty flags differ (base {:?}, new {:?}): a side was built from uncommitted sources",
            base.dirty, new.dirty
        );
    }
}

/// A number for the table: up to three decimals, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn median_text(s: &SideStats) -> String {
    match (s.median, &s.ci) {
        (None, _) => "-".into(),
        (Some(m), Some(ci)) => format!("{} [{}, {}]", num(m), num(ci.low), num(ci.high)),
        (Some(m), None) => format!("{} [too few samples]", num(m)),
    }
}

fn change_text(l: &Line) -> String {
    match (l.verdict, l.change_pct) {
        (Verdict::NoChange, _) => "~".into(),
        (_, Some(c)) => format!("{c:+.1}%"),
        (_, None) => "-".into(),
    }
}

fn p_text(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 0.001 => "<0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

/// The geometric mean over groups of each side's medians, per metric, over
/// the groups where both medians are positive (so both sides average the
/// same groups and their ratio means something).
fn geomean_lines(lines: &[Line]) -> Vec<Line> {
    let mut by_metric: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for l in lines {
        if !order.contains(&l.metric.as_str()) {
            order.push(&l.metric);
        }
        if let (Some(b), Some(n)) = (l.base.median, l.new.median) {
            if b > 0.0 && n > 0.0 {
                let e = by_metric.entry(&l.metric).or_default();
                e.0.push(b);
                e.1.push(n);
            }
        }
    }
    let mut out = Vec::new();
    for m in order {
        let Some((b, n)) = by_metric.get(m) else {
            continue;
        };
        let (gb, k) = stats::geometric_mean(b).expect("positive values");
        let (gn, _) = stats::geometric_mean(n).expect("positive values");
        out.push(Line {
            group: format!("geomean ({k} group{})", if k == 1 { "" } else { "s" }),
            metric: m.to_string(),
            base: SideStats {
                n: k,
                median: Some(gb),
                ci: None,
            },
            new: SideStats {
                n: k,
                median: Some(gn),
                ci: None,
            },
            change_pct: change_pct(Some(gb), Some(gn)),
            p: None,
            test: "geomean",
            verdict: Verdict::NotApplicable,
        });
    }
    out
}

const HEADER: [&str; 7] = [
    "group",
    "metric",
    "base median [95% CI]",
    "new median [95% CI]",
    "change",
    "p",
    "verdict",
];

fn cells(l: &Line) -> [String; 7] {
    let geo = l.test == "geomean";
    [
        l.group.clone(),
        l.metric.clone(),
        if geo {
            l.base.median.map_or("-".into(), num)
        } else {
            median_text(&l.base)
        },
        if geo {
            l.new.median.map_or("-".into(), num)
        } else {
            median_text(&l.new)
        },
        if geo {
            l.change_pct.map_or("-".into(), |c| format!("{c:+.1}%"))
        } else {
            change_text(l)
        },
        p_text(l.p),
        if geo {
            "".into()
        } else {
            l.verdict.word().into()
        },
    ]
}

fn render(format: Format, notes: &[(String, String)], lines: &[Line]) -> String {
    let mut s = String::new();
    match format {
        Format::Csv => {
            s.push_str(
                "group,metric,base_n,base_median,base_ci_low,base_ci_high,new_n,new_median,new_ci_low,new_ci_high,change_pct,p,test,verdict\n",
            );
            let o = |v: Option<f64>| v.map_or(String::new(), num);
            for l in lines {
                let row = [
                    l.group.clone(),
                    l.metric.clone(),
                    l.base.n.to_string(),
                    o(l.base.median),
                    o(l.base.ci.map(|c| c.low)),
                    o(l.base.ci.map(|c| c.high)),
                    l.new.n.to_string(),
                    o(l.new.median),
                    o(l.new.ci.map(|c| c.low)),
                    o(l.new.ci.map(|c| c.high)),
                    l.change_pct.map_or(String::new(), |c| format!("{c:.3}")),
                    l.p.map_or(String::new(), |p| format!("{p:.6}")),
                    l.test.to_string(),
                    l.verdict.word().to_string(),
                ];
                let row: Vec<String> = row.iter().map(|c| super::csv_field(c)).collect();
                s.push_str(&row.join(","));
                s.push('\n');
            }
        }
        Format::Markdown => {
            for (g, note) in notes {
                let _ = writeln!(s, "- `{g}`: {note}");
            }
            s.push('\n');
            let _ = writeln!(s, "| {} |", HEADER.join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(HEADER.len()));
            for l in lines {
                let c = cells(l);
                let _ = writeln!(s, "| {} |", c.join(" | ").replace("~", "\\~"));
            }
        }
        Format::Text => {
            for (g, note) in notes {
                let _ = writeln!(s, "{g}: {note}");
            }
            s.push('\n');
            let rows: Vec<[String; 7]> = std::iter::once(HEADER.map(String::from))
                .chain(lines.iter().map(cells))
                .collect();
            let mut w = [0usize; 7];
            for r in &rows {
                for (i, c) in r.iter().enumerate() {
                    w[i] = w[i].max(c.chars().count());
                }
            }
            for r in &rows {
                let mut line = String::new();
                for (i, c) in r.iter().enumerate() {
                    // Text left-aligned, numbers right-aligned.
                    let pad = w[i] - c.chars().count();
                    if i < 2 || i == 6 {
                        line.push_str(c);
                        line.push_str(&" ".repeat(pad));
                    } else {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(c);
                    }
                    line.push_str("  ");
                }
                let _ = writeln!(s, "{}", line.trim_end());
            }
        }
    }
    s
}

/// Run `electbench compare`: the exit code (0, or 1 for a regression past
/// `--fail-on-regression`), or a message for exit 2.
pub fn run(args: &CompareArgs) -> Result<i32, String> {
    let base_args: Vec<&PathBuf> = args.base_pos.iter().chain(&args.base).collect();
    // With only --base given, the one positional belongs to NEW.
    let (base_args, new_args): (Vec<&PathBuf>, Vec<&PathBuf>) =
        match (&args.base_pos, &args.new_pos, args.base.is_empty()) {
            (Some(only), None, false) => (args.base.iter().collect(), vec![only]),
            _ => (base_args, args.new_pos.iter().chain(&args.new).collect()),
        };
    if base_args.is_empty() || new_args.is_empty() {
        return Err("compare needs a BASE and a NEW (run folders or raw.csv files)".into());
    }
    let (mut base, mut new) = (Side::default(), Side::default());
    for a in &base_args {
        load(a, &mut base)?;
    }
    for a in &new_args {
        load(a, &mut new)?;
    }
    provenance_warnings(&base, &new);
    for (k, g) in &base.groups {
        if !new.groups.contains_key(k) {
            eprintln!(
                "warning: group `{k}` is only in BASE ({} trials); skipped",
                g.rows.len()
            );
        }
    }
    for (k, g) in &new.groups {
        if !base.groups.contains_key(k) {
            eprintln!(
                "warning: group `{k}` is only in NEW ({} trials); skipped",
                g.rows.len()
            );
        }
    }
    let mut notes = Vec::new();
    let mut lines = Vec::new();
    for (k, b) in &base.groups {
        let Some(n) = new.groups.get(k) else {
            continue;
        };
        for (side, g) in [("BASE", b), ("NEW", n)] {
            if g.rows.len() < stats::MIN_CI_SAMPLES {
                eprintln!(
                    "warning: group `{k}`: {side} has {} trial(s), too few samples for a 95 % interval of the median (needs {})",
                    g.rows.len(),
                    stats::MIN_CI_SAMPLES
                );
            }
        }
        let (l, note) = compare_group(k, b, n, args.alpha);
        notes.push((k.clone(), note));
        lines.extend(l);
    }
    if notes.is_empty() {
        let names = |v: &[&PathBuf]| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "no common group: {} and {} share no (workload, path, runtime, nodes, swept values); nothing to compare",
            names(&base_args),
            names(&new_args)
        ));
    }
    let geo = geomean_lines(&lines);
    let mut all = lines;
    all.extend(geo);
    print!("{}", render(args.format, &notes, &all));
    if let Some(limit) = args.fail_on_regression {
        let bad: Vec<&Line> = all
            .iter()
            .filter(|l| l.verdict == Verdict::Worse && l.change_pct.is_none_or(|c| c.abs() > limit))
            .collect();
        if !bad.is_empty() {
            for l in &bad {
                eprintln!(
                    "regression: {} {}: {} (p {}), worse than {limit}%",
                    l.group,
                    l.metric,
                    l.change_pct.map_or("-".into(), |c| format!("{c:+.1}%")),
                    p_text(l.p)
                );
            }
            return Ok(1);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_follows_names_and_the_registry() {
        assert_eq!(direction("detect_ms", "zookeeper/fle"), Better::Lower);
        assert_eq!(
            direction("commit_latency_us_p99", "zookeeper/fle"),
            Better::Lower
        );
        assert_eq!(direction("messages", "zookeeper/fle"), Better::Lower);
        assert_eq!(
            direction("throughput_ops_s", "zookeeper/fle"),
            Better::Higher
        );
        assert_eq!(direction("sync_ms", "zookeeper/fle"), Better::Lower);
    }

    #[test]
    fn change_of_medians() {
        assert_eq!(change_pct(Some(10.0), Some(20.0)), Some(100.0));
        assert_eq!(change_pct(Some(0.0), Some(0.0)), Some(0.0));
        assert_eq!(change_pct(Some(0.0), Some(1.0)), None);
        assert_eq!(change_pct(None, Some(1.0)), None);
    }

    #[test]
    fn numbers_drop_trailing_zeros() {
        assert_eq!(num(9977.855), "9977.855");
        assert_eq!(num(254.0), "254");
        assert_eq!(num(0.5), "0.5");
    }
}
