// FeedPositionStore: where durable feed consumers (`ledger feed --consumer`) and JetStream
// publishers resume (schema/005, table feed_position). One of the three stores of a Database
// (database.h); the feed module (feed/) is its only user. Not thread-safe.
#ifndef LEDGER_ENGINE_PG_FEED_POSITION_STORE_H_
#define LEDGER_ENGINE_PG_FEED_POSITION_STORE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ledger::pg {

struct Connection;

class FeedPositionStore {
 public:
  // REQUIRES: `conn` outlives this store (the Database owns both).
  explicit FeedPositionStore(Connection* conn) : conn_(conn) {}

  // The stored position of `name`; `kind` is "feed" or "publish". 0 when never stored.
  absl::StatusOr<int64_t> Read(const std::string& kind, const std::string& name);
  // Stores a position in its own transaction. Moves forward only, unless `rewind` (an explicit
  // `feed --from`), so that a slower duplicate of a consumer never moves it back.
  absl::Status Set(const std::string& kind, const std::string& name, int64_t seq,
                   bool rewind = false);

 private:
  Connection* conn_;
};

}  // namespace ledger::pg

#endif  // LEDGER_ENGINE_PG_FEED_POSITION_STORE_H_
