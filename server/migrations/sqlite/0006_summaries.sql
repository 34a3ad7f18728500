-- Summary tables that keep the dashboard fast at national scale (8.5 million recipients): kept
-- current by ingestion and import in the same transaction, rebuilt from the base tables by
-- Db::rebuild_summaries (run once after this migration, see stats_state).

-- Each recipient's standing: 0 not visited, 1 not home, 2 refused, 3 ineligible, 4 paid.
ALTER TABLE recipients ADD COLUMN standing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recipients ADD COLUMN paid_receipts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recipients ADD COLUMN overridden INTEGER NOT NULL DEFAULT 0;
CREATE INDEX recipients_paid_twice ON recipients (roster_id) WHERE paid_receipts > 1;

CREATE TABLE area_stats (
    roster_id      TEXT NOT NULL,
    province       TEXT NOT NULL,
    regency        TEXT NOT NULL,
    post_office    TEXT NOT NULL,
    recipients     BIGINT NOT NULL DEFAULT 0,
    target_amount  BIGINT NOT NULL DEFAULT 0,
    paid           BIGINT NOT NULL DEFAULT 0,
    paid_amount    BIGINT NOT NULL DEFAULT 0,
    overrides      BIGINT NOT NULL DEFAULT 0,
    ineligible     BIGINT NOT NULL DEFAULT 0,
    refused        BIGINT NOT NULL DEFAULT 0,
    not_home       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (roster_id, province, regency, post_office)
);

CREATE TABLE daily_paid (
    roster_id  TEXT NOT NULL,
    day        BIGINT NOT NULL,
    paid       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (roster_id, day)
);

CREATE TABLE device_stats (
    device_id         TEXT PRIMARY KEY,
    receipts          BIGINT NOT NULL DEFAULT 0,
    max_seq           BIGINT NOT NULL DEFAULT 0,
    overrides         BIGINT NOT NULL DEFAULT 0,
    lag_sum_ms        BIGINT NOT NULL DEFAULT 0,
    last_received_ms  BIGINT
);

-- Receipt counts by roster and name: 'ineligible:<reason>', 'flag:<why>', 'low_score' (paid
-- with a score less than 0.05 above its threshold).
CREATE TABLE roster_counts (
    roster_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    n          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (roster_id, name)
);

CREATE INDEX upload_refusals_device ON upload_refusals (device_id);

CREATE TABLE stats_state (id INTEGER PRIMARY KEY, rebuild_needed INTEGER NOT NULL);
INSERT INTO stats_state (id, rebuild_needed) VALUES (1, 1);
