//! `portcullis users`: adding a user with the password read from stdin, listing users without
//! password hashes, refusing duplicates and empty passwords, removing users, and clearing the
//! login throttle of a user or address (`users unlock`).

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

#[tokio::test]
async fn dos_4_users_unlock_clears_the_account_and_address_counters() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    ok(&portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "alice",
            "--password-stdin",
            "--database",
            &db,
        ],
        "a long enough password\n",
    ));
    // Lock the account and an address the way failed sign-ins do.
    let now = 1_800_000_000;
    let store = portcullis_server::store::connect(&db).await.unwrap();
    for _ in 0..6 {
        store
            .register_attempt("user:alice", now, 900)
            .await
            .unwrap();
        store
            .register_attempt("addr:127.0.0.1", now, 300)
            .await
            .unwrap();
    }
    let failures = |key: &'static str, window| {
        let store = &store;
        async move { store.login_failures(key, now, window).await.unwrap() }
    };
    assert_eq!(failures("user:alice", 900).await, 6);

    let out = ok(&portcullis(&[
        "users",
        "unlock",
        "--username",
        "alice",
        "--database",
        &db,
    ]));
    assert!(out.contains("user alice unlocked"), "{out}");
    assert_eq!(failures("user:alice", 900).await, 0);
    // Without --address the address keeps its count; with it, it is cleared too.
    assert_eq!(failures("addr:127.0.0.1", 300).await, 6);
    let out = ok(&portcullis(&[
        "users",
        "unlock",
        "--username",
        "alice",
        "--address",
        "127.0.0.1",
        "--database",
        &db,
    ]));
    assert!(out.contains("address 127.0.0.1 unlocked"), "{out}");
    assert_eq!(failures("addr:127.0.0.1", 300).await, 0);

    // An unknown user is an error; a malformed address is refused before anything is done.
    let out = portcullis(&["users", "unlock", "--username", "nobody", "--database", &db]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no user nobody"), "{}", stderr(&out));
    let out = portcullis(&[
        "users",
        "unlock",
        "--username",
        "alice",
        "--address",
        "not-an-ip",
        "--database",
        &db,
    ]);
    assert!(!out.status.success());
}
