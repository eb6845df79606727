/*!
The HTML report's charts, drawn as SVG by plotters (its SVG backend writes
the elements and escapes the text), never assembled by hand.

Every chart here is one of three shapes: horizontal bars (one bar per
labelled value: tokenizers, models, categories, phases), which stay readable
with fifteen tokenizers or long category names because labels run along the
bars' axis; the log-scale histogram of tokens per document; and a matrix of
ratios (tokenizers by script or language), each cell shaded by how far its
ratio is from 1 and written in it, where 15 × 11 bars would be unreadable. Each chart
sits beside a table of the same numbers (the template's job), so the SVG is
marked `aria-hidden` there and its text need not carry every figure.
*/

use plotters::coord::Shift;
use plotters::prelude::*;

/// Width of every chart, in SVG user units; the page scales it to fit (and
/// on a phone lets it scroll rather than shrink its text below reading).
const WIDTH: u32 = 640;
/// Height of one bar's row.
const ROW: u32 = 30;
const LABEL_CHARS: usize = 30;
/// Label text size; tick labels are a little smaller.
const LABEL_SIZE: u32 = 15;
const TICK_SIZE: u32 = 13;

const BAR: RGBColor = RGBColor(0x2f, 0x6f, 0xb3);
const OVER: RGBColor = RGBColor(0xc2, 0x41, 0x2d);
const MARK: RGBColor = RGBColor(0x44, 0x44, 0x44);

type Result<T> = std::result::Result<T, String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// `label` cut to fit the label column, with an ellipsis.
fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
    format!("{cut}…")
}

/// The last value of a segmented axis of `n` slots. plotters' integer
/// ranges include their end and a segmented axis adds a slot after the
/// last value, so `0..n` would leave an empty slot; `0..n - 1` has exactly
/// `n` (a slot's far edge, `n`, maps by extending the line). One slot is
/// given two: plotters centres a one-value range without its offset.
fn last_slot(n: usize) -> usize {
    if n >= 2 {
        n - 1
    } else {
        1
    }
}

/// One bar of a bar chart.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Drawn in the warning colour (over budget, over a window).
    pub alert: bool,
}

/// Horizontal bars, largest first as given, with each bar's value written
/// at its end by `format`. `marks`: vertical reference lines (a budget),
/// with their labels.
pub fn bars(
    bars: &[Bar],
    axis: &str,
    format: &dyn Fn(f64) -> String,
    marks: &[(f64, String)],
) -> Result<String> {
    let n = bars.len().max(1);
    let height = 64 + ROW * n as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_bars(&root, bars, axis, format, marks)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn draw_bars(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    bars: &[Bar],
    axis: &str,
    format: &dyn Fn(f64) -> String,
    marks: &[(f64, String)],
) -> Result<()> {
    let n = bars.len().max(1);
    let max = bars
        .iter()
        .map(|b| b.value)
        .chain(marks.iter().map(|m| m.0))
        .fold(0.0, f64::max);
    // Room at the right for the value written after the longest bar.
    let x_max = if max > 0.0 { max * 1.22 } else { 1.0 };
    let labels: Vec<String> = bars.iter().map(|b| short(&b.label)).collect();
    // The label column as wide as the longest label needs (about 0.6 em
    // per character), so short labels leave the room to the bars.
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let label_area = (longest as u32 * LABEL_SIZE * 6 / 10 + 16).clamp(60, 300);
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .margin_right(16)
        .x_label_area_size(44)
        .y_label_area_size(label_area)
        .build_cartesian_2d(0f64..x_max, (0..last_slot(n)).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_labels(5)
        .x_label_formatter(&|v| format(*v))
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => n
                .checked_sub(1 + *i)
                .and_then(|k| labels.get(k).cloned())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_style(("sans-serif", LABEL_SIZE))
        .x_label_style(("sans-serif", TICK_SIZE))
        .x_desc(axis)
        .axis_desc_style(("sans-serif", TICK_SIZE))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()
        .map_err(err)?;
    // Bars from the top: the first bar in the top row.
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let row = n - 1 - i;
            let color = if b.alert { OVER } else { BAR };
            let mut r = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row)),
                    (b.value, SegmentValue::Exact(row + 1)),
                ],
                color.filled(),
            );
            r.set_margin(4, 4, 0, 0);
            r
        }))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let row = n - 1 - i;
            Text::new(
                format!(" {}", format(b.value)),
                (b.value, SegmentValue::CenterOf(row)),
                ("sans-serif", TICK_SIZE).into_font().color(&MARK),
            )
        }))
        .map_err(err)?;
    // Reference lines (a budget, a ratio of 1); the caption beside the
    // chart says what they mark: a legend box would cover bars.
    for (x, _) in marks {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*x, SegmentValue::Exact(0)), (*x, SegmentValue::Exact(n))],
                MARK.stroke_width(2),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// The colour of a ratio's cell: white at 1, towards red above (up to 4×
/// and beyond), towards green below (down to 0.25×); and whether its text
/// should be white to stay legible.
fn ratio_shade(r: f64) -> (RGBColor, bool) {
    const BELOW: RGBColor = RGBColor(0x1b, 0x7f, 0x3b);
    if r.is_nan() || r <= 0.0 {
        return (RGBColor(0xf4, 0xf4, 0xf4), false);
    }
    let t = (r.log2() / 2.0).clamp(-1.0, 1.0);
    let to = if t >= 0.0 { OVER } else { BELOW };
    let a = t.abs();
    let mix = |from: u8, to: u8| (from as f64 + (to as f64 - from as f64) * a).round() as u8;
    (
        RGBColor(mix(0xff, to.0), mix(0xff, to.1), mix(0xff, to.2)),
        a > 0.55,
    )
}

/// A matrix of ratios: a row per `rows` label (top first), a column per
/// `columns` label, `values[row][column]` shaded (see [`ratio_shade`]) and
/// written in its cell with two decimals; `None` cells stay blank.
pub fn matrix(rows: &[String], columns: &[String], values: &[Vec<Option<f64>>]) -> Result<String> {
    let (nr, nc) = (rows.len().max(1), columns.len().max(1));
    let height = 64 + ROW * nr as u32;
    let row_labels: Vec<String> = rows.iter().map(|r| short(r)).collect();
    let col_labels: Vec<String> = columns.iter().map(|c| short(c)).collect();
    let longest = row_labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1);
    let label_area = (longest as u32 * LABEL_SIZE * 6 / 10 + 16).clamp(60, 220);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(16)
            .x_label_area_size(44)
            .y_label_area_size(label_area)
            .build_cartesian_2d(
                (0..last_slot(nc)).into_segmented(),
                (0..last_slot(nr)).into_segmented(),
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nc)
            .y_labels(nr)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => col_labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => nr
                    .checked_sub(1 + *i)
                    .and_then(|k| row_labels.get(k).cloned())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_style(("sans-serif", TICK_SIZE))
            .y_label_style(("sans-serif", LABEL_SIZE))
            .draw()
            .map_err(err)?;
        let cells: Vec<(usize, usize, f64)> = values
            .iter()
            .enumerate()
            .flat_map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .filter_map(move |(c, v)| v.map(|v| (r, c, v)))
            })
            .collect();
        chart
            .draw_series(cells.iter().map(|&(r, c, v)| {
                let y = nr - 1 - r;
                let mut rect = Rectangle::new(
                    [
                        (SegmentValue::Exact(c), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(c + 1), SegmentValue::Exact(y + 1)),
                    ],
                    ratio_shade(v).0.filled(),
                );
                rect.set_margin(1, 1, 1, 1);
                rect
            }))
            .map_err(err)?;
        chart
            .draw_series(cells.iter().map(|&(r, c, v)| {
                let y = nr - 1 - r;
                let color = if ratio_shade(v).1 { WHITE } else { BLACK };
                Text::new(
                    format!("{v:.2}"),
                    (SegmentValue::CenterOf(c), SegmentValue::CenterOf(y)),
                    ("sans-serif", TICK_SIZE).into_font().color(&color).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ),
                    ),
                )
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Documents per bin of tokens per document (`(from, to, documents)`, `to`
/// exclusive, ascending, on a log scale), with the p50, p90 and p99 marked
/// by lines labelled at staggered heights so that close ones stay legible.
pub fn histogram(bins: &[(u64, u64, u64)], quantiles: &[(&str, u64)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let lo = bins.first().map_or(1, |b| b.0.max(1)) as f64;
        let hi = bins.last().map_or(10, |b| b.1.max(2)) as f64;
        let most = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1);
        let top = most + most / 4 + 1;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((lo..hi).log_scale(), 0u64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_desc("tokens per document (log scale)")
            .y_desc("documents")
            .x_label_formatter(&|v| crate::format::thousands(v.round() as u64))
            .x_label_style(("sans-serif", TICK_SIZE))
            .y_label_style(("sans-serif", TICK_SIZE))
            .axis_desc_style(("sans-serif", TICK_SIZE))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(bins.iter().map(|(from, to, n)| {
                let mut r =
                    Rectangle::new([((*from).max(1) as f64, 0), (*to as f64, *n)], BAR.filled());
                r.set_margin(0, 0, 1, 1);
                r
            }))
            .map_err(err)?;
        let colors = [RGBColor(0x1b, 0x7f, 0x3b), RGBColor(0xb3, 0x6b, 0x00), OVER];
        for (k, (name, at)) in quantiles.iter().enumerate() {
            let x = ((*at).max(1) as f64).clamp(lo, hi);
            let color = colors[k % colors.len()];
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0), (x, top)],
                    color.stroke_width(2),
                )))
                .map_err(err)?;
            // Labels step down from the top, one line each.
            let y = top.saturating_sub((top * (k as u64 + 1)) / 9);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {name}: {}", crate::format::thousands(*at)),
                    (x, y),
                    ("sans-serif", TICK_SIZE).into_font().color(&color),
                )))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_by_the_backend() {
        let svg = bars(
            &[Bar {
                label: "<script>".into(),
                value: 3.0,
                alert: false,
            }],
            "tokens",
            &|v| format!("{v:.0}"),
            &[],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn a_matrix_writes_each_ratio_in_its_cell() {
        let svg = matrix(
            &["o200k_base".into(), "cl100k_base".into()],
            &["latin".into(), "indic".into()],
            &[vec![Some(1.0), Some(1.0)], vec![Some(1.07), None]],
        )
        .unwrap();
        for label in [
            "o200k_base",
            "cl100k_base",
            "latin",
            "indic",
            "1.07",
            "1.00",
        ] {
            assert!(svg.contains(label), "{label}");
        }
        assert_eq!(ratio_shade(1.0).0, RGBColor(0xff, 0xff, 0xff));
        assert_eq!(ratio_shade(4.0).0, OVER);
        assert!(ratio_shade(8.0).1, "white text on the darkest red");
    }

    #[test]
    fn a_histogram_marks_its_quantiles() {
        let svg = histogram(
            &[(1, 2, 3), (2, 4, 5), (4, 8, 9), (8, 16, 2)],
            &[("p50", 3), ("p90", 6), ("p99", 9)],
        )
        .unwrap();
        for q in ["p50: 3", "p90: 6", "p99: 9"] {
            assert!(svg.contains(q), "{q}");
        }
    }
}
