//! Redis denylist mode against 127.0.0.1:6379: a revoked `jti` is refused within one second,
//! tokens without `jti` are refused, and an unreachable Redis fails closed with 503.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use http::StatusCode;
use portcullis_guard::jose::Algorithm;
use portcullis_guard::{Guard, Revocation};
use portcullis_types::denylist::revoked_jti_key;
use serde_json::json;
use std::time::{Duration, Instant};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A connection to the test Redis, or `None` (with a notice) when it is down outside CI.
async fn redis() -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(REDIS_URL).unwrap();
    let attempt = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await;
    match attempt {
        Ok(Ok(connection)) => Some(connection),
        _ if std::env::var_os("CI").is_some() => {
            panic!("Redis at {REDIS_URL} is required when CI is set")
        }
        _ => {
            eprintln!(
                "notice: Redis at {REDIS_URL} is not reachable; skipping the Redis denylist test"
            );
            None
        }
    }
}

fn guard(issuer: &TestIssuer) -> Guard {
    issuer
        .builder()
        .revocation(Revocation::redis(REDIS_URL))
        .build()
        .unwrap()
}

#[tokio::test]
async fn rs_12_revoked_jti_is_refused_within_one_second() {
    let Some(mut connection) = redis().await else {
        return;
    };
    let issuer = TestIssuer::new(Algorithm::ES256);
    let unique = issuer.key.to_public_jwk().unwrap().thumbprint().unwrap();
    let jti = format!("guard-test-{unique}");
    let mut claims = issuer.claims();
    claims["jti"] = json!(jti);
    let token = issuer.sign(&claims);
    let guard = guard(&issuer);

    assert_eq!(
        send(app(&guard), get_with("/me", Some(&bearer(&token))))
            .await
            .status,
        StatusCode::OK
    );

    let key = revoked_jti_key(ISS, &jti);
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("1")
        .arg("EX")
        .arg(60)
        .query_async(&mut connection)
        .await
        .unwrap();
    let revoked_at = Instant::now();
    let reply = send(app(&guard), get_with("/me", Some(&bearer(&token)))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"], "invalid_token");
    assert!(revoked_at.elapsed() < Duration::from_secs(1));

    // Another token of another issuer with the same jti is not affected: keys include the issuer.
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        send(app(&guard), get_with("/me", Some(&bearer(&token))))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rs_12_token_without_jti_is_refused_in_denylist_mode() {
    if redis().await.is_none() {
        return;
    }
    let issuer = TestIssuer::new(Algorithm::ES256);
    let mut claims = issuer.claims();
    claims.as_object_mut().unwrap().remove("jti");
    let reply = send(
        app(&guard(&issuer)),
        get_with("/me", Some(&bearer(&issuer.sign(&claims)))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rs_12_unreachable_redis_fails_closed() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer
        .builder()
        .revocation(Revocation::Redis {
            url: "redis://127.0.0.1:1".to_owned(),
            timeout: Duration::from_millis(300),
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let reply = send(app(&guard), get_with("/me", Some(&bearer(&issuer.token())))).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    assert!(reply.headers.get(http::header::WWW_AUTHENTICATE).is_none());
    assert!(started.elapsed() < Duration::from_secs(3));
}
