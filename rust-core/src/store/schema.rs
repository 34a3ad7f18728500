//! The store's schema, as migrations (`rusqlite_migration`, tracked in `user_version`).

use rusqlite_migration::{Migrations, M};

const V1: &str = r#"
CREATE TABLE device (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    device_id   TEXT NOT NULL,
    worker_id   TEXT NOT NULL,
    public_key  BLOB NOT NULL            -- SPKI DER of the signing key
);

-- Recipients assigned to this device. NIKs and face templates are AES-256-GCM sealed under the
-- data key, bound to their row; names stay clear so the worker can search them.
CREATE TABLE roster (
    roster_id     TEXT NOT NULL,
    recipient     BLOB NOT NULL,         -- keyed hash of the NIK (what receipts name)
    nik_enc       BLOB NOT NULL,
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount >= 0),
    template_enc  BLOB,
    PRIMARY KEY (roster_id, recipient)
) WITHOUT ROWID;

-- Append-only: the signed bytes are the record. Triggers refuse any change or deletion.
CREATE TABLE receipts (
    seq         INTEGER PRIMARY KEY CHECK (seq >= 1),
    id          TEXT NOT NULL UNIQUE,
    cose        BLOB NOT NULL,
    hash        BLOB NOT NULL,
    roster_id   TEXT NOT NULL,
    recipient   BLOB NOT NULL,
    outcome     TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE INDEX receipts_recipient ON receipts (roster_id, recipient);
CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN SELECT RAISE(ABORT, 'receipts are append-only'); END;

-- Upload state of each receipt.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY REFERENCES receipts (seq),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'acknowledged', 'rejected')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    reason      TEXT,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX outbox_state ON outbox (state, seq);

-- The aligned face crop behind a receipt's evidence hash (small JPEG, sealed).
CREATE TABLE evidence (
    seq         INTEGER PRIMARY KEY REFERENCES receipts (seq),
    crop_enc    BLOB NOT NULL
);
"#;

// What the sync client remembers between runs (one row): the status the worker sees.
const V2: &str = r#"
CREATE TABLE sync_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    clock_offset_ms  INTEGER NOT NULL DEFAULT 0,  -- server time minus phone time
    last_attempt_ms  INTEGER,
    last_success_ms  INTEGER,
    last_error       TEXT,
    last_error_kind  TEXT,
    last_error_ms    INTEGER
);
INSERT INTO sync_state (id) VALUES (1);
"#;

// When each evidence crop finished uploading (NULL: not yet).
const V3: &str = "ALTER TABLE evidence ADD COLUMN uploaded_ms INTEGER;";

// A face enrolled on the phone at the first visit, kept apart from the registry's template so that
// a roster refresh (which rewrites the registry columns) never loses it.
const V4: &str = "ALTER TABLE roster ADD COLUMN enrolled_enc BLOB;";

// An evidence crop the server refused (too large, not the signed bytes...): when, and why. The
// crop is kept and tried again at a later sync; receipts go on uploading meanwhile.
const V5: &str =
    "ALTER TABLE evidence ADD COLUMN refused_ms INTEGER; ALTER TABLE evidence ADD COLUMN refused_reason TEXT;";

// Invitation letters: the programme's public key that came with each roster (letters are
// verified offline against it), and the letter scanned at a recipient's door, which the receipts
// recorded for that recipient afterwards name.
const V6: &str = r#"
CREATE TABLE programme_key (
    roster_id   TEXT PRIMARY KEY,
    spki        BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE scanned_letter (
    roster_id   TEXT NOT NULL,
    recipient   BLOB NOT NULL,
    letter_id   TEXT NOT NULL,
    scanned_ms  INTEGER NOT NULL,
    PRIMARY KEY (roster_id, recipient)
) WITHOUT ROWID;
"#;

// Collection by a family member: the members of each recipient's Kartu Keluarga who may collect
// with a power of attorney (NIK sealed; name to compare with the e-KTP shown), and the photo of
// the surat kuasa behind a proxy payment (sealed, its hash signed in the receipt).
const V7: &str = r#"
CREATE TABLE household (
    roster_id   TEXT NOT NULL,
    recipient   BLOB NOT NULL,
    member      BLOB NOT NULL,
    nik_enc     BLOB NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (roster_id, recipient, member)
) WITHOUT ROWID;
CREATE TABLE kuasa (
    seq         INTEGER PRIMARY KEY REFERENCES receipts (seq),
    photo_enc   BLOB NOT NULL
);
"#;

// The photo of the proxy's own e-KTP, sealed beside the surat kuasa (its hash is signed too): the
// card their live face was matched to, for the auditor to compare.
const V8: &str = r#"
ALTER TABLE kuasa ADD COLUMN card_enc BLOB;
"#;

// The phone's second key (request signing while locked, `sync`): its SPKI once the server
// accepted it at registration, so that uploads are signed with it only where the server knows it.
const V9: &str = "ALTER TABLE device ADD COLUMN upload_key BLOB;";

// What a payment's live face was compared with when the server holds no such reference (the
// e-KTP photo's face crop, the enrolled template): sealed, uploaded with the evidence.
const V10: &str = r#"
CREATE TABLE reference_parts (
    seq           INTEGER PRIMARY KEY REFERENCES receipts (seq),
    card_face_enc BLOB,
    enrolled_enc  BLOB,
    uploaded_ms   INTEGER
);
"#;

/// All migrations, oldest first.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        M::up(V10),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
