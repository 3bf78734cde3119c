-- Signing a user out everywhere deletes their sessions by user.
CREATE INDEX sessions_user_id ON sessions (user_id);
