-- Quotas, lockouts and webhook receipts: state that must hold across
-- instances, so it lives in the database.

-- Fixed-window counters, incremented with one upsert per decision.
CREATE TABLE quota_counters (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (scope, key, window_start)
);

-- Distinct members per window (e.g. orgs an agent touched this hour).
CREATE TABLE quota_members (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    member        TEXT NOT NULL,
    PRIMARY KEY (scope, key, window_start, member)
);

-- PIN verification locked for one caller of one org.
CREATE TABLE lockouts (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    caller_key  TEXT NOT NULL,
    locked_at   BIGINT NOT NULL,
    until       BIGINT NOT NULL,
    reset_at    BIGINT,
    reset_by    TEXT
);
CREATE INDEX lockouts_caller ON lockouts(org_id, caller_key, until);

-- Webhook deliveries already applied (I-Twilio-Idempotency-Token, or the
-- status callback's CallSid + CallStatus + SequenceNumber).
CREATE TABLE webhook_receipts (
    provider     TEXT NOT NULL,
    key          TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, key)
);
