-- 004: PoolSnapshot retention (`ledger project --snapshot-retention`, the seed's "Clean Old Snapshots").
-- Rows created before "keptFrom" were deleted from the table on purpose; the log still holds every
-- event, so a rebuild brings them back (and removes this row). Written in the same transaction as the
-- DELETE, so `ledger verify` knows exactly which rows the table is expected to hold.
CREATE TABLE IF NOT EXISTS projection_retention (
    projection TEXT PRIMARY KEY CHECK (projection = 'pool_snapshot'),
    "keptFrom" TIMESTAMP NOT NULL,
    "updatedAt" TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);
GRANT SELECT, INSERT, UPDATE, DELETE ON projection_retention TO ledger_app;
