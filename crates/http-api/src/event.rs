//! API Gateway HTTP API payload format 2.0 (feature `event`): the event a function receives and
//! the response it may return, as AWS documents them ("Working with AWS Lambda proxy
//! integrations for HTTP APIs"). The one builder of the event: the local gateway calls [`build`]
//! with a live request, the bench with planned ones, and [`crate::testing::Event`] with the
//! parts a test names.
//!
//! Request side: lower-case header names, repeated headers joined with commas, the `cookie`
//! header moved to `cookies`, repeated query parameters joined with commas, `pathParameters`
//! decoded, `requestContext` with the authorizer's claims (strings), and the body base64-encoded
//! unless it is text. Response side: an object with `statusCode` is a full response (headers,
//! `cookies`, `body`, `isBase64Encoded`); anything else that is valid JSON is the body of a 200
//! `application/json` response.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::http::{self, HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

/// What the authorizer established about the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authorizer {
    /// The token's claims in API Gateway's string form.
    pub claims: HashMap<String, String>,
    /// The token's scopes when the route requires scopes (else `None`, shown as `null`).
    pub scopes: Option<Vec<String>>,
}

/// Where the request arrived, for `requestContext`.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The AWS account id (`requestContext.accountId`).
    pub account_id: &'a str,
    /// The API id.
    pub api_id: &'a str,
    /// The host the request was sent to (`domainName`; its first label is `domainPrefix`).
    pub domain_name: &'a str,
    /// The stage, `$default` locally.
    pub stage: &'a str,
    /// The caller's address.
    pub source_ip: String,
    /// The request id (`requestContext.requestId`).
    pub request_id: &'a str,
    /// When it arrived.
    pub time: chrono::DateTime<chrono::Utc>,
}

/// The request as the gateway received it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The raw path, as sent (percent-encoded).
    pub raw_path: &'a str,
    /// The raw query string, without `?`.
    pub raw_query: &'a str,
    /// The HTTP version, e.g. `HTTP/1.1`.
    pub protocol: &'a str,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
    /// How the body goes into the event.
    pub encoding: BodyEncoding,
}

/// How a request body goes into the event's `body`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyEncoding {
    /// As API Gateway does: as it is when the content type is text and the bytes are UTF-8,
    /// else base64 with `isBase64Encoded: true`.
    #[default]
    ByContentType,
    /// As text, whatever the content type (invalid UTF-8 replaced).
    Text,
    /// Base64, whatever the content type.
    Base64,
}

/// Why [`header_map`] could not build a header map.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an HTTP header: {name:?}: {value:?}")]
pub struct InvalidHeader {
    /// The name given.
    pub name: String,
    /// The value given.
    pub value: String,
}

/// A header map from `(name, value)` pairs, repeated names kept in order.
///
/// # Errors
/// [`InvalidHeader`] for a name or value HTTP does not allow.
pub fn header_map<N: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (N, V)>,
) -> Result<HeaderMap, InvalidHeader> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let (name, value) = (name.as_ref(), value.as_ref());
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            _ => {
                return Err(InvalidHeader {
                    name: name.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
    }
    Ok(map)
}

/// Builds the payload 2.0 event for `request` matched to `route_key`.
#[must_use]
pub fn build(
    request: &Request<'_>,
    route_key: &str,
    path_parameters: &HashMap<String, String>,
    authorizer: Option<&Authorizer>,
    context: &Context<'_>,
) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let domain_prefix = context.domain_name.split('.').next().unwrap_or_default();
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();

    let mut event = Map::new();
    event.insert("version".into(), "2.0".into());
    event.insert("routeKey".into(), route_key.into());
    event.insert("rawPath".into(), request.raw_path.into());
    event.insert("rawQueryString".into(), request.raw_query.into());
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), json!(headers));
    let query = query_parameters(request.raw_query);
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), json!(query));
    }
    let mut request_context = json!({
        "accountId": context.account_id,
        "apiId": context.api_id,
        "domainName": context.domain_name,
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": context.source_ip,
            "userAgent": user_agent,
        },
        "requestId": context.request_id,
        "routeKey": route_key,
        "stage": context.stage,
        "time": context.time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": context.time.timestamp_millis(),
    });
    if let Some(authorizer) = authorizer {
        request_context["authorizer"] = json!({
            "jwt": {"claims": authorizer.claims, "scopes": authorizer.scopes},
        });
    }
    event.insert("requestContext".into(), request_context);
    if !path_parameters.is_empty() {
        event.insert("pathParameters".into(), json!(path_parameters));
    }
    if !request.body.is_empty() {
        let (body, encoded) = encode_body(request.headers, request.body, request.encoding);
        event.insert("body".into(), body.into());
        event.insert("isBase64Encoded".into(), encoded.into());
    } else {
        event.insert("isBase64Encoded".into(), false.into());
    }
    Value::Object(event)
}

/// `a=1&b=2&a=3` → `{"a": "1,3", "b": "2"}`, decoded like API Gateway.
#[must_use]
pub fn query_parameters(raw: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = form_decode(name);
        let value = form_decode(value);
        out.entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

fn form_decode(text: &str) -> String {
    function_table::matcher::decode(&text.replace('+', " "))
}

/// By content type: text bodies go as they are, anything else (or invalid UTF-8)
/// base64-encoded.
fn encode_body(headers: &HeaderMap, body: &[u8], encoding: BodyEncoding) -> (String, bool) {
    match encoding {
        BodyEncoding::Text => return (String::from_utf8_lossy(body).into_owned(), false),
        BodyEncoding::Base64 => return (BASE64.encode(body), true),
        BodyEncoding::ByContentType => {}
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let textual = content_type.is_empty()
        || content_type.starts_with("text/")
        || content_type.contains("json")
        || content_type.contains("xml")
        || content_type.contains("javascript")
        || content_type.starts_with("application/x-www-form-urlencoded");
    match std::str::from_utf8(body) {
        Ok(text) if textual => (text.to_owned(), false),
        _ => (BASE64.encode(body), true),
    }
}

/// An HTTP response from a function's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers, `set-cookie` from `cookies` included.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a function's answer is not a usable response (API Gateway answers 500 then).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed Lambda proxy response: {0}")]
pub struct MalformedResponse(pub String);

/// Interprets a function's answer by payload 2.0's rules.
///
/// # Errors
/// [`MalformedResponse`] when the answer is not JSON, or a `statusCode` object has a bad status,
/// header or base64 body.
pub fn response(payload: &[u8]) -> Result<Response, MalformedResponse> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| MalformedResponse(format!("not JSON: {e}")))?;
    let Some(object) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        // Anything else is the body of a 200 JSON response.
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Ok(Response {
            status: StatusCode::OK,
            headers,
            body: payload.to_vec(),
        });
    };
    let status = object["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| MalformedResponse(format!("statusCode {}", object["statusCode"])))?;
    let mut headers = HeaderMap::new();
    if let Some(map) = object.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| MalformedResponse(format!("header name {name:?}")))?;
            let value = HeaderValue::from_str(&text)
                .map_err(|_| MalformedResponse(format!("header value of {name}")))?;
            headers.append(name, value);
        }
    }
    if let Some(map) = object.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in map {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| MalformedResponse(format!("header name {name:?}")))?;
            for value in values.as_array().into_iter().flatten() {
                if let Some(Ok(value)) = value.as_str().map(HeaderValue::from_str) {
                    headers.append(name.clone(), value);
                }
            }
        }
    }
    for cookie in object
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let value = HeaderValue::from_str(cookie)
            .map_err(|_| MalformedResponse("a cookie that is not a header value".to_owned()))?;
        headers.append(http::header::SET_COOKIE, value);
    }
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(body)) => {
            if object.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                BASE64
                    .decode(body)
                    .map_err(|e| MalformedResponse(format!("body is not base64: {e}")))?
            } else {
                body.clone().into_bytes()
            }
        }
        Some(other) => other.to_string().into_bytes(),
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        header_map(pairs.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn header_maps_keep_repeats_and_refuse_what_http_does_not_allow() {
        let map = headers(&[("X-A", "1"), ("x-a", "2")]);
        assert_eq!(map.get_all("x-a").iter().count(), 2);
        assert_eq!(
            header_map([("bad name", "v")]),
            Err(InvalidHeader {
                name: "bad name".into(),
                value: "v".into()
            })
        );
        assert!(header_map([("x", "line\nbreak")]).is_err());
    }

    #[test]
    fn builds_the_documented_shape() {
        let h = headers(&[
            ("Host", "abc123.execute-api.us-east-1.amazonaws.com"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("Cookie", "c1=v1; c2=v2"),
            ("Content-Type", "application/json"),
        ]);
        let request = Request {
            method: "POST",
            raw_path: "/notes/a%20b",
            raw_query: "q=1&q=2&x=a+b",
            protocol: "HTTP/1.1",
            headers: &h,
            body: br#"{"title":"t"}"#,
            encoding: BodyEncoding::ByContentType,
        };
        let params = HashMap::from([("id".to_owned(), "a b".to_owned())]);
        let authorizer = Authorizer {
            claims: HashMap::from([("sub".to_owned(), "u1".to_owned())]),
            scopes: None,
        };
        let time = chrono::DateTime::from_timestamp_millis(1_583_348_638_390).unwrap_or_default();
        let context = Context {
            account_id: "000000000000",
            api_id: "abc123",
            domain_name: "abc123.execute-api.us-east-1.amazonaws.com",
            stage: "$default",
            source_ip: "127.0.0.1".to_owned(),
            request_id: "rid",
            time,
        };
        let event = build(
            &request,
            "POST /notes/{id}",
            &params,
            Some(&authorizer),
            &context,
        );
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "POST /notes/{id}");
        assert_eq!(event["rawPath"], "/notes/a%20b");
        assert_eq!(event["rawQueryString"], "q=1&q=2&x=a+b");
        assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
        assert_eq!(event["headers"]["x-multi"], "a,b");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(
            event["queryStringParameters"],
            json!({"q": "1,2", "x": "a b"})
        );
        assert_eq!(event["pathParameters"], json!({"id": "a b"}));
        assert_eq!(event["body"], r#"{"title":"t"}"#);
        assert_eq!(event["isBase64Encoded"], false);
        let rc = &event["requestContext"];
        assert_eq!(rc["domainPrefix"], "abc123");
        assert_eq!(rc["http"]["method"], "POST");
        assert_eq!(rc["http"]["userAgent"], "curl/8");
        assert_eq!(rc["time"], "04/Mar/2020:19:03:58 +0000");
        assert_eq!(rc["timeEpoch"], 1_583_348_638_390_i64);
        assert_eq!(rc["authorizer"]["jwt"]["claims"]["sub"], "u1");
        assert_eq!(rc["authorizer"]["jwt"]["scopes"], Value::Null);
        // The event parses as lambda_http's type would: check the keys it needs exist.
        assert!(event.get("queryStringParameters").is_some());
    }

    #[test]
    fn binary_bodies_are_base64_and_empty_ones_absent() {
        let h = headers(&[("content-type", "image/png")]);
        let request = Request {
            method: "PUT",
            raw_path: "/x",
            raw_query: "",
            protocol: "HTTP/1.1",
            headers: &h,
            body: &[0, 159, 146, 150],
            encoding: BodyEncoding::ByContentType,
        };
        let context = Context {
            account_id: "000000000000",
            api_id: "a",
            domain_name: "a",
            stage: "$default",
            source_ip: "127.0.0.1".to_owned(),
            request_id: "r",
            time: chrono::Utc::now(),
        };
        let event = build(&request, "PUT /x", &HashMap::new(), None, &context);
        assert_eq!(event["body"], "AJ+Slg==");
        assert_eq!(event["isBase64Encoded"], true);
        assert!(event.get("pathParameters").is_none());
        assert!(event["requestContext"].get("authorizer").is_none());
        let empty = Request {
            body: &[],
            ..request
        };
        let event = build(&empty, "PUT /x", &HashMap::new(), None, &context);
        assert!(event.get("body").is_none());
        // A test may force either encoding whatever the content type says.
        let forced = Request {
            body: b"{}",
            encoding: BodyEncoding::Base64,
            ..request
        };
        let event = build(&forced, "PUT /x", &HashMap::new(), None, &context);
        assert_eq!(
            (&event["body"], &event["isBase64Encoded"]),
            (&json!("e30="), &json!(true))
        );
        let text = Request {
            body: b"plain",
            encoding: BodyEncoding::Text,
            ..request
        };
        let event = build(&text, "PUT /x", &HashMap::new(), None, &context);
        assert_eq!(
            (&event["body"], &event["isBase64Encoded"]),
            (&json!("plain"), &json!(false))
        );
    }

    #[test]
    fn responses_follow_payload_2_rules() {
        let full = response(
            br#"{"statusCode":201,"headers":{"location":"/notes/1","x-n":3},"cookies":["a=1","b=2"],"body":"{}"}"#,
        );
        let Ok(full) = full else {
            panic!("{full:?}");
        };
        assert_eq!(full.status, StatusCode::CREATED);
        assert_eq!(full.headers["location"], "/notes/1");
        assert_eq!(full.headers["x-n"], "3");
        assert_eq!(full.headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(full.body, b"{}");

        let plain = response(br#"{"hello":"world"}"#);
        let Ok(plain) = plain else {
            panic!("{plain:?}");
        };
        assert_eq!(plain.status, StatusCode::OK);
        assert_eq!(plain.headers["content-type"], "application/json");
        assert_eq!(plain.body, br#"{"hello":"world"}"#);

        let binary = response(br#"{"statusCode":200,"body":"AJ+Slg==","isBase64Encoded":true}"#);
        assert_eq!(binary.map(|r| r.body), Ok(vec![0, 159, 146, 150]));

        for bad in [
            &b"not json"[..],
            br#"{"statusCode":"x"}"#,
            br#"{"statusCode":99}"#,
        ] {
            assert!(response(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
