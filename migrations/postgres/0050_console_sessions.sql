-- Agent console sessions: the browser holds a random token in a cookie;
-- only its SHA-256 rests here. Idle and absolute expiry are decided from
-- these times on every request, so every instance agrees, and sign-out
-- (ended_at) ends the session everywhere at once.
CREATE TABLE console_sessions (
    token_hash   BYTEA PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX console_sessions_principal ON console_sessions (principal_id);
