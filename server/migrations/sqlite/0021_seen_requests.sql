-- Signed requests already received (the SHA-256 of each verified signature), shared by every
-- instance over this database so that a request replayed through another instance is refused
-- too; each row may go once its request's time is past the clock skew (expires_ms).
CREATE TABLE seen_requests (
    id          BLOB PRIMARY KEY,
    expires_ms  BIGINT NOT NULL
);
CREATE INDEX seen_requests_expiry ON seen_requests (expires_ms);
