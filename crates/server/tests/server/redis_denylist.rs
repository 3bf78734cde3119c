//! The optional Redis mirror of revoked `jti`s: revoking an access token writes
//! `portcullis_types::denylist::revoked_jti_key(issuer, jti)` with the remaining lifetime plus the
//! largest validator leeway as TTL.
//! Runs when Redis answers at 127.0.0.1:6379; with `CI` set it must.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_server::store::MirrorEntry;

const REDIS_URL: &str = "redis://127.0.0.1:6379";

async fn redis_available() -> Option<redis::aio::ConnectionManager> {
    let client = redis::Client::open(REDIS_URL).ok()?;
    match tokio::time::timeout(
        std::time::Duration::from_secs(3),
        redis::aio::ConnectionManager::new(client),
    )
    .await
    {
        Ok(Ok(c)) => Some(c),
        _ => None,
    }
}

#[tokio::test]
async fn jwt_19_revoked_jti_mirrored_to_redis_with_ttl() {
    let Some(mut conn) = redis_available().await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Redis must be reachable in CI"
        );
        eprintln!("skipping: Redis not reachable at {REDIS_URL}");
        return;
    };
    // A unique issuer keeps parallel runs apart.
    let issuer = format!("https://as-{}.example", std::process::id());
    let h = harness_with(
        |s| {
            s.issuer = issuer.clone();
            s.redis_url = Some(REDIS_URL.to_owned());
        },
        false,
    )
    .await;
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    let token = body_json(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, claims) = portcullis_jose::dangerous::decode_unverified(&token).unwrap();
    let jti = claims["jti"].as_str().unwrap();
    let resp = send(
        &h.router,
        form_with(
            "/revoke",
            &format!("token={token}&token_type_hint=access_token"),
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let key = portcullis_types::denylist::revoked_jti_key(&issuer, jti);
    let value: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(value.as_deref(), Some("1"));
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    // The remaining lifetime plus the largest validator leeway.
    assert!(
        ttl > 0 && ttl <= 900 + portcullis_types::denylist::MAX_VALIDATOR_LEEWAY_SECS,
        "ttl {ttl}"
    );
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn rt_8_revoking_a_refresh_token_mirrors_the_grants_access_tokens_to_redis() {
    let Some(mut conn) = redis_available().await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Redis must be reachable in CI"
        );
        eprintln!("skipping: Redis not reachable at {REDIS_URL}");
        return;
    };
    let issuer = format!("https://as-grant-{}.example", std::process::id());
    let h = harness_with(
        |s| {
            s.issuer = issuer.clone();
            s.redis_url = Some(REDIS_URL.to_owned());
        },
        true,
    )
    .await;
    let (location, _jar) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let tokens = body_json(redeem(&h, &code, VERIFIER).await).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (_, claims) = portcullis_jose::dangerous::decode_unverified(access).unwrap();
    let key = portcullis_types::denylist::revoked_jti_key(&issuer, claims["jti"].as_str().unwrap());
    let before: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(before, None, "nothing is denylisted before the revocation");

    let resp = send(
        &h.router,
        form_with(
            "/revoke",
            &format!("token={}&token_type_hint=refresh_token", enc(refresh)),
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let after: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        after.as_deref(),
        Some("1"),
        "the grant's access token is denylisted for resource servers too"
    );
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn rev_1_redis_entry_outlives_the_validator_leeway() {
    let Some(mut conn) = redis_available().await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Redis must be reachable in CI"
        );
        eprintln!("skipping: Redis not reachable at {REDIS_URL}");
        return;
    };
    let issuer = format!("https://as-leeway-{}.example", std::process::id());
    let h = harness_with(
        |s| {
            s.issuer = issuer.clone();
            s.redis_url = Some(REDIS_URL.to_owned());
        },
        false,
    )
    .await;
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    let token = body_json(resp).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, claims) = portcullis_jose::dangerous::decode_unverified(&token).unwrap();
    let jti = claims["jti"].as_str().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    // One second before expiry: the token alone has a second left, a validator with the
    // largest leeway accepts it for another minute.
    h.clock.advance(exp - START - 1);
    let resp = send(
        &h.router,
        form_with(
            "/revoke",
            &format!("token={token}&token_type_hint=access_token"),
            &[("authorization", &basic("svc", SVC_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let key = portcullis_types::denylist::revoked_jti_key(&issuer, jti);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl >= portcullis_types::denylist::MAX_VALIDATOR_LEEWAY_SECS,
        "the denylist entry ends before the leeway does: ttl {ttl}"
    );
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn rt_8_sign_out_everywhere_publishes_the_subject_marker_with_the_longest_token_ttl() {
    let Some(mut conn) = redis_available().await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Redis must be reachable in CI"
        );
        eprintln!("skipping: Redis not reachable at {REDIS_URL}");
        return;
    };
    let issuer = format!("https://as-subject-{}.example", std::process::id());
    let h = harness_with(
        |s| {
            s.issuer = issuer.clone();
            s.redis_url = Some(REDIS_URL.to_owned());
        },
        true,
    )
    .await;
    // One client issues hour-long access tokens: the marker must outlive those.
    portcullis_server::admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        portcullis_server::config::ClientConfig {
            client_id: "long".into(),
            secret: Some(portcullis_types::ClientSecret::new(SVC_SECRET)),
            grant_types: vec![portcullis_types::GrantType::ClientCredentials],
            access_token_ttl: Some(3_600),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (location, _jar) = login_and_consent(&h, &authorize_url("")).await;
    let code = param(&location, "code").unwrap();
    let tokens = body_json(redeem(&h, &code, VERIFIER).await).await;
    let (_, claims) =
        portcullis_jose::dangerous::decode_unverified(tokens["access_token"].as_str().unwrap())
            .unwrap();
    let sub = claims["sub"].as_str().unwrap().to_owned();
    let jti_key =
        portcullis_types::denylist::revoked_jti_key(&issuer, claims["jti"].as_str().unwrap());
    let marker = portcullis_types::denylist::subject_not_before_key(&issuer, &sub);

    // `users revoke-tokens`, with the denylist the command connects from the configuration.
    let denylist = portcullis_server::admin::connect_denylist(h.server.config())
        .await
        .unwrap()
        .expect("Redis is configured");
    let targets = portcullis_server::admin::AccountTargets {
        store: h.store.as_ref(),
        denylist: Some(denylist.as_ref()),
        clock: h.clock.as_ref(),
        config: h.server.config(),
    };
    let report = portcullis_server::admin::revoke_user_tokens(targets, "alice")
        .await
        .unwrap()
        .unwrap();
    let leeway = portcullis_types::denylist::MAX_VALIDATOR_LEEWAY_SECS;
    assert_eq!(report.marker_until, Some(START + 3_600 + leeway));
    let reader = conn.clone();
    let get = |key: String| {
        let mut conn = reader.clone();
        async move {
            redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<String>>(&mut conn)
                .await
                .unwrap()
        }
    };
    assert_eq!(get(marker.clone()).await, Some(START.to_string()));
    let ttl: i64 = redis::cmd("TTL")
        .arg(&marker)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl > 3_600 + leeway - 5 && ttl <= 3_600 + leeway,
        "marker ttl {ttl}"
    );
    // The recorded access token is denylisted by jti too (same-second tokens need that).
    assert_eq!(get(jti_key.clone()).await.as_deref(), Some("1"));

    // A marker from a node whose clock is behind never moves it back.
    denylist
        .publish(
            &[MirrorEntry::Subject {
                sub: sub.clone(),
                not_before: START - 100,
                keep_until: START + 1_000,
            }],
            START - 100,
        )
        .await
        .unwrap();
    assert_eq!(get(marker.clone()).await, Some(START.to_string()));
    // A later one moves it on.
    denylist
        .publish(
            &[MirrorEntry::Subject {
                sub: sub.clone(),
                not_before: START + 10,
                keep_until: START + 1_000,
            }],
            START,
        )
        .await
        .unwrap();
    assert_eq!(get(marker.clone()).await, Some((START + 10).to_string()));

    let _: () = redis::cmd("DEL")
        .arg(&marker)
        .arg(&jti_key)
        .query_async(&mut conn)
        .await
        .unwrap();
}
