//! A minimal DER reader that unwraps an RSA PKCS#8 `PrivateKeyInfo` into the PKCS#1
//! `RSAPrivateKey` that `jsonwebtoken::EncodingKey::from_rsa_der` wants.

use thiserror::Error;

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

/// The `rsaEncryption` algorithm identifier, OID 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Why a PKCS#8 document could not be unwrapped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum DerError {
    /// The input ends inside a tag, a length or a value.
    #[error("the DER data is truncated")]
    Truncated,
    /// A field has another type than the PKCS#8 structure requires.
    #[error("expected DER tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag {
        /// The tag PKCS#8 requires at this position.
        expected: u8,
        /// The tag found.
        found: u8,
    },
    /// A length is indefinite, longer than 4 bytes or not minimally encoded.
    #[error("unsupported DER length encoding")]
    BadLength,
    /// Bytes follow the outer `SEQUENCE`.
    #[error("trailing bytes after the PKCS#8 structure")]
    TrailingData,
    /// The version is neither v1 (0) nor v2 (1).
    #[error("unsupported PKCS#8 version")]
    Version,
    /// The algorithm identifier is not `rsaEncryption`.
    #[error("not an RSA key (the PKCS#8 algorithm is not rsaEncryption)")]
    NotRsa,
}

/// Reads DER TLVs one after the other from a byte slice.
struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// Reads one TLV whose tag must be `expected`, returning its value.
    fn read(&mut self, expected: u8) -> Result<&'a [u8], DerError> {
        let (&found, rest) = self.input.split_first().ok_or(DerError::Truncated)?;
        if found != expected {
            return Err(DerError::UnexpectedTag { expected, found });
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError::Truncated)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(DerError::BadLength);
            }
            if rest.len() < count {
                return Err(DerError::Truncated);
            }
            let (len_bytes, after) = rest.split_at(count);
            if len_bytes.first() == Some(&0) {
                return Err(DerError::BadLength);
            }
            let len = len_bytes
                .iter()
                .fold(0usize, |len, &byte| (len << 8) | usize::from(byte));
            if len < 0x80 {
                return Err(DerError::BadLength);
            }
            rest = after;
            len
        };
        if rest.len() < len {
            return Err(DerError::Truncated);
        }
        let (value, after) = rest.split_at(len);
        self.input = after;
        Ok(value)
    }
}

/// Returns the PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo`
/// (`SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, .. }`).
pub(crate) fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Result<&[u8], DerError> {
    let mut outer = Reader::new(pkcs8);
    let info = outer.read(TAG_SEQUENCE)?;
    if !outer.is_empty() {
        return Err(DerError::TrailingData);
    }
    let mut info = Reader::new(info);
    let version = info.read(TAG_INTEGER)?;
    if version != [0] && version != [1] {
        return Err(DerError::Version);
    }
    let mut algorithm = Reader::new(info.read(TAG_SEQUENCE)?);
    if algorithm.read(TAG_OID)? != RSA_ENCRYPTION_OID {
        return Err(DerError::NotRsa);
    }
    // The optional attributes ([0]) and public key ([1]) that may follow are not needed.
    info.read(TAG_OCTET_STRING)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;

    use super::*;

    /// A PKCS#8 wrapper around `payload`, built by hand with short-form lengths.
    fn wrap(oid: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut algorithm = vec![TAG_OID, u8::try_from(oid.len()).unwrap_or(0)];
        algorithm.extend_from_slice(oid);
        algorithm.extend_from_slice(&[0x05, 0x00]);
        let mut body = vec![TAG_INTEGER, 1, 0, TAG_SEQUENCE];
        body.push(u8::try_from(algorithm.len()).unwrap_or(0));
        body.extend_from_slice(&algorithm);
        body.push(TAG_OCTET_STRING);
        body.push(u8::try_from(payload.len()).unwrap_or(0));
        body.extend_from_slice(payload);
        let mut der = vec![TAG_SEQUENCE, u8::try_from(body.len()).unwrap_or(0)];
        der.extend_from_slice(&body);
        der
    }

    #[test]
    fn unwraps_a_hand_built_document() {
        let der = wrap(&RSA_ENCRYPTION_OID, b"pkcs1 bytes");
        assert_eq!(pkcs8_to_pkcs1(&der), Ok(&b"pkcs1 bytes"[..]));
    }

    #[test]
    fn rejects_malformed_documents() {
        let der = wrap(&RSA_ENCRYPTION_OID, b"key");
        assert_eq!(
            pkcs8_to_pkcs1(&der[..der.len() - 1]),
            Err(DerError::Truncated)
        );
        assert_eq!(pkcs8_to_pkcs1(&[]), Err(DerError::Truncated));
        let mut trailing = der.clone();
        trailing.push(0);
        assert_eq!(pkcs8_to_pkcs1(&trailing), Err(DerError::TrailingData));
        let mut not_sequence = der.clone();
        not_sequence[0] = TAG_OCTET_STRING;
        assert_eq!(
            pkcs8_to_pkcs1(&not_sequence),
            Err(DerError::UnexpectedTag {
                expected: TAG_SEQUENCE,
                found: TAG_OCTET_STRING
            })
        );
        let mut version = der.clone();
        version[4] = 7;
        assert_eq!(pkcs8_to_pkcs1(&version), Err(DerError::Version));
        // id-ecPublicKey, 1.2.840.10045.2.1
        let ec = wrap(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01], b"key");
        assert_eq!(pkcs8_to_pkcs1(&ec), Err(DerError::NotRsa));
        // A long-form length that would fit the short form is not DER.
        assert_eq!(
            pkcs8_to_pkcs1(&[TAG_SEQUENCE, 0x81, 0x05, 0, 0, 0, 0, 0]),
            Err(DerError::BadLength)
        );
        assert_eq!(
            pkcs8_to_pkcs1(&[TAG_SEQUENCE, 0x80]),
            Err(DerError::BadLength)
        );
    }

    #[test]
    fn unwraps_an_aws_lc_key_into_a_loadable_pkcs1_key() {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).expect("generate");
        let pkcs8 = key_pair.as_der().expect("pkcs8");
        let pkcs1 = pkcs8_to_pkcs1(pkcs8.as_ref()).expect("unwrap");
        assert_eq!(pkcs1.first(), Some(&TAG_SEQUENCE));
        let reloaded = KeyPair::from_der(pkcs1).expect("PKCS#1 key");
        assert_eq!(
            reloaded.public_key().as_ref(),
            key_pair.public_key().as_ref()
        );
    }
}
