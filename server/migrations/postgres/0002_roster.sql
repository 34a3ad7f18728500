CREATE TABLE rosters (
    roster_id   TEXT PRIMARY KEY,
    roster_key  BYTEA NOT NULL,
    created_ms  BIGINT NOT NULL
);

CREATE TABLE recipients (
    roster_id    TEXT NOT NULL REFERENCES rosters (roster_id),
    recipient    BYTEA NOT NULL,
    nik          TEXT NOT NULL,
    name         TEXT NOT NULL,
    address      TEXT NOT NULL,
    province     TEXT NOT NULL,
    regency      TEXT NOT NULL,
    district     TEXT NOT NULL,
    village      TEXT NOT NULL,
    post_office  TEXT NOT NULL,
    worker_id    TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    template     BYTEA,
    PRIMARY KEY (roster_id, recipient),
    UNIQUE (roster_id, nik)
);
CREATE INDEX recipients_worker ON recipients (roster_id, worker_id);

CREATE TABLE upload_refusals (
    device_id    TEXT NOT NULL,
    result       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    received_ms  BIGINT NOT NULL
);
