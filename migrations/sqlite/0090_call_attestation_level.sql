-- The caller ID's attestation in neutral terms (full, partial or none), as
-- the provider's adapter read it: the trust policy decides on this column,
-- and `attestation` keeps the provider's own words for people to read.
-- Calls recorded before had only Twilio's StirVerstat.
ALTER TABLE calls ADD COLUMN attestation_level TEXT NOT NULL DEFAULT 'none'
    CHECK (attestation_level IN ('full', 'partial', 'none'));
UPDATE calls SET attestation_level = 'full'
    WHERE TRIM(attestation) = 'TN-Validation-Passed-A';
UPDATE calls SET attestation_level = 'partial'
    WHERE TRIM(attestation) IN ('TN-Validation-Passed-B', 'TN-Validation-Passed-C');
