// What a hot standby (a PostgreSQL streaming replica, docs/deployment.md) has replayed, for the
// reading commands that run on one: they report it, so that an auditor knows how old the log they
// read may be, and the commands that write refuse to run there, naming the primary.
//
// From the standby alone, how far the primary has gone on is not knowable: the standby knows what
// it has received and replayed, and when the last replayed transaction committed on the primary.
// An idle primary therefore looks "behind" by its idle time; `replay_lag_bytes` (received but not
// yet replayed) is the lag the standby itself is responsible for.
#ifndef LEDGER_ENGINE_PG_STANDBY_H_
#define LEDGER_ENGINE_PG_STANDBY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "engine/event.h"

namespace ledger::pg {

// How long a follower on a standby waits before it looks for new rows again: a standby cannot
// LISTEN, so followers there poll (connection.h).
inline constexpr int kStandbyPollMs = 100;

struct StandbyStatus {
  std::string receive_lsn;       // pg_last_wal_receive_lsn(); empty when not streaming.
  std::string replay_lsn;        // pg_last_wal_replay_lsn().
  int64_t replay_lag_bytes = 0;  // Received but not yet replayed.
  // pg_last_xact_replay_timestamp(): when the last replayed transaction committed on the primary;
  // nullopt when none has been replayed since the standby started.
  std::optional<TimeMicros> replayed_commit_at;
  TimeMicros now = 0;    // The standby's clock, for the age of the above.
  int64_t head_seq = 0;  // The log head the standby holds (0: empty log, or no log table).
  // "host=H port=P" of the primary from primary_conninfo, when this role may read it (superusers
  // and pg_read_all_settings); empty otherwise.
  std::string primary;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_STANDBY_H_
