-- A closed period: its report was written; receipts for it arriving later are kept and marked
-- late (the report does not change under the auditor's feet).
CREATE TABLE closed_periods (
    roster_id   TEXT PRIMARY KEY REFERENCES rosters (roster_id),
    closed_ms   BIGINT NOT NULL,
    closed_by   TEXT NOT NULL
);
ALTER TABLE receipts ADD COLUMN late BIGINT NOT NULL DEFAULT 0;
