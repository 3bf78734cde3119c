-- What the resource servers' denylist (Redis) must hold besides the revoked jtis: the
-- per-subject "not before" markers of signing out everywhere, and the queue of entries a write
-- to the denylist could not deliver (it was out of reach), drained once it is back.
CREATE TABLE subject_markers (
    sub        TEXT PRIMARY KEY NOT NULL,
    not_before INTEGER NOT NULL,
    keep_until INTEGER NOT NULL
);

CREATE TABLE denylist_queue (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    keep_until INTEGER NOT NULL
);
