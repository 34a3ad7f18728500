-- Same schema as migrations/sqlite, in PostgreSQL types.
CREATE TABLE enrolments (
    code_hash         BYTEA PRIMARY KEY,
    worker_id         TEXT NOT NULL,
    post_office       TEXT NOT NULL,
    issued_by         TEXT NOT NULL,
    created_ms        BIGINT NOT NULL,
    expires_ms        BIGINT NOT NULL,
    nonce             BYTEA,
    nonce_expires_ms  BIGINT,
    used_ms           BIGINT,
    used_by_device    TEXT
);
CREATE INDEX enrolments_open ON enrolments (expires_ms) WHERE used_ms IS NULL;

ALTER TABLE devices ADD COLUMN security_level TEXT;
ALTER TABLE devices ADD COLUMN attestation_version BIGINT;
ALTER TABLE devices ADD COLUMN attestation_challenge TEXT;
