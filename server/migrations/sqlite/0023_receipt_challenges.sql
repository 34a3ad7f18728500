-- The random live-check challenge a format 3 receipt signs (receipt `evidence.live.challenge`,
-- 0 to 63): a payment whose challenge repeats the recipient's previous one is flagged, since an
-- honest phone draws it afresh at every visit. Indexed per recipient for that one look-up.
ALTER TABLE receipts ADD COLUMN challenge INTEGER;
CREATE INDEX receipts_recipient_challenge ON receipts (roster_id, recipient, signed_ms) WHERE challenge IS NOT NULL;
