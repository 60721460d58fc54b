-- 006: fold snapshots (docs/decisions.md, "Fast start"). The appender's whole in-memory view of the
-- log (LedgerState, the identity filter, the chain head) at one position, so that `ledger append`
-- and `ledger serve` start from it and fold only the rows after it instead of the whole log. Not
-- PoolSnapshot, and not a source of truth: the log is. A snapshot is used only when its checksum
-- holds and the log's row at its position still has the hash it was made from; otherwise the
-- appender says why and folds the whole log. Written by `ledger fold-snapshot`, by `ledger append`
-- after a long fold, by `ledger serve` when it stops; the newest few are kept.
CREATE TABLE IF NOT EXISTS fold_snapshot (
    seq BIGINT PRIMARY KEY CHECK (seq > 0),
    hash TEXT NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    format INTEGER NOT NULL,
    bytes BIGINT NOT NULL CHECK (bytes >= 0),
    checksum TEXT NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    "createdAt" TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);
-- The bytes, in parts of 1900 bytes: rows below the TOAST threshold, so that reading a snapshot
-- back is a sequential read of rows (fetching one large value back from TOAST costs PostgreSQL
-- about 10 ms a MB). Written and read in binary (engine/pg/snapshot_store.cc).
CREATE TABLE IF NOT EXISTS fold_snapshot_part (
    seq BIGINT NOT NULL REFERENCES fold_snapshot (seq) ON DELETE CASCADE,
    part INTEGER NOT NULL CHECK (part >= 0),
    data BYTEA NOT NULL,
    PRIMARY KEY (seq, part)
);
GRANT SELECT, INSERT, DELETE ON fold_snapshot, fold_snapshot_part TO ledger_app;
