//! Roles through the whole chain: an operator gives a user roles directly and through a group,
//! a client is allowed to see only the `orders:` ones, the user signs in through the code flow,
//! and the orders example, verifying the token locally with the guard, answers `{ user, roles }`
//! with exactly those roles and lets only a holder of `orders:write` create an order.

use crate::common::*;
use orders_api::payments::PaymentsClient;
use orders_api::{AppState, app};
use portcullis_guard::Guard;
use portcullis_guard::jose::time::Clock;
use portcullis_server::admin;
use portcullis_server::config::ClientConfig;
use portcullis_server::store::ReleaseFilter;
use portcullis_testkit::{Tokens, decode_jwt_parts};
use portcullis_types::{ClientSecret, GrantType, GroupName, RoleName};
use serde_json::json;
use std::sync::{Arc, Mutex};

fn role(name: &str) -> RoleName {
    RoleName::parse(name).unwrap()
}

/// The orders example on a random port, trusting `env`'s server.
async fn orders_api(env: &Env) -> url::Url {
    let clock: Arc<dyn Clock> = env.server.clock().clone();
    let guard = Guard::builder()
        .issuer(env.server.issuer())
        .audience(API)
        .clock(clock)
        .background_refresh(false)
        .build()
        .unwrap();
    // Nothing listens on the payments address: an order that passes the role check fails at
    // the payment with 502, which the test tells apart from the guard's 403.
    let payments = PaymentsClient::new(
        "http://127.0.0.1:9",
        env.server.issuer(),
        SERVICE,
        ClientSecret::new(SERVICE_SECRET),
    )
    .unwrap();
    let state = AppState {
        guard,
        payments: Arc::new(payments),
        orders: Arc::new(Mutex::new(Vec::new())),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
    url::Url::parse(&format!("http://{addr}/")).unwrap()
}

#[tokio::test]
async fn code_flow_token_carries_the_visible_roles_and_the_orders_api_answers_with_them() {
    let env = Env::start().await;
    let store = env.server.store().as_ref();
    let clock = env.server.clock().as_ref();
    for name in ["orders:read", "orders:write", "payroll:view"] {
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
    admin::update_user(
        store,
        ALICE,
        admin::UserUpdate {
            add_roles: vec![role("orders:read"), role("payroll:view")],
            add_groups: vec![GroupName::parse("warehouse").unwrap()],
            ..admin::UserUpdate::default()
        },
    )
    .await
    .unwrap();
    admin::replace_client(
        store,
        clock,
        env.server.config(),
        ClientConfig {
            client_id: WEB.into(),
            secret: Some(ClientSecret::new(WEB_SECRET)),
            redirect_uris: vec![WEB_CB.into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scope: Some("openid profile orders:read orders:write".into()),
            audience: vec![API.into()],
            token_roles: ReleaseFilter::Prefix("orders:".into()),
            token_groups: ReleaseFilter::All,
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();

    let (request, code) = env.web_code("openid orders:read orders:write").await;
    let tokens = Tokens::from_reply(
        env.server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap(),
    )
    .unwrap();
    let token = tokens.access_token.clone();
    let (_, claims) = decode_jwt_parts(&token).unwrap();
    assert_eq!(claims["roles"], json!(["orders:read", "orders:write"]));
    assert_eq!(claims["groups"], json!(["warehouse"]));

    let base = orders_api(&env).await;
    let http = env.server.http();
    let listed: serde_json::Value = http
        .get(base.join("api/orders").unwrap())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["user"], json!(env.alice_sub));
    assert_eq!(listed["roles"], json!(["orders:read", "orders:write"]));

    // The write route checks the role: alice holds orders:write (through her group), so the
    // guard lets the request through to the payment step.
    let create = |token: String| {
        let url = base.join("api/orders").unwrap();
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"item": "book", "amount_cents": 1200}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(create(token.clone()).await, 502);

    // Without the group the next token lacks orders:write and the write route refuses it.
    admin::update_user(
        store,
        ALICE,
        admin::UserUpdate {
            remove_groups: vec![GroupName::parse("warehouse").unwrap()],
            ..admin::UserUpdate::default()
        },
    )
    .await
    .unwrap();
    let (request, code) = env.web_code("openid orders:read orders:write").await;
    let tokens = Tokens::from_reply(
        env.server
            .redeem(&env.web_auth(), &code, &request)
            .await
            .unwrap(),
    )
    .unwrap();
    let (_, claims) = decode_jwt_parts(&tokens.access_token).unwrap();
    assert_eq!(claims["roles"], json!(["orders:read"]));
    assert_eq!(create(tokens.access_token.clone()).await, 403);
}
