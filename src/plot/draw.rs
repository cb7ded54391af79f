//! The three figures, drawn with plotters into an SVG or a PNG.
//!
//! Each figure's drawing code is written once and stamped out for both
//! backends by [`render!`]: SVG keeps text as `<text>` elements, PNG
//! rasterises it with ab_glyph from the Noto Sans embedded in the binary
//! ([`register_fonts`], `raster::PngBackend`), so neither needs a font
//! installed on the machine.

use std::collections::BTreeMap;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{axis_unit, metric_unit, short_axis, with_unit, Run, Table};

/// Tableau 20 (the ten strong colours, then their light partners):
/// distinguishable colours for the 12 points of a typical 4 x 3 sweep.
const PALETTE: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
    RGBColor(247, 182, 210),
    RGBColor(199, 199, 199),
    RGBColor(219, 219, 141),
    RGBColor(158, 218, 229),
];

/// The font family every text uses: the embedded Noto Sans, registered
/// under this name by [`register_fonts`].
const FONT: &str = "sans-serif";

/// The file format of a figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

/// Register the embedded Noto Sans (Regular and Bold) as [`FONT`]: plotters'
/// ab_glyph text measures (SVG and PNG) and rasterises (PNG) with it, and
/// fails on a family nobody registered. Idempotent.
pub fn register_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (style, bytes) in [
            (FontStyle::Normal, ttf_noto_sans::REGULAR),
            (FontStyle::Bold, ttf_noto_sans::BOLD),
        ] {
            if plotters::style::register_font(FONT, style, bytes).is_err() {
                unreachable!("the embedded Noto Sans is a valid font");
            }
        }
    });
}

/// Encode an RGB buffer (`w` x `h`, 8 bits a channel) as PNG.
fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(rgb).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

/// Draw a figure of `size` in `format`: binds `$root` to the whole drawing
/// area (a `DrawingArea` of the SVG or the bitmap backend), runs `$body`
/// (which may return early with `Err(String)`), presents, and gives the
/// file's bytes.
macro_rules! render {
    ($format:expr, $size:expr, |$root:ident| $body:block) => {{
        let size: (u32, u32) = $size;
        match $format {
            Format::Svg => {
                let mut svg = String::new();
                {
                    let $root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                    $body
                    $root.present().map_err(err)?;
                }
                svg.into_bytes()
            }
            Format::Png => {
                let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
                {
                    let $root = super::raster::PngBackend::with_buffer(&mut rgb, size)
                        .into_drawing_area();
                    $body
                    $root.present().map_err(err)?;
                }
                encode_png(&rgb, size.0, size.1)?
            }
        }
    }};
}
/// Width of the figure's plotting part; the legend gets its own column to
/// the right, so it never hides a curve however many runs are overlaid.
const PLOT_W: u32 = 900;
const LEGEND_ROW: i32 = 20;

/// A tick label: whole numbers without a useless ".0", others with at
/// most three decimals.
fn tick(v: &f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn err(e: impl std::fmt::Display) -> String {
    format!("drawing the figure failed: {e}")
}

/// One curve of a line chart.
struct Line {
    label: String,
    color: RGBColor,
    dashed: bool,
    marker: bool,
    points: Vec<(f64, f64)>,
}

/// One legend row: a line sample (solid or dashed), optionally a marker.
struct Entry {
    label: String,
    color: RGBColor,
    dashed: bool,
    marker: Option<Marker>,
    line: bool,
}

impl From<&Line> for Entry {
    fn from(l: &Line) -> Entry {
        Entry {
            label: l.label.clone(),
            color: l.color,
            dashed: l.dashed,
            marker: l.marker.then_some(Marker::Circle),
            line: true,
        }
    }
}

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    m: Marker,
    c: RGBColor,
) -> Result<(), String> {
    let (x, y) = at;
    match m {
        Marker::Circle => area.draw(&Circle::new(at, 4, c.filled())),
        Marker::Triangle => area.draw(&TriangleMarker::new(at, 5, c.filled())),
        Marker::Square => area.draw(&Rectangle::new(
            [(x - 4, y - 4), (x + 4, y + 4)],
            c.filled(),
        )),
        Marker::Cross => area.draw(&Cross::new(at, 4, c.stroke_width(2))),
    }
    .map_err(err)
}

/// Width a legend column needs for these labels (plotters estimates text
/// width without a font the same crude way).
fn legend_width(entries: &[Entry]) -> u32 {
    let chars = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0);
    (chars as u32 * 13 / 2 + 70).max(120)
}

/// Draw the legend rows from the top of `area`, under `heading`.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top: i32,
    heading: &str,
    entries: &[Entry],
) -> Result<(), String> {
    let text = (FONT, 14).into_font();
    area.draw(&Text::new(
        heading.to_string(),
        (8, top),
        (FONT, 14).into_font().style(FontStyle::Bold),
    ))
    .map_err(err)?;
    for (i, e) in entries.iter().enumerate() {
        let y = top + LEGEND_ROW * (i as i32 + 1) + 8;
        let style = e.color.stroke_width(2);
        if e.line {
            if e.dashed {
                for x0 in [8, 20, 32] {
                    area.draw(&PathElement::new(vec![(x0, y), (x0 + 7, y)], style))
                        .map_err(err)?;
                }
            } else {
                area.draw(&PathElement::new(vec![(8, y), (40, y)], style))
                    .map_err(err)?;
            }
        }
        if let Some(m) = e.marker {
            draw_marker(area, (24, y), m, e.color)?;
        }
        area.draw(&Text::new(e.label.clone(), (48, y - 7), text.clone()))
            .map_err(err)?;
    }
    Ok(())
}

/// Figure size for a chart with `rows` legend rows: tall enough for them.
fn figure_height(rows: usize, min: u32) -> u32 {
    min.max(80 + rows as u32 * LEGEND_ROW as u32)
}

/// A line chart with a legend column: the CDF and sweep figures.
#[allow(clippy::too_many_arguments)]
fn line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    log_x: bool,
    x: Range<f64>,
    y: Range<f64>,
    lines: &[Line],
    legend_heading: &str,
    format: Format,
) -> Result<Vec<u8>, String> {
    let entries: Vec<Entry> = lines.iter().map(Entry::from).collect();
    let lw = legend_width(&entries);
    let h = figure_height(entries.len() + 2, 600);
    Ok(render!(format, (PLOT_W + lw, h), |root| {
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(PLOT_W);
        // The two coordinate types (linear, log) are different types in
        // plotters, so the drawing code is stamped out for each.
        macro_rules! draw {
            ($xspec:expr) => {{
                let mut chart = ChartBuilder::on(&plot)
                    .caption(title, (FONT, 20))
                    .margin(15)
                    .x_label_area_size(50)
                    .y_label_area_size(75)
                    .build_cartesian_2d($xspec, y.clone())
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .x_desc(x_desc)
                    .y_desc(y_desc)
                    .x_label_formatter(&tick)
                    .y_label_formatter(&tick)
                    .label_style((FONT, 13))
                    .axis_desc_style((FONT, 15))
                    .draw()
                    .map_err(err)?;
                for l in lines {
                    let style = l.color.stroke_width(2);
                    if l.dashed {
                        chart
                            .draw_series(DashedLineSeries::new(
                                l.points.iter().copied(),
                                8,
                                5,
                                style,
                            ))
                            .map_err(err)?;
                    } else {
                        chart
                            .draw_series(LineSeries::new(l.points.iter().copied(), style))
                            .map_err(err)?;
                    }
                    if l.marker {
                        chart
                            .draw_series(
                                l.points
                                    .iter()
                                    .map(|&p| Circle::new(p, 4, l.color.filled())),
                            )
                            .map_err(err)?;
                    }
                }
            }};
        }
        if log_x {
            draw!(x.clone().log_scale());
        } else {
            draw!(x.clone());
        }
        legend(&side, 50, legend_heading, &entries)?;
    }))
}

/// The workloads' names for a title, each once.
fn workloads(runs: &[Run]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in runs {
        if !names.contains(&r.workload.as_str()) {
            names.push(&r.workload);
        }
    }
    names.join(" vs ")
}

/// The metric's values at one point (empty cells are "not applicable" and
/// left out) and the point's trial count.
fn values(run: &Run, rows: &[&Vec<String>], metric: &str) -> (Vec<f64>, usize) {
    let c = run.raw.col(metric).expect("checked metric");
    let mut v: Vec<f64> = rows.iter().filter_map(|r| r[c].parse().ok()).collect();
    v.sort_by(f64::total_cmp);
    (v, rows.len())
}

/// Range of `v` with a margin, never empty.
fn padded(lo: f64, hi: f64, log: bool) -> Range<f64> {
    if log {
        return lo / 1.2..hi * 1.2;
    }
    let pad = ((hi - lo) * 0.03).max(hi.abs() * 0.01).max(1e-9);
    lo - pad..hi + pad
}

/// Log scale when the positive data spans more than two decades.
fn wants_log(lo: f64, hi: f64) -> bool {
    lo > 0.0 && hi / lo > 100.0
}

/// `--kind cdf`: the empirical CDF of `metric`, one curve per sweep point
/// and run. A point's colour is the same in every run and each run has its
/// own dash, so the same point of two runs is easy to compare.
pub fn cdf(runs: &[Run], metric: &str, format: Format) -> Result<Vec<u8>, String> {
    for r in runs {
        r.check_metric(metric)?;
    }
    // Runs of one point each have nothing to match by colour: each run
    // then gets its own colour as well as its own dash.
    let single = runs.iter().all(|r| r.points().len() == 1);
    let mut lines = Vec::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (ri, run) in runs.iter().enumerate() {
        let varying = run.varying_axes();
        for (pi, (_, rows)) in run.points().iter().enumerate() {
            let (v, trials) = values(run, rows, metric);
            let Some((&first, &last)) = v.first().zip(v.last()) else {
                continue;
            };
            lo = lo.min(first);
            hi = hi.max(last);
            // Steps: at each value the fraction jumps by one trial. The
            // denominator is every trial, so a curve that stays below 1
            // shows trials where the metric did not apply (no failover).
            let n = trials as f64;
            let mut pts = vec![(first, 0.0)];
            for (i, &x) in v.iter().enumerate() {
                pts.push((x, i as f64 / n));
                pts.push((x, (i + 1) as f64 / n));
            }
            let mut label = run.label.clone();
            if !varying.is_empty() {
                label = format!("{label}: {}", run.describe(rows[0], &varying));
            }
            if v.len() < trials {
                label = format!("{label} ({} of {trials} trials)", v.len());
            }
            lines.push(Line {
                label,
                color: color(if single { ri } else { pi }),
                dashed: ri % 2 == 1,
                marker: false,
                points: pts,
            });
        }
    }
    if lines.is_empty() {
        return Err(format!(
            "no trial of {} has a value for {metric}",
            runs.iter()
                .map(|r| r.raw.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let log = wants_log(lo, hi);
    // Start the last step's plateau visibly: extend every curve to the
    // right edge so a curve that ends early still reads as "done".
    let x = padded(lo, hi, log);
    for l in &mut lines {
        if let Some(&(_, y)) = l.points.last() {
            l.points.push((x.end, y));
        }
    }
    let unit = metric_unit(&runs[0].path, metric);
    let x_desc = if log {
        format!("{metric} ({unit}, log scale)")
    } else {
        with_unit(metric, unit)
    };
    line_chart(
        &format!("{}: CDF of {metric}", workloads(runs)),
        &x_desc,
        "fraction of trials",
        log,
        x,
        0.0..1.02,
        &lines,
        if single { "run" } else { "run: sweep point" },
        format,
    )
}

/// Nearest-rank percentile of sorted `v` (as raw.csv's own percentiles).
fn percentile(v: &[f64], p: f64) -> f64 {
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// `--kind sweep`: median and p99 of `metric` over trials against the
/// swept column `x`; one pair of lines per run and per value of the other
/// swept columns (a nodes × syncLimit sweep plotted against nodes gets one
/// pair per syncLimit).
pub fn sweep(
    runs: &[Run],
    metric: &str,
    x: Option<&str>,
    format: Format,
) -> Result<Vec<u8>, String> {
    for r in runs {
        r.check_metric(metric)?;
    }
    let axis = match x {
        Some(a) => a.to_string(),
        // The first swept column after `nodes`, else `nodes` itself.
        None => runs[0]
            .axes
            .get(1)
            .cloned()
            .unwrap_or_else(|| "nodes".into()),
    };
    for r in runs {
        r.check_axis(&axis)?;
    }
    let mut lines = Vec::new();
    let (mut lo, mut hi, mut top) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    let mut series = 0;
    for run in runs {
        let xc = run.raw.col(&axis).expect("checked axis");
        let others: Vec<String> = run
            .varying_axes()
            .into_iter()
            .filter(|a| *a != axis)
            .collect();
        // (other axes' values, [(x, rows)]) in point order, so the groups
        // come in the order the workload sweeps them (2, 5, 10, not "10" first).
        type Group<'a> = (String, Vec<(f64, Vec<&'a Vec<String>>)>);
        let mut groups: Vec<Group> = Vec::new();
        for rows in run.points().into_values() {
            let xs = &rows[0][xc];
            let xv: f64 = xs.parse().map_err(|_| {
                format!(
                    "{}: axis {axis} has the value {xs:?}, which is not a number; a sweep plot needs a numeric axis",
                    run.raw.path.display()
                )
            })?;
            let desc = run.describe(rows[0], &others);
            match groups.iter_mut().find(|g| g.0 == desc) {
                Some(g) => g.1.push((xv, rows)),
                None => groups.push((desc, vec![(xv, rows)])),
            }
        }
        for (desc, mut pts) in groups {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (mut med, mut p99) = (Vec::new(), Vec::new());
            for (xv, rows) in &pts {
                let (v, _) = values(run, rows, metric);
                if v.is_empty() {
                    continue;
                }
                lo = lo.min(*xv);
                hi = hi.max(*xv);
                let (m, p) = (percentile(&v, 0.5), percentile(&v, 0.99));
                top = top.max(p);
                med.push((*xv, m));
                p99.push((*xv, p));
            }
            if med.is_empty() {
                continue;
            }
            let name = if desc.is_empty() {
                run.label.clone()
            } else {
                format!("{}: {desc}", run.label)
            };
            let c = color(series);
            series += 1;
            lines.push(Line {
                label: format!("{name} median"),
                color: c,
                dashed: false,
                marker: true,
                points: med,
            });
            lines.push(Line {
                label: format!("{name} p99"),
                color: c,
                dashed: true,
                marker: true,
                points: p99,
            });
        }
    }
    if lines.is_empty() {
        return Err(format!(
            "no trial of the given runs has a value for {metric}"
        ));
    }
    let unit = metric_unit(&runs[0].path, metric);
    let x_unit = axis_unit(&runs[0].path, &axis);
    line_chart(
        &format!(
            "{}: {metric} against {}",
            workloads(runs),
            short_axis(&axis)
        ),
        &with_unit(&axis, x_unit),
        &format!("{} over trials", with_unit(metric, unit)),
        false,
        padded(lo, hi, false),
        0.0..(top * 1.08).max(1e-9),
        &lines,
        "median (solid), p99 (dashed)",
        format,
    )
}

/// One run's trial for the timeline.
struct Trial {
    /// (node, event, since_fault_ms) of phase events at or after the fault.
    events: Vec<(u64, String, f64)>,
    nodes: Vec<u64>,
    /// (bucket start since the fault, success rate) of buckets with ops.
    buckets: Vec<(f64, Option<f64>)>,
}

fn trial_of(t: &Table) -> Result<Trial, String> {
    let c = |n: &str| t.col(n).expect("checked in Run::timeline");
    let (sc, nc, ec, okc, fc) = (
        c("since_fault_ms"),
        c("node"),
        c("event"),
        c("ops_ok"),
        c("ops_failed"),
    );
    let mut tr = Trial {
        events: Vec::new(),
        nodes: Vec::new(),
        buckets: Vec::new(),
    };
    let mut any_since = false;
    for r in &t.rows {
        let Ok(since) = r[sc].parse::<f64>() else {
            continue;
        };
        any_since = true;
        if r[ec] == "client_ops" {
            let ok: f64 = r[okc].parse().unwrap_or(0.0);
            let failed: f64 = r[fc].parse().unwrap_or(0.0);
            let total = ok + failed;
            tr.buckets.push((since, (total > 0.0).then(|| ok / total)));
        } else if let Ok(node) = r[nc].parse::<u64>() {
            if !tr.nodes.contains(&node) {
                tr.nodes.push(node);
            }
            // Events before the fault are the start-up election: they would
            // squeeze the failover into a sliver of the axis.
            if since >= 0.0 {
                tr.events.push((node, r[ec].clone(), since));
            }
        }
    }
    if !any_since {
        return Err(format!(
            "{}: this trial had no applied fault, so there is no failover to draw",
            t.path.display()
        ));
    }
    tr.nodes.sort_unstable();
    Ok(tr)
}

/// The client-ops bucket width (results/README.md: 100 ms).
const BUCKET_MS: f64 = 100.0;

/// `--kind timeline`: one trial per run; top panel a row per node with its
/// phase events as markers, bottom panel the clients' success rate per
/// 100 ms bucket after the fault.
pub fn timeline(runs: &[Run], point: u64, trial: u64, format: Format) -> Result<Vec<u8>, String> {
    let trials: Vec<Trial> = runs
        .iter()
        .map(|r| r.timeline(point, trial).and_then(|t| trial_of(&t)))
        .collect::<Result<_, _>>()?;
    // Event kinds in the order they first happen, so the legend reads as
    // the failover's sequence.
    let mut kinds: Vec<String> = Vec::new();
    let mut events: Vec<&(u64, String, f64)> = trials.iter().flat_map(|t| &t.events).collect();
    events.sort_by(|a, b| a.2.total_cmp(&b.2));
    for e in &events {
        if !kinds.contains(&e.1) {
            kinds.push(e.1.clone());
        }
    }
    // The x axis ends a little after the later of the last phase event and
    // the last bucket with a failed operation: the rest of the trial is
    // steady state and would only flatten the picture.
    let mut end: f64 = 1000.0;
    for t in &trials {
        if let Some(e) = t.events.last() {
            end = end.max(e.2);
        }
        for &(at, rate) in &t.buckets {
            if rate.is_some_and(|r| r < 1.0) {
                end = end.max(at + BUCKET_MS);
            }
        }
    }
    let x = -0.03 * end..end * 1.08;

    // Rows top to bottom: run 1's nodes, then run 2's, ...
    let mut rows: Vec<String> = Vec::new();
    let mut row_of: Vec<BTreeMap<u64, usize>> = Vec::new();
    for (run, t) in runs.iter().zip(&trials) {
        let mut m = BTreeMap::new();
        for &n in &t.nodes {
            m.insert(n, rows.len());
            rows.push(if runs.len() > 1 {
                format!("{} n{n}", abbreviate(&run.label, 16))
            } else {
                format!("node {n}")
            });
        }
        row_of.push(m);
    }
    let nrows = rows.len();
    let y_of = |row: usize| (nrows - 1 - row) as f64;

    let markers = [
        Marker::Circle,
        Marker::Triangle,
        Marker::Square,
        Marker::Cross,
    ];
    let kind_entries: Vec<Entry> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| Entry {
            label: k.clone(),
            color: color(i),
            dashed: false,
            marker: Some(markers[i % markers.len()]),
            line: false,
        })
        .collect();
    let run_entries: Vec<Entry> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Entry {
            label: r.label.clone(),
            color: color(i),
            dashed: i % 2 == 1,
            marker: None,
            line: true,
        })
        .collect();
    const IDLE_NOTE: &str = "shaded: no operation completed";
    let lw = legend_width(&kind_entries)
        .max(legend_width(&run_entries))
        .max(IDLE_NOTE.len() as u32 * 6 + 20);
    let top_h = (120 + nrows as u32 * 36).max(320);
    let legend_rows = kind_entries.len() + run_entries.len() + 4;
    let h = (top_h + 300).max(figure_height(legend_rows, 0));
    let title = format!(
        "{}: failover timeline, point {point}, trial {trial}",
        workloads(runs)
    );
    Ok(render!(format, (PLOT_W + lw, h), |root| {
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(PLOT_W);
        let plot = plot.titled(&title, (FONT, 20)).map_err(err)?;
        let (upper, lower) = plot.split_vertically(top_h - 30);

        let mut chart = ChartBuilder::on(&upper)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(120)
            .build_cartesian_2d(x.clone(), -0.6..(nrows as f64 - 0.4))
            .map_err(err)?;
        let names = rows.clone();
        chart
            .configure_mesh()
            .x_desc("time since the fault (ms); phase events before it not shown")
            .x_label_formatter(&tick)
            .y_labels(nrows.max(2) + 1)
            .y_label_formatter(&|v: &f64| {
                let r = v.round();
                if (v - r).abs() > 1e-6 || r < 0.0 || r as usize >= nrows {
                    return String::new();
                }
                names[nrows - 1 - r as usize].clone()
            })
            .disable_y_mesh()
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;
        // The fault.
        chart
            .draw_series(LineSeries::new(
                [(0.0, -0.6), (0.0, nrows as f64 - 0.4)],
                RED.stroke_width(1),
            ))
            .map_err(err)?;
        for (ri, t) in trials.iter().enumerate() {
            for (node, kind, at) in &t.events {
                let k = kinds
                    .iter()
                    .position(|x| x == kind)
                    .expect("collected above");
                // Phases of one node often come within a millisecond of each
                // other: each kind sits at its own height within the row so
                // coinciding markers stay visible.
                let dy =
                    (k as f64 - (kinds.len() as f64 - 1.0) / 2.0) * 0.6 / kinds.len().max(1) as f64;
                let y = y_of(row_of[ri][node]) + dy;
                let c = color(k);
                let p = (*at, y);
                let m = markers[k % markers.len()];
                match m {
                    Marker::Circle => chart.draw_series([Circle::new(p, 4, c.filled())]),
                    Marker::Triangle => chart.draw_series([TriangleMarker::new(p, 5, c.filled())]),
                    Marker::Square => {
                        chart
                            .draw_series([EmptyElement::at(p)
                                + Rectangle::new([(-4, -4), (4, 4)], c.filled())])
                    }
                    Marker::Cross => chart.draw_series([Cross::new(p, 4, c.stroke_width(2))]),
                }
                .map_err(err)?;
            }
        }

        let mut chart = ChartBuilder::on(&lower)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(120)
            // Slightly below 0, so a rate of 0 is a line above the axis
            // rather than hidden in it.
            .build_cartesian_2d(x.clone(), -0.04..1.05)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time since the fault (ms)")
            .y_desc("client success rate per 100 ms")
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;
        for (ri, t) in trials.iter().enumerate() {
            let c = color(ri);
            // A bucket with no completed operation has no rate: the line
            // breaks there instead of bridging the gap.
            let mut seg: Vec<(f64, f64)> = Vec::new();
            let mut segs = Vec::new();
            for &(at, rate) in &t.buckets {
                if at > x.end {
                    break;
                }
                match rate {
                    Some(r) => {
                        seg.push((at, r));
                        seg.push(((at + BUCKET_MS).min(x.end), r));
                    }
                    None => segs.push(std::mem::take(&mut seg)),
                }
            }
            segs.push(seg);
            // Buckets where no operation completed at all (every request
            // hangs on a dead connection): the rate is undefined, but that
            // is the outage itself, so it is shaded rather than left blank.
            let mut idle: Vec<(f64, f64)> = Vec::new();
            for &(at, rate) in &t.buckets {
                if rate.is_some() || at > x.end {
                    continue;
                }
                match idle.last_mut() {
                    Some(last) if (last.1 - at).abs() < 1e-6 => last.1 = at + BUCKET_MS,
                    _ => idle.push((at, at + BUCKET_MS)),
                }
            }
            chart
                .draw_series(idle.into_iter().map(|(a, b)| {
                    Rectangle::new([(a, 0.0), (b.min(x.end), 1.05)], c.mix(0.15).filled())
                }))
                .map_err(err)?;
            for s in segs.into_iter().filter(|s| !s.is_empty()) {
                if ri % 2 == 1 {
                    chart
                        .draw_series(DashedLineSeries::new(s, 8, 5, c.stroke_width(2)))
                        .map_err(err)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(s, c.stroke_width(2)))
                        .map_err(err)?;
                }
            }
        }
        legend(&side, 50, "phase event", &kind_entries)?;
        let top = 50 + LEGEND_ROW * (kind_entries.len() as i32 + 2);
        legend(&side, top, "success rate: run", &run_entries)?;
        let note = top + LEGEND_ROW * (run_entries.len() as i32 + 2);
        side.draw(&Text::new(IDLE_NOTE, (8, note), (FONT, 13).into_font()))
            .map_err(err)?;
    }))
}

/// At most `n` characters, with an ellipsis when cut: row labels must fit
/// the fixed label column.
fn abbreviate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}
