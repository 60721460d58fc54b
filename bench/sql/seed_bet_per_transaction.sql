-- The seed's write path (../shared/seed/DATABASE.md), one bet per transaction: insert the Bet, add its
-- stake to the market's pool, insert its BetHistory row. Run by pgbench (scripts/bench) with 4 clients
-- on a database holding only the seed's schema (schema/001) and 1000 markets: the baseline the
-- ledger's append is compared with.
\set n random(1, 1000000000000)
\set m random(1, 1000)
\set wallet random(1, 100000)
BEGIN;
INSERT INTO "Bet" (id, "walletAddress", "marketId", choice, amount, "betNumber", status, "txHash")
  VALUES ('bench-' || :n, '0x' || lpad(to_hex(:wallet), 40, '0'), 'market-' || :m, 'YES', 1000000,
          1 + :n % 1000000, 'CONFIRMED', '0x' || md5(:n::text) || md5(:m::text));
UPDATE "Market" SET "yesPool" = "yesPool" + 1000000, "updatedAt" = now() WHERE "marketId" = 'market-' || :m;
INSERT INTO "BetHistory" (id, "betId", "marketId", wallet, action, "createdAt")
  VALUES (gen_random_uuid()::text, 'bench-' || :n, 'market-' || :m, '0x' || lpad(to_hex(:wallet), 40, '0'),
          'PLACED', now());
END;
