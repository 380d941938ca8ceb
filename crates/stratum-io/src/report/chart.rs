//! Small SVG charts for the report: horizontal bars (grouped or stacked), the Pareto curve, a
//! heat map and histograms on a linear or logarithmic axis.
//!
//! Our own module rather than `plotters`: the report needs text that inherits the page's font
//! stack (so Chinese labels fall back to whatever CJK font the reader has), label-sized
//! layouts for long Chinese category names, and charts that scale with the page and print;
//! plotters' SVG backend fixes fonts per element and sizes in pixels, and brings a font
//! rasterising stack we do not need. Colours are the Okabe–Ito palette (safe for the common
//! colour-vision deficiencies) and a viridis ramp for the heat map.

use std::fmt::Write;

/// Okabe–Ito: blue, orange, green, vermillion, sky blue, reddish purple, yellow, grey.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#999999",
];

/// The chart font size in pixels; the page's font family applies.
const FONT: f64 = 12.0;

/// Escapes text for XML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The width of `s` in pixels at `size`: full-width (CJK) characters are one em, others
/// about 0.6 em.
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars()
        .map(|c| match unicode_width::UnicodeWidthChar::width(c) {
            Some(2) => size,
            _ => size * 0.6,
        })
        .sum()
}

/// A step of 1, 2 or 5 × 10ᵏ giving about `ticks` intervals up to `max`.
pub fn nice_step(max: f64, ticks: usize) -> f64 {
    if max.is_nan() || max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / ticks.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let f = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    f * mag
}

/// A number for SVG attributes: at most two decimals, no trailing zeros.
fn n(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// An SVG document under construction.
struct Svg {
    out: String,
}

impl Svg {
    fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title>"#,
            w = n(width),
            h = n(height),
            t = esc(title)
        );
        Svg { out }
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, s: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            n(x),
            n(y),
            esc(s)
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}">"#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0))
        );
        if !tip.is_empty() {
            let _ = write!(self.out, "<title>{}</title>", esc(tip));
        }
        self.out.push_str("</rect>");
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{class}"/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        );
    }

    /// The axis titles: `x_title` centred at (`x`, `y`), `y_title` turned upright, centred at
    /// height `mid` near the left edge `left`.
    fn axis_titles(
        &mut self,
        (x, y): (f64, f64),
        (left, mid): (f64, f64),
        titles: &(String, String),
    ) {
        self.text(x, y, "middle", "axis", &titles.0);
        let _ = write!(
            self.out,
            r#"<text transform="translate({} {}) rotate(-90)" text-anchor="middle" class="axis">{}</text>"#,
            n(left),
            n(mid),
            esc(&titles.1)
        );
    }

    /// A legend of coloured squares and names from `x` at baseline `y`, wrapped onto more rows
    /// (16 px apart) before `right`.
    fn legend(&mut self, x: f64, y: f64, right: f64, items: &[(&str, &str)]) {
        for (name, color, at, row) in legend_places(x, right, items) {
            let y = y + 16.0 * row as f64;
            self.rect(at, y - 10.0, 10.0, 10.0, color, "");
            self.text(at + 14.0, y, "start", "legend", name);
        }
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// Where each legend item goes: (name, colour, x, row), wrapping before `right`.
fn legend_places<'a>(
    x: f64,
    right: f64,
    items: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str, f64, usize)> {
    let (mut at, mut row) = (x, 0);
    items
        .iter()
        .map(|&(name, color)| {
            let w = 14.0 + text_width(name, FONT) + 18.0;
            if at > x && at + w > right {
                at = x;
                row += 1;
            }
            let place = (name, color, at, row);
            at += w;
            place
        })
        .collect()
}

/// How many rows a legend from `x` to `right` takes.
fn legend_rows(x: f64, right: f64, items: &[(&str, &str)]) -> usize {
    legend_places(x, right, items).last().map_or(0, |p| p.3 + 1)
}

/// One series of a bar chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// One value per category.
    pub values: Vec<f64>,
    /// Its colour (one of [`PALETTE`]).
    pub color: &'static str,
}

/// Horizontal bars: one row per category, the series side by side (or stacked).
pub struct Bars<'a> {
    /// What the chart shows (the SVG title, for screen readers and tooltips).
    pub title: String,
    /// The category names, top to bottom.
    pub categories: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// Formats a value for its label.
    pub format: &'a dyn Fn(f64) -> String,
    /// Formats an axis tick.
    pub ticks: &'a dyn Fn(f64) -> String,
    /// The axis end (e.g. 1.0 for shares); default: the largest value, rounded up.
    pub axis_max: Option<f64>,
    /// Stack the series in one bar per category (for shares that add up).
    pub stacked: bool,
    /// The axis title, with its unit.
    pub axis_label: String,
}

impl Bars<'_> {
    /// The chart as an SVG element.
    pub fn svg(&self) -> String {
        let width = 760.0;
        let label_w = self
            .categories
            .iter()
            .map(|c| text_width(c, FONT))
            .fold(60.0, f64::max)
            .min(260.0)
            + 10.0;
        let k = self.series.len().max(1);
        let bar_h = if self.stacked { 18.0 } else { 13.0 };
        let row_h = if self.stacked {
            26.0
        } else {
            k as f64 * bar_h + 10.0
        };
        let x0 = label_w;
        let names: Vec<(&str, &str)> = self
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.color))
            .collect();
        let legend = if self.series.len() > 1 {
            legend_rows(x0, width, &names)
        } else {
            0
        };
        let top = 28.0 + 16.0 * legend.saturating_sub(1) as f64;
        let plot_h = row_h * self.categories.len() as f64;
        let height = top + plot_h + 38.0;
        let value_room = if self.stacked { 10.0 } else { 70.0 };
        let plot_w = width - x0 - value_room;
        let data_max = if self.stacked {
            (0..self.categories.len())
                .map(|c| {
                    self.series
                        .iter()
                        .map(|s| s.values.get(c).copied().unwrap_or(0.0).max(0.0))
                        .sum::<f64>()
                })
                .fold(0.0, f64::max)
        } else {
            self.series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0.0, f64::max)
        };
        let step = nice_step(self.axis_max.unwrap_or(data_max), 5);
        let axis_max = self
            .axis_max
            .unwrap_or_else(|| ((data_max / step).ceil() * step).max(step));
        let x = |v: f64| x0 + plot_w * (v.max(0.0) / axis_max).min(1.0);

        let mut svg = Svg::new(width, height, &self.title);
        if self.series.len() > 1 {
            svg.legend(x0, 14.0, width, &names);
        }
        // grid and axis
        let mut t = 0.0;
        while t <= axis_max * (1.0 + 1e-9) {
            svg.line(x(t), top, x(t), top + plot_h, "grid");
            svg.text(
                x(t),
                top + plot_h + 14.0,
                "middle",
                "tick",
                &(self.ticks)(t),
            );
            t += step;
        }
        svg.text(
            x0 + plot_w / 2.0,
            top + plot_h + 32.0,
            "middle",
            "axis",
            &self.axis_label,
        );
        for (c, name) in self.categories.iter().enumerate() {
            let y = top + c as f64 * row_h;
            svg.text(x0 - 8.0, y + row_h / 2.0 + 4.0, "end", "label", name);
            if self.stacked {
                let mut from = 0.0;
                for s in &self.series {
                    let v = s.values.get(c).copied().unwrap_or(0.0).max(0.0);
                    let (a, b) = (x(from), x(from + v));
                    let tip = format!("{name} · {}: {}", s.name, (self.format)(v));
                    svg.rect(a, y + 4.0, b - a, bar_h, s.color, &tip);
                    let label = (self.format)(v);
                    if b - a > text_width(&label, 11.0) + 6.0 {
                        svg.text(
                            (a + b) / 2.0,
                            y + 4.0 + bar_h - 5.0,
                            "middle",
                            "inbar",
                            &label,
                        );
                    }
                    from += v;
                }
            } else {
                for (i, s) in self.series.iter().enumerate() {
                    let v = s.values.get(c).copied().unwrap_or(0.0);
                    let by = y + 5.0 + i as f64 * bar_h;
                    let tip = format!("{name} · {}: {}", s.name, (self.format)(v));
                    svg.rect(x0, by, x(v) - x0, bar_h - 2.0, s.color, &tip);
                    svg.text(
                        x(v) + 4.0,
                        by + bar_h - 4.0,
                        "start",
                        "value",
                        &(self.format)(v),
                    );
                }
            }
        }
        svg.line(x0, top, x0, top + plot_h, "axisline");
        svg.finish()
    }
}

/// The Pareto (concentration) curve: cumulative revenue share against the share of
/// customers, largest first.
pub struct ParetoCurve<'a> {
    /// What the chart shows.
    pub title: String,
    /// (customer share, cumulative revenue share), both in 0..=1, starting at (0, 0).
    pub points: Vec<(f64, f64)>,
    /// Class boundaries: (customer share where the class ends, label such as "A | B").
    pub cuts: Vec<(f64, String)>,
    /// The marked point (customer share, revenue share) and its label.
    pub mark: Option<(f64, f64, String)>,
    /// Axis titles (x, y).
    pub axes: (String, String),
    /// Formats a share for the ticks.
    pub format: &'a dyn Fn(f64) -> String,
    /// The legend text of the equal-share diagonal.
    pub diagonal: String,
}

impl ParetoCurve<'_> {
    /// The chart as an SVG element.
    pub fn svg(&self) -> String {
        let (width, height) = (760.0, 420.0);
        let (x0, y0, pw, ph) = (64.0, 24.0, 660.0, 330.0);
        let x = |v: f64| x0 + pw * v.clamp(0.0, 1.0);
        let y = |v: f64| y0 + ph * (1.0 - v.clamp(0.0, 1.0));
        let mut svg = Svg::new(width, height, &self.title);
        for i in 0..=10 {
            let v = i as f64 / 10.0;
            svg.line(x(v), y0, x(v), y0 + ph, "grid");
            svg.line(x0, y(v), x0 + pw, y(v), "grid");
            if i % 2 == 0 {
                svg.text(x(v), y0 + ph + 16.0, "middle", "tick", &(self.format)(v));
                svg.text(x0 - 6.0, y(v) + 4.0, "end", "tick", &(self.format)(v));
            }
        }
        svg.line(x(0.0), y(0.0), x(1.0), y(1.0), "diagonal");
        svg.text(x(0.62), y(0.56), "start", "note", &self.diagonal);
        // the class areas, shaded alternately
        let mut from = 0.0;
        for (i, (at, label)) in self.cuts.iter().enumerate() {
            if i % 2 == 0 {
                svg.rect(
                    x(from),
                    y0,
                    x(*at) - x(from),
                    ph,
                    "rgba(0,114,178,0.06)",
                    "",
                );
            }
            svg.line(x(*at), y0, x(*at), y0 + ph, "cut");
            svg.text(x(*at) + 4.0, y0 + 14.0, "start", "note", label);
            from = *at;
        }
        let mut path = String::new();
        for (i, (px, py)) in self.points.iter().enumerate() {
            let _ = write!(
                path,
                "{}{} {}",
                if i == 0 { "M" } else { " L" },
                n(x(*px)),
                n(y(*py))
            );
        }
        let _ = write!(
            svg.out,
            r#"<path d="{path}" fill="none" stroke="{}" stroke-width="2.5"/>"#,
            PALETTE[0]
        );
        if let Some((mx, my, label)) = &self.mark {
            svg.line(x(*mx), y(0.0), x(*mx), y(*my), "markline");
            svg.line(x(0.0), y(*my), x(*mx), y(*my), "markline");
            let _ = write!(
                svg.out,
                r#"<circle cx="{}" cy="{}" r="5" fill="{}"/>"#,
                n(x(*mx)),
                n(y(*my)),
                PALETTE[3]
            );
            svg.text(x(*mx) + 10.0, y(*my) + 18.0, "start", "mark", label);
        }
        svg.axis_titles(
            (x0 + pw / 2.0, y0 + ph + 36.0),
            (16.0, y0 + ph / 2.0),
            &self.axes,
        );
        svg.finish()
    }
}

/// The viridis colour ramp at `t` in 0..=1 (dark purple to yellow), as `#rrggbb`, and whether
/// text on it should be white.
pub fn viridis(t: f64) -> (String, bool) {
    const STOPS: [(f64, f64, f64); 6] = [
        (68.0, 1.0, 84.0),
        (65.0, 68.0, 135.0),
        (42.0, 120.0, 142.0),
        (34.0, 168.0, 132.0),
        (122.0, 209.0, 81.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    let (r, g, bl) = (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2));
    let luminance =
        (0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(bl)) / 255.0;
    (format!("#{r:02x}{g:02x}{bl:02x}"), luminance < 0.5)
}

/// A grid of cells coloured by a value, each with lines of text.
#[derive(Debug, Clone)]
pub struct HeatMap {
    /// What the chart shows.
    pub title: String,
    /// Row names, top to bottom.
    pub rows: Vec<String>,
    /// Column names, left to right.
    pub columns: Vec<String>,
    /// The colour value of each cell, `[row][column]`.
    pub values: Vec<Vec<f64>>,
    /// The text lines of each cell, `[row][column]`.
    pub text: Vec<Vec<Vec<String>>>,
    /// Axis titles (columns, rows).
    pub axes: (String, String),
    /// The legend: what the colour shows.
    pub legend: String,
}

impl HeatMap {
    /// The chart as an SVG element.
    pub fn svg(&self) -> String {
        let cols = self.columns.len().max(1) as f64;
        // the row labels, then the row axis title left of them
        let label_w = self
            .rows
            .iter()
            .map(|r| text_width(r, FONT))
            .fold(0.0, f64::max);
        let (x0, y0) = ((label_w + 38.0).max(84.0), 30.0);
        let cell_w = (640.0 / cols).min(130.0);
        let cell_h = 50.0;
        let width = x0 + cell_w * cols + 20.0;
        let height = y0 + cell_h * self.rows.len() as f64 + 48.0;
        let max = self
            .values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let mut svg = Svg::new(width, height, &self.title);
        svg.text(x0, 16.0, "start", "note", &self.legend);
        for (r, name) in self.rows.iter().enumerate() {
            let y = y0 + r as f64 * cell_h;
            svg.text(x0 - 8.0, y + cell_h / 2.0 + 4.0, "end", "label", name);
            for c in 0..self.columns.len() {
                let x = x0 + c as f64 * cell_w;
                let v = self.values.get(r).and_then(|row| row.get(c)).copied();
                let v = v.unwrap_or(0.0);
                let (fill, white) = if max > 0.0 {
                    viridis(v / max)
                } else {
                    viridis(0.0)
                };
                let lines = self
                    .text
                    .get(r)
                    .and_then(|row| row.get(c))
                    .cloned()
                    .unwrap_or_default();
                svg.rect(
                    x + 1.0,
                    y + 1.0,
                    cell_w - 2.0,
                    cell_h - 2.0,
                    &fill,
                    &lines.join(" · "),
                );
                let class = if white { "cell light" } else { "cell" };
                let first = y + cell_h / 2.0 - 7.0 * (lines.len() as f64 - 1.0) + 4.0;
                for (k, line) in lines.iter().enumerate() {
                    svg.text(
                        x + cell_w / 2.0,
                        first + 14.0 * k as f64,
                        "middle",
                        class,
                        line,
                    );
                }
            }
        }
        let bottom = y0 + cell_h * self.rows.len() as f64;
        for (c, name) in self.columns.iter().enumerate() {
            let x = x0 + (c as f64 + 0.5) * cell_w;
            svg.text(x, bottom + 16.0, "middle", "label", name);
        }
        svg.axis_titles(
            (x0 + cell_w * cols / 2.0, bottom + 36.0),
            (14.0, y0 + cell_h * self.rows.len() as f64 / 2.0),
            &self.axes,
        );
        svg.finish()
    }
}

/// Histogram bins: `[edges[i], edges[i+1])` holds `counts[i]` values (the last bin is closed).
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    /// The bin edges, ascending, one more than the counts.
    pub edges: Vec<f64>,
    /// The values per bin.
    pub counts: Vec<u64>,
    /// Whether the edges grow geometrically (drawn on a log axis).
    pub log: bool,
    /// On a log axis, the values below the first edge, counted in the first bin (the axis
    /// starts near the 1st percentile, so a few tiny values do not stretch it).
    pub below: u64,
    /// Values left out: not positive on a log axis, or not finite.
    pub left_out: u64,
}

impl Bins {
    /// Bins for `values`: on a log axis with 1-2-5 edges when the data is positive and
    /// heavy-tailed (the 99th percentile over 20 times the median, or the largest value over
    /// 50 times: on a linear axis it would crowd the rest into the first bars), else about 30 equal bins
    /// with a round width (one per integer for small integer data). Non-finite values, and on
    /// the log axis values ≤ 0, are counted in `left_out`.
    pub fn new(values: &[f64]) -> Bins {
        Bins::with_floor(values, 0.0)
    }

    /// As [`Bins::new`], but a log axis starts no lower than `floor` (values below it are
    /// counted in the first bin): for amounts, where fractions of a unit do not matter.
    pub fn with_floor(values: &[f64], floor: f64) -> Bins {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let mut left_out = (values.len() - v.len()) as u64;
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Bins {
                edges: vec![0.0, 1.0],
                counts: vec![0],
                log: false,
                below: 0,
                left_out,
            };
        }
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        let positive = v.iter().filter(|&&x| x > 0.0).count();
        let median = q(0.5);
        let heavy = median > 0.0 && (q(0.99) > 20.0 * median || v[v.len() - 1] > 50.0 * median);
        // mostly positive values with a long tail: a log axis; the rest are counted
        if heavy && positive as f64 >= 0.95 * v.len() as f64 {
            left_out += (v.len() - positive) as u64;
            let pos = &v[v.len() - positive..];
            let p01 = pos[((pos.len() - 1) as f64 * 0.01).round() as usize];
            let (lo, hi) = (p01.max(floor).min(pos[pos.len() - 1]), pos[pos.len() - 1]);
            let mut e = floor_125(lo);
            let mut edges = vec![e];
            // 1-2-5 steps cover 1e-300..f64::MAX in under 2,000 edges
            while e <= hi && edges.len() < 2_000 {
                e = next_125(e);
                edges.push(e);
            }
            let below = pos.partition_point(|&x| x < edges[0]) as u64;
            let counts = count_into(pos, &edges);
            return Bins {
                edges,
                counts,
                log: true,
                below,
                left_out,
            };
        }
        let (lo, hi) = (v[0], v[v.len() - 1]);
        let integers = v.iter().all(|x| x.fract() == 0.0);
        let edges: Vec<f64> = if !integers && hi - lo <= lo.abs() * 1e-9 {
            // one value (or values equal to the last digits): one bin around it
            let w = (lo.abs() * 0.05).max(0.5);
            vec![lo - w, lo + w]
        } else if integers && hi - lo <= 40.0 {
            (0..=((hi - lo) as i64 + 1))
                .map(|i| lo - 0.5 + i as f64)
                .collect()
        } else {
            let step = nice_step((hi - lo).max(f64::MIN_POSITIVE), 30);
            let start = (lo / step).floor() * step;
            let k = (((hi - start) / step).floor() as usize + 1).max(1);
            (0..=k).map(|i| start + i as f64 * step).collect()
        };
        let counts = count_into(&v, &edges);
        Bins {
            edges,
            counts,
            log: false,
            below: 0,
            left_out,
        }
    }
}

/// The largest 1, 2 or 5 × 10ᵏ at most `x` (> 0; values below 1e-300 count as 1e-300).
fn floor_125(x: f64) -> f64 {
    let x = x.max(1e-300);
    let mag = 10f64.powi(x.log10().floor() as i32);
    let m = x / mag;
    if m >= 5.0 {
        5.0 * mag
    } else if m >= 2.0 {
        2.0 * mag
    } else {
        mag
    }
}

/// The next 1-2-5 number after `e` (itself one).
fn next_125(e: f64) -> f64 {
    let mag = 10f64.powi(e.log10().floor() as i32);
    match (e / mag).round() as i64 {
        1 => 2.0 * mag,
        2 => 5.0 * mag,
        _ => 10.0 * mag,
    }
}

/// Counts sorted values into the bins of `edges` (the last bin includes its upper edge).
fn count_into(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let bins = edges.len() - 1;
    let mut counts = vec![0u64; bins];
    for &x in sorted {
        let i = edges
            .partition_point(|&e| e <= x)
            .saturating_sub(1)
            .min(bins - 1);
        counts[i] += 1;
    }
    counts
}

/// A histogram of [`Bins`].
pub struct Histogram<'a> {
    /// What the chart shows.
    pub title: String,
    /// The bins.
    pub bins: &'a Bins,
    /// Axis titles (values with unit, customers).
    pub axes: (String, String),
    /// Formats an edge for the ticks.
    pub format: &'a dyn Fn(f64) -> String,
    /// Formats a count.
    pub count: &'a dyn Fn(f64) -> String,
}

impl Histogram<'_> {
    /// The chart as an SVG element.
    pub fn svg(&self) -> String {
        let (width, height) = (760.0, 300.0);
        let (x0, y0, pw, ph) = (64.0, 16.0, 670.0, 220.0);
        let b = self.bins;
        let (lo, hi) = (b.edges[0], b.edges[b.edges.len() - 1]);
        let scale = |v: f64| {
            if b.log {
                (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
            } else {
                (v - lo) / (hi - lo)
            }
        };
        let x = |v: f64| x0 + pw * scale(v).clamp(0.0, 1.0);
        let max = b.counts.iter().copied().max().unwrap_or(0) as f64;
        // counts: whole-number ticks
        let step = nice_step(max.max(1.0), 4).max(1.0);
        let top = ((max / step).ceil() * step).max(step);
        let y = |v: f64| y0 + ph * (1.0 - v / top);
        let mut svg = Svg::new(width, height, &self.title);
        let mut t = 0.0;
        while t <= top * (1.0 + 1e-9) {
            svg.line(x0, y(t), x0 + pw, y(t), "grid");
            svg.text(x0 - 6.0, y(t) + 4.0, "end", "tick", &(self.count)(t));
            t += step;
        }
        for (i, &c) in b.counts.iter().enumerate() {
            let (a, e) = (x(b.edges[i]), x(b.edges[i + 1]));
            let tip = format!(
                "{}–{}: {}",
                (self.format)(b.edges[i]),
                (self.format)(b.edges[i + 1]),
                (self.count)(c as f64)
            );
            svg.rect(
                a + 0.5,
                y(c as f64),
                e - a - 1.0,
                y(0.0) - y(c as f64),
                PALETTE[0],
                &tip,
            );
        }
        // tick labels at edges, thinned so they do not overlap
        let mut last = f64::NEG_INFINITY;
        let integer_bins = !b.log && b.edges.iter().all(|e| (e - 0.5).fract() == 0.0);
        for (i, &e) in b.edges.iter().enumerate() {
            let (at, label) = if integer_bins {
                if i + 1 == b.edges.len() {
                    continue;
                }
                (x(e + 0.5), (self.format)(e + 0.5))
            } else {
                (x(e), (self.format)(e))
            };
            let w = text_width(&label, 11.0);
            if at - w / 2.0 > last + 4.0 {
                svg.line(at, y0 + ph, at, y0 + ph + 4.0, "axisline");
                svg.text(at, y0 + ph + 16.0, "middle", "tick", &label);
                last = at + w / 2.0;
            }
        }
        svg.line(x0, y0 + ph, x0 + pw, y0 + ph, "axisline");
        svg.axis_titles(
            (x0 + pw / 2.0, y0 + ph + 38.0),
            (14.0, y0 + ph / 2.0),
            &self.axes,
        );
        svg.finish()
    }
}

impl std::fmt::Debug for Bars<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bars")
            .field("title", &self.title)
            .field("categories", &self.categories)
            .field("series", &self.series)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ParetoCurve<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParetoCurve")
            .field("title", &self.title)
            .field("points", &self.points.len())
            .field("cuts", &self.cuts)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Histogram<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("title", &self.title)
            .field("bins", &self.bins)
            .finish_non_exhaustive()
    }
}

/// One band of a [`Flow`]: from a left node to a right node.
#[derive(Debug, Clone)]
pub struct Band {
    /// The left node.
    pub from: usize,
    /// The right node.
    pub to: usize,
    /// Its size (customers).
    pub value: f64,
    /// Its colour.
    pub color: &'static str,
    /// Its tooltip.
    pub tip: String,
}

/// A flow (Sankey) chart of two columns: nodes on the left, nodes on the right, bands between
/// them as wide as what moved.
#[derive(Debug, Clone)]
pub struct Flow {
    /// What the chart shows.
    pub title: String,
    /// The left nodes' labels, top to bottom.
    pub left: Vec<String>,
    /// The right nodes' labels, top to bottom.
    pub right: Vec<String>,
    /// The bands.
    pub bands: Vec<Band>,
    /// The column titles (left, right).
    pub columns: (String, String),
    /// The legend: (name, colour).
    pub legend: Vec<(String, &'static str)>,
}

impl Flow {
    /// The chart as an SVG element.
    pub fn svg(&self) -> String {
        const MIN_NODE: f64 = 14.0;
        let label_w = |labels: &[String]| {
            labels
                .iter()
                .map(|l| text_width(l, FONT))
                .fold(40.0, f64::max)
                .min(220.0)
                + 10.0
        };
        let (lw, rw) = (label_w(&self.left), label_w(&self.right));
        let width = 760.0;
        let (top, node_w, gap) = (56.0, 14.0, 8.0);
        let plot_h = 340.0;
        let (x1, x2) = (lw, width - rw - node_w);
        let sums = |n: usize, side: &dyn Fn(&Band) -> usize| {
            let mut s = vec![0.0; n];
            for b in &self.bands {
                if let Some(v) = s.get_mut(side(b)) {
                    *v += b.value.max(0.0);
                }
            }
            s
        };
        let left = sums(self.left.len(), &|b| b.from);
        let right = sums(self.right.len(), &|b| b.to);
        let total = left.iter().sum::<f64>().max(right.iter().sum::<f64>());
        let gaps = |n: usize| gap * n.saturating_sub(1) as f64;
        let room = plot_h - gaps(self.left.len()).max(gaps(self.right.len()));
        let scale = if total > 0.0 { room / total } else { 0.0 };
        // a node takes at least a label's height, so small tiers' labels do not overlap
        let starts = |sizes: &[f64]| {
            let mut y = top;
            let at = sizes
                .iter()
                .map(|s| {
                    let at = y;
                    y += (s * scale).max(MIN_NODE) + gap;
                    at
                })
                .collect::<Vec<f64>>();
            (at, y)
        };
        let ((left_y, left_end), (right_y, right_end)) = (starts(&left), starts(&right));
        let height = left_end.max(right_end) + 12.0;
        let mut svg = Svg::new(width, height, &self.title);
        let items: Vec<(&str, &str)> = self.legend.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        svg.legend(x1, 14.0, width, &items);
        svg.text(x1, top - 14.0, "start", "axis", &self.columns.0);
        svg.text(x2 + node_w, top - 14.0, "end", "axis", &self.columns.1);
        // bands first, under the nodes; each node's bands stacked in the other side's order
        let (mut out_at, mut in_at) = (left_y.clone(), right_y.clone());
        let mut order: Vec<&Band> = self.bands.iter().filter(|b| b.value > 0.0).collect();
        order.sort_by_key(|b| (b.from, b.to));
        let mut placed: Vec<(&Band, f64)> = Vec::new();
        for b in &order {
            placed.push((b, out_at[b.from]));
            out_at[b.from] += b.value * scale;
        }
        placed.sort_by_key(|(b, _)| (b.to, b.from));
        let mid = (x1 + node_w + x2) / 2.0;
        for (b, ya) in placed {
            let h = b.value * scale;
            let yb = in_at[b.to];
            in_at[b.to] += h;
            let (xa, xb) = (x1 + node_w, x2);
            let _ = write!(
                svg.out,
                r#"<path d="M{} {}C{} {} {} {} {} {}L{} {}C{} {} {} {} {} {}Z" fill="{}" fill-opacity="0.45"><title>{}</title></path>"#,
                n(xa),
                n(ya),
                n(mid),
                n(ya),
                n(mid),
                n(yb),
                n(xb),
                n(yb),
                n(xb),
                n(yb + h),
                n(mid),
                n(yb + h),
                n(mid),
                n(ya + h),
                n(xa),
                n(ya + h),
                b.color,
                esc(&b.tip)
            );
        }
        for (i, label) in self.left.iter().enumerate() {
            let h = left[i] * scale;
            svg.rect(x1, left_y[i], node_w, h, "#52606d", label);
            svg.text(x1 - 6.0, left_y[i] + h / 2.0 + 4.0, "end", "label", label);
        }
        for (i, label) in self.right.iter().enumerate() {
            let h = right[i] * scale;
            svg.rect(x2, right_y[i], node_w, h, "#52606d", label);
            svg.text(
                x2 + node_w + 6.0,
                right_y[i] + h / 2.0 + 4.0,
                "start",
                "label",
                label,
            );
        }
        svg.finish()
    }
}

/// A funnel: one centred bar per step, its width the step's count against the first's, the
/// count in or beside the bar, and the next-step conversion between two steps.
pub struct FunnelChart<'a> {
    /// What the chart shows.
    pub title: String,
    /// Per step, top to bottom: its name and count.
    pub steps: Vec<(String, f64)>,
    /// Formats a count.
    pub format: &'a dyn Fn(f64) -> String,
    /// Formats a conversion share (between steps).
    pub rate: &'a dyn Fn(f64) -> String,
}

impl FunnelChart<'_> {
    /// The chart as an SVG element.
    pub fn svg(&self) -> String {
        let width = 760.0;
        let label_w = self
            .steps
            .iter()
            .map(|(name, _)| text_width(name, FONT))
            .fold(60.0, f64::max)
            .min(220.0)
            + 12.0;
        let (bar_h, gap) = (30.0, 20.0);
        let top = 10.0;
        let height = top + self.steps.len() as f64 * (bar_h + gap);
        let plot_w = width - label_w - 90.0;
        let centre = label_w + plot_w / 2.0;
        let first = self.steps.first().map_or(0.0, |(_, v)| *v).max(1.0);
        let mut svg = Svg::new(width, height, &self.title);
        for (i, (name, v)) in self.steps.iter().enumerate() {
            let y = top + i as f64 * (bar_h + gap);
            let w = (plot_w * v.max(0.0) / first).max(2.0);
            let label = (self.format)(*v);
            svg.text(label_w - 8.0, y + bar_h / 2.0 + 4.0, "end", "label", name);
            let color = PALETTE[i % PALETTE.len()];
            svg.rect(
                centre - w / 2.0,
                y,
                w,
                bar_h,
                color,
                &format!("{name}: {label}"),
            );
            if w > text_width(&label, 11.0) + 8.0 {
                svg.text(centre, y + bar_h / 2.0 + 4.0, "middle", "inbar", &label);
            } else {
                svg.text(
                    centre + w / 2.0 + 4.0,
                    y + bar_h / 2.0 + 4.0,
                    "start",
                    "value",
                    &label,
                );
            }
            if let Some((_, next)) = self.steps.get(i + 1)
                && *v > 0.0
            {
                let text = format!("↓ {}", (self.rate)(next / v));
                svg.text(centre, y + bar_h + gap / 2.0 + 5.0, "middle", "note", &text);
            }
        }
        svg.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_five() {
        assert_eq!(nice_step(1.0, 5), 0.2);
        assert_eq!(nice_step(730.0, 5), 200.0);
        assert_eq!(nice_step(0.33, 5), 0.1);
        assert_eq!(nice_step(0.0, 5), 1.0);
    }

    #[test]
    fn text_is_escaped_and_measured() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(text_width("ab", 10.0), 12.0);
        assert_eq!(text_width("客户", 10.0), 20.0);
    }

    #[test]
    fn small_integer_data_gets_one_bin_per_value() {
        let b = Bins::new(&[1.0, 1.0, 2.0, 5.0, f64::NAN]);
        assert!(!b.log);
        assert_eq!(b.edges, vec![0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
        assert_eq!(b.counts, vec![2, 1, 0, 0, 1]);
        assert_eq!(b.left_out, 1);
    }

    #[test]
    fn heavy_tails_get_a_log_axis_with_one_two_five_edges() {
        // median 10, 99th percentile 5000: heavy-tailed
        let mut v = vec![10.0; 98];
        v.extend([3.0, 5000.0, 7000.0, 0.0]);
        let b = Bins::new(&v);
        assert!(b.log);
        // the axis starts at the 1st percentile (10); the 3 is counted in the first bin
        assert_eq!(b.edges.first(), Some(&10.0));
        assert_eq!(b.edges.last(), Some(&10_000.0));
        assert!(b.edges.windows(2).all(|w| w[0] < w[1]));
        // the 0 is left out, every other value is in a bin
        assert_eq!(b.left_out, 1);
        assert_eq!(b.below, 1);
        assert_eq!(b.counts.iter().sum::<u64>(), 101);
        // 10 falls in [10, 20), with the 3 below it
        assert_eq!(b.counts[0], 99);
    }

    #[test]
    fn a_few_tiny_values_do_not_stretch_the_log_axis() {
        // 1,000 values from 100 to 1e6, plus 5 near zero
        let mut v: Vec<f64> = (0..1000)
            .map(|i| 100.0 * 10f64.powf(i as f64 / 250.0))
            .collect();
        v.extend([1e-9, 1e-6, 1e-3, 0.01, 0.1]);
        let b = Bins::new(&v);
        assert!(b.log);
        assert_eq!(b.edges[0], 100.0);
        assert_eq!(b.below, 5);
        // they are counted in the first bin, not lost
        assert_eq!(b.counts.iter().sum::<u64>(), 1005);
    }

    #[test]
    fn one_repeated_value_gets_one_bin() {
        let b = Bins::new(&[99.9, 99.9, 99.9]);
        assert_eq!(b.counts, vec![3]);
        assert!(b.edges[0] < 99.9 && b.edges[1] > 99.9, "{:?}", b.edges);
        let b = Bins::new(&[7.0]);
        assert_eq!(
            (b.edges.clone(), b.counts.clone()),
            (vec![6.5, 7.5], vec![1])
        );
        let h = Histogram {
            title: "t".into(),
            bins: &b,
            axes: ("x".into(), "y".into()),
            format: &|v| format!("{v}"),
            count: &|v| format!("{v}"),
        }
        .svg();
        assert!(!h.contains("NaN") && !h.contains("inf"), "{h}");
        // a count of 1: ticks 0 and 1, not 0, 0.5, 1
        assert_eq!(h.matches("class=\"tick\">0<").count(), 1);
    }

    #[test]
    fn log_bins_stop_on_extreme_values() {
        let b = Bins::new(&[1e-320, 1e-310, 1.0, 1e300]);
        assert!(b.log);
        assert!(b.edges.len() <= 2_001);
        assert!(b.edges.iter().all(|e| e.is_finite() && *e > 0.0));
        assert_eq!(b.counts.iter().sum::<u64>(), 4);
    }

    #[test]
    fn linear_bins_cover_the_data() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.37).collect();
        let b = Bins::new(&v);
        assert!(!b.log);
        assert!(b.edges[0] <= 0.0 && b.edges.last().is_some_and(|&e| e >= 369.63));
        assert_eq!(b.counts.iter().sum::<u64>(), 1000);
        assert!((12..=31).contains(&b.counts.len()), "{}", b.counts.len());
    }

    #[test]
    fn viridis_ends_and_text_contrast() {
        assert_eq!(viridis(0.0), ("#440154".into(), true));
        assert_eq!(viridis(1.0), ("#fde725".into(), false));
    }

    #[test]
    fn bars_draw_one_rect_per_value() {
        let f = |v: f64| format!("{:.0}%", v * 100.0);
        let chart = Bars {
            title: "t <1>".into(),
            categories: vec!["重要价值客户".into(), "b".into()],
            series: vec![
                Series {
                    name: "customers".into(),
                    values: vec![0.25, 0.75],
                    color: PALETTE[0],
                },
                Series {
                    name: "revenue".into(),
                    values: vec![0.6, 0.4],
                    color: PALETTE[1],
                },
            ],
            format: &f,
            ticks: &f,
            axis_max: Some(1.0),
            stacked: false,
            axis_label: "share".into(),
        }
        .svg();
        assert!(chart.starts_with("<svg"));
        assert!(chart.contains("<title>t &lt;1&gt;</title>"));
        assert_eq!(chart.matches("<rect").count(), 4 + 2); // bars and legend
        assert!(chart.contains(">75%<"));
    }

    #[test]
    fn a_flow_band_is_as_wide_as_what_moved() {
        let band = |from, to, value| Band {
            from,
            to,
            value,
            color: PALETTE[0],
            tip: String::new(),
        };
        let flow = Flow {
            title: "t".into(),
            left: vec!["a".into(), "b".into()],
            right: vec!["x".into()],
            bands: vec![band(0, 0, 30.0), band(1, 0, 10.0)],
            columns: ("before".into(), "after".into()),
            legend: Vec::new(),
        };
        let svg = flow.svg();
        assert!(!svg.contains("NaN"), "{svg}");
        // the plot's 340 px hold 40 customers less one 8 px gap: 8.3 px each
        let heights: Vec<f64> = svg
            .split("<rect ")
            .skip(1)
            .filter(|r| r.contains("#52606d"))
            .map(|r| {
                let h = r.split("height=\"").nth(1).expect("height");
                h[..h.find('"').expect("end")].parse().expect("number")
            })
            .collect();
        assert_eq!(heights, [249.0, 83.0, 332.0]);
        // nothing moved: no bands, and no division by zero
        let empty = Flow {
            bands: vec![band(0, 0, 0.0)],
            ..flow
        };
        assert!(!empty.svg().contains("NaN"));
    }

    #[test]
    fn a_legend_wider_than_the_chart_wraps_onto_more_rows() {
        let items: Vec<(&str, &str)> = (0..7).map(|_| ("High value at risk", PALETTE[0])).collect();
        let places = legend_places(100.0, 760.0, &items);
        assert!(legend_rows(100.0, 760.0, &items) > 1);
        for (name, _, x, _) in places {
            assert!(x + 14.0 + text_width(name, FONT) <= 760.0, "{x}");
        }
        assert_eq!(legend_rows(100.0, 760.0, &items[..1]), 1);
    }
}
