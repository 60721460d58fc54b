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

bool FoldByEventTime(Projector& projector, const LoggedEvent& row, TimeMicros until,
                     EventTimeCut* cut) {
  if (row.event.created_at > until) {
    ++cut->after_cut;
    return false;
  }
  // Projector::Apply changes nothing when the event breaks a rule.
  if (absl::Status applied = projector.Apply(row); !applied.ok()) {
    ++cut->held_back_total;
    if (cut->held_back.size() < kHeldBackListedMax) {
      cut->held_back.push_back({row.seq, std::string(applied.message())});
    }
    return false;
  }
  ++cut->folded;
  cut->last_recorded_seq = row.seq;
  return true;
}

absl::StatusOr<Projector> ReplayUntil(pg::Database* store, const ReplayPoint& point,
                                      ProjectorOptions options, ChainTrust* trust,
                                      EventTimeCut* cut) {
  EventTimeCut unused;
  if (cut == nullptr) cut = &unused;
  Projector projector = Projector::ForFullFold(options);
  ChainGuard guard(0, kGenesisHash, trust);
  absl::Status status = store->log().Stream(0, [&](const LoggedEvent& row) {
    if (point.event_time) {  // Every row is read: an event that happened early may arrive late.
      LEDGER_RETURN_IF_ERROR(guard.Check(row));
      FoldByEventTime(projector, row, *point.event_time, cut);
      return absl::OkStatus();
    }
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
