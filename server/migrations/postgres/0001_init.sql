-- Same schema as migrations/sqlite, in PostgreSQL types.
CREATE TABLE devices (
    device_id      TEXT PRIMARY KEY,
    worker_id      TEXT NOT NULL,
    post_office    TEXT NOT NULL,
    public_key     BYTEA NOT NULL,
    key_id         BYTEA NOT NULL UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'revoked')),
    registered_ms  BIGINT NOT NULL,
    status_ms      BIGINT NOT NULL
);

CREATE TABLE receipts (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES devices (device_id),
    seq          BIGINT NOT NULL,
    prev         BYTEA NOT NULL,
    hash         BYTEA NOT NULL,
    cose         BYTEA NOT NULL,
    roster_id    TEXT NOT NULL,
    recipient    BYTEA NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    method       TEXT,
    amount       BIGINT NOT NULL,
    signed_ms    BIGINT NOT NULL,
    received_ms  BIGINT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX receipts_roster ON receipts (roster_id, outcome);

CREATE TABLE reallocations (
    receipt_id   TEXT PRIMARY KEY REFERENCES receipts (id),
    roster_id    TEXT NOT NULL,
    recipient    BYTEA NOT NULL,
    amount       BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    note         TEXT,
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'reallocated')),
    created_ms   BIGINT NOT NULL
);
