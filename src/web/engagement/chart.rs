//! A KPI's series as an inline SVG chart for the engagement page, drawn on the server so the
//! page needs no script: the reported values joined by a line (broken where a period has
//! no value), the target as a dashed line or a shaded band, and each value marked by its
//! status with a colour **and** a shape (● on track, ▲ at risk, ✖ off track, ○ no data),
//! so colour is never the only signal. Axis labels are written as the reader's language
//! writes numbers and dates; the `<svg>` carries `role="img"`, an `aria-label` summing the
//! chart up and a `<desc>` listing every value for screen readers.
//!
//! The drawing is 360 units wide with 13-unit labels and the page caps its width at 27rem,
//! so labels render between 12 px (a 390 px phone) and 16 px (a desktop). A KPI without any
//! reported value gets a sentence saying so instead of empty axes.
//!
//! Pure: the words (status names, the summary) come from the caller, already translated.

use std::fmt::Write;

use chrono::NaiveDate;

use crate::domain::{
    enums::{KpiUnit, Language},
    evaluation::Status,
    scale,
};

pub const WIDTH: f64 = 360.0;
pub const HEIGHT: f64 = 180.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;
/// The labels' size in drawing units: at the narrowest the page shows a chart (about
/// 330 px on a 390 px phone) it renders at 12 px.
pub const LABEL_SIZE: f64 = 13.0;

/// Colours of the page's palette (`veedor.css`), readable on white.
fn colour(status: Status) -> &'static str {
    match status {
        Status::Green => "#1e6b35",
        Status::Amber => "#8a5300",
        Status::Red => "#b3261e",
        Status::Grey => "#4f5b66",
    }
}

const TARGET_COLOUR: &str = "#1f4e79";
const LINE_COLOUR: &str = "#37474f";
const GRID_COLOUR: &str = "#d5dbe1";
const LABEL_COLOUR: &str = "#5a6470";

/// One period of the series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub period_start: NaiveDate,
    pub value: Option<f64>,
    pub status: Status,
}

/// What the chart draws.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Makes the element ids unique on the page (say, the KPI's id).
    pub id: &'a str,
    pub points: &'a [Point],
    pub target: f64,
    /// The upper edge of a band target.
    pub target_upper: Option<f64>,
    pub unit: KpiUnit,
    /// The engagement's currency, for `currency_minor` KPIs.
    pub currency: &'a str,
    pub language: Language,
}

/// The translated words a chart needs.
#[derive(Debug, Clone)]
pub struct Words {
    /// One sentence describing the chart (its `aria-label` and `<title>`).
    pub summary: String,
    /// The status names, indexed as [`status_index`].
    pub statuses: [String; 4],
    /// What the chart says instead when nothing was reported yet.
    pub empty: String,
}

/// Position of `status` in [`Words::statuses`]: grey, green, amber, red.
pub fn status_index(status: Status) -> usize {
    match status {
        Status::Grey => 0,
        Status::Green => 1,
        Status::Amber => 2,
        Status::Red => 3,
    }
}

/// A KPI value in its unit, as `language` writes it (`currency_minor` values are cents).
pub fn format_value(value: f64, unit: KpiUnit, currency: &str, decimals: usize, language: Language) -> String {
    crate::present::format::kpi_value_with(value, unit, currency, decimals, language)
}

/// Escapes text for SVG (XML) content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Braces are written as references so no text on a page reads as a placeholder.
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            c => out.push(c),
        }
    }
    out
}

/// Maps values and period indexes to pixels.
struct Frame {
    lo: f64,
    hi: f64,
    n: usize,
}

impl Frame {
    fn x(&self, i: usize) -> f64 {
        let width = WIDTH - LEFT - RIGHT;
        if self.n <= 1 { LEFT + width / 2.0 } else { LEFT + width * i as f64 / (self.n - 1) as f64 }
    }

    fn y(&self, v: f64) -> f64 {
        let height = HEIGHT - TOP - BOTTOM;
        TOP + height * (1.0 - (v - self.lo) / (self.hi - self.lo).max(f64::EPSILON))
    }

    fn bottom(&self) -> f64 {
        HEIGHT - BOTTOM
    }
}

/// The chart as an `<svg>` element, ready to be placed in a page; without any reported value,
/// a paragraph saying there is no data yet.
pub fn svg(chart: &Chart, words: &Words) -> String {
    let id = escape(chart.id);
    if !chart.points.iter().any(|p| p.value.is_some_and(f64::is_finite)) {
        return format!(
            r#"<p class="chart-empty" data-chart="{id}" role="img" aria-label="{}"><span aria-hidden="true">○</span> {}</p>"#,
            escape(&words.summary),
            escape(&words.empty)
        );
    }
    let frame = frame(chart);
    let mut out = String::with_capacity(4096);
    let summary = escape(&words.summary);
    let _ = write!(
        out,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{summary}" aria-describedby="chart-{id}-desc" data-chart="{id}">"#
    );
    let _ = write!(out, "<title>{summary}</title>");
    let _ = write!(out, r#"<desc id="chart-{id}-desc">{}</desc>"#, escape(&description(chart, words)));
    grid(&mut out, chart, &frame);
    target(&mut out, chart, &frame);
    lines(&mut out, chart, &frame);
    points(&mut out, chart, &frame, words);
    x_labels(&mut out, chart, &frame);
    out.push_str("</svg>");
    out
}

fn frame(chart: &Chart) -> Frame {
    let values = chart.points.iter().filter_map(|p| p.value).chain([chart.target]).chain(chart.target_upper);
    let (lo, hi) = scale::axis_range(values);
    Frame { lo, hi, n: chart.points.len() }
}

/// Every value, for screen readers: `01/03/2026: 2,4 % (at risk); …`.
fn description(chart: &Chart, words: &Words) -> String {
    chart.points.iter().map(|p| point_text(chart, words, p)).collect::<Vec<_>>().join("; ")
}

fn point_text(chart: &Chart, words: &Words, p: &Point) -> String {
    let date = crate::present::format::date(p.period_start, chart.language);
    let status = &words.statuses[status_index(p.status)];
    match p.value {
        Some(v) => format!("{date}: {} ({status})", format_value(v, chart.unit, chart.currency, 2, chart.language)),
        None => format!("{date}: {status}"),
    }
}

fn grid(out: &mut String, chart: &Chart, f: &Frame) {
    let decimals = if (f.hi - f.lo) < 10.0 { 2 } else { 0 };
    out.push_str(r#"<g class="grid" aria-hidden="true">"#);
    for value in [f.lo, (f.lo + f.hi) / 2.0, f.hi] {
        let y = f.y(value);
        let label = escape(&format_value(value, chart.unit, chart.currency, decimals, chart.language));
        let _ = write!(
            out,
            r#"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{GRID_COLOUR}" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="{LABEL_SIZE}" fill="{LABEL_COLOUR}">{label}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.5,
        );
    }
    out.push_str("</g>");
}

fn target(out: &mut String, chart: &Chart, f: &Frame) {
    let (x1, x2) = (LEFT, WIDTH - RIGHT);
    match chart.target_upper {
        Some(upper) => {
            let (top, bottom) = (f.y(upper), f.y(chart.target));
            let _ = write!(
                out,
                r#"<rect class="target-band" x="{x1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{TARGET_COLOUR}" fill-opacity="0.12" stroke="{TARGET_COLOUR}" stroke-dasharray="6 4"/>"#,
                x2 - x1,
                (bottom - top).max(1.0),
            );
        }
        None => {
            let y = f.y(chart.target);
            let _ = write!(
                out,
                r#"<line class="target-line" x1="{x1}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 4"/>"#
            );
        }
    }
}

/// The reported values joined; a period without a value breaks the line.
fn lines(out: &mut String, chart: &Chart, f: &Frame) {
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, p) in chart.points.iter().enumerate() {
        match p.value {
            Some(v) if v.is_finite() => segments.last_mut().into_iter().for_each(|s| s.push((f.x(i), f.y(v)))),
            _ => segments.push(Vec::new()),
        }
    }
    for segment in segments.iter().filter(|s| s.len() > 1) {
        let coords: Vec<String> = segment.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            out,
            r#"<polyline class="series" points="{}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>"#,
            coords.join(" ")
        );
    }
}

/// Each period's mark: a shape per status, with its own tooltip.
fn points(out: &mut String, chart: &Chart, f: &Frame, words: &Words) {
    for (i, p) in chart.points.iter().enumerate() {
        let x = f.x(i);
        let title = escape(&point_text(chart, words, p));
        let value = p.value.filter(|v| v.is_finite());
        let status = if value.is_none() { Status::Grey } else { p.status };
        let _ = write!(out, r#"<g class="point status-{status}" data-status="{status}"><title>{title}</title>"#);
        let c = colour(status);
        match (status, value) {
            (Status::Green, Some(v)) => {
                let _ = write!(out, r#"<circle cx="{x:.1}" cy="{:.1}" r="5" fill="{c}"/>"#, f.y(v));
            }
            (Status::Amber, Some(v)) => {
                let y = f.y(v);
                let _ = write!(
                    out,
                    r#"<path d="M{x:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z" fill="{c}"/>"#,
                    y - 6.5,
                    x + 6.0,
                    y + 4.5,
                    x - 6.0,
                    y + 4.5
                );
            }
            (Status::Red, Some(v)) => {
                let y = f.y(v);
                let (a, b, c1, d) = (x - 5.0, y - 5.0, x + 5.0, y + 5.0);
                let _ = write!(
                    out,
                    r#"<path d="M{a:.1},{b:.1} L{c1:.1},{d:.1} M{c1:.1},{b:.1} L{a:.1},{d:.1}" stroke="{c}" stroke-width="3" stroke-linecap="round" fill="none"/>"#
                );
            }
            // Nothing reported: a hollow ring on the bottom edge.
            _ => {
                let _ = write!(
                    out,
                    r##"<circle cx="{x:.1}" cy="{:.1}" r="4" fill="#fff" stroke="{c}" stroke-width="2"/>"##,
                    f.bottom()
                );
            }
        }
        out.push_str("</g>");
    }
}

/// The first, middle and last periods; month and year once the series spans a few months.
fn x_labels(out: &mut String, chart: &Chart, f: &Frame) {
    let (Some(first), Some(last)) = (chart.points.first(), chart.points.last()) else { return };
    let span = (last.period_start - first.period_start).num_days();
    let label = |d: NaiveDate| {
        escape(&if span > 120 {
            crate::present::format::month_year(d, chart.language)
        } else {
            crate::present::format::day_month(d, chart.language)
        })
    };
    let n = chart.points.len();
    let mut shown = vec![(0, "start")];
    if n >= 5 {
        shown.push((n / 2, "middle"));
    }
    if n > 1 {
        shown.push((n - 1, "end"));
    }
    let y = HEIGHT - 8.0;
    out.push_str(r#"<g class="x-labels" aria-hidden="true">"#);
    for (i, anchor) in shown {
        let text = label(chart.points[i].period_start);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{LABEL_SIZE}" fill="{LABEL_COLOUR}">{text}</text>"#,
            f.x(i)
        );
    }
    out.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, 1).unwrap()
    }

    fn points() -> Vec<Point> {
        vec![
            Point { period_start: d(1), value: Some(1200.5), status: Status::Red },
            Point { period_start: d(2), value: Some(1450.0), status: Status::Amber },
            Point { period_start: d(3), value: None, status: Status::Grey },
            Point { period_start: d(4), value: Some(1620.0), status: Status::Green },
            Point { period_start: d(5), value: Some(1700.0), status: Status::Green },
            Point { period_start: d(6), value: Some(1710.0), status: Status::Green },
        ]
    }

    fn words() -> Words {
        Words {
            summary: "Alcance <mensual> & más".into(),
            statuses: ["Sin datos".into(), "En objetivo".into(), "En riesgo".into(), "Fuera de objetivo".into()],
            empty: "Aún no hay datos".into(),
        }
    }

    fn chart<'a>(points: &'a [Point], language: Language) -> Chart<'a> {
        Chart { id: "k1", points, target: 1500.0, target_upper: None, unit: KpiUnit::Count, currency: "EUR", language }
    }

    #[test]
    fn each_status_has_its_own_shape_and_colour() {
        let pts = points();
        let svg = svg(&chart(&pts, Language::Es), &words());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        let mark = |status: &str| {
            let start = svg.find(&format!(r#"<g class="point status-{status}""#)).unwrap();
            let end = start + svg[start..].find("</g>").unwrap();
            svg[start..end].to_string()
        };
        assert!(mark("green").contains("<circle") && mark("green").contains(colour(Status::Green)));
        assert!(mark("amber").contains(" Z\"") && mark("amber").contains(colour(Status::Amber)), "a triangle");
        assert!(mark("red").contains(" M") && mark("red").contains(colour(Status::Red)), "a cross");
        assert!(mark("grey").contains(r##"fill="#fff""##), "a hollow ring");
        assert_eq!(svg.matches(r#"data-status="green""#).count(), 3);
    }

    #[test]
    fn the_line_breaks_where_a_period_has_no_value_and_the_target_is_drawn() {
        let pts = points();
        let svg = svg(&chart(&pts, Language::En), &words());
        assert_eq!(svg.matches("<polyline").count(), 2, "two segments around the gap");
        assert!(svg.contains(r#"class="target-line""#) && svg.contains("stroke-dasharray"));
        let band = Chart { target: 1400.0, target_upper: Some(1600.0), ..chart(&pts, Language::En) };
        let svg = super::svg(&band, &words());
        assert!(svg.contains(r#"class="target-band""#) && !svg.contains("target-line"));
    }

    #[test]
    fn labels_follow_the_language_and_text_is_escaped() {
        let pts = points();
        let es = svg(&chart(&pts, Language::Es), &words());
        assert!(es.contains(">01/2026<") && es.contains(">06/2026<"), "month and year in Spanish: {es}");
        assert!(es.contains("01/01/2026: 1.200,5 (Fuera de objetivo)"), "values in the description");
        assert!(es.contains("aria-label=\"Alcance &lt;mensual&gt; &amp; más\""));
        assert!(!es.contains("<mensual>"));
        let en = svg(&chart(&pts, Language::En), &words());
        assert!(en.contains(">Jan 2026<") && en.contains(">Jun 2026<"));
        assert!(en.contains("Jan 1, 2026: 1,200.5"));
        assert!(en.contains(">2,000<") || en.contains(">1,500<"), "grouped axis labels: {en}");
    }

    #[test]
    fn units_are_written_with_the_value() {
        assert_eq!(format_value(12.5, KpiUnit::Percent, "EUR", 1, Language::Es), "12,5\u{a0}%");
        assert_eq!(format_value(12.5, KpiUnit::Percent, "EUR", 1, Language::En), "12.5%");
        assert_eq!(format_value(123_456.0, KpiUnit::CurrencyMinor, "EUR", 2, Language::Es), "1.234,56\u{a0}€");
        assert_eq!(format_value(2.0, KpiUnit::Hours, "EUR", 1, Language::En), "2\u{a0}h");
        assert_eq!(format_value(0.25, KpiUnit::Ratio, "EUR", 0, Language::En), "0.25");
    }

    #[test]
    fn a_kpi_without_data_says_so_instead_of_drawing_empty_axes() {
        for pts in [vec![], vec![Point { period_start: d(1), value: None, status: Status::Grey }]] {
            let empty = svg(&chart(&pts, Language::Es), &words());
            assert!(empty.starts_with("<p class=\"chart-empty\"") && empty.contains("Aún no hay datos"), "{empty}");
            assert!(!empty.contains("<svg") && !empty.contains("<line"), "no axes: {empty}");
        }
    }

    #[test]
    fn labels_are_large_enough_to_read_on_a_phone() {
        let pts = points();
        let svg = svg(&chart(&pts, Language::Es), &words());
        assert!(!svg.contains("font-size=\"11\""));
        // The narrowest chart on a 390 px phone is about 330 px wide.
        let rendered = LABEL_SIZE * 330.0 / WIDTH;
        assert!(rendered >= 11.0, "{rendered} px");
        assert_eq!(svg.matches(&format!("font-size=\"{LABEL_SIZE}\"")).count(), 6, "three values, three dates");
    }

    #[test]
    fn single_point_series_still_render() {
        let one = [Point { period_start: d(1), value: Some(3.0), status: Status::Green }];
        let svg = svg(&chart(&one, Language::Es), &words());
        assert!(svg.contains(r#"data-status="green""#) && !svg.contains("<polyline"));
    }
}
