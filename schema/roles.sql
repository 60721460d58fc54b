-- Roles for `ledger migrate --roles` (docs/security.md). Not a numbered migration: roles are
-- cluster-wide and need CREATEROLE, which the migrating login may not have, so they are applied on
-- request. Idempotent: creates the three NOLOGIN group roles if missing, then resets and grants
-- exactly what each needs on this database's tables. Grant a group to a login role to use it:
--   CREATE ROLE api LOGIN PASSWORD '...' IN ROLE ledger_writer;
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_writer') THEN
    CREATE ROLE ledger_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_projector') THEN
    CREATE ROLE ledger_projector NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_auditor') THEN
    CREATE ROLE ledger_auditor NOLOGIN;
  END IF;
END
$roles$;

REVOKE ALL ON "BetHistory", "Market", "Bet", "FlaggedWallet", "PoolSnapshot", projection_checkpoint,
    projection_retention, feed_position, schema_migrations, fold_snapshot, fold_snapshot_part
  FROM ledger_writer, ledger_projector, ledger_auditor;
REVOKE CREATE ON SCHEMA public FROM ledger_writer, ledger_auditor;
GRANT USAGE ON SCHEMA public TO ledger_writer, ledger_projector, ledger_auditor;

-- Writer (`append`, `rules run`, `markets close-expired`): reads the log to validate against it and
-- appends; nothing else. No UPDATE, DELETE or TRUNCATE on the log, no write to any projection.
GRANT SELECT, INSERT ON "BetHistory" TO ledger_writer;
-- Fold snapshots (schema/006): the writer starts from them, saves one after a long fold and prunes
-- the old ones.
GRANT SELECT, INSERT, DELETE ON fold_snapshot, fold_snapshot_part TO ledger_writer;

-- Projector (`project`, `rebuild`, `feed --consumer`, `publish`): reads the log; writes the four
-- projections, their checkpoints and retention horizon, and feed positions. A rebuild creates,
-- truncates and drops its shadow tables, hence CREATE on the schema and TRUNCATE on the projections.
GRANT SELECT ON "BetHistory" TO ledger_projector;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON "Market", "Bet", "FlaggedWallet", "PoolSnapshot"
  TO ledger_projector;
GRANT SELECT, INSERT, UPDATE ON projection_checkpoint, feed_position TO ledger_projector;
GRANT SELECT, INSERT, UPDATE, DELETE ON projection_retention TO ledger_projector;
GRANT CREATE ON SCHEMA public TO ledger_projector;

-- Auditor (`verify`, `replay`, `audit`, `reconcile`, `feed` without a consumer, reports): reads
-- everything, writes nothing.
GRANT SELECT ON "BetHistory", "Market", "Bet", "FlaggedWallet", "PoolSnapshot", projection_checkpoint,
    projection_retention, feed_position, schema_migrations, fold_snapshot, fold_snapshot_part
  TO ledger_auditor;
