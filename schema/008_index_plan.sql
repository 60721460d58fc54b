-- 008: the projections' index plan, first step (issue #17; docs/indexes.md says which query each
-- index serves, and its measured cost). An index no query reads, or that repeats a UNIQUE
-- constraint's own index, costs every write and serves nothing: it goes. Two of the seed's queries
-- get one composite index each instead of single-column ones. The seed's SQL, Prisma and SQLAlchemy
-- clients depend on the tables, columns and UNIQUE constraints, which are unchanged; indexes only
-- change plans. In one transaction: the tables are locked against writes while the two composites
-- are built (about a second for a 1M-event log's 400k bets).

-- "Market"."marketId" and "FlaggedWallet".wallet are UNIQUE: their constraints' indexes serve
-- every look-up by them; these were the same B-tree a second time.
DROP INDEX IF EXISTS idx_market_marketId;
DROP INDEX IF EXISTS idx_flaggedwallet_wallet;

-- No query filters or sorts on a bet's choice, nor on a market's endDate (`markets close-expired`
-- decides from the log's fold; "Market" holds one row a market).
DROP INDEX IF EXISTS idx_bet_choice;
DROP INDEX IF EXISTS idx_market_endDate;

-- "Get Market with Statistics" and the pool-snapshot job join a market's CONFIRMED bets: one index
-- on (marketId, status) finds exactly them; its leading column also serves every look-up by
-- marketId alone (Prisma's `include: { bets }`), so the two single-column indexes go.
CREATE INDEX IF NOT EXISTS idx_bet_marketId_status ON "Bet"("marketId", status);
DROP INDEX IF EXISTS idx_bet_marketId;
DROP INDEX IF EXISTS idx_bet_status;

-- "Get Pool History" reads a market's newest snapshots: (marketId, createdAt DESC) answers it in
-- index order, without a sort, and still serves look-ups by marketId alone.
CREATE INDEX IF NOT EXISTS idx_poolsnapshot_marketId_createdAt
    ON "PoolSnapshot"("marketId", "createdAt" DESC);
DROP INDEX IF EXISTS idx_poolsnapshot_marketId;
