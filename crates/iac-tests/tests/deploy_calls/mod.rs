//! What a deploy asks AWS for, checked against the deploy role's policy: a recording reverse
//! proxy in front of moto server, the mapping from each recorded request to its IAM action and
//! resource ARN, and an evaluator for the role's (Allow-only, condition-free) policy document.
//!
//! moto server does not enforce IAM per request: it does so only for all clients at once
//! (`/moto-api/reset-auth`), and then checks every Lambda call against the resource `*`, so a
//! policy scoped to function ARNs is refused everything (moto 5.2.1, `core/responses.py`
//! `call_action`). The proxy makes the check here instead: every call the deploy made, with
//! the ARN AWS would authorize it against.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One request that went through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `GET`, `PUT`, …
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The service from the SigV4 credential scope (`s3`, `lambda`, …).
    pub service: String,
}

/// A reverse proxy on a loopback port that forwards every request to `upstream` and records it.
pub struct RecordingProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl RecordingProxy {
    /// Starts the proxy in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind the recording proxy: {e}"))?;
        let url = listener
            .local_addr()
            .map(|a| format!("http://{a}"))
            .map_err(|e| format!("the recording proxy's address: {e}"))?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| format!("an HTTP client: {e}"))?,
            calls: Arc::clone(&calls),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            // Ends when the task is aborted (on drop).
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, calls, task })
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Headers that belong to one hop, not to the request.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "content-length"
            | "upgrade"
            | "expect"
    )
}

async fn forward(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let service = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("?")
        .to_owned();
    if let Ok(mut calls) = shared.calls.lock() {
        calls.push(Call {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            service,
        });
    }
    let target = format!(
        "{}{}",
        shared.upstream,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = shared.http.request(method.clone(), &target).body(body);
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            request = request.header(name, value);
        }
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    };
    let status = upstream.status();
    let mut response_headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        // HEAD answers carry the object's length with no body: keep it.
        let keep_length = method == Method::HEAD && name.as_str() == "content-length";
        if keep_length || !hop_by_hop(name) {
            response_headers.append(name.clone(), value.clone());
        }
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    (status, response_headers, bytes).into_response()
}

/// The IAM action and resource ARN AWS authorizes `call` against, for the calls the deploy
/// tool makes (S3 path-style, as against an emulator; Lambda's REST API, version 2015-03-31).
/// `None` for anything else.
///
/// S3: HeadBucket needs `s3:ListBucket` on the bucket; HeadObject and GetObject need
/// `s3:GetObject` on the object; PutObject `s3:PutObject` (Amazon S3 API Reference, each
/// operation's "Permissions"). Lambda: the action is the operation's name, the resource the
/// function's ARN, qualified when the request names a version or alias (AWS Lambda Developer
/// Guide, "Fine-tuning the Resources and Conditions sections of policies").
pub fn iam_request(call: &Call, region: &str, account: &str) -> Option<(String, String)> {
    let segments: Vec<String> = call
        .path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let query: Vec<(String, String)> = call
        .query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match call.service.as_str() {
        "s3" => {
            // `x-id` only names the operation for the SDK; any other parameter is a
            // subresource (?versioning, ?acl, …), which the deploy never asks for.
            if query.iter().any(|(k, _)| k != "x-id") {
                return None;
            }
            let (bucket, key) = segments.split_first()?;
            let key = key.join("/");
            let object = format!("arn:aws:s3:::{bucket}/{key}");
            match (call.method.as_str(), key.is_empty()) {
                ("HEAD", true) => Some(("s3:ListBucket".into(), format!("arn:aws:s3:::{bucket}"))),
                ("HEAD" | "GET", false) => Some(("s3:GetObject".into(), object)),
                ("PUT", false) => Some(("s3:PutObject".into(), object)),
                _ => None,
            }
        }
        "lambda" => {
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            let ["2015-03-31", "functions", name, rest @ ..] = segments.as_slice() else {
                return None;
            };
            let function = format!("arn:aws:lambda:{region}:{account}:function:{name}");
            let qualified = |qualifier: Option<String>| match qualifier {
                Some(q) => format!("{function}:{q}"),
                None => function.clone(),
            };
            let (action, resource) = match (call.method.as_str(), rest) {
                ("GET", []) => ("GetFunction", qualified(param("Qualifier"))),
                ("GET", ["configuration"]) => {
                    ("GetFunctionConfiguration", qualified(param("Qualifier")))
                }
                ("PUT", ["code"]) => ("UpdateFunctionCode", function.clone()),
                ("POST", ["versions"]) => ("PublishVersion", function.clone()),
                ("GET", ["versions"]) => ("ListVersionsByFunction", function.clone()),
                ("GET", ["aliases", alias]) => ("GetAlias", format!("{function}:{alias}")),
                ("PUT", ["aliases", alias]) => ("UpdateAlias", format!("{function}:{alias}")),
                _ => return None,
            };
            Some((format!("lambda:{action}"), resource))
        }
        _ => None,
    }
}

/// Whether the identity policy `policy` allows `action` on `resource`: some `Allow` statement
/// matches both and no `Deny` does (IAM User Guide, "Policy evaluation logic", for one identity
/// policy and no other policy types). Statements with `Condition`, `NotAction`, `NotResource`
/// or `Principal` are not evaluated here: they make the answer `Err`.
pub fn allows(policy: &Value, action: &str, resource: &str) -> Result<bool, String> {
    let mut allowed = false;
    for statement in statements(policy) {
        for unsupported in ["Condition", "NotAction", "NotResource", "Principal"] {
            if statement.get(unsupported).is_some() {
                return Err(format!(
                    "the policy has a statement with {unsupported}, which this check does not \
                     evaluate: {statement}"
                ));
            }
        }
        // Action names are case-insensitive, ARNs are not.
        let action_matches = strings(&statement["Action"])
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()));
        let resource_matches = strings(&statement["Resource"])
            .iter()
            .any(|r| glob(r, resource));
        if action_matches && resource_matches {
            match statement["Effect"].as_str() {
                Some("Allow") => allowed = true,
                Some("Deny") => return Ok(false),
                other => return Err(format!("a statement with Effect {other:?}: {statement}")),
            }
        }
    }
    Ok(allowed)
}

/// IAM's wildcard match: `*` any run of characters (also none), `?` exactly one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic iterative match with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![&policy["Statement"]],
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `%XX` escapes decoded (a `+` stays a `+`), invalid UTF-8 replaced.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, service: &str, path: &str, query: Option<&str>) -> Call {
        Call {
            method: method.into(),
            path: path.into(),
            query: query.map(str::to_owned),
            service: service.into(),
        }
    }

    #[test]
    fn requests_map_to_actions_and_arns() {
        let f = "arn:aws:lambda:us-east-1:123456789012:function:p-health";
        let cases = [
            (
                call("HEAD", "s3", "/b", None),
                Some(("s3:ListBucket", "arn:aws:s3:::b".to_owned())),
            ),
            (
                call("GET", "s3", "/b/deploy/stack.json", Some("x-id=GetObject")),
                Some((
                    "s3:GetObject",
                    "arn:aws:s3:::b/deploy/stack.json".to_owned(),
                )),
            ),
            (
                call("HEAD", "s3", "/b/health/ab%20c.zip", None),
                Some(("s3:GetObject", "arn:aws:s3:::b/health/ab c.zip".to_owned())),
            ),
            (
                call("PUT", "s3", "/b/health/x.zip", Some("x-id=PutObject")),
                Some(("s3:PutObject", "arn:aws:s3:::b/health/x.zip".to_owned())),
            ),
            (call("GET", "s3", "/b", Some("versioning")), None),
            (call("DELETE", "s3", "/b/k", None), None),
            (
                call("GET", "lambda", "/2015-03-31/functions/p-health", None),
                Some(("lambda:GetFunction", f.to_owned())),
            ),
            (
                call(
                    "GET",
                    "lambda",
                    "/2015-03-31/functions/p-health/configuration",
                    Some("Qualifier=%24LATEST"),
                ),
                Some(("lambda:GetFunctionConfiguration", format!("{f}:$LATEST"))),
            ),
            (
                call(
                    "PUT",
                    "lambda",
                    "/2015-03-31/functions/p-health/aliases/live",
                    None,
                ),
                Some(("lambda:UpdateAlias", format!("{f}:live"))),
            ),
            (
                call(
                    "POST",
                    "lambda",
                    "/2015-03-31/functions/p-health/versions",
                    None,
                ),
                Some(("lambda:PublishVersion", f.to_owned())),
            ),
            (
                call("DELETE", "lambda", "/2015-03-31/functions/p-health", None),
                None,
            ),
            (call("GET", "iam", "/", None), None),
        ];
        for (call, want) in cases {
            let got = iam_request(&call, "us-east-1", "123456789012");
            let want = want.map(|(a, r)| (a.to_owned(), r));
            assert_eq!(got, want, "{call:?}");
        }
    }

    #[test]
    fn the_policy_is_evaluated_like_iam() {
        let policy = serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/health/*", "arn:aws:s3:::b/deploy/stack.json"]},
            {"Effect": "Allow", "Action": "lambda:*", "Resource": "arn:aws:lambda:r:1:function:f"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/health/secret"},
        ]});
        for (action, resource, want) in [
            ("s3:GetObject", "arn:aws:s3:::b/deploy/stack.json", true),
            ("S3:getobject", "arn:aws:s3:::b/health/x.zip", true),
            ("s3:GetObject", "arn:aws:s3:::b/deploy/other.json", false),
            ("s3:PutObject", "arn:aws:s3:::b/deploy/stack.json", false),
            ("s3:GetObject", "arn:aws:s3:::b/health/secret", false),
            ("lambda:UpdateAlias", "arn:aws:lambda:r:1:function:f", true),
            (
                "lambda:UpdateAlias",
                "arn:aws:lambda:r:1:function:f:live",
                false,
            ),
            ("lambda:UpdateAlias", "arn:aws:lambda:r:1:function:g", false),
        ] {
            assert_eq!(
                allows(&policy, action, resource),
                Ok(want),
                "{action} {resource}"
            );
        }
        let conditional = serde_json::json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}});
        assert!(allows(&conditional, "s3:GetObject", "arn:aws:s3:::b/k").is_err());
    }

    #[test]
    fn globs_match_like_iam() {
        for (pattern, text, want) in [
            ("*", "", true),
            ("a*", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abcd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            (
                "arn:*:function:f:*",
                "arn:aws:lambda:r:1:function:f:live",
                true,
            ),
            ("arn:*:function:f:*", "arn:aws:lambda:r:1:function:f", false),
            ("abc", "abc", true),
            ("abc", "abd", false),
        ] {
            assert_eq!(glob(pattern, text), want, "{pattern} {text}");
        }
    }
}
