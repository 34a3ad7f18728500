-- Reallocation as a workflow: one case per (roster, recipient) at the roster's amount, instead of
-- a row per ineligible report at the amount the device chose. Finance moves a case queued ->
-- approved -> reallocated (naming the new recipient family it went to) or rejected; a later
-- payment cancels an undecided case.
CREATE TABLE reallocation_cases (
    roster_id        TEXT NOT NULL,
    recipient        BLOB NOT NULL,
    amount           INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    note             TEXT,
    first_receipt    TEXT NOT NULL REFERENCES receipts (id),
    reports          INTEGER NOT NULL DEFAULT 1,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'approved', 'rejected', 'reallocated', 'cancelled')),
    approved_by      TEXT,
    decided_by       TEXT,
    decision_reason  TEXT,
    decided_ms       INTEGER,
    new_roster_id    TEXT,
    new_recipient    BLOB,
    cancelled_by     TEXT,
    paid_after_reallocation TEXT,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    PRIMARY KEY (roster_id, recipient)
);
CREATE INDEX reallocation_cases_status ON reallocation_cases (roster_id, status);

-- The old queue's first unflagged report per recipient on the roster becomes its case.
INSERT INTO reallocation_cases (roster_id, recipient, amount, reason, note, first_receipt, reports, created_ms,
                                updated_ms)
SELECT q.roster_id, q.recipient, rc.amount, q.reason, q.note, q.receipt_id,
       (SELECT COUNT(*) FROM reallocations o WHERE o.roster_id = q.roster_id AND o.recipient = q.recipient),
       q.created_ms, q.created_ms
FROM reallocations q
JOIN recipients rc ON rc.roster_id = q.roster_id AND rc.recipient = q.recipient
JOIN receipts r ON r.id = q.receipt_id
WHERE r.flag IS NULL AND rc.standing <> 4
ORDER BY q.created_ms, q.receipt_id
ON CONFLICT (roster_id, recipient) DO NOTHING;
DROP TABLE reallocations;
