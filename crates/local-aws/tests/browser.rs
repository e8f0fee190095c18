//! The local sign-in pages in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) from the banner's `/dev/login` link through sign-up (a policy error first),
//! the mailbox, confirmation, sign-in and the callback (which checks the state), then the API
//! called with the token the callback page shows.
//!
//! `cargo xtask test` unpacks Chromium and chromedriver into `.tools/debs` and sets `CHROMIUM`,
//! `CHROMEDRIVER` and `CHROMIUM_LIBRARY_PATH`; without them this test fails and says so.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use local_aws::stack::{LocalStack, StackConfig};

const EMAIL: &str = "browser@example.com";
const PASSWORD: &str = "Browser-Test-42-ok";

fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: run this test through `cargo xtask test`, which unpacks Chromium \
             and chromedriver into .tools/debs and sets CHROMIUM, CHROMEDRIVER and \
             CHROMIUM_LIBRARY_PATH"
        ),
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver and waits (bounded) until its `/status` says ready.
async fn start_driver() -> (Driver, String) {
    let chromedriver = env("CHROMEDRIVER");
    let port = test_support::free_port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .env("LD_LIBRARY_PATH", env("CHROMIUM_LIBRARY_PATH"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let driver = match child {
        Ok(c) => Driver(c),
        Err(e) => panic!("start {chromedriver}: {e}"),
    };
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = reqwest::get(format!("{url}/status")).await;
        if let Ok(response) = ready
            && let Ok(status) = response.json::<serde_json::Value>().await
            && status["value"]["ready"] == true
        {
            return (driver, url);
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn browser(driver_url: &str, profile: &Path) -> Client {
    // Both rustls providers are compiled into this workspace: name one (a second call is a no-op).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": env("CHROMIUM"),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--window-size=1000,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client = ClientBuilder::rustls()
        .map(|mut b| {
            b.capabilities(caps);
            b
        })
        .map_err(|e| e.to_string());
    let connected = match client {
        Ok(builder) => builder.connect(driver_url).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match connected {
        Ok(c) => c,
        Err(e) => panic!("open Chromium through chromedriver: {e}"),
    }
}

async fn fill(client: &Client, css: &str, text: &str) {
    let field = match client.find(Locator::Css(css)).await {
        Ok(f) => f,
        Err(e) => panic!("no {css} on {:?}: {e}", client.current_url().await.ok()),
    };
    if let Err(e) = field.clear().await {
        panic!("clear {css}: {e}");
    }
    if let Err(e) = field.send_keys(text).await {
        panic!("type into {css}: {e}");
    }
}

async fn click(client: &Client, css: &str) {
    match client.find(Locator::Css(css)).await {
        Ok(element) => {
            if let Err(e) = element.click().await {
                panic!("click {css}: {e}");
            }
        }
        Err(e) => panic!("no {css} on {:?}: {e}", client.current_url().await.ok()),
    }
}

/// A click starts a navigation; WebDriver may answer before it lands. Polls (bounded) until the
/// page is at `path` and its text contains `text`.
async fn wait_for(client: &Client, path: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Mid-navigation the old document may be gone and the new one not there yet: the
        // lookups fail then, which only means "not yet".
        let here = match client.current_url().await {
            Ok(url) => url.path().to_owned(),
            Err(_) => String::new(),
        };
        let body = match client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if here == path && body.contains(text) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "expected {path} containing {text:?}; the browser is at {here}:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_up_confirm_sign_in_and_call_the_api_in_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let state = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let mut config = StackConfig::for_workspace(&root);
    config.state_dir = state.path().to_path_buf();
    config.store = local_aws::stack::Store::Fs(state.path().join("notes"));
    config.forward_logs = false;
    let stack = match LocalStack::start(config).await {
        Ok(s) => s,
        Err(e) => panic!("start the local stack: {e}"),
    };
    let Some(issuer) = &stack.issuer else {
        panic!("no local issuer");
    };
    let issuer_config = issuer.config().clone();
    let callback = issuer_config.callback_urls[0].clone();
    assert!(callback.ends_with("/dev/callback"), "{callback}");

    let (_driver, driver_url) = start_driver().await;
    let profile = state.path().join("chromium-profile");
    let client = browser(&driver_url, &profile).await;

    // The banner's sign-in link: /dev/login starts the flow with a state (and PKCE) that
    // /dev/callback checks.
    let start = format!("{}/dev/login", issuer_config.base_url);
    if let Err(e) = client.goto(&start).await {
        panic!("open the sign-in page: {e}");
    }
    wait_for(&client, "/login", "Sign up").await;

    click(&client, "a[href*='/signup']").await;
    wait_for(&client, "/signup", "Already have an account").await;
    fill(&client, "input[name=email]", EMAIL).await;
    fill(&client, "input[name=password]", "short").await;
    click(&client, "button[type=submit]").await;
    wait_for(&client, "/signup", "Password did not conform with policy").await;

    fill(&client, "input[name=email]", EMAIL).await;
    fill(&client, "input[name=password]", PASSWORD).await;
    click(&client, "button[type=submit]").await;
    wait_for(&client, "/confirm", "Confirm account").await;
    let confirm_url = match client.current_url().await {
        Ok(url) => url,
        Err(e) => panic!("{e}"),
    };

    if let Err(e) = client.goto(&issuer_config.mailbox_url()).await {
        panic!("open the mailbox: {e}");
    }
    let mailbox = wait_for(&client, "/mailbox", EMAIL).await;
    let code: String = mailbox
        .split(EMAIL)
        .nth(1)
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_default()
        .to_owned();
    assert_eq!(code.len(), 6, "no code on the mailbox page:\n{mailbox}");

    if let Err(e) = client.goto(confirm_url.as_str()).await {
        panic!("back to the confirm page: {e}");
    }
    wait_for(&client, "/confirm", "Confirm account").await;
    fill(&client, "input[name=code]", &code).await;
    click(&client, "form button[type=submit]:not(.link)").await;
    wait_for(&client, "/login", "Need an account?").await;

    fill(&client, "input[name=email]", EMAIL).await;
    fill(&client, "input[name=password]", PASSWORD).await;
    click(&client, "button[type=submit]").await;
    wait_for(&client, "/dev/callback", "Signed in").await;
    let id_token = match client.find(Locator::Css("textarea")).await {
        Ok(area) => area.prop("value").await.ok().flatten().unwrap_or_default(),
        Err(e) => panic!("no token on the callback page: {e}"),
    };
    assert_eq!(id_token.split('.').count(), 3, "{id_token}");
    if let Ok(png) = client.screenshot().await {
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let _ = std::fs::write(root.join("target/browser-callback.png"), png);
    }
    let _ = client.close().await;

    let me = reqwest::Client::new()
        .get(format!("{}/me", stack.api_url))
        .bearer_auth(&id_token)
        .send()
        .await;
    let Ok(me) = me else {
        panic!("{me:?}");
    };
    assert_eq!(me.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = me.json().await.unwrap_or_default();
    assert_eq!(body["email"], EMAIL, "{body}");
    stack.shutdown().await;
}
