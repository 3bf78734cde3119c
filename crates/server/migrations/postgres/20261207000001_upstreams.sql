-- Upstream identity providers by id; `doc` is the JSON record, its client secret sealed under
-- the key-encryption key when one is configured.
CREATE TABLE upstreams (
    id  TEXT PRIMARY KEY NOT NULL,
    doc TEXT NOT NULL
);

-- The local user an upstream account signs in as. One row per upstream account; removing the
-- upstream or the user removes its links.
CREATE TABLE upstream_links (
    upstream_id TEXT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, subject)
);
CREATE INDEX upstream_links_user ON upstream_links (user_id);
