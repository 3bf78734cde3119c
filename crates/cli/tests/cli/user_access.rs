//! A user's browser sessions and grants, listed and ended one at a time, and a client's secret
//! rotated with an overlap: through the admin API, and through the CLI on the database and with
//! `--server`, which print the same.

use crate::admin_api::{Admin, printed_secret};
use crate::common::*;
use crate::remote::{remote, same_both_ways};
use portcullis_server::store::{
    ConsentStore as _, GrantRecord, SessionRecord, SessionStore as _, Store,
};
use serde_json::{Value, json};

/// Far in the future, so the seeded sessions are live whatever the clock says.
const LATE: i64 = 4_000_000_000;

fn session(id: &str, sub: &str, expires_at: i64) -> SessionRecord {
    SessionRecord {
        id_hash: id.into(),
        user_id: sub.into(),
        auth_time: 1_700_000_000,
        created_at: 1_700_000_000,
        expires_at,
        upstream: None,
        sid: Some(format!("sid-of-{id}")),
    }
}

fn grant(id: &str, sub: &str, session: &str, scope: &str) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        client_id: "demo-app".into(),
        user_id: sub.into(),
        scope: portcullis_types::Scope::parse(scope).unwrap(),
        auth_time: 1_700_000_000,
        sid: Some(format!("sid-of-{session}")),
        created_at: 1_700_000_000,
        revoked_at: None,
    }
}

async fn revoked(store: &dyn Store, grant: &str) -> bool {
    store
        .get_grant(grant)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some()
}

/// `gia` with two browser sessions, grants issued in them, and a consent for demo-app; her sub.
async fn seed(admin: &Admin, token: &str, store: &dyn Store) -> String {
    let created = admin
        .expect(
            201,
            "POST",
            "/admin/v1/users",
            Some(token),
            Some(json!({"username": "gia", "password": "correct-horse-battery-staple"})),
        )
        .await;
    let sub = created["sub"].as_str().unwrap().to_owned();
    store
        .insert_session(session("s-new", &sub, LATE))
        .await
        .unwrap();
    store
        .insert_session(session("s-old", &sub, LATE - 600))
        .await
        .unwrap();
    store
        .insert_grant(grant("g-web", &sub, "s-new", "openid"))
        .await
        .unwrap();
    store
        .insert_grant(grant("g-offline", &sub, "s-new", "openid offline_access"))
        .await
        .unwrap();
    store
        .insert_grant(grant("g-other", &sub, "s-old", "openid"))
        .await
        .unwrap();
    store
        .put_consent(&sub, "demo-app", "openid", 1_700_000_000)
        .await
        .unwrap();
    sub
}

/// Ending one session signs out only that browser and revokes the grants issued in it (not
/// offline_access ones); another user's session is not found; the same listing both ways.
#[tokio::test]
async fn sessions_are_listed_and_ended_one_by_one_through_the_api_and_the_cli() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let store = portcullis_server::store::sqlite::SqliteStore::connect(&admin.db)
        .await
        .unwrap();
    let sub = seed(&admin, &token, &store).await;
    store
        .insert_session(session("s-someone-else", "another-user", LATE))
        .await
        .unwrap();

    let path = "/admin/v1/users/gia/sessions";
    let listed = admin.expect(200, "GET", path, Some(&token), None).await;
    assert_eq!(
        listed,
        json!([
            {"id": "s-new", "auth_time": 1_700_000_000, "created_at": 1_700_000_000, "expires_at": LATE},
            {"id": "s-old", "auth_time": 1_700_000_000, "created_at": 1_700_000_000, "expires_at": LATE - 600},
        ])
    );
    let json_out = same_both_ways(
        &admin,
        &token,
        &["users", "sessions", "--username", "gia", "--json"],
    );
    assert_eq!(serde_json::from_str::<Value>(&json_out).unwrap(), listed);
    let text = same_both_ways(&admin, &token, &["users", "sessions", "--username", &sub]);
    assert!(
        text.contains("s-new") && text.contains("s-old") && text.contains("password"),
        "{text}"
    );

    admin
        .expect(
            404,
            "DELETE",
            &format!("{path}/s-someone-else"),
            Some(&token),
            None,
        )
        .await;
    let ended = admin
        .expect(200, "DELETE", &format!("{path}/s-new"), Some(&token), None)
        .await;
    assert_eq!(ended["deleted"], "s-new");
    assert!(store.get_session("s-new", 0).await.unwrap().is_none());
    assert!(
        store
            .get_session("s-someone-else", 0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(revoked(&store, "g-web").await);
    assert!(
        !revoked(&store, "g-offline").await,
        "offline_access outlives the session"
    );
    assert!(!revoked(&store, "g-other").await);
    admin
        .expect(404, "DELETE", &format!("{path}/s-new"), Some(&token), None)
        .await;
    admin
        .expect(
            404,
            "GET",
            "/admin/v1/users/nobody/sessions",
            Some(&token),
            None,
        )
        .await;

    // On the database, then through the API, where it is gone.
    let out = ok(&portcullis(&[
        "users",
        "end-session",
        "--username",
        "gia",
        "--session",
        "s-old",
        "--database",
        &admin.db,
    ]));
    assert!(out.contains("session s-old ended"), "{out}");
    assert!(revoked(&store, "g-other").await);
    fails_with(
        &remote(
            &admin,
            &token,
            &[
                "users",
                "end-session",
                "--username",
                "gia",
                "--session",
                "s-old",
            ],
        ),
        "no session",
    );
    fails_with(
        &portcullis(&[
            "users",
            "end-session",
            "--username",
            "gia",
            "--session",
            "s-old",
            "--database",
            &admin.db,
        ]),
        "no session s-old",
    );
    let empty = same_both_ways(&admin, &token, &["users", "sessions", "--username", "gia"]);
    assert!(empty.contains("no browser sessions"), "{empty}");
}

#[tokio::test]
async fn grants_are_listed_and_withdrawn_by_the_cli_both_ways() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let store = portcullis_server::store::sqlite::SqliteStore::connect(&admin.db)
        .await
        .unwrap();
    let sub = seed(&admin, &token, &store).await;
    let json_out = same_both_ways(
        &admin,
        &token,
        &["users", "grants", "--username", "gia", "--json"],
    );
    let listed: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(listed[0]["client_id"], "demo-app");
    assert_eq!(listed[0]["scope"], "openid");
    let text = same_both_ways(&admin, &token, &["users", "grants", "--username", "gia"]);
    assert!(text.contains("demo-app"), "{text}");

    let out = ok(&remote(
        &admin,
        &token,
        &[
            "users",
            "revoke-grant",
            "--username",
            "gia",
            "--client-id",
            "demo-app",
        ],
    ));
    assert!(out.contains("access of demo-app withdrawn"), "{out}");
    assert!(store.get_consent(&sub, "demo-app").await.unwrap().is_none());
    for g in ["g-web", "g-offline", "g-other"] {
        assert!(revoked(&store, g).await, "{g}");
    }
    fails_with(
        &portcullis(&[
            "users",
            "revoke-grant",
            "--username",
            "gia",
            "--client-id",
            "demo-app",
            "--database",
            &admin.db,
        ]),
        "has given demo-app no access",
    );
    let none = same_both_ways(&admin, &token, &["users", "grants", "--username", "gia"]);
    assert!(none.contains("no client access"), "{none}");
}

/// TOK-5 end to end: after a rotation with an overlap both secrets work; a rotation without one
/// stops every earlier secret at once; hashes are never shown; clients without a secret refuse.
#[tokio::test]
async fn tok_5_client_secrets_rotate_with_an_overlap_through_the_api_and_the_cli() {
    let admin = Admin::start().await;
    let token = admin.admin_token().await;
    let old = admin.add_client("rot", "admin:users:read", false);
    let base = admin.issuer.clone();

    let rotated = admin
        .expect(
            200,
            "POST",
            "/admin/v1/clients/rot/secret",
            Some(&token),
            Some(json!({"overlap_seconds": 3600})),
        )
        .await;
    assert_eq!(rotated["client_id"], "rot");
    let first = rotated["client_secret"].as_str().unwrap().to_owned();
    let until = rotated["previous_secret_expires_at"].as_i64().unwrap();
    assert_eq!(
        client_credentials_status(&base, "rot", &first, None).await,
        200
    );
    assert_eq!(
        client_credentials_status(&base, "rot", &old, None).await,
        200
    );
    let view = admin
        .expect(200, "GET", "/admin/v1/clients/rot", Some(&token), None)
        .await;
    assert_eq!(view["previous_secret_expires_at"], until);
    let shown = format!(
        "{view}{}",
        ok(&portcullis(&[
            "clients",
            "list",
            "--json",
            "--database",
            &admin.db
        ]))
    );
    assert!(
        !shown.contains("hash") && !shown.contains(&first),
        "{shown}"
    );

    // Without an overlap, through the CLI and the API: every earlier secret stops at once.
    let out = ok(&remote(
        &admin,
        &token,
        &["clients", "rotate-secret", "--id", "rot"],
    ));
    assert!(out.contains("no longer accepted"), "{out}");
    let second = printed_secret(&out);
    assert_eq!(
        client_credentials_status(&base, "rot", &second, None).await,
        200
    );
    for stale in [&old, &first] {
        assert_eq!(
            client_credentials_status(&base, "rot", stale, None).await,
            401
        );
    }

    // On the database, with a day's overlap, as JSON.
    let out = ok(&portcullis(&[
        "clients",
        "rotate-secret",
        "--id",
        "rot",
        "--overlap",
        "1d",
        "--json",
        "--database",
        &admin.db,
    ]));
    let json_out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json_out["client_id"], "rot");
    assert_eq!(json_out["client_secret"].as_str().unwrap().len(), 43);
    let day_until = json_out["previous_secret_expires_at"].as_i64().unwrap();
    assert!(
        (day_until - until - 86_400 + 3_600).abs() < 600,
        "{day_until} {until}"
    );

    // Refusals.
    admin
        .expect(
            400,
            "POST",
            "/admin/v1/clients/rot/secret",
            Some(&token),
            Some(json!({"overlap_seconds": 30 * 86_400 + 1})),
        )
        .await;
    admin
        .expect(
            404,
            "POST",
            "/admin/v1/clients/nobody/secret",
            Some(&token),
            Some(json!({})),
        )
        .await;
    ok(&portcullis(&[
        "clients",
        "add",
        "--id",
        "pub",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--database",
        &admin.db,
    ]));
    let refused = admin
        .expect(
            400,
            "POST",
            "/admin/v1/clients/pub/secret",
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(refused["error"], "invalid_request", "{refused}");
    fails_with(
        &portcullis(&[
            "clients",
            "rotate-secret",
            "--id",
            "pub",
            "--database",
            &admin.db,
        ]),
        "no secret to rotate",
    );
    fails_with(
        &remote(&admin, &token, &["clients", "rotate-secret", "--id", "pub"]),
        "no secret to rotate",
    );
    fails_with(
        &portcullis(&[
            "clients",
            "rotate-secret",
            "--id",
            "rot",
            "--overlap",
            "1w",
            "--database",
            &admin.db,
        ]),
        "s, m, h, d",
    );
}
