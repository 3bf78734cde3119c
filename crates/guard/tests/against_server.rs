//! The guard against a real Portcullis server on a random port (portcullis-testkit): discovery
//! from the issuer URL, key rotation without a restart, revocation through Redis, expiry, scopes,
//! and hostile `kid`/`jku`/`x5u` headers that must find and fetch nothing (JWT-20).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{app, bearer, get_with, send};
use http::StatusCode;
use portcullis_guard::jose::time::Clock;
use portcullis_guard::jose::{Algorithm, SigningKey};
use portcullis_guard::{Guard, GuardBuilder, HasAudience, HasIssuer, Revocation};
use portcullis_testkit::{
    ClientAuth, ClientSpec, TestServer, Tripwire, decode_jwt_parts, sign_with_header,
};
use portcullis_types::GrantType;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENT: &str = "shop";
const SECRET: &str = "shop-secret-0123456789abcdef";
const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn add_shop(server: &TestServer) {
    server
        .add_client(
            ClientSpec::confidential(CLIENT, SECRET)
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read orders:write")
                .audience(&["orders-api"]),
        )
        .await
        .unwrap();
}

fn guard_for(server: &TestServer) -> GuardBuilder<HasIssuer, HasAudience> {
    let clock: Arc<dyn Clock> = server.clock().clone();
    Guard::builder()
        .issuer(server.issuer())
        .audience("orders-api")
        .clock(clock)
        .background_refresh(false)
}

async fn token(server: &TestServer, scope: &str) -> String {
    let reply = server
        .client_credentials(&ClientAuth::basic(CLIENT, SECRET), Some(scope))
        .await
        .unwrap();
    reply
        .str("access_token")
        .expect("an access token")
        .to_owned()
}

async fn status(guard: &Guard, token: &str, post: bool) -> StatusCode {
    let request = if post {
        http::Request::post("/orders")
            .header("authorization", bearer(token))
            .body(axum::body::Body::empty())
            .unwrap()
    } else {
        get_with("/me", Some(&bearer(token)))
    };
    send(app(guard), request).await.status
}

#[tokio::test]
async fn discovery_scopes_and_expiry_against_the_server() {
    let server = TestServer::start().await.unwrap();
    add_shop(&server).await;
    let guard = guard_for(&server).build().unwrap();
    guard.warm_up().await.unwrap();

    let read = token(&server, "orders:read").await;
    assert_eq!(status(&guard, &read, false).await, StatusCode::OK);
    // Scope failure: 403 insufficient_scope.
    let reply = send(
        app(&guard),
        http::Request::post("/orders")
            .header("authorization", bearer(&read))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.challenge().contains("scope=\"orders:write\""));
    let write = token(&server, "orders:read orders:write").await;
    assert_eq!(status(&guard, &write, true).await, StatusCode::OK);

    // Expiry: travel past the lifetime plus the leeway.
    server.advance(server.config().access_token_ttl + 31);
    let reply = send(app(&guard), get_with("/me", Some(&bearer(&read)))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.challenge().contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn key_rotation_is_picked_up_without_a_restart() {
    let server = TestServer::builder()
        .configure(|s| {
            // The least delay: one reload of the keys plus the JWKS cache lifetime.
            s.key_reload_interval = 1;
            s.key_rotation_delay = 61;
        })
        .start()
        .await
        .unwrap();
    add_shop(&server).await;
    let guard = guard_for(&server).build().unwrap();
    let before = token(&server, "orders:read").await;
    assert_eq!(status(&guard, &before, false).await, StatusCode::OK);

    let new_kids = server.rotate_keys().await.unwrap();
    assert!(!new_kids.is_empty());
    server.advance(server.config().key_rotation_delay);
    let after = token(&server, "orders:read").await;
    let (header, _) = portcullis_testkit::decode_jwt_parts(&after).unwrap();
    let kid = header["kid"].as_str().unwrap().to_owned();
    assert!(
        new_kids.contains(&kid),
        "the server signs with the new key {kid}"
    );
    assert_eq!(status(&guard, &after, false).await, StatusCode::OK);
    // The old token is still accepted while its key stays published.
    assert_eq!(status(&guard, &before, false).await, StatusCode::OK);
}

#[tokio::test]
async fn revoked_jti_is_refused_within_one_second() {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let reachable = client.get_multiplexed_async_connection();
    if tokio::time::timeout(Duration::from_secs(2), reachable)
        .await
        .map(|r| r.is_err())
        .unwrap_or(true)
    {
        if std::env::var_os("CI").is_some() {
            panic!("Redis at {REDIS_URL} is required when CI is set");
        }
        eprintln!("notice: Redis at {REDIS_URL} is not reachable; skipping the revocation test");
        return;
    }
    let server = TestServer::builder()
        .configure(|s| s.redis_url = Some(REDIS_URL.to_owned()))
        .start()
        .await
        .unwrap();
    add_shop(&server).await;
    let guard = guard_for(&server)
        .revocation(Revocation::redis(REDIS_URL))
        .build()
        .unwrap();
    let access = token(&server, "orders:read").await;
    assert_eq!(status(&guard, &access, false).await, StatusCode::OK);

    let reply = server
        .revoke(
            &ClientAuth::basic(CLIENT, SECRET),
            &access,
            Some("access_token"),
        )
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 200);
    let revoked_at = Instant::now();
    loop {
        let status = status(&guard, &access, false).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "still accepted after 1 s: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Injection and path text used as a `kid` (JWT-20).
const HOSTILE_KIDS: [&str; 6] = [
    "' OR '1'='1",
    "x'; DROP TABLE keys; --",
    "%' OR 1=1 --",
    "../../etc/passwd",
    "/etc/passwd",
    "file:///etc/passwd",
];

#[tokio::test]
async fn jwt_20_hostile_kid_jku_x5u_are_invalid_and_fetch_nothing() {
    let server = TestServer::start().await.unwrap();
    add_shop(&server).await;
    let guard = guard_for(&server).build().unwrap();
    guard.warm_up().await.unwrap();
    let wire = Tripwire::new().unwrap();
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    // Fresh at the server's (and the guard's) current time.
    let claims = || {
        json!({
            "iss": server.issuer(), "aud": "orders-api", "sub": "alice", "client_id": CLIENT,
            "scope": "orders:read", "iat": server.now(), "exp": server.now() + 300, "jti": "j-1",
        })
    };
    // One of the server's own key ids, to aim a jku/x5u at a kid the guard knows.
    let real_kid = decode_jwt_parts(&token(&server, "orders:read").await)
        .unwrap()
        .0["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut headers: Vec<serde_json::Value> = HOSTILE_KIDS
        .iter()
        .map(|kid| json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}))
        .collect();
    for member in ["jku", "x5u"] {
        for kid in ["attacker", real_kid.as_str()] {
            headers.push(
                json!({"alg": "ES256", "typ": "at+jwt", "kid": kid, member: wire.url("/keys")}),
            );
        }
        headers.push(json!({"alg": "ES256", "typ": "at+jwt", member: wire.url("/keys")}));
    }
    let baseline = send(
        app(&guard),
        get_with(
            "/me",
            Some(&bearer(
                &sign_with_header(
                    &attacker,
                    &json!({"alg": "ES256", "typ": "at+jwt", "kid": "attacker"}),
                    &claims(),
                )
                .unwrap(),
            )),
        ),
    )
    .await;
    assert_eq!(baseline.status, StatusCode::UNAUTHORIZED);
    assert!(baseline.challenge().contains("error=\"invalid_token\""));
    for header in headers {
        let forged = sign_with_header(&attacker, &header, &claims()).unwrap();
        let reply = send(app(&guard), get_with("/me", Some(&bearer(&forged)))).await;
        assert_eq!(reply.status, baseline.status, "{header}");
        assert_eq!(reply.challenge(), baseline.challenge(), "{header}");
        assert_eq!(reply.body, baseline.body, "{header}");
        // Past the unknown-kid refetch interval, so every case may refetch from the issuer.
        server.advance(3600);
    }
    assert!(!wire.was_touched().unwrap(), "a jku or x5u was fetched");
    // The guard still works with the issuer's real tokens.
    let real = token(&server, "orders:read").await;
    assert_eq!(status(&guard, &real, false).await, StatusCode::OK);
}
