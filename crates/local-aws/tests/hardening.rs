//! Hostile input and faults through the local gateway, with the real function binaries.
//!
//! One table of cases, one `check`: every route with another user's ids and cursor, crafted
//! ids, malformed and oversized bodies, wrong content types, duplicate, missing, malformed and
//! huge headers. Each answer must be the documented 4xx (API Gateway's `{"message"}` or the
//! function's problem+json), never a 5xx, never the other user's data, and afterwards every
//! note is exactly what it was. Then the faults: an unusable filesystem store and a dead S3
//! endpoint (503 problem+json, quickly, nothing left behind), concurrent replaces with the same
//! `If-Match` (one 200, one 412; filesystem and S3 on moto), and an instance killed mid-request
//! (API Gateway's 500, then a working request).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use local_aws::stack::{LocalStack, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{
    On, PASSWORD, call, fixture_stack, http, real_config, real_stack, real_stack_on, start, tempdir,
};

/// The prefix of every problem `type` the functions answer with.
const PROBLEM_TYPE_BASE: &str = "https://notes.example/problems/";

/// A user of the local issuer: a fresh confirmed account and its id token.
fn user(stack: &LocalStack, email: &str) -> String {
    let Some(issuer) = &stack.issuer else {
        panic!("the stack has no local issuer");
    };
    if let Err(e) = issuer.admin_create_user(email, PASSWORD) {
        panic!("create {email}: {e}");
    }
    match issuer.issue_tokens(email, &["openid"]) {
        Ok(tokens) => tokens["id_token"].as_str().unwrap_or_default().to_owned(),
        Err(e) => panic!("tokens for {email}: {e}"),
    }
}

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Lower-case names, every value, in order.
    headers: Vec<(String, String)>,
    text: String,
    json: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request written byte for byte: the target is sent as given (no URL
/// normalisation of `..` or `%2e`), headers are sent in order (duplicates too), and no header
/// is added but `host`, `connection: close` and `content-length`.
async fn raw(
    api_url: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Answer {
    let address = api_url.trim_start_matches("http://").to_owned();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        let mut stream = match tokio::net::TcpStream::connect(&address).await {
            Ok(s) => s,
            Err(e) => panic!("connect to {address}: {e}"),
        };
        // A server that answers before the body is all sent may close early: read anyway.
        if stream.write_all(head.as_bytes()).await.is_ok() {
            let _ = stream.write_all(body).await;
        }
        let mut bytes = Vec::new();
        if let Err(e) = stream.read_to_end(&mut bytes).await {
            panic!("{method} {}: reading the answer: {e}", shorten(target));
        }
        bytes
    };
    let Ok(bytes) = tokio::time::timeout(Duration::from_secs(60), exchange).await else {
        panic!("{method} {}: no answer within 60 s", shorten(target));
    };
    parse_answer(&bytes).unwrap_or_else(|| {
        panic!(
            "{method} {}: not an HTTP answer: {:?}",
            shorten(target),
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
    })
}

fn parse_answer(bytes: &[u8]) -> Option<Answer> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Some(Answer {
        status,
        headers,
        text,
        json,
    })
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&body[..end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        let chunk = body.get(end + 2..end + 2 + size)?;
        out.extend_from_slice(chunk);
        body = body.get(end + 4 + size..)?;
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

/// Who sends a case: its `Authorization` header is added first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    A,
    B,
    /// No token added (the case's own headers say everything).
    Nobody,
}

/// What a case must answer.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// API Gateway's own answer: this status and `{"message": …}`.
    Gateway(u16, &'static str),
    /// The function's `application/problem+json` with this status.
    Problem(u16),
    /// A success (the caller's own data only).
    Success(u16),
}

/// One row of the matrix.
struct Case {
    what: String,
    who: Who,
    method: &'static str,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    expect: Expect,
}

/// What the matrix knows about the two users.
struct World {
    api: String,
    token_a: String,
    token_b: String,
    /// Strings that only the named user may ever see: note ids, ETags, sub, a marker.
    secrets_a: Vec<String>,
    secrets_b: Vec<String>,
}

/// Sends one case and checks its answer: never a 5xx, the expected status and shape, and
/// nothing of the user who did not send it. Returns what is wrong (empty: nothing).
async fn check(world: &World, case: &Case) -> Vec<String> {
    let mut headers = Vec::new();
    match case.who {
        Who::A => headers.push((
            "authorization".to_owned(),
            format!("Bearer {}", world.token_a),
        )),
        Who::B => headers.push((
            "authorization".to_owned(),
            format!("Bearer {}", world.token_b),
        )),
        Who::Nobody => {}
    }
    headers.extend(case.headers.iter().cloned());
    let answer = raw(&world.api, case.method, &case.target, &headers, &case.body).await;
    let label = format!(
        "{} ({:?} {} {})",
        case.what,
        case.who,
        case.method,
        shorten(&case.target)
    );
    let text = shorten(&answer.text);
    let mut wrong = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            wrong.push(format!("{label}: {what}"));
        }
    };
    expect(answer.status < 500, format!("a {}: {text}", answer.status));
    match case.expect {
        Expect::Gateway(status, message) => {
            expect(
                answer.status == status && answer.json == json!({ "message": message }),
                format!(
                    "expected API Gateway's {status} {message:?}, got {}: {text}",
                    answer.status
                ),
            );
        }
        Expect::Problem(status) => {
            let body = &answer.json;
            let shaped = answer.header("content-type") == Some("application/problem+json")
                && body["status"] == status
                && body["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(PROBLEM_TYPE_BASE))
                && body["title"].is_string()
                && body["detail"].is_string();
            expect(
                answer.status == status && shaped,
                format!(
                    "expected the function's {status} problem+json, got {} ({:?}): {text}",
                    answer.status,
                    answer.header("content-type")
                ),
            );
        }
        Expect::Success(status) => {
            expect(
                answer.status == status,
                format!("expected {status}, got {}: {text}", answer.status),
            );
        }
    }
    let others: Vec<&String> = match case.who {
        Who::A => world.secrets_b.iter().collect(),
        Who::B => world.secrets_a.iter().collect(),
        Who::Nobody => world.secrets_a.iter().chain(&world.secrets_b).collect(),
    };
    for secret in others {
        let leaked = answer.text.contains(secret.as_str())
            || answer
                .headers
                .iter()
                .any(|(_, v)| v.contains(secret.as_str()));
        expect(
            !leaked,
            format!("leaks {secret}: {text} {:?}", answer.headers),
        );
    }
    wrong
}

/// A case builder: `case("what", Who::A, "GET", "/notes").expect(…)`.
fn case(
    what: impl Into<String>,
    who: Who,
    method: &'static str,
    target: impl Into<String>,
) -> Case {
    Case {
        what: what.into(),
        who,
        method,
        target: target.into(),
        headers: Vec::new(),
        body: Vec::new(),
        expect: Expect::Success(200),
    }
}

impl Case {
    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").body(body)
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }
}

/// Every note of a user as the API shows it: id → (ETag header, the note's JSON).
async fn snapshot(
    client: &reqwest::Client,
    api: &str,
    token: &str,
) -> BTreeMap<String, (String, Value)> {
    let (status, _, page) = call(
        client,
        reqwest::Method::GET,
        &format!("{api}/notes?limit=100"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut notes = BTreeMap::new();
    for item in page["items"].as_array().into_iter().flatten() {
        let id = item["id"].as_str().unwrap_or_default().to_owned();
        let (status, headers, note) = call(
            client,
            reqwest::Method::GET,
            &format!("{api}/notes/{id}"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{note}");
        assert_eq!(&note, item, "GET and the listing agree");
        let etag = headers.get("etag").cloned().unwrap_or_default();
        assert_eq!(note["etag"], etag.as_str());
        notes.insert(id, (etag, note));
    }
    notes
}

async fn create(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    title: &str,
    body: &str,
) -> Value {
    let (status, _, note) = call(
        client,
        reqwest::Method::POST,
        &format!("{api}/notes"),
        Some(token),
        Some(json!({"title": title, "body": body, "tags": ["private"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    note
}

async fn sub_of(client: &reqwest::Client, api: &str, token: &str) -> String {
    let (status, _, me) = call(
        client,
        reqwest::Method::GET,
        &format!("{api}/me"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["sub"].as_str().unwrap_or_default().to_owned()
}

/// Every file and directory under `dir` (recursively).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

fn temp_files(dir: &Path) -> Vec<std::path::PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".tmp"))
        })
        .collect()
}

/// The matrix: every route, two users, hostile input. Nothing answers 5xx or leaks, and no
/// note changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_on_every_route_gets_a_4xx_and_changes_nothing() {
    hostile_input(On::Fs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_on_every_route_gets_a_4xx_and_changes_nothing_on_dynamodb() {
    hostile_input(On::Dynamo).await;
}

/// The matrix on the store `on`.
async fn hostile_input(on: On) {
    use Expect::{Gateway, Problem};
    use Who::{A, B, Nobody};

    let state = tempdir();
    let stack = real_stack_on(state.path(), on).await;
    let api = stack.api_url.clone();
    let client = http();
    let token_a = user(&stack, "alice@example.com");
    let token_b = user(&stack, "bob@example.com");
    let marker_a = format!("alice-private-{}", ulid::Ulid::new());
    let marker_b = format!("bob-private-{}", ulid::Ulid::new());

    // B's note is older than all of A's: were A's cursor ("older than A's newest note") followed,
    // it would position B's listing before B's own note. It is refused instead: a cursor
    // belongs to the listing that issued it.
    let b1 = create(&client, &api, &token_b, &marker_b, &marker_b).await;
    let mut a_notes = Vec::new();
    for i in 0..3 {
        a_notes.push(
            create(
                &client,
                &api,
                &token_a,
                &format!("{marker_a} {i}"),
                &marker_a,
            )
            .await,
        );
    }
    let (status, _, first_page) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/notes?limit=1"),
        Some(&token_a),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first_page}");
    let Some(cursor_a) = first_page["next_cursor"].as_str().map(str::to_owned) else {
        panic!("A has 3 notes, a page of 1 must have a next_cursor: {first_page}");
    };

    let sub_a = sub_of(&client, &api, &token_a).await;
    let sub_b = sub_of(&client, &api, &token_b).await;
    let id = |note: &Value| note["id"].as_str().unwrap_or_default().to_owned();
    let etag = |note: &Value| note["etag"].as_str().unwrap_or_default().to_owned();
    // The hex of an ETag: its quotes are escaped inside JSON bodies.
    let etag_hex = |note: &Value| etag(note).trim_matches('"').to_owned();
    let mut secrets_a = vec![marker_a.clone(), sub_a.clone()];
    for note in &a_notes {
        secrets_a.extend([id(note), etag_hex(note)]);
    }
    let secrets_b = vec![marker_b.clone(), sub_b.clone(), id(&b1), etag_hex(&b1)];
    let before_a = snapshot(&client, &api, &token_a).await;
    let before_b = snapshot(&client, &api, &token_b).await;
    assert_eq!(before_a.len(), 3);
    assert_eq!(before_b.len(), 1);

    let a1 = id(&a_notes[0]);
    let a1_tag = etag(&a_notes[0]);
    let valid = br#"{"title":"hijacked","body":"overwritten","tags":[]}"#.to_vec();
    let jwt_routes: [(&'static str, String); 7] = [
        ("GET", "/notes".to_owned()),
        ("POST", "/notes".to_owned()),
        ("GET", format!("/notes/{a1}")),
        ("PUT", format!("/notes/{a1}")),
        ("DELETE", format!("/notes/{a1}")),
        ("GET", "/me".to_owned()),
        ("GET", "/admin/stats".to_owned()),
    ];
    let mut cases = Vec::new();

    // 1. Isolation: B with A's ids, ETags and cursor.
    for note in &a_notes {
        let target = format!("/notes/{}", id(note));
        cases.push(case("A's note", B, "GET", &target).expect(Problem(404)));
        cases.push(
            case("A's note, A's ETag", B, "PUT", &target)
                .header("if-match", etag(note))
                .json(valid.clone())
                .expect(Problem(404)),
        );
        cases.push(case("A's note", B, "DELETE", &target).expect(Problem(404)));
    }
    cases.push(
        case(
            "A's note without If-Match",
            B,
            "PUT",
            format!("/notes/{a1}"),
        )
        .json(valid.clone())
        .expect(Problem(428)),
    );
    cases.push(
        case("A's cursor", B, "GET", format!("/notes?cursor={cursor_a}")).expect(Problem(400)),
    );
    cases.push(
        case(
            "A's cursor, limit 1",
            B,
            "GET",
            format!("/notes?limit=1&cursor={cursor_a}"),
        )
        .expect(Problem(400)),
    );
    cases.push(
        case("A's id in the body", B, "POST", "/notes")
            .json(format!(r#"{{"id":"{a1}","title":"t","body":""}}"#))
            .expect(Problem(400)),
    );
    cases.push(
        case("A's sub as owner", B, "POST", "/notes")
            .json(format!(r#"{{"owner":"{sub_a}","title":"t","body":""}}"#))
            .expect(Problem(400)),
    );
    cases.push(case("not an admin", B, "GET", "/admin/stats").expect(Problem(403)));
    cases.push(case("own identity", B, "GET", "/me"));
    cases.push(case("own notes", B, "GET", "/notes"));

    // 2. Crafted ids, on every /notes/{id} route (PUT otherwise valid, so only the id is wrong).
    let lower = a1.to_lowercase();
    let invalid_char = format!("{}U", &a1[..25]);
    let alias_char = format!("{}I", &a1[..25]);
    let overflow = format!("8{}", &a1[1..]);
    let unicode_ulid = "%C3%A9".repeat(13);
    let crafted: Vec<(&str, String)> = vec![
        ("dot-dot", "..".to_owned()),
        ("encoded dot-dot", "%2e%2e".to_owned()),
        (
            "encoded traversal",
            "..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        ),
        ("encoded slash", "%2F".to_owned()),
        ("id and encoded slash", format!("{a1}%2F..")),
        ("encoded NUL", format!("{}%00", &a1[..25])),
        ("unicode", "%E2%9C%93%F0%9F%98%80".to_owned()),
        ("unicode, ULID length", unicode_ulid),
        ("lower case", lower),
        ("invalid character", invalid_char),
        ("Crockford alias", alias_char),
        ("out of range", overflow),
        ("25 characters", a1[..25].to_owned()),
        ("27 characters", format!("{a1}0")),
        ("invalid escapes", "%zz%".to_owned()),
        ("raw UTF-8", "é".repeat(13)),
        ("B's id", id(&b1)),
    ];
    for (what, crafted_id) in &crafted {
        let target = format!("/notes/{crafted_id}");
        let (get, put, delete) = if *what == "B's id" {
            (Problem(404), Problem(404), Problem(404))
        } else {
            (Problem(400), Problem(400), Problem(400))
        };
        cases.push(case(*what, A, "GET", &target).expect(get));
        cases.push(
            case(*what, A, "PUT", &target)
                .header("if-match", &a1_tag)
                .json(valid.clone())
                .expect(put),
        );
        cases.push(case(*what, A, "DELETE", &target).expect(delete));
    }
    let long_id = "A".repeat(10 * 1024);
    for method in ["GET", "PUT", "DELETE"] {
        cases.push(
            case("a 10 KB id", A, method, format!("/notes/{long_id}"))
                .header("if-match", &a1_tag)
                .json(valid.clone())
                .expect(Gateway(413, "Request Entity Too Large")),
        );
    }
    cases.push(case("empty id (the listing)", A, "GET", "/notes/"));
    for method in ["PUT", "DELETE", "PATCH"] {
        cases.push(case("empty id", A, method, "/notes/").expect(Gateway(404, "Not Found")));
        cases.push(
            case("empty id, two slashes", A, method, "/notes//").expect(Gateway(404, "Not Found")),
        );
    }
    cases.push(
        case("traversal to another route", A, "GET", "/notes/%2e%2e/me")
            .expect(Gateway(404, "Not Found")),
    );
    cases.push(
        case(
            "traversal to another route",
            A,
            "GET",
            "/notes/../admin/stats",
        )
        .expect(Gateway(404, "Not Found")),
    );
    cases.push(
        case("a segment too many", A, "GET", format!("/notes/{a1}/x"))
            .expect(Gateway(404, "Not Found")),
    );
    cases.push(
        case("no such method", A, "PATCH", format!("/notes/{a1}"))
            .expect(Gateway(404, "Not Found")),
    );
    cases.push(
        case("no such method", A, "POST", format!("/notes/{a1}"))
            .json(valid.clone())
            .expect(Gateway(404, "Not Found")),
    );
    cases.push(case("no such method", A, "DELETE", "/notes").expect(Gateway(404, "Not Found")));

    // 3. Bodies: malformed JSON, the wrong shape, rule breakers, oversized.
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let long_body = format!(r#"{{"title":"t","body":"{}"}}"#, "x".repeat(64 * 1024 + 1));
    let over_json_limit = format!(r#"{{"title":"t","body":"{}"}}"#, "x".repeat(200 * 1024));
    let bodies: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("empty body", Vec::new(), Problem(400)),
        ("not JSON", b"{not json".to_vec(), Problem(400)),
        (
            "truncated",
            br#"{"title":"t","body":"#.to_vec(),
            Problem(400),
        ),
        (
            "trailing garbage",
            br#"{"title":"t","body":""} x"#.to_vec(),
            Problem(400),
        ),
        ("null", b"null".to_vec(), Problem(400)),
        (
            "an array",
            br#"[{"title":"t","body":""}]"#.to_vec(),
            Problem(400),
        ),
        ("a string", br#""title""#.to_vec(), Problem(400)),
        ("a number", b"42".to_vec(), Problem(400)),
        (
            "title of the wrong type",
            br#"{"title":5,"body":""}"#.to_vec(),
            Problem(400),
        ),
        (
            "tags of the wrong type",
            br#"{"title":"t","body":"","tags":"a"}"#.to_vec(),
            Problem(400),
        ),
        ("missing body", br#"{"title":"t"}"#.to_vec(), Problem(400)),
        (
            "unknown field",
            br#"{"title":"t","body":"","etag":"x"}"#.to_vec(),
            Problem(400),
        ),
        (
            "duplicate field",
            br#"{"title":"a","title":"b","body":""}"#.to_vec(),
            Problem(400),
        ),
        (
            "invalid UTF-8",
            b"{\"title\":\"\xff\xfe\",\"body\":\"\"}".to_vec(),
            Problem(400),
        ),
        ("deeply nested", nested.into_bytes(), Problem(400)),
        (
            "lone surrogate",
            br#"{"title":"\ud800","body":""}"#.to_vec(),
            Problem(400),
        ),
        (
            "tags null",
            br#"{"title":"t","body":"","tags":null}"#.to_vec(),
            Problem(400),
        ),
        (
            "huge number",
            br#"{"title":1e999999,"body":""}"#.to_vec(),
            Problem(400),
        ),
        (
            "blank title",
            br#"{"title":"   ","body":""}"#.to_vec(),
            Problem(400),
        ),
        (
            "control character",
            br#"{"title":"a\u0000b","body":""}"#.to_vec(),
            Problem(400),
        ),
        (
            "bad tag",
            br#"{"title":"t","body":"","tags":["UPPER"]}"#.to_vec(),
            Problem(400),
        ),
        (
            "21 tags",
            format!(
                r#"{{"title":"t","body":"","tags":[{}]}}"#,
                (0..21)
                    .map(|i| format!("\"t{i}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            )
            .into_bytes(),
            Problem(400),
        ),
        ("body over 64 KiB", long_body.into_bytes(), Problem(400)),
        (
            "JSON over the function's 128 KiB",
            over_json_limit.into_bytes(),
            Problem(413),
        ),
        (
            "over API Gateway's 10 MB",
            vec![b' '; 10 * 1024 * 1024 + 1],
            Gateway(413, "Request Entity Too Large"),
        ),
    ];
    for (what, body, expect) in &bodies {
        cases.push(
            case(*what, A, "POST", "/notes")
                .json(body.clone())
                .expect(*expect),
        );
        cases.push(
            case(*what, A, "PUT", format!("/notes/{a1}"))
                .header("if-match", &a1_tag)
                .json(body.clone())
                .expect(*expect),
        );
    }

    // 4. Content types.
    for content_type in [
        None,
        Some(""),
        Some("text/plain"),
        Some("text/json"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/octet-stream"),
        Some("application/jsonx"),
        Some("application/json; charset=iso-8859-1"),
    ] {
        let what = format!("content-type {content_type:?}");
        let mut post = case(&what, A, "POST", "/notes")
            .body(valid.clone())
            .expect(Problem(415));
        let mut put = case(&what, A, "PUT", format!("/notes/{a1}"))
            .header("if-match", &a1_tag)
            .body(valid.clone())
            .expect(Problem(415));
        if let Some(content_type) = content_type {
            post = post.header("content-type", content_type);
            put = put.header("content-type", content_type);
        }
        cases.extend([post, put]);
    }

    // 5. Duplicate headers.
    for (method, target) in &jwt_routes {
        for (what, first, second) in [
            ("two authorization headers, A then B", &token_a, &token_b),
            ("two authorization headers, B then A", &token_b, &token_a),
            ("the same authorization header twice", &token_a, &token_a),
        ] {
            cases.push(
                case(what, Nobody, method, target)
                    .header("authorization", format!("Bearer {first}"))
                    .header("authorization", format!("Bearer {second}"))
                    .header("if-match", &a1_tag)
                    .json(valid.clone())
                    .expect(Gateway(401, "Unauthorized")),
            );
        }
    }
    // If-Match as RFC 9110 §13.1.1 evaluates it: only what is not entity-tag syntax is a 400;
    // well-formed tags that are not the note's current one are a 412, and `*` names only the
    // caller's own existing notes (B's note is a 404 to A, and stays B's).
    cases.push(
        case(
            "two If-Match headers, neither current",
            A,
            "PUT",
            format!("/notes/{a1}"),
        )
        .header("if-match", "\"stale-1\"")
        .header("if-match", "\"stale-2\"")
        .json(valid.clone())
        .expect(Problem(412)),
    );
    cases.push(
        case(
            "If-Match list without the current tag",
            A,
            "PUT",
            format!("/notes/{a1}"),
        )
        .header("if-match", format!("\"x\", W/{a1_tag}"))
        .json(valid.clone())
        .expect(Problem(412)),
    );
    cases.push(
        case(
            "If-Match * on B's note",
            A,
            "PUT",
            format!("/notes/{}", id(&b1)),
        )
        .header("if-match", "*")
        .json(valid.clone())
        .expect(Problem(404)),
    );
    cases.push(
        case("weak If-Match", A, "PUT", format!("/notes/{a1}"))
            .header("if-match", format!("W/{a1_tag}"))
            .json(valid.clone())
            .expect(Problem(412)),
    );
    cases.push(
        case("unquoted If-Match", A, "PUT", format!("/notes/{a1}"))
            .header("if-match", a1_tag.trim_matches('"'))
            .json(valid.clone())
            .expect(Problem(400)),
    );
    cases.push(
        case("B's ETag as If-Match", A, "PUT", format!("/notes/{a1}"))
            .header("if-match", etag(&b1))
            .json(valid.clone())
            .expect(Problem(412)),
    );
    cases.push(
        case("no If-Match", A, "PUT", format!("/notes/{a1}"))
            .json(valid.clone())
            .expect(Problem(428)),
    );
    for (method, target) in [
        ("POST", "/notes".to_owned()),
        ("PUT", format!("/notes/{a1}")),
    ] {
        cases.push(
            case("two content-type headers", A, method, target)
                .header("if-match", &a1_tag)
                .json(valid.clone())
                .header("content-type", "application/json")
                .expect(Problem(415)),
        );
    }
    cases.push(
        case(
            "two authorization headers on a public route",
            Nobody,
            "GET",
            "/health",
        )
        .header("authorization", "Bearer x")
        .header("authorization", "Basic y"),
    );

    // 6. Missing and malformed Authorization, on every JWT route.
    let header_only = token_a
        .rsplit_once('.')
        .map(|(h, _)| h.to_owned())
        .unwrap_or_default();
    let basic = "Basic YWxpY2VAZXhhbXBsZS5jb206Q29ycmVjdC1Ib3JzZS05LWJhdHRlcnk=".to_owned();
    let malformed: Vec<(&str, Option<String>)> = vec![
        ("no Authorization", None),
        ("Bearer alone", Some("Bearer".to_owned())),
        ("Bearer and a space", Some("Bearer ".to_owned())),
        ("Basic x", Some("Basic x".to_owned())),
        ("Basic credentials", Some(basic)),
        ("a JWT with 2 parts", Some(format!("Bearer {header_only}"))),
        ("a bare JWT with 2 parts", Some(header_only.clone())),
        ("a JWT with 4 parts", Some(format!("Bearer {token_a}.x"))),
        (
            "Bearer glued to the token",
            Some(format!("Bearer{token_a}")),
        ),
        (
            "a JWT without its signature",
            Some(format!("Bearer {header_only}.")),
        ),
        ("a non-ASCII token", Some("Bearer é.é.é".to_owned())),
    ];
    for (method, target) in &jwt_routes {
        for (what, header) in &malformed {
            let mut row = case(*what, Nobody, method, target)
                .header("if-match", &a1_tag)
                .json(valid.clone())
                .expect(Gateway(401, "Unauthorized"));
            if let Some(header) = header {
                row = row.header("authorization", header);
            }
            cases.push(row);
        }
    }
    for (what, header) in &malformed {
        let mut row = case(*what, Nobody, "GET", "/health");
        if let Some(header) = header {
            row = row.header("authorization", header);
        }
        cases.push(row);
    }

    // 7. Huge headers: past API Gateway's 10240 bytes of request line and headers.
    let huge = "h".repeat(16 * 1024);
    for (method, target) in jwt_routes.iter().chain(&[("GET", "/health".to_owned())]) {
        cases.push(
            case("a 16 KB header value", A, method, target)
                .header("x-filler", &huge)
                .expect(Gateway(413, "Request Entity Too Large")),
        );
        cases.push(
            case("a 16 KB Authorization", Nobody, method, target)
                .header("authorization", format!("Bearer {huge}"))
                .expect(Gateway(413, "Request Entity Too Large")),
        );
        cases.push(
            case("a 16 KB If-Match", A, method, target)
                .header("if-match", &huge)
                .json(valid.clone())
                .expect(Gateway(413, "Request Entity Too Large")),
        );
    }
    cases.push(
        case("an 8 KB header value is fine", Nobody, "GET", "/health")
            .header("x-filler", "h".repeat(8 * 1024)),
    );
    cases.push(
        case("an 8 KB If-Match", A, "PUT", format!("/notes/{a1}"))
            .header("if-match", "h".repeat(8 * 1024))
            .json(valid.clone())
            .expect(Problem(400)),
    );
    cases.push(
        case(
            "an 8 KB cursor",
            A,
            "GET",
            format!("/notes?cursor={}", "c".repeat(8 * 1024)),
        )
        .expect(Problem(400)),
    );

    // 8. Query strings.
    for (what, query) in [
        ("limit 0", "limit=0"),
        ("limit 101", "limit=101"),
        ("negative limit", "limit=-1"),
        ("limit in words", "limit=ten"),
        ("limit with exponent", "limit=1e2"),
        ("empty limit", "limit="),
        ("huge limit", "limit=99999999999999999999"),
        ("garbage cursor", "cursor=not%20a%20cursor"),
        ("encoded traversal cursor", "cursor=Li4vLi4vZXRj"),
        (
            "cursor of a lower-case id",
            "cursor=djE6MDFqMDAwMDAwMDAwMDAwMDAwMDAwMDAwMGE",
        ),
    ] {
        cases.push(case(what, A, "GET", format!("/notes?{query}")).expect(Problem(400)));
    }

    // A repeated parameter is not an error (API Gateway joins the values with a comma).
    cases.push(case("limit twice", A, "GET", "/notes?limit=1&limit=2"));

    let world = World {
        api: api.clone(),
        token_a: token_a.clone(),
        token_b: token_b.clone(),
        secrets_a,
        secrets_b,
    };
    let mut wrong = Vec::new();
    for row in &cases {
        wrong.extend(check(&world, row).await);
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases went wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );

    // A's cursor is refused to B, saying which parameter is wrong, and B's own listing still
    // holds B's note and nothing else.
    let (status, _, problem) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/notes?cursor={cursor_a}"),
        Some(&token_b),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["field"], "cursor", "{problem}");
    let (status, _, page) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/notes"),
        Some(&token_b),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["items"],
        json!([b1]),
        "B gets B's note and nothing else"
    );

    // Nothing changed: same ids, ETags and content for both users; no temporary files.
    assert_eq!(
        snapshot(&client, &api, &token_a).await,
        before_a,
        "A's notes changed"
    );
    assert_eq!(
        snapshot(&client, &api, &token_b).await,
        before_b,
        "B's notes changed"
    );
    let leftovers = temp_files(state.path());
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    eprintln!("hardening: {} cases checked", cases.len());
    stack.shutdown().await;
}

/// A problem+json 503 (the function's answer, not API Gateway's `{"message"}`).
fn assert_unavailable(
    what: &str,
    status: StatusCode,
    headers: &std::collections::HashMap<String, String>,
    body: &Value,
) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/problem+json"),
        "{what}: the function's problem+json, not API Gateway's: {body}"
    );
    assert_eq!(body["status"], 503, "{what}: {body}");
    assert_eq!(
        body["type"],
        format!("{PROBLEM_TYPE_BASE}service-unavailable"),
        "{what}: {body}"
    );
}

/// The filesystem store's directory turned into a regular file under the running functions:
/// nothing (not even root) can write through it. Every note operation answers 503
/// problem+json, no temporary file is left, and once the directory is back all works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unusable_filesystem_store_answers_503_and_leaves_nothing_behind() {
    let state = tempdir();
    let store_root = state.path().join("store");
    let mut config = real_config(state.path());
    config.store = Store::Fs(store_root.clone());
    let stack = start(config).await;
    let api = stack.api_url.clone();
    let client = http();
    let token = user(&stack, "fs@example.com");
    let note = create(&client, &api, &token, "kept", "safe").await;
    let note_id = note["id"].as_str().unwrap_or_default().to_owned();
    let tag = note["etag"].as_str().unwrap_or_default().to_owned();

    let notes_dir = store_root.join("notes");
    let moved = store_root.join("notes.away");
    let Ok(()) = std::fs::rename(&notes_dir, &moved) else {
        panic!("move {}", notes_dir.display());
    };
    let Ok(()) = std::fs::write(&notes_dir, b"not a directory") else {
        panic!("write {}", notes_dir.display());
    };
    assert!(
        std::fs::create_dir_all(notes_dir.join("probe")).is_err(),
        "the store path must be unusable even for root"
    );
    let before_moved = walk(&moved);

    let put_body = json!({"title": "changed", "body": "", "tags": []});
    let requests = [
        ("create", reqwest::Method::POST, "/notes".to_owned()),
        ("replace", reqwest::Method::PUT, format!("/notes/{note_id}")),
        (
            "delete",
            reqwest::Method::DELETE,
            format!("/notes/{note_id}"),
        ),
        ("read", reqwest::Method::GET, format!("/notes/{note_id}")),
        ("list", reqwest::Method::GET, "/notes".to_owned()),
    ];
    for (what, method, path) in requests {
        let mut request = client
            .request(method, format!("{api}{path}"))
            .bearer_auth(&token)
            .header("if-match", &tag);
        if what == "create" || what == "replace" {
            request = request.json(&put_body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => panic!("{what}: {e}"),
        };
        let (status, headers, body) = crate::common::json_of(response).await;
        assert_unavailable(what, status, &headers, &body);
        let text = body.to_string();
        assert!(
            !text.contains(&store_root.display().to_string()) && !text.contains("notes store"),
            "{what}: the detail must not describe the store: {text}"
        );
    }

    assert_eq!(
        std::fs::read(&notes_dir).ok().as_deref(),
        Some(&b"not a directory"[..]),
        "the file in the way is untouched"
    );
    assert_eq!(walk(&moved), before_moved, "the real notes are untouched");
    let leftovers = temp_files(state.path());
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // Repaired: the note is intact and writable again.
    let Ok(()) = std::fs::remove_file(&notes_dir) else {
        panic!("remove {}", notes_dir.display());
    };
    let Ok(()) = std::fs::rename(&moved, &notes_dir) else {
        panic!("move back {}", moved.display());
    };
    let url = format!("{api}/notes/{note_id}");
    let (status, _, got) = call(&client, reqwest::Method::GET, &url, Some(&token), None).await;
    assert_eq!((status, &got), (StatusCode::OK, &note));
    let replaced = client
        .put(&url)
        .bearer_auth(&token)
        .header("if-match", &tag)
        .json(&put_body)
        .send()
        .await;
    let Ok(replaced) = replaced else {
        panic!("{replaced:?}");
    };
    assert_eq!(replaced.status(), StatusCode::OK);
    assert!(temp_files(state.path()).is_empty());
    stack.shutdown().await;
}

/// A loopback port nobody listens on.
fn dead_port() -> u16 {
    let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("a loopback port: {e}"),
    };
    match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(e) => panic!("{e}"),
    }
}

/// The DynamoDB store on an endpoint nobody answers: 503 problem+json from the function, well
/// before its 10 s timeout would make API Gateway answer `{"message":"Service Unavailable"}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_dynamodb_endpoint_answers_503_quickly() {
    let state = tempdir();
    let mut config = real_config(state.path());
    config.store = Store::Dynamo {
        table: "notes-nowhere".to_owned(),
        endpoint_url: format!("http://127.0.0.1:{}", dead_port()),
    };
    let stack = start(config).await;
    let api = stack.api_url.clone();
    let client = http();
    let token = user(&stack, "dynamo@example.com");
    let some_id = ulid::Ulid::new().to_string();
    let tag = format!("\"{}\"", "0".repeat(32));
    let body = json!({"title": "t", "body": "", "tags": []});
    let requests = [
        ("create", reqwest::Method::POST, "/notes".to_owned()),
        ("list", reqwest::Method::GET, "/notes".to_owned()),
        ("read", reqwest::Method::GET, format!("/notes/{some_id}")),
        ("replace", reqwest::Method::PUT, format!("/notes/{some_id}")),
        (
            "delete",
            reqwest::Method::DELETE,
            format!("/notes/{some_id}"),
        ),
    ];
    for (what, method, path) in requests {
        let mut request = client
            .request(method, format!("{api}{path}"))
            .bearer_auth(&token)
            .header("if-match", &tag);
        if what == "create" || what == "replace" {
            request = request.json(&body);
        }
        let started = Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => panic!("{what}: {e}"),
        };
        let (status, headers, answer) = crate::common::json_of(response).await;
        let took = started.elapsed();
        assert_unavailable(what, status, &headers, &answer);
        assert!(
            took < Duration::from_secs(8),
            "{what}: took {took:?}; the SDK's retries and timeouts must end well before the 10 s function timeout"
        );
    }
    stack.shutdown().await;
}

/// Two replaces of one note with the same `If-Match`, at once, 20 times: exactly one wins
/// (200) and one is refused (412) each time, and the note is the winner's.
async fn double_updates(stack: &LocalStack, email: &str) {
    let api = stack.api_url.clone();
    let client = http();
    let token = user(stack, email);
    let note = create(&client, &api, &token, "race", "start").await;
    let url = format!("{api}/notes/{}", note["id"].as_str().unwrap_or_default());
    let mut tag = note["etag"].as_str().unwrap_or_default().to_owned();
    for round in 0..20 {
        let put = |side: &str| {
            let request = client
                .put(&url)
                .bearer_auth(&token)
                .header("if-match", &tag)
                .json(&json!({"title": format!("{side} {round}"), "body": side, "tags": [side]}));
            async move {
                match request.send().await {
                    Ok(response) => crate::common::json_of(response).await,
                    Err(e) => panic!("round {round}: {e}"),
                }
            }
        };
        let (left, right) = tokio::join!(put("left"), put("right"));
        let mut statuses = [left.0.as_u16(), right.0.as_u16()];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 412],
            "round {round}: {} / {}",
            left.2,
            right.2
        );
        let (winner, loser) = if left.0 == StatusCode::OK {
            (left, right)
        } else {
            (right, left)
        };
        assert_eq!(loser.2["status"], 412, "round {round}: {}", loser.2);
        let (status, headers, current) =
            call(&client, reqwest::Method::GET, &url, Some(&token), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(current, winner.2, "round {round}: the note is the winner's");
        tag = headers.get("etag").cloned().unwrap_or_default();
        assert_eq!(Some(&tag), winner.1.get("etag"));
    }
    assert!(
        stack.gateway.lambda().instance_count("replace-note").await >= 2,
        "the two replaces of a round ran on two instances at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replaces_with_one_etag_one_wins_on_the_filesystem() {
    let state = tempdir();
    let stack = real_stack(state.path()).await;
    double_updates(&stack, "racer@example.com").await;
    assert!(temp_files(state.path()).is_empty());
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replaces_with_one_etag_one_wins_on_dynamodb() {
    let (table, endpoint) = crate::common::moto_table("hardening").await;
    let state = tempdir();
    let mut config = real_config(state.path());
    config.store = Store::Dynamo {
        table,
        endpoint_url: endpoint,
    };
    let stack = start(config).await;
    double_updates(&stack, "dynamoracer@example.com").await;
    stack.shutdown().await;
}

/// An instance's process killed while it serves a request: API Gateway's 500 at once, and the
/// next request gets a fresh instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_mid_request_is_a_500_and_the_next_request_works() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 2).await;
    let api = stack.api_url.clone();
    let client = http();
    let lambda = stack.gateway.lambda().clone();
    assert_eq!(lambda.instance_count("fixture").await, 0);

    let started = Instant::now();
    let slow = {
        let client = client.clone();
        let url = format!("{api}/sleep?ms=2000");
        tokio::spawn(async move { call(&client, reqwest::Method::GET, &url, None, None).await })
    };
    // The request starts the only instance and keeps it busy: wait (bounded) for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lambda.instance_count("fixture").await == 0 {
        assert!(
            Instant::now() < deadline,
            "the slow request never started an instance"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(lambda.kill_instances("fixture").await, 1);
    let (status, _, body) = match slow.await {
        Ok(answer) => answer,
        Err(e) => panic!("{e}"),
    };
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at the kill, not after the sleep or the timeout"
    );
    assert_eq!(
        (status, body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "Internal Server Error"})
        )
    );
    assert_eq!(
        lambda.instance_count("fixture").await,
        0,
        "the killed instance is gone"
    );
    let url = format!("{api}/sleep?ms=1");
    let (status, _, after) = call(&client, reqwest::Method::GET, &url, None, None).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(
        lambda.instance_count("fixture").await,
        1,
        "a fresh instance"
    );
    assert_eq!(lambda.kill_instances("nope").await, 0);
    stack.shutdown().await;
}
