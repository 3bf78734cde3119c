-- Self-service password reset finds accounts by e-mail address: the address, lowercased in
-- ASCII, beside the document, filled in from the documents already stored.
ALTER TABLE users ADD COLUMN email TEXT;
UPDATE users SET email = lower(doc::jsonb->>'email');
CREATE INDEX users_email ON users (email);
