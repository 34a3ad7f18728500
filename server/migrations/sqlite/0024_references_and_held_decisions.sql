-- What a format 3 payment's live face was compared with when it is not the registry photo: the
-- aligned face crop of an e-KTP photo (e-KTP and proxy payments) and the template enrolled on the
-- phone, both sealed, both checked against the hashes the receipt signs.
CREATE TABLE receipt_references (
    receipt_id  TEXT PRIMARY KEY REFERENCES receipts (id),
    card_face   BLOB,
    enrolled    BLOB,
    received_ms INTEGER NOT NULL
);
-- The server's score of that reference against the one it holds for the recipient (registry
-- photo, else the first enrolment it verified), in millionths.
ALTER TABLE receipts ADD COLUMN reference_score_e6 INTEGER;
-- The first enrolment the server verified for a recipient without a registry photo (sealed): the
-- reference the recipient's later payments are checked against.
ALTER TABLE recipients ADD COLUMN enrolled_template BLOB;
-- An auditor's decision on a receipt held from a revoked device (`count` or `refuse`), who took
-- it, when and why: taken once.
ALTER TABLE receipts ADD COLUMN held_decision TEXT;
ALTER TABLE receipts ADD COLUMN held_decided_by TEXT;
ALTER TABLE receipts ADD COLUMN held_decided_ms INTEGER;
ALTER TABLE receipts ADD COLUMN held_note TEXT;
