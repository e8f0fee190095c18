//! Why a run missed an aim and what would close it, written from the measurements themselves
//! (the figures quoted are this run's). [`crate::report::render`] shows the text of the aims
//! that were missed; the causes are the ones found while building the bench.

use crate::model::{GrowthRow, Measurements, Runtime, Server};
use crate::report::{AimId, P99_CONCURRENCY, P99_ROUTE, growth_spans, throughput_ratios};
use crate::stats::{Summary, fmt_count, fmt_mib, fmt_ms, fmt_ratio, fmt_secs, ratio};

/// An explanation for each aim this run can explain (the report shows those that missed).
#[must_use]
pub fn explain(m: &Measurements) -> Vec<(AimId, String)> {
    let mut out = Vec::new();
    let cold = |name: &str| {
        m.functions
            .iter()
            .find(|f| f.function == name)
            .map(|f| Summary::of(&f.cold_ms).median)
    };
    let binary = |name: &str| {
        m.sizes
            .iter()
            .find(|s| s.function == name)
            .and_then(|s| s.x86_64_binary)
    };

    let sdk_binary = m
        .sizes
        .iter()
        .filter(|s| s.with_sdk)
        .filter_map(|s| s.x86_64_binary)
        .max();
    out.push((
        AimId::ColdMedian,
        format!(
            "the slowest functions are the ones linking the AWS SDK: a larger binary to map and \
             relocate at exec ({} on x86_64 against {} for `me`, with about three times the \
             dynamic relocations) and the notes service to set up before the first \
             `invocation/next`. Closing it: build the store lazily on the first request that \
             needs it, and shrink the binaries (see the zip aims).",
            sdk_binary.map_or_else(|| "n/a".to_owned(), fmt_mib),
            binary("me").map_or_else(|| "n/a".to_owned(), fmt_mib),
        ),
    ));

    let python = m
        .functions
        .iter()
        .find(|f| f.runtime == Runtime::Python)
        .map(|f| Summary::of(&f.cold_ms).median);
    if let Some(py) = python {
        let below: Vec<String> = m
            .functions
            .iter()
            .filter(|f| f.runtime == Runtime::Rust)
            .filter_map(|f| {
                let r = ratio(py, Summary::of(&f.cold_ms).median)?;
                (r < 10.0).then(|| format!("{} {}", f.function, fmt_ratio(Some(r))))
            })
            .collect();
        let me = cold("me").and_then(|me| ratio(py, me));
        out.push((
            AimId::ColdVsPython,
            format!(
                "the Python handler starts in {} ms here, far below the ~77 ms published for a \
                 Python 3.12 hello world on Lambda: this machine has the interpreter, \
                 `awslambdaric` and its C extension in the page cache and no sandbox to set up, \
                 and the handler imports only `json` — the emulator takes away most of what \
                 makes Python slow to start on AWS, while the Rust binaries' cost (exec, \
                 relocation, runtime set-up) stays. Like for like, `me` against the Python \
                 `GET /me` is {}. The functions below 10× ({}) are the ones linking the AWS SDK: \
                 each spends one to two milliseconds more than `me` before its first answer \
                 (see \"median − warm p50\"): a binary three times larger to map and \
                 relocate, and the notes service to build. Closing it: build the store lazily \
                 on the first request that needs it, trim `aws-config` to the credential \
                 providers Lambda uses, and shrink the binaries (see the zip aims).",
                fmt_ms(py),
                fmt_ratio(me),
                if below.is_empty() {
                    "none".to_owned()
                } else {
                    below.join(", ")
                }
            ),
        ));
    }

    let largest_plain = m
        .sizes
        .iter()
        .filter(|s| !s.with_sdk)
        .filter_map(|s| s.arm64_zip.map(|z| (s.function.as_str(), z)))
        .max_by_key(|&(_, z)| z);
    if let Some((function, zip)) = largest_plain {
        out.push((
            AimId::ZipWithoutSdk,
            format!(
                "{function}'s zip is {} ({} bytes over 1 MiB). Nothing of the SDK is in it (no \
                 `aws-sdk`/`x-amz` strings in the binary; a function without access to the notes \
                 table links neither `notes` nor the SDK, a tidy test checks it), so the bytes are tokio, \
                 hyper (`lambda_http`), serde and `tracing-subscriber` — whose `env-filter` \
                 feature brings `regex-automata` and `matchers` only to parse `LOG_LEVEL`. \
                 Closing it: a plain level filter instead of `EnvFilter` in `http-api`'s \
                 logging, or `opt-level = \"z\"` for the release profile (7 % smaller than \
                 `\"s\"` when the profile was chosen, README, \"Release profile\"); 7 % of this \
                 zip is far more than the few KiB over. Neither has been measured yet.",
                fmt_mib(zip),
                zip.saturating_sub(crate::stats::MIB)
            ),
        ));
    }
    out.push((
        AimId::ZipWithSdk,
        "the SDK functions link `aws-sdk-dynamodb`, `aws-config` and their credential providers \
         (SSO, STS, process). Closing it: features of `aws-config` trimmed to the environment and \
         web-identity providers Lambda needs, and `opt-level = \"z\"`."
            .to_owned(),
    ));
    out.push((
        AimId::WarmRss,
        "the largest instance is one that buffered the most notes; bounding the list page \
         size and streaming the store's reads would bring it down."
            .to_owned(),
    ));

    if let Some(w) = m.warm.iter().find(|w| {
        w.server == Server::Gateway && w.route == P99_ROUTE && w.concurrency == P99_CONCURRENCY
    }) {
        let one = m
            .warm
            .iter()
            .find(|x| x.server == Server::Gateway && x.route == P99_ROUTE && x.concurrency == 1);
        out.push((
            AimId::GatewayP99,
            format!(
                "with {} clients in a closed loop each waits for its answer before sending \
                 again, so by Little's law the mean latency is clients ÷ throughput: \
                 {} ÷ {:.0} req/s = {} ms, and p99 sits above that. The machine has 2 cores \
                 for the clients, the gateway (HTTP, JWT verification, event building, two \
                 Runtime API round trips per request) and the function instances together; \
                 one client alone gets p99 {} ms. A p99 of 5 ms at 32 clients needs about \
                 {:.0} req/s here. Closing it: more cores than clients' worth of work (API \
                 Gateway runs on its own fleet, not on the function's machine), or cheaper \
                 requests through the emulator (a persistent connection per instance instead \
                 of an HTTP round trip for `invocation/next` and one for the response); an \
                 open-loop load below saturation would measure the service time instead of the \
                 queue.",
                w.concurrency,
                w.concurrency,
                w.rps(),
                fmt_ms(w.concurrency as f64 / w.rps().max(1.0) * 1000.0),
                one.map_or_else(|| "n/a".to_owned(), |o| fmt_ms(o.p99_ms)),
                w.concurrency as f64 / 0.004,
            ),
        ));
    }

    let ratios = throughput_ratios(m);
    if !ratios.is_empty() {
        let below: Vec<String> = ratios
            .iter()
            .filter(|(_, _, r)| *r < 1.0)
            .map(|(route, c, r)| format!("`{route}` at {c}: {}", fmt_ratio(Some(*r))))
            .collect();
        out.push((
            AimId::ThroughputVsWatch,
            format!(
                "below: {}. Both run the same release binaries with 4 instances; per request \
                 the gateway also verifies the RS256 token (~{} µs on one core, see below), \
                 builds the payload 2.0 event and matches the route, work `cargo lambda watch`'s \
                 Invoke API skips because it gets the finished event. Where the function itself \
                 is cheap (`/health`, `/me`), that extra work is a large share of the request. \
                 Closing it: cache verified tokens (by signature, until `exp`) in the gateway, \
                 and build the event without an intermediate `serde_json::Value`.",
                if below.is_empty() {
                    "none".to_owned()
                } else {
                    below.join("; ")
                },
                m.jwt.as_ref().map_or_else(
                    || "n/a".to_owned(),
                    |j| format!("{:.0}", j.mean_ns / 1000.0)
                ),
            ),
        ));
    }

    if let Some(d) = &m.deploy {
        let call = Summary::of(&d.call_ms).median;
        let unchanged = d
            .scenarios
            .iter()
            .find(|s| s.changed == 0)
            .map(|s| Summary::of(&s.ours_s).median);
        let naive = Summary::of(&d.naive_s).median;
        // One GetFunctionConfiguration(Qualifier=live) a function and the one call besides them
        // the count always had (HeadBucket and two reads a function are gone from it).
        let calls_ours = 1 + d.functions;
        let calls_naive = 5 * d.functions;
        let text = format!(
            "on moto every call is a local round trip of about {} ms and nothing is slow the \
             way AWS is: uploading {} over loopback is nearly free and moto reports \
             `LastUpdateStatus: Successful` at once, so the naive path ({} calls, one after \
             the other, {} s) costs hardly more than our unchanged check ({} reads, 4 at a \
             time, {} s; moto answers one call at a time, so the concurrency buys little). \
             The ratio measured here is therefore about the ratio of call counts. Against AWS \
             the naive path also pays the upload of every zip (seconds at typical uplink \
             speeds) and several seconds per function until the update is `Successful`, while \
             the unchanged path stays at its reads: one `GetFunctionConfiguration(Qualifier=live)` \
             per function (it carries `CodeSha256` and the architecture), and no bucket check \
             when nothing changed. With every function changed ({}), the engine makes more calls than the naive \
             path (the comparison reads, HeadObject, the `CodeSha256` checks after the update \
             and the publish): on an emulator where uploads are free, that safety costs more \
             than its concurrency saves.",
            fmt_ms(call),
            fmt_mib(d.total_zip_bytes),
            calls_naive,
            fmt_secs(naive),
            calls_ours,
            unchanged.map_or_else(|| "n/a".to_owned(), fmt_secs),
            d.scenarios
                .iter()
                .find(|s| s.changed == d.functions && s.changed > 0)
                .map_or_else(
                    || "not measured in this run".to_owned(),
                    |s| {
                        let ours = Summary::of(&s.ours_s).median;
                        format!(
                            "{} s, naive ÷ ours {}",
                            fmt_secs(ours),
                            fmt_ratio(ratio(naive, ours))
                        )
                    }
                ),
        );
        out.push((AimId::RedeployVsNaive, text.clone()));
        out.push((AimId::RedeployTime, text));
    }

    let grown: Vec<String> = growth_spans(m, true, GrowthRow::calls_per_request)
        .into_iter()
        .filter(|s| s.last > s.first + 1e-9)
        .map(|s| {
            format!(
                "{} on {} from {} to {} calls",
                s.request,
                s.store,
                fmt_count(s.first),
                fmt_count(s.last)
            )
        })
        .collect();
    if !grown.is_empty() {
        out.push((
            AimId::GrowthCalls,
            format!(
                "{}. A page is meant to be one `Query` (`Limit` = page + 1, the cursor as \
                 `ExclusiveStartKey`) and the count one `BatchGetItem` of the counter shards \
                 whatever the table holds; a count of calls that grows with the notes means \
                 the store reads something per note or per page of notes: the operations in \
                 the growth table below say which.",
                grown.join("; ")
            ),
        ));
    }
    let slowed: Vec<String> = growth_spans(m, false, |r| r.p50_ms)
        .into_iter()
        .filter(|s| s.store == "filesystem")
        .filter_map(|s| {
            let r = ratio(s.last, s.first)?;
            (r > 2.0).then(|| {
                format!(
                    "{} from {} ms to {} ms ({})",
                    s.request,
                    fmt_ms(s.first),
                    fmt_ms(s.last),
                    fmt_ratio(Some(r))
                )
            })
        })
        .collect();
    if !slowed.is_empty() {
        out.push((
            AimId::GrowthTime,
            format!(
                "{}. The filesystem store reads no note it does not return: a page binary-searches \
                 the owner's sorted index (26 bytes a note) and reads its records, the count adds \
                 one index length per owner; what is left to grow is the filesystem's own cost \
                 of a directory holding every note of the owner (each page opens its notes by \
                 name there) and the index's size in the page cache.",
                slowed.join("; ")
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The explanation `explain` gave for `id`, empty when it gave none.
    fn text_of(text: &[(AimId, String)], id: AimId) -> String {
        text.iter()
            .find(|(i, _)| *i == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    }

    #[test]
    fn misses_are_explained_with_this_runs_figures() {
        let m = crate::report::tests::fixture();
        let text = explain(&m);
        let of = |id: AimId| text_of(&text, id);
        // 32 clients ÷ 4,000 req/s = 8 ms.
        assert!(
            of(AimId::GatewayP99).contains("32 ÷ 4000 req/s = 8.00 ms"),
            "{text:?}"
        );
        assert!(of(AimId::GatewayP99).contains("one client alone gets p99 1.00 ms"));
        assert!(of(AimId::ThroughputVsWatch).contains("`GET /me` at 1: 0.91×"));
        assert!(of(AimId::ThroughputVsWatch).contains("~25 µs"));
        assert!(of(AimId::ColdVsPython).contains("Python handler starts in 200 ms"));
        assert!(of(AimId::ColdVsPython).contains("`GET /me` is 50×"));
        assert!(of(AimId::RedeployVsNaive).contains("about 3.00 ms"));
        assert!(of(AimId::RedeployVsNaive).contains("(10 calls, one after the other, 1.30 s)"));
        assert!(of(AimId::ZipWithoutSdk).starts_with("me's zip is 0.86 MiB (0 bytes over"));
        // The fixture's growth is flat: nothing to explain.
        assert_eq!(of(AimId::GrowthCalls), "");
        assert_eq!(of(AimId::GrowthTime), "");
        let mut grown = m.clone();
        for row in grown.growth.iter_mut().filter(|r| r.notes == 100_000) {
            if row.request == "GET /notes" {
                row.calls.insert("GetItem".to_owned(), 20.0);
                row.p50_ms = 9.0;
            }
        }
        let text = explain(&grown);
        let of = |id: AimId| text_of(&text, id);
        assert!(
            of(AimId::GrowthCalls).starts_with("GET /notes on dynamodb from 1 to 21 calls."),
            "{text:?}"
        );
        assert!(
            of(AimId::GrowthTime).starts_with("GET /notes from 1.00 ms to 9.00 ms (9.0×)."),
            "{text:?}"
        );
    }
}
