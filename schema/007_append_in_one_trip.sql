-- 007: a batch of log rows appended in one round trip (docs/decisions.md, "Session 9: one round trip
-- per append"). A statement of its own, in autocommit: it takes the append lock, checks that the log's
-- head is still the one the writer built the rows on, inserts them, announces the new head and
-- commits, all before the writer hears back: one network round trip and one fsync, as for a one-row
-- INSERT. When another writer moved the head meanwhile it inserts nothing and says 'moved' (the
-- writer then takes the long way: catch up and redo the batch under the lock); when the head row is
-- still there but no longer hashes to what the writer read, 'altered' and nothing is inserted. With
-- no rows it only tells whether the head is still there (a batch of rejections and duplicates).
--
-- VOLATILE (the default): in READ COMMITTED each statement below takes a new snapshot, so the head is
-- read after the lock is held, never before. SECURITY INVOKER (the default): the caller needs its own
-- INSERT privilege on the log, so EXECUTE for everyone grants nothing. The rows come as a JSON array
-- of objects keyed by column name (every column of the table, NULL where absent), values in their
-- text form; the lock key and channel are the engine's (engine/pg/log_store.cc).
CREATE OR REPLACE FUNCTION ledger_append_rows(lock_key BIGINT, expected_seq BIGINT,
                                              expected_hash TEXT, rows JSON, channel TEXT)
RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
    inserted BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT seq, hash INTO head_seq, head_hash FROM "BetHistory" ORDER BY seq DESC LIMIT 1;
    IF COALESCE(head_seq, 0) <> expected_seq THEN
        RETURN 'moved';
    END IF;
    IF head_seq IS NOT NULL AND head_hash <> expected_hash THEN
        RETURN 'altered ' || head_hash;
    END IF;
    INSERT INTO "BetHistory" SELECT * FROM json_populate_recordset(NULL::"BetHistory", rows);
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted > 0 THEN
        PERFORM pg_notify(channel, (expected_seq + inserted)::TEXT);
    END IF;
    RETURN 'ok';
END;
$$;
