-- 011: a market's events in log order (issue #17, the plan's third step; docs/indexes.md, "The
-- plan's third step", has the before and after). The audit's and the frontend's most common
-- look-up on the log is a market's history, a page at a time: WHERE "marketId" = $1 AND seq > $2
-- ORDER BY seq LIMIT 100 (GET /v1/events?market=). A single-column index on "marketId" finds every
-- row of the market but not in seq order, so PostgreSQL either fetches all of them to sort or walks
-- the whole log in order filtering for it (~100 ms for the busiest market of a 1M-event log, and
-- growing with it). ("marketId", seq) reads exactly the page, and its leading column still serves
-- every other look-up by market (with a time range: bitmap scan, recheck on "createdAt"). Appends
-- insert at each market's own tail, so its hot pages are one per active market, not random.
--
-- In one transaction: appends wait while the index is built (about 1.4 s for a 1M-event log).
CREATE INDEX IF NOT EXISTS idx_bethistory_marketId_seq ON "BetHistory"("marketId", seq);
DROP INDEX IF EXISTS idx_bethistory_marketId;
