//! `portcullis users`: adding a user with the password read from stdin, listing users without
//! password hashes, refusing duplicates and empty passwords, and removing users.

use crate::common::*;
use serde_json::{Value, json};

#[test]
fn users_add_with_password_stdin_list_remove() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let out = portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice",
            "--password-stdin",
            "--database",
            &db,
        ],
        "a long enough password\n",
    );
    let text = ok(&out);
    assert!(text.contains("alice"));
    assert!(!text.contains("a long enough password"));
    let listed: Value = list_json("users", &db);
    let users = listed.as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[0]["email"], "alice@example.com");
    assert_eq!(users[0]["name"], "Alice");
    assert!(users[0].get("password_hash").is_none());
    // Duplicate username.
    let dup = portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "alice",
            "--password-stdin",
            "--database",
            &db,
        ],
        "another password\n",
    );
    assert!(!dup.status.success());
    // Empty password.
    let empty = portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "bob",
            "--password-stdin",
            "--database",
            &db,
        ],
        "\n",
    );
    assert!(!empty.status.success());
    ok(&portcullis(&[
        "users",
        "remove",
        "--username",
        "alice",
        "--database",
        &db,
    ]));
    let listed: Value = list_json("users", &db);
    assert_eq!(listed, json!([]));
}
