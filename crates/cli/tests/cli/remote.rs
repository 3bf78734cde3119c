//! `--server URL`: the management commands through a running server's admin API, with the
//! token from `PORTCULLIS_ADMIN_TOKEN`: the same output as on the database, the effect visible
//! there, and clear errors for a token without the admin role and an unreachable server.

use crate::admin_api::{Admin, printed_secret, published_kids};
use crate::common::*;
use serde_json::{Value, json};
use std::process::Output;

/// `portcullis args --server API` with `token` in `PORTCULLIS_ADMIN_TOKEN`.
pub(crate) fn remote(admin: &Admin, token: &str, args: &[&str]) -> Output {
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

/// The output of `args` on the database and through the API with `token`, which must agree.
pub(crate) fn same_both_ways(admin: &Admin, token: &str, args: &[&str]) -> String {
    let mut on_db = args.to_vec();
    on_db.extend(["--database", &admin.db]);
    let from_db = ok(&portcullis(&on_db));
    assert_eq!(ok(&remote(admin, token, args)), from_db, "{args:?}");
    from_db
}

#[tokio::test]
async fn users_are_managed_through_the_admin_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let with_token = [("PORTCULLIS_ADMIN_TOKEN", Some(token.as_str()))];
    let out = ok(&portcullis_stdin_with(
        &[
            "users",
            "add",
            "--username",
            "ada",
            "--password-stdin",
            "--email",
            "ada@example.com",
            "--attr",
            "given_name=Ada",
            "--server",
            &admin.api,
        ],
        "correct horse battery staple\n",
        &with_token,
    ));
    assert!(out.starts_with("user ada created (sub "), "{out}");

    same_both_ways(&admin, &token, &["users", "list"]);
    let listed: Value = serde_json::from_str(&same_both_ways(
        &admin,
        &token,
        &["users", "list", "--json"],
    ))
    .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "ada"),
        "{listed}"
    );

    let out = ok(&remote(
        &admin,
        &token,
        &[
            "users",
            "update",
            "--username",
            "ada",
            "--name",
            "Ada Lovelace",
            "--attr",
            "department=engines",
        ],
    ));
    assert!(out.starts_with("user ada updated"), "{out}");
    same_both_ways(&admin, &token, &["users", "show", "--username", "ada"]);
    let shown: Value = serde_json::from_str(&same_both_ways(
        &admin,
        &token,
        &["users", "show", "--username", "ada", "--json"],
    ))
    .unwrap();
    assert_eq!(shown["name"], "Ada Lovelace");
    assert_eq!(shown["attributes"]["department"], "engines");
    assert_eq!(shown["disabled"], false);

    let out = ok(&remote(
        &admin,
        &token,
        &["users", "disable", "--username", "ada"],
    ));
    assert!(
        out.starts_with("user ada disabled\nuser ada: 0 grant(s) revoked"),
        "{out}"
    );
    let shown = serde_json::from_str::<Value>(&ok(&portcullis(&[
        "users",
        "show",
        "--username",
        "ada",
        "--json",
        "--database",
        &admin.db,
    ])))
    .unwrap();
    assert_eq!(shown["disabled"], true);
    let out = ok(&remote(
        &admin,
        &token,
        &["users", "enable", "--username", "ada"],
    ));
    assert_eq!(out.trim(), "user ada enabled");
    let out = ok(&remote(
        &admin,
        &token,
        &["users", "enable", "--username", "ada"],
    ));
    assert_eq!(out.trim(), "user ada was not disabled");

    let out = ok(&remote(
        &admin,
        &token,
        &["users", "unlock", "--username", "ada"],
    ));
    assert_eq!(out.trim(), "user ada unlocked");
    let out = ok(&remote(
        &admin,
        &token,
        &["users", "revoke-tokens", "--username", "ada"],
    ));
    assert!(out.starts_with("user ada: 0 grant(s) revoked"), "{out}");
    fails_with(
        &remote(
            &admin,
            &token,
            &[
                "users",
                "set-password",
                "--username",
                "ada",
                "--password-stdin",
            ],
        ),
        "not available with --server",
    );

    let out = ok(&remote(
        &admin,
        &token,
        &["users", "remove", "--username", "ada"],
    ));
    assert_eq!(out.trim(), "user ada removed");
    fails_with(
        &portcullis(&[
            "users",
            "show",
            "--username",
            "ada",
            "--database",
            &admin.db,
        ]),
        "no user ada",
    );
    fails_with(
        &remote(&admin, &token, &["users", "remove", "--username", "ada"]),
        "no user `ada`",
    );
}

#[tokio::test]
async fn roles_and_groups_are_managed_through_the_admin_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let out = ok(&remote(
        &admin,
        &token,
        &[
            "roles",
            "add",
            "reports:run",
            "--description",
            "Run reports",
        ],
    ));
    assert_eq!(out.trim(), "role reports:run created");
    let out = ok(&remote(
        &admin,
        &token,
        &["groups", "add", "analysts", "--role", "reports:run"],
    ));
    assert_eq!(out.trim(), "group analysts created");
    for what in ["roles", "groups"] {
        same_both_ways(&admin, &token, &[what, "list"]);
        same_both_ways(&admin, &token, &[what, "list", "--json"]);
    }
    let groups = list_json("groups", &admin.db);
    let analysts = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "analysts")
        .unwrap();
    assert_eq!(analysts["roles"], json!(["reports:run"]));
    // A group with a role that does not exist is refused with the API's message.
    fails_with(
        &remote(&admin, &token, &["groups", "add", "x", "--role", "missing"]),
        "missing",
    );

    let out = ok(&remote(&admin, &token, &["groups", "remove", "analysts"]));
    assert_eq!(out.trim(), "group analysts removed (its members left it)");
    let out = ok(&remote(&admin, &token, &["roles", "remove", "reports:run"]));
    assert_eq!(
        out.trim(),
        "role reports:run removed (and taken from every holder)"
    );
    let roles = list_json("roles", &admin.db);
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"] != "reports:run"),
        "{roles}"
    );
    assert!(
        list_json("groups", &admin.db)
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "analysts")
    );
}

#[tokio::test]
async fn keys_are_listed_and_rotated_through_the_admin_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    same_both_ways(&admin, &token, &["keys", "list"]);
    same_both_ways(&admin, &token, &["keys", "list", "--json"]);
    let before = published_kids(&admin.issuer).await;

    let out = ok(&remote(&admin, &token, &["keys", "rotate", "--now"]));
    let new: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("published "))
        .map(str::to_owned)
        .collect();
    assert!(!new.is_empty(), "{out}");
    assert!(
        out.contains("new keys sign now (each node from its next key reload, within "),
        "{out}"
    );
    // The server that rotated publishes the new keys at once, beside the old ones.
    let after = published_kids(&admin.issuer).await;
    for kid in &new {
        assert!(!before.contains(kid), "{kid} was published before");
        assert!(after.contains(kid), "{kid} is not published: {after:?}");
    }
    assert!(before.is_subset(&after));
    let listed = list_json("keys", &admin.db);
    for kid in &new {
        assert!(
            listed.as_array().unwrap().iter().any(|k| k["kid"] == *kid),
            "{listed}"
        );
    }
    same_both_ways(&admin, &token, &["keys", "list", "--json"]);
    // Re-encrypting has no API operation.
    let out = portcullis(&["keys", "rewrap", "--server", &admin.api]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn upstreams_are_listed_and_removed_through_the_admin_api() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    ok(&portcullis_stdin(
        &[
            "upstreams",
            "add",
            "--id",
            "corp",
            "--kind",
            "oidc",
            "--issuer",
            "https://idp.example",
            "--client-id",
            "portcullis",
            "--client-secret-stdin",
            "--trust-email",
            "--database",
            &admin.db,
        ],
        "upstream-secret-value\n",
    ));
    let table = same_both_ways(&admin, &token, &["upstreams", "list"]);
    assert!(
        table.contains("corp") && table.contains("trust_email"),
        "{table}"
    );
    let listed = same_both_ways(&admin, &token, &["upstreams", "list", "--json"]);
    assert!(!listed.contains("upstream-secret-value"), "{listed}");

    let out = ok(&remote(&admin, &token, &["upstreams", "remove", "corp"]));
    assert_eq!(out.trim(), "upstream corp removed (its account links too)");
    assert_eq!(list_json("upstreams", &admin.db), json!([]));
    fails_with(
        &remote(&admin, &token, &["upstreams", "remove", "corp"]),
        "corp",
    );
}

#[tokio::test]
async fn the_admin_clients_credentials_get_the_token() {
    let admin = Admin::start().await;
    let run = |secret: &str| {
        command(&[
            ("PORTCULLIS_ADMIN_CLIENT_ID", Some("ops")),
            ("PORTCULLIS_ADMIN_CLIENT_SECRET", Some(secret)),
            ("PORTCULLIS_ISSUER", Some(&admin.issuer)),
            ("RUST_LOG", Some("warn")),
        ])
        .args(["clients", "list", "--json", "--server", &admin.api])
        .env_remove("PORTCULLIS_DATABASE_URL")
        .env_remove("PORTCULLIS_CONFIG")
        .output()
        .unwrap()
    };
    let listed: Value = serde_json::from_str(&ok(&run(&admin.secret))).unwrap();
    assert_eq!(listed, list_json("clients", &admin.db));

    let out = run("a-wrong-secret-of-some-length");
    fails_with(&out, "refused the admin client ops");
    assert!(!stderr(&out).contains("a-wrong-secret"), "{}", stderr(&out));
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
