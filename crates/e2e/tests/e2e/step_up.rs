//! Step-up with Portcullis tokens (RS-8): access tokens from a user sign-in carry `auth_time`
//! and `amr: ["pwd"]` (no `acr`: the server has no authentication levels), and a resource server
//! behind the guard answers RFC 9470's challenge when the sign-in is too old or too weak.

use crate::common::*;
use axum::Router;
use axum::routing::get;
use portcullis_guard::jose::time::Clock;
use portcullis_guard::{Guard, StepUp, require_step_up};
use portcullis_testkit::{TestServer, decode_jwt_parts};
use std::sync::Arc;
use std::time::Duration;

/// A resource server for `orders-api` on a random port: `/fresh` wants a sign-in at most
/// 300 s old, `/pwd` a password sign-in, `/mfa` an `acr` of `mfa`.
async fn resource_server(server: &TestServer) -> url::Url {
    let clock: Arc<dyn Clock> = server.clock().clone();
    let guard = Guard::builder()
        .issuer(server.issuer())
        .audience(API)
        .clock(clock)
        .background_refresh(false)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/fresh",
            get(|| async { "fresh" }).route_layer(require_step_up(
                StepUp::new().max_age(Duration::from_secs(300)),
            )),
        )
        .route(
            "/pwd",
            get(|| async { "pwd" }).route_layer(require_step_up(StepUp::new().amr(["pwd"]))),
        )
        .route(
            "/mfa",
            get(|| async { "mfa" }).route_layer(require_step_up(StepUp::new().acr_values(["mfa"]))),
        )
        .layer(guard.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url::Url::parse(&format!("http://{addr}/")).unwrap()
}

/// Calls `path` with `token`; the status and the `WWW-Authenticate` header.
async fn call(env: &Env, base: &url::Url, path: &str, token: &str) -> (u16, String) {
    let response = env
        .server
        .http()
        .get(base.join(path).unwrap())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn rs_8_code_flow_access_tokens_carry_auth_time_and_amr() {
    let env = Env::start().await;
    let signed_in_at = env.server.now();
    let tokens = env.web_tokens("openid orders:read").await;
    let (_, claims) = decode_jwt_parts(&tokens.access_token).unwrap();
    assert_eq!(claims["auth_time"].as_i64(), Some(signed_in_at), "{claims}");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]), "{claims}");
    assert!(claims.get("acr").is_none(), "{claims}");
    // A client acting for itself did not authenticate a user: neither claim.
    let reply = env
        .server
        .client_credentials(&env.service_auth(), Some("orders:read"))
        .await
        .unwrap();
    let (_, claims) = decode_jwt_parts(reply.str("access_token").unwrap()).unwrap();
    assert!(claims.get("auth_time").is_none(), "{claims}");
    assert!(claims.get("amr").is_none(), "{claims}");
}

#[tokio::test]
async fn rs_8_guard_step_up_with_portcullis_tokens() {
    let env = Env::start().await;
    let base = resource_server(&env.server).await;
    let tokens = env.web_tokens("openid offline_access orders:read").await;
    let at = tokens.access_token.as_str();

    assert_eq!(call(&env, &base, "/fresh", at).await.0, 200);
    assert_eq!(call(&env, &base, "/pwd", at).await.0, 200);
    // Portcullis states no acr, so an acr requirement is never met by its tokens.
    let (status, challenge) = call(&env, &base, "/mfa", at).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("acr_values=\"mfa\""),
        "{challenge}"
    );

    // Five minutes and a bit later the sign-in is too old, and refreshing does not renew it.
    env.server.advance(301);
    let (status, challenge) = call(&env, &base, "/fresh", at).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("max_age=\"300\""),
        "{challenge}"
    );
    let refreshed = env
        .server
        .refresh(
            &env.web_auth(),
            tokens.refresh_token.as_deref().unwrap(),
            None,
        )
        .await
        .unwrap();
    let refreshed_at = refreshed.str("access_token").unwrap();
    assert_eq!(call(&env, &base, "/fresh", refreshed_at).await.0, 401);

    // Signing in again gives a token that passes.
    let again = env.web_tokens("openid orders:read").await;
    assert_eq!(
        call(&env, &base, "/fresh", &again.access_token).await.0,
        200
    );

    // A client-credentials token has no auth_time and never passes a max_age route.
    let reply = env
        .server
        .client_credentials(&env.service_auth(), Some("orders:read"))
        .await
        .unwrap();
    let (status, _) = call(&env, &base, "/fresh", reply.str("access_token").unwrap()).await;
    assert_eq!(status, 401);
}
