-- Same schema as migrations/sqlite, in PostgreSQL types.
CREATE TABLE users (
    name           TEXT PRIMARY KEY,
    role           TEXT NOT NULL CHECK (role IN ('administrator', 'approver', 'supervisor', 'finance', 'auditor', 'viewer')),
    password_hash  TEXT NOT NULL,
    created_ms     BIGINT NOT NULL,
    changed_ms     BIGINT NOT NULL,
    disabled_ms    BIGINT
);

CREATE TABLE api_tokens (
    token_hash  BYTEA PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users (name),
    created_ms  BIGINT NOT NULL
);

CREATE TABLE sessions (
    session_hash  BYTEA PRIMARY KEY,
    user_name     TEXT NOT NULL REFERENCES users (name),
    created_ms    BIGINT NOT NULL,
    expires_ms    BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq     BIGINT PRIMARY KEY,
    at_ms   BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    peer    TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  TEXT,
    prev    BYTEA NOT NULL
);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
