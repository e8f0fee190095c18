//! The projected AWS Lambda bill per million requests, from a measured duration.
//!
//! `cost = requests × price_per_request + requests × billed_seconds × memory_GB × price_per_GB_s`,
//! where the billed duration is the measured one rounded up to the next whole millisecond
//! (at least 1 ms), as Lambda bills. API Gateway, DynamoDB, CloudWatch Logs and data transfer are
//! not included.

use serde::{Deserialize, Serialize};

/// The published Lambda price for arm64 (Graviton) in us-east-1, per GB-second (first
/// 6 billion GB-s of the month).
pub const ARM64_PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;

/// The published Lambda price per million requests (us-east-1, both architectures).
pub const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;

/// What the prices are for, as the report states it.
pub const PRICE_SOURCE: &str = "AWS Lambda pricing, us-east-1, arm64, as published in 2025 \
     (compute $0.0000133334 per GB-second, requests $0.20 per million; free tier not deducted)";

/// The memory the projection assumes, in MB (every route's `memory` in this project).
pub const MEMORY_MB: u32 = 128;

/// One projection.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// The billed duration of one invocation, in ms.
    pub billed_ms: u64,
    /// Compute per million requests, in USD.
    pub compute: f64,
    /// Request charges per million requests, in USD.
    pub requests: f64,
}

impl Cost {
    /// Compute plus requests, per million requests.
    #[must_use]
    pub fn total(&self) -> f64 {
        self.compute + self.requests
    }
}

/// The billed duration of an invocation that took `duration_ms`: rounded up to whole
/// milliseconds, at least 1.
#[must_use]
pub fn billed_ms(duration_ms: f64) -> u64 {
    if !duration_ms.is_finite() || duration_ms <= 1.0 {
        return 1;
    }
    duration_ms.ceil() as u64
}

/// The cost of a million invocations of `duration_ms` each at `memory_mb`.
#[must_use]
pub fn per_million(duration_ms: f64, memory_mb: u32) -> Cost {
    let billed = billed_ms(duration_ms);
    let gb_seconds = 1_000_000.0 * (billed as f64 / 1000.0) * (f64::from(memory_mb) / 1024.0);
    Cost {
        billed_ms: billed,
        compute: gb_seconds * ARM64_PRICE_PER_GB_SECOND,
        requests: PRICE_PER_MILLION_REQUESTS,
    }
}

/// The cost of a million invocations when a fraction `cold_share` of them are cold starts
/// that take `cold_ms` instead of `warm_ms` (Lambda bills the init phase too).
#[must_use]
pub fn per_million_with_cold(warm_ms: f64, cold_ms: f64, cold_share: f64, memory_mb: u32) -> f64 {
    let warm = per_million(warm_ms, memory_mb);
    let cold = per_million(cold_ms, memory_mb);
    let share = cold_share.clamp(0.0, 1.0);
    warm.requests + warm.compute * (1.0 - share) + cold.compute * share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_milliseconds() {
        for (ms, want) in [
            (0.0, 1),
            (0.2, 1),
            (1.0, 1),
            (1.01, 2),
            (7.0, 7),
            (7.3, 8),
            (f64::NAN, 1),
        ] {
            assert_eq!(billed_ms(ms), want, "{ms}");
        }
    }

    #[test]
    fn a_million_one_millisecond_invocations_at_128_mb() {
        let cost = per_million(0.4, 128);
        assert_eq!(cost.billed_ms, 1);
        // 1e6 × 0.001 s × 0.125 GB = 125 GB-s.
        assert!((cost.compute - 125.0 * ARM64_PRICE_PER_GB_SECOND).abs() < 1e-12);
        assert!((cost.compute - 0.001_666_675).abs() < 1e-9);
        assert!((cost.total() - 0.201_666_675).abs() < 1e-9);
    }

    #[test]
    fn compute_scales_with_billed_time_and_memory() {
        let short = per_million(3.2, 128);
        let long = per_million(100.0, 1024);
        assert_eq!(short.billed_ms, 4);
        assert!((short.compute - 4.0 * per_million(1.0, 128).compute).abs() < 1e-12);
        assert!((long.compute - 100.0 * 8.0 * per_million(1.0, 128).compute).abs() < 1e-9);
        assert_eq!(long.requests, 0.20);
    }

    #[test]
    fn cold_starts_add_their_share() {
        let none = per_million_with_cold(1.0, 100.0, 0.0, 128);
        let all = per_million_with_cold(1.0, 100.0, 1.0, 128);
        let some = per_million_with_cold(1.0, 100.0, 0.01, 128);
        assert!((none - per_million(1.0, 128).total()).abs() < 1e-12);
        assert!((all - per_million(100.0, 128).total()).abs() < 1e-12);
        assert!(none < some && some < all);
    }
}
