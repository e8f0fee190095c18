//! Every loopback server of the stack (the gateway, the issuer with the dev pages, each
//! function instance's Runtime API) answers only requests addressed to itself: a `Host` of
//! `127.0.0.1:PORT` or `localhost:PORT` with its own port (case-insensitive; the URI's authority,
//! when the request line has one, must be one of those too). Anything else gets a 403 before
//! any handler runs: a JSON `{"message":"Forbidden"}` like API Gateway's other errors, or an
//! HTML page for the issuer. This stops DNS rebinding: a web page on `evil.example` that
//! re-points its name at 127.0.0.1 can reach a loopback port, but its requests carry
//! `Host: evil.example:PORT`, so it can read nothing (the mailbox's codes, a token).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// How a refused request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `{"message":"Forbidden"}`, as API Gateway answers.
    Json,
    /// An HTML page saying which hosts are served.
    Html,
}

#[derive(Debug, Clone, Copy)]
struct Guard {
    port: u16,
    refusal: Refusal,
}

/// `router`, answering only requests addressed to `127.0.0.1:port` or `localhost:port`.
pub fn guard(router: Router, port: u16, refusal: Refusal) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        Guard { port, refusal },
        check,
    ))
}

/// Whether `host` (a `Host` value or a URI authority) is `127.0.0.1:port` or `localhost:port`.
fn is_own(host: &str, port: u16) -> bool {
    let Some((name, given)) = host.rsplit_once(':') else {
        return false;
    };
    given == port.to_string() && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
}

/// Whether a request with these headers and URI is addressed to this server: exactly one
/// `Host` that [`is_own`] (or none, with an own authority in the URI, as in HTTP/2), and no
/// other authority in the URI.
pub fn addressed_to(headers: &HeaderMap, uri: &Uri, port: u16) -> bool {
    let authority_ok = uri.authority().is_none_or(|a| is_own(a.as_str(), port));
    let mut hosts = headers.get_all(HOST).iter();
    let host_ok = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().is_ok_and(|host| is_own(host, port)),
        (None, None) => uri.authority().is_some(),
        _ => false,
    };
    authority_ok && host_ok
}

async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if addressed_to(request.headers(), request.uri(), guard.port) {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
        .unwrap_or_default();
    tracing::warn!(
        target: "local_aws::hostcheck",
        "refused a request for Host {host:?} on port {} (only 127.0.0.1:{0} and localhost:{0} are served)",
        guard.port
    );
    match guard.refusal {
        Refusal::Json => (
            StatusCode::FORBIDDEN,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            r#"{"message":"Forbidden"}"#,
        )
            .into_response(),
        Refusal::Html => (
            StatusCode::FORBIDDEN,
            [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Html(format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Wrong host</title></head><body><h1>Wrong host</h1>\
                 <p>This local server answers only requests for http://127.0.0.1:{0} or \
                 http://localhost:{0}. Open it by one of those addresses.</p></body></html>\n",
                guard.port
            )),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(hosts: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for host in hosts {
            if let Ok(value) = HeaderValue::from_str(host) {
                map.append(HOST, value);
            }
        }
        map
    }

    #[test]
    fn only_the_own_loopback_names_and_port_are_served() {
        let path: Uri = "/mailbox".parse().unwrap_or_default();
        for host in ["127.0.0.1:3002", "localhost:3002", "LocalHost:3002"] {
            assert!(addressed_to(&headers(&[host]), &path, 3002), "{host}");
        }
        for hosts in [
            &["evil.example:3002"][..],
            &["127.0.0.1:3001"],
            &["127.0.0.1"],
            &["localhost"],
            &["127.0.0.2:3002"],
            &["[::1]:3002"],
            &["0.0.0.0:3002"],
            &["localhost.evil.example:3002"],
            &["127.0.0.1:3002", "127.0.0.1:3002"],
            &[],
            &[""],
        ] {
            assert!(!addressed_to(&headers(hosts), &path, 3002), "{hosts:?}");
        }
        let absolute: Uri = "http://evil.example:3002/mailbox"
            .parse()
            .unwrap_or_default();
        assert!(!addressed_to(
            &headers(&["127.0.0.1:3002"]),
            &absolute,
            3002
        ));
        let own: Uri = "http://localhost:3002/mailbox".parse().unwrap_or_default();
        assert!(addressed_to(&headers(&[]), &own, 3002));
    }
}
