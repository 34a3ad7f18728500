-- Every paid face of a programme period, for the national 1:N check (domain/duplicates.rs).
-- `seq` comes from face_seq's one row, which an insert locks until it commits: seq order is
-- commit order, so an instance that reads the faces after its own commit sees every face any
-- instance committed before it (of two faces stored at once, the later reader sees the other).
CREATE TABLE faces (
    seq         BIGINT PRIMARY KEY,
    receipt_id  TEXT NOT NULL UNIQUE REFERENCES receipts (id),
    roster_id   TEXT NOT NULL,
    recipient   BLOB NOT NULL,
    person      BLOB NOT NULL,
    vector      BLOB NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE INDEX faces_roster ON faces (roster_id, seq);
CREATE TABLE face_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    next  BIGINT NOT NULL
);
INSERT INTO face_seq (id, next) VALUES (1, 0);
-- One face under two recipients, found by the 1:N check: both receipts (ordered by id).
CREATE TABLE face_duplicates (
    receipt_a   TEXT NOT NULL,
    receipt_b   TEXT NOT NULL,
    roster_id   TEXT NOT NULL,
    score_e6    BIGINT NOT NULL,
    found_ms    BIGINT NOT NULL,
    PRIMARY KEY (receipt_a, receipt_b)
);
CREATE INDEX face_duplicates_roster ON face_duplicates (roster_id);
