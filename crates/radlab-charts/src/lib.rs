//! # radlab-charts
//!
//! Line charts for the labs' reports (FROC curves, reliability diagrams),
//! drawn with plotters into PNG and SVG. Text uses the DejaVu Sans font
//! compiled into the binary, so no system font is needed; files are written
//! atomically.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The chart's settings cannot be drawn (e.g. a log axis over zero).
    #[error("{0}")]
    Settings(String),
    /// plotters failed while drawing.
    #[error("drawing the chart: {0}")]
    Draw(String),
    /// PNG encoding failed.
    #[error("encoding the PNG: {0}")]
    Png(String),
    /// A file could not be written.
    #[error("{path}: cannot write: {error}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, ChartError>;

/// One line (or set of markers) on a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points `(x, y)` in drawing order.
    pub points: Vec<(f64, f64)>,
    /// RGB colour.
    pub color: (u8, u8, u8),
    /// Join the points with a line.
    pub line: bool,
    /// Draw a marker (circle of this radius in pixels) at each point; 0 for none.
    pub marker: u32,
    /// Text drawn beside each point (e.g. a bin's count); empty for none.
    pub labels: Vec<String>,
}

impl Series {
    /// A series with no point labels.
    pub fn new(
        name: &str,
        points: Vec<(f64, f64)>,
        color: (u8, u8, u8),
        line: bool,
        marker: u32,
    ) -> Self {
        Series {
            name: name.to_string(),
            points,
            color,
            line,
            marker,
            labels: Vec::new(),
        }
    }
}

/// A shaded area between two curves over the same x values (an interval band).
#[derive(Debug, Clone)]
pub struct Band {
    /// Legend text.
    pub name: String,
    /// `(x, low, high)` in x order.
    pub points: Vec<(f64, f64, f64)>,
    /// RGB colour (drawn translucent).
    pub color: (u8, u8, u8),
}

/// A chart: axes, ranges and series.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// X range (for a log axis, both > 0).
    pub x_range: (f64, f64),
    /// Y range.
    pub y_range: (f64, f64),
    /// Logarithmic x axis.
    pub log_x: bool,
    /// The series, drawn in order.
    pub series: Vec<Series>,
    /// Bands drawn beneath the series.
    pub bands: Vec<Band>,
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped by the dejavu crate.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, c: &Chart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| ChartError::Draw(format!("{e:?}"));
    root.fill(&WHITE).map_err(e)?;
    let mut b = ChartBuilder::on(&root);
    b.caption(&c.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50);
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(c.x_label.as_str())
                .y_desc(c.y_label.as_str())
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(e)?;
            for band in &c.bands {
                let color = RGBColor(band.color.0, band.color.1, band.color.2);
                let pts: Vec<&(f64, f64, f64)> = band
                    .points
                    .iter()
                    .filter(|p| {
                        p.0.is_finite()
                            && p.1.is_finite()
                            && p.2.is_finite()
                            && (!c.log_x || p.0 > 0.0)
                    })
                    .collect();
                let outline: Vec<(f64, f64)> = pts
                    .iter()
                    .map(|p| (p.0, p.2))
                    .chain(pts.iter().rev().map(|p| (p.0, p.1)))
                    .collect();
                if outline.len() >= 3 {
                    chart
                        .draw_series(std::iter::once(Polygon::new(
                            outline,
                            color.mix(0.25).filled(),
                        )))
                        .map_err(e)?
                        .label(band.name.as_str())
                        .legend(move |(x, y)| {
                            Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.mix(0.25).filled())
                        });
                }
            }
            for s in &c.series {
                let color = RGBColor(s.color.0, s.color.1, s.color.2);
                let points: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.0.is_finite() && p.1.is_finite() && (!c.log_x || p.0 > 0.0))
                    .collect();
                if s.line {
                    chart
                        .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                        .map_err(e)?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                }
                if s.marker > 0 {
                    let r = s.marker;
                    let drawn = chart
                        .draw_series(points.iter().map(|&p| Circle::new(p, r, color.filled())))
                        .map_err(e)?;
                    if !s.line {
                        drawn
                            .label(s.name.as_str())
                            .legend(move |(x, y)| Circle::new((x + 9, y), r, color.filled()));
                    }
                }
            }
            for s in &c.series {
                let style = ("sans-serif", 12).into_font().color(&BLACK);
                for (p, text) in s.points.iter().zip(&s.labels) {
                    if p.0.is_finite() && p.1.is_finite() && !text.is_empty() {
                        chart
                            .draw_series(std::iter::once(Text::new(
                                text.clone(),
                                *p,
                                style.clone(),
                            )))
                            .map_err(e)?;
                    }
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(e)?;
        }};
    }
    let (x, y) = (c.x_range.0..c.x_range.1, c.y_range.0..c.y_range.1);
    if c.log_x {
        body!(b.build_cartesian_2d(x.log_scale(), y).map_err(e)?);
    } else {
        body!(b.build_cartesian_2d(x, y).map_err(e)?);
    }
    root.present().map_err(e)?;
    Ok(())
}

/// Draw `chart` into a PNG (`width` x `height` pixels) and, if given, an SVG
/// of the same size; both written atomically.
pub fn write_chart(chart: &Chart, png: &Path, svg: Option<&Path>, size: (u32, u32)) -> Result<()> {
    register_font();
    if chart.log_x && chart.x_range.0 <= 0.0 {
        return Err(ChartError::Settings(
            "a logarithmic x axis needs a positive range".into(),
        ));
    }
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw(root, chart)?;
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, size.0, size.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let png_error = |e: png::EncodingError| ChartError::Png(e.to_string());
        let mut w = enc.write_header().map_err(png_error)?;
        w.write_image_data(&rgb).map_err(png_error)?;
    }
    radlab_fsio::write_atomic(png, &bytes).map_err(|error| ChartError::Write {
        path: png.to_owned(),
        error,
    })?;
    if let Some(svg) = svg {
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
            draw(root, chart)?;
        }
        radlab_fsio::write_atomic(svg, text.as_bytes()).map_err(|error| ChartError::Write {
            path: svg.to_owned(),
            error,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_and_an_svg_with_text() {
        let dir = tempfile::tempdir().unwrap();
        let chart = Chart {
            title: "FROC".into(),
            x_label: "false positives per scan".into(),
            y_label: "sensitivity".into(),
            x_range: (0.0625, 16.0),
            y_range: (0.0, 1.0),
            log_x: true,
            series: vec![Series {
                labels: vec!["n=1".into(); 4],
                ..Series::new(
                    "curve",
                    vec![(0.0, 0.0), (0.1, 0.4), (1.0, 0.7), (8.0, 0.9)],
                    (200, 30, 30),
                    true,
                    3,
                )
            }],
            bands: vec![Band {
                name: "95% interval".into(),
                points: vec![(0.1, 0.3, 0.5), (1.0, 0.6, 0.8), (8.0, 0.8, 1.0)],
                color: (200, 30, 30),
            }],
        };
        let (png, svg) = (dir.path().join("c.png"), dir.path().join("c.svg"));
        write_chart(&chart, &png, Some(&svg), (640, 480)).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (640, 480));
        // Not blank: some red curve pixels and some dark text pixels.
        let px: Vec<&[u8]> = buf.chunks(3).collect();
        assert!(px.iter().any(|p| p[0] > 150 && p[1] < 80 && p[2] < 80));
        assert!(
            px.iter()
                .filter(|p| p[0] < 60 && p[1] < 60 && p[2] < 60)
                .count()
                > 500
        );
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("false positives per scan") && text.contains("<svg"));
        assert!(text.contains("n=1") && text.contains("95% interval"));
    }
}
