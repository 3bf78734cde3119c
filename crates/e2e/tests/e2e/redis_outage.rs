//! Redis is a mirror of the store's revocations, not their master: with a real `redis-server`
//! started, stopped and started again (empty, as a Redis without persistence comes back) by the
//! test, a node starts and serves while Redis is down, a revocation during the outage gets its
//! normal answer and is enforced by the server at once, readiness says "degraded", and once
//! Redis is back every revocation the store holds (from before and during the outage, tokens and
//! subject markers) is in Redis again within seconds.

use crate::common::*;
use portcullis_testkit::TestServer;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const SCOPE: &str = "openid orders:read offline_access";

/// A `redis-server` of the test's own on `port`, without persistence.
async fn start_redis(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server runs (Debian package redis-server)");
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(client) = redis::Client::open(url.as_str())
            && let Ok(mut conn) = client.get_multiplexed_async_connection().await
            && redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .is_ok()
        {
            return child;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not come up on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stop_redis(mut child: Child) {
    child.kill().await.unwrap();
    child.wait().await.unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until every key in `keys` exists in the Redis at `port` (for at most 10 s).
async fn eventually_present(port: u16, keys: &[String]) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut missing = Vec::new();
        for key in keys {
            let n: i64 = redis::cmd("EXISTS")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            if n == 0 {
                missing.push(key.clone());
            }
        }
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not back in Redis within 10 s: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn redis_available() -> bool {
    let found = std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server required in CI"
        );
        eprintln!("skipping: no redis-server binary");
    }
    found
}

async fn jti_key(env: &Env, access_token: &str) -> String {
    let claims = env
        .server
        .verify_access_token(access_token, API)
        .await
        .unwrap();
    portcullis_types::denylist::revoked_jti_key(
        env.server.issuer(),
        claims["jti"].as_str().unwrap(),
    )
}

async fn readiness(env: &Env) -> (u16, String) {
    let reply = env.server.get("/readyz").await.unwrap();
    (reply.status.as_u16(), reply.body)
}

#[tokio::test]
async fn revocations_during_a_redis_outage_reach_redis_when_it_returns() {
    if !redis_available() {
        return;
    }
    let port = free_port();
    let redis = start_redis(port).await;
    let url = format!("redis://127.0.0.1:{port}");
    let env =
        Env::start_with(TestServer::builder().configure(move |s| s.redis_url = Some(url))).await;

    // Before the outage: revoked and mirrored as usual.
    let before = env.web_tokens(SCOPE).await;
    let before_key = jti_key(&env, &before.access_token).await;
    assert_eq!(
        env.server
            .revoke(&env.web_auth(), &before.access_token, None)
            .await
            .unwrap()
            .status,
        200
    );
    eventually_present(port, std::slice::from_ref(&before_key)).await;

    let during = env.web_tokens(SCOPE).await;
    let during_key = jti_key(&env, &during.access_token).await;
    let carol = env
        .server
        .add_user("carol", "carol's long password")
        .await
        .unwrap();
    stop_redis(redis).await;

    // During the outage: the revocation gets its normal answer and the server enforces it.
    let reply = env
        .server
        .revoke(&env.web_auth(), &during.access_token, None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let introspected = env
        .server
        .introspect(&env.web_auth(), &during.access_token)
        .await
        .unwrap();
    assert_eq!(introspected.json["active"], false);
    // Refresh-token reuse revokes the family (RT-3) and answers invalid_grant, not 500.
    let rotated = env
        .server
        .refresh(
            &env.web_auth(),
            during.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let reused = env
        .server
        .refresh(
            &env.web_auth(),
            during.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(reused.status, 400, "{}", reused.body);
    assert_eq!(reused.json["error"], "invalid_grant");
    let rotated_key = jti_key(&env, rotated.json["access_token"].as_str().unwrap()).await;
    // Signing a user out everywhere from the command line queues the marker in the store.
    env.sign_out_everywhere("carol").await;
    let marker = portcullis_types::denylist::subject_not_before_key(env.server.issuer(), &carol);
    let (status, body) = readiness(&env).await;
    assert_eq!(status, 200);
    assert!(body.contains("degraded"), "{body}");

    // Redis returns empty: everything is put back, from before and during the outage.
    let _redis = start_redis(port).await;
    eventually_present(port, &[before_key, during_key, rotated_key, marker]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while readiness(&env).await.1 != "ready" {
        assert!(Instant::now() < deadline, "readiness did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_node_starts_and_serves_while_redis_is_down() {
    if !redis_available() {
        return;
    }
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let env =
        Env::start_with(TestServer::builder().configure(move |s| s.redis_url = Some(url))).await;
    let tokens = env.web_tokens(SCOPE).await;
    let key = jti_key(&env, &tokens.access_token).await;
    let reply = env
        .server
        .revoke(&env.web_auth(), &tokens.access_token, None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (status, body) = readiness(&env).await;
    assert_eq!(status, 200);
    assert!(body.contains("degraded"), "{body}");
    let _redis = start_redis(port).await;
    eventually_present(port, &[key]).await;
}
