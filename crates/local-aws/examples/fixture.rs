//! A Lambda function for the local stack's own tests: behaves by the request path, so one
//! binary can answer, echo its raw event, stay busy, crash, hang and fail on purpose.
//!
//! - `/echo`: 200 with the raw payload 2.0 event as the body;
//! - `/plain`: plain JSON without `statusCode` (the gateway turns it into a 200);
//! - `/sleep?ms=N`: answers after N ms (at most 5000) with its process id;
//! - `/crash`: the process exits with status 3 mid-invocation;
//! - `/hang`: never answers (the function timeout kills it);
//! - `/error`: returns an error (Lambda's error object);
//! - `/binary`: a base64-encoded body.

use lambda_http::lambda_runtime::{self, LambdaEvent};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let payload = event.payload;
    let path = payload["rawPath"].as_str().unwrap_or_default().to_owned();
    match path.as_str() {
        "/echo" => Ok(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": payload.to_string(),
        })),
        "/plain" => Ok(json!({"plain": true, "items": [1, 2]})),
        "/sleep" => {
            let ms = payload["queryStringParameters"]["ms"]
                .as_str()
                .and_then(|ms| ms.parse::<u64>().ok())
                .unwrap_or(100)
                .min(5000);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            Ok(json!({"pid": std::process::id()}))
        }
        "/crash" => std::process::exit(3),
        "/hang" => {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok(json!({}))
        }
        "/binary" => Ok(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": "AJ+Slg==",
            "isBase64Encoded": true,
            "cookies": ["a=1; Path=/", "b=2"],
        })),
        _ => Err(format!("fixture: nothing at {path}").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(handler)).await
}
