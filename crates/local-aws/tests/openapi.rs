//! The local gateway serves the committed OpenAPI contract at `GET /openapi.json`: before route
//! matching, without a token, as `application/json`, and the document's operations are the
//! gateway's routes. The gateway runs over the real route table; no function is needed (the
//! document never reaches one).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use function_table::{FunctionTable, RouteTable};
use local_aws::gateway::{Gateway, JwtConfig, OPENAPI_JSON, OPENAPI_PATH};
use local_aws::lambda::{Lambda, LambdaConfig};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The gateway over `IaC/routes.auto.tfvars.json`, no functions, an authorizer whose issuer is
/// never contacted (no request here carries a token), on a free loopback port.
async fn gateway() -> (String, Arc<Gateway>, tokio::task::JoinHandle<()>) {
    let routes = match FunctionTable::load_tfvars(&root().join("IaC/routes.auto.tfvars.json")) {
        Ok(table) => RouteTable::new(&table),
        Err(e) => panic!("the route table: {e}"),
    };
    let jwt = JwtConfig {
        issuer: "http://127.0.0.1:9/unused-issuer".to_owned(),
        jwks_url: None,
        audiences: vec!["local-notes-client".to_owned()],
    };
    let lambda = Lambda::new(Vec::new(), LambdaConfig::default());
    let gateway = match Gateway::new(routes, lambda, Some(jwt)) {
        Ok(gateway) => Arc::new(gateway.quiet()),
        Err(e) => panic!("the gateway: {e}"),
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(listener) => listener,
        Err(e) => panic!("bind: {e}"),
    };
    let Ok(addr) = listener.local_addr() else {
        panic!("the listener's address");
    };
    let app = gateway
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), gateway, server)
}

async fn get(url: &str) -> reqwest::Response {
    match reqwest::get(url).await {
        Ok(response) => response,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

#[tokio::test]
async fn serves_the_committed_contract_without_auth() {
    let (base, gateway, server) = gateway().await;

    let response = get(&format!("{base}{OPENAPI_PATH}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let Ok(text) = response.text().await else {
        panic!("the document's text");
    };
    assert_eq!(text, OPENAPI_JSON);
    let Ok(committed) = std::fs::read_to_string(root().join("openapi.json")) else {
        panic!("openapi.json at the workspace root");
    };
    assert_eq!(text, committed, "the gateway serves the committed file");
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        panic!("the document is JSON");
    };
    assert_eq!(doc["openapi"], "3.1.0");

    // Every documented operation is a route of this gateway, with the same authorizer rule.
    let Some(paths) = doc["paths"].as_object() else {
        panic!("the document has paths");
    };
    let mut operations = 0;
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            panic!("{path}: a path item");
        };
        for (method, operation) in item {
            let method = method.to_uppercase();
            let Some(matched) = gateway.routes().find(&method, path) else {
                panic!("{method} {path} is documented but not routed");
            };
            assert_eq!(
                matched.route.needs_jwt(),
                operation.get("security").is_some(),
                "{method} {path}"
            );
            operations += 1;
        }
    }
    assert_eq!(operations, gateway.routes().functions().count());

    // The routes themselves still need a token, and other methods on the path are not served.
    let me = get(&format!("{base}/me")).await;
    assert_eq!(me.status(), 401);
    let client = reqwest::Client::new();
    match client
        .post(format!("{base}{OPENAPI_PATH}"))
        .body("{}")
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status(), 404),
        Err(e) => panic!("POST {OPENAPI_PATH}: {e}"),
    }
    server.abort();
}
