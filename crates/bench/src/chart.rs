//! The report's chart, an SVG drawn with plotters: cold start medians per function (with the
//! Python handler), and warm p99 latency and throughput per route at concurrency 32 (local
//! gateway against `cargo lambda watch`), and how the store's calls (DynamoDB) and time
//! (filesystem) per request grow with the notes. Log scales: the values span orders of
//! magnitude.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::model::{Measurements, Runtime, Server};
use crate::stats::{Summary, fmt_ms};

/// One bar series of a panel: a name, a colour, a value per category (`None`: no bar).
struct Series {
    name: &'static str,
    color: RGBColor,
    values: Vec<Option<f64>>,
}

/// One panel: categories along x, one or more series of bars, an optional aim line.
struct Panel {
    title: String,
    y_label: &'static str,
    categories: Vec<String>,
    series: Vec<Series>,
    aim: Option<(f64, &'static str)>,
    format: fn(f64) -> String,
}

const RUST: RGBColor = RGBColor(0xb7, 0x41, 0x0e);
const PYTHON: RGBColor = RGBColor(0x30, 0x69, 0x98);
const WATCH: RGBColor = RGBColor(0x80, 0x80, 0x80);
/// One colour per growth request ([`crate::growth::REQUESTS`]).
const REQUEST_COLORS: [RGBColor; 3] = [
    RGBColor(0xb7, 0x41, 0x0e),
    RGBColor(0xe0, 0x8a, 0x3c),
    RGBColor(0x30, 0x69, 0x98),
];

/// The chart as SVG text, or `None` when nothing it shows was measured.
///
/// # Errors
/// A plotters drawing error, as text.
pub fn render(m: &Measurements) -> Result<Option<String>, String> {
    let panels = panels(m);
    if panels.is_empty() {
        return Ok(None);
    }
    let height = 360 * u32::try_from(panels.len()).unwrap_or(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((panels.len(), 1));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            draw(&root, area, panel).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(Some(svg))
}

fn panels(m: &Measurements) -> Vec<Panel> {
    let mut panels = Vec::new();
    let cold: Vec<(String, Runtime, f64)> = m
        .functions
        .iter()
        .filter(|f| !f.cold_ms.is_empty())
        .map(|f| {
            (
                f.function.clone(),
                f.runtime,
                Summary::of(&f.cold_ms).median,
            )
        })
        .collect();
    if !cold.is_empty() {
        let pick = |runtime: Runtime| {
            cold.iter()
                .map(|(_, r, ms)| (*r == runtime).then_some(*ms))
                .collect()
        };
        panels.push(Panel {
            title: "Cold start, median (process spawn to first response)".to_owned(),
            y_label: "ms (log)",
            categories: cold.iter().map(|(f, _, _)| f.clone()).collect(),
            series: vec![
                Series {
                    name: "Rust",
                    color: RUST,
                    values: pick(Runtime::Rust),
                },
                Series {
                    name: "Python + awslambdaric",
                    color: PYTHON,
                    values: pick(Runtime::Python),
                },
            ],
            aim: Some((10.0, "aim: 10 ms")),
            format: fmt_ms,
        });
    }
    let concurrency = m.warm.iter().map(|w| w.concurrency).max().unwrap_or(0);
    let mut routes: Vec<String> = Vec::new();
    for w in m.warm.iter().filter(|w| w.concurrency == concurrency) {
        if !routes.contains(&w.route) {
            routes.push(w.route.clone());
        }
    }
    if !routes.is_empty() {
        let value = |server: Server, f: fn(&crate::model::WarmRow) -> f64| {
            routes
                .iter()
                .map(|route| {
                    m.warm
                        .iter()
                        .find(|w| {
                            w.server == server && &w.route == route && w.concurrency == concurrency
                        })
                        .map(f)
                })
                .collect::<Vec<_>>()
        };
        let series = |f: fn(&crate::model::WarmRow) -> f64| {
            let mut out = vec![Series {
                name: "local gateway (JWT verified)",
                color: RUST,
                values: value(Server::Gateway, f),
            }];
            let watch = value(Server::CargoLambdaWatch, f);
            if watch.iter().any(Option::is_some) {
                out.push(Series {
                    name: "cargo lambda watch (no JWT)",
                    color: WATCH,
                    values: watch,
                });
            }
            out
        };
        panels.push(Panel {
            title: format!("Warm p99 latency, {concurrency} concurrent clients"),
            y_label: "ms (log)",
            categories: routes.clone(),
            series: series(|w| w.p99_ms),
            aim: Some((5.0, "aim for GET /me: 5 ms")),
            format: fmt_ms,
        });
        panels.push(Panel {
            title: format!("Warm throughput, {concurrency} concurrent clients"),
            y_label: "requests/s (log)",
            categories: routes.clone(),
            series: series(crate::model::WarmRow::rps),
            aim: None,
            format: |v| format!("{v:.0}"),
        });
    }
    for (store, counted, title, y_label, format) in [
        (
            "dynamodb",
            true,
            "DynamoDB store: calls per request as the notes grow (counted on moto)",
            "calls (log)",
            crate::stats::fmt_count as fn(f64) -> String,
        ),
        (
            "filesystem",
            false,
            "Filesystem store (tmpfs): p50 as the notes grow",
            "ms (log)",
            fmt_ms,
        ),
    ] {
        if let Some(panel) = growth_panel(m, store, counted, title, y_label, format) {
            panels.push(panel);
        }
    }
    panels
}

/// Bars per note count, one series per request: calls per request (`counted`) or p50.
fn growth_panel(
    m: &Measurements,
    store: &str,
    counted: bool,
    title: &str,
    y_label: &'static str,
    format: fn(f64) -> String,
) -> Option<Panel> {
    let rows: Vec<&crate::model::GrowthRow> = m
        .growth
        .iter()
        .filter(|r| r.store == store && r.samples > 0 && (!counted || r.counted))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut sizes: Vec<u64> = rows.iter().map(|r| r.notes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let series = crate::growth::REQUESTS
        .iter()
        .zip(REQUEST_COLORS)
        .map(|(&request, color)| Series {
            name: request,
            color,
            values: sizes
                .iter()
                .map(|&n| {
                    rows.iter()
                        .find(|r| r.request == request && r.notes == n)
                        .map(|r| {
                            if counted {
                                r.calls_per_request()
                            } else {
                                r.p50_ms
                            }
                        })
                })
                .collect(),
        })
        .collect();
    Some(Panel {
        title: title.to_owned(),
        y_label,
        categories: sizes
            .iter()
            .map(|&n| format!("{} notes", crate::stats::fmt_count(n as f64)))
            .collect(),
        series,
        aim: None,
        format,
    })
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let values = panel
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .chain(panel.aim.map(|(v, _)| v))
        .filter(|v| *v > 0.0);
    let (low, high) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        return Ok(());
    }
    let y_min = 10_f64.powf((low / 2.0).log10().floor());
    let y_max = 10_f64.powf((high * 3.0).log10().ceil());
    let n = panel.categories.len();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 18))
        .margin(12)
        .margin_bottom(40)
        .x_label_area_size(10)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5_f64..(n as f64 - 0.5), (y_min..y_max).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(panel.y_label)
        .y_label_formatter(&|v| format!("{v}"))
        .draw()?;

    let present: Vec<&Series> = panel
        .series
        .iter()
        .filter(|s| s.values.iter().any(Option::is_some))
        .collect();
    // Each category's bars share its 0.8 wide slot: a category with one value gets one wide bar.
    let slot = |i: usize, k: usize| {
        let here: Vec<usize> = (0..present.len())
            .filter(|&j| present[j].values.get(i).copied().flatten().is_some())
            .collect();
        let width = 0.8 / here.len().max(1) as f64;
        let rank = here.iter().position(|&j| j == k).unwrap_or(0);
        (i as f64 - 0.4 + width * rank as f64, width)
    };
    for (k, series) in present.iter().enumerate() {
        let color = series.color;
        let bars: Vec<(f64, f64, f64)> = series
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|v| {
                    let (x, width) = slot(i, k);
                    (x, width, v)
                })
            })
            .collect();
        chart
            .draw_series(bars.iter().map(|&(x, width, v)| {
                Rectangle::new([(x + 0.02, y_min), (x + width - 0.02, v)], color.filled())
            }))?
            .label(series.name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        let style = TextStyle::from(("sans-serif", 11).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(bars.iter().map(|&(x, width, v)| {
            Text::new(
                (panel.format)(v),
                (x + width / 2.0, v * 1.05),
                style.clone(),
            )
        }))?;
    }
    if let Some((aim, label)) = panel.aim {
        chart
            .draw_series(LineSeries::new(
                vec![(-0.5, aim), (n as f64 - 0.5, aim)],
                RED.stroke_width(1),
            ))?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], RED));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;

    // Category names under the axis, centred on their group of bars.
    let style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, name) in panel.categories.iter().enumerate() {
        let (x, y) = chart.plotting_area().map_coordinate(&(i as f64, y_min));
        root.draw(&Text::new(name.clone(), (x, y + 6), style.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_shows_every_function_and_route() {
        let m = crate::report::tests::fixture();
        let svg = match render(&m) {
            Ok(Some(svg)) => svg,
            other => panic!("no chart: {other:?}"),
        };
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        for needle in [
            "Cold start, median",
            "create-note",
            "me (Python)",
            "Warm p99 latency, 32 concurrent clients",
            "Warm throughput, 32 concurrent clients",
            "GET /me",
            "cargo lambda watch (no JWT)",
            "aim: 10 ms",
            "12.5",
            "DynamoDB store: calls per request as the notes grow (counted on moto)",
            "Filesystem store (tmpfs): p50 as the notes grow",
            "100,000 notes",
            "GET /admin/stats",
        ] {
            assert!(svg.contains(needle), "missing {needle:?}");
        }
    }

    #[test]
    fn nothing_measured_draws_nothing() {
        assert_eq!(render(&Measurements::default()), Ok(None));
    }
}
