//! `BENCHMARKS.md` from [`Measurements`]: the aims and whether this run met them, where it
//! missed and why, then one table per measurement with how it was taken. Pure: the same
//! measurements always render the same text.

use std::fmt::Write as _;

use crate::cost;
use crate::latency::Latencies;
use crate::model::{FunctionRow, GrowthRow, Measurements, Runtime, Server, WarmRow};
use crate::stats::{
    MIB, Summary, fmt_count, fmt_kib_as_mib, fmt_mib, fmt_ms, fmt_ratio, fmt_secs, ratio,
};

/// The route whose gateway p99 has an aim.
pub const P99_ROUTE: &str = "GET /me";

/// The concurrency of the p99 aim.
pub const P99_CONCURRENCY: usize = 32;

/// The aims the bench measures against, in the report's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AimId {
    /// Cold start median ≤ 10 ms for every function.
    ColdMedian,
    /// Cold start ≥ 10× faster than the Python handler.
    ColdVsPython,
    /// Zip ≤ 1 MiB without the AWS SDK.
    ZipWithoutSdk,
    /// Zip ≤ 2.5 MiB with it.
    ZipWithSdk,
    /// Warm RSS ≤ 16 MiB.
    WarmRss,
    /// Gateway p99 ≤ 5 ms at concurrency 32 for `/me`.
    GatewayP99,
    /// Gateway throughput with JWT checks ≥ `cargo lambda watch` without.
    ThroughputVsWatch,
    /// Unchanged redeploy < 1 s.
    RedeployTime,
    /// Unchanged redeploy ≥ 10× faster than the naive path.
    RedeployVsNaive,
    /// Store calls per request the same at the most notes as at the fewest.
    GrowthCalls,
    /// The filesystem store's p50 at the most notes ≤ 2× that at the fewest.
    GrowthTime,
}

/// One aim, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Aim {
    /// Which.
    pub id: AimId,
    /// What it asks, in words.
    pub target: &'static str,
    /// What this run measured (the decisive figure).
    pub measured: String,
    /// Met, missed, or not measured in this run.
    pub met: Option<bool>,
}

/// Evaluates every aim against `m`.
#[must_use]
pub fn aims(m: &Measurements) -> Vec<Aim> {
    let rust: Vec<&FunctionRow> = m
        .functions
        .iter()
        .filter(|f| f.runtime == Runtime::Rust && !f.cold_ms.is_empty())
        .collect();
    let python = m
        .functions
        .iter()
        .find(|f| f.runtime == Runtime::Python && !f.cold_ms.is_empty());
    let mut out = Vec::new();

    let slowest = rust
        .iter()
        .map(|f| (f.function.as_str(), Summary::of(&f.cold_ms).median))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    out.push(Aim {
        id: AimId::ColdMedian,
        target: "cold start median ≤ 10 ms, every function",
        measured: slowest.map_or_else(not_measured, |(f, ms)| {
            format!("slowest: {f}, {} ms", fmt_ms(ms))
        }),
        met: slowest.map(|(_, ms)| ms <= 10.0),
    });

    let vs_python = python.and_then(|p| {
        let py = Summary::of(&p.cold_ms).median;
        rust.iter()
            .filter_map(|f| {
                ratio(py, Summary::of(&f.cold_ms).median).map(|r| (f.function.as_str(), r))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
    });
    out.push(Aim {
        id: AimId::ColdVsPython,
        target: "cold start ≥ 10× faster than the Python handler (medians)",
        measured: vs_python.map_or_else(not_measured, |(f, r)| {
            let me = python
                .zip(rust.iter().find(|f| f.route == P99_ROUTE))
                .and_then(|(p, me)| {
                    ratio(
                        Summary::of(&p.cold_ms).median,
                        Summary::of(&me.cold_ms).median,
                    )
                });
            match me {
                Some(me) if f != "me" => {
                    format!(
                        "least: {f}, {}; me: {}",
                        fmt_ratio(Some(r)),
                        fmt_ratio(Some(me))
                    )
                }
                _ => format!("least: {f}, {}", fmt_ratio(Some(r))),
            }
        }),
        met: vs_python.map(|(_, r)| r >= 10.0),
    });

    for (id, with_sdk, limit, target) in [
        (
            AimId::ZipWithoutSdk,
            false,
            MIB,
            "arm64 zip ≤ 1 MiB without the AWS SDK",
        ),
        (
            AimId::ZipWithSdk,
            true,
            5 * MIB / 2,
            "arm64 zip ≤ 2.5 MiB with the AWS SDK",
        ),
    ] {
        let largest = m
            .sizes
            .iter()
            .filter(|s| s.with_sdk == with_sdk)
            .filter_map(|s| s.arm64_zip.map(|z| (s.function.as_str(), z)))
            .max_by_key(|&(_, z)| z);
        out.push(Aim {
            id,
            target,
            measured: largest.map_or_else(not_measured, |(f, z)| {
                format!("largest: {f}, {} ({z} B)", fmt_mib(z))
            }),
            met: largest.map(|(_, z)| z <= limit),
        });
    }

    let rss = peak_rss_by_function(m)
        .into_iter()
        .max_by_key(|&(_, kib)| kib);
    out.push(Aim {
        id: AimId::WarmRss,
        target: "peak RSS of a warm instance ≤ 16 MiB",
        measured: rss.map_or_else(not_measured, |(f, kib)| {
            format!("largest: {f}, {}", fmt_kib_as_mib(kib))
        }),
        met: rss.map(|(_, kib)| kib <= 16 * 1024),
    });

    let p99 = m.warm.iter().find(|w| {
        w.server == Server::Gateway && w.route == P99_ROUTE && w.concurrency == P99_CONCURRENCY
    });
    out.push(Aim {
        id: AimId::GatewayP99,
        target: "gateway p99 ≤ 5 ms at concurrency 32, GET /me",
        measured: p99.map_or_else(not_measured, |w| format!("{} ms", fmt_ms(w.p99_ms))),
        met: p99.map(|w| w.p99_ms <= 5.0),
    });

    let worst = throughput_ratios(m)
        .into_iter()
        .min_by(|a, b| a.2.total_cmp(&b.2));
    out.push(Aim {
        id: AimId::ThroughputVsWatch,
        target: "gateway req/s (JWT verified) ≥ cargo lambda watch (no JWT), every route and concurrency",
        measured: worst.map_or_else(not_measured, |(route, c, r)| {
            format!("lowest: {route} at {c}, {}", fmt_ratio(Some(r)))
        }),
        met: worst.map(|(_, _, r)| r >= 1.0),
    });

    let unchanged = m.deploy.as_ref().and_then(|d| {
        d.scenarios
            .iter()
            .find(|s| s.changed == 0 && !s.ours_s.is_empty())
            .map(|s| {
                (
                    Summary::of(&s.ours_s).median,
                    Summary::of(&d.naive_s).median,
                )
            })
    });
    out.push(Aim {
        id: AimId::RedeployTime,
        target: "unchanged redeploy < 1 s",
        measured: unchanged.map_or_else(not_measured, |(s, _)| format!("{} s", fmt_secs(s))),
        met: unchanged.map(|(s, _)| s < 1.0),
    });
    let vs_naive = unchanged.and_then(|(ours, naive)| ratio(naive, ours));
    out.push(Aim {
        id: AimId::RedeployVsNaive,
        target: "unchanged redeploy ≥ 10× faster than naive upload-then-update",
        measured: vs_naive.map_or_else(not_measured, |r| fmt_ratio(Some(r))),
        met: vs_naive.map(|r| r >= 10.0),
    });

    let calls = growth_spans(m, true, |r| r.calls_per_request());
    let grew = calls
        .iter()
        .filter(|s| s.last > s.first + 1e-9)
        .max_by(|a, b| (a.last - a.first).total_cmp(&(b.last - b.first)));
    out.push(Aim {
        id: AimId::GrowthCalls,
        target: "store calls per request flat from the fewest notes to the most (DynamoDB, counted on moto)",
        measured: if calls.is_empty() {
            not_measured()
        } else if let Some(s) = grew {
            format!(
                "{} on {}: {} calls at {} notes, {} at {}",
                s.request,
                s.store,
                fmt_count(s.first),
                fmt_count(s.first_notes as f64),
                fmt_count(s.last),
                fmt_count(s.last_notes as f64)
            )
        } else {
            let per = |request: &str| {
                calls
                    .iter()
                    .find(|s| s.request == request)
                    .map(|s| fmt_count(s.last))
            };
            format!(
                "the same at {} notes as at {}: GET /notes {}, GET /admin/stats {}",
                fmt_count(calls.iter().map(|s| s.last_notes).max().unwrap_or(0) as f64),
                fmt_count(calls.iter().map(|s| s.first_notes).min().unwrap_or(0) as f64),
                per("GET /notes").unwrap_or_else(|| "n/a".to_owned()),
                per("GET /admin/stats").unwrap_or_else(|| "n/a".to_owned()),
            )
        },
        met: (!calls.is_empty()).then_some(grew.is_none()),
    });

    let times: Vec<GrowthSpan> = growth_spans(m, false, |r| r.p50_ms)
        .into_iter()
        .filter(|s| s.store == "filesystem")
        .collect();
    let worst = times
        .iter()
        .filter_map(|s| ratio(s.last, s.first).map(|r| (s, r)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    out.push(Aim {
        id: AimId::GrowthTime,
        target: "filesystem store: p50 at the most notes ≤ 2× at the fewest, every request",
        measured: worst.map_or_else(not_measured, |(s, r)| {
            format!(
                "largest: {}, {} ms at {} notes, {} ms at {} ({})",
                s.request,
                fmt_ms(s.first),
                fmt_count(s.first_notes as f64),
                fmt_ms(s.last),
                fmt_count(s.last_notes as f64),
                fmt_ratio(Some(r))
            )
        }),
        met: worst.map(|(_, r)| r <= 2.0),
    });
    out
}

/// One (store, request) series of the growth runs, from its smallest measured size to its
/// largest.
#[derive(Clone, Debug, PartialEq)]
pub struct GrowthSpan<'a> {
    /// The store.
    pub store: &'a str,
    /// The request.
    pub request: &'a str,
    /// The fewest notes it was measured at, and its value there.
    pub first_notes: u64,
    /// The value at `first_notes`.
    pub first: f64,
    /// The most notes it was measured at.
    pub last_notes: u64,
    /// The value at `last_notes`.
    pub last: f64,
}

/// Per (store, request) with at least two sizes measured (rows with samples, and counted
/// calls when `counted`): `value` at the fewest and the most notes.
#[must_use]
pub fn growth_spans(
    m: &Measurements,
    counted: bool,
    value: impl Fn(&GrowthRow) -> f64,
) -> Vec<GrowthSpan<'_>> {
    let mut out: Vec<GrowthSpan<'_>> = Vec::new();
    for row in m
        .growth
        .iter()
        .filter(|r| r.samples > 0 && (!counted || r.counted))
    {
        let v = value(row);
        match out
            .iter_mut()
            .find(|s| s.store == row.store && s.request == row.request)
        {
            Some(span) => {
                if row.notes < span.first_notes {
                    span.first_notes = row.notes;
                    span.first = v;
                }
                if row.notes > span.last_notes {
                    span.last_notes = row.notes;
                    span.last = v;
                }
            }
            None => out.push(GrowthSpan {
                store: &row.store,
                request: &row.request,
                first_notes: row.notes,
                first: v,
                last_notes: row.notes,
                last: v,
            }),
        }
    }
    out.retain(|s| s.last_notes > s.first_notes);
    out
}

fn not_measured() -> String {
    "not measured in this run".to_owned()
}

/// Per Rust function, the largest peak RSS seen: its warm series and any gateway run.
#[must_use]
pub fn peak_rss_by_function(m: &Measurements) -> Vec<(&str, u64)> {
    let mut out: Vec<(&str, u64)> = Vec::new();
    for f in m
        .functions
        .iter()
        .filter(|f| f.runtime == Runtime::Rust && f.peak_rss_kib > 0)
    {
        out.push((f.function.as_str(), f.peak_rss_kib));
    }
    for w in m.warm.iter().filter(|w| w.server == Server::Gateway) {
        if let Some(kib) = w.peak_rss_kib.filter(|&k| k > 0) {
            match out.iter_mut().find(|(f, _)| *f == w.function) {
                Some(entry) => entry.1 = entry.1.max(kib),
                None => out.push((w.function.as_str(), kib)),
            }
        }
    }
    out
}

/// Per (route, concurrency) measured by both servers: gateway req/s ÷ watch req/s.
#[must_use]
pub fn throughput_ratios(m: &Measurements) -> Vec<(&str, usize, f64)> {
    m.warm
        .iter()
        .filter(|w| w.server == Server::Gateway)
        .filter_map(|g| {
            let watch = m.warm.iter().find(|w| {
                w.server == Server::CargoLambdaWatch
                    && w.route == g.route
                    && w.concurrency == g.concurrency
            })?;
            ratio(g.rps(), watch.rps()).map(|r| (g.route.as_str(), g.concurrency, r))
        })
        .collect()
}

/// The whole `BENCHMARKS.md`. `chart` is the chart's path relative to the report, if one was
/// drawn; `misses` explains each missed aim (see [`crate::analysis`]).
#[must_use]
pub fn render(m: &Measurements, chart: Option<&str>, misses: &[(AimId, String)]) -> String {
    let mut out = String::new();
    let meta = &m.meta;
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Generated by `cargo xtask bench{}` on {} (commit `{}`; {}; {}); the measurements took {:.0} s \
         after the builds. Every number comes from this one run on this one machine; rerun the \
         command to regenerate this file (do not edit it by hand).\n",
        if meta.quick { " --quick" } else { "" },
        meta.date,
        meta.commit,
        meta.machine,
        meta.rustc,
        meta.seconds,
    );
    if meta.quick {
        let _ = writeln!(
            out,
            "> **Quick run** (`--quick`): fewer cold starts per function, shorter warm runs, no \
             `cargo lambda watch` comparison and no all-changed deploy. The committed numbers \
             come from a full run (`cargo xtask bench`).\n"
        );
    }
    if let Some(chart) = chart {
        let _ = writeln!(
            out,
            "![cold starts, warm latency and throughput]({chart})\n"
        );
    }

    let aims = aims(m);
    let _ = writeln!(out, "## Aims\n");
    let _ = writeln!(out, "| aim | measured | result |\n|---|---|---|");
    for aim in &aims {
        let result = match aim.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let _ = writeln!(out, "| {} | {} | {result} |", aim.target, aim.measured);
    }
    let _ = writeln!(out);
    let missed: Vec<&Aim> = aims.iter().filter(|a| a.met == Some(false)).collect();
    if !missed.is_empty() {
        let _ = writeln!(out, "### Where we miss, and what would close it\n");
        for aim in missed {
            let why = misses
                .iter()
                .find(|(id, _)| *id == aim.id)
                .map_or("No analysis was recorded for this aim.", |(_, text)| {
                    text.as_str()
                });
            let _ = writeln!(out, "- **{}** ({}): {why}", aim.target, aim.measured);
        }
        let _ = writeln!(out);
    }
    if !m.skipped.is_empty() {
        let _ = writeln!(out, "### Not measured in this run\n");
        for line in &m.skipped {
            let _ = writeln!(out, "- {line}");
        }
        let _ = writeln!(out);
    }

    render_sizes(&mut out, m);
    render_functions(&mut out, m);
    render_warm(&mut out, m);
    render_jwt(&mut out, m);
    render_deploy(&mut out, m);
    render_growth(&mut out, m);
    render_cost(&mut out, m);
    render_settings(&mut out, m);
    out
}

fn render_sizes(out: &mut String, m: &Measurements) {
    if m.sizes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Sizes\n\n`target/lambda/<function>/bootstrap.zip` as `cargo xtask package` builds it \
         (arm64, deterministic zip, Deflate 9) and the stripped x86_64 release binary \
         `target/release/<function>`. \"AWS SDK\": the function table gives the function access \
         to the notes table (`dynamodb = [...]` in its `Cargo.toml`), so it links the DynamoDB \
         store and `aws-sdk-dynamodb`; a tidy test keeps the SDK out of every other function. \
         1 MiB = 1,048,576 bytes.\n"
    );
    let _ = writeln!(
        out,
        "| function | AWS SDK | arm64 zip | bytes | x86_64 binary | bytes |\n|---|---|---:|---:|---:|---:|"
    );
    for s in &m.sizes {
        let cell = |b: Option<u64>| {
            b.map_or(("n/a".to_owned(), "".to_owned()), |b| {
                (fmt_mib(b), b.to_string())
            })
        };
        let (zip, zip_bytes) = cell(s.arm64_zip);
        let (bin, bin_bytes) = cell(s.x86_64_binary);
        let _ = writeln!(
            out,
            "| {} | {} | {zip} | {zip_bytes} | {bin} | {bin_bytes} |",
            s.function,
            if s.with_sdk { "yes" } else { "no" }
        );
    }
    let _ = writeln!(out);
}

fn render_functions(out: &mut String, m: &Measurements) {
    if m.functions.is_empty() {
        return;
    }
    let python = m
        .functions
        .iter()
        .find(|f| f.runtime == Runtime::Python)
        .map(|p| Summary::of(&p.cold_ms).median);
    let _ = writeln!(
        out,
        "## Cold starts\n\nProcess spawn to first response through the local Runtime API emulator \
         (`local-aws`'s `Lambda`): the clock starts when the invocation is handed to an emulator \
         with no instance, which spawns the binary (x86_64 release build, the arm64 code \
         compiled for this host), and stops when the function has posted its response. Between \
         two samples the instance is killed. The Python handler \
         (`crates/bench/python/me.py`, the same JSON as `me`) runs as `python -m awslambdaric \
         me.handler` under the same emulator. \"first\" is the first sample, the only one whose \
         binary may not be in the page cache yet (counted in the median like the others). \
         \"median − warm p50\" takes away what the same request costs on a warm instance: \
         about the init (process, runtime, store) alone. \"vs Python\" is the Python median \
         over the function's median.\n"
    );
    let _ = writeln!(
        out,
        "| function | route | runtime | cold starts | median ms | p95 ms | first ms | median − warm p50 ms | vs Python |\n|---|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for f in &m.functions {
        let s = Summary::of(&f.cold_ms);
        let vs = match (f.runtime, python) {
            (Runtime::Rust, Some(py)) => fmt_ratio(ratio(py, s.median)),
            _ => "".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {vs} |",
            f.function,
            f.route,
            runtime_label(f.runtime),
            s.n,
            fmt_ms(s.median),
            fmt_ms(s.p95),
            f.cold_ms.first().map_or_else(String::new, |ms| fmt_ms(*ms)),
            if f.warm_ms.is_empty() {
                String::new()
            } else {
                fmt_ms((s.median - Latencies::of(&f.warm_ms).quantile(0.5)).max(0.0))
            },
        );
    }
    let _ = writeln!(
        out,
        "\n## Memory and warm invocations\n\nAfter its cold starts each function gets a series of \
         warm invocations on one instance, one at a time (event handed to the instance to \
         response posted: the duration Lambda would bill). Peak RSS is the instance's `VmHWM` \
         from `/proc` afterwards; for the routes of the warm load runs below, the largest \
         `VmHWM` of any instance after them is shown too.\n"
    );
    let _ = writeln!(
        out,
        "| function | runtime | warm invocations | p50 ms | p99 ms | peak RSS | peak RSS after load | statuses | errors |\n|---|---|---:|---:|---:|---:|---:|---|---:|"
    );
    for f in &m.functions {
        let warm = Latencies::of(&f.warm_ms);
        let after_load = m
            .warm
            .iter()
            .filter(|w| w.server == Server::Gateway && w.function == f.function)
            .filter_map(|w| w.peak_rss_kib)
            .max()
            .filter(|_| f.runtime == Runtime::Rust)
            .map_or_else(String::new, fmt_kib_as_mib);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {after_load} | {} | {} |",
            f.function,
            runtime_label(f.runtime),
            warm.count(),
            fmt_ms(warm.quantile(0.5)),
            fmt_ms(warm.quantile(0.99)),
            fmt_kib_as_mib(f.peak_rss_kib),
            statuses(&f.statuses),
            f.errors,
        );
    }
    let _ = writeln!(out);
}

fn runtime_label(runtime: Runtime) -> &'static str {
    match runtime {
        Runtime::Rust => "Rust (provided.al2023)",
        Runtime::Python => "Python 3 + awslambdaric",
    }
}

fn statuses(map: &std::collections::BTreeMap<u16, u64>) -> String {
    map.iter()
        .map(|(status, n)| format!("{status}×{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn render_warm(out: &mut String, m: &Measurements) {
    if m.warm.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Warm latency and throughput\n\nClosed-loop HTTP/1.1 clients with keep-alive \
         (`reqwest`), in the same process as the local gateway, on loopback; each run starts with \
         a warm-up that is not counted. **Local gateway**: `local-aws`'s API Gateway emulator \
         with the local issuer's id token, so every request of a `jwt` route is verified (RS256, \
         cached JWKS) and turned into a payload 2.0 event, then the Runtime API emulator hands it \
         to a warm instance (at most 4 per function). **cargo lambda watch**: the same functions \
         (release build) behind `cargo lambda watch --concurrency 4`, driven through its Invoke \
         API (`POST /2015-03-31/functions/<name>/invocations`) with the payload 2.0 event the \
         gateway would have built, claims included: no JWT check, no event building.\n"
    );
    let _ = writeln!(
        out,
        "| route | served by | clients | req/s | p50 ms | p99 ms | requests | errors | statuses |\n|---|---|---:|---:|---:|---:|---:|---:|---|"
    );
    let mut rows: Vec<&WarmRow> = m.warm.iter().collect();
    rows.sort_by(|a, b| {
        (route_order(&a.route), a.concurrency, a.server).cmp(&(
            route_order(&b.route),
            b.concurrency,
            b.server,
        ))
    });
    for w in rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            w.route,
            w.server.label(),
            w.concurrency,
            fmt_count(w.rps()),
            fmt_ms(w.p50_ms),
            fmt_ms(w.p99_ms),
            w.requests,
            w.errors,
            statuses(&w.statuses),
        );
    }
    let ratios = throughput_ratios(m);
    if !ratios.is_empty() {
        let _ = writeln!(
            out,
            "\nGateway req/s over cargo lambda watch req/s: {}.",
            ratios
                .iter()
                .map(|(route, c, r)| format!("`{route}` at {c}: {}", fmt_ratio(Some(*r))))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let _ = writeln!(out);
}

/// The order of the measured routes in tables (the ones the aims name first); others after them.
fn route_order(route: &str) -> usize {
    ["GET /health", "GET /me", "POST /notes", "GET /notes"]
        .iter()
        .position(|r| *r == route)
        .unwrap_or(usize::MAX)
}

fn render_jwt(out: &mut String, m: &Measurements) {
    let Some(jwt) = &m.jwt else {
        return;
    };
    let _ = writeln!(
        out,
        "## JWT verification\n\n`cargo bench -p cognito-claims --bench verify` (criterion, one \
         thread): `JwtVerifier::verify` of a Cognito-shaped id token (RS256, 2048-bit key, JWKS \
         already cached) — header and claim checks, signature, typed claims.\n"
    );
    let _ = writeln!(
        out,
        "| benchmark | mean µs | 95 % CI µs | verifications/s (one core) |\n|---|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| `{}` | {:.2} | {:.2} – {:.2} | {} |\n",
        jwt.benchmark,
        jwt.mean_ns / 1000.0,
        jwt.mean_ci_ns.0 / 1000.0,
        jwt.mean_ci_ns.1 / 1000.0,
        fmt_count(jwt.per_second()),
    );
}

fn render_deploy(out: &mut String, m: &Measurements) {
    let Some(d) = &m.deploy else {
        return;
    };
    let naive = Summary::of(&d.naive_s);
    let _ = writeln!(
        out,
        "## Deploys\n\nAgainst moto server on loopback: {} functions (created with the SDK, \
         arm64, `provided.al2023`, alias `live`), their real arm64 zips ({} in all). **Ours**: \
         the engine of `cargo xtask deploy` (`deploy::deploy`, 4 at a time: compare `CodeSha256` \
         with what `live` runs, upload only missing content-addressed objects, update, wait, \
         verify, publish, move `live`). A changed function gets a new zip (its binary with bytes \
         appended), so every changed run really uploads. **Naive**: every function, one after \
         the other: PutObject, UpdateFunctionCode, wait until `Successful`, PublishVersion, \
         UpdateAlias — the same end state without skipping anything. Wall time per deploy; the \
         ratio is the naive median over ours.\n",
        d.functions,
        fmt_mib(d.total_zip_bytes),
    );
    let _ = writeln!(
        out,
        "| scenario | changed | runs | ours median s | ours max s | naive median s | naive ÷ ours |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for s in &d.scenarios {
        let ours = Summary::of(&s.ours_s);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            s.changed,
            ours.n,
            fmt_secs(ours.median),
            fmt_secs(ours.max),
            fmt_secs(naive.median),
            fmt_ratio(ratio(naive.median, ours.median)),
        );
    }
    let _ = writeln!(
        out,
        "\nNaive runs: {} (median {} s).",
        naive.n,
        fmt_secs(naive.median)
    );
    if !d.call_ms.is_empty() {
        let call = Summary::of(&d.call_ms);
        let _ = writeln!(
            out,
            "One read-only Lambda call to moto (GetFunctionConfiguration, one at a time) takes {} ms \
             (median of {}): an unchanged deploy makes 3 such reads per function (plus 2 checks \
             up front), the naive path 5 writes per function, uploads over loopback included.",
            fmt_ms(call.median),
            call.n
        );
    }
    let _ = writeln!(out);
}

fn render_growth(out: &mut String, m: &Measurements) {
    if m.growth.is_empty() {
        return;
    }
    let mut sizes: Vec<u64> = m.growth.iter().map(|r| r.notes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let _ = writeln!(
        out,
        "## Growth: what a request costs as the notes grow\n\nThe real `list-notes` and \
         `admin-stats` binaries under the Runtime API emulator, at {} notes, all of one user (so \
         per user and in all are the same count), written in bulk between sizes and not \
         counted. Per size and request: one warm-up, then the counted series. `GET /notes` is \
         the first page of {} (newest first), \"next page\" the one its cursor points to, \
         `GET /admin/stats` the exact count; a short page or a wrong count is an error. \
         **filesystem**: the local store on tmpfs. **dynamodb**: the deployed store against \
         moto server, with a proxy in front that counts every call by operation: calls per \
         request is what grows on a remote store if anything does. moto's time is not \
         DynamoDB's (moto sorts the whole partition for every `Query`; DynamoDB reads the page \
         from its key onward, \"Query operations in DynamoDB\", Developer Guide), so the \
         dynamodb latencies below measure moto.\n",
        sizes
            .iter()
            .map(|n| fmt_count(*n as f64))
            .collect::<Vec<_>>()
            .join(", "),
        crate::growth::PAGE,
    );
    let header: String = sizes
        .iter()
        .map(|n| format!(" {} notes |", fmt_count(*n as f64)))
        .collect();
    let align: String = sizes.iter().map(|_| "---:|").collect();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in &m.growth {
        if !keys.contains(&(r.store.as_str(), r.request.as_str())) {
            keys.push((&r.store, &r.request));
        }
    }
    // One table row: a cell per size, "–" where the size was not measured.
    let row = |store: &str, request: &str, f: &dyn Fn(&GrowthRow) -> String| -> String {
        let cells: String = sizes
            .iter()
            .map(|&n| {
                let text = m
                    .growth
                    .iter()
                    .find(|r| r.store == store && r.request == request && r.notes == n)
                    .map_or_else(String::new, |r| {
                        if r.samples == 0 {
                            "–".to_owned()
                        } else {
                            f(r)
                        }
                    });
                format!(" {text} |")
            })
            .collect();
        format!("| {store} | {request} |{cells}")
    };
    let _ = writeln!(
        out,
        "p50 latency, ms (p95 in brackets):\n\n| store | request |{header}\n|---|---|{align}"
    );
    for &(store, request) in &keys {
        let line = row(store, request, &|r| {
            format!("{} ({})", fmt_ms(r.p50_ms), fmt_ms(r.p95_ms))
        });
        let _ = writeln!(out, "{line}");
    }
    let counted: Vec<&(&str, &str)> = keys
        .iter()
        .filter(|(store, request)| {
            m.growth
                .iter()
                .any(|r| r.store == *store && r.request == *request && r.counted)
        })
        .collect();
    if !counted.is_empty() {
        let _ = writeln!(
            out,
            "\nStore calls per request, by operation:\n\n| store | request |{header}\n|---|---|{align}"
        );
        for &&(store, request) in &counted {
            let line = row(store, request, &|r| {
                r.calls
                    .iter()
                    .map(|(op, c)| format!("{} {op}", fmt_count(*c)))
                    .collect::<Vec<_>>()
                    .join(" + ")
            });
            let _ = writeln!(out, "{line}");
        }
    }
    let problems: Vec<String> = m
        .growth
        .iter()
        .filter(|r| r.errors > 0 || r.note.is_some())
        .map(|r| {
            format!(
                "- {} {} at {} notes: {} errors{}",
                r.store,
                r.request,
                fmt_count(r.notes as f64),
                r.errors,
                r.note
                    .as_ref()
                    .map_or_else(String::new, |n| format!("; {n}"))
            )
        })
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\n{}", problems.join("\n"));
    }
    let _ = writeln!(out);
}

fn render_cost(out: &mut String, m: &Measurements) {
    let rows: Vec<&FunctionRow> = m
        .functions
        .iter()
        .filter(|f| !f.warm_ms.is_empty())
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Projected AWS cost per million requests\n\nLambda only, {} MB, from the warm p50 \
         duration measured above: `cost = 1e6 × $0.20 / 1e6 + 1e6 × ceil(ms) / 1000 s × {} / \
         1024 GB × $0.0000133334 per GB-s` (billed duration rounded up to 1 ms). Prices: {}. The \
         last column assumes 1 % of requests are cold starts billed at the cold median (Lambda \
         bills the init phase). API Gateway (HTTP API, $1.00 per million in us-east-1), DynamoDB \
         (`IaC/README.md`, \"Cost notes\") and logs are not included. The durations are this \
         machine's x86_64 timings, not Graviton's.\n",
        cost::MEMORY_MB,
        cost::MEMORY_MB,
        cost::PRICE_SOURCE,
    );
    let _ = writeln!(
        out,
        "| function | runtime | warm p50 ms | billed ms | compute $ | requests $ | total $ / 1M | with 1 % cold $ / 1M |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for f in rows {
        let warm = Latencies::of(&f.warm_ms).quantile(0.5);
        let cold = Summary::of(&f.cold_ms).median;
        let c = cost::per_million(warm, cost::MEMORY_MB);
        let with_cold = cost::per_million_with_cold(warm, cold, 0.01, cost::MEMORY_MB);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.4} | {:.2} | {:.4} | {:.4} |",
            f.function,
            runtime_label(f.runtime),
            fmt_ms(warm),
            c.billed_ms,
            c.compute,
            c.requests,
            c.total(),
            with_cold,
        );
    }
    let _ = writeln!(out);
}

fn render_settings(out: &mut String, m: &Measurements) {
    if m.meta.settings.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Settings of this run\n\n| setting | value |\n|---|---|"
    );
    for (k, v) in &m.meta.settings {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let _ = writeln!(out);
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{
        DeployResult, DeployScenario, FunctionRow, GrowthRow, JwtRow, Meta, SizeRow, WarmRow,
    };

    /// A fixed run: `me` meets every aim, `create-note` misses the cold-start one.
    pub(crate) fn fixture() -> Measurements {
        let rust = |function: &str, route: &str, cold: f64, rss: u64| FunctionRow {
            function: function.to_owned(),
            runtime: Runtime::Rust,
            route: route.to_owned(),
            cold_ms: vec![cold; 20],
            warm_ms: vec![0.3, 0.4, 0.5],
            peak_rss_kib: rss,
            statuses: BTreeMap::from([(200, 23)]),
            errors: 0,
        };
        let warm = |server, route: &str, function: &str, c, rps: f64, p99| WarmRow {
            server,
            route: route.to_owned(),
            function: function.to_owned(),
            concurrency: c,
            requests: (rps * 10.0) as u64,
            errors: 0,
            seconds: 10.0,
            p50_ms: p99 / 2.0,
            p99_ms: p99,
            statuses: BTreeMap::from([(200, (rps * 10.0) as u64)]),
            peak_rss_kib: (server == Server::Gateway).then_some(6000),
            instances: None,
        };
        Measurements {
            meta: Meta {
                date: "2025-01-02 03:04 UTC".to_owned(),
                quick: false,
                machine: "test CPU, 2 cores, 24 GiB".to_owned(),
                commit: "abc1234".to_owned(),
                rustc: "rustc 1.95.0".to_owned(),
                seconds: 321.0,
                settings: BTreeMap::from([("cold starts".to_owned(), "20".to_owned())]),
            },
            sizes: vec![
                SizeRow {
                    function: "me".to_owned(),
                    arm64_zip: Some(900_000),
                    x86_64_binary: Some(2_000_000),
                    with_sdk: false,
                },
                SizeRow {
                    function: "create-note".to_owned(),
                    arm64_zip: Some(2_600_000),
                    x86_64_binary: Some(6_000_000),
                    with_sdk: true,
                },
            ],
            functions: vec![
                rust("me", "GET /me", 4.0, 5000),
                rust("create-note", "POST /notes", 12.5, 7000),
                FunctionRow {
                    function: "me (Python)".to_owned(),
                    runtime: Runtime::Python,
                    route: "GET /me".to_owned(),
                    cold_ms: vec![200.0; 20],
                    warm_ms: vec![1.5; 3],
                    peak_rss_kib: 30_000,
                    statuses: BTreeMap::from([(200, 23)]),
                    errors: 0,
                },
            ],
            warm: vec![
                warm(Server::Gateway, "GET /me", "me", 32, 4000.0, 3.0),
                warm(Server::CargoLambdaWatch, "GET /me", "me", 32, 3000.0, 9.0),
                warm(Server::Gateway, "GET /me", "me", 1, 1000.0, 1.0),
                warm(Server::CargoLambdaWatch, "GET /me", "me", 1, 1100.0, 1.2),
            ],
            jwt: Some(JwtRow {
                benchmark: "verify_id_token".to_owned(),
                mean_ns: 25_000.0,
                mean_ci_ns: (24_900.0, 25_100.0),
            }),
            deploy: Some(DeployResult {
                functions: 2,
                total_zip_bytes: 3_700_000,
                scenarios: vec![
                    DeployScenario {
                        name: "unchanged".to_owned(),
                        changed: 0,
                        ours_s: vec![0.05, 0.06, 0.07],
                    },
                    DeployScenario {
                        name: "one changed".to_owned(),
                        changed: 1,
                        ours_s: vec![0.5],
                    },
                ],
                naive_s: vec![1.2, 1.3, 1.4],
                call_ms: vec![3.0, 3.0],
            }),
            growth: [10, 100_000]
                .into_iter()
                .flat_map(|n| {
                    let slower = if n == 10 { 1.0 } else { 1.5 };
                    [
                        growth("filesystem", "GET /notes", n, slower, &[]),
                        growth("filesystem", "GET /admin/stats", n, 0.5, &[]),
                        growth("dynamodb", "GET /notes", n, 3.0, &[("Query", 1.0)]),
                        growth(
                            "dynamodb",
                            "GET /admin/stats",
                            n,
                            2.0,
                            &[("BatchGetItem", 1.0)],
                        ),
                    ]
                })
                .collect(),
            skipped: vec!["nothing, really".to_owned()],
        }
    }

    fn growth(
        store: &str,
        request: &str,
        notes: u64,
        p50: f64,
        calls: &[(&str, f64)],
    ) -> GrowthRow {
        GrowthRow {
            store: store.to_owned(),
            notes,
            request: request.to_owned(),
            samples: 5,
            p50_ms: p50,
            p95_ms: p50 * 2.0,
            counted: !calls.is_empty(),
            calls: calls.iter().map(|(op, c)| ((*op).to_owned(), *c)).collect(),
            statuses: BTreeMap::from([(200, 6)]),
            errors: 0,
            note: None,
        }
    }

    fn met(aims: &[Aim], id: AimId) -> Option<bool> {
        aims.iter().find(|a| a.id == id).and_then(|a| a.met)
    }

    #[test]
    fn aims_are_judged_on_the_decisive_figure() {
        let m = fixture();
        let aims = aims(&m);
        assert_eq!(aims.len(), 11);
        assert_eq!(met(&aims, AimId::ColdMedian), Some(false));
        let cold = &aims[0];
        assert_eq!(cold.measured, "slowest: create-note, 12.5 ms");
        // 200 / 12.5 = 16×, the least of the two.
        assert_eq!(aims[1].measured, "least: create-note, 16×; me: 50×");
        assert_eq!(met(&aims, AimId::ColdVsPython), Some(true));
        assert_eq!(met(&aims, AimId::ZipWithoutSdk), Some(true));
        assert_eq!(met(&aims, AimId::ZipWithSdk), Some(true));
        assert_eq!(met(&aims, AimId::WarmRss), Some(true));
        assert_eq!(met(&aims, AimId::GatewayP99), Some(true));
        // 1000 / 1100 at concurrency 1.
        assert_eq!(met(&aims, AimId::ThroughputVsWatch), Some(false));
        assert_eq!(aims[6].measured, "lowest: GET /me at 1, 0.91×");
        assert_eq!(met(&aims, AimId::RedeployTime), Some(true));
        // 1.3 / 0.06.
        assert_eq!(aims[8].measured, "22×");
        assert_eq!(met(&aims, AimId::RedeployVsNaive), Some(true));
        assert_eq!(met(&aims, AimId::GrowthCalls), Some(true));
        assert_eq!(
            aims[9].measured,
            "the same at 100,000 notes as at 10: GET /notes 1, GET /admin/stats 1"
        );
        assert_eq!(met(&aims, AimId::GrowthTime), Some(true));
        assert_eq!(
            aims[10].measured,
            "largest: GET /notes, 1.00 ms at 10 notes, 1.50 ms at 100,000 (1.5×)"
        );
    }

    #[test]
    fn growth_misses_when_calls_grow_or_the_filesystem_slows_down() {
        let mut m = fixture();
        for row in m.growth.iter_mut().filter(|r| r.notes == 100_000) {
            if row.store == "dynamodb" && row.request == "GET /notes" {
                row.calls.insert("GetItem".to_owned(), 20.0);
            }
            if row.store == "filesystem" && row.request == "GET /admin/stats" {
                row.p50_ms = 1.01;
            }
        }
        let aims = aims(&m);
        assert_eq!(met(&aims, AimId::GrowthCalls), Some(false));
        assert_eq!(
            aims[9].measured,
            "GET /notes on dynamodb: 1 calls at 10 notes, 21 at 100,000"
        );
        assert_eq!(met(&aims, AimId::GrowthTime), Some(false));
        assert!(
            aims[10].measured.starts_with("largest: GET /admin/stats"),
            "{aims:?}"
        );
        // A row without samples (no next page at 10 notes) does not count as a size.
        m.growth.retain(|r| r.store == "dynamodb");
        for row in &mut m.growth {
            if row.notes == 10 {
                row.samples = 0;
            }
        }
        assert_eq!(met(&aims_of(&m), AimId::GrowthCalls), None);
    }

    fn aims_of(m: &Measurements) -> Vec<Aim> {
        aims(m)
    }

    #[test]
    fn an_empty_run_measures_nothing() {
        let aims = aims(&Measurements::default());
        assert!(aims.iter().all(|a| a.met.is_none()), "{aims:?}");
        assert!(
            aims.iter()
                .all(|a| a.measured == "not measured in this run")
        );
    }

    #[test]
    fn thresholds_are_inclusive_where_the_issue_says_at_most() {
        let mut m = fixture();
        m.sizes[0].arm64_zip = Some(MIB);
        m.sizes[1].arm64_zip = Some(5 * MIB / 2 + 1);
        m.functions[1].cold_ms = vec![10.0; 20];
        m.functions[0].peak_rss_kib = 16 * 1024 + 1;
        let aims = aims(&m);
        assert_eq!(met(&aims, AimId::ZipWithoutSdk), Some(true));
        assert_eq!(met(&aims, AimId::ZipWithSdk), Some(false));
        assert_eq!(met(&aims, AimId::ColdMedian), Some(true));
        assert_eq!(met(&aims, AimId::WarmRss), Some(false));
    }

    #[test]
    fn the_report_has_every_section_and_explains_misses() {
        let m = fixture();
        let text = render(
            &m,
            Some("docs/bench/bench.svg"),
            &[(AimId::ColdMedian, "because the fixture says so".to_owned())],
        );
        for needle in [
            "# Benchmarks\n",
            "`cargo xtask bench` on 2025-01-02 03:04 UTC (commit `abc1234`",
            "![cold starts, warm latency and throughput](docs/bench/bench.svg)",
            "| cold start median ≤ 10 ms, every function | slowest: create-note, 12.5 ms | **missed** |",
            "- **cold start median ≤ 10 ms, every function** (slowest: create-note, 12.5 ms): because the fixture says so",
            "No analysis was recorded for this aim.",
            "- nothing, really",
            "| me | no | 0.86 MiB | 900000 | 1.91 MiB | 2000000 |",
            "| create-note | `POST /notes` | Rust (provided.al2023) | 20 | 12.5 | 12.5 | 12.5 | 12.1 | 16× |",
            "| me (Python) | `GET /me` | Python 3 + awslambdaric | 20 | 200 | 200 | 200 | 198 |  |",
            "takes 3.00 ms (median of 2)",
            "| `GET /me` | local gateway (JWT verified) | 32 | 4,000 | 1.50 | 3.00 | 40000 | 0 | 200×40000 |",
            "`GET /me` at 32: 1.3×",
            "| `verify_id_token` | 25.00 | 24.90 – 25.10 | 40,000 |",
            "| unchanged | 0 | 3 | 0.060 | 0.070 | 1.30 | 22× |",
            "| me | Rust (provided.al2023) | 0.40 | 1 | 0.0017 | 0.20 | 0.2017 |",
            "| cold starts | 20 |",
            "## Growth: what a request costs as the notes grow",
            "| store | request | 10 notes | 100,000 notes |",
            "| filesystem | GET /notes | 1.00 (2.00) | 1.50 (3.00) |",
            "| dynamodb | GET /admin/stats | 1 BatchGetItem | 1 BatchGetItem |",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("Quick run"));
        // Rows sorted by route, then clients, then server.
        let at_1 = text.find("| `GET /me` | local gateway (JWT verified) | 1 |");
        let at_32 = text.find("| `GET /me` | local gateway (JWT verified) | 32 |");
        assert!(at_1 < at_32, "{text}");
    }

    #[test]
    fn a_quick_run_says_so() {
        let mut m = fixture();
        m.meta.quick = true;
        let text = render(&m, None, &[]);
        assert!(text.contains("`cargo xtask bench --quick`"));
        assert!(text.contains("> **Quick run**"));
        assert!(!text.contains("!["));
    }

    #[test]
    fn rendering_is_deterministic() {
        let m = fixture();
        assert_eq!(render(&m, None, &[]), render(&m, None, &[]));
    }
}
