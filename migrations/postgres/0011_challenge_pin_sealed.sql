-- The PIN of a pending challenge, sealed (ChaCha20-Poly1305 under a key
-- derived from the pepper, bound to the challenge id), so a resend or a
-- fallback to the org's other channel can deliver the same PIN. Wiped
-- (NULL) when the challenge ends.
ALTER TABLE challenges ADD COLUMN pin_sealed BYTEA;
