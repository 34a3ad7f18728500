-- Evidence face crops, uploaded after their receipt in resumable chunks. The receipt signs the
-- crop's SHA-256; the server checks it, then keeps the SFace embedding for the 1:N sweep that
-- finds one face collecting for several recipients. The crop itself stays for the auditor.
CREATE TABLE evidence (
    receipt_id   TEXT PRIMARY KEY REFERENCES receipts (id),
    total        INTEGER NOT NULL,
    data         BLOB NOT NULL,
    complete     INTEGER NOT NULL DEFAULT 0,
    embedding    BLOB,
    problem      TEXT,
    updated_ms   BIGINT NOT NULL
);
