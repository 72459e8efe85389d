-- Indexes the retention purge (and the oldest-row metrics) search by, so
-- each small delete batch finds its rows without scanning a table.
CREATE INDEX calls_ended ON calls(status, ended_at);
CREATE INDEX calls_created ON calls(created_at);
CREATE INDEX challenges_expires ON challenges(expires_at);
CREATE INDEX grants_expires ON grants(expires_at);
CREATE INDEX messages_settled ON messages(status, updated_at);
CREATE INDEX lockouts_until ON lockouts(until);
CREATE INDEX webhook_receipts_received ON webhook_receipts(received_at);
CREATE INDEX early_delivery_reports_received ON early_delivery_reports(received_at);
CREATE INDEX quota_counters_window ON quota_counters(window_start);
CREATE INDEX quota_members_window ON quota_members(window_start);
