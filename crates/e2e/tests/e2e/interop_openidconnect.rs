//! Interoperability: the independent `openidconnect` crate discovers the server, runs the code
//! flow with PKCE, verifies the ID token (signature, nonce, at_hash), refreshes and calls userinfo.

use crate::common::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use portcullis_testkit::{Consent, query_param};

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        // Following redirects would expose the client to SSRF; the crate's docs require this.
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn run_flow(env: &Env, client_id: &str, secret: Option<&str>, redirect: &str) {
    let http = http_client();
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(env.server.issuer().to_owned()).unwrap(),
        &http,
    )
    .await
    .expect("discovery accepted by openidconnect");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("offline_access".to_owned()))
        .set_pkce_challenge(challenge)
        .url();

    // The login and consent pages are HTML: the scripted browser fills them in.
    let browser = env.server.browser().unwrap();
    let redirect_back = browser
        .walk(&auth_url, Some((ALICE, ALICE_PASSWORD)), Consent::Approve)
        .await
        .unwrap()
        .redirect()
        .unwrap();
    assert_eq!(
        query_param(&redirect_back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&redirect_back, "iss").as_deref(),
        Some(env.server.issuer())
    );
    let code = query_param(&redirect_back, "code").expect("code");

    let token_response = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange accepted by openidconnect");

    let id_token = token_response.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), env.alice_sub);
    assert_eq!(claims.issuer().as_str(), env.server.issuer());
    let expected_hash = claims.access_token_hash().expect("at_hash present");
    let actual_hash = AccessTokenHash::from_token(
        token_response.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual_hash, expected_hash);
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );

    let userinfo: CoreUserInfoClaims = client
        .user_info(
            token_response.access_token().to_owned(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo accepted by openidconnect");
    assert_eq!(userinfo.subject(), claims.subject());
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );

    let refresh = token_response.refresh_token().expect("a refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh accepted by openidconnect");
    let rotated = refreshed.refresh_token().expect("rotated refresh token");
    assert_ne!(rotated.secret(), refresh.secret());
    // The old refresh token is now refused, as the crate sees it too.
    let reuse = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(reuse.is_err(), "a rotated refresh token was accepted");
}

#[tokio::test]
async fn interop_openidconnect_confidential_client() {
    let env = Env::start().await;
    run_flow(&env, WEB, Some(WEB_SECRET), WEB_CB).await;
}

#[tokio::test]
async fn interop_openidconnect_public_client() {
    let env = Env::start().await;
    run_flow(&env, SPA, None, SPA_CB).await;
}
