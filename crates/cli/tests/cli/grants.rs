//! The device authorization and token-exchange grants, enabled by `clients add` flags and by
//! the config file, answering on a running server.

use crate::common::*;
use serde_json::{Value, json};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Device authorization, then one poll that must answer `authorization_pending`.
async fn device_starts(base: &str, client_id: &str) -> Value {
    let http = reqwest::Client::new();
    let reply = http
        .post(format!("{base}/device_authorization"))
        .form(&[("client_id", client_id), ("scope", "orders:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.unwrap();
    let device_code = body["device_code"].as_str().unwrap();
    let poll = http
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), 400);
    let err: Value = poll.json().await.unwrap();
    assert_eq!(err["error"], "authorization_pending");
    body
}

/// A client-credentials token of `id`, exchanged (without actor) for `audience`.
async fn exchange_own_token(base: &str, id: &str, secret: &str, audience: &str) -> (u16, Value) {
    let http = reqwest::Client::new();
    let own: Value = http
        .post(format!("{base}/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subject = own["access_token"].as_str().unwrap();
    let reply = http
        .post(format!("{base}/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", EXCHANGE_GRANT),
            ("subject_token", subject),
            ("subject_token_type", AT_TYPE),
            ("audience", audience),
        ])
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap())
}

#[tokio::test]
async fn clients_add_enables_device_and_token_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "tv",
        "--public",
        "--grant-types",
        DEVICE_GRANT,
        "--scope",
        "orders:read",
        "--database",
        &db,
    ]));
    let grants = format!("client_credentials,{EXCHANGE_GRANT}");
    ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "orders-api",
        "--secret",
        "orders-api-secret-0123456789",
        "--grant-types",
        &grants,
        "--scope",
        "orders:read",
        "--audience",
        "orders-api",
        "--exchange-audience",
        "payments-api",
        "--exchange-audience",
        "ledger-api",
        "--exchange-impersonation",
        "--database",
        &db,
    ]));
    let listed: Value = list_json("clients", &db);
    let orders = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "orders-api")
        .unwrap();
    assert_eq!(
        orders["exchange_audiences"],
        json!(["payments-api", "ledger-api"])
    );
    assert_eq!(orders["exchange_impersonation"], true);
    assert_eq!(
        orders["grant_types"],
        json!(["client_credentials", EXCHANGE_GRANT])
    );
    // A public client cannot exchange tokens.
    let refused = portcullis(&[
        "clients",
        "add",
        "--id",
        "spa",
        "--public",
        "--grant-types",
        EXCHANGE_GRANT,
        "--database",
        &db,
    ]);
    assert!(!refused.status.success());

    let served = serve(&[], dir.path()).await;
    let device = device_starts(&served.base, "tv").await;
    assert_eq!(
        device["verification_uri"],
        format!("{}/device", served.base)
    );
    let (status, body) = exchange_own_token(
        &served.base,
        "orders-api",
        "orders-api-secret-0123456789",
        "payments-api",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], AT_TYPE);
    let (status, body) = exchange_own_token(
        &served.base,
        "orders-api",
        "orders-api-secret-0123456789",
        "admin-api",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_target");
}

#[tokio::test]
async fn config_file_enables_device_and_token_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
version = 1
[tokens]
device_code_ttl = 300
device_poll_interval = 7
[[clients]]
id = "tv"
public = true
grant_types = ["{DEVICE_GRANT}"]
scope = "orders:read"
[[clients]]
id = "orders-api"
secret_env = "ORDERS_SECRET_FOR_TEST"
grant_types = ["client_credentials", "{EXCHANGE_GRANT}"]
scope = "orders:read"
audience = ["orders-api"]
exchange_audiences = ["payments-api"]
exchange_impersonation = true
"#
    );
    let (served, _db) = serve_config_file(
        dir.path(),
        &toml,
        &[("ORDERS_SECRET_FOR_TEST", "orders-api-secret-0123456789")],
    )
    .await;
    let device = device_starts(&served.base, "tv").await;
    assert_eq!(device["expires_in"], 300);
    assert_eq!(device["interval"], 7);
    let (status, body) = exchange_own_token(
        &served.base,
        "orders-api",
        "orders-api-secret-0123456789",
        "payments-api",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
