-- Rolling windows: one row per counted use, so a quota counts what
-- happened in the last window from now (a fixed window let twice the
-- quota through across its edge). Pruned per key as it is counted, and by
-- the retention purge.
CREATE TABLE quota_events (
    id      BIGSERIAL PRIMARY KEY,
    scope   TEXT NOT NULL,
    key     TEXT NOT NULL,
    at      BIGINT NOT NULL,
    member  TEXT NOT NULL
);
CREATE INDEX quota_events_key ON quota_events(scope, key, at);
CREATE INDEX quota_events_at ON quota_events(at);

-- An administrator's audited, short-lived override of an org's spent
-- PIN budgets (its failure ceiling, its challenge and check quotas).
CREATE TABLE org_overrides (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX org_overrides_org ON org_overrides(org_id, expires_at);
