//! Refresh tokens (checklist RT-*): rotation on every use, reuse detection revoking the family,
//! atomic rotation under concurrency, binding to the client, scope limits, lifetimes.

use crate::common::*;
use portcullis_testkit::Tokens;
use std::sync::Arc;

const SCOPE: &str = "openid offline_access orders:read";

async fn rotate(env: &Env, refresh: &str) -> Tokens {
    let reply = env
        .server
        .refresh(&env.web_auth(), refresh, None)
        .await
        .unwrap();
    assert_token_ok(&reply);
    Tokens::from_reply(reply).unwrap()
}

#[tokio::test]
async fn rt_2_refresh_rotates_and_old_token_is_rejected() {
    let env = Env::start().await;
    let first = env.web_tokens(SCOPE).await;
    let a = first.refresh_token.clone().expect("refresh token issued");
    assert!(a.len() >= 22, "refresh token shorter than 128 bits");
    let second = rotate(&env, &a).await;
    let b = second.refresh_token.clone().expect("rotated refresh token");
    assert_ne!(a, b);
    assert_ne!(first.access_token, second.access_token);
    let claims = env
        .server
        .verify_access_token(&second.access_token, API)
        .await
        .unwrap();
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    assert_eq!(claims["client_id"], WEB);
    let reuse = env.server.refresh(&env.web_auth(), &a, None).await.unwrap();
    assert_token_error(&reuse, 400, "invalid_grant");
}

#[tokio::test]
async fn rt_2_public_client_refresh_rotates() {
    let env = Env::start().await;
    let first = env.spa_tokens(SCOPE).await;
    let a = first
        .refresh_token
        .clone()
        .expect("refresh token for the SPA");
    let reply = env.server.refresh(&env.spa_auth(), &a, None).await.unwrap();
    assert_token_ok(&reply);
    let b = reply.str("refresh_token").expect("rotated").to_owned();
    assert_ne!(a, b);
    let reuse = env.server.refresh(&env.spa_auth(), &a, None).await.unwrap();
    assert_token_error(&reuse, 400, "invalid_grant");
}

#[tokio::test]
async fn rt_3_reuse_revokes_the_whole_family() {
    let env = Env::start().await;
    let first = env.web_tokens(SCOPE).await;
    let a = first.refresh_token.clone().unwrap();
    let second = rotate(&env, &a).await;
    let b = second.refresh_token.clone().unwrap();
    assert!(env.is_active(&second.access_token).await);

    let reuse = env.server.refresh(&env.web_auth(), &a, None).await.unwrap();
    assert_token_error(&reuse, 400, "invalid_grant");
    assert_eq!(
        reuse.str("error_description"),
        Some("the refresh token has already been used")
    );
    // The successor was revoked with the family: it says so, not "already been used".
    let after = env.server.refresh(&env.web_auth(), &b, None).await.unwrap();
    assert_token_error(&after, 400, "invalid_grant");
    assert_eq!(
        after.str("error_description"),
        Some("the refresh token has been revoked")
    );
    assert!(
        !env.is_active(&first.access_token).await,
        "first access token survived reuse"
    );
    assert!(
        !env.is_active(&second.access_token).await,
        "second access token survived reuse"
    );
    assert_eq!(
        env.server
            .userinfo(&second.access_token)
            .await
            .unwrap()
            .status,
        401
    );
}

#[tokio::test]
async fn rt_3_reuse_detected_after_gc() {
    let env = Env::start().await;
    let first = env.web_tokens(SCOPE).await;
    let a = first.refresh_token.clone().unwrap();
    let second = rotate(&env, &a).await;
    env.server.advance(3600);
    env.server.store().gc(env.server.now()).await.unwrap();
    let reuse = env.server.refresh(&env.web_auth(), &a, None).await.unwrap();
    assert_token_error(&reuse, 400, "invalid_grant");
    let after = env
        .server
        .refresh(
            &env.web_auth(),
            second.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&after, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rt_4_parallel_refreshes_mint_at_most_one_successor() {
    let env = Arc::new(Env::start().await);
    let first = env.web_tokens(SCOPE).await;
    let a = first.refresh_token.clone().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let env = Arc::clone(&env);
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            env.server.refresh(&env.web_auth(), &a, None).await.unwrap()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            400 => assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert!(ok <= 1, "{ok} concurrent refreshes succeeded");
}

#[tokio::test]
async fn rt_1_refresh_token_is_bound_to_its_client() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    let a = tokens.refresh_token.clone().unwrap();
    let reply = env
        .server
        .refresh(&env.other_auth(), &a, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    let reply = env.server.refresh(&env.spa_auth(), &a, None).await.unwrap();
    assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body);
}

#[tokio::test]
async fn rt_6_tok_9_scope_cannot_grow_on_refresh() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid offline_access").await;
    let a = tokens.refresh_token.clone().unwrap();
    let reply = env
        .server
        .refresh(
            &env.web_auth(),
            &a,
            Some("openid offline_access orders:read"),
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_scope");
}

#[tokio::test]
async fn rt_6_narrower_scope_on_refresh_and_family_keeps_original_scope() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    let a = tokens.refresh_token.clone().unwrap();
    let reply = env
        .server
        .refresh(&env.web_auth(), &a, Some("orders:read"))
        .await
        .unwrap();
    assert_token_ok(&reply);
    let narrowed = env
        .server
        .verify_access_token(reply.str("access_token").unwrap(), API)
        .await
        .unwrap();
    assert_eq!(narrowed["scope"], "orders:read");
    // The rotated refresh token still carries the original grant.
    let b = reply.str("refresh_token").unwrap().to_owned();
    let reply = env.server.refresh(&env.web_auth(), &b, None).await.unwrap();
    assert_token_ok(&reply);
    let scope = reply.str("scope").unwrap();
    for s in ["openid", "offline_access", "orders:read"] {
        assert!(scope.split(' ').any(|x| x == s), "{s} lost: {scope}");
    }
}

#[tokio::test]
async fn rt_7_inactivity_expiry() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    env.server.advance(7 * 24 * 3600 + 1);
    let reply = env
        .server
        .refresh(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn rt_7_absolute_lifetime_even_with_regular_use() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    let mut current = tokens.refresh_token.clone().unwrap();
    // Six days between uses keeps the token alive (7-day inactivity limit) until the 30-day
    // absolute limit of the family.
    for _ in 0..4 {
        env.server.advance(6 * 24 * 3600);
        current = rotate(&env, &current).await.refresh_token.unwrap();
    }
    env.server.advance(6 * 24 * 3600 + 1);
    let reply = env
        .server
        .refresh(&env.web_auth(), &current, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn refresh_keeps_subject_and_issues_id_token_claims_consistently() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    let id = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    let refreshed = rotate(&env, tokens.refresh_token.as_deref().unwrap()).await;
    if let Some(new_id) = refreshed.id_token.as_deref() {
        let new_id = env.server.verify_id_token(new_id, WEB).await.unwrap();
        assert_eq!(new_id["sub"], id["sub"]);
        assert_eq!(new_id["auth_time"], id["auth_time"]);
        assert!(new_id.get("nonce").is_none() || new_id["nonce"] == id["nonce"]);
    }
}

#[tokio::test]
async fn rt_unknown_refresh_token_is_invalid_grant() {
    let env = Env::start().await;
    let reply = env
        .server
        .refresh(
            &env.web_auth(),
            "bm90LWEtcmVhbC1yZWZyZXNoLXRva2VuLXZhbHVlLTAwMDAwMA",
            None,
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    let reply = env
        .server
        .token(&env.web_auth(), &[("grant_type", "refresh_token")])
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn rt_6_refresh_follows_a_narrowed_client_scope() {
    let env = Env::start().await;
    let first = env.web_tokens(SCOPE).await;
    let refresh = first.refresh_token.clone().unwrap();
    // The operator narrows the web client's registration.
    let store = env.server.store();
    let mut web = store.get_client(WEB).await.unwrap().unwrap();
    web.scope = portcullis_types::Scope::parse("openid offline_access").unwrap();
    store.put_client(web).await.unwrap();
    env.server.advance(env.server.config().client_cache_ttl + 1);
    let wider = env
        .server
        .refresh(&env.web_auth(), &refresh, Some("orders:read"))
        .await
        .unwrap();
    assert_token_error(&wider, 400, "invalid_scope");
    let reply = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_ok(&reply);
    assert_eq!(reply.str("scope").unwrap(), "offline_access openid");
}

#[tokio::test]
async fn tok_13_locked_account_cannot_refresh() {
    let env = Env::start().await;
    let first = env.web_tokens(SCOPE).await;
    let refresh = first.refresh_token.clone().unwrap();
    let browser = env.server.browser().unwrap();
    let login = env.server.url("/login").unwrap();
    for _ in 0..env.server.config().login_throttle.max_failures {
        let page = browser.get(&login).await.unwrap();
        let mut form = page.login_form().unwrap();
        let user_field = form.username_field().unwrap().to_owned();
        let pass_field = form.password_field().unwrap().to_owned();
        form.set(&user_field, ALICE);
        form.set(&pass_field, "wrong");
        browser.submit(&page, &form, None).await.unwrap();
    }
    let reply = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    // The refusal did not use the token up: once the lock ends, it refreshes.
    env.server
        .advance(env.server.config().login_throttle.window_secs + 1);
    rotate(&env, &refresh).await;
}
