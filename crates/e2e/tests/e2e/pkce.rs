//! PKCE (checklist PKCE-*): required for every client, S256 only, the verifier must be present,
//! correct and well-formed.

use crate::common::*;
use portcullis_testkit::{Consent, Outcome, Pkce, query_param};

/// Walks `request` and expects an error redirect to the client with `error`.
async fn expect_authorize_error(env: &Env, request: &portcullis_testkit::CodeRequest, error: &str) {
    let browser = env.server.browser().unwrap();
    let outcome = env
        .server
        .authorize_outcome(
            &browser,
            request,
            Some((ALICE, ALICE_PASSWORD)),
            Consent::Approve,
        )
        .await
        .unwrap();
    let Outcome::Redirect(location) = outcome else {
        panic!("expected an error redirect with {error}, got {outcome:?}");
    };
    let expected_cb = request.redirect_uri.clone().unwrap();
    assert!(location.as_str().starts_with(&expected_cb), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some(error),
        "{location}"
    );
    assert_eq!(query_param(&location, "state"), request.state);
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(env.server.issuer())
    );
    assert!(query_param(&location, "code").is_none());
}

#[tokio::test]
async fn pkce_1_public_client_without_challenge_is_refused() {
    let env = Env::start().await;
    let request = env.spa_request("openid").without_pkce();
    expect_authorize_error(&env, &request, "invalid_request").await;
}

#[tokio::test]
async fn pkce_1_confidential_client_without_challenge_is_refused_by_default() {
    let env = Env::start().await;
    let request = env.web_request("openid").without_pkce();
    expect_authorize_error(&env, &request, "invalid_request").await;
}

#[tokio::test]
async fn pkce_2_plain_and_unknown_methods_are_refused() {
    let env = Env::start().await;
    for method in ["plain", "S512", "s256"] {
        let mut request = env.web_request("openid").without_pkce();
        let pkce = Pkce::new();
        request = request
            .param("code_challenge", &pkce.verifier)
            .param("code_challenge_method", method);
        expect_authorize_error(&env, &request, "invalid_request").await;
    }
}

#[tokio::test]
async fn pkce_2_challenge_without_method_is_not_taken_as_plain() {
    let env = Env::start().await;
    let pkce = Pkce::new();
    let request = env
        .spa_request("openid")
        .without_pkce()
        .param("code_challenge", &pkce.challenge);
    // OAuth 2.1 defaults a missing method to plain, which is refused.
    expect_authorize_error(&env, &request, "invalid_request").await;
}

#[tokio::test]
async fn pkce_3_missing_verifier_is_invalid_request() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let mut without = request.clone();
    without.pkce = None;
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &without)
        .await
        .unwrap();
    // RFC 6749 §5.2: a missing required parameter is `invalid_request` (a wrong verifier stays
    // `invalid_grant`, below).
    assert_token_error(&reply, 400, "invalid_request");
}

#[tokio::test]
async fn pkce_3_wrong_verifier_is_invalid_grant() {
    let env = Env::start().await;
    let (request, code) = env.web_code("openid").await;
    let mut wrong = request.clone();
    wrong.pkce = Some(Pkce::new());
    let reply = env
        .server
        .redeem(&env.web_auth(), &code, &wrong)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn pkce_3_public_client_wrong_verifier_is_invalid_grant() {
    let env = Env::start().await;
    let request = env.spa_request("openid");
    let browser = env.server.browser().unwrap();
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let mut wrong = request.clone();
    wrong.pkce = Some(Pkce::new());
    let reply = env
        .server
        .redeem(&env.spa_auth(), &response.code, &wrong)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");
}

#[tokio::test]
async fn pkce_5_verifier_syntax_is_enforced() {
    let env = Env::start().await;
    let too_short = "a".repeat(42);
    let too_long = "a".repeat(129);
    let bad_char = format!("{}+", "a".repeat(42));
    for verifier in [too_short, too_long, bad_char] {
        // The challenge matches the verifier, so only the syntax rule can refuse it.
        let mut request = env.web_request("openid");
        request.pkce = Some(Pkce::from_verifier(verifier.clone()));
        let browser = env.server.browser().unwrap();
        let outcome = env
            .server
            .authorize_outcome(
                &browser,
                &request,
                Some((ALICE, ALICE_PASSWORD)),
                Consent::Approve,
            )
            .await
            .unwrap();
        let Outcome::Redirect(location) = outcome else {
            panic!("unexpected page {outcome:?}");
        };
        let Some(code) = query_param(&location, "code") else {
            // Refusing at the authorization endpoint is fine too, with the right code.
            assert_eq!(
                query_param(&location, "error").as_deref(),
                Some("invalid_request")
            );
            continue;
        };
        let reply = env
            .server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap();
        assert_eq!(
            reply.status,
            400,
            "verifier of {} chars accepted",
            verifier.len()
        );
        let error = reply.error().unwrap();
        assert!(
            error == "invalid_grant" || error == "invalid_request",
            "unexpected error {error}"
        );
    }
}

#[tokio::test]
async fn pkce_5_boundary_lengths_are_accepted() {
    let env = Env::start().await;
    for len in [43, 128] {
        let verifier: String = "abcdefghijklmnopqrstuvwxyz0123456789-._~ABCD"
            .chars()
            .cycle()
            .take(len)
            .collect();
        let mut request = env.web_request("openid");
        request.pkce = Some(Pkce::from_verifier(verifier));
        let browser = env.server.browser().unwrap();
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
        assert_token_ok(&reply);
    }
}

#[tokio::test]
async fn pkce_6_rfc7636_known_answer() {
    assert_eq!(
        Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").challenge,
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[tokio::test]
async fn pkce_6_rfc7636_known_answer_end_to_end() {
    let env = Env::start().await;
    let mut request = env.spa_request("openid");
    request.pkce = Some(Pkce::from_verifier(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ));
    let browser = env.server.browser().unwrap();
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .unwrap();
    let reply = env
        .server
        .redeem(&env.spa_auth(), &response.code, &request)
        .await
        .unwrap();
    assert_token_ok(&reply);
}

#[tokio::test]
async fn pkce_4_verifier_for_a_code_issued_without_challenge_is_refused() {
    let env = Env::start_with(
        portcullis_testkit::TestServer::builder().configure(|s| s.require_pkce = false),
    )
    .await;
    // A confidential client may omit PKCE when the server allows it...
    let request = env.web_request("openid").without_pkce();
    let browser = env.server.browser().unwrap();
    let response = env
        .server
        .authorize(&browser, &request, Some((ALICE, ALICE_PASSWORD)))
        .await
        .expect("PKCE optional for confidential clients in this configuration");
    // ...but then a code_verifier at the token endpoint is a downgrade attempt.
    let mut with_verifier = request.clone();
    with_verifier.pkce = Some(Pkce::new());
    let reply = env
        .server
        .redeem(&env.web_auth(), &response.code, &with_verifier)
        .await
        .unwrap();
    assert_token_error(&reply, 400, "invalid_grant");

    // Without a verifier a fresh code redeems normally.
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
    assert_token_ok(&reply);
}

#[tokio::test]
async fn pkce_1_public_clients_need_pkce_even_when_optional_for_others() {
    let env = Env::start_with(
        portcullis_testkit::TestServer::builder().configure(|s| s.require_pkce = false),
    )
    .await;
    let request = env.spa_request("openid").without_pkce();
    expect_authorize_error(&env, &request, "invalid_request").await;
}
