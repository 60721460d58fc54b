-- 003: where each projection has got to in the log. Updated in the same transaction as the rows it
-- covers, so a projection is never ahead of or behind its checkpoint.
CREATE TABLE IF NOT EXISTS projection_checkpoint (
    projection TEXT PRIMARY KEY,
    seq BIGINT NOT NULL CHECK (seq >= 0),
    "updatedAt" TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);
GRANT SELECT, INSERT, UPDATE ON projection_checkpoint TO ledger_app;
