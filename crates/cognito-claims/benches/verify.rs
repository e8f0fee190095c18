//! JWT verifications per second on one core: `JwtVerifier::verify` of a Cognito-shaped id
//! token (RS256, a 2048-bit key generated here, its JWKS served once from loopback and then
//! cached), on a single-threaded runtime. `cargo xtask bench` runs this and reports the mean.
//!
//! Run: `cargo bench -p cognito-claims --bench verify`.

use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use cognito_claims::verify::{JwtVerifier, VerifierConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use test_support::jwt::{TestKey, cognito_id_claims};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_BenchPool";
const CLIENT: &str = "bench-client";
const KID: &str = "bench-key";

/// A key pair's JWKS document and an id token signed with it.
fn key_and_token() -> (String, String) {
    let key = TestKey::new(KID);
    let claims = cognito_id_claims(ISSUER, CLIENT, 86_400);
    (key.jwks().to_string(), key.rs256(&claims))
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
