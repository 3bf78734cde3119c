//! The records of the stored audit trail: an event as captured ([`AuditRecord`]), as stored with
//! its id ([`StoredAuditRecord`]), and the filter of a query ([`AuditFilter`]).

use serde_json::{Map, Value};

/// Most events one query returns; larger limits are clamped to it.
pub const MAX_AUDIT_PAGE: u32 = 200;

/// The fields naming the user an event is about, in order of preference: the first one an event
/// has becomes its indexed `user`.
const USER_FIELDS: [&str; 3] = ["user_id", "sub", "actor"];

/// One audit event to store: when it happened, its name, and its other fields. The user and the
/// client, which queries filter on, are taken from the fields when the record is made.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Unix seconds.
    pub at: i64,
    /// The event name (`login_success`, `admin_change`, ...).
    pub event: String,
    /// The event's `user_id`, else its `sub`, else its `actor`.
    pub user: Option<String>,
    /// The event's `client_id`.
    pub client_id: Option<String>,
    /// Every field but `event`, as the event carried it.
    pub fields: Map<String, Value>,
}

impl AuditRecord {
    /// The record of the event named `event` with `fields`, at `at`.
    pub fn new(at: i64, event: impl Into<String>, fields: Map<String, Value>) -> Self {
        let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
        let user = USER_FIELDS.iter().find_map(|name| text(name));
        let client_id = text("client_id");
        Self {
            at,
            event: event.into(),
            user,
            client_id,
            fields,
        }
    }
}

/// A stored audit event: the store's id (increasing in the order events were appended) and the
/// record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAuditRecord {
    /// Assigned by the store; later appends get larger ids.
    pub id: i64,
    /// The event.
    pub record: AuditRecord,
}

/// Which stored events a query returns: those matching every filter given, with an id below
/// `before` when it is set, newest first, at most `limit` (clamped to [`MAX_AUDIT_PAGE`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this event name.
    pub event: Option<String>,
    /// Only events about this user (their `user_id`, `sub` or `actor`).
    pub user: Option<String>,
    /// Only events naming this client.
    pub client_id: Option<String>,
    /// Only events older than this id (the cursor of the next page).
    pub before: Option<i64>,
    /// Most events returned.
    pub limit: u32,
}

impl AuditFilter {
    /// The limit, clamped to [`MAX_AUDIT_PAGE`].
    pub fn page_size(&self) -> u32 {
        self.limit.min(MAX_AUDIT_PAGE)
    }

    /// Whether `stored` passes the filter (the limit aside).
    pub fn matches(&self, stored: &StoredAuditRecord) -> bool {
        let same = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        let r = &stored.record;
        self.before.is_none_or(|b| stored.id < b)
            && self.event.as_ref().is_none_or(|e| *e == r.event)
            && same(&self.user, &r.user)
            && same(&self.client_id, &r.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_user_is_the_first_of_user_id_sub_actor() {
        let r = AuditRecord::new(
            1,
            "token_issued",
            fields(serde_json::json!({"sub": "s", "client_id": "c"})),
        );
        assert_eq!(r.user.as_deref(), Some("s"));
        assert_eq!(r.client_id.as_deref(), Some("c"));
        let r = AuditRecord::new(
            1,
            "x",
            fields(serde_json::json!({"actor": "a", "user_id": "u"})),
        );
        assert_eq!(r.user.as_deref(), Some("u"));
        let r = AuditRecord::new(1, "x", fields(serde_json::json!({"actor": "a"})));
        assert_eq!(r.user.as_deref(), Some("a"));
        let r = AuditRecord::new(1, "x", Map::new());
        assert_eq!((r.user, r.client_id), (None, None));
    }

    #[test]
    fn the_page_size_is_bounded() {
        let f = AuditFilter {
            limit: 10_000,
            ..AuditFilter::default()
        };
        assert_eq!(f.page_size(), MAX_AUDIT_PAGE);
    }
}
