//! JWT verifications per second on one core: `JwtVerifier::verify` of a Cognito-shaped id
//! token (RS256, a 2048-bit key generated here, its JWKS served once from loopback and then
//! cached), on a single-threaded runtime. `cargo xtask bench` runs this and reports the mean.
//!
//! Run: `cargo bench -p cognito-claims --bench verify`.

use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_claims::verify::{JwtVerifier, VerifierConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BenchPool";
const CLIENT: &str = "bench-client";
const KID: &str = "bench-key";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A key pair, its JWKS document and an id token signed with it.
fn key_and_token() -> (String, String) {
    let Ok(pair) = KeyPair::generate(KeySize::Rsa2048) else {
        panic!("RSA key generation failed");
    };
    let public = pair.public_key();
    let jwks = json!({"keys": [{
        "alg": "RS256", "kty": "RSA", "use": "sig", "kid": KID,
        "e": b64(public.exponent().big_endian_without_leading_zero()),
        "n": b64(public.modulus().big_endian_without_leading_zero()),
    }]})
    .to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admin", "users"],
        "email_verified": true, "iss": ISSUER, "cognito:username": "alice",
        "origin_jti": "a6f5e4d3-c2b1-a0f9-e8d7-c6b5a4f3e2d1", "aud": CLIENT,
        "event_id": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", "token_use": "id",
        "auth_time": now - 10, "exp": now + 86_400, "iat": now - 10,
        "jti": "d1e2f3a4-b5c6-d7e8-f9a0-b1c2d3e4f5a6", "email": "alice@example.com",
    });
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "RS256", "kid": KID}).to_string()),
        b64(claims.to_string())
    );
    let mut signature = vec![0; pair.public_modulus_len()];
    if pair
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .is_err()
    {
        panic!("RS256 signing failed");
    }
    (jwks, format!("{input}.{}", b64(signature)))
}

/// Serves `jwks` to every connection on a loopback port, from a background thread.
fn serve_jwks(jwks: String) -> String {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        panic!("cannot bind a loopback port");
    };
    let Ok(addr) = listener.local_addr() else {
        panic!("no local address");
    };
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0; 2048];
            let _ = stream.read(&mut request);
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{jwks}",
                jwks.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    format!("http://{addr}/.well-known/jwks.json")
}

fn verify(c: &mut Criterion) {
    let (jwks, token) = key_and_token();
    let mut config = VerifierConfig::new(ISSUER, [CLIENT]);
    config.jwks_url = Some(serve_jwks(jwks));
    let Ok(verifier) = JwtVerifier::new(config) else {
        panic!("verifier configuration");
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        panic!("tokio runtime");
    };
    // The first verification fetches the keys; from then on they are cached.
    match runtime.block_on(verifier.verify(&token)) {
        Ok(verified) => assert_eq!(verified.cognito.sub, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        Err(e) => panic!("the benchmark token does not verify: {e}"),
    }
    let mut group = c.benchmark_group("jwt");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_id_token", |b| {
        b.iter(|| runtime.block_on(verifier.verify(black_box(&token))).is_ok());
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
