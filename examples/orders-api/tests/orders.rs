//! orders-api through `Router::oneshot` with a static key set, and a local stub for the
//! issuer's token endpoint and payments-api: scopes, roles, rejections, the cached actor token
//! and the token exchange (RFC 8693) for payments-api.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use orders_api::payments::PaymentsClient;
use orders_api::{AppState, app};
use portcullis_guard::Guard;
use portcullis_jose::time::{FixedClock, UnixTime};
use portcullis_jose::{Algorithm, KeySet, SigningKey, jwt};
use portcullis_types::ClientSecret;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const ISS: &str = "https://as.example";
const NOW: i64 = 1_800_000_000;

#[derive(Default)]
struct Stub {
    base: Mutex<String>,
    token_calls: AtomicUsize,
    exchanges: Mutex<Vec<Vec<(String, String)>>>,
    payment_auth: Mutex<Vec<String>>,
}

async fn start_stub() -> Arc<Stub> {
    let stub = Arc::new(Stub::default());
    let router = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(s): State<Arc<Stub>>| async move {
                let base = s.base.lock().unwrap().clone();
                Json(json!({"issuer": base, "token_endpoint": format!("{base}/token"), "response_types_supported": ["code"]}))
            }),
        )
        .route(
            "/token",
            post(|State(s): State<Arc<Stub>>, body: String| async move {
                let form: Vec<(String, String)> =
                    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let grant = form.iter().find(|(k, _)| k == "grant_type").unwrap().1.clone();
                if grant == "client_credentials" {
                    s.token_calls.fetch_add(1, Ordering::SeqCst);
                    return Json(json!({"access_token": "svc-token", "token_type": "Bearer", "expires_in": 300}));
                }
                assert_eq!(grant, "urn:ietf:params:oauth:grant-type:token-exchange");
                let mut exchanges = s.exchanges.lock().unwrap();
                exchanges.push(form);
                Json(json!({"access_token": format!("exchanged-{}", exchanges.len()),
                    "token_type": "Bearer", "expires_in": 120,
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}))
            }),
        )
        .route(
            "/api/payments",
            post(|State(s): State<Arc<Stub>>, headers: HeaderMap| async move {
                let auth = headers.get("authorization").unwrap().to_str().unwrap().to_owned();
                s.payment_auth.lock().unwrap().push(auth);
                Json(json!({"payment_id": "p-1", "status": "captured"}))
            }),
        )
        .with_state(Arc::clone(&stub));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *stub.base.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    stub
}

struct Fixture {
    key: SigningKey,
    router: Router,
    stub: Arc<Stub>,
}

async fn fixture() -> Fixture {
    let key = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let mut keys = KeySet::new();
    keys.insert(key.verifying_key()).unwrap();
    let guard = Guard::builder()
        .issuer(ISS)
        .audience("orders-api")
        .static_keys(keys)
        .clock(Arc::new(FixedClock::new(UnixTime(NOW))))
        .build()
        .unwrap();
    let stub = start_stub().await;
    let base = stub.base.lock().unwrap().clone();
    let payments =
        PaymentsClient::new(base.clone(), base, "orders-api", ClientSecret::new("s")).unwrap();
    let router = app(AppState {
        guard,
        payments: Arc::new(payments),
        orders: Arc::new(Mutex::new(Vec::new())),
    });
    Fixture { key, router, stub }
}

impl Fixture {
    fn token(&self, sub: &str, client_id: &str, scope: &str) -> String {
        self.token_with_roles(sub, client_id, scope, &[])
    }

    fn token_with_roles(&self, sub: &str, client_id: &str, scope: &str, roles: &[&str]) -> String {
        let claims = json!({"iss": ISS, "aud": "orders-api", "sub": sub, "client_id": client_id,
            "scope": scope, "roles": roles, "exp": NOW + 300, "iat": NOW,
            "jti": format!("{sub}-{scope}")});
        jwt::encode(&self.key, "at+jwt", &claims).unwrap()
    }

    async fn call(
        &self,
        method: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::builder().method(method).uri("/api/orders");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }
}

#[tokio::test]
async fn get_needs_orders_read() {
    let f = fixture().await;
    let (status, _, body) = f
        .call("GET", Some(&f.token("alice", "spa", "orders:read")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"user": "alice", "roles": [], "orders": []})
    );
    let reader = f.token_with_roles("alice", "spa", "orders:read", &["viewer", "auditor"]);
    let (_, _, body) = f.call("GET", Some(&reader), None).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"user": "alice", "roles": ["viewer", "auditor"], "orders": []})
    );

    let (status, headers, _) = f
        .call("GET", Some(&f.token("alice", "spa", "orders:write")), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"orders:read\"")
    );

    let (status, headers, _) = f.call("GET", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"orders-api\"");

    let forged = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let token = jwt::encode(
        &forged,
        "at+jwt",
        &json!({"iss": ISS, "aud": "orders-api", "sub": "alice",
        "scope": "orders:read", "exp": NOW + 300}),
    )
    .unwrap();
    let (status, headers, _) = f.call("GET", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn post_needs_the_orders_write_scope_and_role() {
    let f = fixture().await;
    let order = json!({"item": "book", "amount_cents": 1200});
    // The role without the scope: refused by the scope check, naming the scope.
    let (status, headers, _) = f
        .call(
            "POST",
            Some(&f.token_with_roles("alice", "spa", "orders:read", &["orders:write"])),
            Some(order.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"orders:write\"")
    );
    // The scope without the role: refused by the role check.
    for roles in [&[][..], &["viewer"], &["orders:read"], &["Orders:Write"]] {
        let (status, headers, body) = f
            .call(
                "POST",
                Some(&f.token_with_roles("alice", "spa", "orders:read orders:write", roles)),
                Some(order.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{roles:?}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"error": "insufficient_scope",
                "error_description": "The access token does not carry the role this resource requires"})
        );
        assert!(
            !headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("scope=")
        );
    }
    // Nothing was charged or exchanged for the refused requests.
    assert!(f.stub.payment_auth.lock().unwrap().is_empty());
    assert_eq!(f.stub.token_calls.load(Ordering::SeqCst), 0);
    let (_, _, body) = f
        .call("GET", Some(&f.token("alice", "spa", "orders:read")), None)
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["orders"],
        json!([])
    );
}

#[tokio::test]
async fn post_with_scope_and_role_pays_with_an_exchanged_token() {
    let f = fixture().await;
    let order = json!({"item": "book", "amount_cents": 1200});
    let writer = f.token_with_roles(
        "alice",
        "spa",
        "orders:read orders:write",
        &["orders:write"],
    );
    for _ in 0..2 {
        let (status, _, body) = f.call("POST", Some(&writer), Some(order.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["payment"]["status"], "captured");
        assert_eq!(body["owner"], "user:alice");
    }
    assert_eq!(
        f.stub.token_calls.load(Ordering::SeqCst),
        1,
        "the actor token is cached"
    );
    // Each payment uses a token exchanged from the caller's, with orders-api as actor.
    assert_eq!(
        *f.stub.payment_auth.lock().unwrap(),
        vec!["Bearer exchanged-1", "Bearer exchanged-2"]
    );
    for form in f.stub.exchanges.lock().unwrap().iter() {
        let get = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(get("subject_token"), writer);
        assert_eq!(
            get("subject_token_type"),
            "urn:ietf:params:oauth:token-type:access_token"
        );
        assert_eq!(get("actor_token"), "svc-token");
        assert_eq!(get("audience"), "payments-api");
        assert_eq!(get("scope"), "payments:write");
    }

    let (_, _, body) = f.call("GET", Some(&writer), None).await;
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["user"], "alice");
    assert_eq!(list["roles"], json!(["orders:write"]));
    assert_eq!(list["orders"].as_array().unwrap().len(), 2);
    // A client token whose sub equals the user's id does not see the user's orders (RS-7).
    let (_, _, body) = f
        .call("GET", Some(&f.token("alice", "alice", "orders:read")), None)
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"user": null, "roles": [], "orders": []})
    );
}
