//! KPI charts for emails: a small PNG per KPI (mail clients show PNG everywhere; SVG
//! nowhere). plotters draws the series, the target and each value's status, by colour and by
//! shape (a circle on target, a triangle at risk, a square off target), so that a reader who
//! does not tell the colours apart still can; the axis labels carry the KPI's unit, and a KPI
//! without any value says so instead of showing empty axes. The labels are drawn with ab_glyph
//! and the bundled DejaVu Sans, so no system font library is needed (plotters' own text needs
//! fontconfig).

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use chrono::NaiveDate;
use plotters::prelude::*;

use crate::{
    domain::{
        enums::{KpiUnit, Language},
        evaluation::Status,
    },
    present::{format as locale, text},
};

pub const WIDTH: u32 = 480;
pub const HEIGHT: u32 = 150;
const LEFT: u32 = 56;
const BOTTOM: u32 = 20;
const TOP: u32 = 8;
const RIGHT: u32 = 12;

static FONT: LazyLock<Option<FontRef<'static>>> =
    LazyLock::new(|| FontRef::try_from_slice(include_bytes!("../../assets/fonts/DejaVuSans.ttf")).ok());

/// One KPI's series, oldest first.
#[derive(Debug, Clone)]
pub struct ChartInput<'a> {
    pub points: &'a [(NaiveDate, Option<f64>, Status)],
    pub target: f64,
    /// The upper bound of a band target.
    pub target_upper: Option<f64>,
    /// The axis labels are values in this unit (`12 %`, `1.500,00 €`, `45 min`).
    pub unit: KpiUnit,
    pub currency: &'a str,
    pub language: Language,
}

/// How a status is drawn besides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Triangle,
    Square,
    Ring,
}

pub fn marker(status: Status) -> Marker {
    match status {
        Status::Green => Marker::Circle,
        Status::Amber => Marker::Triangle,
        Status::Red => Marker::Square,
        Status::Grey => Marker::Ring,
    }
}

pub fn colour(status: Status) -> RGBColor {
    match status {
        Status::Green => RGBColor(0x2e, 0x7d, 0x32),
        Status::Amber => RGBColor(0xb2, 0x6a, 0x00),
        Status::Red => RGBColor(0xc6, 0x28, 0x28),
        Status::Grey => RGBColor(0x9e, 0x9e, 0x9e),
    }
}

/// The chart as PNG bytes.
pub fn render(input: &ChartInput) -> anyhow::Result<Vec<u8>> {
    let (w, h) = (WIDTH, HEIGHT);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    let (y_min, y_max) = y_range(input);
    let n = input.points.len().max(2);
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let plot = root.margin(TOP, BOTTOM, LEFT, RIGHT);
        let mut chart = ChartBuilder::on(&plot).build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y_min..y_max)?;
        let grid = RGBColor(0xe0, 0xe0, 0xe0);
        for i in 0..=2 {
            let y = y_min + (y_max - y_min) * f64::from(i) / 2.0;
            chart.draw_series(LineSeries::new([(-0.5, y), (n as f64 - 0.5, y)], grid.stroke_width(1)))?;
        }
        let target_colour = RGBColor(0x1f, 0x4e, 0x79);
        match input.target_upper {
            Some(upper) => {
                let band = target_colour.mix(0.12).filled();
                chart.draw_series([Rectangle::new([(-0.5, input.target), (n as f64 - 0.5, upper)], band)])?;
            }
            None => {
                let line = [(-0.5, input.target), (n as f64 - 0.5, input.target)];
                chart.draw_series(DashedLineSeries::new(line, 6, 4, target_colour.stroke_width(2)))?;
            }
        }
        // A gap (a period without a value) breaks the line.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let line = RGBColor(0x37, 0x47, 0x4f);
        for (i, (_, value, _)) in input.points.iter().enumerate() {
            match value {
                Some(v) => segment.push((i as f64, *v)),
                None if !segment.is_empty() => {
                    chart.draw_series(LineSeries::new(std::mem::take(&mut segment), line.stroke_width(2)))?;
                }
                None => {}
            }
        }
        if !segment.is_empty() {
            chart.draw_series(LineSeries::new(segment, line.stroke_width(2)))?;
        }
        for (i, (_, value, status)) in input.points.iter().enumerate() {
            let Some(v) = value else { continue };
            let at = (i as f64, *v);
            let c = colour(*status);
            match marker(*status) {
                Marker::Circle => {
                    chart.draw_series([Circle::new(at, 4, c.filled())])?;
                }
                Marker::Triangle => {
                    chart.draw_series([TriangleMarker::new(at, 6, c.filled())])?;
                }
                Marker::Square => {
                    chart.draw_series([EmptyElement::at(at) + Rectangle::new([(-4, -4), (4, 4)], c.filled())])?;
                }
                Marker::Ring => {
                    chart.draw_series([Circle::new(at, 4, c.stroke_width(2))])?;
                }
            }
        }
        root.present()?;
    }
    if input.points.iter().all(|p| p.1.is_none()) {
        no_data(&mut rgb, input.language);
    } else {
        label_axes(&mut rgb, input, (y_min, y_max));
    }
    encode(&rgb, w, h)
}

/// The value range shown: the values and the target, widened to round numbers.
fn y_range(input: &ChartInput) -> (f64, f64) {
    let values = input.points.iter().filter_map(|p| p.1).chain([input.target]).chain(input.target_upper);
    crate::domain::scale::axis_range(values)
}

fn label_axes(rgb: &mut [u8], input: &ChartInput, (y_min, y_max): (f64, f64)) {
    let Some(font) = FONT.as_ref() else { return };
    let grey = [0x61, 0x61, 0x61];
    let plot_h = (HEIGHT - TOP - BOTTOM) as f32;
    for (i, value) in [y_max, (y_min + y_max) / 2.0, y_min].into_iter().enumerate() {
        let y = TOP as f32 + plot_h * i as f32 / 2.0 + 4.0;
        let decimals = if (y_max - y_min) < 10.0 { 2 } else { 0 };
        let text = locale::kpi_value_with(value, input.unit, input.currency, decimals, input.language);
        draw_text(rgb, font, (LEFT - 6) as f32, y, 11.0, &text, grey, Align::Right);
    }
    let baseline = (HEIGHT - 5) as f32;
    // Day and month for weeks; month and year once the series spans a few months.
    let span = match (input.points.first(), input.points.last()) {
        (Some(first), Some(last)) => (last.0 - first.0).num_days(),
        _ => 0,
    };
    let label = |d: NaiveDate| {
        if span > 120 { locale::month_year(d, input.language) } else { locale::day_month(d, input.language) }
    };
    if let Some((first, ..)) = input.points.first() {
        let text = label(*first);
        draw_text(rgb, font, LEFT as f32, baseline, 11.0, &text, grey, Align::Left);
    }
    if input.points.len() > 1
        && let Some((last, ..)) = input.points.last()
    {
        let text = label(*last);
        draw_text(rgb, font, (WIDTH - RIGHT) as f32, baseline, 11.0, &text, grey, Align::Right);
    }
}

/// A KPI without any value: a blank chart that says so, not empty axes.
fn no_data(rgb: &mut [u8], language: Language) {
    let Some(font) = FONT.as_ref() else { return };
    rgb.fill(255);
    let message = text("no_data_yet", language, &[]);
    let scaled = font.as_scaled(PxScale::from(14.0));
    let width: f32 = message.chars().map(|c| scaled.h_advance(scaled.glyph_id(c))).sum();
    let x = (WIDTH as f32 - width) / 2.0;
    draw_text(rgb, font, x, HEIGHT as f32 / 2.0 + 5.0, 14.0, &message, [0x61, 0x61, 0x61], Align::Left);
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// Draws `text` with its baseline at `y`, blending onto the RGB buffer.
#[allow(clippy::too_many_arguments)]
fn draw_text(rgb: &mut [u8], font: &FontRef, x: f32, y: f32, size: f32, text: &str, colour: [u8; 3], align: Align) {
    let scaled = font.as_scaled(PxScale::from(size));
    let glyphs: Vec<_> = text.chars().map(|c| scaled.glyph_id(c)).collect();
    let width: f32 = glyphs.iter().map(|g| scaled.h_advance(*g)).sum();
    let mut caret = if align == Align::Right { x - width } else { x };
    for id in glyphs {
        let glyph = id.with_scale_and_position(scaled.scale(), ab_glyph::point(caret, y));
        caret += scaled.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else { continue };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px < 0 || py < 0 || px >= i64::from(WIDTH) || py >= i64::from(HEIGHT) {
                return;
            }
            let at = ((py as usize) * WIDTH as usize + px as usize) * 3;
            for (c, target) in colour.iter().enumerate() {
                let base = f32::from(rgb[at + c]);
                rgb[at + c] = (base + (f32::from(*target) - base) * coverage.clamp(0.0, 1.0)).round() as u8;
            }
        });
    }
}

fn encode(rgb: &[u8], w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(16 * 1024);
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Vec<(NaiveDate, Option<f64>, Status)> {
        let d = |m: u32| NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
        vec![
            (d(1), Some(1200.0), Status::Red),
            (d(2), Some(1450.0), Status::Amber),
            (d(3), None, Status::Grey),
            (d(4), Some(1620.0), Status::Green),
        ]
    }

    fn input(points: &[(NaiveDate, Option<f64>, Status)], language: Language) -> ChartInput<'_> {
        ChartInput { points, target: 1500.0, target_upper: None, unit: KpiUnit::Count, currency: "EUR", language }
    }

    /// Pixels of `c`, as a set of (x, y).
    fn pixels_of(pixels: &[u8], c: RGBColor) -> Vec<(usize, usize)> {
        pixels
            .chunks(3)
            .enumerate()
            .filter(|(_, p)| *p == [c.0, c.1, c.2])
            .map(|(i, _)| (i % WIDTH as usize, i / WIDTH as usize))
            .collect()
    }

    #[test]
    fn statuses_differ_by_shape_too_and_the_axis_carries_the_unit() {
        // One point per status: the marks' areas differ (square > circle > triangle).
        let d = |m: u32| NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
        let area = |status: Status| {
            let pts = vec![(d(1), Some(10.0), status)];
            let (_, pixels) = decode(&render(&input(&pts, Language::Es)).unwrap());
            pixels_of(&pixels, colour(status)).len()
        };
        let (square, circle, triangle) = (area(Status::Red), area(Status::Green), area(Status::Amber));
        assert!(square > circle && circle != triangle, "{square} {circle} {triangle}");
        assert_eq!(
            [Status::Green, Status::Amber, Status::Red, Status::Grey].map(marker),
            [Marker::Circle, Marker::Triangle, Marker::Square, Marker::Ring]
        );
        // A percentage's axis is written in percent: the labels are wider than bare numbers.
        let pts = points();
        let ink = |unit| {
            let (_, pixels) = decode(&render(&ChartInput { unit, ..input(&pts, Language::Es) }).unwrap());
            (0..HEIGHT as usize)
                .flat_map(|y| (0..(LEFT as usize - 4)).map(move |x| (y * WIDTH as usize + x) * 3))
                .filter(|at| pixels[*at] < 0xc0)
                .count()
        };
        assert!(ink(KpiUnit::Percent) > ink(KpiUnit::Count), "the unit is drawn beside the axis values");
    }

    #[test]
    fn a_kpi_without_data_says_so_instead_of_empty_axes() {
        let d = |m: u32| NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
        let none = vec![(d(1), None, Status::Grey), (d(2), None, Status::Grey)];
        let (_, pixels) = decode(&render(&input(&none, Language::Es)).unwrap());
        let grid = RGBColor(0xe0, 0xe0, 0xe0);
        // Three grid lines would be over a thousand pixels of their grey.
        assert!(pixels_of(&pixels, grid).len() < 100, "no axes drawn");
        let dark = pixels.chunks(3).filter(|p| p[0] < 0x90).count();
        assert!(dark > 50, "the message is written");
        assert_ne!(
            render(&input(&none, Language::Es)).unwrap(),
            render(&input(&none, Language::En)).unwrap(),
            "in the reader's language"
        );
    }

    fn decode(png_bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info, buf)
    }

    #[test]
    fn a_chart_is_a_png_of_the_set_size_showing_each_status_colour_and_labels() {
        let pts = points();
        let bytes = render(&input(&pts, Language::Es)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (info, pixels) = decode(&bytes);
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let has = |c: RGBColor| pixels.chunks(3).any(|p| p == [c.0, c.1, c.2]);
        for status in [Status::Red, Status::Amber, Status::Green] {
            assert!(has(colour(status)), "{status} point drawn");
        }
        // Text was drawn in the left margin (the y labels): dark pixels left of the plot.
        let dark_in_margin = (0..HEIGHT as usize)
            .flat_map(|y| (0..(LEFT as usize - 8)).map(move |x| (y * WIDTH as usize + x) * 3))
            .any(|at| pixels[at] < 0x90);
        assert!(dark_in_margin, "labels drawn");
        assert!(bytes.len() < 20_000, "small enough for an email: {} bytes", bytes.len());
    }

    #[test]
    fn a_band_target_and_a_flat_or_empty_series_still_render() {
        let flat = vec![(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), Some(0.0), Status::Green)];
        let band = ChartInput { target: 0.0, target_upper: Some(0.0), ..input(&flat, Language::En) };
        assert!(render(&band).is_ok());
        let empty = ChartInput { target: 5.0, ..input(&[], Language::En) };
        assert!(render(&empty).is_ok());
        // The same input gives the same bytes: identical charts are stored once.
        let pts = points();
        let same = input(&pts, Language::En);
        assert_eq!(render(&same).unwrap(), render(&same).unwrap());
    }
}
