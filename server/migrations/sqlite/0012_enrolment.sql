-- One-time enrolment codes (domain/enrolment.rs), kept as SHA-256 digests only, bound to a worker
-- and post office, with the nonce the phone puts into its key attestation challenge (newest wins).
CREATE TABLE enrolments (
    code_hash         BLOB PRIMARY KEY,
    worker_id         TEXT NOT NULL,
    post_office       TEXT NOT NULL,
    issued_by         TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    expires_ms        INTEGER NOT NULL,
    nonce             BLOB,
    nonce_expires_ms  INTEGER,
    used_ms           INTEGER,
    used_by_device    TEXT
);
CREATE INDEX enrolments_open ON enrolments (expires_ms) WHERE used_ms IS NULL;

-- What the key attestation proved at registration (NULL for devices registered before 0012: read
-- as 'none'), the attestation version and the challenge it carried (hex).
ALTER TABLE devices ADD COLUMN security_level TEXT;
ALTER TABLE devices ADD COLUMN attestation_version INTEGER;
ALTER TABLE devices ADD COLUMN attestation_challenge TEXT;
