//! Discovery mode against a local issuer on 127.0.0.1:0 that serves metadata and a JWKS and
//! counts fetches: rotation, the unknown-`kid` flood (RS-11), issuer mismatch, redirects, limits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use common::{app, bearer, get_with, send};
use portcullis_guard::jose::time::{FixedClock, UnixTime};
use portcullis_guard::jose::{Algorithm, JwkSet, SigningKey, jwt};
use portcullis_guard::{Guard, GuardBuilder, HasAudience, HasIssuer};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NOW: i64 = 1_800_000_000;

#[derive(Default)]
struct MockState {
    base: Mutex<String>,
    keys: Mutex<Vec<SigningKey>>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    issuer_override: Mutex<Option<String>>,
    jwks_path: Mutex<String>,
    cache_control: Mutex<Option<String>>,
    padding: AtomicUsize,
    oidc_missing: AtomicBool,
    jwks_down: AtomicBool,
}

struct MockIssuer {
    base: String,
    state: Arc<MockState>,
    clock: Arc<FixedClock>,
}

async fn metadata(State(state): State<Arc<MockState>>) -> Response {
    state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let base = state.base.lock().unwrap().clone();
    let issuer = state
        .issuer_override
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| base.clone());
    let jwks_path = state.jwks_path.lock().unwrap().clone();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}{jwks_path}"),
        "response_types_supported": ["code"],
    }))
    .into_response()
}

async fn oidc_metadata(state: State<Arc<MockState>>) -> Response {
    if state.oidc_missing.load(Ordering::SeqCst) {
        return StatusCode::NOT_FOUND.into_response();
    }
    metadata(state).await
}

async fn jwks(State(state): State<Arc<MockState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if state.jwks_down.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let set = JwkSet {
        keys: state
            .keys
            .lock()
            .unwrap()
            .iter()
            .filter_map(SigningKey::to_public_jwk)
            .collect(),
    };
    let mut body = serde_json::to_string(&set).unwrap();
    body.push_str(&" ".repeat(state.padding.load(Ordering::SeqCst)));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(cc) = state.cache_control.lock().unwrap().clone() {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(&cc).unwrap());
    }
    (headers, body).into_response()
}

impl MockIssuer {
    async fn start() -> Self {
        let state = Arc::new(MockState::default());
        *state.jwks_path.lock().unwrap() = "/jwks".to_owned();
        state.keys.lock().unwrap().push(
            SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .with_kid("k1"),
        );
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(oidc_metadata))
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/jwks", get(jwks))
            .route("/moved", get(|| async { Redirect::temporary("/jwks") }))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *state.base.lock().unwrap() = base.clone();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            base,
            state,
            clock: Arc::new(FixedClock::new(UnixTime(NOW))),
        }
    }

    fn builder(&self) -> GuardBuilder<HasIssuer, HasAudience> {
        Guard::builder()
            .issuer(self.base.clone())
            .audience("orders-api")
            .clock(self.clock.clone())
            .background_refresh(false)
    }

    fn claims(&self) -> Value {
        json!({"iss": self.base, "sub": "alice", "aud": "orders-api", "exp": NOW + 3600, "iat": NOW, "jti": "j"})
    }

    fn token_with(&self, key: &SigningKey) -> String {
        jwt::encode(key, "at+jwt", &self.claims()).unwrap()
    }

    fn token(&self) -> String {
        let keys = self.state.keys.lock().unwrap();
        self.token_with(keys.last().unwrap())
    }

    fn rotate(&self, kid: &str) -> SigningKey {
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid(kid);
        self.state.keys.lock().unwrap().push(key.clone());
        key
    }

    fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }
}

async fn status(guard: &Guard, token: &str) -> StatusCode {
    send(app(guard), get_with("/me", Some(&bearer(token))))
        .await
        .status
}

#[tokio::test]
async fn discovery_finds_the_keys_and_caches_them() {
    let issuer = MockIssuer::start().await;
    let guard = issuer.builder().build().unwrap();
    for _ in 0..5 {
        assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    }
    assert_eq!(issuer.state.discovery_fetches.load(Ordering::SeqCst), 1);
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn rfc8414_metadata_is_the_fallback() {
    let issuer = MockIssuer::start().await;
    issuer.state.oidc_missing.store(true, Ordering::SeqCst);
    let guard = issuer.builder().build().unwrap();
    guard.warm_up().await.unwrap();
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn rs_11_key_rotation_is_picked_up_on_unknown_kid() {
    let issuer = MockIssuer::start().await;
    let guard = issuer
        .builder()
        .refetch_interval(Duration::from_secs(30))
        .build()
        .unwrap();
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 1);

    let next = issuer.rotate("k2");
    let token = issuer.token_with(&next);
    // Within the interval of the last fetch: no refetch, the token is refused.
    assert_eq!(status(&guard, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(issuer.jwks_fetches(), 1);
    // After the interval the unknown kid triggers one refetch, without a restart.
    issuer.clock.advance(31);
    assert_eq!(status(&guard, &token).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 2);
    assert_eq!(status(&guard, &token).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn rs_11_flood_of_random_kids_causes_no_fetch_storm() {
    let issuer = MockIssuer::start().await;
    let guard = issuer.builder().build().unwrap();
    guard.warm_up().await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 1);
    issuer.clock.advance(31);

    let forged: Vec<String> = (0..100)
        .map(|i| {
            let key = SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .with_kid(format!("random-{i}"));
            issuer.token_with(&key)
        })
        .collect();
    // 100 at once...
    let mut tasks = Vec::new();
    for token in forged.clone() {
        let guard = guard.clone();
        tasks.push(tokio::spawn(async move { status(&guard, &token).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    // ...then 100 one after the other.
    for token in &forged {
        assert_eq!(status(&guard, token).await, StatusCode::UNAUTHORIZED);
    }
    let fetches = issuer.jwks_fetches();
    assert!(fetches <= 2, "{fetches} JWKS fetches for 200 unknown kids");
    // The real key still works.
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn rs_5_discovery_with_a_different_issuer_is_refused() {
    let issuer = MockIssuer::start().await;
    *issuer.state.issuer_override.lock().unwrap() = Some(format!("{}/", issuer.base));
    let guard = issuer.builder().build().unwrap();
    assert!(guard.warm_up().await.is_err());
    assert_eq!(
        issuer.jwks_fetches(),
        0,
        "keys are never fetched for a mismatched issuer"
    );
    let reply = send(app(&guard), get_with("/me", Some(&bearer(&issuer.token())))).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn rs_11_redirects_are_not_followed() {
    let issuer = MockIssuer::start().await;
    *issuer.state.jwks_path.lock().unwrap() = "/moved".to_owned();
    let guard = issuer.builder().build().unwrap();
    assert!(guard.warm_up().await.is_err());
    assert_eq!(issuer.jwks_fetches(), 0);
}

#[tokio::test]
async fn rs_11_oversized_documents_are_refused() {
    let issuer = MockIssuer::start().await;
    issuer.state.padding.store(64 * 1024, Ordering::SeqCst);
    let guard = issuer
        .builder()
        .max_document_size(16 * 1024)
        .build()
        .unwrap();
    assert!(guard.warm_up().await.is_err());
    let guard = issuer
        .builder()
        .max_document_size(128 * 1024)
        .build()
        .unwrap();
    guard.warm_up().await.unwrap();
}

#[tokio::test]
async fn failed_load_is_not_retried_before_the_interval() {
    let issuer = MockIssuer::start().await;
    *issuer.state.issuer_override.lock().unwrap() = Some("https://elsewhere.example".to_owned());
    let guard = issuer.builder().build().unwrap();
    for _ in 0..20 {
        assert_eq!(
            status(&guard, &issuer.token()).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(issuer.state.discovery_fetches.load(Ordering::SeqCst), 1);
    // The issuer is fixed; after the interval the guard recovers by itself.
    *issuer.state.issuer_override.lock().unwrap() = None;
    issuer.clock.advance(31);
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn cache_lifetime_follows_max_age_within_bounds() {
    let issuer = MockIssuer::start().await;
    *issuer.state.cache_control.lock().unwrap() = Some("public, max-age=120".to_owned());
    let guard = issuer
        .builder()
        .cache_ttl_bounds(Duration::from_secs(60), Duration::from_secs(3600))
        .build()
        .unwrap();
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    issuer.clock.advance(100);
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 1);
    issuer.clock.advance(30);
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 2, "an expired cache is refreshed");

    // max-age=5 is raised to the 60 s floor.
    *issuer.state.cache_control.lock().unwrap() = Some("max-age=5".to_owned());
    issuer.clock.advance(121);
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 3);
    issuer.clock.advance(30);
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 3);
}

#[tokio::test]
async fn background_refresh_runs_without_requests() {
    let issuer = MockIssuer::start().await;
    let guard = issuer
        .builder()
        .background_refresh(true)
        .cache_ttl_bounds(Duration::from_secs(1), Duration::from_secs(1))
        .build()
        .unwrap();
    guard.warm_up().await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 1);
    issuer.clock.advance(5);
    for _ in 0..40 {
        if issuer.jwks_fetches() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        issuer.jwks_fetches() >= 2,
        "the background task refreshed the keys"
    );
}

#[tokio::test]
async fn stale_keys_are_kept_while_the_issuer_is_down() {
    let issuer = MockIssuer::start().await;
    let guard = issuer.builder().build().unwrap();
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    issuer.state.jwks_down.store(true, Ordering::SeqCst);
    // Past the 5-minute default lifetime: one refresh attempt fails, the cached keys stay in use
    // and the next attempt waits for the refetch interval.
    issuer.clock.advance(301);
    for _ in 0..10 {
        assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    }
    assert_eq!(issuer.jwks_fetches(), 2);
    issuer.clock.advance(31);
    assert_eq!(status(&guard, &issuer.token()).await, StatusCode::OK);
    assert_eq!(issuer.jwks_fetches(), 3);
}
