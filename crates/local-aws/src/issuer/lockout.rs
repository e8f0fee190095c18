//! Bounds on password guessing: Cognito's lockout after failed sign-in attempts.
//!
//! Cognito ("Lockout behavior for failed sign-in attempts",
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/authentication.html#authentication-flow-lockout-behavior>):
//! after five failed sign-in attempts with a password, the user is locked out for one second;
//! the lockout then doubles after each further failed attempt, up to about 15 minutes
//! (`2^(n-5)` seconds for `n` failures). Attempts during a lockout get "Password attempts
//! exceeded" and do not lengthen it. The count starts over after a successful sign-in, or after
//! 15 minutes without attempts.
//!
//! Here the count is kept in memory per (lower-cased) user name, for unknown users too, so that
//! the lockout says nothing about which users exist. An attempt is counted as failed before
//! the password is checked and forgotten when it succeeds, so concurrent guesses cannot slip
//! past the count. The times come from the caller (milliseconds), so the rules are tested
//! without waiting; [`LockoutPolicy`] sets the durations.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::lock;

/// The durations of the sign-in lockout; the default is Cognito's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failed attempts that are free: the next failure locks the user out (Cognito: 5).
    pub free_attempts: u32,
    /// The first lockout (Cognito: 1 second); each further failure doubles it.
    pub first_lockout: Duration,
    /// The longest lockout (Cognito: about 15 minutes).
    pub max_lockout: Duration,
    /// After this long without attempts, the count starts over (Cognito: 15 minutes).
    pub reset_after: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            first_lockout: Duration::from_secs(1),
            max_lockout: Duration::from_secs(15 * 60),
            reset_after: Duration::from_secs(15 * 60),
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl LockoutPolicy {
    /// The lockout after `failures` failed attempts (zero while they are free).
    fn lockout_ms(&self, failures: u32) -> i64 {
        let free = self.free_attempts.max(1);
        if failures < free {
            return 0;
        }
        let doublings = (failures - free).min(40);
        millis(self.first_lockout)
            .saturating_mul(1_i64 << doublings)
            .min(millis(self.max_lockout))
    }
}

/// One user name's failed attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Attempts {
    failures: u32,
    locked_until_ms: i64,
    last_attempt_ms: i64,
}

/// The outcome of [`Lockouts::begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Check the password; call [`Lockouts::succeeded`] when it matches.
    Allowed,
    /// Locked out: refuse without checking the password.
    LockedOut,
}

/// The failed attempts of every user name.
#[derive(Debug, Default)]
pub(crate) struct Lockouts {
    attempts: Mutex<HashMap<String, Attempts>>,
}

impl Lockouts {
    /// Starts a sign-in attempt for `name` at `now_ms`: locked out, or allowed and counted as
    /// failed until [`Lockouts::succeeded`] says otherwise.
    pub(crate) fn begin(&self, policy: &LockoutPolicy, name: &str, now_ms: i64) -> Attempt {
        let reset_ms = millis(policy.reset_after);
        let mut attempts = lock(&self.attempts);
        attempts.retain(|_, a| {
            a.locked_until_ms > now_ms || now_ms.saturating_sub(a.last_attempt_ms) < reset_ms
        });
        let entry = attempts.entry(name.to_owned()).or_default();
        if now_ms < entry.locked_until_ms {
            entry.last_attempt_ms = now_ms;
            return Attempt::LockedOut;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_attempt_ms = now_ms;
        let lockout = policy.lockout_ms(entry.failures);
        if lockout > 0 {
            entry.locked_until_ms = now_ms.saturating_add(lockout);
        }
        Attempt::Allowed
    }

    /// The attempt begun for `name` succeeded: its count starts over.
    pub(crate) fn succeeded(&self, name: &str) {
        lock(&self.attempts).remove(name);
    }
}

/// The current time in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_out_for_a_second_then_doubling_up_to_the_maximum() {
        let policy = LockoutPolicy::default();
        let lockouts = Lockouts::default();
        let mut now = 1_000_000;
        for _ in 0..4 {
            assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
            now += 10;
        }
        // the fifth failure locks out for 1 s
        assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
        assert_eq!(lockouts.begin(&policy, "u", now + 999), Attempt::LockedOut);
        assert_eq!(
            lockouts.begin(&policy, "other", now + 999),
            Attempt::Allowed
        );
        // the sixth for 2 s, the seventh for 4 s; attempts while locked out do not count
        now += 1000;
        assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
        assert_eq!(lockouts.begin(&policy, "u", now + 1999), Attempt::LockedOut);
        assert_eq!(lockouts.begin(&policy, "u", now + 1999), Attempt::LockedOut);
        now += 2000;
        assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
        assert_eq!(lockouts.begin(&policy, "u", now + 3999), Attempt::LockedOut);
        now += 4000;
        // a success starts over
        assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
        lockouts.succeeded("u");
        for _ in 0..4 {
            assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
        }
        assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
        assert_eq!(lockouts.begin(&policy, "u", now + 1), Attempt::LockedOut);
        // so do 15 minutes without attempts
        now += 15 * 60 * 1000 + 1;
        for _ in 0..4 {
            assert_eq!(lockouts.begin(&policy, "u", now), Attempt::Allowed);
        }
        assert_eq!(lockouts.begin(&policy, "u", now + 1), Attempt::Allowed);
        assert_eq!(lockouts.begin(&policy, "u", now + 2), Attempt::LockedOut);
    }

    #[test]
    fn the_lockout_is_capped() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.lockout_ms(4), 0);
        assert_eq!(policy.lockout_ms(5), 1000);
        assert_eq!(policy.lockout_ms(6), 2000);
        assert_eq!(policy.lockout_ms(14), 512_000);
        assert_eq!(policy.lockout_ms(15), 900_000);
        assert_eq!(policy.lockout_ms(u32::MAX), 900_000);
    }
}
