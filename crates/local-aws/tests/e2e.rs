//! End to end over HTTP: the local gateway, the local issuer and the real function binaries.
//!
//! `cargo xtask test` builds the function binaries (`target/debug/<function>`) before the tests;
//! `cargo test` builds the `fixture` example this file also uses. The flows: sign up → confirm →
//! authorize → code → token exchange (Basic auth, PKCE) → every route with id and access tokens;
//! the negative JWT set through the gateway; AWS's own error answers; the raw payload 2.0 event;
//! cold start, warm reuse, scale-out under concurrency; a crash and a timeout followed by a
//! working request.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use local_aws::stack::{LOCAL_CLIENT_ID, LocalStack};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{
    PASSWORD, call, fixture_config, fixture_stack, http, json_of, real_config, real_stack, root,
    start, tempdir,
};

/// Like `common::http`, with a cookie store (for the issuer's pages: the `XSRF-TOKEN` cookie and the
/// session).
pub fn browser_http() -> reqwest::Client {
    match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("an HTTP client: {e}"),
    }
}

/// The `_csrf` hidden field's value on an issuer page (the form token of its `XSRF-TOKEN`
/// cookie).
pub fn form_token(page: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let Some(start) = page.find(marker).map(|i| i + marker.len()) else {
        panic!("no _csrf field on the page:\n{page}");
    };
    let end = page[start..].find('"').map_or(page.len(), |i| i + start);
    page[start..end].to_owned()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no Location on {} {}", response.status(), response.url()))
}

fn query_of(url: &str) -> HashMap<String, String> {
    match reqwest::Url::parse(url) {
        Ok(url) => url.query_pairs().into_owned().collect(),
        Err(e) => panic!("{url}: {e}"),
    }
}

/// Sign-up, confirmation (code from the mailbox page), sign-in and the token exchange, through
/// the issuer's pages as a browser would post them. Returns the token response.
async fn sign_up_and_in(stack: &LocalStack, email: &str) -> Value {
    let Some(issuer) = &stack.issuer else {
        panic!("the stack has no local issuer");
    };
    let config = issuer.config().clone();
    let client = browser_http();
    let redirect_uri = config.callback_urls[0].clone();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let params = [
        ("response_type", "code"),
        ("client_id", LOCAL_CLIENT_ID),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", "openid email profile"),
        ("state", "st-123"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let send = |request: reqwest::RequestBuilder| async move {
        match request.send().await {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    };
    let authorize = send(client.get(config.authorize_url()).query(&params)).await;
    assert_eq!(authorize.status(), StatusCode::FOUND);
    assert!(
        location(&authorize).contains("/login"),
        "{}",
        location(&authorize)
    );
    // the sign-in page sets the XSRF-TOKEN cookie; its form carries the matching token
    let login_page = send(client.get(format!("{}{}", config.base_url, location(&authorize)))).await;
    assert_eq!(login_page.status(), StatusCode::OK);
    let token = form_token(&login_page.text().await.unwrap_or_default());

    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([("email", email), ("password", PASSWORD), ("_csrf", &token)]);
    let signup = send(
        client
            .post(format!("{}/signup", config.base_url))
            .form(&form),
    )
    .await;
    assert_eq!(
        signup.status(),
        StatusCode::FOUND,
        "sign-up should redirect to confirm"
    );
    assert!(location(&signup).contains("/confirm"));

    let mailbox = send(client.get(config.mailbox_url())).await;
    let page = mailbox.text().await.unwrap_or_default();
    let after = page.split(email).nth(1).unwrap_or_default();
    let code: String = after
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        code.len(),
        6,
        "no verification code for {email} on the mailbox page"
    );

    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([("email", email), ("code", code.as_str()), ("_csrf", &token)]);
    let confirm = send(
        client
            .post(format!("{}/confirm", config.base_url))
            .form(&form),
    )
    .await;
    assert_eq!(confirm.status(), StatusCode::FOUND);
    assert!(location(&confirm).contains("/login"));

    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([("email", email), ("password", PASSWORD), ("_csrf", &token)]);
    let login = send(
        client
            .post(format!("{}/login", config.base_url))
            .form(&form),
    )
    .await;
    assert_eq!(login.status(), StatusCode::FOUND);
    let callback = location(&login);
    assert!(callback.starts_with(&redirect_uri), "{callback}");
    let callback = query_of(&callback);
    assert_eq!(callback.get("state").map(String::as_str), Some("st-123"));
    let Some(code) = callback.get("code") else {
        panic!("no code in the callback: {callback:?}");
    };

    let token = send(
        client
            .post(config.token_endpoint())
            .basic_auth(LOCAL_CLIENT_ID, Some(&config.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("client_id", LOCAL_CLIENT_ID),
                ("code_verifier", verifier),
            ]),
    )
    .await;
    let (status, _, tokens) = json_of(token).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn tokens_of(tokens: &Value) -> (String, String) {
    let get = |name: &str| tokens[name].as_str().unwrap_or_default().to_owned();
    let (id, access) = (get("id_token"), get("access_token"));
    assert!(!id.is_empty() && !access.is_empty(), "{tokens}");
    (id, access)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_up_sign_in_and_every_route_with_id_and_access_tokens() {
    let state = tempdir();
    let stack = real_stack(state.path()).await;
    let api = stack.api_url.clone();
    let client = http();
    let tokens = sign_up_and_in(&stack, "alice@example.com").await;
    let (id, access) = tokens_of(&tokens);
    let sub = claims(&id)["sub"].as_str().unwrap_or_default().to_owned();
    assert_eq!(claims(&id)["token_use"], "id");
    assert_eq!(claims(&access)["token_use"], "access");
    assert_eq!(claims(&access)["client_id"], LOCAL_CLIENT_ID);

    use reqwest::Method as M;
    let (status, _, body) = call(&client, M::GET, &format!("{api}/health"), None, None).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("ok"))
    );

    for token in [&id, &access] {
        let (status, _, me) = call(&client, M::GET, &format!("{api}/me"), Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["sub"], sub.as_str(), "{me}");
    }

    let note = json!({"title": "First", "body": "hello", "tags": ["a"]});
    let (status, headers, created) = call(
        &client,
        M::POST,
        &format!("{api}/notes"),
        Some(&id),
        Some(note),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let Some(note_id) = created["id"].as_str().map(str::to_owned) else {
        panic!("no id in {created}");
    };
    assert!(headers.contains_key("etag") && headers.contains_key("location"));

    let url = format!("{api}/notes/{note_id}");
    let (status, headers, got) = call(&client, M::GET, &url, Some(&access), None).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["title"], "First");
    let etag = headers.get("etag").cloned().unwrap_or_default();

    let (status, _, listed) = call(&client, M::GET, &format!("{api}/notes"), Some(&id), None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );

    let replaced = client
        .put(&url)
        .bearer_auth(&id)
        .header("if-match", &etag)
        .json(&json!({"title": "Second", "body": "", "tags": []}))
        .send()
        .await;
    let Ok(replaced) = replaced else {
        panic!("{replaced:?}");
    };
    assert_eq!(replaced.status(), StatusCode::OK);
    let (status, _, stale) = call(
        &client,
        M::PUT,
        &url,
        Some(&id),
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{stale}");

    let (status, _, body) = call(
        &client,
        M::GET,
        &format!("{api}/admin/stats"),
        Some(&id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["status"], 403, "the function's problem+json: {body}");

    let (status, _, _) = call(&client, M::DELETE, &url, Some(&id), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&client, M::GET, &url, Some(&id), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An admin: the group lands in the next token.
    let Some(issuer) = &stack.issuer else {
        panic!("no issuer");
    };
    if let Err(e) = local_aws::issuer::add_user_to_group(
        &issuer.config().state_dir,
        "alice@example.com",
        "admin",
    ) {
        panic!("{e}");
    }
    let tokens = match issuer.issue_tokens("alice@example.com", &["openid"]) {
        Ok(t) => Value::Object(t),
        Err(e) => panic!("{e}"),
    };
    let (admin_id, _) = tokens_of(&tokens);
    let (status, _, stats) = call(
        &client,
        M::GET,
        &format!("{api}/admin/stats"),
        Some(&admin_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stats}");

    // Another user sees none of alice's notes.
    let tokens = sign_up_and_in(&stack, "bob@example.com").await;
    let (bob, _) = tokens_of(&tokens);
    let (status, _, listed) =
        call(&client, M::GET, &format!("{api}/notes"), Some(&bob), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"], json!([]), "{listed}");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_authorizer_rejects_bad_tokens_like_api_gateway() {
    let state = tempdir();
    let stack = real_stack(state.path()).await;
    let Some(issuer) = &stack.issuer else {
        panic!("no issuer");
    };
    if let Err(e) = issuer.admin_create_user("carol@example.com", PASSWORD) {
        panic!("{e}");
    }
    let good = match issuer.issue_tokens("carol@example.com", &["openid"]) {
        Ok(t) => t["id_token"].as_str().unwrap_or_default().to_owned(),
        Err(e) => panic!("{e}"),
    };
    // Another issuer (its own key) minting for the same client and issuer URL: a forgery.
    let other_state = tempdir();
    let mut forged_config = issuer.config().clone();
    forged_config.state_dir = other_state.path().join("issuer");
    let forger = match local_aws::issuer::Issuer::open(forged_config) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = forger.admin_create_user("carol@example.com", PASSWORD) {
        panic!("{e}");
    }
    let forged = match forger.issue_tokens("carol@example.com", &["openid"]) {
        Ok(t) => t["id_token"].as_str().unwrap_or_default().to_owned(),
        Err(e) => panic!("{e}"),
    };
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload = claims(&good);
    payload["sub"] = json!("someone-else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    let none_alg = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let client = http();
    let url = format!("{}/me", stack.api_url);
    for (what, header) in [
        ("no token", None),
        ("empty bearer", Some("Bearer ".to_owned())),
        ("garbage", Some("Bearer not.a.jwt".to_owned())),
        ("forged signature", Some(format!("Bearer {forged}"))),
        ("tampered payload", Some(format!("Bearer {tampered}"))),
        ("alg none", Some(format!("Bearer {none_alg}"))),
    ] {
        let mut request = client.get(&url);
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => panic!("{what}: {e}"),
        };
        let (status, headers, body) = json_of(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body, json!({"message": "Unauthorized"}), "{what}");
        assert!(
            headers
                .get("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{what}: {headers:?}"
        );
    }
    // Bare tokens (no `Bearer `) are accepted, as API Gateway does.
    let response = client.get(&url).header("authorization", &good).send().await;
    let Ok(response) = response else {
        panic!("{response:?}");
    };
    assert_eq!(response.status(), StatusCode::OK);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_gateway_errors_and_the_raw_event() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 2).await;
    let api = &stack.api_url;
    let client = http();

    let response = client
        .post(format!("{api}/echo?a=1&a=2&b=x+y"))
        .header("cookie", "c1=v1; c2=v2")
        .header("x-repeat", "one")
        .header("x-repeat", "two")
        .header("content-type", "application/json")
        .body(r#"{"k":"v"}"#)
        .send()
        .await;
    let Ok(response) = response else {
        panic!("{response:?}");
    };
    assert!(response.headers().contains_key("apigw-requestid"));
    let (status, _, event) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /{proxy+}");
    assert_eq!(event["rawPath"], "/echo");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x+y");
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "1,2", "b": "x y"})
    );
    assert_eq!(event["pathParameters"], json!({"proxy": "echo"}));
    assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["headers"]["x-repeat"], "one,two");
    assert_eq!(event["body"], r#"{"k":"v"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert!(
        event["requestContext"]["timeEpoch"]
            .as_i64()
            .is_some_and(|t| t > 0)
    );

    let (status, headers, plain) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/plain"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(plain, json!({"plain": true, "items": [1, 2]}));

    let binary = client.get(format!("{api}/binary")).send().await;
    let Ok(binary) = binary else {
        panic!("{binary:?}");
    };
    assert_eq!(binary.headers().get_all("set-cookie").iter().count(), 2);
    assert_eq!(
        binary.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
        vec![0, 159, 146, 150]
    );

    let (status, _, body) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/error"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "Internal Server Error"})
        )
    );

    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let response = client.post(format!("{api}/echo")).body(big).send().await;
    let Ok(response) = response else {
        panic!("{response:?}");
    };
    let (status, _, body) = json_of(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body, json!({"message": "Request Entity Too Large"}));
    stack.shutdown().await;

    // No route at all: API Gateway's 404.
    let state = tempdir();
    let stack = real_stack(state.path()).await;
    let (status, _, body) = call(
        &client,
        reqwest::Method::GET,
        &format!("{}/nope", stack.api_url),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cold_start_warm_reuse_and_scale_out() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 4).await;
    let api = stack.api_url.clone();
    let client = http();
    let lambda = stack.gateway.lambda().clone();
    assert_eq!(
        lambda.instance_count("fixture").await,
        0,
        "nothing runs before a request"
    );

    let pid = |body: &Value| body["pid"].as_u64().unwrap_or_default();
    let (status, _, first) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/sleep?ms=1"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (_, _, second) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/sleep?ms=1"),
        None,
        None,
    )
    .await;
    assert_eq!(
        pid(&first),
        pid(&second),
        "a warm instance serves the second request"
    );
    assert_eq!(lambda.instance_count("fixture").await, 1);

    // Six requests at once, each busy 400 ms: the pool grows to its limit of 4.
    let requests: Vec<_> = (0..6)
        .map(|_| {
            let client = client.clone();
            let url = format!("{api}/sleep?ms=400");
            tokio::spawn(async move { call(&client, reqwest::Method::GET, &url, None, None).await })
        })
        .collect();
    let mut pids = std::collections::BTreeSet::new();
    for request in requests {
        match request.await {
            Ok((status, _, body)) => {
                assert_eq!(status, StatusCode::OK, "{body}");
                pids.insert(pid(&body));
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        pids.len() > 1,
        "concurrent requests should run on several instances: {pids:?}"
    );
    assert!(pids.len() <= 4, "at most max_instances: {pids:?}");
    assert_eq!(lambda.instance_count("fixture").await, pids.len().max(1));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_or_a_timeout_gives_aws_errors_and_the_next_request_works() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 2).await;
    let api = stack.api_url.clone();
    let client = http();
    let get = |path: &str| {
        let client = client.clone();
        let url = format!("{api}{path}");
        async move { call(&client, reqwest::Method::GET, &url, None, None).await }
    };
    let (_, _, before) = get("/sleep?ms=1").await;

    let (status, _, body) = get("/crash").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "Internal Server Error"})
        )
    );
    let (status, _, after) = get("/sleep?ms=1").await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_ne!(
        before["pid"], after["pid"],
        "the crashed instance was replaced"
    );

    let started = std::time::Instant::now();
    let (status, _, body) = get("/hang").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "Service Unavailable"})
        )
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "killed at the 2 s timeout, not before"
    );
    let (status, _, again) = get("/sleep?ms=1").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_ne!(
        after["pid"], again["pid"],
        "the timed-out instance was killed"
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_swapped_binary_starts_fresh_and_idle_instances_are_reaped() {
    let state = tempdir();
    let mut config = fixture_config(state.path(), "none", &[]);
    config.idle_timeout = Duration::from_millis(300);
    let stack = start(config).await;
    let client = http();
    let url = format!("{}/sleep?ms=1", stack.api_url);
    let (_, _, first) = call(&client, reqwest::Method::GET, &url, None, None).await;
    let lambda = stack.gateway.lambda().clone();
    assert!(
        lambda
            .swap_binary("fixture", root().join("target/debug/examples/fixture"))
            .await
    );
    let (status, _, second) = call(&client, reqwest::Method::GET, &url, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(
        first["pid"], second["pid"],
        "after a swap the next request cold-starts"
    );

    // Idle for longer than 300 ms: the reaper stops the instance (polled, bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while lambda.instance_count("fixture").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the idle instance was never reaped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _, third) = call(&client, reqwest::Method::GET, &url, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(
        second["pid"], third["pid"],
        "a reaped instance is started anew"
    );
    stack.shutdown().await;
}

/// moto server's Cognito as the trusted issuer and moto's S3 as the store: the gateway trusts
/// any Cognito-compatible issuer, and `--store dynamodb` puts notes where the deployed stack does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_cognito_tokens_and_the_dynamodb_store_through_the_gateway() {
    use test_support::moto;
    let endpoint = moto::endpoint();
    let aws = moto::sdk_config(&endpoint);
    let user = moto::sign_in(&aws, "local-aws", &[]).await;
    let (client_id, id_token) = (user.client_id.clone(), user.id_token.clone());
    let (table, _) = crate::common::moto_table("local-aws").await;

    let state = tempdir();
    let mut config = real_config(state.path());
    config.store = local_aws::stack::Store::Dynamo {
        table: table.clone(),
        endpoint_url: endpoint.clone(),
    };
    config.trust = local_aws::stack::Trust::External(local_aws::gateway::JwtConfig {
        issuer: user.issuer(),
        jwks_url: Some(user.jwks_url()),
        audiences: vec![client_id.clone()],
    });
    let stack = start(config).await;
    assert!(
        stack.issuer.is_none(),
        "an external issuer replaces the local one"
    );
    let client = http();
    let api = &stack.api_url;
    let (status, _, me) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/me"),
        Some(&id_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let sub = me["sub"].as_str().unwrap_or_default().to_owned();
    let (status, _, created) = call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/notes"),
        Some(&id_token),
        Some(json!({"title": "in DynamoDB", "body": "", "tags": []})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap_or_default();
    let item = moto::dynamodb(&aws)
        .get_item()
        .table_name(&table)
        .key(
            "owner",
            aws_sdk_dynamodb::types::AttributeValue::S(sub.clone()),
        )
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(id.to_owned()),
        )
        .send()
        .await;
    assert!(
        item.as_ref().is_ok_and(|i| i.item().is_some()),
        "the note should be the item ({sub}, {id}) of {table}: {item:?}"
    );
    // A local-issuer token means nothing to this gateway.
    let (status, _, _) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/me"),
        Some("x.y.z"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn route_scopes_are_enforced_and_claims_arrive_as_strings() {
    let state = tempdir();
    let stack = start(fixture_config(state.path(), "jwt", &["notes/write"])).await;
    let Some(issuer) = &stack.issuer else {
        panic!("no issuer");
    };
    if let Err(e) = issuer.admin_create_user("dave@example.com", PASSWORD) {
        panic!("{e}");
    }
    if let Err(e) = local_aws::issuer::add_user_to_group(
        &issuer.config().state_dir,
        "dave@example.com",
        "admin",
    ) {
        panic!("{e}");
    }
    let token = |scopes: &[&str], kind: &str| match issuer.issue_tokens("dave@example.com", scopes)
    {
        Ok(t) => t[kind].as_str().unwrap_or_default().to_owned(),
        Err(e) => panic!("{e}"),
    };
    let client = http();
    let url = format!("{}/echo", stack.api_url);

    let (status, headers, body) = call(
        &client,
        reqwest::Method::GET,
        &url,
        Some(&token(&["openid"], "access_token")),
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::FORBIDDEN, json!({"message": "Forbidden"}))
    );
    assert!(
        headers
            .get("www-authenticate")
            .is_some_and(|v| v.contains("insufficient_scope")),
        "{headers:?}"
    );
    let (status, _, _) = call(
        &client,
        reqwest::Method::GET,
        &url,
        Some(&token(&["openid"], "id_token")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "id tokens carry no scope");

    let (status, _, event) = call(
        &client,
        reqwest::Method::GET,
        &url,
        Some(&token(&["openid", "notes/write"], "access_token")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    let jwt = &event["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["scopes"], json!(["openid", "notes/write"]));
    assert_eq!(
        jwt["claims"]["cognito:groups"], "[admin]",
        "arrays in API Gateway's bracket form"
    );
    assert!(
        jwt["claims"]["exp"].is_string() && jwt["claims"]["iat"].is_string(),
        "numbers as strings: {jwt}"
    );
    assert_eq!(jwt["claims"]["token_use"], "access");
    stack.shutdown().await;
}

/// The port of a base URL such as `http://127.0.0.1:3001`.
fn port_of(url: &str) -> u16 {
    match reqwest::Url::parse(url).ok().and_then(|u| u.port()) {
        Some(port) => port,
        None => panic!("no port in {url}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_loopback_server_refuses_requests_for_other_hosts() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 1).await;
    let Some(issuer) = &stack.issuer else {
        panic!("the stack has no local issuer");
    };
    let issuer_url = issuer.config().base_url.clone();
    let client = http();
    let get = |url: String, host: String| {
        let client = client.clone();
        async move {
            match client.get(&url).header("host", host).send().await {
                Ok(response) => json_of(response).await,
                Err(e) => panic!("{url}: {e}"),
            }
        }
    };
    let api_port = port_of(&stack.api_url);
    let issuer_port = port_of(&issuer_url);
    // a DNS-rebinding page sends its own name, or the right name with another port
    for host in [
        format!("evil.example:{api_port}"),
        format!("127.0.0.1:{issuer_port}"),
        "127.0.0.1".to_owned(),
    ] {
        let (status, headers, body) = get(format!("{}/plain", stack.api_url), host.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "gateway, Host {host}");
        assert_eq!(
            body,
            json!({"message": "Forbidden"}),
            "gateway, Host {host}"
        );
        assert_eq!(
            headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
    }
    for path in [
        "/mailbox",
        "/login",
        "/dev/login",
        "/dev/callback",
        "/local_notes/.well-known/jwks.json",
    ] {
        let host = format!("evil.example:{issuer_port}");
        let (status, _, body) = get(format!("{issuer_url}{path}"), host).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "issuer {path}");
        let text = body.as_str().unwrap_or_default();
        assert!(text.contains("answers only requests for"), "{path}: {text}");
    }
    // its own names work
    for host in [
        format!("localhost:{api_port}"),
        format!("127.0.0.1:{api_port}"),
    ] {
        let (status, _, _) = get(format!("{}/plain", stack.api_url), host.clone()).await;
        assert_eq!(status, StatusCode::OK, "gateway, Host {host}");
    }
    let (status, _, _) = get(
        format!("{issuer_url}/mailbox"),
        format!("localhost:{issuer_port}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    stack.shutdown().await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_runtime_api_serves_only_its_own_secret_prefix() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 1).await;
    let client = http();
    let (status, _, _) = call(
        &client,
        reqwest::Method::GET,
        &format!("{}/plain", stack.api_url),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pids = stack.gateway.lambda().instance_pids("fixture").await;
    let Some(pid) = pids.first() else {
        panic!("no fixture instance is running");
    };
    let environ = match std::fs::read(format!("/proc/{pid}/environ")) {
        Ok(bytes) => bytes,
        Err(e) => panic!("/proc/{pid}/environ: {e}"),
    };
    let runtime_api = environ
        .split(|b| *b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(|entry| entry.strip_prefix("AWS_LAMBDA_RUNTIME_API="))
        .unwrap_or_default()
        .to_owned();
    let Ok(url) = reqwest::Url::parse(&runtime_api) else {
        panic!("AWS_LAMBDA_RUNTIME_API is {runtime_api:?}");
    };
    let prefix = url.path().trim_matches('/').to_owned();
    assert!(prefix.len() >= 43, "an unguessable prefix: {runtime_api}");
    let port = url.port().unwrap_or_default();
    let origin = format!("http://127.0.0.1:{port}");
    // what another local process would try: Lambda's paths, without or with a wrong prefix
    let quick = match reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let wrong = "A".repeat(prefix.len());
    for (method, path) in [
        (
            reqwest::Method::GET,
            "/2018-06-01/runtime/invocation/next".to_owned(),
        ),
        (
            reqwest::Method::GET,
            format!("/{wrong}/2018-06-01/runtime/invocation/next"),
        ),
        (
            reqwest::Method::POST,
            "/2018-06-01/runtime/invocation/r-1/response".to_owned(),
        ),
        (
            reqwest::Method::POST,
            "/2018-06-01/runtime/init/error".to_owned(),
        ),
    ] {
        let answer = quick
            .request(method.clone(), format!("{origin}{path}"))
            .send()
            .await;
        match answer {
            Ok(response) => assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}"),
            Err(e) => panic!("{method} {path} got no answer (an invocation was waited for?): {e}"),
        }
    }
    // the right prefix for another Host is refused too
    let answer = quick
        .post(format!("{origin}/{prefix}/2018-06-01/runtime/init/error"))
        .header("host", format!("evil.example:{port}"))
        .send()
        .await;
    match answer {
        Ok(response) => assert_eq!(response.status(), StatusCode::FORBIDDEN),
        Err(e) => panic!("{e}"),
    }
    // the instance itself still works
    let (status, _, _) = call(
        &client,
        reqwest::Method::GET,
        &format!("{}/plain", stack.api_url),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stack.gateway.lambda().instance_pids("fixture").await, pids);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dev_callback_serves_only_a_state_that_dev_login_issued_to_this_browser() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 1).await;
    let Some(issuer) = &stack.issuer else {
        panic!("the stack has no local issuer");
    };
    let config = issuer.config().clone();
    if let Err(e) = issuer.admin_create_user("dev@example.com", PASSWORD) {
        panic!("{e}");
    }
    let base = config.base_url.clone();
    let send = |request: reqwest::RequestBuilder| async move {
        match request.send().await {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    };
    let browser = browser_http();
    // no state, or one nobody issued
    for query in ["code=abc", "code=abc&state=forged", "error=access_denied"] {
        let response = send(browser.get(format!("{base}/dev/callback?{query}"))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let page = response.text().await.unwrap_or_default();
        assert!(
            page.contains("/dev/login") && page.contains("Sign-in refused"),
            "{page}"
        );
    }
    // /dev/login: a state and an S256 challenge, the state in a cookie
    let start = send(browser.get(format!("{base}/dev/login"))).await;
    assert_eq!(start.status(), StatusCode::FOUND);
    let cookie = start
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.starts_with("local_dev_state=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let authorize = location(&start);
    let query = query_of(&authorize);
    assert!(
        authorize.starts_with(&config.authorize_url()),
        "{authorize}"
    );
    assert_eq!(
        query.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let issued = query.get("state").cloned().unwrap_or_default();
    assert!(issued.len() >= 43, "{authorize}");
    // another browser with the same state is refused
    let response = send(http().get(format!("{base}/dev/callback?code=abc&state={issued}"))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // this browser signs in and lands on the callback with the state
    let to_login = send(browser.get(&authorize)).await;
    assert_eq!(to_login.status(), StatusCode::FOUND);
    let page = send(browser.get(format!("{base}{}", location(&to_login)))).await;
    let token = form_token(&page.text().await.unwrap_or_default());
    let mut form: Vec<(String, String)> = query.clone().into_iter().collect();
    for (name, value) in [
        ("email", "dev@example.com"),
        ("password", PASSWORD),
        ("_csrf", token.as_str()),
    ] {
        form.push((name.to_owned(), value.to_owned()));
    }
    let login = send(browser.post(format!("{base}/login")).form(&form)).await;
    assert_eq!(login.status(), StatusCode::FOUND);
    let callback = location(&login);
    assert_eq!(query_of(&callback).get("state"), Some(&issued));
    let done = send(browser.get(&callback)).await;
    assert_eq!(done.status(), StatusCode::OK);
    let page = done.text().await.unwrap_or_default();
    assert!(
        page.contains("Signed in") && page.contains("id_token"),
        "{page}"
    );
    // a state works once
    let again = send(browser.get(&callback)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    stack.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_state_directory_and_client_secret_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &std::path::Path| match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o777,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let top = tempdir();
    let state = top.path().join("dev");
    // the routes file goes next to the state directory, which the stack creates
    let mut config = fixture_config(top.path(), "none", &[]);
    config.state_dir = state.clone();
    config.store = local_aws::stack::Store::Fs(state.join("notes"));
    let stack = start(config.clone()).await;
    stack.shutdown().await;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("issuer")), 0o700);
    assert_eq!(mode(&state.join("client-secret")), 0o600);
    assert_eq!(mode(&state.join("issuer/users.json")), 0o600);
    let secret = std::fs::read_to_string(state.join("client-secret")).unwrap_or_default();

    // a directory others can enter is narrowed; the same secret is used again
    let widen = |path: &std::path::Path, mode: u32| {
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            panic!("chmod {}: {e}", path.display());
        }
    };
    widen(&state, 0o755);
    widen(&state.join("issuer"), 0o755);
    let stack = start(config.clone()).await;
    let Some(issuer) = &stack.issuer else {
        panic!("no issuer");
    };
    assert_eq!(issuer.config().client_secret, secret.trim());
    stack.shutdown().await;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("issuer")), 0o700);

    // a secret others can read is not trusted
    widen(&state.join("client-secret"), 0o644);
    match LocalStack::start(config.clone()).await {
        Ok(_) => panic!("a world-readable client secret was used"),
        Err(e) => assert!(e.to_string().contains("chmod 600"), "{e}"),
    }
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args(["token", "--email", "x@example.com", "--state-dir"])
        .arg(&state)
        .output();
    match cli {
        Ok(out) => {
            assert!(!out.status.success());
            assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
        }
        Err(e) => panic!("run local-aws: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_names_follow_cognito_on_the_command_line() {
    let state = tempdir();
    let stack = fixture_stack(state.path(), 1).await;
    let Some(issuer) = &stack.issuer else {
        panic!("no issuer");
    };
    if let Err(e) = issuer.admin_create_user("dev@example.com", PASSWORD) {
        panic!("{e}");
    }
    let port = port_of(&issuer.config().base_url).to_string();
    let group = |name: &str| match std::process::Command::new(env!("CARGO_BIN_EXE_local-aws"))
        .args([
            "group",
            "add",
            "--email",
            "dev@example.com",
            "--group",
            name,
        ])
        .args(["--issuer-port", port.as_str(), "--state-dir"])
        .arg(state.path())
        .output()
    {
        Ok(out) => (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Err(e) => panic!("run local-aws: {e}"),
    };
    let (ok, stderr) = group("a b");
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("invalid group name \"a b\""), "{stderr}");
    let (ok, stderr) = group("\"admin\"");
    assert!(ok, "{stderr}");
    let tokens = match issuer.issue_tokens("dev@example.com", &[]) {
        Ok(t) => Value::Object(t),
        Err(e) => panic!("{e}"),
    };
    let (id, access) = tokens_of(&tokens);
    assert_eq!(claims(&id)["cognito:groups"], json!(["\"admin\""]));
    assert_eq!(claims(&access)["cognito:groups"], json!(["\"admin\""]));
    stack.shutdown().await;
}
