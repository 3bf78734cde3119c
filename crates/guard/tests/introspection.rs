//! RFC 7662 introspection mode against a local endpoint: client authentication, `active:false`,
//! the cache bound, fail-closed timeouts (RS-12) and opaque tokens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use common::*;
use portcullis_guard::jose::Algorithm;
use portcullis_guard::{Guard, IntrospectionConfig, Revocation};
use portcullis_types::ClientSecret;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Endpoint {
    response: Mutex<Value>,
    calls: AtomicUsize,
    delay_ms: AtomicU64,
    last_form: Mutex<String>,
}

async fn introspect(
    State(state): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    state.calls.fetch_add(1, Ordering::SeqCst);
    *state.last_form.lock().unwrap() = body;
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("orders-api:s3cret%2B")
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    (StatusCode::OK, Json(state.response.lock().unwrap().clone()))
}

async fn start(response: Value) -> (String, Arc<Endpoint>) {
    let state = Arc::new(Endpoint {
        response: Mutex::new(response),
        calls: AtomicUsize::new(0),
        delay_ms: AtomicU64::new(0),
        last_form: Mutex::new(String::new()),
    });
    let router = Router::new()
        .route("/introspect", post(introspect))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, state)
}

fn guard(
    issuer: &TestIssuer,
    url: &str,
    secret: &str,
    configure: impl FnOnce(IntrospectionConfig) -> IntrospectionConfig,
) -> Guard {
    let config = configure(IntrospectionConfig::new(
        url,
        "orders-api",
        ClientSecret::new(secret),
    ));
    issuer
        .builder()
        .revocation(Revocation::Introspection(config))
        .build()
        .unwrap()
}

fn active(exp: i64) -> Value {
    json!({"active": true, "iss": ISS, "aud": AUD, "sub": "bob", "client_id": "spa", "scope": "orders:read orders:write", "exp": exp, "jti": "opaque-1"})
}

#[tokio::test]
async fn rs_12_active_false_is_refused() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (url, endpoint) = start(json!({"active": false})).await;
    let guard = guard(&issuer, &url, "s3cret+", |c| c);
    let reply = send(app(&guard), get_with("/me", Some(&bearer(&issuer.token())))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"], "invalid_token");
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 1);
    let form = endpoint.last_form.lock().unwrap().clone();
    assert!(form.contains("token_type_hint=access_token"));
}

#[tokio::test]
async fn rs_12_revocation_is_seen_after_the_cache_bound() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (url, endpoint) = start(active(NOW + 300)).await;
    let guard = guard(&issuer, &url, "s3cret+", |c| {
        c.cache_ttl(Duration::from_secs(10))
    });
    let token = issuer.token();
    for _ in 0..3 {
        assert_eq!(
            send(app(&guard), get_with("/me", Some(&bearer(&token))))
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(
        endpoint.calls.load(Ordering::SeqCst),
        1,
        "active answers are cached"
    );
    *endpoint.response.lock().unwrap() = json!({"active": false});
    issuer.clock.advance(10);
    assert_eq!(
        send(app(&guard), get_with("/me", Some(&bearer(&token))))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Without a cache the revocation is seen on the next request.
    let (url, endpoint) = start(active(NOW + 10_000)).await;
    let guard = guard_no_cache(&issuer, &url);
    assert_eq!(
        send(app(&guard), get_with("/me", Some(&bearer(&token))))
            .await
            .status,
        StatusCode::OK
    );
    *endpoint.response.lock().unwrap() = json!({"active": false});
    assert_eq!(
        send(app(&guard), get_with("/me", Some(&bearer(&token))))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

fn guard_no_cache(issuer: &TestIssuer, url: &str) -> Guard {
    guard(issuer, url, "s3cret+", |c| c.cache_ttl(Duration::ZERO))
}

#[tokio::test]
async fn rs_12_timeout_and_errors_fail_closed() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (url, endpoint) = start(active(NOW + 300)).await;
    endpoint.delay_ms.store(2_000, Ordering::SeqCst);
    let slow = guard(&issuer, &url, "s3cret+", |c| {
        c.timeout(Duration::from_millis(200))
    });
    let reply = send(app(&slow), get_with("/me", Some(&bearer(&issuer.token())))).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);

    endpoint.delay_ms.store(0, Ordering::SeqCst);
    let wrong_secret = guard(&issuer, &url, "wrong", |c| c);
    let reply = send(
        app(&wrong_secret),
        get_with("/me", Some(&bearer(&issuer.token()))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn opaque_tokens_use_the_introspection_claims() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (url, endpoint) = start(active(NOW + 5)).await;
    let guard = guard(&issuer, &url, "s3cret+", |c| {
        c.cache_ttl(Duration::from_secs(60))
    });
    let reply = send(
        app(&guard),
        get_with("/me", Some(&bearer("opaque-token-123"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["sub"], "bob");
    assert_eq!(reply.json()["scope"], "orders:read orders:write");

    // The cache never outlives the token: after exp the endpoint is asked again and the
    // guard refuses the expired answer.
    issuer.clock.advance(6);
    let reply = send(
        app(&guard),
        get_with("/me", Some(&bearer("opaque-token-123"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 2);

    for (i, bad) in [
        json!({"active": true, "iss": ISS, "aud": "other", "exp": NOW + 600}),
        json!({"active": true, "iss": "https://evil.example", "aud": AUD, "exp": NOW + 600}),
        json!({"active": true, "iss": ISS, "aud": AUD}),
        json!({"active": true, "iss": ISS, "aud": AUD, "exp": NOW + 600, "token_type": "refresh_token"}),
    ]
    .into_iter()
    .enumerate()
    {
        *endpoint.response.lock().unwrap() = bad.clone();
        let reply = send(app(&guard), get_with("/me", Some(&bearer(&format!("opaque-{i}"))))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{bad}");
    }
}

#[tokio::test]
async fn opaque_tokens_are_refused_without_introspection() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let reply = send(
        app(&issuer.guard()),
        get_with("/me", Some(&bearer("opaque-token-123"))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
