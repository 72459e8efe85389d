-- Principals can expire and be rotated. `expires_at` (ms since the epoch,
-- NULL: never) ends a token on its own; `rotated_at` records the last time
-- a new token replaced the old one (the old hash is overwritten, so the
-- old token stops working on every instance at once).
ALTER TABLE principals ADD COLUMN expires_at BIGINT;
ALTER TABLE principals ADD COLUMN rotated_at BIGINT;
