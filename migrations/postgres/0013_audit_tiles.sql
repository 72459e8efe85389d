-- Roots of the audit tree's perfect subtrees of 256 events ("tiles"),
-- written by the checkpointer after it verified them. An untrusted cache
-- that lets proofs skip re-reading the whole log: a wrong row only makes a
-- proof fail against the signed checkpoint, never forges one.
CREATE TABLE audit_tiles (
    idx   BIGINT PRIMARY KEY,    -- tile i covers events 256*i+1 ..= 256*(i+1)
    root  BYTEA NOT NULL
);
