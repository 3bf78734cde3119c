//! `portcullis migrate`: a fresh database gets this build's schema, and running it again is a
//! no-op with the same answer.

use crate::common::*;

#[tokio::test]
async fn migrate_brings_a_database_to_this_build() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(dir.path());
    let out = ok(&portcullis(&["migrate", "--database", &db]));
    assert!(out.contains("newest migration"), "{out}");
    // The schema is really there: the store opens and answers as ready.
    let store = portcullis_server::store::connect(&db).await.unwrap();
    store.health().await.unwrap();
    assert!(store.list_clients().await.unwrap().is_empty());
    drop(store);
    // Again: nothing to do, the same answer.
    let again = ok(&portcullis(&["migrate", "--database", &db]));
    assert_eq!(again, out);
    // A database it cannot open is an error naming it, not a success.
    let missing = portcullis(&[
        "migrate",
        "--database",
        &format!("sqlite://{}/no/such/dir/p.db", dir.path().display()),
    ]);
    assert!(!missing.status.success());
}
