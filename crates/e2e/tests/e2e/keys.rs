//! Signing-key rotation (KEY-3, OIDC-10, KEY-2): a rotated key is published before it signs,
//! tokens switch to it after the delay, and retired keys stay published while their tokens live.

use crate::common::*;
use portcullis_testkit::{TestServer, decode_jwt_parts};
use std::collections::BTreeSet;

async fn kids(env: &Env) -> BTreeSet<String> {
    let reply = env.server.get("/.well-known/jwks.json").await.unwrap();
    reply.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn cc_token_kid(env: &Env) -> (String, String) {
    let reply = env
        .server
        .client_credentials(&env.service_auth(), None)
        .await
        .unwrap();
    assert_token_ok(&reply);
    let token = reply.str("access_token").unwrap().to_owned();
    let (header, _) = decode_jwt_parts(&token).unwrap();
    (token, header["kid"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn key_3_oidc_10_rotation_publishes_first_and_signs_after_the_delay() {
    let env = Env::start_with(TestServer::builder().configure(|s| {
        s.key_rotation_delay = 600;
        s.key_reload_interval = 1;
    }))
    .await;
    let before = kids(&env).await;
    let (old_token, old_kid) = cc_token_kid(&env).await;
    assert!(before.contains(&old_kid));

    let new_kids = env.server.rotate_keys().await.unwrap();
    assert!(!new_kids.is_empty());
    env.server.advance(2);
    let published = kids(&env).await;
    for kid in &new_kids {
        assert!(
            published.contains(kid),
            "rotated key {kid} not published before use"
        );
    }
    assert!(
        published.contains(&old_kid),
        "current key withdrawn too early"
    );
    let (_, kid) = cc_token_kid(&env).await;
    assert_eq!(kid, old_kid, "new key used before the rotation delay");

    // After the delay, tokens are signed with the new key; the old one is still published and
    // the token it signed still verifies.
    env.server.advance(600);
    let (new_token, kid) = cc_token_kid(&env).await;
    assert!(
        new_kids.contains(&kid),
        "token still signed with {kid} after the delay"
    );
    assert!(
        kids(&env).await.contains(&old_kid),
        "retired key withdrawn while its tokens live"
    );
    env.server
        .verify_access_token(&new_token, API)
        .await
        .unwrap();

    // Once every token the old key signed has expired, it is no longer published.
    env.server.advance(900 + 120);
    assert!(
        !kids(&env).await.contains(&old_kid),
        "expired key still published"
    );
    let _ = old_token;
}

#[tokio::test]
async fn key_3_token_signed_before_rotation_verifies_during_overlap() {
    let env = Env::start_with(TestServer::builder().configure(|s| {
        s.key_rotation_delay = 61;
        s.key_reload_interval = 1;
    }))
    .await;
    let (old_token, _) = cc_token_kid(&env).await;
    env.server.rotate_keys().await.unwrap();
    env.server.advance(120);
    env.server
        .verify_access_token(&old_token, API)
        .await
        .expect("a token of the retired key still verifies with the published JWKS");
    let id = env.web_tokens("openid").await;
    env.server
        .verify_id_token(id.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
}

#[tokio::test]
async fn key_2_kids_are_unique_and_keys_survive_restart_on_sqlite() {
    let env =
        Env::start_with(TestServer::builder().store(portcullis_testkit::StoreKind::Sqlite)).await;
    let first = kids(&env).await;
    let listed = env.server.store().list_signing_keys().await.unwrap();
    assert_eq!(listed.len(), first.len(), "store and JWKS disagree");
    let unique: BTreeSet<_> = listed.iter().map(|k| k.kid.clone()).collect();
    assert_eq!(unique.len(), listed.len());
}

#[tokio::test]
async fn key_3_jwks_cache_lifetime_is_what_the_least_rotation_delay_covers() {
    // The least delay the configuration accepts for a one-second reload.
    let env = Env::start_with(TestServer::builder().configure(|s| {
        s.key_reload_interval = 1;
        s.key_rotation_delay = portcullis_server::config::min_key_rotation_delay(1);
    }))
    .await;
    let reply = env.server.get("/.well-known/jwks.json").await.unwrap();
    let cache = reply.header("cache-control").unwrap();
    let max_age: i64 = cache
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .unwrap()
        .parse()
        .unwrap();
    let config = env.server.config();
    assert!(
        config.key_reload_interval + max_age <= config.key_rotation_delay,
        "a verifier may keep the JWKS ({cache}) past the point the new key signs"
    );
}
