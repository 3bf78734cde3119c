//! Client authentication at the back-channel endpoints (TOK-4, TOK-5, TOK-6, TOK-12):
//! one method per request, Basic encoding, `private_key_jwt` claims and replay protection.

use crate::common::*;
use portcullis_jose::Algorithm;
use portcullis_testkit::Clock as _;
use portcullis_testkit::{
    AssertionClaims, ClientAuth, ClientSpec, Reply, basic_header, client_key,
};
use portcullis_types::{GrantType, TokenEndpointAuthMethod};
use serde_json::json;

async fn cc_with_assertion(env: &Env, assertion: &str) -> Reply {
    env.with_assertion(JWT_CLIENT, assertion).await
}

async fn jwt_env() -> (Env, portcullis_jose::SigningKey) {
    let env = Env::start().await;
    let key = env.add_jwt_client().await;
    (env, key)
}

#[tokio::test]
async fn tok_4_exactly_one_authentication_method() {
    let env = Env::start().await;
    let resp = env
        .server
        .http()
        .post(env.server.endpoints().token.clone())
        .header("authorization", basic_header(SERVICE, SERVICE_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", SERVICE),
            ("client_secret", SERVICE_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let reply = Reply::read(resp).await;
    assert!(
        (reply.status == 400 && reply.error() == Some("invalid_request"))
            || (reply.status == 401 && reply.error() == Some("invalid_client")),
        "Basic and body secret together: {} {}",
        reply.status,
        reply.body
    );
}

#[tokio::test]
async fn tok_5_wrong_basic_secret_is_401_with_challenge() {
    let env = Env::start().await;
    let reply = env
        .server
        .client_credentials(
            &ClientAuth::basic(SERVICE, "not-the-secret-000000000000"),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    let challenge = reply.header("www-authenticate").expect("WWW-Authenticate");
    assert!(
        challenge.to_ascii_lowercase().starts_with("basic"),
        "{challenge}"
    );
}

#[tokio::test]
async fn tok_5_wrong_post_secret_and_unknown_client_are_invalid_client() {
    let env = Env::start().await;
    let reply = env
        .server
        .client_credentials(
            &ClientAuth::post(SERVICE, "not-the-secret-000000000000"),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    let reply = env
        .server
        .client_credentials(
            &ClientAuth::basic("no-such-client", "whatever-secret-0000000"),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    assert!(reply.header("www-authenticate").is_some());
    let reply = env
        .server
        .client_credentials(&ClientAuth::Nothing, None)
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
}

#[tokio::test]
async fn tok_5_basic_credentials_are_form_urlencoded() {
    let env = Env::start().await;
    let id = "weird:id%client";
    let secret = "p:ss%word+with/specials=0123456789";
    env.server
        .add_client(
            ClientSpec::confidential(id, secret)
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    let reply = env
        .server
        .client_credentials(&ClientAuth::basic(id, secret), None)
        .await
        .unwrap();
    assert_token_ok(&reply);
    // A secret sent without the form-urlencoding step decodes to a different value.
    env.server
        .add_client(
            ClientSpec::confidential("plus-client", "pass+word-0123456789abcdef")
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    let raw = format!(
        "Basic {}",
        base64_encode(b"plus-client:pass+word-0123456789abcdef")
    );
    let resp = env
        .server
        .http()
        .post(env.server.endpoints().token.clone())
        .header("authorization", raw)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn tok_5_secret_post_client_authenticates_in_the_body() {
    let env = Env::start().await;
    env.server
        .add_client(
            ClientSpec::confidential("poster", "poster-secret-0123456789abcdef")
                .auth_method(TokenEndpointAuthMethod::ClientSecretPost)
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    let ok = env
        .server
        .client_credentials(
            &ClientAuth::post("poster", "poster-secret-0123456789abcdef"),
            None,
        )
        .await
        .unwrap();
    assert_token_ok(&ok);
    let reply = env
        .server
        .client_credentials(
            &ClientAuth::post("poster", "poster-secret-0123456789abcdeX"),
            None,
        )
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    // Secret-based clients may not fall back to the public method.
    let reply = env
        .server
        .client_credentials(&ClientAuth::public("poster"), None)
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
}

#[tokio::test]
async fn tok_6_private_key_jwt_succeeds_once_then_replay_fails() {
    let (env, key) = jwt_env().await;
    let claims = AssertionClaims::new(JWT_CLIENT, env.server.issuer(), env.server.clock().now());
    let assertion = claims.sign(&key).unwrap();
    let reply = cc_with_assertion(&env, &assertion).await;
    assert_token_ok(&reply);
    let at = env
        .server
        .verify_access_token(reply.str("access_token").unwrap(), API)
        .await
        .unwrap();
    assert_eq!(at["client_id"], JWT_CLIENT);
    let replay = cc_with_assertion(&env, &assertion).await;
    assert_token_error(&replay, 401, "invalid_client");
}

#[tokio::test]
async fn tok_6_assertion_claims_are_checked() {
    let (env, key) = jwt_env().await;
    let now = env.server.clock().now();
    let issuer = env.server.issuer().to_owned();
    let base = AssertionClaims::new(JWT_CLIENT, &issuer, now);
    let mut cases: Vec<(&str, AssertionClaims)> = Vec::new();
    let mut c = base.clone();
    c.aud = Some(json!("https://other-issuer.example"));
    cases.push(("wrong aud", c));
    let mut c = base.clone();
    c.aud = None;
    cases.push(("no aud", c));
    let mut c = base.clone();
    c.iss = Some("someone-else".into());
    cases.push(("wrong iss", c));
    let mut c = base.clone();
    c.sub = Some("someone-else".into());
    cases.push(("wrong sub", c));
    let mut c = base.clone();
    c.sub = None;
    cases.push(("no sub", c));
    let mut c = base.clone();
    c.exp = Some(now.as_secs() - 300);
    c.iat = Some(now.as_secs() - 360);
    cases.push(("expired 5 minutes ago", c));
    let mut c = base.clone();
    c.exp = None;
    cases.push(("no exp", c));
    let mut c = base.clone();
    c.jti = None;
    cases.push(("no jti", c));
    for (what, claims) in cases {
        let reply = cc_with_assertion(&env, &claims.sign(&key).unwrap()).await;
        assert_token_error(&reply, 401, "invalid_client");
        assert!(reply.status == 401, "{what}");
    }
}

#[tokio::test]
async fn tok_6_assertion_with_a_foreign_audience_or_typ_fails() {
    let (env, key) = jwt_env().await;
    let now = env.server.clock().now().as_secs();
    let issuer = env.server.issuer().to_owned();
    let token_endpoint = env.server.endpoints().token.to_string();
    let sign = |typ: &str, aud: serde_json::Value, jti: &str| {
        let claims = json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": aud,
            "exp": now + 60, "iat": now, "jti": jti});
        portcullis_jose::jwt::encode(&key, typ, &claims).unwrap()
    };
    // Also addressed to another party: refused.
    let reply = cc_with_assertion(
        &env,
        &sign("JWT", json!([issuer, "https://other.example"]), "a1"),
    )
    .await;
    assert_token_error(&reply, 401, "invalid_client");
    // A token of another kind: refused.
    let reply = cc_with_assertion(&env, &sign("at+jwt", json!(issuer), "a2")).await;
    assert_token_error(&reply, 401, "invalid_client");
    // Our two identifiers together, typed JWT: accepted.
    let reply = cc_with_assertion(&env, &sign("JWT", json!([issuer, token_endpoint]), "a3")).await;
    assert_token_ok(&reply);
}

#[tokio::test]
async fn tok_6_assertion_signed_by_another_key_or_unsigned_fails() {
    let (env, _key) = jwt_env().await;
    let (other, _) = client_key(Algorithm::ES256, "client-key-1").unwrap();
    let claims = AssertionClaims::new(JWT_CLIENT, env.server.issuer(), env.server.clock().now());
    let reply = cc_with_assertion(&env, &claims.sign(&other).unwrap()).await;
    assert_token_error(&reply, 401, "invalid_client");
    // alg "none" with an empty signature.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64.encode(
        json!({"iss": JWT_CLIENT, "sub": JWT_CLIENT, "aud": env.server.issuer(),
               "exp": env.server.now() + 60, "jti": "none-jti"})
        .to_string(),
    );
    let reply = cc_with_assertion(&env, &format!("{header}.{body}.")).await;
    assert_token_error(&reply, 401, "invalid_client");
    // HS256 keyed with the public JWK text (key confusion) is refused.
    let hs = portcullis_jose::SigningKey::hmac(&[7u8; 32], Algorithm::HS256).unwrap();
    let reply = cc_with_assertion(&env, &claims.sign(&hs).unwrap()).await;
    assert_token_error(&reply, 401, "invalid_client");
}

#[tokio::test]
async fn tok_12_back_channel_endpoints_require_client_authentication() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid").await;
    let reply = env
        .server
        .introspect(&ClientAuth::Nothing, &tokens.access_token)
        .await
        .unwrap();
    assert_eq!(
        reply.status, 401,
        "introspection without auth: {}",
        reply.body
    );
    assert_eq!(reply.error(), Some("invalid_client"));
    let reply = env
        .server
        .introspect(
            &ClientAuth::basic(WEB, "wrong-secret-00000000000000"),
            &tokens.access_token,
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 401);
    let reply = env
        .server
        .revoke(&ClientAuth::Nothing, &tokens.access_token, None)
        .await
        .unwrap();
    assert_eq!(reply.status, 401, "revocation without auth: {}", reply.body);
    assert_eq!(reply.error(), Some("invalid_client"));
    // Nothing was revoked by the failed call.
    assert!(env.is_active(&tokens.access_token).await);
}

#[tokio::test]
async fn tok_14_client_policy_follows_registration_updates() {
    let env = Env::start().await;
    env.server
        .add_client(
            ClientSpec::public("flip")
                .redirect_uri("http://127.0.0.1/flip")
                .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
                .scope("openid offline_access"),
        )
        .await
        .unwrap();
    let request = portcullis_testkit::CodeRequest::new(
        "flip",
        "http://127.0.0.1/flip",
        "openid offline_access",
    );
    let tokens = env
        .server
        .code_flow(
            &ClientAuth::public("flip"),
            &request,
            (ALICE, ALICE_PASSWORD),
        )
        .await
        .unwrap();
    let refresh = tokens.refresh_token.unwrap();
    // The client becomes confidential.
    env.server
        .replace_client(
            ClientSpec::confidential("flip", "flip-secret-0123456789abcdef")
                .redirect_uri("http://127.0.0.1/flip")
                .grant_types(&[GrantType::AuthorizationCode, GrantType::RefreshToken])
                .scope("openid offline_access"),
        )
        .await
        .unwrap();
    // Past the documented client cache lifetime, the public method no longer works.
    env.server.advance(env.server.config().client_cache_ttl + 1);
    let reply = env
        .server
        .refresh(&ClientAuth::public("flip"), &refresh, None)
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    let reply = env
        .server
        .refresh(
            &ClientAuth::basic("flip", "flip-secret-0123456789abcdef"),
            &refresh,
            None,
        )
        .await
        .unwrap();
    assert_token_ok(&reply);
}
