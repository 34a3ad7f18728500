-- The code the recipient keeps (salur_core::receipt::code, without hyphens): the public check
-- page finds the receipt by it. Not unique: two receipts of 60 random-looking bits may collide
-- (about once in 20 000 periods of ten million receipts), and the check shows the first.
ALTER TABLE receipts ADD COLUMN code TEXT;
CREATE INDEX receipts_code ON receipts (code);

-- What recipients report from the check page ("I received less", "I was not paid"), tied to the
-- receipt; the note is sealed (people write names in it).
CREATE TABLE complaints (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    receipt_id       TEXT NOT NULL REFERENCES receipts (id),
    kind             TEXT NOT NULL CHECK (kind IN ('received_less', 'not_paid')),
    amount_received  BIGINT CHECK (amount_received >= 0),
    note             TEXT,
    created_ms       BIGINT NOT NULL
);
CREATE INDEX complaints_receipt ON complaints (receipt_id);
