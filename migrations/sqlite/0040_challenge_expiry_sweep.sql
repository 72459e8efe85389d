-- The expiry sweeper looks for pending challenges by expiry.
CREATE INDEX challenges_pending_expiry ON challenges(status, expires_at);
