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

fn add_alice(db: &str) {
    ok(&portcullis_stdin(
        &[
            "users",
            "add",
            "--username",
            "alice",
            "--password-stdin",
            "--database",
            db,
        ],
        "a long enough password\n",
    ));
}

/// Runs `users <command> --username <username>` without Redis.
fn account_command(command: &str, username: &str, db: &str) -> std::process::Output {
    portcullis_with(
        &["users", command, "--username", username, "--database", db],
        &[("PORTCULLIS_REDIS_URL", None)],
    )
}

/// A live grant with a recorded access token, and a browser session, for alice.
async fn seed_sign_in(store: &dyn portcullis_server::store::Store, sub: &str, now: i64) {
    store
        .insert_grant(portcullis_server::store::GrantRecord {
            id: "grant-1".into(),
            client_id: "web".into(),
            user_id: sub.into(),
            scope: portcullis_types::Scope::parse("openid").unwrap(),
            auth_time: now,
            sid: None,
            created_at: now,
            revoked_at: None,
        })
        .await
        .unwrap();
    store
        .record_access_token("jti-1", "grant-1", now + 900)
        .await
        .unwrap();
    store
        .insert_session(portcullis_server::store::SessionRecord {
            id_hash: "session-1".into(),
            user_id: sub.into(),
            auth_time: now,
            created_at: now,
            expires_at: now + 3_600,
            upstream: None,
            sid: None,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn rt_8_users_revoke_tokens_revokes_grants_sessions_and_earlier_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    add_alice(&db);
    let store = portcullis_server::store::connect(&db).await.unwrap();
    let user = store.get_user_by_username("alice").await.unwrap().unwrap();
    // The records carry real times: the command reads the system clock.
    let now = i64::try_from(
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    seed_sign_in(store.as_ref(), user.id.as_str(), now).await;

    let out = ok(&account_command("revoke-tokens", "alice", &db));
    assert!(out.contains("1 grant(s) revoked"), "{out}");
    assert!(out.contains("1 browser session(s) ended"), "{out}");
    assert!(out.contains("no Redis configured"), "{out}");
    let grant = store.get_grant("grant-1").await.unwrap().unwrap();
    assert!(grant.revoked_at.is_some());
    assert!(store.is_jti_revoked("jti-1", now).await.unwrap());
    assert!(store.get_session("session-1", now).await.unwrap().is_none());
    let after = store.get_user(user.id.as_str()).await.unwrap().unwrap();
    assert!(after.tokens_not_before.is_some_and(|nb| nb >= now));
    assert!(!after.disabled);
    // Nothing left to revoke the second time.
    let out = ok(&account_command("revoke-tokens", "alice", &db));
    assert!(out.contains("0 grant(s) revoked"), "{out}");

    let out = account_command("revoke-tokens", "nobody", &db);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no user nobody"), "{}", stderr(&out));
}

#[tokio::test]
async fn tok_13_users_disable_and_enable() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    add_alice(&db);
    let store = portcullis_server::store::connect(&db).await.unwrap();
    let user = store.get_user_by_username("alice").await.unwrap().unwrap();
    seed_sign_in(store.as_ref(), user.id.as_str(), 1_800_000_000).await;

    let out = ok(&account_command("disable", "alice", &db));
    assert!(out.contains("user alice disabled"), "{out}");
    assert!(out.contains("1 grant(s) revoked"), "{out}");
    let stored = store.get_user(user.id.as_str()).await.unwrap().unwrap();
    assert!(stored.disabled);
    assert!(stored.tokens_not_before.is_some());
    assert!(
        store
            .get_grant("grant-1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    let out = ok(&account_command("enable", "alice", &db));
    assert!(out.contains("user alice enabled"), "{out}");
    assert!(
        !store
            .get_user(user.id.as_str())
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    let out = ok(&account_command("enable", "alice", &db));
    assert!(out.contains("was not disabled"), "{out}");
    for command in ["disable", "enable"] {
        let out = account_command(command, "nobody", &db);
        assert!(!out.status.success(), "{command}");
        assert!(stderr(&out).contains("no user nobody"), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn rt_9_users_set_password_from_stdin_signs_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    add_alice(&db);
    let store = portcullis_server::store::connect(&db).await.unwrap();
    let before = store.get_user_by_username("alice").await.unwrap().unwrap();
    seed_sign_in(store.as_ref(), before.id.as_str(), 1_800_000_000).await;
    let set = |username: &str, input: &str| {
        portcullis_stdin(
            &[
                "users",
                "set-password",
                "--username",
                username,
                "--password-stdin",
                "--database",
                &db,
            ],
            input,
        )
    };
    // Too short: refused, nothing changed.
    let out = set("alice", "short\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("at least 8"), "{}", stderr(&out));
    let unchanged = store.get_user(before.id.as_str()).await.unwrap().unwrap();
    assert_eq!(unchanged.password_hash, before.password_hash);

    let out = set("alice", "another long password\n");
    let text = ok(&out);
    assert!(text.contains("password changed"), "{text}");
    assert!(text.contains("1 grant(s) revoked"), "{text}");
    assert!(!text.contains("another long password"));
    let after = store.get_user(before.id.as_str()).await.unwrap().unwrap();
    assert_ne!(after.password_hash, before.password_hash);
    assert!(after.password_hash.starts_with("$argon2id$"));

    let out = set("nobody", "another long password\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no user nobody"), "{}", stderr(&out));
}

#[test]
fn account_commands_explain_themselves() {
    for (command, phrase) in [
        ("revoke-tokens", "Sign a user out everywhere"),
        ("disable", "Disable a user"),
        ("enable", "Enable a disabled user"),
        ("set-password", "Set a user's password"),
    ] {
        let text = ok(&portcullis(&["users", command, "--help"]));
        assert!(text.contains(phrase), "{command}: {text}");
        assert!(text.contains("--username"), "{command}: {text}");
    }
}

/// `users add` and `users set-password` hold the password to the configured policy and print
/// why they refuse one: too short for `[password_policy] min_length`, or on the common list.
#[test]
fn users_add_and_set_password_print_the_policy_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let config = dir.path().join("portcullis.toml");
    std::fs::write(
        &config,
        "version = 1\n[keys]\nallow_plaintext = true\n[password_policy]\nmin_length = 12\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let add = |password: &str| {
        portcullis_stdin(
            &[
                "users",
                "add",
                "--username",
                "carol",
                "--password-stdin",
                "--config",
                &config,
                "--database",
                &db,
            ],
            &format!("{password}\n"),
        )
    };
    let out = add("eleven char");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("at least 12 characters"),
        "{}",
        stderr(&out)
    );
    let out = add("Password1234");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("too common"), "{}", stderr(&out));
    let out = add("carol");
    assert!(stderr(&out).contains("at least 12"), "{}", stderr(&out));
    ok(&add("a twelve+ character passphrase"));
    let out = portcullis_stdin(
        &[
            "users",
            "set-password",
            "--username",
            "carol",
            "--password-stdin",
            "--config",
            &config,
            "--database",
            &db,
        ],
        "Telechargement\n",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("too common"), "{}", stderr(&out));
}
