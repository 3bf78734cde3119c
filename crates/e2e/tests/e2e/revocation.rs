//! Token revocation, RFC 7009 (REV-1, RT-8): refresh tokens revoke their family, access tokens
//! go on the denylist until they expire, unknown tokens answer 200, clients stay in their lane.

use crate::common::*;

const SCOPE: &str = "openid offline_access orders:read";

#[tokio::test]
async fn rev_1_revoking_a_refresh_token_revokes_the_family() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let reply = env
        .server
        .revoke(&env.web_auth(), &refresh, Some("refresh_token"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let again = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&again, 400, "invalid_grant");
    assert_eq!(
        again.str("error_description"),
        Some("the refresh token has been revoked"),
        "{}",
        again.body
    );
    assert!(
        !env.is_active(&tokens.access_token).await,
        "access token of a revoked refresh token still active"
    );
}

#[tokio::test]
async fn rev_1_revoking_an_access_token_denylists_its_jti() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    assert_eq!(
        env.server
            .userinfo(&tokens.access_token)
            .await
            .unwrap()
            .status,
        200
    );
    let reply = env
        .server
        .revoke(&env.web_auth(), &tokens.access_token, Some("access_token"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(!env.is_active(&tokens.access_token).await);
    assert_eq!(
        env.server
            .userinfo(&tokens.access_token)
            .await
            .unwrap()
            .status,
        401
    );
    // The refresh token of the grant is unaffected by revoking one access token.
    let refreshed = env
        .server
        .refresh(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_token_ok(&refreshed);
}

#[tokio::test]
async fn rev_1_revocation_without_hint_and_with_wrong_hint() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    // A wrong hint does not stop the server from finding the token.
    let reply = env
        .server
        .revoke(&env.web_auth(), &tokens.access_token, Some("refresh_token"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(!env.is_active(&tokens.access_token).await);
    let reply = env
        .server
        .revoke(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let again = env
        .server
        .refresh(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&again, 400, "invalid_grant");
}

#[tokio::test]
async fn rev_1_unknown_token_answers_200() {
    let env = Env::start().await;
    let reply = env
        .server
        .revoke(
            &env.web_auth(),
            "no-such-token-aaaaaaaaaaaaaaaaaaaaaaaaaaa",
            None,
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = env
        .server
        .revoke(&env.web_auth(), "eyJhbGciOiJub25lIn0.e30.", None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn rev_1_a_client_cannot_revoke_another_clients_tokens() {
    let env = Env::start().await;
    let tokens = env.web_tokens(SCOPE).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let reply = env
        .server
        .revoke(&env.other_auth(), &refresh, None)
        .await
        .unwrap();
    assert!(
        reply.status == 200 || reply.status == 400 || reply.status == 401,
        "{}",
        reply.status
    );
    let reply = env
        .server
        .revoke(&env.other_auth(), &tokens.access_token, None)
        .await
        .unwrap();
    assert!(reply.status.as_u16() < 500);
    assert!(
        env.is_active(&tokens.access_token).await,
        "another client revoked the token"
    );
    let refreshed = env
        .server
        .refresh(&env.web_auth(), &refresh, None)
        .await
        .unwrap();
    assert_token_ok(&refreshed);
}

#[tokio::test]
async fn rev_1_public_client_revokes_its_own_refresh_token() {
    let env = Env::start().await;
    let tokens = env.spa_tokens(SCOPE).await;
    let refresh = tokens.refresh_token.clone().unwrap();
    let reply = env
        .server
        .revoke(&env.spa_auth(), &refresh, None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let again = env
        .server
        .refresh(&env.spa_auth(), &refresh, None)
        .await
        .unwrap();
    assert_eq!(again.error(), Some("invalid_grant"));
}

/// A Redis connection, or `None` (with a notice) when Redis is unreachable outside CI.
async fn redis_connection(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let attempt = async {
        let client = redis::Client::open(url)?;
        client.get_multiplexed_async_connection().await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), attempt).await {
        Ok(Ok(conn)) => Some(conn),
        other if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the Redis denylist test: {url} unreachable ({other:?})");
            None
        }
        other => panic!("Redis required in CI: {other:?}"),
    }
}

#[tokio::test]
async fn jwt_19_revoked_jti_is_published_to_redis_keyed_on_iss_and_jti() {
    let url = std::env::var("PORTCULLIS_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let Some(mut conn) = redis_connection(&url).await else {
        return;
    };
    let redis_url = url.clone();
    let env = Env::start_with(
        portcullis_testkit::TestServer::builder().configure(move |s| s.redis_url = Some(redis_url)),
    )
    .await;
    let tokens = env.web_tokens(SCOPE).await;
    let claims = env
        .server
        .verify_access_token(&tokens.access_token, API)
        .await
        .unwrap();
    let jti = claims["jti"].as_str().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    let key = portcullis_types::denylist::revoked_jti_key(env.server.issuer(), jti);
    let before: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(before, None);

    let reply = env
        .server
        .revoke(&env.web_auth(), &tokens.access_token, None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let value: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        value.as_deref(),
        Some("1"),
        "revoked jti not published at {key}"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    // The remaining lifetime plus the largest leeway a validator may apply past `exp`.
    let leeway = portcullis_types::denylist::MAX_VALIDATOR_LEEWAY_SECS;
    assert!(
        ttl > leeway && ttl <= exp - env.server.now() + 1 + leeway,
        "TTL {ttl}"
    );

    // Revoking the refresh token revokes the grant: the remaining access tokens follow.
    let refreshed = env
        .server
        .refresh(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_token_ok(&refreshed);
    let second = refreshed.str("access_token").unwrap().to_owned();
    let second_jti = env.server.verify_access_token(&second, API).await.unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    env.server
        .revoke(
            &env.web_auth(),
            refreshed.str("refresh_token").unwrap(),
            None,
        )
        .await
        .unwrap();
    let key = portcullis_types::denylist::revoked_jti_key(env.server.issuer(), &second_jti);
    let value: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        value.as_deref(),
        Some("1"),
        "grant revocation not mirrored to Redis"
    );
}
