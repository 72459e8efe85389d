-- Agent console sessions: the browser holds a random token in a cookie;
-- only its SHA-256 rests here. Idle and absolute expiry are decided from
-- these times on every request, so every instance agrees, and sign-out
-- (ended_at) ends the session everywhere at once.
CREATE TABLE console_sessions (
    token_hash   BLOB PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX console_sessions_principal ON console_sessions (principal_id);
