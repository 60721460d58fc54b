-- 002: BetHistory becomes the event log, the single source of truth. Why each change: schema/README.md.

-- The log must not depend on its projections: a CASCADE from a rebuilt projection would delete the
-- audit trail.
ALTER TABLE "BetHistory" DROP CONSTRAINT IF EXISTS "BetHistory_betId_fkey";
ALTER TABLE "BetHistory" DROP CONSTRAINT IF EXISTS "BetHistory_marketId_fkey";

-- Market actions have no bet and no wallet; WALLET_UNFLAGGED has no bet.
ALTER TABLE "BetHistory" ALTER COLUMN "betId" DROP NOT NULL;
ALTER TABLE "BetHistory" ALTER COLUMN wallet DROP NOT NULL;
-- Every row is written by the ledger with all values given; defaults would hide a bug.
ALTER TABLE "BetHistory" ALTER COLUMN id DROP DEFAULT;
ALTER TABLE "BetHistory" ALTER COLUMN "createdAt" DROP DEFAULT;
ALTER TABLE "BetHistory" ALTER COLUMN "createdAt" SET NOT NULL;

ALTER TABLE "BetHistory"
    ADD COLUMN seq BIGINT NOT NULL,
    ADD COLUMN "identityKey" TEXT NOT NULL,
    ADD COLUMN "eventId" TEXT,
    ADD COLUMN "streamId" TEXT NOT NULL,
    ADD COLUMN "streamVersion" INTEGER NOT NULL,
    ADD COLUMN choice TEXT,
    ADD COLUMN amount BIGINT,
    ADD COLUMN "betNumber" INTEGER,
    ADD COLUMN "txHash" TEXT,
    ADD COLUMN severity TEXT,
    ADD COLUMN winner TEXT,
    ADD COLUMN question TEXT,
    ADD COLUMN "startDate" TIMESTAMP,
    ADD COLUMN "endDate" TIMESTAMP,
    ADD COLUMN "contractAddress" TEXT,
    ADD COLUMN "gnosisSafeAddress" TEXT,
    ADD COLUMN "recordedAt" TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    ADD COLUMN "prevHash" TEXT NOT NULL,
    ADD COLUMN hash TEXT NOT NULL;

ALTER TABLE "BetHistory"
    ADD CONSTRAINT bethistory_seq_key UNIQUE (seq),
    ADD CONSTRAINT bethistory_identity_key UNIQUE ("identityKey"),
    ADD CONSTRAINT bethistory_stream_version_key UNIQUE ("streamId", "streamVersion"),
    ADD CONSTRAINT bethistory_seq_positive CHECK (seq >= 1),
    ADD CONSTRAINT bethistory_action_known CHECK (action IN (
        'MARKET_CREATED', 'MARKET_CLOSED', 'MARKET_RESOLVED', 'PLACED', 'CONFIRMED', 'FLAGGED',
        'CLAWED_BACK', 'REFUNDED', 'WALLET_UNFLAGGED')),
    ADD CONSTRAINT bethistory_bet_only_for_bet_actions CHECK (
        ("betId" IS NULL) = (action IN ('MARKET_CREATED', 'MARKET_CLOSED', 'MARKET_RESOLVED',
                                        'WALLET_UNFLAGGED'))),
    ADD CONSTRAINT bethistory_wallet_unless_market_action CHECK (
        (wallet IS NULL) = (action IN ('MARKET_CREATED', 'MARKET_CLOSED', 'MARKET_RESOLVED'))),
    ADD CONSTRAINT bethistory_amounts_positive CHECK (
        (amount IS NULL OR amount >= 1) AND ("clawbackAmount" IS NULL OR "clawbackAmount" >= 1)),
    ADD CONSTRAINT bethistory_hash_hex CHECK (
        hash ~ '^[0-9a-f]{64}$' AND "prevHash" ~ '^[0-9a-f]{64}$');

-- Immutability is enforced by the database, not by convention.
CREATE OR REPLACE FUNCTION ledger_reject_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'BetHistory is an append-only event log: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS bethistory_no_update_delete ON "BetHistory";
CREATE TRIGGER bethistory_no_update_delete BEFORE UPDATE OR DELETE ON "BetHistory"
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_log_change();
DROP TRIGGER IF EXISTS bethistory_no_truncate ON "BetHistory";
CREATE TRIGGER bethistory_no_truncate BEFORE TRUNCATE ON "BetHistory"
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_log_change();

-- The application role: reads everything, appends to the log, nothing else on it. Roles are global to
-- the cluster, so it is created only when missing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app') THEN
        CREATE ROLE ledger_app NOLOGIN;
    END IF;
END
$$;
GRANT SELECT, INSERT ON "BetHistory" TO ledger_app;
REVOKE UPDATE, DELETE, TRUNCATE ON "BetHistory" FROM ledger_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "Market", "Bet", "FlaggedWallet", "PoolSnapshot" TO ledger_app;
