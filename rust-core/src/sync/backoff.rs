//! Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS architecture
//! blog): the wait before retry `n` is uniform in `[0, min(cap, base * 2^n)]`, so a thousand
//! phones that lost signal together do not come back together. A server's `Retry-After` is a floor.

use std::time::{Duration, SystemTime};

use ring::rand::{SecureRandom, SystemRandom};

/// Retry policy of the sync client (the only layer that retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Upper bound of the first wait.
    pub base: Duration,
    /// Largest wait (also caps a server's `Retry-After`).
    pub cap: Duration,
    /// Tries of one request before the sync gives up for now (the receipts stay queued).
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_millis(500), cap: Duration::from_secs(60), max_attempts: 8 }
    }
}

impl Backoff {
    /// The wait after failed attempt `attempt` (0-based), at least `retry_after` when the server gave one.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.base.saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX)).min(self.cap);
        let jittered = ceiling.mul_f64(unit_random());
        match retry_after {
            Some(floor) => jittered.max(floor.min(self.cap)),
            None => jittered,
        }
    }
}

fn unit_random() -> f64 {
    let mut b = [0u8; 8];
    // Without randomness, fall back to the full wait: slower, never a thundering herd at zero.
    if SystemRandom::new().fill(&mut b).is_err() {
        return 1.0;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_cap_and_respect_retry_after() {
        let b = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(2), max_attempts: 5 };
        for attempt in 0..40 {
            let d = b.delay(attempt, None);
            let ceiling = Duration::from_millis(100u64.saturating_mul(1 << attempt.min(20))).min(b.cap);
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
        assert!(b.delay(0, Some(Duration::from_secs(1))) >= Duration::from_secs(1));
        assert_eq!(b.delay(0, Some(Duration::from_secs(3600))), b.cap);
        // Jitter: not every wait is the same.
        let waits: std::collections::HashSet<_> = (0..20).map(|_| b.delay(4, None)).collect();
        assert!(waits.len() > 1);
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(30)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
