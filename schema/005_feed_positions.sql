-- 005: where each durable feed consumer (`ledger feed --consumer NAME`) and each NATS publisher
-- (`ledger publish`, one row per JetStream stream) has got to in the log. A position only advances
-- after the output up to it was written (feed) or acknowledged by JetStream (publish).
CREATE TABLE IF NOT EXISTS feed_position (
    kind TEXT NOT NULL CHECK (kind IN ('feed', 'publish')),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    seq BIGINT NOT NULL CHECK (seq >= 0),
    "updatedAt" TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    PRIMARY KEY (kind, name)
);
GRANT SELECT, INSERT, UPDATE ON feed_position TO ledger_app;
