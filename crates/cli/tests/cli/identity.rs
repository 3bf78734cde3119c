//! `portcullis roles`, `groups` and the identity options of `users` and `clients`: names are
//! checked, unknown roles or groups are refused with a non-zero exit and nothing written, and
//! removing a role or group takes it from every holder.

use crate::common::*;
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough password\n";

fn show(db: &str, username: &str) -> Value {
    serde_json::from_str(&ok(&portcullis(&[
        "users",
        "show",
        "--username",
        username,
        "--json",
        "--database",
        db,
    ])))
    .unwrap()
}

#[test]
fn roles_and_groups_give_users_their_roles() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    for role in ["orders:read", "orders:write", "payroll:view"] {
        ok(&portcullis(&[
            "roles",
            "add",
            role,
            "--description",
            "test role",
            "--database",
            &db,
        ]));
    }
    let dup = portcullis(&["roles", "add", "orders:read", "--database", &db]);
    fails_with(&dup, "already exists");
    let bad = portcullis(&["roles", "add", "orders:*", "--database", &db]);
    fails_with(&bad, "may hold only");
    let roles: Value = list_json("roles", &db);
    assert_eq!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].clone())
            .collect::<Vec<_>>(),
        [
            json!("orders:read"),
            json!("orders:write"),
            json!("payroll:view")
        ]
    );

    // A group naming an unknown role is refused and not created.
    let out = portcullis(&[
        "groups",
        "add",
        "sales",
        "--role",
        "orders:reed",
        "--database",
        &db,
    ]);
    fails_with(&out, "no role named `orders:reed`");
    assert_eq!(list_json("groups", &db), json!([]));
    ok(&portcullis(&[
        "groups",
        "add",
        "warehouse",
        "--role",
        "orders:write",
        "--database",
        &db,
    ]));

    // A user naming an unknown group is refused and not created.
    let out = portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "ada",
            "--group",
            "nope",
            "--password-stdin",
            "--database",
            &db,
        ],
        PASSWORD,
    );
    fails_with(&out, "no group named `nope`");
    assert_eq!(list_json("users", &db), json!([]));

    ok(&portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "ada",
            "--role",
            "orders:read",
            "--group",
            "warehouse",
            "--attr",
            "given_name=Ada",
            "--attr",
            "address.country=UK",
            "--attr",
            "note=a=b",
            "--password-stdin",
            "--database",
            &db,
        ],
        PASSWORD,
    ));
    let ada = show(&db, "ada");
    assert_eq!(ada["roles"], json!(["orders:read"]));
    assert_eq!(ada["groups"], json!(["warehouse"]));
    assert_eq!(
        ada["effective_roles"],
        json!(["orders:read", "orders:write"])
    );
    assert_eq!(
        ada["attributes"],
        json!({"given_name": "Ada", "address.country": "UK", "note": "a=b"})
    );

    // update: an unknown role changes nothing; then add, remove and unset.
    let out = portcullis(&[
        "users",
        "update",
        "--username",
        "ada",
        "--add-role",
        "payroll:view",
        "--add-role",
        "x:y",
        "--database",
        &db,
    ]);
    fails_with(&out, "no role named `x:y`");
    assert_eq!(show(&db, "ada")["roles"], json!(["orders:read"]));
    ok(&portcullis(&[
        "users",
        "update",
        "--username",
        "ada",
        "--add-role",
        "payroll:view",
        "--remove-role",
        "orders:read",
        "--unset-attr",
        "note",
        "--attr",
        "locale=en-GB",
        "--name",
        "Ada L.",
        "--database",
        &db,
    ]));
    let ada = show(&db, "ada");
    assert_eq!(ada["roles"], json!(["payroll:view"]));
    assert_eq!(ada["name"], "Ada L.");
    assert_eq!(
        ada["attributes"],
        json!({"given_name": "Ada", "address.country": "UK", "locale": "en-GB"})
    );
    let out = portcullis(&[
        "users",
        "update",
        "--username",
        "ada",
        "--attr",
        "sub=evil",
        "--database",
        &db,
    ]);
    fails_with(&out, "attribute `sub`");
    let out = portcullis(&[
        "users",
        "update",
        "--username",
        "nobody",
        "--name",
        "X",
        "--database",
        &db,
    ]);
    fails_with(&out, "no user `nobody`");

    // Removing a role or a group takes it from its holders.
    ok(&portcullis(&[
        "roles",
        "remove",
        "orders:write",
        "--database",
        &db,
    ]));
    assert_eq!(show(&db, "ada")["effective_roles"], json!(["payroll:view"]));
    assert_eq!(list_json("groups", &db)[0]["roles"], json!([]));
    ok(&portcullis(&[
        "groups",
        "remove",
        "warehouse",
        "--database",
        &db,
    ]));
    assert_eq!(show(&db, "ada")["groups"], json!([]));
    fails_with(
        &portcullis(&["roles", "remove", "orders:write", "--database", &db]),
        "no role",
    );
    fails_with(
        &portcullis(&["groups", "remove", "warehouse", "--database", &db]),
        "no group",
    );
}

#[test]
fn clients_take_service_account_roles_and_release_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let base = [
        "clients",
        "add",
        "--id",
        "reporter",
        "--secret",
        "reporter-secret-0123456789",
        "--grant-types",
        "client_credentials",
    ];
    let with = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--database", &db]);
        portcullis(&args)
    };
    fails_with(
        &with(&["--role", "reports:run"]),
        "no role named `reports:run`",
    );
    assert_eq!(list_json("clients", &db), json!([]));
    fails_with(&with(&["--token-roles", "orders"]), "prefix ending in `*`");
    ok(&portcullis(&[
        "roles",
        "add",
        "reports:run",
        "--database",
        &db,
    ]));
    ok(&with(&[
        "--role",
        "reports:run",
        "--token-roles",
        "orders:*",
        "--token-groups",
        "all",
    ]));
    let client = &list_json("clients", &db)[0];
    assert_eq!(client["roles"], json!(["reports:run"]));
    assert_eq!(client["token_roles"], "orders:*");
    assert_eq!(client["token_groups"], "all");
}
