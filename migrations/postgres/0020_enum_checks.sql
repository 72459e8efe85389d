-- Statuses, kinds, channels and grant bases as CHECK constraints: a value
-- no enum spells cannot be stored (the enums are in src/domain; the lists
-- here and in the SQLite set are checked against them by a test).

ALTER TABLE calls
    ADD CONSTRAINT calls_verification_known CHECK (verification IN ('trusted_number', 'pin_required', 'verified', 'failed')),
    ADD CONSTRAINT calls_status_known CHECK (status IN ('active', 'ended'));

ALTER TABLE challenges
    ADD CONSTRAINT challenges_channel_known CHECK (channel IN ('email', 'sms')),
    ADD CONSTRAINT challenges_status_known CHECK (status IN ('pending', 'approved', 'expired', 'locked', 'cancelled', 'superseded'));

ALTER TABLE grants
    ADD CONSTRAINT grants_basis_known CHECK (basis IN ('pin', 'trusted_number'));

ALTER TABLE messages
    ADD CONSTRAINT messages_kind_known CHECK (kind IN ('pin', 'grant_notice', 'lockout_notice')),
    ADD CONSTRAINT messages_channel_known CHECK (channel IN ('email', 'sms')),
    ADD CONSTRAINT messages_status_known CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'dead', 'cancelled'));
