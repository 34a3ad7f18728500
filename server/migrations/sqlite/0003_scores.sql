-- Match scores, for the dashboard's low-score panel (millionths, as signed).
ALTER TABLE receipts ADD COLUMN score_e6 INTEGER;
ALTER TABLE receipts ADD COLUMN threshold_e6 INTEGER;
