//! What a caller may ask of the server: how many connections it may hold, how long a request and
//! its body may take, how many requests run at once (in all and per address), how often an address
//! or a device may call, and which signed requests were already seen.
//!
//! Rate limits are GCRA (`governor`): per address on every route, before anything else is done;
//! per device once a request's signature has verified, so that nobody can use up a device's
//! allowance by sending its id. Replays are remembered in the database (`seen_requests`), which
//! every instance over one PostgreSQL shares, so a request replayed through another instance is
//! refused too; only once a request has authenticated, so that nobody can fill the table without
//! a key the server knows. The rate limits stay in each instance's memory (see
//! docs/architecture.md for why those need not be shared).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use hyper::body::Body as HttpBody;
use salur_core::request_auth::MAX_SKEW_MS;
use std::future::Future;

use super::AppState;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::store::Db;

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
/// and for a phone's sync after a day offline (a batch, then a few requests per evidence crop),
/// while no one address can take more than a share of the connections and request slots.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once; a connection over it is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Connections open at once from one client address (IPv4, or the /64 of an IPv6 address).
    pub max_connections_per_address: usize,
    /// Longest a connection may stay open with no request in flight, whether it never sent a
    /// byte, sent part of the HTTP/2 preface, or is an idle HTTP/1 keep-alive or h2c connection.
    pub idle_timeout: Duration,
    /// Longest a connection may take to send a request's line and headers (then it is closed).
    pub header_timeout: Duration,
    /// Longest a request's body may take to arrive, counted from its head (then 408 `body_timeout`).
    pub body_timeout: Duration,
    /// Longest a request may take, body included (then 408).
    pub request_timeout: Duration,
    /// Requests handled at once; more are refused at once with 503 rather than queued.
    pub max_in_flight: usize,
    /// Requests handled at once for one client address; more are refused at once with 503, so
    /// one address cannot take every slot of `max_in_flight`.
    pub max_in_flight_per_address: usize,
    /// Per client address (IPv4, or the /64 of an IPv6 address).
    pub per_address: Rate,
    /// Per device, counted after the signature verifies.
    pub per_device: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_connections_per_address: 256,
            idle_timeout: Duration::from_secs(15),
            header_timeout: Duration::from_secs(10),
            // The phone sends batches of 200 receipts (a few hundred KiB) and evidence in 32 KiB
            // chunks: seconds even on EDGE. 30 s cuts a held body off well before the request's
            // 60 s, with its own answer, while an honest slow upload still fits.
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_in_flight: 512,
            max_in_flight_per_address: 64,
            per_address: Rate { per_second: 50, burst: 500 },
            per_device: Rate { per_second: 10, burst: 120 },
        }
    }
}

/// How far apart the clocks of two instances over one database may be: one instance forgets a
/// request by its own clock, and another must by then refuse the request as stale by its own.
const INSTANCE_CLOCKS_MS: i64 = 60_000;

/// How long a signed request is remembered: its time may be up to the skew ahead of our clock
/// and stays acceptable for the skew after, so two skews from when we first saw it covers it on
/// this instance, and the margin for the other instances' clocks on top.
const REMEMBER_MS: i64 = 2 * MAX_SKEW_MS + INSTANCE_CLOCKS_MS;

/// How often an instance deletes the remembered requests that have expired.
const FORGET_EVERY_MS: i64 = 60_000;

/// How often the rate limiters drop the state of callers that have gone quiet.
const PURGE_EVERY_MS: i64 = 10_000;

/// The limiters, shared by every route, and when the replay table was last swept.
pub(crate) struct Guards {
    pub(crate) limits: Limits,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_device: DefaultKeyedRateLimiter<String>,
    last_forget_ms: AtomicI64,
    last_purge_ms: AtomicI64,
    /// Requests in flight per address key; an entry leaves when its count falls to zero.
    in_flight: Mutex<HashMap<IpAddr, usize>>,
}

/// One request's slot among its address's `max_in_flight_per_address`, given back on drop.
pub(crate) struct AddressSlot {
    guards: Arc<Guards>,
    key: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        // A poisoned lock only means another request panicked while counting: keep counting.
        let mut counts = self.guards.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl Guards {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            by_address: DefaultKeyedRateLimiter::keyed(limits.per_address.quota()),
            by_device: DefaultKeyedRateLimiter::keyed(limits.per_device.quota()),
            last_forget_ms: AtomicI64::new(0),
            last_purge_ms: AtomicI64::new(now_ms()),
            in_flight: Mutex::default(),
            limits,
        }
    }

    /// Takes one of `ip`'s request slots, or refuses with 503 at once when its address already
    /// has `max_in_flight_per_address` requests running (the global limit is checked after).
    pub(crate) fn enter(self: &Arc<Self>, ip: IpAddr) -> Result<AddressSlot, ApiError> {
        let key = address_key(ip);
        let mut counts = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(key).or_insert(0);
        if *n >= self.limits.max_in_flight_per_address {
            return Err(ApiError::Busy {
                message: "too many requests from this address at once: let one finish, then retry".into(),
                retry_after_secs: 1,
            });
        }
        *n += 1;
        Ok(AddressSlot { guards: Arc::clone(self), key })
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

    /// Refuses a signed request already seen by any instance over `db` (the same signature),
    /// else remembers it there.
    pub(crate) async fn remember(&self, db: &Db, signature: &[u8; 64]) -> Result<(), ApiError> {
        let id = salur_core::crypto::sha256(signature);
        let now = now_ms();
        self.forget_expired(db, now);
        if db.remember_request(&id, now.saturating_add(REMEMBER_MS)).await? {
            Ok(())
        } else {
            Err(ApiError::Replayed("this signed request was already received: sign each request anew".into()))
        }
    }

    /// Deletes the expired remembered requests, at most every minute per instance and beside
    /// the request (a sweep that fails is tried again later and refuses nobody: an expired row
    /// left behind only names a request too old to be accepted anyway).
    fn forget_expired(&self, db: &Db, now: i64) {
        let last = self.last_forget_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < FORGET_EVERY_MS
            || self.last_forget_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        let db = db.clone();
        tokio::spawn(async move {
            match db.forget_requests(now).await {
                Ok(n) => tracing::debug!(forgotten = n, "expired signed requests forgotten"),
                Err(e) => tracing::warn!(error = %e, "forgetting expired signed requests failed"),
            }
        });
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
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

/// The outermost layer: the per-address rate limit and request slots, the body deadline, and the
/// API's error bodies on tower-http's bare 408 and on a body cut off at its deadline. Without a
/// peer address (a router driven in-process) there is no address to count.
pub(super) async fn per_address(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut _slot = None;
    let mut req = req;
    if let Some(&ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        // Found once here; the throttles and the audit log read it from the request after.
        let client = state.proxies.client(peer, req.headers());
        req.extensions_mut().insert(client);
        let admitted = state.guards.check_address(client.ip).and_then(|()| state.guards.enter(client.ip));
        match admitted {
            Ok(slot) => _slot = Some(slot),
            Err(e) => return e.into_response(),
        }
    }
    let body_timeout = state.guards.limits.body_timeout;
    let cut = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| axum::body::Body::new(DeadlineBody::new(body, body_timeout, Arc::clone(&cut))));
    let res = next.run(req).await;
    // Whatever the handler made of the failed read (each extractor words it its own way), the
    // caller learns that its body was too slow.
    if cut.load(Ordering::Acquire) {
        let secs = body_timeout.as_secs_f32();
        return ApiError::BodyTimeout(format!(
            "the request body did not arrive within {secs} s: send it again, or send less at once"
        ))
        .into_response();
    }
    if res.status() == StatusCode::REQUEST_TIMEOUT && res.headers().get(header::CONTENT_TYPE).is_none() {
        let secs = state.guards.limits.request_timeout.as_secs_f32();
        return ApiError::Timeout(format!("the request took longer than {secs} s: send it again")).into_response();
    }
    res
}

/// The body was not whole by its deadline (what the body yields in place of the rest).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
struct BodyDeadlinePassed(Duration);

/// A request body that must be read whole within a deadline set when its head arrived: a body
/// that stalls, or trickles in a byte at a time, ends in an error at the deadline, and `cut` says
/// so to [`per_address`]. The timer is made only when the body first has to be waited for.
struct DeadlineBody {
    inner: axum::body::Body,
    deadline: tokio::time::Instant,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    cut: Arc<AtomicBool>,
    limit: Duration,
}

impl DeadlineBody {
    fn new(inner: axum::body::Body, limit: Duration, cut: Arc<AtomicBool>) -> Self {
        Self { inner, deadline: tokio::time::Instant::now() + limit, timer: None, cut, limit }
    }

    fn passed(&mut self) -> Poll<Option<Result<hyper::body::Frame<axum::body::Bytes>, axum::BoxError>>> {
        self.cut.store(true, Ordering::Release);
        Poll::Ready(Some(Err(BodyDeadlinePassed(self.limit).into())))
    }
}

impl HttpBody for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.cut.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            // A frame that arrives after the deadline is a trickle: cut it off too.
            Poll::Ready(Some(_)) if tokio::time::Instant::now() >= this.deadline => this.passed(),
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => this.passed(),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
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
    fn the_rate_limit_names_a_wait_of_at_least_a_second() {
        let guards = Guards::new(Limits { per_device: Rate { per_second: 1, burst: 2 }, ..Limits::default() });
        guards.check_device("d").unwrap();
        guards.check_device("d").unwrap();
        let e = guards.check_device("d").unwrap_err();
        assert!(matches!(e, ApiError::RateLimited { retry_after_secs: 1, .. }), "{e:?}");
        guards.check_device("other").unwrap();
    }
}
