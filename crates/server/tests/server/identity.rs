//! Who the user is inside the token: roles and groups in access tokens limited by the client's
//! release filter (RFC 9068 §2.2.3.1), service-account roles in client-credentials tokens, and
//! the claims each scope releases into ID tokens and userinfo (OIDC Core §5.4), custom scopes
//! included.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::*;
use portcullis_server::admin;
use portcullis_server::config::ClientConfig;
use portcullis_server::store::ReleaseFilter;
use portcullis_types::secret::Password;
use portcullis_types::{ClientSecret, GrantType, GroupName, RoleName};
use serde_json::{Value, json};

fn role(name: &str) -> RoleName {
    RoleName::parse(name).unwrap()
}

/// The claims of a JWT, unverified (the tests here are about what was issued; verification has
/// its own tests).
fn claims(token: &str) -> Value {
    portcullis_jose::dangerous::decode_unverified(token)
        .unwrap()
        .1
}

/// A harness whose `web` client releases `orders:*` roles and all groups and may ask for the
/// `address`, `phone` and custom `hr` scopes; alice holds roles directly and through a group,
/// and has attributes.
async fn identity_harness() -> Harness {
    let h = harness_with(
        |s| {
            s.scope_claims
                .insert("hr".into(), vec!["department".into(), "employee_id".into()]);
        },
        false,
    )
    .await;
    let store = h.store.as_ref();
    let clock = h.clock.as_ref();
    for name in ["orders:read", "orders:write", "payroll:view", "reports:run"] {
        admin::add_role(store, clock, role(name), None)
            .await
            .unwrap();
    }
    admin::add_group(
        store,
        clock,
        GroupName::parse("warehouse").unwrap(),
        vec![role("orders:write")],
    )
    .await
    .unwrap();
    admin::add_user(
        store,
        clock,
        &Default::default(),
        admin::NewUser {
            email: Some("alice@example.com".into()),
            name: Some("Alice".into()),
            roles: vec![role("orders:read"), role("payroll:view")],
            groups: vec![GroupName::parse("warehouse").unwrap()],
            attributes: [
                ("given_name", "Alice"),
                ("family_name", "Liddell"),
                ("locale", "en-GB"),
                ("address.country", "UK"),
                ("phone_number", "+44 1865 000000"),
                ("department", "logistics"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            ..admin::NewUser::new("alice", Password::new(PASSWORD))
        },
    )
    .await
    .unwrap();
    admin::replace_client(
        store,
        clock,
        h.server.config(),
        ClientConfig {
            client_id: "web".into(),
            secret: Some(ClientSecret::new(WEB_SECRET)),
            redirect_uris: vec![WEB_REDIRECT.into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scope: Some("openid profile email address phone hr".into()),
            audience: vec!["orders-api".into()],
            token_roles: ReleaseFilter::Prefix("orders:".into()),
            token_groups: ReleaseFilter::All,
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    h
}

async fn code_flow_tokens(h: &Harness, scope: &str) -> Value {
    let url = format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope={}&state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(WEB_REDIRECT),
        enc(scope)
    );
    let (location, _) = login_and_consent(h, &url).await;
    let code = param(&location, "code").unwrap();
    let resp = redeem(h, &code, VERIFIER).await;
    assert_eq!(resp.status(), 200);
    body_json(resp).await
}

#[tokio::test]
async fn code_flow_access_token_carries_exactly_the_roles_the_client_may_see() {
    let h = identity_harness().await;
    let tokens = code_flow_tokens(&h, "openid profile").await;
    let at = claims(tokens["access_token"].as_str().unwrap());
    // Held directly (orders:read) and through the group (orders:write); payroll:view is the
    // user's too but outside the client's `orders:*` filter.
    assert_eq!(at["roles"], json!(["orders:read", "orders:write"]));
    assert_eq!(at["groups"], json!(["warehouse"]));
    assert_eq!(at["aud"], json!("orders-api"));

    // A refresh re-reads the user: a role taken away is gone from the next access token.
    admin::update_user(
        h.store.as_ref(),
        "alice",
        admin::UserUpdate {
            remove_roles: vec![role("orders:read")],
            ..admin::UserUpdate::default()
        },
    )
    .await
    .unwrap();
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        enc(tokens["refresh_token"].as_str().unwrap())
    );
    let resp = send(
        &h.router,
        form_with(
            "/token",
            &body,
            &[("authorization", &basic("web", WEB_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let refreshed = body_json(resp).await;
    let at = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], json!(["orders:write"]));
}

#[tokio::test]
async fn a_client_releasing_nothing_issues_tokens_without_roles_or_groups() {
    let h = identity_harness().await;
    replace_web(&h, |c| {
        c.grant_types = vec![GrantType::AuthorizationCode];
        c.scope = Some("openid profile".into());
    })
    .await
    .unwrap();
    let tokens = code_flow_tokens(&h, "openid").await;
    let at = claims(tokens["access_token"].as_str().unwrap());
    assert!(at.get("roles").is_none(), "{at}");
    assert!(at.get("groups").is_none(), "{at}");
}

#[tokio::test]
async fn service_account_tokens_carry_the_clients_own_roles() {
    let h = identity_harness().await;
    admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "reporter".into(),
            secret: Some(ClientSecret::new(SVC_SECRET)),
            grant_types: vec![GrantType::ClientCredentials],
            scope: Some("reports".into()),
            roles: vec![role("reports:run")],
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let resp = send(
        &h.router,
        form_with(
            "/token",
            "grant_type=client_credentials",
            &[("authorization", &basic("reporter", SVC_SECRET))],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let at = claims(body_json(resp).await["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], json!(["reports:run"]));
    assert_eq!(at["sub"], json!("reporter"));
}

#[tokio::test]
async fn a_client_with_an_unknown_role_is_refused_and_not_stored() {
    let h = identity_harness().await;
    let err = admin::add_client(
        h.store.as_ref(),
        h.clock.as_ref(),
        h.server.config(),
        ClientConfig {
            client_id: "reporter".into(),
            secret: Some(ClientSecret::new(SVC_SECRET)),
            grant_types: vec![GrantType::ClientCredentials],
            roles: vec![role("no:such")],
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, admin::AdminError::UnknownRole(ref r) if r == "no:such"),
        "{err}"
    );
    assert!(
        admin::list_clients(h.store.as_ref())
            .await
            .unwrap()
            .iter()
            .all(|c| c.client_id != "reporter")
    );
}

#[tokio::test]
async fn id_token_and_userinfo_release_the_claims_of_each_granted_scope() {
    let h = identity_harness().await;
    let tokens = code_flow_tokens(&h, "openid profile address hr").await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["given_name"], json!("Alice"));
    assert_eq!(id["family_name"], json!("Liddell"));
    assert_eq!(id["locale"], json!("en-GB"));
    assert_eq!(id["address"], json!({"country": "UK"}));
    assert_eq!(id["department"], json!("logistics"));
    // Not granted: email and phone.
    assert!(
        id.get("email").is_none() && id.get("phone_number").is_none(),
        "{id}"
    );
    // Roles belong in access tokens, not ID tokens.
    assert!(id.get("roles").is_none(), "{id}");

    let resp = send(
        &h.router,
        get(
            "/userinfo",
            &[(
                "authorization",
                &format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
            )],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let info = body_json(resp).await;
    assert_eq!(info["given_name"], json!("Alice"));
    assert_eq!(info["address"], json!({"country": "UK"}));
    assert_eq!(info["department"], json!("logistics"));
    assert!(info.get("phone_number").is_none(), "{info}");
    assert!(info.get("email").is_none(), "{info}");
}

#[tokio::test]
async fn discovery_lists_the_custom_scopes_and_their_claims() {
    let h = identity_harness().await;
    let doc = body_json(send(&h.router, get("/.well-known/openid-configuration", &[])).await).await;
    let scopes = doc["scopes_supported"].as_array().unwrap();
    for s in ["openid", "profile", "email", "address", "phone", "hr"] {
        assert!(scopes.contains(&json!(s)), "{s} missing from {scopes:?}");
    }
    let claims = doc["claims_supported"].as_array().unwrap();
    for c in [
        "given_name",
        "address",
        "phone_number",
        "department",
        "employee_id",
    ] {
        assert!(claims.contains(&json!(c)), "{c} missing from {claims:?}");
    }
}
