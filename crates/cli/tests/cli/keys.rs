//! `portcullis keys`: listing creates no keys, and a rotation creates the current ES256 and
//! RS256 keys and publishes their successors, never printing private members.

use crate::common::*;
use serde_json::{Value, json};

#[test]
fn keys_list_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let listed: Value = list_json("keys", &db);
    assert_eq!(listed, json!([]), "listing must not create keys");
    assert!(ok(&portcullis(&["keys", "list", "--database", &db])).contains("no signing keys"));
    // The first rotation creates the current keys, then publishes their successors.
    let out = ok(&portcullis(&["keys", "rotate", "--database", &db]));
    assert_eq!(
        out.lines().filter(|l| l.starts_with("published ")).count(),
        2,
        "{out}"
    );
    let listed: Value = list_json("keys", &db);
    let keys = listed.as_array().unwrap();
    assert_eq!(keys.len(), 4);
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(
        algs.iter().filter(|a| **a == "ES256").count(),
        2,
        "{algs:?}"
    );
    assert_eq!(
        algs.iter().filter(|a| **a == "RS256").count(),
        2,
        "{algs:?}"
    );
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k.get("private_jwk").is_none())
    );
    assert_eq!(keys.iter().filter(|k| k["state"] == "next").count(), 2);
    let active: Vec<&Value> = keys.iter().filter(|k| k["state"] == "active").collect();
    assert_eq!(active.len(), 2);
    assert!(
        active
            .iter()
            .all(|k| k["retire_at"].is_i64() && k["expire_at"].is_i64())
    );
    let table = ok(&portcullis(&["keys", "list", "--database", &db]));
    assert!(table.contains("next") && table.contains("ES256"));
}

/// `keys rotate --now --revoke-old` (a leaked key): the new keys sign at once and the old ones
/// are no longer published; `--revoke-old` alone is refused.
#[test]
fn key_3_emergency_rotation_revokes_the_old_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    ok(&portcullis(&["keys", "rotate", "--now", "--database", &db]));
    let before: Value = list_json("keys", &db);
    let refused = portcullis(&["keys", "rotate", "--revoke-old", "--database", &db]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--now"), "{}", stderr(&refused));
    assert_eq!(list_json("keys", &db), before, "nothing changed");

    let out = ok(&portcullis(&[
        "keys",
        "rotate",
        "--now",
        "--revoke-old",
        "--database",
        &db,
    ]));
    assert!(out.contains("unpublished"), "{out}");
    let listed: Value = list_json("keys", &db);
    let keys = listed.as_array().unwrap();
    let active: Vec<&Value> = keys.iter().filter(|k| k["state"] == "active").collect();
    assert_eq!(active.len(), 2, "{keys:?}");
    assert!(active.iter().all(|k| k["retire_at"].is_null()));
    // Every earlier key is unpublished now.
    for old in before.as_array().unwrap() {
        let now = keys.iter().find(|k| k["kid"] == old["kid"]);
        assert!(
            now.is_none_or(|k| k["state"] == "expired"),
            "{old} is still published: {now:?}"
        );
    }
}
