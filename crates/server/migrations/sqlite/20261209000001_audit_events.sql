-- The stored audit trail: every audit event, newest read first a page at a time, with the
-- columns queries filter on indexed together with the id (the paging cursor).
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    event     TEXT NOT NULL,
    user_id   TEXT,
    client_id TEXT,
    fields    TEXT NOT NULL
);

CREATE INDEX audit_events_by_at ON audit_events (at);
CREATE INDEX audit_events_by_event ON audit_events (event, id);
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);
CREATE INDEX audit_events_by_client ON audit_events (client_id, id);
