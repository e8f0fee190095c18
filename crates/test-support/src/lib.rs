//! Fixtures the workspace's tests share, so that each exists once: a free loopback port, a
//! unique lowercase name, and behind features the moto endpoint and its clients with fake
//! credentials (`moto`, `s3`, `cognito`: a user pool with a signed-in user) and an RS256 test
//! key with its JWK and a JWS signer (`jwt`), and the frame of a test that runs its own binary as
//! a function under the local Lambda emulator (`lambda`).
//!
//! A dev-dependency only: nothing that ships links it. Failures panic with what is missing,
//! the way a test should fail.

#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "moto")]
pub mod moto;

/// A loopback port that was free a moment ago (bound to port 0, then released).
///
/// # Panics
/// When no loopback port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(address) => address.port(),
        Err(e) => panic!("cannot bind a loopback port: {e}"),
    }
}

/// `prefix-` and a fresh lowercase ULID: a name no other test run uses (buckets, pools, users).
#[must_use]
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_bindable_and_names_unique() {
        let port = free_port();
        assert_ne!(port, 0);
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        let (a, b) = (unique("t"), unique("t"));
        assert_ne!(a, b);
        assert!(a.starts_with("t-") && a.len() == 28, "{a}");
        assert_eq!(a, a.to_lowercase());
    }
}
