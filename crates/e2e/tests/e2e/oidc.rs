//! OpenID Connect (checklist OIDC-*): ID token claims and signature, nonce, at_hash, prompt,
//! max_age, id_token_hint, userinfo by scope with RFC 6750 errors.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_testkit::{
    ClientAuth, ClientSpec, CodeRequest, Consent, Outcome, decode_jwt_parts, query_param,
};

fn at_hash(access_token: &str, alg: &str) -> String {
    let digest_alg = match alg {
        "RS256" | "ES256" | "PS256" => &aws_lc_rs::digest::SHA256,
        "RS384" | "ES384" | "PS384" => &aws_lc_rs::digest::SHA384,
        "EdDSA" => &aws_lc_rs::digest::SHA512,
        _ => &aws_lc_rs::digest::SHA512,
    };
    let digest = aws_lc_rs::digest::digest(digest_alg, access_token.as_bytes());
    let half = &digest.as_ref()[..digest.as_ref().len() / 2];
    URL_SAFE_NO_PAD.encode(half)
}

#[tokio::test]
async fn oidc_2_id_token_claims_and_rs256_default() {
    let env = Env::start().await;
    let request = env.web_request(OIDC_SCOPE);
    let tokens = env
        .server
        .code_flow(&env.web_auth(), &request, (ALICE, ALICE_PASSWORD))
        .await
        .unwrap();
    let id_token = tokens.id_token.as_deref().expect("id_token");
    let (header, _) = decode_jwt_parts(id_token).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    let claims = env.server.verify_id_token(id_token, WEB).await.unwrap();
    assert_eq!(claims["iss"], env.server.issuer());
    assert_eq!(claims["sub"], env.alice_sub.as_str());
    let aud_ok = claims["aud"] == WEB
        || claims["aud"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0] == WEB);
    assert!(aud_ok, "aud = {}", claims["aud"]);
    assert_eq!(claims["nonce"].as_str(), request.nonce.as_deref());
    assert_eq!(claims["iat"].as_i64(), Some(env.server.now()));
    assert!(claims["exp"].as_i64().unwrap() > env.server.now());
    assert_eq!(claims["auth_time"].as_i64(), Some(env.server.now()));
    assert!(claims["sid"].is_string(), "sid missing");
    assert_eq!(
        claims["at_hash"].as_str().unwrap(),
        at_hash(&tokens.access_token, "RS256")
    );
    // An ID token is not an access token (JWT-12 / RS-6).
    assert!(env.server.verify_access_token(id_token, WEB).await.is_err());
}

#[tokio::test]
async fn oidc_2_client_registered_algorithm_is_used() {
    let env = Env::start_with(portcullis_testkit::TestServer::builder().configure(|s| {
        s.extra_algs.push(portcullis_jose::Algorithm::ES256);
        s.extra_algs.push(portcullis_jose::Algorithm::EdDSA);
    }))
    .await;
    env.server
        .add_client(
            ClientSpec::confidential("ed-client", "ed-secret-0123456789abcdef")
                .redirect_uri("https://ed.example/cb")
                .scope("openid")
                .id_token_alg("EdDSA"),
        )
        .await
        .unwrap();
    let tokens = env
        .server
        .code_flow(
            &ClientAuth::basic("ed-client", "ed-secret-0123456789abcdef"),
            &CodeRequest::new("ed-client", "https://ed.example/cb", "openid"),
            (ALICE, ALICE_PASSWORD),
        )
        .await
        .unwrap();
    let id_token = tokens.id_token.unwrap();
    let (header, _) = decode_jwt_parts(&id_token).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let claims = env
        .server
        .verify_id_token(&id_token, "ed-client")
        .await
        .unwrap();
    assert_eq!(
        claims["at_hash"].as_str().unwrap(),
        at_hash(&tokens.access_token, "EdDSA")
    );
}

#[tokio::test]
async fn oidc_1_code_flow_without_nonce_succeeds() {
    let env = Env::start().await;
    let request = env.web_request("openid").without_nonce();
    let tokens = env
        .server
        .code_flow(&env.web_auth(), &request, (ALICE, ALICE_PASSWORD))
        .await
        .unwrap();
    let claims = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn no_id_token_without_openid_scope() {
    let env = Env::start().await;
    let tokens = env.web_tokens("orders:read").await;
    assert!(tokens.id_token.is_none());
    // Userinfo needs the openid scope.
    let reply = env.server.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(reply.status, 403, "{}", reply.body);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
}

#[tokio::test]
async fn oidc_4_prompt_none_without_session_is_login_required() {
    let env = Env::start().await;
    let request = env.web_request("openid").param("prompt", "none");
    let browser = env.server.browser().unwrap();
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("prompt=none showed a page: {outcome:?}");
    };
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(query_param(&location, "state"), request.state);
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(env.server.issuer())
    );
}

#[tokio::test]
async fn oidc_4_prompt_none_with_session_but_no_consent_is_consent_required() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    // Sign in and consent for the web client.
    env.server
        .authorize(
            &browser,
            &env.web_request("openid"),
            Some((ALICE, ALICE_PASSWORD)),
        )
        .await
        .unwrap();
    // Same session, another client, prompt=none.
    let request = CodeRequest::new(OTHER, OTHER_CB, "openid").param("prompt", "none");
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("prompt=none showed a page: {outcome:?}");
    };
    assert!(location.as_str().starts_with(OTHER_CB));
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("consent_required")
    );
}

#[tokio::test]
async fn oidc_4_prompt_none_with_session_and_consent_returns_code() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    env.server
        .authorize(
            &browser,
            &env.web_request("openid profile"),
            Some((ALICE, ALICE_PASSWORD)),
        )
        .await
        .unwrap();
    let request = env.web_request("openid profile").param("prompt", "none");
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("prompt=none showed a page: {outcome:?}");
    };
    let code = query_param(&location, "code").expect("silent authorization returns a code");
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn oidc_5_prompt_login_forces_reauthentication_and_updates_auth_time() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    let first_request = env.web_request("openid");
    let first = env
        .server
        .authorize(&browser, &first_request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let first_tokens = env
        .server
        .redeem(&env.web_auth(), &first.code, &first_request)
        .await
        .unwrap();
    let first_auth_time = env
        .server
        .verify_id_token(first_tokens.str("id_token").unwrap(), WEB)
        .await
        .unwrap()["auth_time"]
        .as_i64()
        .unwrap();

    env.server.advance(120);
    // Without credentials the walk must stop at the login page.
    let request = env.web_request("openid").param("prompt", "login");
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Page(page) = outcome else {
        panic!("prompt=login did not show the login page: {outcome:?}");
    };
    assert!(page.login_form().is_some(), "expected the login form");
    // With credentials, auth_time moves.
    let request = env.web_request("openid").param("prompt", "login");
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let reply = env
        .server
        .redeem(&env.web_auth(), &response.code, &request)
        .await
        .unwrap();
    let auth_time = env
        .server
        .verify_id_token(reply.str("id_token").unwrap(), WEB)
        .await
        .unwrap()["auth_time"]
        .as_i64()
        .unwrap();
    assert_eq!(auth_time, first_auth_time + 120);
}

#[tokio::test]
async fn oidc_5_max_age_forces_reauthentication() {
    let env = Env::start().await;
    let browser = env.server.browser().unwrap();
    env.server
        .authorize(
            &browser,
            &env.web_request("openid"),
            Some((ALICE, ALICE_PASSWORD)),
        )
        .await
        .unwrap();
    env.server.advance(2);
    // max_age=1: the session is older, so the login page comes back.
    let request = env.web_request("openid").param("max_age", "1");
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Outcome::Page(p) if p.login_form().is_some()),
        "max_age=1 did not force a login: {outcome:?}"
    );
    // max_age=10000: the session is fresh enough, no login, auth_time in the ID token.
    let request = env.web_request("openid").param("max_age", "10000");
    let response = env
        .server
        .authorize(&browser, &request, None)
        .await
        .unwrap();
    let reply = env
        .server
        .redeem(&env.web_auth(), &response.code, &request)
        .await
        .unwrap();
    let claims = env
        .server
        .verify_id_token(reply.str("id_token").unwrap(), WEB)
        .await
        .unwrap();
    assert_eq!(claims["auth_time"].as_i64(), Some(env.server.now() - 2));
}

#[tokio::test]
async fn oidc_6_id_token_hint_for_another_user_is_login_required() {
    let env = Env::start().await;
    // Bob's ID token.
    let bob_tokens = env
        .server
        .code_flow(
            &env.web_auth(),
            &env.web_request("openid"),
            (BOB, BOB_PASSWORD),
        )
        .await
        .unwrap();
    let bob_hint = bob_tokens.id_token.unwrap();
    // Alice's session, and her own ID token.
    let browser = env.server.browser().unwrap();
    let alice_request = env.web_request("openid");
    let alice_code = env
        .server
        .authorize(&browser, &alice_request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let alice_reply = env
        .server
        .redeem(&env.web_auth(), &alice_code.code, &alice_request)
        .await
        .unwrap();
    let alice_hint = alice_reply.str("id_token").unwrap().to_owned();

    let request = env
        .web_request("openid")
        .param("prompt", "none")
        .param("id_token_hint", &bob_hint);
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("expected a redirect: {outcome:?}");
    };
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("login_required")
    );

    // Alice's own hint, even once expired, matches the session.
    env.server.advance(901 + 60);
    let request = env
        .web_request("openid")
        .param("prompt", "none")
        .param("id_token_hint", &alice_hint);
    let response = env
        .server
        .authorize(&browser, &request, None)
        .await
        .unwrap();
    assert!(!response.code.is_empty());
}

#[tokio::test]
async fn oidc_7_userinfo_get_post_header_and_post_body() {
    let env = Env::start().await;
    let tokens = env.web_tokens(OIDC_SCOPE).await;
    let id = env
        .server
        .verify_id_token(tokens.id_token.as_deref().unwrap(), WEB)
        .await
        .unwrap();
    let get = env.server.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(get.status, 200, "{}", get.body);
    assert_eq!(get.json["sub"], id["sub"]);
    let url = env.server.endpoints().userinfo.clone();
    let post = env
        .server
        .http()
        .post(url.clone())
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    let body: serde_json::Value = post.json().await.unwrap();
    assert_eq!(body["sub"], id["sub"]);
    let form = env
        .server
        .http()
        .post(url)
        .form(&[("access_token", tokens.access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200, "access token in a POST body");
}

#[tokio::test]
async fn oidc_7_userinfo_errors_carry_bearer_challenge() {
    let env = Env::start().await;
    let url = env.server.endpoints().userinfo.clone();
    let resp = env.server.http().get(url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let reply = env.server.userinfo("not.a.token").await.unwrap();
    assert_eq!(reply.status, 401);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(!challenge.contains("not.a.token"));
    // Query-string tokens are ignored (RS-1).
    let tokens = env.web_tokens("openid").await;
    let mut with_query = url.clone();
    with_query
        .query_pairs_mut()
        .append_pair("access_token", &tokens.access_token);
    let resp = env.server.http().get(with_query).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    // An expired token.
    env.server.advance(901 + 30);
    let reply = env.server.userinfo(&tokens.access_token).await.unwrap();
    assert_eq!(reply.status, 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn oidc_8_claims_follow_scopes() {
    let env = Env::start().await;
    let only_openid = env.web_tokens("openid").await;
    let reply = env
        .server
        .userinfo(&only_openid.access_token)
        .await
        .unwrap();
    assert_eq!(reply.json["sub"], env.alice_sub.as_str());
    assert!(reply.json.get("email").is_none(), "{}", reply.body);
    assert!(reply.json.get("name").is_none(), "{}", reply.body);

    let full = env.web_tokens(OIDC_SCOPE).await;
    let reply = env.server.userinfo(&full.access_token).await.unwrap();
    assert_eq!(reply.json["email"], "alice@example.com");
    assert_eq!(reply.json["email_verified"], true);
    assert_eq!(reply.json["name"], "alice");
    let email_only = env.web_tokens("openid email").await;
    let reply = env.server.userinfo(&email_only.access_token).await.unwrap();
    assert_eq!(reply.json["email"], "alice@example.com");
    assert!(reply.json.get("name").is_none());
}

#[tokio::test]
async fn login_hint_prefills_the_username() {
    let env = Env::start().await;
    let request = env.web_request("openid").param("login_hint", ALICE);
    let browser = env.server.browser().unwrap();
    let outcome = env
        .server
        .authorize_outcome(&browser, &request, None, Consent::Approve)
        .await
        .unwrap();
    let Outcome::Page(page) = outcome else {
        panic!("expected the login page");
    };
    let form = page.login_form().expect("login form");
    let user_field = form.username_field().unwrap().to_owned();
    assert_eq!(form.field(&user_field), Some(ALICE));
}

#[tokio::test]
async fn jwt_12_id_token_is_not_accepted_as_an_access_token_at_userinfo() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid").await;
    let reply = env
        .server
        .userinfo(tokens.id_token.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn rs_7_client_credentials_token_gets_no_user_data() {
    let env = Env::start().await;
    let reply = env
        .server
        .client_credentials(&env.service_auth(), None)
        .await
        .unwrap();
    let token = reply.str("access_token").unwrap().to_owned();
    let reply = env.server.userinfo(&token).await.unwrap();
    assert!(
        reply.status == 401 || reply.status == 403,
        "{} {}",
        reply.status,
        reply.body
    );
    assert!(reply.json.get("email").is_none());
}

#[tokio::test]
async fn oidc_3_unsigned_id_tokens_cannot_be_registered() {
    let env = Env::start().await;
    let result = env
        .server
        .add_client(
            ClientSpec::confidential("none-alg", "none-alg-secret-0123456789abcdef")
                .redirect_uri("https://none.example/cb")
                .scope("openid")
                .id_token_alg("none"),
        )
        .await;
    assert!(
        result.is_err(),
        "id_token_signed_response_alg=none was accepted"
    );
    let result = env
        .server
        .add_client(
            ClientSpec::confidential("hs-alg", "hs-alg-secret-0123456789abcdef")
                .redirect_uri("https://hs.example/cb")
                .scope("openid")
                .id_token_alg("HS256"),
        )
        .await;
    assert!(
        result.is_err(),
        "a symmetric ID token algorithm was accepted"
    );
}

#[tokio::test]
async fn removed_user_cannot_refresh_or_sign_in() {
    let env = Env::start().await;
    let tokens = env.web_tokens("openid offline_access").await;
    assert!(
        portcullis_server::admin::remove_user(env.server.store().as_ref(), ALICE)
            .await
            .unwrap()
    );
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
    let browser = env.server.browser().unwrap();
    let outcome = env
        .server
        .authorize_outcome(
            &browser,
            &env.web_request("openid"),
            Some((ALICE, ALICE_PASSWORD)),
            Consent::Approve,
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, Outcome::Page(_)),
        "a removed user signed in: {outcome:?}"
    );
}

#[tokio::test]
async fn dos_1_oversized_bearer_token_is_refused_quickly() {
    let env = Env::start().await;
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(8 * 1024),
        "b".repeat(8 * 1024),
        "c".repeat(1024)
    );
    let started = std::time::Instant::now();
    let reply = env.server.userinfo(&huge).await.unwrap();
    assert!(
        reply.status == 401 || reply.status == 431,
        "{} {}",
        reply.status,
        reply.body
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let reply = env.server.introspect(&env.web_auth(), &huge).await.unwrap();
    assert_eq!(reply.json, serde_json::json!({"active": false}));
}
