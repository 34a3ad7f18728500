-- Personal data is sealed at rest with a key outside the database (server/src/store/seal.rs).
-- The canary, sealed with that key, tells a wrong key at start; NULL until the first start
-- seals what was stored before (store/sealing.rs).
CREATE TABLE seal_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    canary  TEXT
);
INSERT INTO seal_state (id, canary) VALUES (1, NULL);
