-- pingate schema, SQLite flavour. Times are Unix milliseconds (INTEGER);
-- hashes are BLOBs; enums are their one string form.

CREATE TABLE orgs (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    account_number  TEXT NOT NULL UNIQUE,
    channels        TEXT NOT NULL,           -- comma-separated: email,sms
    contact_email   TEXT,
    contact_sms     TEXT,
    language        TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE org_numbers (
    number  TEXT PRIMARY KEY,                -- E.164; one org per number
    org_id  TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE
);
CREATE INDEX org_numbers_org ON org_numbers(org_id);

CREATE TABLE principals (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,        -- SHA-256 of a 256-bit random token
    created_at  INTEGER NOT NULL,
    disabled_at INTEGER
);

CREATE TABLE calls (
    id                TEXT PRIMARY KEY,
    provider          TEXT NOT NULL,
    provider_call_id  TEXT NOT NULL,
    from_raw          TEXT NOT NULL,
    caller_kind       TEXT NOT NULL,
    caller_e164       TEXT,
    to_raw            TEXT NOT NULL,
    attestation       TEXT,
    org_id            TEXT REFERENCES orgs(id) ON DELETE SET NULL,
    org_source        TEXT,                  -- number | ivr | agent
    verification      TEXT NOT NULL,
    status            TEXT NOT NULL,
    gather_attempts   INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    ended_at          INTEGER,
    UNIQUE (provider, provider_call_id)
);
CREATE INDEX calls_status ON calls(status, created_at);

CREATE TABLE challenges (
    id            TEXT PRIMARY KEY,
    call_id       TEXT NOT NULL REFERENCES calls(id),
    org_id        TEXT NOT NULL,
    caller_e164   TEXT,
    agent         TEXT NOT NULL,
    channel       TEXT NOT NULL,
    destination   TEXT NOT NULL,             -- masked, for display
    pin_hash      TEXT NOT NULL,             -- argon2id PHC string, peppered
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    sends         INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    decided_at    INTEGER
);
CREATE INDEX challenges_call ON challenges(call_id);

CREATE TABLE grants (
    id            TEXT PRIMARY KEY,
    token_hash    BLOB NOT NULL UNIQUE,
    agent         TEXT NOT NULL,
    org_id        TEXT NOT NULL,
    call_id       TEXT NOT NULL REFERENCES calls(id),
    challenge_id  TEXT,
    basis         TEXT NOT NULL,             -- pin | trusted_number
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoked_by    TEXT
);
CREATE INDEX grants_call ON grants(call_id);

CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL,      -- pin | grant_notice
    channel              TEXT NOT NULL,
    org_id               TEXT NOT NULL,
    call_id              TEXT,
    challenge_id         TEXT,
    grant_id             TEXT,
    destination          TEXT NOT NULL,      -- the registered contact
    destination_masked   TEXT NOT NULL,
    subject              TEXT NOT NULL,
    body_sealed          BLOB,               -- AEAD-sealed body; NULL once wiped
    status               TEXT NOT NULL,
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      INTEGER NOT NULL,
    lease_until          INTEGER,
    provider_message_id  TEXT,
    last_error           TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX messages_due ON messages(status, next_attempt_at);
CREATE INDEX messages_challenge ON messages(challenge_id);

CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    actor         TEXT NOT NULL,
    org_id        TEXT,
    call_id       TEXT,
    challenge_id  TEXT,
    grant_id      TEXT,
    outcome       TEXT NOT NULL,
    detail        TEXT NOT NULL,             -- canonical JSON object
    prev_hash     BLOB NOT NULL,
    hash          BLOB NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_org ON audit_events(org_id, seq);
CREATE INDEX audit_events_call ON audit_events(call_id, seq);

CREATE TABLE audit_checkpoints (
    size        INTEGER PRIMARY KEY,
    root        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    text        TEXT NOT NULL                -- the signed note, verbatim
);
