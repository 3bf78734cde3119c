//! The authorization code grant (checklist CODE-*): the happy path and RFC 9068 access tokens,
//! single use, revocation on reuse, atomic redemption, binding to client and redirect URI.

use crate::common::*;
use portcullis_testkit::{ClientAuth, decode_jwt_parts};
use std::sync::Arc;

#[tokio::test]
async fn code_flow_issues_rfc9068_access_token() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid orders:read").await;
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert_eq!(reply.json["expires_in"], 900);
    let scope = reply.str("scope").unwrap();
    assert!(scope.split(' ').any(|s| s == "orders:read"), "{scope}");
    let access = reply.str("access_token").unwrap();
    let (header, _) = decode_jwt_parts(access).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());
    let claims = env.server.verify_access_token(access, API).await.unwrap();
    assert_eq!(claims["iss"], env.server.issuer());
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    assert_eq!(claims["client_id"], WEB);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(iat, env.server.now());
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 900);
    let token_scope = claims["scope"].as_str().unwrap();
    assert!(token_scope.split(' ').any(|s| s == "orders:read"));
}

#[tokio::test]
async fn code_1_code_is_single_use() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let first = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&first);
    let second = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&second, 400, "invalid_grant");
}

#[tokio::test]
async fn code_1_code_is_single_use_after_30_seconds() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    assert_token_ok(
        &env.server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap(),
    );
    env.server.advance(30);
    let second = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&second, 400, "invalid_grant");
}

#[tokio::test]
async fn code_2_reuse_revokes_the_grant() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid offline_access orders:read").await;
    let first = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&first);
    let access = first.str("access_token").unwrap().to_owned();
    let refresh = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    assert!(env.is_active(&access).await);

    let second = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&second, 400, "invalid_grant");

    assert!(
        !env.is_active(&access).await,
        "access token survived code reuse"
    );
    let refreshed = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&refreshed, 400, "invalid_grant");
    let userinfo = env.server.userinfo(&access).await.unwrap();
    assert_eq!(userinfo.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_3_parallel_redemptions_exactly_one_succeeds() {
    let env = Arc::new(Env::start().await);
    let (request, code) = env.web_code("openid").await;
    let request = Arc::new(request);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let env = Arc::clone(&env);
        let request = Arc::clone(&request);
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            env.server
                .redeem(&env.web_auth(), &code, &request)
                .await
                .unwrap()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            400 => assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body),
            other => panic!("unexpected status {other}: {}", reply.body),
        }
    }
    assert_eq!(ok, 1, "exactly one redemption may succeed");
}

#[tokio::test]
async fn code_4_code_is_bound_to_the_client() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let mut other_request = request.clone();
    other_request.redirect_uri = Some(OTHER_CB.to_owned());
    let reply = env
        .server
        .redeem(&env.other_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    let reply = env
        .server
        .redeem(&env.other_auth(), &code, &other_request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    // A public client naming the web client's code is refused too.
    let reply = env
        .server
        .redeem(&env.spa_auth(), &code, &request)
        .await
        .unwrap();
    assert_eq!(reply.error(), Some("invalid_grant"), "{}", reply.body);
}

#[tokio::test]
async fn code_5_code_is_bound_to_the_redirect_uri() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let mut wrong = request.clone();
    wrong.redirect_uri = Some("https://web.example/cb/".to_owned());
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &wrong)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn code_6_expired_code_is_refused() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    env.server.advance(10 * 60 + 1);
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn code_7_codes_are_long_random_and_distinct() {
    let env = Env::start().await;
    let (_, a) = env.web_code("openid").await;
    let (_, b) = env.web_code("openid").await;
    assert_ne!(a, b);
    // At least 128 bits: 22 base64url characters or 32 hex characters.
    assert!(a.len() >= 22, "code too short: {} chars", a.len());
}

#[tokio::test]
async fn code_8_artifacts_of_one_kind_are_not_accepted_as_another() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid offline_access").await;
    let refresh = tokens.refresh_token.clone().expect("refresh token");
    let request = env.web_request("openid");
    // A refresh token presented as a code.
    let reply = env
        .server
        .redeem(&env.web_auth(), &refresh, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    // An access token presented as a code and as a refresh token.
    let reply = env
        .server
        .redeem(&env.web_auth(), &tokens.access_token, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    let reply = env
        .server
        .refresh(&env.web_auth(), &tokens.access_token, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    // A code presented as a refresh token.
    let (_, code) = env.web_code("openid").await;
    let reply = env
        .server
        .refresh(&env.web_auth(), &code, None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn code_flow_works_for_public_client_with_pkce() {
    let env = Env::start().await;
    let tokens = env.spa_tokens("openid orders:read").await;
    let claims = env
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    assert_eq!(claims["client_id"], SPA);
    assert_eq!(claims["sub"], env.alice_sub.as_str());
}

#[tokio::test]
async fn code_flow_with_client_secret_post() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let reply = env
        .server
        .redeem(&ClientAuth::post(WEB, WEB_SECRET), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn code_flow_without_client_authentication_is_refused_for_confidential_client() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let reply = env
        .server
        .redeem(&ClientAuth::public(WEB), &code, &request)
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    // The code survives a failed client authentication only if the server checks the client
    // first; either way the legitimate client still gets exactly one use.
}

#[tokio::test]
async fn dur_2_consumed_and_rotated_state_survives_restart_on_sqlite() {
    let mut env = Env::start_with(
        portcullis_testkit::TestServer::builder().store(portcullis_testkit::StoreKind::Sqlite),
    )
    .await;
    let (request, code) = env.web_code("openid offline_access orders:read").await;
    let first = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&first);
    let refresh = first.str("refresh_token").unwrap().to_owned();
    let rotated = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_ok(&rotated);
    let access = rotated.str("access_token").unwrap().to_owned();

    env.server.restart().await.unwrap();

    // Keys survived: the access token issued before the restart still verifies and is active.
    env.server.verify_access_token(&access, API).await.unwrap();
    assert!(env.is_active(&access).await);
    // The consumed code is still consumed.
    let again = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_error(&again, 400, "invalid_grant");
    // The rotated refresh token is still rotated (and its reuse still revokes the family).
    let reuse = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&reuse, 400, "invalid_grant");
    assert!(!env.is_active(&access).await);
}
