-- Receipt format 2 records the live-person check. `liveness` is the receipt's word (passed,
-- failed, not_run; passed_unrecorded when it says passed without the check's record; NULL for
-- receipts stored before this column, which all predate the check).
-- Payments without a passed live check are counted per device, so the dashboard can list them
-- per worker and per post office.
ALTER TABLE receipts ADD COLUMN liveness TEXT;
ALTER TABLE device_stats ADD COLUMN unlive_paid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX receipts_paid_unlive ON receipts (roster_id)
    WHERE outcome = 'paid' AND (liveness IS NULL OR liveness <> 'passed' OR method = 'supervisor_override');
UPDATE stats_state SET rebuild_needed = 1;
