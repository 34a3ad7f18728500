//! Login throttling: a keyed token bucket (governor's GCRA) per user name and per client address,
//! checked before a password is hashed, so guessing is slow and cannot burn the server's CPU.
//! The address is the client's (behind a trusted proxy, the one it forwarded), an IPv6 /64
//! counting as one, as in the general limit: one subscriber usually holds a whole /64. Kept in
//! memory per instance: behind several PostgreSQL-backed instances each counts its own.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::limits::address_key;
use crate::error::ApiError;

/// Keys past which stale buckets are swept (bounds memory under a spray of names).
const SWEEP_AT: usize = 10_000;

/// The two limiters.
pub struct LoginThrottle {
    by_name: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<Option<IpAddr>>,
}

fn quota(burst: u32, every: Duration) -> Quota {
    // Both numbers are constants above zero; the fallbacks never apply.
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

impl Default for LoginThrottle {
    /// 5 attempts per name then one a minute; 20 per address then one every 3 seconds.
    fn default() -> Self {
        Self::new(5, Duration::from_secs(60), 20, Duration::from_secs(3))
    }
}

impl LoginThrottle {
    /// `name_burst` attempts per name, then one per `name_every`; likewise per address.
    pub fn new(name_burst: u32, name_every: Duration, address_burst: u32, address_every: Duration) -> Self {
        Self {
            by_name: RateLimiter::keyed(quota(name_burst, name_every)),
            by_address: RateLimiter::keyed(quota(address_burst, address_every)),
        }
    }

    /// Takes one attempt for `name` from `address`; 429 when either has used up its attempts.
    pub fn attempt(&self, name: &str, address: Option<IpAddr>) -> Result<(), ApiError> {
        if self.by_name.len() > SWEEP_AT || self.by_address.len() > SWEEP_AT {
            self.by_name.retain_recent();
            self.by_address.retain_recent();
        }
        let refused = |n| refusal("too many login attempts", n);
        self.by_address.check_key(&address.map(address_key)).map_err(refused)?;
        // Real names have at most 64 characters: a longer key buys an attacker nothing but memory.
        let key: String = name.chars().take(64).collect();
        self.by_name.check_key(&key).map_err(refused)?;
        Ok(())
    }

    /// Takes one enrolment attempt (a registration nonce or a registration) from `address`: codes
    /// are short enough to type, so guessing them must stay slow.
    pub fn attempt_enrolment(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        if self.by_address.len() > SWEEP_AT {
            self.by_address.retain_recent();
        }
        self.by_address
            .check_key(&address.map(address_key))
            .map_err(|n| refusal("too many enrolment attempts from this address", n))
    }
}

/// 429 with the seconds until the next attempt is allowed.
fn refusal(
    what: &str,
    not_until: governor::NotUntil<<governor::clock::DefaultClock as governor::clock::Clock>::Instant>,
) -> ApiError {
    use governor::clock::{Clock, DefaultClock};
    let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1);
    ApiError::RateLimited { message: format!("{what}: wait {wait} s before trying again"), retry_after_secs: wait }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_slash_64_is_one_address_for_logins_and_enrolments() {
        let throttle = LoginThrottle::new(100, Duration::from_secs(1), 2, Duration::from_secs(3600));
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "2001:db8:1:2::1".parse().unwrap(),
            "2001:db8:1:2:ffff::9".parse().unwrap(),
            "2001:db8:1:3::1".parse().unwrap(),
        );
        throttle.attempt("ana", Some(a)).unwrap();
        throttle.attempt_enrolment(Some(b)).unwrap();
        // A third attempt from anywhere in the same /64 is refused; the next /64 has its own.
        assert!(matches!(throttle.attempt("budi", Some(b)), Err(ApiError::RateLimited { .. })));
        throttle.attempt("budi", Some(c)).unwrap();
    }
}
