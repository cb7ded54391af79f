//! `electbench plot`: SVG or PNG figures from run folders (raw.csv,
//! timeline.csv).
//!
//! Reads only the CSV files a run wrote (never re-runs anything), so a
//! figure can be drawn from any committed baseline or a colleague's run.
//! The format follows `--out`'s extension. Neither needs a font installed:
//! text is measured (both) and rasterised (PNG) with the Noto Sans embedded
//! in the binary, so figures look the same on a machine with no fonts at
//! all (CI has none).

mod data;
mod draw;
mod raster;

use std::io::Write;
use std::path::{Path, PathBuf};

use data::Run;
use draw::Format;

/// Options of `electbench plot`.
#[derive(clap::Args, Debug)]
pub struct PlotArgs {
    /// Run folders (or their raw.csv); several are overlaid in one figure.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// The figure to write: FILE.svg or FILE.png (by the extension); an
    /// existing file is kept unless --force.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub out: PathBuf,
    /// What to draw.
    #[arg(long, value_enum, default_value_t = Kind::Cdf)]
    pub kind: Kind,
    /// Metric column of raw.csv (cdf and sweep; default failover_ms).
    #[arg(long)]
    pub metric: Option<String>,
    /// Swept column on the x axis (sweep; default the first swept column, or nodes).
    #[arg(long, value_name = "AXIS")]
    pub x: Option<String>,
    /// Legend label of each run, in the order of the runs (default: the folder name).
    #[arg(long)]
    pub label: Vec<String>,
    /// Trial to draw (timeline).
    #[arg(long, default_value_t = 0)]
    pub trial: u64,
    /// Sweep point to draw (timeline).
    #[arg(long, default_value_t = 0)]
    pub point: u64,
    /// Replace the --out file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The kinds of figure.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Empirical CDF of a metric per sweep point and run.
    Cdf,
    /// Median and p99 of a metric against a swept value.
    Sweep,
    /// One trial's phase events per node and the clients' success rate.
    Timeline,
}

/// Exit code when the figure could not be written (as `run`'s 3).
const EXIT_IO: i32 = 3;

/// Run `electbench plot`. `Err` is bad input (the caller exits 2).
pub fn run(args: PlotArgs) -> Result<i32, String> {
    let format = check_out(&args.out, args.force)?;
    if args.label.len() > args.runs.len() {
        return Err(format!(
            "{} --label given for {} run(s); give at most one per run",
            args.label.len(),
            args.runs.len()
        ));
    }
    if args.kind != Kind::Sweep && args.x.is_some() {
        return Err("--x applies only to --kind sweep".into());
    }
    if args.kind == Kind::Timeline && args.metric.is_some() {
        return Err("--metric applies only to --kind cdf and --kind sweep".into());
    }
    let runs: Vec<Run> = args
        .runs
        .iter()
        .enumerate()
        .map(|(i, p)| Run::open(p, args.label.get(i).cloned()))
        .collect::<Result<_, _>>()?;
    let metric = args.metric.as_deref().unwrap_or("failover_ms");
    draw::register_fonts();
    let bytes = match args.kind {
        Kind::Cdf => draw::cdf(&runs, metric, format)?,
        Kind::Sweep => draw::sweep(&runs, metric, args.x.as_deref(), format)?,
        Kind::Timeline => draw::timeline(&runs, args.point, args.trial, format)?,
    };
    match write_out(&args.out, &bytes, args.force) {
        Ok(()) => {
            println!("plot: {}", args.out.display());
            Ok(0)
        }
        Err(WriteError::Exists) => Err(exists_msg(&args.out)),
        Err(WriteError::Io(e)) => {
            eprintln!("error: cannot write {}: {e}", args.out.display());
            Ok(EXIT_IO)
        }
    }
}

fn exists_msg(out: &Path) -> String {
    format!(
        "--out {}: the file exists; give --force to replace it",
        out.display()
    )
}

/// Refuse what cannot be written before reading any data; the format the
/// extension names.
fn check_out(out: &Path, force: bool) -> Result<Format, String> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("svg") => Format::Svg,
        Some("png") => Format::Png,
        Some(other) => {
            return Err(format!(
                "--out {}: unknown figure format .{other}; allowed: .svg, .png",
                out.display()
            ))
        }
        None => {
            return Err(format!(
                "--out {}: no file extension; give a file name ending in .svg or .png",
                out.display()
            ))
        }
    };
    if !force && out.exists() {
        return Err(exists_msg(out));
    }
    let parent = parent_dir(out);
    if !parent.is_dir() {
        return Err(format!(
            "--out {}: the folder {} does not exist",
            out.display(),
            parent.display()
        ));
    }
    Ok(format)
}

fn parent_dir(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

enum WriteError {
    Exists,
    Io(std::io::Error),
}

/// Write `bytes` to `out` atomically: a hidden temporary file beside it is
/// filled and synced, then moved into place, so a reader never sees half a
/// figure. Without `force` the move is a hard link, which fails rather than
/// replace a file that appeared since `check_out` looked.
fn write_out(out: &Path, bytes: &[u8], force: bool) -> Result<(), WriteError> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent_dir(out).join(format!(".{name}.{}.tmp", std::process::id()));
    let fill = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    let result = fill().map_err(WriteError::Io).and_then(|()| {
        if force {
            return std::fs::rename(&tmp, out).map_err(WriteError::Io);
        }
        match std::fs::hard_link(&tmp, out) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(WriteError::Exists),
            // A file system without hard links: check, then rename.
            Err(_) if out.exists() => Err(WriteError::Exists),
            Err(_) => std::fs::rename(&tmp, out).map_err(WriteError::Io),
        }
    });
    let _ = std::fs::remove_file(&tmp);
    result
}
