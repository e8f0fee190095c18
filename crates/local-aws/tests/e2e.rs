//! End to end over HTTP: the local gateway, the local issuer and the real function binaries.
//!
//! `cargo xtask test` builds the function binaries (`target/debug/<function>`) before the tests;
//! `cargo test` builds the `fixture` example this file also uses. The flows: sign up → confirm →
//! authorize → code → token exchange (Basic auth, PKCE) → every route with id and access tokens;
//! the negative JWT set through the gateway; AWS's own error answers; the raw payload 2.0 event;
//! cold start, warm reuse, scale-out under concurrency; a crash and a timeout followed by a
//! working request.

mod common;

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
    let client = http();
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

    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([("email", email), ("password", PASSWORD)]);
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
    form.extend([("email", email), ("code", code.as_str())]);
    let confirm = send(
        client
            .post(format!("{}/confirm", config.base_url))
            .form(&form),
    )
    .await;
    assert_eq!(confirm.status(), StatusCode::FOUND);
    assert!(location(&confirm).contains("/login"));

    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([("email", email), ("password", PASSWORD)]);
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
/// any Cognito-compatible issuer, and `--store s3` puts notes where the deployed stack does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_cognito_tokens_and_the_s3_store_through_the_gateway() {
    use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_cognitoidentityprovider::types::{
        AttributeType, AuthFlowType, ExplicitAuthFlowsType,
    };
    let endpoint = match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run this test through `cargo xtask test`, which starts \
             moto server"
        ),
    };
    let credentials = Credentials::new("test", "test", None, None, "static");
    let cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(credentials.clone())
            .build(),
    );
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("local-aws-{suffix}"))
        .send()
        .await;
    let Some(pool_id) = pool
        .ok()
        .and_then(|p| p.user_pool().and_then(|p| p.id()).map(str::to_owned))
    else {
        panic!("CreateUserPool on moto failed");
    };
    let app = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .send()
        .await;
    let Some(client_id) = app.ok().and_then(|c| {
        c.user_pool_client()
            .and_then(|c| c.client_id())
            .map(str::to_owned)
    }) else {
        panic!("CreateUserPoolClient on moto failed");
    };
    let username = format!("user-{suffix}");
    let Ok(email) = AttributeType::builder()
        .name("email")
        .value(format!("{username}@example.com"))
        .build()
    else {
        panic!("attribute");
    };
    let signed_up = cognito
        .sign_up()
        .client_id(&client_id)
        .username(&username)
        .password(PASSWORD)
        .user_attributes(email)
        .send()
        .await;
    assert!(signed_up.is_ok(), "{signed_up:?}");
    let confirmed = cognito
        .admin_confirm_sign_up()
        .user_pool_id(&pool_id)
        .username(&username)
        .send()
        .await;
    assert!(confirmed.is_ok(), "{confirmed:?}");
    let auth = cognito
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", &username)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await;
    let Some(id_token) = auth.ok().and_then(|a| {
        a.authentication_result()
            .and_then(|r| r.id_token())
            .map(str::to_owned)
    }) else {
        panic!("InitiateAuth on moto failed");
    };

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("local-aws-{suffix}");
    let created = s3.create_bucket().bucket(&bucket).send().await;
    assert!(created.is_ok(), "{created:?}");

    let state = tempdir();
    let mut config = real_config(state.path());
    config.store = local_aws::stack::Store::S3 {
        bucket: bucket.clone(),
        endpoint_url: endpoint.clone(),
    };
    config.trust = local_aws::stack::Trust::External(local_aws::gateway::JwtConfig {
        issuer: format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"),
        jwks_url: Some(format!(
            "{}/{pool_id}/.well-known/jwks.json",
            endpoint.trim_end_matches('/')
        )),
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
        Some(json!({"title": "in S3", "body": "", "tags": []})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = format!(
        "notes/{sub}/{}.json",
        created["id"].as_str().unwrap_or_default()
    );
    let object = s3.head_object().bucket(&bucket).key(&key).send().await;
    assert!(
        object.is_ok(),
        "the note should be at s3://{bucket}/{key}: {object:?}"
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
