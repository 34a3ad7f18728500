-- A roster is one programme period; its pseudonymisation key turns NIKs into the recipient
-- references that receipts carry (HMAC-SHA-256, see docs/receipts.md).
CREATE TABLE rosters (
    roster_id   TEXT PRIMARY KEY,
    roster_key  BLOB NOT NULL,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE recipients (
    roster_id    TEXT NOT NULL REFERENCES rosters (roster_id),
    recipient    BLOB NOT NULL,
    nik          TEXT NOT NULL,
    name         TEXT NOT NULL,
    address      TEXT NOT NULL,
    province     TEXT NOT NULL,
    regency      TEXT NOT NULL,
    district     TEXT NOT NULL,
    village      TEXT NOT NULL,
    post_office  TEXT NOT NULL,
    worker_id    TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    template     BLOB,
    PRIMARY KEY (roster_id, recipient),
    UNIQUE (roster_id, nik)
);
CREATE INDEX recipients_worker ON recipients (roster_id, worker_id);

-- Uploads refused, by device and reason (for the dashboard's failure panel; no receipt bytes).
CREATE TABLE upload_refusals (
    device_id    TEXT NOT NULL,
    result       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    received_ms  INTEGER NOT NULL
);
