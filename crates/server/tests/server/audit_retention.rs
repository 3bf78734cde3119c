//! The retention of the stored audit trail: the server's garbage collection deletes the events
//! older than `audit_retention_secs` and keeps the rest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_server::admin::{self, AuditQuery};
use portcullis_server::store::AuditRecord;

use crate::common::*;

fn event(at: i64, user: &str) -> AuditRecord {
    let fields = serde_json::json!({"user_id": user});
    AuditRecord::new(at, "logout", fields.as_object().unwrap().clone())
}

#[tokio::test]
async fn gc_deletes_audit_events_past_the_retention() {
    let h = harness_with(|s| s.audit_retention_secs = 10 * 86_400, false).await;
    h.store
        .append_audit(&[event(START, "old"), event(START + 5 * 86_400, "recent")])
        .await
        .unwrap();
    // Eleven days on: the first is past ten days, the second is not.
    h.clock.advance(11 * 86_400);
    let report = h.server.gc().await.unwrap();
    assert!(report.deleted >= 1, "{report:?}");
    let page = admin::audit_events(h.store.as_ref(), &AuditQuery::default())
        .await
        .unwrap();
    let users: Vec<_> = page
        .events
        .iter()
        .map(|e| e.fields["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["recent"]);
}

#[tokio::test]
async fn the_default_retention_is_ninety_days() {
    let h = harness_with(|_| {}, false).await;
    assert_eq!(h.server.config().audit_retention_secs, 90 * 86_400);
    h.store.append_audit(&[event(START, "u")]).await.unwrap();
    h.clock.advance(89 * 86_400);
    h.server.gc().await.unwrap();
    let kept = admin::audit_events(h.store.as_ref(), &AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(kept.events.len(), 1);
    h.clock.advance(2 * 86_400);
    h.server.gc().await.unwrap();
    let gone = admin::audit_events(h.store.as_ref(), &AuditQuery::default())
        .await
        .unwrap();
    assert!(gone.events.is_empty());
}
