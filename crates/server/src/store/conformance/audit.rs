//! Conformance cases for the stored audit trail: ids increase in append order, pages come newest
//! first and are filtered and bounded, and retention deletes only what is older than the cutoff.

use std::sync::Arc;

use serde_json::json;

use crate::store::{AuditFilter, AuditRecord, MAX_AUDIT_PAGE, Store};

const T0: i64 = 1_700_000_000;

fn event(at: i64, name: &str, fields: serde_json::Value) -> AuditRecord {
    AuditRecord::new(at, name, fields.as_object().unwrap().clone())
}

fn page(limit: u32) -> AuditFilter {
    AuditFilter {
        limit,
        ..AuditFilter::default()
    }
}

pub async fn audit_events_round_trip_newest_first(store: Arc<dyn Store>) {
    let first = event(
        T0,
        "login_success",
        json!({"user_id": "u1", "username": "alice"}),
    );
    let second = event(
        T0 + 1,
        "token_issued",
        json!({"sub": "u1", "client_id": "app", "scope": "openid", "grant_type": "authorization_code"}),
    );
    store
        .append_audit(std::slice::from_ref(&first))
        .await
        .unwrap();
    store
        .append_audit(std::slice::from_ref(&second))
        .await
        .unwrap();
    let all = store.audit_events(&page(50)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].id > all[1].id, "newest first, ids increasing");
    assert_eq!(all[0].record, second);
    assert_eq!(all[1].record, first);
    assert_eq!(all[0].record.user.as_deref(), Some("u1"));
    assert_eq!(all[0].record.client_id.as_deref(), Some("app"));
    assert_eq!(all[0].record.fields["scope"], "openid");
}

pub async fn audit_pages_follow_the_cursor_without_gaps(store: Arc<dyn Store>) {
    let batch: Vec<_> = (0..7)
        .map(|i| event(T0 + i, "logout", json!({"user_id": format!("u{i}")})))
        .collect();
    store.append_audit(&batch).await.unwrap();
    let mut seen = Vec::new();
    let mut filter = page(3);
    loop {
        let got = store.audit_events(&filter).await.unwrap();
        assert!(got.len() <= 3);
        let Some(last) = got.last() else { break };
        filter.before = Some(last.id);
        seen.extend(got.iter().map(|e| e.record.user.clone().unwrap()));
    }
    let expected: Vec<_> = (0..7).rev().map(|i| format!("u{i}")).collect();
    assert_eq!(seen, expected);
}

pub async fn audit_filters_combine(store: Arc<dyn Store>) {
    store
        .append_audit(&[
            event(T0, "token_issued", json!({"sub": "u1", "client_id": "a"})),
            event(T0, "token_issued", json!({"sub": "u2", "client_id": "a"})),
            event(T0, "token_issued", json!({"sub": "u1", "client_id": "b"})),
            event(
                T0,
                "consent_granted",
                json!({"user_id": "u1", "client_id": "a"}),
            ),
            event(
                T0,
                "admin_change",
                json!({"actor": "u1", "client_id": "admin", "action": "user_disabled"}),
            ),
        ])
        .await
        .unwrap();
    let count = |f: AuditFilter| {
        let store = Arc::clone(&store);
        async move { store.audit_events(&f).await.unwrap().len() }
    };
    let by = |event: Option<&str>, user: Option<&str>, client: Option<&str>| AuditFilter {
        event: event.map(Into::into),
        user: user.map(Into::into),
        client_id: client.map(Into::into),
        before: None,
        limit: 50,
    };
    assert_eq!(count(by(Some("token_issued"), None, None)).await, 3);
    assert_eq!(count(by(None, Some("u1"), None)).await, 4);
    assert_eq!(count(by(None, None, Some("a"))).await, 3);
    assert_eq!(
        count(by(Some("token_issued"), Some("u1"), Some("a"))).await,
        1
    );
    assert_eq!(count(by(Some("nothing"), None, None)).await, 0);
    assert_eq!(count(by(None, Some("u1"), Some("admin"))).await, 1);
}

pub async fn audit_pages_are_bounded(store: Arc<dyn Store>) {
    let batch: Vec<_> = (0..i64::from(MAX_AUDIT_PAGE) + 5)
        .map(|i| event(T0 + i, "logout", json!({"user_id": "u"})))
        .collect();
    store.append_audit(&batch).await.unwrap();
    let got = store.audit_events(&page(u32::MAX)).await.unwrap();
    assert_eq!(got.len(), usize::try_from(MAX_AUDIT_PAGE).unwrap());
    assert_eq!(store.audit_events(&page(0)).await.unwrap().len(), 0);
}

pub async fn audit_retention_deletes_only_older_events(store: Arc<dyn Store>) {
    store
        .append_audit(&[
            event(T0 - 10, "logout", json!({"user_id": "old"})),
            event(T0, "logout", json!({"user_id": "edge"})),
            event(T0 + 10, "logout", json!({"user_id": "new"})),
        ])
        .await
        .unwrap();
    assert_eq!(store.delete_audit_before(T0).await.unwrap(), 1);
    let left: Vec<_> = store
        .audit_events(&page(50))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.record.user.unwrap())
        .collect();
    assert_eq!(left, ["new", "edge"]);
    assert_eq!(store.delete_audit_before(T0).await.unwrap(), 0);
}
