//! An RS256 test key: a fresh RSA 2048 pair, its public half as the JWK Cognito publishes, and
//! compact JWS signed with it (also from deliberately broken segments).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaEncoding};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Unpadded base64url, the encoding of every JWS segment.
#[must_use]
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA key pair of the test's own, published under `kid`.
#[derive(Debug)]
pub struct TestKey {
    /// The key id its JWK and tokens name.
    pub kid: String,
    pair: KeyPair,
}

impl TestKey {
    /// A fresh 2048-bit key named `kid`.
    ///
    /// # Panics
    /// When key generation fails.
    #[must_use]
    pub fn new(kid: &str) -> Self {
        match KeyPair::generate(KeySize::Rsa2048) {
            Ok(pair) => Self {
                kid: kid.to_owned(),
                pair,
            },
            Err(e) => panic!("RSA key generation failed: {e}"),
        }
    }

    /// The public key as a JWK, the way Cognito publishes it.
    #[must_use]
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "alg": "RS256",
            "e": b64(public.exponent().big_endian_without_leading_zero()),
            "kid": self.kid,
            "kty": "RSA",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "use": "sig",
        })
    }

    /// A JWKS document holding only this key.
    #[must_use]
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// The DER-encoded public key, what an attacker can download and misuse as an HMAC secret.
    #[must_use]
    pub fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// A compact JWS of `header` and `claims`, RS256-signed with this key.
    #[must_use]
    pub fn token(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&b64(header.to_string()), &b64(claims.to_string()))
    }

    /// An RS256 token with the usual header naming this key.
    #[must_use]
    pub fn rs256(&self, claims: &Value) -> String {
        self.token(&json!({ "alg": "RS256", "kid": self.kid }), claims)
    }

    /// Signs already-encoded segments, which may be deliberately broken, with RS256.
    #[must_use]
    pub fn sign_raw(&self, header: &str, payload: &str) -> String {
        self.sign_with(&RSA_PKCS1_SHA256, header, payload)
    }

    /// Signs already-encoded segments with `algorithm` (RS384 for a token this key's JWK does
    /// not allow, say).
    ///
    /// # Panics
    /// When signing fails.
    #[must_use]
    pub fn sign_with(
        &self,
        algorithm: &'static dyn RsaEncoding,
        header: &str,
        payload: &str,
    ) -> String {
        let input = format!("{header}.{payload}");
        let mut signature = vec![0; self.pair.public_modulus_len()];
        if let Err(e) = self.pair.sign(
            algorithm,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        ) {
            panic!("RS256 signing failed: {e}");
        }
        format!("{input}.{}", b64(signature))
    }
}

/// The claims of a valid Cognito id token for `client` from `issuer`, issued now: groups
/// `admin` and `users`, user `alice`, valid for `valid_for_secs`.
#[must_use]
pub fn cognito_id_claims(issuer: &str, client: &str, valid_for_secs: u64) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admin", "users"],
        "email_verified": true,
        "iss": issuer,
        "cognito:username": "alice",
        "origin_jti": "a6f5e4d3-c2b1-a0f9-e8d7-c6b5a4f3e2d1",
        "aud": client,
        "event_id": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        "token_use": "id",
        "auth_time": now - 10,
        "exp": now + valid_for_secs,
        "iat": now - 10,
        "jti": "d1e2f3a4-b5c6-d7e8-f9a0-b1c2d3e4f5a6",
        "email": "alice@example.com",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

    #[test]
    fn tokens_verify_with_the_published_jwk() {
        let key = TestKey::new("k1");
        let jwk = key.jwk();
        assert_eq!(jwk["kid"], "k1");
        assert_eq!(key.jwks()["keys"][0], jwk);
        let decode = |field: &str| {
            URL_SAFE_NO_PAD
                .decode(jwk[field].as_str().expect("a string"))
                .expect("base64url")
        };
        let public = RsaPublicKeyComponents {
            n: decode("n"),
            e: decode("e"),
        };
        let token = key.rs256(&cognito_id_claims("https://issuer", "client", 60));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header, json!({"alg": "RS256", "kid": "k1"}));
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(
            public
                .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
                .is_ok()
        );
        let other = TestKey::new("k2").sign_raw(parts[0], parts[1]);
        let other_signature = URL_SAFE_NO_PAD
            .decode(other.rsplit('.').next().expect("a signature"))
            .expect("b64");
        assert!(
            public
                .verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    signed.as_bytes(),
                    &other_signature
                )
                .is_err()
        );
    }
}
