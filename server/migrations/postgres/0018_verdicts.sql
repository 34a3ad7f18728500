-- The server's own verdict on each face payment (domain/verdict.rs: pending, verified, mismatch,
-- no_evidence, no_reference) and its own score of the evidence crop against the reference it holds.
ALTER TABLE receipts ADD COLUMN verdict TEXT;
ALTER TABLE receipts ADD COLUMN server_score_e6 BIGINT;
CREATE INDEX receipts_verdict ON receipts (roster_id, verdict, received_ms);
-- A receipt uploaded by a revoked device: kept (nothing honest is stranded) but counted nowhere
-- until an auditor decides (neither its clock nor its sequence proves when it was signed).
ALTER TABLE receipts ADD COLUMN held BIGINT NOT NULL DEFAULT 0;
-- What the close counted (the report's figures as JSON): a later run reproduces them from here.
ALTER TABLE closed_periods ADD COLUMN counted TEXT;
-- When a recipient joined the roster (0: before this column): a recipient a reallocation adds
-- after the close is reported apart, so the closed retur list stays what the close counted.
ALTER TABLE recipients ADD COLUMN added_ms BIGINT NOT NULL DEFAULT 0;
