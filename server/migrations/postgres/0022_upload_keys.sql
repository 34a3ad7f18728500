-- A phone's second key (docs/receipts.md, "Two keys"): it signs uploads while the phone is locked
-- and is accepted only for handing in receipts, evidence and the chain's status. Its SPKI and the
-- attestation chain sent for it at registration; unique, like the device keys.
ALTER TABLE devices ADD COLUMN upload_key BYTEA;
ALTER TABLE devices ADD COLUMN upload_attestation TEXT;
CREATE UNIQUE INDEX devices_upload_key ON devices (upload_key);
