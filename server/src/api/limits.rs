//! What a caller may ask of the server: how long a request may take, how many run at once, how
//! often an address or a device may call, and which signed requests were already seen.
//!
//! Rate limits are GCRA (`governor`): per address on every route, before anything else is done;
//! per device once a request's signature has verified, so that nobody can use up a device's
//! allowance by sending its id. Replays are remembered in memory, bounded, per server instance:
//! instances behind one load balancer do not share what they saw.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use salur_core::request_auth::MAX_SKEW_MS;

use super::AppState;
use crate::clock::now_ms;
use crate::error::ApiError;

/// A steady rate with a burst on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Quota {
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Quota::per_second(nz(self.per_second)).allow_burst(nz(self.burst))
    }
}

/// The server's limits. The defaults leave room for many phones behind one carrier NAT address
/// and for a phone's sync after a day offline (a batch, then a few requests per evidence crop).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest a connection may take to send a request's line and headers (then it is closed).
    pub header_timeout: Duration,
    /// Longest a request may take, body included (then 408).
    pub request_timeout: Duration,
    /// Requests handled at once; more are refused at once with 503 rather than queued.
    pub max_in_flight: usize,
    /// Per client address (IPv4, or the /64 of an IPv6 address).
    pub per_address: Rate,
    /// Per device, counted after the signature verifies.
    pub per_device: Rate,
    /// Signed requests remembered for replay detection (beyond that, 503 until some expire).
    pub replay_capacity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_in_flight: 512,
            per_address: Rate { per_second: 50, burst: 500 },
            per_device: Rate { per_second: 10, burst: 120 },
            replay_capacity: 200_000,
        }
    }
}

/// How long a signed request is remembered: its time may be up to the skew ahead of our clock
/// and stays acceptable for the skew after, so two skews from when we first saw it covers it.
const REMEMBER_MS: i64 = 2 * MAX_SKEW_MS;

/// How often the rate limiters drop the state of callers that have gone quiet.
const PURGE_EVERY_MS: i64 = 10_000;

/// The limiters and the replay memory, shared by every route.
pub(crate) struct Guards {
    pub(crate) limits: Limits,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_device: DefaultKeyedRateLimiter<String>,
    replays: Mutex<Replays>,
    last_purge_ms: AtomicI64,
}

/// Signed requests seen, oldest first; expiries rise with insertion, so expired ones leave from
/// the front.
#[derive(Default)]
struct Replays {
    seen: HashSet<[u8; 32]>,
    order: VecDeque<(i64, [u8; 32])>,
}

impl Guards {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            by_address: DefaultKeyedRateLimiter::keyed(limits.per_address.quota()),
            by_device: DefaultKeyedRateLimiter::keyed(limits.per_device.quota()),
            replays: Mutex::default(),
            last_purge_ms: AtomicI64::new(now_ms()),
            limits,
        }
    }

    fn check<K: Clone + std::hash::Hash + Eq>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
        who: &str,
    ) -> Result<(), ApiError> {
        self.purge_quiet();
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            // Round up: a client that waits the whole seconds we name is then let through.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::RateLimited {
                message: format!("too many requests from this {who}: retry later"),
                retry_after_secs: secs.max(1),
            }
        })
    }

    /// Counts a request from `ip` (all of an IPv6 /64 counts as one address).
    pub(crate) fn check_address(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.check(&self.by_address, &address_key(ip), "address")
    }

    /// Counts a verified request from `device_id`.
    pub(crate) fn check_device(&self, device_id: &str) -> Result<(), ApiError> {
        self.check(&self.by_device, &device_id.to_string(), "device")
    }

    /// Refuses a signed request already seen (the same signature), else remembers it.
    pub(crate) fn remember(&self, signature: &[u8; 64]) -> Result<(), ApiError> {
        let id = salur_core::crypto::sha256(signature);
        let now = now_ms();
        let mut r = self.replays.lock().map_err(|_| ApiError::Internal("replay memory poisoned".into()))?;
        while r.order.front().is_some_and(|(expires, _)| *expires <= now) {
            if let Some((_, old)) = r.order.pop_front() {
                r.seen.remove(&old);
            }
        }
        if r.seen.contains(&id) {
            return Err(ApiError::Replayed("this signed request was already received: sign each request anew".into()));
        }
        if r.seen.len() >= self.limits.replay_capacity {
            // Forgetting early would let a replay through; refusing keeps the guarantee.
            let oldest = r.order.front().map_or(now, |(expires, _)| *expires);
            let secs = u64::try_from(oldest.saturating_sub(now) / 1000).unwrap_or(0).max(1);
            return Err(ApiError::Busy { message: "the server is busy: retry later".into(), retry_after_secs: secs });
        }
        r.seen.insert(id);
        r.order.push_back((now.saturating_add(REMEMBER_MS), id));
        Ok(())
    }

    /// Drops the rate state of callers back at full allowance, at most every few seconds, so the
    /// limiters' memory follows the callers of the last minutes and not every caller ever.
    fn purge_quiet(&self) {
        let now = now_ms();
        let last = self.last_purge_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= PURGE_EVERY_MS
            && self.last_purge_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            for limiter in [&self.by_address as &dyn Purge, &self.by_device] {
                limiter.purge();
            }
        }
    }
}

/// A keyed limiter whose idle keys can be dropped.
trait Purge {
    fn purge(&self);
}

impl<K: Clone + std::hash::Hash + Eq> Purge for DefaultKeyedRateLimiter<K> {
    fn purge(&self) {
        self.retain_recent();
        self.shrink_to_fit();
    }
}

/// IPv4 addresses as they are; IPv6 by their /64, which one subscriber usually holds whole.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

/// The outermost layer: the per-address rate limit, and the API's error body on tower-http's
/// bare 408. Without a peer address (a router driven in-process) there is no address to count.
pub(super) async fn per_address(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        if let Err(e) = state.guards.check_address(peer.ip()) {
            return e.into_response();
        }
    }
    let res = next.run(req).await;
    if res.status() == StatusCode::REQUEST_TIMEOUT && res.headers().get(header::CONTENT_TYPE).is_none() {
        let secs = state.guards.limits.request_timeout.as_secs_f32();
        return ApiError::Timeout(format!("the request took longer than {secs} s: send it again")).into_response();
    }
    res
}

/// Refuses a body whose declared length is over `max` before any of it is read; a body without
/// a length is cut at `max` by the extractor (`DefaultBodyLimit`, set beside this).
pub(super) async fn declared_length(max: usize, req: Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return super::auth::too_large().into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_callers_count_by_their_slash_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_key(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_request_is_remembered_once_and_the_memory_is_bounded() {
        let guards = Guards::new(Limits { replay_capacity: 2, ..Limits::default() });
        guards.remember(&[1; 64]).unwrap();
        assert!(matches!(guards.remember(&[1; 64]), Err(ApiError::Replayed(_))));
        guards.remember(&[2; 64]).unwrap();
        assert!(
            matches!(guards.remember(&[3; 64]), Err(ApiError::Busy { retry_after_secs, .. }) if retry_after_secs >= 1)
        );
    }

    #[test]
    fn the_rate_limit_names_a_wait_of_at_least_a_second() {
        let guards = Guards::new(Limits { per_device: Rate { per_second: 1, burst: 2 }, ..Limits::default() });
        guards.check_device("d").unwrap();
        guards.check_device("d").unwrap();
        let e = guards.check_device("d").unwrap_err();
        assert!(matches!(e, ApiError::RateLimited { retry_after_secs: 1, .. }), "{e:?}");
        guards.check_device("other").unwrap();
    }
}
