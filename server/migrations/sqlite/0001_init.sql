-- Devices register with their public key; an administrator approves or revokes them.
CREATE TABLE devices (
    device_id      TEXT PRIMARY KEY,
    worker_id      TEXT NOT NULL,
    post_office    TEXT NOT NULL,
    public_key     BLOB NOT NULL,
    key_id         BLOB NOT NULL UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'revoked')),
    registered_ms  INTEGER NOT NULL,
    status_ms      INTEGER NOT NULL
);

-- Every verified receipt, once. (device_id, seq) is unique: a second receipt for a sequence
-- number is a fork and is refused.
CREATE TABLE receipts (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES devices (device_id),
    seq          INTEGER NOT NULL,
    prev         BLOB NOT NULL,
    hash         BLOB NOT NULL,
    cose         BLOB NOT NULL,
    roster_id    TEXT NOT NULL,
    recipient    BLOB NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    method       TEXT,
    amount       INTEGER NOT NULL,
    signed_ms    INTEGER NOT NULL,
    received_ms  INTEGER NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX receipts_roster ON receipts (roster_id, outcome);

-- Funds freed by recipients found ineligible, queued for reallocation.
CREATE TABLE reallocations (
    receipt_id   TEXT PRIMARY KEY REFERENCES receipts (id),
    roster_id    TEXT NOT NULL,
    recipient    BLOB NOT NULL,
    amount       INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    note         TEXT,
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'reallocated')),
    created_ms   INTEGER NOT NULL
);
