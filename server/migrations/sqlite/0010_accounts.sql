-- Staff accounts (roles in domain/roles.rs), their bearer tokens and browser sessions. Tokens and
-- sessions are kept as SHA-256 digests of their secrets only; passwords as Argon2id PHC strings.
CREATE TABLE users (
    name           TEXT PRIMARY KEY,
    role           TEXT NOT NULL CHECK (role IN ('administrator', 'approver', 'supervisor', 'finance', 'auditor', 'viewer')),
    password_hash  TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    changed_ms     INTEGER NOT NULL,
    disabled_ms    INTEGER
);

CREATE TABLE api_tokens (
    token_hash  BLOB PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users (name),
    created_ms  INTEGER NOT NULL
);

CREATE TABLE sessions (
    session_hash  BLOB PRIMARY KEY,
    user_name     TEXT NOT NULL REFERENCES users (name),
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL
);

-- The audit log: append-only, hash-chained (domain/audit.rs). `prev` is the SHA-256 of the
-- previous entry's canonical bytes; audit_head holds the last entry's position and hash, so a
-- deleted last entry is noticed too. The head row is updated in the appending transaction (in
-- PostgreSQL its row lock orders concurrent appenders).
CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    peer    TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  TEXT,
    prev    BLOB NOT NULL
);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));
