-- Initial Portcullis schema (PostgreSQL). Times are Unix seconds; secrets appear only as hashes.
-- Records are JSON documents (`doc`) next to the columns that queries filter or update.

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    doc       TEXT NOT NULL
);

CREATE TABLE users (
    id       TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    doc      TEXT NOT NULL
);

CREATE TABLE grants (
    id         TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    doc        TEXT NOT NULL
);
CREATE INDEX grants_user_client ON grants (user_id, client_id);

CREATE TABLE codes (
    code_hash   TEXT PRIMARY KEY NOT NULL,
    grant_id    TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    doc         TEXT NOT NULL
);
CREATE INDEX codes_expires_at ON codes (expires_at);

CREATE TABLE access_tokens (
    jti      TEXT PRIMARY KEY NOT NULL,
    grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    exp      BIGINT NOT NULL
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);

CREATE TABLE refresh_tokens (
    token_hash          TEXT PRIMARY KEY NOT NULL,
    grant_id            TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    status              TEXT NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
    expires_at          BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    doc                 TEXT NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

CREATE TABLE revoked_jtis (
    jti TEXT PRIMARY KEY NOT NULL,
    exp BIGINT NOT NULL
);

CREATE TABLE replay_cache (
    namespace TEXT NOT NULL,
    item_key  TEXT NOT NULL,
    exp       BIGINT NOT NULL,
    PRIMARY KEY (namespace, item_key)
);

CREATE TABLE artifacts (
    namespace  TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    payload    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, key_hash)
);

CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    doc        TEXT NOT NULL
);

CREATE TABLE login_failures (
    throttle_key TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (throttle_key, at);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    activate_at BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
