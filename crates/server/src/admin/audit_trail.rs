//! The stored audit trail as operators read it: a page of events, newest first, filtered by
//! event, user and client, behind `GET /admin/v1/audit` and `portcullis audit list`; and the
//! collection of expired state that also applies the audit retention.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::AdminError;
use crate::config::ConfigError;
use crate::store::{AuditFilter, GcReport, MAX_AUDIT_PAGE, Store, StoreError, StoredAuditRecord};

/// Events per page when the query names no limit.
pub const DEFAULT_AUDIT_PAGE: usize = 50;

/// The longest filter value accepted (event names, user and client ids are far shorter).
const MAX_FILTER_LEN: usize = 256;

/// Which audit events to list: those matching every filter given, older than `before` when set,
/// newest first, at most `limit` (1 to 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this event name (`login_success`, `admin_change`, ...).
    pub event: Option<String>,
    /// Only events about this user: their `user_id`, `sub` or `actor`.
    pub user: Option<String>,
    /// Only events naming this client.
    pub client_id: Option<String>,
    /// Only events with a smaller id: the `next` of the previous page.
    pub before: Option<i64>,
    /// Events per page, 1 to 200.
    pub limit: usize,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            event: None,
            user: None,
            client_id: None,
            before: None,
            limit: DEFAULT_AUDIT_PAGE,
        }
    }
}

/// One stored audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// The store's id: larger for later events; the paging cursor.
    pub id: i64,
    /// When it happened, Unix seconds.
    pub at: i64,
    /// The event name.
    pub event: String,
    /// The event's other fields, as in the audit file (`user_id`, `client_id`, `action`, ...).
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

impl From<StoredAuditRecord> for AuditEntry {
    fn from(stored: StoredAuditRecord) -> Self {
        Self {
            id: stored.id,
            at: stored.record.at,
            event: stored.record.event,
            fields: stored.record.fields,
        }
    }
}

/// A page of audit events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEntry>,
    /// The `before` of the next page; `null` on the last.
    pub next: Option<i64>,
}

/// Lists a page of the stored audit trail. A limit outside 1 to 200, or a filter value longer
/// than 256 bytes, is [`AdminError::Invalid`] naming the parameter.
pub async fn audit_events(store: &dyn Store, query: &AuditQuery) -> Result<AuditPage, AdminError> {
    let max = usize::try_from(MAX_AUDIT_PAGE).unwrap_or(usize::MAX);
    if !(1..=max).contains(&query.limit) {
        return Err(ConfigError::new("limit", format!("must be 1 to {max}")).into());
    }
    for (name, value) in [
        ("event", &query.event),
        ("user", &query.user),
        ("client_id", &query.client_id),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_FILTER_LEN) {
            return Err(
                ConfigError::new(name, format!("longer than {MAX_FILTER_LEN} bytes")).into(),
            );
        }
    }
    let mut filter = AuditFilter {
        event: query.event.clone(),
        user: query.user.clone(),
        client_id: query.client_id.clone(),
        before: query.before,
        limit: u32::try_from(query.limit).unwrap_or(MAX_AUDIT_PAGE),
    };
    let events: Vec<AuditEntry> = store
        .audit_events(&filter)
        .await?
        .into_iter()
        .map(AuditEntry::from)
        .collect();
    // A full page has a next one only if an older event passes the filter.
    let last = events
        .last()
        .map(|e| e.id)
        .filter(|_| events.len() == query.limit);
    let next = match last {
        Some(id) => {
            filter.before = Some(id);
            filter.limit = 1;
            (!store.audit_events(&filter).await?.is_empty()).then_some(id)
        }
        None => None,
    };
    Ok(AuditPage { events, next })
}

/// Deletes expired state ([`Maintenance::gc`](crate::store::Maintenance::gc)) and the audit
/// events older than `audit_retention_secs` before `now`; what `portcullis gc` and the periodic
/// collection of `portcullis serve` run.
pub async fn collect_garbage(
    store: &dyn Store,
    now: i64,
    audit_retention_secs: i64,
) -> Result<GcReport, StoreError> {
    let mut report = store.gc(now).await?;
    let audit = store
        .delete_audit_before(now.saturating_sub(audit_retention_secs))
        .await?;
    report.deleted = report.deleted.saturating_add(audit);
    Ok(report)
}
