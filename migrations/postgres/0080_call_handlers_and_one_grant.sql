-- Calls have a handler: the agent who first acted on the call, until
-- another takes it over (POST /v1/calls/{id}/take). A call in progress
-- keeps the agent who last acted on it.
ALTER TABLE calls ADD COLUMN handled_by TEXT;
UPDATE calls SET handled_by = COALESCE(
    (SELECT c.agent FROM challenges c WHERE c.call_id = calls.id
     ORDER BY c.created_at DESC, c.id DESC LIMIT 1),
    (SELECT g.agent FROM grants g WHERE g.call_id = calls.id
     ORDER BY g.created_at DESC, g.id DESC LIMIT 1))
WHERE status = 'active';

-- One active grant per (call, agent), held by the database itself: a
-- grant holds its (call, agent) slot until it is revoked or, once expired,
-- closed by the next grant for the same call and agent (closed_at).
-- Duplicates issued before this migration keep their expiry but give up
-- the slot to the newest one.
ALTER TABLE grants ADD COLUMN closed_at BIGINT;
UPDATE grants SET closed_at = expires_at
WHERE revoked_at IS NULL AND EXISTS (
    SELECT 1 FROM grants newer
    WHERE newer.call_id = grants.call_id AND newer.agent = grants.agent
      AND newer.revoked_at IS NULL
      AND (newer.created_at > grants.created_at
           OR (newer.created_at = grants.created_at AND newer.id > grants.id)));
CREATE UNIQUE INDEX grants_one_open_per_call_agent ON grants(call_id, agent)
    WHERE revoked_at IS NULL AND closed_at IS NULL;
-- A disabled or rotated agent's grants are revoked by agent.
CREATE INDEX grants_agent ON grants(agent);
