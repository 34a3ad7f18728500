-- Why the server doubts a stored receipt (recipient not on the roster, another worker's recipient,
-- amount differs from the roster); NULL when it matches.
ALTER TABLE receipts ADD COLUMN flag TEXT;
