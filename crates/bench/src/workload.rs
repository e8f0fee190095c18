//! The requests the benchmarks send each function, as payload 2.0 events built by the local
//! gateway's own [`http_api::event::build`], and the state they need: the notes created so far
//! (their ids and ETags), so that `GET`/`PUT`/`DELETE /notes/{id}` address real notes.

use std::collections::HashMap;

use crate::routes::Route;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http_api::event::{self, Authorizer, BodyEncoding, Context};
use serde_json::{Map, Value};

/// The host the planned requests are addressed to.
const HOST: &str = "bench.local";

/// The body every `POST /notes` and `PUT /notes/{id}` sends.
pub const NOTE_BODY: &str =
    r#"{"title":"bench note","body":"a note the benchmark wrote","tags":["bench"]}"#;

/// A request to one function: its method, path (`{id}` filled in), headers and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// `GET`, `POST`, …
    pub method: String,
    /// The raw path, e.g. `/notes/01J…`.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The path parameters (`id`).
    pub path_parameters: HashMap<String, String>,
    /// Request headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: String,
}

/// The callers the events claim to be, and the notes made so far.
#[derive(Clone, Debug, Default)]
pub struct Workload {
    /// The claims of an ordinary user, as API Gateway passes them (strings).
    pub user: HashMap<String, String>,
    /// The claims of a member of the `admin` group.
    pub admin: HashMap<String, String>,
    /// Notes created (id, current ETag), oldest first.
    pub notes: Vec<(String, String)>,
}

impl Workload {
    /// A workload whose callers carry `user` and `admin` claims.
    #[must_use]
    pub fn new(user: HashMap<String, String>, admin: HashMap<String, String>) -> Self {
        Self {
            user,
            admin,
            notes: Vec::new(),
        }
    }

    /// What to send `route` next.
    #[must_use]
    pub fn plan(&self, route: &Route) -> Planned {
        let (method, template) = route
            .route_key
            .split_once(' ')
            .unwrap_or(("GET", route.route_key.as_str()));
        let mut path_parameters = HashMap::new();
        let target = if method == "DELETE" {
            self.notes.last()
        } else {
            self.notes.first()
        };
        let mut path = template.to_owned();
        if template.contains("{id}") {
            let id = target.map_or("01J00000000000000000000000", |(id, _)| id.as_str());
            path = template.replace("{id}", id);
            path_parameters.insert("id".to_owned(), id.to_owned());
        }
        let mut headers = vec![
            ("host".to_owned(), HOST.to_owned()),
            ("user-agent".to_owned(), "notes-api-bench".to_owned()),
        ];
        let mut body = String::new();
        if matches!(method, "POST" | "PUT") {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            body = NOTE_BODY.to_owned();
        }
        if method == "PUT"
            && let Some((_, etag)) = target
        {
            headers.push(("if-match".to_owned(), etag.clone()));
        }
        let query = if method == "GET" && template == "/notes" {
            "limit=20".to_owned()
        } else {
            String::new()
        };
        Planned {
            method: method.to_owned(),
            path,
            query,
            path_parameters,
            headers,
            body,
        }
    }

    /// The claims an event for `route` carries (none for `auth = "none"`).
    #[must_use]
    pub fn claims_for(&self, route: &Route) -> Option<&HashMap<String, String>> {
        if !route.needs_jwt() {
            None
        } else if route.groups.iter().any(|g| g == "admin") {
            Some(&self.admin)
        } else {
            Some(&self.user)
        }
    }

    /// The payload 2.0 event for `planned` on `route`, exactly as the local gateway builds it.
    #[must_use]
    pub fn event(&self, route: &Route, planned: &Planned, request_id: &str) -> Vec<u8> {
        // The planned headers are this module's own constants and note ETags: valid headers.
        let headers =
            event::header_map(planned.headers.iter().map(|(n, v)| (n, v))).unwrap_or_default();
        let request = event::Request {
            method: &planned.method,
            raw_path: &planned.path,
            raw_query: &planned.query,
            protocol: "HTTP/1.1",
            headers: &headers,
            body: planned.body.as_bytes(),
            encoding: BodyEncoding::ByContentType,
        };
        let authorizer = self.claims_for(route).map(|claims| Authorizer {
            claims: claims.clone(),
            scopes: None,
        });
        let context = Context {
            account_id: local_aws::ACCOUNT_ID,
            api_id: "local",
            domain_name: HOST,
            stage: "$default",
            source_ip: "127.0.0.1".to_owned(),
            request_id,
            time: chrono::Utc::now(),
        };
        event::build(
            &request,
            &route.route_key,
            &planned.path_parameters,
            authorizer.as_ref(),
            &context,
        )
        .to_string()
        .into_bytes()
    }

    /// Records what a function answered: a created note is remembered, a replaced one gets its
    /// new ETag, a deleted one is forgotten.
    pub fn observe(&mut self, planned: &Planned, status: u16, headers: &HeaderMap, body: &[u8]) {
        let etag = headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match (planned.method.as_str(), status) {
            ("POST", 201) => {
                let id = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned));
                if let (Some(id), Some(etag)) = (id, etag) {
                    self.notes.push((id, etag));
                }
            }
            ("PUT", 200) => {
                if let (Some(etag), Some(id)) = (etag, planned.path_parameters.get("id"))
                    && let Some(note) = self.notes.iter_mut().find(|(n, _)| n == id)
                {
                    note.1 = etag;
                }
            }
            ("DELETE", 204) => {
                if let Some(id) = planned.path_parameters.get("id") {
                    self.notes.retain(|(n, _)| n != id);
                }
            }
            _ => {}
        }
    }
}

/// The claims of a JWT's payload (not verified: the caller minted it), in API Gateway's string
/// form.
///
/// # Errors
/// When the token is not three segments with a base64url JSON object in the middle.
pub fn claims_of_token(token: &str) -> Result<HashMap<String, String>, String> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| "not a JWT".to_owned())?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| format!("the JWT payload is not base64url: {e}"))?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the JWT payload is not a JSON object: {e}"))?;
    Ok(cognito_claims::verify::gateway_claims(&claims))
}

/// Claims of a Cognito id token for `sub`, as API Gateway would pass them, for events built
/// without a token (the cold starts); `admin` adds the `admin` group.
#[must_use]
pub fn fixed_claims(sub: &str, admin: bool) -> HashMap<String, String> {
    let now = chrono::Utc::now().timestamp();
    let mut claims: HashMap<String, String> = [
        ("sub", sub.to_owned()),
        ("token_use", "id".to_owned()),
        ("aud", local_aws::stack::LOCAL_CLIENT_ID.to_owned()),
        ("iss", "http://127.0.0.1/local".to_owned()),
        ("cognito:username", sub.to_owned()),
        ("email", format!("{sub}@example.com")),
        ("email_verified", "true".to_owned()),
        ("auth_time", now.to_string()),
        ("iat", now.to_string()),
        ("exp", (now + 3600).to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if admin {
        claims.insert("cognito:groups".to_owned(), "[admin]".to_owned());
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn route(key: &str, auth: &str, groups: &[&str]) -> Route {
        Route {
            function: "f".to_owned(),
            route_key: key.to_owned(),
            auth: auth.to_owned(),
            scopes: Vec::new(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            memory: 128,
            timeout: 10,
            uses_table: false,
        }
    }

    fn workload() -> Workload {
        Workload::new(fixed_claims("user-a", false), fixed_claims("admin-b", true))
    }

    #[test]
    fn plans_fill_in_the_note_and_its_etag() {
        let mut w = workload();
        w.notes = vec![
            ("N1".to_owned(), "\"e1\"".to_owned()),
            ("N2".to_owned(), "\"e2\"".to_owned()),
        ];
        let get = w.plan(&route("GET /notes/{id}", "jwt", &[]));
        assert_eq!(get.path, "/notes/N1");
        assert_eq!(get.path_parameters["id"], "N1");
        assert!(get.body.is_empty());
        let put = w.plan(&route("PUT /notes/{id}", "jwt", &[]));
        assert!(
            put.headers
                .contains(&("if-match".to_owned(), "\"e1\"".to_owned()))
        );
        assert_eq!(put.body, NOTE_BODY);
        let delete = w.plan(&route("DELETE /notes/{id}", "jwt", &[]));
        assert_eq!(delete.path, "/notes/N2");
        let list = w.plan(&route("GET /notes", "jwt", &[]));
        assert_eq!(
            (list.path.as_str(), list.query.as_str()),
            ("/notes", "limit=20")
        );
    }

    #[test]
    fn observing_answers_tracks_the_notes() {
        let mut w = workload();
        let post = w.plan(&route("POST /notes", "jwt", &[]));
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ETAG, HeaderValue::from_static("\"e1\""));
        w.observe(&post, 201, &headers, br#"{"id":"N1","title":"t"}"#);
        w.observe(&post, 400, &headers, br#"{"id":"N9"}"#);
        assert_eq!(w.notes, [("N1".to_owned(), "\"e1\"".to_owned())]);
        let put = w.plan(&route("PUT /notes/{id}", "jwt", &[]));
        headers.insert(http::header::ETAG, HeaderValue::from_static("\"e2\""));
        w.observe(&put, 200, &headers, b"{}");
        assert_eq!(w.notes[0].1, "\"e2\"");
        let delete = w.plan(&route("DELETE /notes/{id}", "jwt", &[]));
        w.observe(&delete, 204, &HeaderMap::new(), b"");
        assert!(w.notes.is_empty());
    }

    #[test]
    fn events_carry_the_right_claims() {
        let w = workload();
        let event_of = |r: &Route| -> Value {
            let planned = w.plan(r);
            match serde_json::from_slice(&w.event(r, &planned, "req-1")) {
                Ok(v) => v,
                Err(e) => panic!("not JSON: {e}"),
            }
        };
        let health = event_of(&route("GET /health", "none", &[]));
        assert_eq!(health["routeKey"], "GET /health");
        assert!(health["requestContext"].get("authorizer").is_none());
        let me = event_of(&route("GET /me", "jwt", &[]));
        let claims = &me["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["sub"], "user-a");
        assert!(claims.get("cognito:groups").is_none());
        let stats = event_of(&route("GET /admin/stats", "jwt", &["admin"]));
        let claims = &stats["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["cognito:groups"], "[admin]");
        let post = event_of(&route("POST /notes", "jwt", &[]));
        assert_eq!(post["body"], NOTE_BODY);
        assert_eq!(post["isBase64Encoded"], false);
        assert_eq!(post["requestContext"]["requestId"], "req-1");
    }

    #[test]
    fn claims_come_from_the_token_payload_as_strings() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"s","exp":12,"cognito:groups":["a","b"]}"#);
        let claims = claims_of_token(&format!("h.{payload}.sig"));
        let Ok(claims) = claims else {
            panic!("{claims:?}");
        };
        assert_eq!(claims["sub"], "s");
        assert_eq!(claims["exp"], "12");
        assert_eq!(claims["cognito:groups"], "[a b]");
        assert!(claims_of_token("nope").is_err());
        assert!(claims_of_token("a.!!!.c").is_err());
    }
}
