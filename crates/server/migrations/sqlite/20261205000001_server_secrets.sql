-- Server-wide secrets other than signing keys (the client-secret pepper), by name. `value` is
-- the stored form: sealed under the key-encryption key when one is configured.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
