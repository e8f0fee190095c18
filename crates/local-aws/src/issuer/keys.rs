//! The issuer's RS256 signing key: generated on first start, kept as PKCS#8 DER in the state
//! directory, published as a JWKS, and used to sign and verify tokens.
//!
//! aws-lc-rs checks the PKCS#8 key and gives its public key (the `kid`); jsonwebtoken reads the
//! same PKCS#8 document (as PEM) for signing and derives the JWK's `n` and `e` from it.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{IssuerError, files};

/// The key's file name in the state directory.
pub(crate) const KEY_FILE: &str = "issuer-key.der";

/// The RSA key pair in the forms signing, verification and the JWKS need.
pub(crate) struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    n: String,
    e: String,
}

impl SigningKey {
    /// Loads `{state_dir}/issuer-key.der`, generating and storing a new RSA 2048 key when the
    /// file does not exist.
    pub(crate) fn load_or_create(state_dir: &Path) -> Result<Self, IssuerError> {
        let path = state_dir.join(KEY_FILE);
        let pkcs8 = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == ErrorKind::NotFound => create_key_file(&path)?,
            Err(source) => {
                return Err(IssuerError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        Self::from_pkcs8(&path, &pkcs8)
    }

    pub(crate) fn from_pkcs8(path: &Path, pkcs8: &[u8]) -> Result<Self, IssuerError> {
        let key_error = |reason: String| IssuerError::Key {
            path: path.to_owned(),
            reason,
        };
        let key_pair = KeyPair::from_pkcs8(pkcs8).map_err(|err| key_error(err.to_string()))?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8));
        let encoding =
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|err| key_error(err.to_string()))?;
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
            .map_err(|err| key_error(err.to_string()))?;
        let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
            return Err(key_error("not an RSA key".to_owned()));
        };
        let decoding = DecodingKey::from_rsa_components(&rsa.n, &rsa.e)
            .map_err(|err| key_error(err.to_string()))?;
        let mut kid = hex::encode(Sha256::digest(key_pair.public_key().as_ref()));
        kid.truncate(16);
        Ok(Self {
            n: rsa.n.clone(),
            e: rsa.e.clone(),
            encoding,
            decoding,
            kid,
        })
    }

    /// The key id: the first 16 hex digits of the SHA-256 of the public key's DER.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS document: `{"keys":[{"kty":"RSA","alg":"RS256","use":"sig",..}]}`.
    pub(crate) fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": self.kid,
                "n": self.n,
                "e": self.e,
            }]
        })
    }

    /// Signs `claims` as an RS256 JWT whose header carries `kid` and `alg`, as Cognito's do.
    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> Result<String, IssuerError> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = None;
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(IssuerError::Sign)
    }

    /// Verifies a token this key signed for `issuer`: signature, `iss` and `exp` (no leeway).
    pub(crate) fn verify(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_aud = false;
        validation.leeway = 0;
        jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &validation)
            .map(|data| data.claims)
    }
}

/// Generates an RSA 2048 key and stores it (mode 0600); when another process stored one in
/// the meantime, that one wins and is returned instead.
fn create_key_file(path: &Path) -> Result<Vec<u8>, IssuerError> {
    let key_pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| IssuerError::Crypto { what: "an RSA key" })?;
    let pkcs8 = key_pair
        .as_der()
        .map_err(|_| IssuerError::Crypto { what: "an RSA key" })?;
    let bytes = pkcs8.as_ref().to_vec();
    if files::create_private_exclusive(path, &bytes)? {
        tracing::info!(path = %path.display(), "generated a new issuer signing key");
        Ok(bytes)
    } else {
        fs::read(path).map_err(|source| IssuerError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })
    }
}
