//! `electbench plot`: every kind draws an SVG and a PNG from real run
//! folders, two runs overlay with their legend labels, and bad input exits 2
//! naming the file.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;

/// Run folders shared by the tests (a run takes a moment; plotting reads
/// them only): two small 2-point sweeps with timelines, and one run
/// without a timeline.
struct Runs {
    dir: PathBuf,
    a: PathBuf,
    b: PathBuf,
    no_timeline: PathBuf,
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("plot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let make = |name: &str, seed: u64, timeline: bool| {
            let text = SMALL
                .replace("name = \"small\"", &format!("name = \"{name}\""))
                .replace("seed = 5", &format!("seed = {seed}"))
                .replace("nodes = 3", "nodes = [3, 5]")
                .replace("trials = 12", "trials = 6");
            let file = write(&dir, &format!("{name}.toml"), &text);
            let out = dir.join(name);
            std::fs::create_dir_all(&out).unwrap();
            let extra: &[&str] = if timeline { &["--timeline"] } else { &[] };
            run_ok(&file, &out, extra);
            run_dir(&out)
        };
        Runs {
            a: make("plot-a", 5, true),
            b: make("plot-b", 6, true),
            no_timeline: make("plot-c", 7, false),
            dir,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `electbench plot ARGS --out DIR/NAME`; returns the output and the path.
fn plot(name: &str, args: &[&str]) -> (std::process::Output, PathBuf) {
    let out = runs().dir.join(name);
    let mut all = vec!["plot"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", s(&out)]);
    (electbench(&all), out)
}

/// The figure exists, looks like SVG, and holds every expected text.
fn assert_svg(path: &Path, texts: &[&str]) {
    let svg = std::fs::read_to_string(path).expect("the figure was written");
    assert!(
        svg.trim_start().starts_with("<svg"),
        "{}",
        &svg[..svg.len().min(200)]
    );
    assert!(svg.trim_end().ends_with("</svg>"), "the SVG is complete");
    assert_eq!(svg.matches("<svg").count(), 1);
    for t in texts {
        assert!(svg.contains(t), "{} lacks {t:?}", path.display());
    }
}

#[test]
fn cdf_overlays_two_runs_with_folder_names_as_labels() {
    let r = runs();
    let (o, out) = plot("cdf.svg", &[s(&r.a), s(&r.b)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let label_a = r.a.file_name().unwrap().to_str().unwrap();
    let label_b = r.b.file_name().unwrap().to_str().unwrap();
    assert_svg(
        &out,
        &[
            "failover_ms (ms)",
            "fraction of trials",
            "CDF of failover_ms",
            "plot-a vs plot-b",
            &format!("{label_a}: nodes=3"),
            &format!("{label_b}: nodes=5"),
        ],
    );
}

#[test]
fn cdf_takes_a_raw_csv_and_another_metric() {
    let r = runs();
    let raw = r.a.join("raw.csv");
    let (o, out) = plot(
        "cdf-elect.svg",
        &[s(&raw), "--metric", "elect_ms", "--label", "only"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_svg(&out, &["elect_ms (ms", "only: nodes=3", "only: nodes=5"]);
}

#[test]
fn sweep_draws_median_and_p99_per_run_against_nodes() {
    let r = runs();
    let (o, out) = plot(
        "sweep.svg",
        &[
            s(&r.a),
            s(&r.b),
            "--kind",
            "sweep",
            "--label",
            "alpha",
            "--label",
            "beta",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_svg(
        &out,
        &[
            "nodes (servers)",
            "failover_ms (ms) over trials",
            "alpha median",
            "alpha p99",
            "beta median",
            "beta p99",
        ],
    );
}

#[test]
fn timeline_draws_phase_events_and_success_rate_of_one_trial() {
    let r = runs();
    let (o, out) = plot(
        "timeline.svg",
        &[
            s(&r.a),
            s(&r.b),
            "--kind",
            "timeline",
            "--point",
            "1",
            "--trial",
            "2",
            "--label",
            "alpha",
            "--label",
            "beta",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_svg(
        &out,
        &[
            "time since the fault (ms)",
            "client success rate per 100 ms",
            "point 1, trial 2",
            "alpha n1",
            "beta n5",
            "serving",
            "alpha",
            "beta",
        ],
    );
}

/// Exit 2 and a message containing every one of `needles`.
fn assert_refused(o: &std::process::Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
}

#[test]
fn bad_inputs_exit_2_with_a_message_naming_the_file() {
    let r = runs();
    let missing = r.dir.join("no-such-run");
    let (o, out) = plot("x.svg", &[s(&missing)]);
    assert_refused(&o, &[s(&missing), "no such run folder"]);
    assert!(!out.exists());

    let (o, _) = plot("x.svg", &[s(&r.a), "--metric", "speed"]);
    assert_refused(
        &o,
        &[
            "raw.csv",
            "unknown metric \"speed\"",
            "failover_ms",
            "elect_ms",
        ],
    );

    let (o, _) = plot(
        "x.svg",
        &[s(&r.a), "--kind", "sweep", "--x", "params.bogus"],
    );
    assert_refused(&o, &["raw.csv", "unknown axis \"params.bogus\"", "nodes"]);

    let (o, _) = plot("x.svg", &[s(&r.no_timeline), "--kind", "timeline"]);
    assert_refused(&o, &[s(&r.no_timeline), "--timeline"]);

    let (o, _) = plot("x.svg", &[s(&r.a), "--kind", "timeline", "--trial", "99"]);
    assert_refused(&o, &["timeline.csv", "--trial 99"]);

    let (o, out) = plot("x.pdf", &[s(&r.a)]);
    assert_refused(
        &o,
        &["x.pdf", "unknown figure format .pdf", "allowed: .svg, .png"],
    );
    assert!(!out.exists());

    let (o, _) = plot("x", &[s(&r.a)]);
    assert_refused(&o, &["no file extension", ".svg or .png"]);

    assert!(
        !r.dir.join("x.svg").exists(),
        "no refused plot wrote a file"
    );
}

#[test]
fn an_existing_figure_is_kept_unless_force() {
    let r = runs();
    let out = r.dir.join("kept.svg");
    std::fs::write(&out, "mine").unwrap();
    let (o, _) = plot("kept.svg", &[s(&r.a)]);
    assert_refused(&o, &["kept.svg", "--force"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");

    let (o, _) = plot("kept.svg", &[s(&r.a), "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_svg(&out, &["fraction of trials"]);
    // No temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(&r.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".kept.svg"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Width and height of a PNG file, after checking its signature and that
/// its first chunk is IHDR; and that it is more than a header.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).expect("the figure was written");
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&b[12..16], b"IHDR");
    assert!(b.len() > 5_000, "a figure with content: {} bytes", b.len());
    assert_eq!(&b[b.len() - 8..b.len() - 4], b"IEND", "the PNG is complete");
    let be = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn every_kind_draws_a_png_of_the_svg_size() {
    let r = runs();
    for (kind, extra) in [
        ("cdf", &[][..]),
        ("sweep", &[][..]),
        ("timeline", &["--point", "1", "--trial", "2"][..]),
    ] {
        let mut args = vec![s(&r.a), s(&r.b), "--kind", kind];
        args.extend_from_slice(extra);
        let (o, png) = plot(&format!("{kind}.png"), &args);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", stderr(&o));
        let (w, h) = png_size(&png);
        // The SVG of the same figure declares the same size.
        let (o, svg) = plot(&format!("{kind}-same.svg"), &args);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", stderr(&o));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.contains(&format!("width=\"{w}\" height=\"{h}\"")),
            "{kind}: PNG {w}x{h}, SVG {}",
            &text[..text.len().min(200)]
        );
        assert!(w >= 900 && h >= 600, "{kind}: {w}x{h}");
    }
    // Upper case extensions are fine too.
    let (o, png) = plot("upper.PNG", &[s(&r.a)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    png_size(&png);
}
