//! Signing a user out everywhere, as `portcullis users revoke-tokens` does, seen from a resource
//! server behind the guard in Redis mode and from introspection: every access token the user held
//! is refused at once, by its revoked `jti` and by the per-subject "not before" marker, while a
//! new sign-in works and its token is accepted.

use crate::common::*;
use axum::Router;
use axum::routing::get;
use portcullis_guard::jose::time::Clock;
use portcullis_guard::{Authenticated, Guard, Revocation};
use portcullis_testkit::{TestServer, Tokens};
use std::sync::Arc;

const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A resource server for `orders-api` that checks the issuer's Redis denylist.
async fn resource_server(server: &TestServer) -> url::Url {
    let clock: Arc<dyn Clock> = server.clock().clone();
    let guard = Guard::builder()
        .issuer(server.issuer())
        .audience(API)
        .clock(clock)
        .background_refresh(false)
        .revocation(Revocation::redis(REDIS_URL))
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move { auth.user_id().unwrap_or("-").to_owned() }),
        )
        .layer(guard.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url::Url::parse(&format!("http://{addr}/me")).unwrap()
}

async fn status(env: &Env, url: &url::Url, token: &str) -> u16 {
    env.server
        .http()
        .get(url.clone())
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sign_in(env: &Env) -> Tokens {
    let (request, code) = env.web_code("openid orders:read offline_access").await;
    Tokens::from_reply(
        env.server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap(),
    )
    .unwrap()
}

async fn active(env: &Env, token: &str) -> bool {
    env.server
        .introspect(&env.web_auth(), token)
        .await
        .unwrap()
        .json["active"]
        == true
}

#[tokio::test]
async fn revoke_tokens_is_seen_by_the_guard_in_redis_mode_and_by_introspection() {
    if !crate::common::redis_reachable(REDIS_URL).await {
        return;
    }
    let env = Env::start_with(
        TestServer::builder().configure(|s| s.redis_url = Some(REDIS_URL.to_owned())),
    )
    .await;
    let api = resource_server(&env.server).await;
    let first = sign_in(&env).await;
    let second = sign_in(&env).await;
    for t in [&first, &second] {
        assert_eq!(status(&env, &api, &t.access_token).await, 200);
        assert!(active(&env, &t.access_token).await);
    }

    env.sign_out_everywhere(ALICE).await;

    // The guard checks Redis on every request: refused at once.
    for t in [&first, &second] {
        assert_eq!(status(&env, &api, &t.access_token).await, 401);
    }
    // The server's nodes reuse a "not revoked" answer only within the clock second it was
    // read in (the test clock stands still until moved): within one second it is refused too.
    env.server.clock().advance(1);
    for t in [&first, &second] {
        assert!(!active(&env, &t.access_token).await);
        let refreshed = env
            .server
            .refresh(&env.web_auth(), t.refresh_token.as_deref().unwrap(), None)
            .await
            .unwrap();
        assert_eq!(refreshed.status, 400);
    }

    // A sign-in after the sign-out works everywhere.
    let fresh = sign_in(&env).await;
    assert_eq!(status(&env, &api, &fresh.access_token).await, 200);
    assert!(active(&env, &fresh.access_token).await);
}
