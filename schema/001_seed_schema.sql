-- 001: the seed's schema as designed (../shared/seed/DATABASE.md, "Manual SQL Migration"), unchanged,
-- so the seed's queries and its Prisma/SQLAlchemy models keep matching. The seed's sample market row
-- is data, not schema: in this ledger a market exists only through a MARKET_CREATED event.
-- Event-sourcing changes follow in 002 and later, each explained in schema/README.md.

CREATE TABLE IF NOT EXISTS "Market" (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::TEXT,
    "marketId" TEXT UNIQUE NOT NULL,
    question TEXT NOT NULL,
    status TEXT DEFAULT 'ACTIVE',
    winner TEXT,
    "yesPool" BIGINT DEFAULT 0,
    "noPool" BIGINT DEFAULT 0,
    "startDate" TIMESTAMP NOT NULL DEFAULT NOW(),
    "endDate" TIMESTAMP NOT NULL,
    "contractAddress" TEXT NOT NULL,
    "gnosisSafeAddress" TEXT NOT NULL,
    "createdAt" TIMESTAMP DEFAULT NOW(),
    "updatedAt" TIMESTAMP DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_market_marketId ON "Market"("marketId");
CREATE INDEX IF NOT EXISTS idx_market_status ON "Market"(status);
CREATE INDEX IF NOT EXISTS idx_market_endDate ON "Market"("endDate");

CREATE TABLE IF NOT EXISTS "Bet" (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::TEXT,
    "walletAddress" TEXT NOT NULL,
    "marketId" TEXT NOT NULL,
    choice TEXT NOT NULL,
    amount BIGINT NOT NULL,
    "betNumber" INTEGER NOT NULL,
    status TEXT DEFAULT 'CONFIRMED',
    "txHash" TEXT,
    "createdAt" TIMESTAMP DEFAULT NOW(),
    FOREIGN KEY ("marketId") REFERENCES "Market"("marketId") ON DELETE CASCADE,
    UNIQUE ("marketId", "walletAddress", "betNumber")
);

CREATE INDEX IF NOT EXISTS idx_bet_wallet ON "Bet"("walletAddress");
CREATE INDEX IF NOT EXISTS idx_bet_marketId ON "Bet"("marketId");
CREATE INDEX IF NOT EXISTS idx_bet_status ON "Bet"(status);
CREATE INDEX IF NOT EXISTS idx_bet_createdAt ON "Bet"("createdAt");
CREATE INDEX IF NOT EXISTS idx_bet_choice ON "Bet"(choice);

CREATE TABLE IF NOT EXISTS "BetHistory" (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::TEXT,
    "betId" TEXT NOT NULL,
    "marketId" TEXT NOT NULL,
    wallet TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT,
    "clawbackAmount" BIGINT,
    "clawbackTxHash" TEXT,
    "createdAt" TIMESTAMP DEFAULT NOW(),
    FOREIGN KEY ("betId") REFERENCES "Bet"(id) ON DELETE CASCADE,
    FOREIGN KEY ("marketId") REFERENCES "Market"("marketId") ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_bethistory_betId ON "BetHistory"("betId");
CREATE INDEX IF NOT EXISTS idx_bethistory_marketId ON "BetHistory"("marketId");
CREATE INDEX IF NOT EXISTS idx_bethistory_wallet ON "BetHistory"(wallet);
CREATE INDEX IF NOT EXISTS idx_bethistory_action ON "BetHistory"(action);
CREATE INDEX IF NOT EXISTS idx_bethistory_createdAt ON "BetHistory"("createdAt");

CREATE TABLE IF NOT EXISTS "FlaggedWallet" (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::TEXT,
    wallet TEXT UNIQUE NOT NULL,
    "marketId" TEXT NOT NULL,
    reason TEXT NOT NULL,
    severity TEXT DEFAULT 'MEDIUM',
    "isActive" BOOLEAN DEFAULT TRUE,
    "createdAt" TIMESTAMP DEFAULT NOW(),
    "unflaggedAt" TIMESTAMP
);

CREATE INDEX IF NOT EXISTS idx_flaggedwallet_wallet ON "FlaggedWallet"(wallet);
CREATE INDEX IF NOT EXISTS idx_flaggedwallet_marketId ON "FlaggedWallet"("marketId");
CREATE INDEX IF NOT EXISTS idx_flaggedwallet_isActive ON "FlaggedWallet"("isActive");

CREATE TABLE IF NOT EXISTS "PoolSnapshot" (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::TEXT,
    "marketId" TEXT NOT NULL,
    "yesPool" BIGINT NOT NULL,
    "noPool" BIGINT NOT NULL,
    "totalBets" INTEGER NOT NULL,
    "createdAt" TIMESTAMP DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_poolsnapshot_marketId ON "PoolSnapshot"("marketId");
CREATE INDEX IF NOT EXISTS idx_poolsnapshot_createdAt ON "PoolSnapshot"("createdAt");
