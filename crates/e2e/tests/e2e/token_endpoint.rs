//! The token endpoint (checklist TOK-*): method and encoding, duplicate parameters, grant-type
//! policy per client, client credentials, scopes, error bodies and body limits.

use crate::common::*;
use portcullis_testkit::{ClientAuth, ClientSpec, Reply, basic_header, decode_jwt_parts};
use portcullis_types::GrantType;

#[tokio::test]
async fn tok_1_token_endpoint_accepts_only_form_posts() {
    let env = Env::start().await;
    let token = env.server.endpoints().token.clone();
    let resp = env.server.http().get(token.clone()).send().await.unwrap();
    assert!(
        resp.status() == 405 || resp.status() == 400,
        "GET /token answered {}",
        resp.status()
    );
    let resp = env
        .server
        .http()
        .post(token)
        .header("authorization", basic_header(SERVICE, SERVICE_SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    let reply = Reply::read(resp).await;
    assert_eq!(reply.status, 400, "JSON body: {}", reply.body);
    assert_eq!(reply.error(), Some("invalid_request"));
}

#[tokio::test]
async fn tok_2_success_and_error_are_not_cached() {
    let env = Env::start().await;
    let ok = env
        .server
        .client_credentials(&env.service_auth(), None)
        .await
        .unwrap();
    assert_token_ok(&ok);
    assert_eq!(ok.header("pragma"), Some("no-cache"));
    let err = env
        .server
        .token(&env.service_auth(), &[("grant_type", "nonsense")])
        .await
        .unwrap();
    assert_token_error(&err, 400, "unsupported_grant_type");
    assert_eq!(err.header("pragma"), Some("no-cache"));
}

#[tokio::test]
async fn tok_3_duplicate_parameters_are_invalid_request() {
    let env = Env::start().await;
    let reply = env
        .server
        .token(
            &env.service_auth(),
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_request");
    let reply = env
        .server
        .token(
            &env.service_auth(),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "orders:read"),
                ("scope", "orders:write"),
            ],
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_request");
    // Unknown parameters are ignored.
    let reply = env
        .server
        .token(
            &env.service_auth(),
            &[("grant_type", "client_credentials"), ("foo", "bar")],
        )
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn tok_7_client_credentials_for_confidential_client() {
    let env = Env::start().await;
    let reply = env
        .server
        .client_credentials(&env.service_auth(), Some("orders:read"))
        .await
        .unwrap();
    assert_token_ok(&reply);
    assert!(
        reply.str("refresh_token").is_none(),
        "client_credentials must not issue a refresh token"
    );
    assert!(reply.str("id_token").is_none());
    assert_eq!(reply.str("scope"), Some("orders:read"));
    let access = reply.str("access_token").unwrap();
    let claims = env.server.verify_access_token(access, API).await.unwrap();
    assert_eq!(claims["client_id"], SERVICE);
    assert_eq!(claims["sub"], SERVICE);
    assert_eq!(claims["scope"], "orders:read");
    assert_ne!(claims["sub"], env.alice_sub.as_str());
    let (header, _) = decode_jwt_parts(access).unwrap();
    assert_eq!(header["typ"], "at+jwt");
}

#[tokio::test]
async fn tok_7_public_client_cannot_use_client_credentials() {
    let env = Env::start().await;
    let reply = env
        .server
        .client_credentials(&env.spa_auth(), None)
        .await
        .unwrap();
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error(), Some("unauthorized_client"));
}

#[tokio::test]
async fn tok_8_client_may_only_use_registered_grant_types() {
    let env = Env::start().await;
    // The web client is not registered for client_credentials.
    let reply = env
        .server
        .client_credentials(&env.web_auth(), None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "unauthorized_client");
    // The service client is not registered for refresh_token.
    let reply = env
        .server
        .refresh(&env.service_auth(), "whatever", None)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "unauthorized_client");
    // Nor for authorization_code.
    let reply = env
        .server
        .token(
            &env.service_auth(),
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "unauthorized_client");
}

#[tokio::test]
async fn tok_8_client_without_refresh_grant_gets_no_refresh_token() {
    let env = Env::start().await;
    env.server
        .add_client(
            ClientSpec::confidential("no-refresh", "no-refresh-secret-0123456789abcdef")
                .redirect_uri("https://nr.example/cb")
                .grant_types(&[GrantType::AuthorizationCode])
                .scope("openid offline_access"),
        )
        .await
        .unwrap();
    let tokens = env
        .server
        .code_flow(
            &ClientAuth::basic("no-refresh", "no-refresh-secret-0123456789abcdef"),
            &portcullis_testkit::CodeRequest::new(
                "no-refresh",
                "https://nr.example/cb",
                "openid offline_access",
            ),
            (ALICE, ALICE_PASSWORD),
        )
        .await
        .unwrap();
    assert!(tokens.refresh_token.is_none());
}

#[tokio::test]
async fn tok_9_client_credentials_scope_is_limited_to_registration() {
    let env = Env::start().await;
    let reply = env
        .server
        .client_credentials(&env.service_auth(), Some("orders:read admin"))
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_scope");
    let reply = env
        .server
        .client_credentials(&env.service_auth(), Some("orders:read orders:write"))
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn tok_11_error_bodies_use_registered_codes_and_never_echo_secrets() {
    let env = Env::start().await;
    let secret = "wrong-secret-<script>\"é-zzzzzzzzzzzzzzzz";
    let reply = env
        .server
        .client_credentials(&ClientAuth::post(SERVICE, secret), None)
        .await
        .unwrap();
    assert_token_error(&reply, 401, "invalid_client");
    assert!(
        !reply.body.contains("wrong-secret"),
        "secret echoed: {}",
        reply.body
    );
    if let Some(desc) = reply.str("error_description") {
        assert!(
            desc.chars().all(
                |c| matches!(c, '\u{20}'..='\u{21}' | '\u{23}'..='\u{5B}' | '\u{5D}'..='\u{7E}')
            ),
            "error_description outside RFC 6749 charset: {desc:?}"
        );
    }
    let garbage_code = "garbage-code-value-<>\"";
    let reply = env
        .server
        .token(
            &env.web_auth(),
            &[
                ("grant_type", "authorization_code"),
                ("code", garbage_code),
                ("redirect_uri", WEB_CB),
            ],
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
    assert!(!reply.body.contains("garbage-code-value"));
}

#[tokio::test]
async fn red_15_password_grant_refused_unless_client_opts_in() {
    let env = Env::start().await;
    let reply = env
        .server
        .token(
            &env.web_auth(),
            &[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = reply.error().unwrap();
    // The server supports the grant for opted-in clients, so for this client the registered
    // code is unauthorized_client; unsupported_grant_type is also acceptable.
    assert!(
        error == "unauthorized_client" || error == "unsupported_grant_type",
        "{error}"
    );
}

#[tokio::test]
async fn password_grant_works_for_a_client_that_opts_in() {
    let env = Env::start().await;
    env.server
        .add_client(
            ClientSpec::confidential("legacy", "legacy-secret-0123456789abcdef")
                .grant_types(&[GrantType::Password, GrantType::RefreshToken])
                .scope("openid profile orders:read")
                .audience(&[API]),
        )
        .await
        .unwrap();
    let auth = ClientAuth::basic("legacy", "legacy-secret-0123456789abcdef");
    let reply = env
        .server
        .token(
            &auth,
            &[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", ALICE_PASSWORD),
                ("scope", "orders:read"),
            ],
        )
        .await
        .unwrap();
    assert_token_ok(&reply);
    let claims = env
        .server
        .verify_access_token(reply.str("access_token").unwrap(), API)
        .await
        .unwrap();
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    let reply = env
        .server
        .token(
            &auth,
            &[
                ("grant_type", "password"),
                ("username", ALICE),
                ("password", "wrong password"),
            ],
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn unknown_or_missing_grant_type() {
    let env = Env::start().await;
    let reply = env
        .server
        .token(
            &env.service_auth(),
            &[("grant_type", "urn:example:unknown")],
        )
        .await
        .unwrap();
    assert_token_error(&reply, 400, "unsupported_grant_type");
    let reply = env.server.token(&env.service_auth(), &[]).await.unwrap();
    assert_token_error(&reply, 400, "invalid_request");
    let reply = env
        .server
        .token(&env.service_auth(), &[("grant_type", "implicit")])
        .await
        .unwrap();
    assert_token_error(&reply, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn dos_5_oversized_body_is_refused() {
    let env = Env::start().await;
    let big = "a".repeat(10 * 1024 * 1024);
    let resp = env
        .server
        .http()
        .post(env.server.endpoints().token.clone())
        .header("authorization", basic_header(SERVICE, SERVICE_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&pad={big}"))
        .send()
        .await;
    // The server may also close the connection while the body is still being sent.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    }
}

#[tokio::test]
async fn access_token_lifetime_per_client() {
    let env = Env::start().await;
    env.server
        .add_client(
            ClientSpec::confidential("short", "short-secret-0123456789abcdef")
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read")
                .audience(&[API])
                .access_token_ttl(60),
        )
        .await
        .unwrap();
    let reply = env
        .server
        .client_credentials(
            &ClientAuth::basic("short", "short-secret-0123456789abcdef"),
            None,
        )
        .await
        .unwrap();
    assert_token_ok(&reply);
    assert_eq!(reply.json["expires_in"], 60);
    let token = reply.str("access_token").unwrap().to_owned();
    env.server.verify_access_token(&token, API).await.unwrap();
    env.server.advance(60 + 31);
    assert!(env.server.verify_access_token(&token, API).await.is_err());
}

#[tokio::test]
async fn tok_7_client_id_cannot_equal_a_user_subject() {
    let env = Env::start().await;
    let result = env
        .server
        .add_client(
            ClientSpec::confidential(&env.alice_sub, "collide-secret-0123456789abcdef")
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read"),
        )
        .await;
    assert!(
        result.is_err(),
        "a client could take a user's subject as its id"
    );
}

#[tokio::test]
async fn access_token_audience_defaults_to_the_issuer() {
    let env = Env::start().await;
    env.server
        .add_client(
            ClientSpec::confidential("no-aud", "no-aud-secret-0123456789abcdef")
                .grant_types(&[GrantType::ClientCredentials])
                .scope("orders:read"),
        )
        .await
        .unwrap();
    let reply = env
        .server
        .client_credentials(
            &ClientAuth::basic("no-aud", "no-aud-secret-0123456789abcdef"),
            None,
        )
        .await
        .unwrap();
    assert_token_ok(&reply);
    let token = reply.str("access_token").unwrap();
    let issuer = env.server.issuer().to_owned();
    env.server
        .verify_access_token(token, &issuer)
        .await
        .unwrap();
    assert!(env.server.verify_access_token(token, API).await.is_err());
}
