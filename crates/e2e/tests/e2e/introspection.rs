//! Token introspection, RFC 7662 (INT-1): authenticated callers, the active response's members,
//! and `{"active": false}` and nothing else for revoked, expired or unknown tokens.

use crate::common::*;
use portcullis_testkit::ClientAuth;
use serde_json::json;

#[tokio::test]
async fn int_1_active_access_token_describes_itself() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid orders:read").await;
    let reply = env
        .server
        .introspect(&env.web_auth(), &tokens.access_token)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        reply
            .header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
    let body = &reply.json;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], env.alice_sub.as_str());
    assert_eq!(body["client_id"], WEB);
    assert_eq!(body["iss"], env.server.issuer());
    assert!(
        body["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "orders:read")
    );
    assert!(body["exp"].as_i64().unwrap() > env.server.now());
}

#[tokio::test]
async fn int_1_revoked_token_is_inactive_only() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid").await;
    env.server
        .revoke(&env.web_auth(), &tokens.access_token, None)
        .await
        .unwrap();
    let reply = env
        .server
        .introspect(&env.web_auth(), &tokens.access_token)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json, json!({"active": false}));
}

#[tokio::test]
async fn int_1_expired_and_unknown_tokens_are_inactive_only() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid").await;
    env.server.advance(900 + 61);
    let reply = env
        .server
        .introspect(&env.web_auth(), &tokens.access_token)
        .await
        .unwrap();
    assert_eq!(reply.json, json!({"active": false}));
    for garbage in ["", "abc", "eyJhbGciOiJub25lIn0.e30.", "a.b.c"] {
        let reply = env
            .server
            .introspect(&env.web_auth(), garbage)
            .await
            .unwrap();
        if garbage.is_empty() {
            // A missing token parameter is a malformed request.
            assert!(reply.status == 400 || reply.json == json!({"active": false}));
            continue;
        }
        assert_eq!(reply.status, 200, "{garbage}");
        assert_eq!(reply.json, json!({"active": false}), "{garbage}");
    }
}

#[tokio::test]
async fn int_1_refresh_tokens_can_be_introspected_by_their_client() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid offline_access").await;
    let refresh = tokens.refresh_token.unwrap();
    let reply = env
        .server
        .introspect(&env.web_auth(), &refresh)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    if reply.json["active"] == true {
        assert_eq!(reply.json["client_id"], WEB);
    }
    // Another client learns nothing about it.
    let reply = env
        .server
        .introspect(&env.other_auth(), &refresh)
        .await
        .unwrap();
    assert_eq!(reply.json, json!({"active": false}));
}

#[tokio::test]
async fn int_1_service_client_can_introspect_client_credentials_tokens() {
    let env = Env::start().await;
    let reply = env
        .server
        .client_credentials(&env.service_auth(), None)
        .await
        .unwrap();
    let token = reply.str("access_token").unwrap().to_owned();
    let reply = env
        .server
        .introspect(&ClientAuth::post(SERVICE, SERVICE_SECRET), &token)
        .await
        .unwrap();
    assert_eq!(reply.json["active"], true, "{}", reply.body);
    assert_eq!(reply.json["client_id"], SERVICE);
}

/// Introspects `token` as the web client and returns whether it is active.
async fn active(env: &Env, token: &str) -> bool {
    let reply = env.server.introspect(&env.web_auth(), token).await.unwrap();
    assert_eq!(reply.status, 200);
    reply.json["active"] == json!(true)
}

#[tokio::test]
async fn int_1_a_token_verified_before_still_expires_on_time() {
    // The first answers come from a full verification, later ones from the verified-token
    // cache: that cache must not outlive `exp`.
    let env = Env::start().await;
    let tokens = env.web_tokens("openid").await;
    assert!(active(&env, &tokens.access_token).await);
    assert!(active(&env, &tokens.access_token).await);
    assert_eq!(
        env.server
            .userinfo(&tokens.access_token)
            .await
            .unwrap()
            .status,
        200
    );
    env.server.advance(900);
    assert!(!active(&env, &tokens.access_token).await);
    assert_eq!(
        env.server
            .userinfo(&tokens.access_token)
            .await
            .unwrap()
            .status,
        401
    );
}

#[tokio::test]
async fn key_2_token_of_an_unpublished_key_is_refused_though_verified_before() {
    // A leaked key: `keys rotate --now --revoke-old` unpublishes it, and what it signed stops
    // verifying at this node's next key reload, even a token this node verified (and kept)
    // before.
    let env = Env::start().await;
    let tokens = env.web_tokens("openid").await;
    assert!(active(&env, &tokens.access_token).await);
    portcullis_server::admin::rotate_keys(
        env.server.store().as_ref(),
        env.server.clock().as_ref(),
        env.server.config(),
        portcullis_server::admin::KeyRotation::NowRevokeOld,
    )
    .await
    .unwrap();
    env.server
        .advance(env.server.config().key_reload_interval + 1);
    assert!(!active(&env, &tokens.access_token).await);
    assert_eq!(
        env.server
            .userinfo(&tokens.access_token)
            .await
            .unwrap()
            .status,
        401
    );
    // A token signed by the new keys is active.
    let fresh = env.web_tokens("openid").await;
    assert!(active(&env, &fresh.access_token).await);
}
