//! DUR-5: both SQL schemas keep times as UTC Unix seconds in integer columns, never in a
//! zone-dependent date or timestamp type, and a stored row reads back as the same integer (in
//! its column and in its JSON document). Checked against the migrated databases themselves.

// Both schemas are checked, so both SQL drivers are needed.
#![cfg(all(feature = "sqlite", feature = "postgres"))]

use serde_json::Value;

use super::super::sqlite::SqliteStore;
use super::super::{CodeStore as _, Store};
use super::backends::open_postgres_store;
use super::code;

/// A time far from the epoch whatever the zone, as a code's expiry.
const EXPIRES_AT: i64 = 1_800_000_000;

/// Type names that depend on a calendar or a time zone.
const DATE_TYPES: [&str; 5] = ["date", "time", "timestamp", "interval", "datetime"];

/// Whether a column holds a point in time (the schemas name them `*_at`, `exp` or `at`).
fn is_time_column(name: &str) -> bool {
    name.ends_with("_at") || name == "exp" || name == "at"
}

/// Checks `(table, column, declared type)` rows: no date types at all, and every time column
/// of one of the `integer` types.
fn check_columns(columns: &[(String, String, String)], integer: &[&str]) {
    let mut times = 0;
    for (table, column, declared) in columns {
        let declared = declared.to_ascii_lowercase();
        assert!(
            !DATE_TYPES.iter().any(|t| declared.contains(t)),
            "{table}.{column} is {declared}: times are UTC Unix seconds"
        );
        if is_time_column(column) {
            times += 1;
            assert!(
                integer.contains(&declared.as_str()),
                "{table}.{column} is {declared}, not integer seconds"
            );
        }
    }
    // grants, codes, access and refresh tokens, denylist, replay cache, artifacts, consents,
    // sessions, login failures and signing keys all carry times.
    assert!(times >= 15, "only {times} time columns found: {columns:?}");
}

/// Checks a stored code document: its times are JSON integers, the expiry the one written.
fn check_code_doc(doc: &str) {
    let doc: Value = serde_json::from_str(doc).unwrap();
    assert_eq!(doc["expires_at"], Value::from(EXPIRES_AT), "{doc}");
    for (name, value) in doc.as_object().unwrap() {
        if is_time_column(name) || name == "auth_time" {
            assert!(value.is_i64() || value.is_null(), "{name} = {value}");
        }
    }
}

#[tokio::test]
async fn dur_5_sqlite_stores_times_as_integer_seconds() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    check_columns(&columns, &["integer"]);

    store
        .insert_code(code("c1", "g1", EXPIRES_AT))
        .await
        .unwrap();
    let (kind, expires_at, doc): (String, i64, String) =
        sqlx::query_as("SELECT typeof(expires_at), expires_at, doc FROM codes")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!((kind.as_str(), expires_at), ("integer", EXPIRES_AT));
    check_code_doc(&doc);
}

#[tokio::test]
async fn dur_5_postgres_stores_times_as_integer_seconds() {
    let Some(pg) = open_postgres_store().await else {
        return;
    };
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pg.pool())
    .await
    .unwrap();
    let store: &dyn Store = &pg;
    store
        .insert_code(code("c1", "g1", EXPIRES_AT))
        .await
        .unwrap();
    let (expires_at, doc): (i64, String) = sqlx::query_as("SELECT expires_at, doc FROM codes")
        .fetch_one(pg.pool())
        .await
        .unwrap();
    pg.drop_schema().await.unwrap();
    check_columns(&columns, &["bigint"]);
    assert_eq!(expires_at, EXPIRES_AT);
    check_code_doc(&doc);
}
