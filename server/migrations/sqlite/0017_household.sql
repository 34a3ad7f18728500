-- The members of each recipient's Kartu Keluarga who may collect for them with a power of
-- attorney (surat kuasa): their keyed reference (what a proxy receipt names), NIK and name sealed.
CREATE TABLE household (
    roster_id   TEXT NOT NULL,
    recipient   BLOB NOT NULL,
    member      BLOB NOT NULL,
    nik         TEXT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (roster_id, recipient, member),
    FOREIGN KEY (roster_id, recipient) REFERENCES recipients (roster_id, recipient) ON DELETE CASCADE
);
-- Proxy payments per device, summed per worker on the dashboard (a worker with many is worth a look).
ALTER TABLE device_stats ADD COLUMN proxy_paid INTEGER NOT NULL DEFAULT 0;
