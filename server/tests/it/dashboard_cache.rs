//! The dashboard is cached for a few seconds per server: a second instance's write shows on this
//! one within the TTL, this instance's own writes at once (on each backend).

use crate::common;

use crate::common::phone::{approved, call, Phone, ADMIN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use salur_server::read::cache::DASHBOARD_TTL;
use salur_server::{router, AppState};

fn dashboard() -> Request<Body> {
    Request::get("/v1/dashboard").header("authorization", format!("Bearer {ADMIN}")).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn another_instances_upload_shows_within_the_ttl_and_our_own_at_once() {
    for backend in common::backends().await {
        let this = router(AppState::new(backend.storage.open().await.unwrap(), ADMIN));
        let other = router(AppState::new(backend.storage.open().await.unwrap(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-cache");
        approved(&other, &phone).await;
        let (status, before) = call(&this, dashboard()).await;
        assert_eq!((status, before["receipts"].as_u64()), (StatusCode::OK, Some(0)));
        let receipt = phone.receipt(|_| {});
        assert_eq!(call(&other, phone.upload(&[&receipt])).await.0, StatusCode::OK);
        assert_eq!(call(&other, dashboard()).await.1["receipts"], 1, "{}: our own write at once", backend.name);
        assert_eq!(call(&this, dashboard()).await.1["receipts"], 0, "{}: served from the cache", backend.name);
        tokio::time::sleep(DASHBOARD_TTL + std::time::Duration::from_millis(100)).await;
        assert_eq!(call(&this, dashboard()).await.1["receipts"], 1, "{}: fresh after the TTL", backend.name);
    }
}
