-- When a refresh token was rotated, and whether its one grace retry was used: a client may
-- opt in to a short grace window in which the same client presenting the just-rotated token
-- again gets a working refresh token instead of losing the family (a lost response).
ALTER TABLE refresh_tokens ADD COLUMN rotated_at INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN grace_used INTEGER NOT NULL DEFAULT 0;
