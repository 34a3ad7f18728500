-- The key attestation certificate chain a device sent at registration (JSON array of base64 DER,
-- leaf first), for the administrator who approves it. NULL when the device sent none.
ALTER TABLE devices ADD COLUMN attestation TEXT;
