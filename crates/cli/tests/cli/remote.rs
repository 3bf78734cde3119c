//! `--server URL`: the management commands through a running server's admin API, with the
//! token from `PORTCULLIS_ADMIN_TOKEN`: the same output as on the database, the effect visible
//! there, and clear errors for a token without the admin role and an unreachable server.

use crate::admin_api::{Admin, printed_secret};
use crate::common::*;
use serde_json::{Value, json};
use std::process::Output;

/// `portcullis args --server API` with `token` in `PORTCULLIS_ADMIN_TOKEN`.
fn remote(admin: &Admin, token: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--server", &admin.api]);
    portcullis_with(&all, &[("PORTCULLIS_ADMIN_TOKEN", Some(token))])
}

#[tokio::test]
async fn clients_are_added_listed_and_removed_through_the_admin_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let out = ok(&remote(
        &admin,
        &token,
        &[
            "clients",
            "add",
            "--id",
            "reports",
            "--generate-secret",
            "--grant-types",
            "client_credentials",
            "--scope",
            "reports:read",
            "--audience",
            "reports-api",
        ],
    ));
    assert!(
        out.starts_with(
            "client reports registered (client_secret_basic, grants: client_credentials)"
        ),
        "{out}"
    );
    let secret = printed_secret(&out);
    // The new client gets tokens from the server.
    assert_eq!(
        client_credentials_status(&admin.issuer, "reports", &secret, None).await,
        200
    );

    // The database and the API list the same clients the same way, as JSON and as text.
    let from_db = list_json("clients", &admin.db);
    let from_api: Value =
        serde_json::from_str(&ok(&remote(&admin, &token, &["clients", "list", "--json"]))).unwrap();
    assert_eq!(from_api, from_db);
    let reports = from_api
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "reports")
        .unwrap();
    assert_eq!(reports["audience"], json!(["reports-api"]));
    assert_eq!(
        ok(&remote(&admin, &token, &["clients", "list"])),
        ok(&portcullis(&["clients", "list", "--database", &admin.db]))
    );

    // A taken id is refused with the API's message; --replace overwrites it.
    let taken = remote(
        &admin,
        &token,
        &[
            "clients",
            "add",
            "--id",
            "reports",
            "--public",
            "--redirect-uri",
            "https://reports.example/cb",
        ],
    );
    fails_with(&taken, "--replace");
    let out = ok(&remote(
        &admin,
        &token,
        &[
            "clients",
            "add",
            "--id",
            "reports",
            "--public",
            "--redirect-uri",
            "https://reports.example/cb",
            "--replace",
        ],
    ));
    assert!(out.starts_with("client reports replaced (none, "), "{out}");
    assert!(!out.contains("client_secret"), "{out}");

    let out = ok(&remote(
        &admin,
        &token,
        &["clients", "remove", "--id", "reports"],
    ));
    assert_eq!(out.trim(), "client reports removed");
    let listed = list_json("clients", &admin.db);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["client_id"] != "reports"),
        "{listed}"
    );
    fails_with(
        &remote(&admin, &token, &["clients", "remove", "--id", "reports"]),
        "no client `reports`",
    );
}

#[tokio::test]
async fn a_token_without_the_admin_role_is_forbidden() {
    let admin = Admin::start().await;
    let secret = admin.add_client("no-role", "admin:clients:read", false);
    let token = admin.token("no-role", &secret).await;
    let out = remote(&admin, &token, &["clients", "list"]);
    fails_with(&out, "forbidden");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // The token is not echoed.
    assert!(!stderr(&out).contains(&token), "{}", stderr(&out));

    let out = remote(&admin, "not-a-token", &["clients", "list"]);
    fails_with(&out, "unauthorized");
}

#[test]
fn an_unreachable_server_or_a_missing_token_is_a_clear_error() {
    let api = format!("http://127.0.0.1:{}", free_port());
    let out = portcullis_with(
        &["clients", "list", "--server", &api],
        &[("PORTCULLIS_ADMIN_TOKEN", Some("some-token"))],
    );
    fails_with(&out, &format!("cannot reach the admin API at {api}"));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    let out = portcullis(&["clients", "list", "--server", &api]);
    fails_with(&out, "PORTCULLIS_ADMIN_TOKEN");
}
