#include "replay/replay.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "engine/chain_guard.h"
#include "engine/hash_chain.h"
#include "engine/status_macros.h"
#include "engine/time_format.h"

namespace ledger {

std::optional<ReplayPoint> ReplayPoint::Parse(const std::string& text) {
  int64_t seq = 0;
  if (absl::SimpleAtoi(text, &seq) && seq >= 0) return AtSeq(seq);
  if (std::optional<TimeMicros> t = ParseRfc3339(text)) return AtTime(*t);
  return std::nullopt;
}

absl::StatusOr<Projector> ReplayUntil(pg::Database* store, const ReplayPoint& point,
                                      ProjectorOptions options, ChainTrust* trust) {
  Projector projector = Projector::ForFullFold(options);
  ChainGuard guard(0, kGenesisHash, trust);
  absl::Status status = store->log().Stream(0, [&](const LoggedEvent& row) {
    if ((point.seq && row.seq > *point.seq) || (point.time && row.recorded_at > *point.time)) {
      return absl::CancelledError("reached the replay point");
    }
    LEDGER_RETURN_IF_ERROR(guard.Check(row));
    return projector.Apply(row);
  });
  if (!status.ok() && !absl::IsCancelled(status)) return status;
  return projector;
}

}  // namespace ledger
