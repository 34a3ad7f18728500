-- The programme's signing key for invitation letters (PKCS#8, sealed like the roster keys):
-- it never leaves the server; phones and auditors get its public key.
CREATE TABLE programme_keys (
    key_name    TEXT PRIMARY KEY,
    pkcs8       BYTEA NOT NULL,
    created_ms  BIGINT NOT NULL
);
