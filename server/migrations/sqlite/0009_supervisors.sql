-- Supervisors who approve overrides: each holds a secret (made by `salur supervisor add`) that
-- answers the phone's 8-digit challenge; the server checks every override's code against it.
CREATE TABLE supervisors (
    supervisor_id  TEXT PRIMARY KEY,
    post_office    TEXT NOT NULL,
    secret         BLOB NOT NULL,
    created_ms     INTEGER NOT NULL,
    revoked_ms     INTEGER
);

-- What the check of an override's approval found: verified, missing, invalid, unknown_supervisor,
-- self_approved (NULL for receipts that are not overrides). Overrides stored before this column
-- carried no approval code.
ALTER TABLE receipts ADD COLUMN override_approval TEXT;
UPDATE receipts SET override_approval = 'missing' WHERE method = 'supervisor_override';
CREATE INDEX receipts_override_unverified ON receipts (roster_id)
    WHERE override_approval IS NOT NULL AND override_approval <> 'verified';
-- The dashboard counts overrides by approval state (roster_counts): rebuilt once.
UPDATE stats_state SET rebuild_needed = 1;
