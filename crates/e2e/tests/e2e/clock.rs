//! DUR-5: time travel with the server's injected clock (never a sleep). Each lifetime holds up
//! to its last second and ends exactly at its expiry: authorization codes, access tokens at
//! introspection and userinfo (our own tokens get no leeway on `exp`), refresh tokens (inactivity
//! and absolute), device codes and browser sessions.

use crate::common::*;
use crate::{device, logout};
use portcullis_testkit::{TestServer, UnixTime, decode_jwt_parts, query_param};

#[tokio::test]
async fn dur_5_authorization_code_expires_after_its_lifetime() {
    let env = Env::start().await;
    let ttl = env.server.config().code_ttl;
    let (last_second, code_a) = env.web_code("openid").await;
    let (at_expiry, code_b) = env.web_code("openid").await;
    env.server.advance(ttl - 1);
    let reply = env
        .server
        .redeem(&env.web_auth(), &code_a, &last_second)
        .await
        .unwrap();
    assert_token_ok(&reply);
    env.server.advance(1);
    let reply = env
        .server
        .redeem(&env.web_auth(), &code_b, &at_expiry)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn dur_5_access_token_ends_exactly_at_exp() {
    let env = Env::start().await;
    let tokens = env.web_tokens(OIDC_SCOPE).await;
    let (_, claims) = decode_jwt_parts(&tokens.access_token).unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert_eq!(
        exp - claims["iat"].as_i64().unwrap(),
        env.server.config().access_token_ttl
    );
    env.server.advance(exp - env.server.now() - 1);
    assert!(
        env.is_active(&tokens.access_token).await,
        "inactive before exp"
    );
    let reply = env.server.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(reply.status, 200, "userinfo before exp: {}", reply.body);
    env.server.advance(1);
    assert!(!env.is_active(&tokens.access_token).await, "active at exp");
    let reply = env.server.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(reply.status, 401, "userinfo at exp: {}", reply.body);
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|h| h.contains("invalid_token")),
        "{:?}",
        reply.headers
    );
}

#[tokio::test]
async fn dur_5_refresh_token_past_inactivity_or_absolute_lifetime_is_refused() {
    const IDLE: i64 = 100;
    const ABSOLUTE: i64 = 250;
    let env = Env::start_with(TestServer::builder().configure(|s| {
        s.refresh_token_ttl = IDLE;
        s.refresh_token_absolute_ttl = ABSOLUTE;
    }))
    .await;
    let scope = "openid offline_access";
    let start = env.server.now();
    let idle = env.web_tokens(scope).await.refresh_token.unwrap();
    let mut used = env.web_tokens(scope).await.refresh_token.unwrap();
    // Seconds since both families were issued.
    let travel_to = |secs: i64| env.server.clock().set(UnixTime(start + secs));
    let refresh = |token: String| {
        let env = &env;
        async move {
            env.server
                .refresh(&env.web_auth(), &token, None)
                .await
                .unwrap()
        }
    };
    let rotate = |token: String| async move {
        let reply = refresh(token).await;
        assert_token_ok(&reply);
        reply.str("refresh_token").unwrap().to_owned()
    };
    // Both families were issued at `start` with the same inactivity lifetime: the one used in
    // its last second lives on, the unused one dies exactly at its expiry.
    travel_to(IDLE - 1);
    used = rotate(used).await;
    travel_to(IDLE);
    assert_token_error(&refresh(idle).await, 400, "invalid_grant");
    // Each rotation restarts the inactivity lifetime, up to the family's absolute lifetime.
    travel_to(2 * IDLE - 2);
    used = rotate(used).await;
    travel_to(ABSOLUTE - 1);
    used = rotate(used).await;
    travel_to(ABSOLUTE);
    assert_token_error(&refresh(used).await, 400, "invalid_grant");
}

#[tokio::test]
async fn dur_5_device_code_expires_after_its_lifetime() {
    let env = device::env().await;
    let ttl = env.server.config().device_code_ttl;
    let (device_code, _) = device::start(&env).await;
    env.server.advance(ttl - 1);
    assert_token_error(
        &device::poll(&env, &device::tv(), &device_code).await,
        400,
        "authorization_pending",
    );
    env.server.advance(1);
    assert_token_error(
        &device::poll(&env, &device::tv(), &device_code).await,
        400,
        "expired_token",
    );
}

#[tokio::test]
async fn dur_5_session_expires_after_its_lifetime() {
    let env = Env::start().await;
    let ttl = env.server.config().session_ttl;
    let last_second = env.server.browser().unwrap();
    let at_expiry = env.server.browser().unwrap();
    for browser in [&last_second, &at_expiry] {
        env.server
            .authorize(
                browser,
                &env.web_request("openid"),
                Some((ALICE, ALICE_PASSWORD)),
            )
            .await
            .unwrap();
    }
    env.server.advance(ttl - 1);
    let redirect = env
        .server
        .authorize_redirect(
            &last_second,
            &env.web_request("openid").param("prompt", "none"),
            None,
        )
        .await
        .unwrap();
    assert!(
        query_param(&redirect, "code").is_some(),
        "signed out before the session's end: {redirect}"
    );
    env.server.advance(1);
    assert!(
        logout::session_is_gone(&env, &at_expiry).await,
        "still signed in at the session's end"
    );
}
