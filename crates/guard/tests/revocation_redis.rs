//! Redis denylist mode against 127.0.0.1:6379: a revoked `jti` is refused within one second,
//! tokens without `jti` are refused, a subject's "not before" marker refuses the tokens issued
//! before it (read in the same round trip as the `jti`, counted by a relay), and an unreachable
//! Redis fails closed with 503.
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
use portcullis_guard::{FailureReason, Guard, Revocation};
use portcullis_types::denylist::{revoked_jti_key, subject_not_before_key};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let jti = unique(&issuer, "jti");
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

/// A name no other test (or concurrent run) uses: the test issuer's key thumbprint.
fn unique(issuer: &TestIssuer, what: &str) -> String {
    let thumbprint = issuer.key.to_public_jwk().unwrap().thumbprint().unwrap();
    format!("guard-test-{what}-{thumbprint}")
}

async fn set(connection: &mut redis::aio::MultiplexedConnection, key: &str, value: &str) {
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .arg("EX")
        .arg(60)
        .query_async(connection)
        .await
        .unwrap();
}

async fn del(connection: &mut redis::aio::MultiplexedConnection, key: &str) {
    let _: () = redis::cmd("DEL")
        .arg(key)
        .query_async(connection)
        .await
        .unwrap();
}

/// A guard on the test Redis that records the reason of every refusal.
fn recording_guard(issuer: &TestIssuer) -> (Guard, Arc<Mutex<Vec<String>>>) {
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reasons);
    let guard = issuer
        .builder()
        .revocation(Revocation::redis(REDIS_URL))
        .on_authentication_failed(move |failure| {
            let reason = match &failure.reason {
                FailureReason::SubjectRevoked => "subject revoked".to_owned(),
                other => other.to_string(),
            };
            seen.lock().unwrap().push(reason);
        })
        .build()
        .unwrap();
    (guard, reasons)
}

/// Claims of the issuer's token for `sub`, issued at `iat` (left out when `None`).
fn claims_of(issuer: &TestIssuer, sub: &str, iat: Option<i64>) -> Value {
    let mut claims = issuer.claims();
    claims["sub"] = json!(sub);
    claims["jti"] = json!(format!("{sub}-{iat:?}"));
    match iat {
        Some(iat) => claims["iat"] = json!(iat),
        None => {
            claims.as_object_mut().unwrap().remove("iat");
        }
    }
    claims
}

async fn status_of(guard: &Guard, token: &str) -> StatusCode {
    send(app(guard), get_with("/me", Some(&bearer(token))))
        .await
        .status
}

#[tokio::test]
async fn rs_12_subject_marker_refuses_tokens_issued_before_it() {
    let Some(mut connection) = redis().await else {
        return;
    };
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (guard, reasons) = recording_guard(&issuer);
    let sub = unique(&issuer, "signed-out");
    let key = subject_not_before_key(ISS, &sub);
    let before = issuer.sign(&claims_of(&issuer, &sub, Some(NOW - 1)));
    let same_second = issuer.sign(&claims_of(&issuer, &sub, Some(NOW)));
    let after = issuer.sign(&claims_of(&issuer, &sub, Some(NOW + 1)));

    // No marker yet: every token of the subject is accepted.
    for token in [&before, &same_second, &after] {
        assert_eq!(status_of(&guard, token).await, StatusCode::OK);
    }

    // Signed out everywhere at NOW: tokens issued earlier are refused at once.
    set(&mut connection, &key, &NOW.to_string()).await;
    let reply = send(app(&guard), get_with("/me", Some(&bearer(&before)))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"], "invalid_token");
    assert!(reply.challenge().contains("error=\"invalid_token\""));
    assert_eq!(*reasons.lock().unwrap(), ["subject revoked"]);
    // Issued in the marker's second or later: accepted (a new sign-in keeps working).
    assert_eq!(status_of(&guard, &same_second).await, StatusCode::OK);
    assert_eq!(status_of(&guard, &after).await, StatusCode::OK);

    // The marker moves on: the token of the marker's old second is now refused too.
    set(&mut connection, &key, &(NOW + 1).to_string()).await;
    assert_eq!(
        status_of(&guard, &same_second).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status_of(&guard, &after).await, StatusCode::OK);

    // Once the server's TTL has removed the marker, nothing refuses them.
    del(&mut connection, &key).await;
    assert_eq!(status_of(&guard, &before).await, StatusCode::OK);
}

#[tokio::test]
async fn rs_12_token_without_iat_is_refused_while_a_marker_exists() {
    let Some(mut connection) = redis().await else {
        return;
    };
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (guard, reasons) = recording_guard(&issuer);
    let sub = unique(&issuer, "no-iat");
    let key = subject_not_before_key(ISS, &sub);
    let token = issuer.sign(&claims_of(&issuer, &sub, None));

    assert_eq!(status_of(&guard, &token).await, StatusCode::OK);
    // Even a marker far in the past: a token without `iat` cannot show it is newer.
    set(&mut connection, &key, "1").await;
    assert_eq!(status_of(&guard, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(*reasons.lock().unwrap(), ["subject revoked"]);
    del(&mut connection, &key).await;
}

#[tokio::test]
async fn rs_12_subject_marker_is_scoped_to_its_issuer_and_subject() {
    let Some(mut connection) = redis().await else {
        return;
    };
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = guard(&issuer);
    let sub = unique(&issuer, "scoped");
    let other_issuer = subject_not_before_key("https://other.example", &sub);
    let other_subject = subject_not_before_key(ISS, &format!("{sub}-2"));
    let later = (NOW + 3600).to_string();
    set(&mut connection, &other_issuer, &later).await;
    set(&mut connection, &other_subject, &later).await;

    let token = issuer.sign(&claims_of(&issuer, &sub, Some(NOW)));
    assert_eq!(status_of(&guard, &token).await, StatusCode::OK);

    // A client token without `sub` has no marker to read; its `jti` is still checked.
    let mut claims = claims_of(&issuer, &sub, Some(NOW));
    claims.as_object_mut().unwrap().remove("sub");
    let client_token = issuer.sign(&claims);
    assert_eq!(status_of(&guard, &client_token).await, StatusCode::OK);
    let jti_key = revoked_jti_key(ISS, claims["jti"].as_str().unwrap());
    set(&mut connection, &jti_key, "1").await;
    assert_eq!(
        status_of(&guard, &client_token).await,
        StatusCode::UNAUTHORIZED
    );
    for key in [&jti_key, &other_issuer, &other_subject] {
        del(&mut connection, key).await;
    }
}

#[tokio::test]
async fn rs_12_unreadable_subject_marker_fails_closed() {
    let Some(mut connection) = redis().await else {
        return;
    };
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = guard(&issuer);
    let sub = unique(&issuer, "unreadable");
    let key = subject_not_before_key(ISS, &sub);
    let token = issuer.sign(&claims_of(&issuer, &sub, Some(NOW + 10)));
    for value in ["soon", "", "1.5"] {
        set(&mut connection, &key, value).await;
        let reply = send(app(&guard), get_with("/me", Some(&bearer(&token)))).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{value:?}");
        assert_eq!(reply.json()["error"], "temporarily_unavailable");
        assert_eq!(reply.headers["retry-after"], "5");
    }
    // A marker that is no string at all cannot be read either.
    del(&mut connection, &key).await;
    let _: () = redis::cmd("RPUSH")
        .arg(&key)
        .arg(NOW)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        status_of(&guard, &token).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    del(&mut connection, &key).await;
}

/// A TCP relay in front of the test Redis that counts round trips: each run of bytes the client
/// sends after Redis last answered (or at the start) opens a new one. Pipelined commands travel
/// in one run; a command sent only after the previous answer opens another.
struct RoundTrips {
    url: String,
    /// The bytes the client sent in each round trip.
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RoundTrips {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
        let recorded = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect("127.0.0.1:6379")
                    .await
                    .unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let answered = Arc::new(AtomicBool::new(true));
                let (to_server, requests) = (Arc::clone(&answered), Arc::clone(&recorded));
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = client_read.read(&mut buffer).await {
                        let chunk = &buffer[..n];
                        let new_round_trip = to_server.swap(false, Ordering::SeqCst);
                        {
                            let mut requests = requests.lock().unwrap();
                            match requests.last_mut() {
                                Some(current) if !new_round_trip => {
                                    current.extend_from_slice(chunk)
                                }
                                _ => requests.push(chunk.to_vec()),
                            }
                        }
                        if server_write.write_all(chunk).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
                        // Marked before the client can see the answer, so its next command,
                        // sent after reading it, opens a new round trip.
                        answered.store(true, Ordering::SeqCst);
                        if client_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { url, requests }
    }

    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The requests of the round trips after the first `skip`, as text.
    fn since(&self, skip: usize) -> Vec<String> {
        self.requests.lock().unwrap()[skip..]
            .iter()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .collect()
    }
}

#[tokio::test]
async fn rs_12_jti_and_subject_marker_are_read_in_one_round_trip() {
    let Some(mut connection) = redis().await else {
        return;
    };
    let relay = RoundTrips::start().await;
    let issuer = TestIssuer::new(Algorithm::ES256);
    let guard = issuer
        .builder()
        .revocation(Revocation::redis(relay.url.clone()))
        .build()
        .unwrap();
    let sub = unique(&issuer, "round-trip");
    let claims = claims_of(&issuer, &sub, Some(NOW));
    let jti_key = revoked_jti_key(ISS, claims["jti"].as_str().unwrap());
    let marker_key = subject_not_before_key(ISS, &sub);
    let token = issuer.sign(&claims);
    // The first request opens the guard's connection, with its own handshake.
    assert_eq!(status_of(&guard, &token).await, StatusCode::OK);

    for (marker, expected) in [
        (None, StatusCode::OK),
        (Some(NOW + 1), StatusCode::UNAUTHORIZED),
        (Some(NOW), StatusCode::OK),
    ] {
        if let Some(marker) = marker {
            set(&mut connection, &marker_key, &marker.to_string()).await;
        }
        let before = relay.count();
        assert_eq!(status_of(&guard, &token).await, expected, "{marker:?}");
        let requests = relay.since(before);
        assert_eq!(requests.len(), 1, "{requests:#?}");
        // Both keys went out together, before any answer came back.
        assert!(requests[0].contains(&jti_key), "{requests:#?}");
        assert!(requests[0].contains(&marker_key), "{requests:#?}");
    }
    del(&mut connection, &marker_key).await;

    // The relay tells round trips apart: two commands each awaiting its answer are two.
    let mut plain = redis::Client::open(relay.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let before = relay.count();
    let _: i64 = redis::cmd("EXISTS")
        .arg(&jti_key)
        .query_async(&mut plain)
        .await
        .unwrap();
    let _: Option<String> = redis::cmd("GET")
        .arg(&marker_key)
        .query_async(&mut plain)
        .await
        .unwrap();
    assert_eq!(relay.count() - before, 2);
}
