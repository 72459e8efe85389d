-- no-transaction
-- Statuses, kinds, channels and grant bases as CHECK constraints: a value
-- no enum spells cannot be stored. SQLite cannot add a constraint to a table,
-- so each table is rebuilt (https://sqlite.org/lang_altertable.html#otheralter):
-- foreign keys off around one transaction, rows copied, indexes recreated.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE calls_checked (
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
    UNIQUE (provider, provider_call_id),
    CONSTRAINT calls_verification_known CHECK (verification IN ('trusted_number', 'pin_required', 'verified', 'failed')),
    CONSTRAINT calls_status_known CHECK (status IN ('active', 'ended'))
);
INSERT INTO calls_checked (id, provider, provider_call_id, from_raw, caller_kind, caller_e164, to_raw, attestation, org_id, org_source, verification, status, gather_attempts, created_at, updated_at, ended_at)
    SELECT id, provider, provider_call_id, from_raw, caller_kind, caller_e164, to_raw, attestation, org_id, org_source, verification, status, gather_attempts, created_at, updated_at, ended_at FROM calls;
DROP TABLE calls;
ALTER TABLE calls_checked RENAME TO calls;
CREATE INDEX calls_status ON calls(status, created_at);

CREATE TABLE challenges_checked (
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
    decided_at    INTEGER,
    pin_sealed    BLOB,
    CONSTRAINT challenges_channel_known CHECK (channel IN ('email', 'sms')),
    CONSTRAINT challenges_status_known CHECK (status IN ('pending', 'approved', 'expired', 'locked', 'cancelled', 'superseded'))
);
INSERT INTO challenges_checked (id, call_id, org_id, caller_e164, agent, channel, destination, pin_hash, status, attempts, max_attempts, sends, created_at, expires_at, decided_at, pin_sealed)
    SELECT id, call_id, org_id, caller_e164, agent, channel, destination, pin_hash, status, attempts, max_attempts, sends, created_at, expires_at, decided_at, pin_sealed FROM challenges;
DROP TABLE challenges;
ALTER TABLE challenges_checked RENAME TO challenges;
CREATE INDEX challenges_call ON challenges(call_id);

CREATE TABLE grants_checked (
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
    revoked_by    TEXT,
    CONSTRAINT grants_basis_known CHECK (basis IN ('pin', 'trusted_number'))
);
INSERT INTO grants_checked (id, token_hash, agent, org_id, call_id, challenge_id, basis, created_at, expires_at, revoked_at, revoked_by)
    SELECT id, token_hash, agent, org_id, call_id, challenge_id, basis, created_at, expires_at, revoked_at, revoked_by FROM grants;
DROP TABLE grants;
ALTER TABLE grants_checked RENAME TO grants;
CREATE INDEX grants_call ON grants(call_id);

CREATE TABLE messages_checked (
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
    updated_at           INTEGER NOT NULL,
    CONSTRAINT messages_kind_known CHECK (kind IN ('pin', 'grant_notice', 'lockout_notice')),
    CONSTRAINT messages_channel_known CHECK (channel IN ('email', 'sms')),
    CONSTRAINT messages_status_known CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'dead', 'cancelled'))
);
INSERT INTO messages_checked (id, kind, channel, org_id, call_id, challenge_id, grant_id, destination, destination_masked, subject, body_sealed, status, attempts, next_attempt_at, lease_until, provider_message_id, last_error, created_at, updated_at)
    SELECT id, kind, channel, org_id, call_id, challenge_id, grant_id, destination, destination_masked, subject, body_sealed, status, attempts, next_attempt_at, lease_until, provider_message_id, last_error, created_at, updated_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_checked RENAME TO messages;
CREATE INDEX messages_due ON messages(status, next_attempt_at);
CREATE INDEX messages_challenge ON messages(challenge_id);

COMMIT;
PRAGMA foreign_keys = ON;
