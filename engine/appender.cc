#include "engine/appender.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/check.h"
#include "engine/event_codec.h"
#include "engine/line_reader.h"
#include "engine/pg/database.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger {

Appender::Appender(pg::Database* store, AppendOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.batch_events < 1) options_.batch_events = 1;
  if (options_.batch_events > kBatchEventsMax) options_.batch_events = kBatchEventsMax;
}

absl::Status Appender::CatchUp() {
  if (!snapshot_tried_) {
    snapshot_tried_ = true;
    if (options_.use_snapshot && options_.observer == nullptr && sequencer_.head_seq() == 0) {
      LEDGER_RETURN_IF_ERROR(LoadSnapshot());
    }
  }
  return store_->log().Stream(sequencer_.head_seq(), [this](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(sequencer_.Replay(row));
    head_recorded_at_ = row.recorded_at;
    return options_.observer ? options_.observer->OnRow(row) : absl::OkStatus();
  });
}

absl::Status Appender::LoadSnapshot() {
  absl::StatusOr<bool> loaded = store_->snapshots().LoadLatest(
      [this](int64_t seq, const Sha256& hash, int format, ByteReader& in) {
        sequencer_ = Sequencer();  // A second call starts again (pg::SnapshotDecoder).
        return DecodeStoredFoldSnapshot(in, seq, hash, format, &sequencer_);
      });
  if (loaded.ok()) {
    snapshot_seq_ = sequencer_.head_seq();
    return absl::OkStatus();  // Loaded, or there is none yet.
  }
  sequencer_ = Sequencer();
  // An outage is an outage (retried); anything else only costs the full fold.
  if (IsTransient(loaded.status()) || absl::IsUnknown(loaded.status())) return loaded.status();
  if (options_.on_snapshot_skipped) {
    const absl::string_view why = loaded.status().message();
    options_.on_snapshot_skipped(std::string_view(why.data(), why.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Appender::SaveSnapshot(int64_t events_past_newest) {
  LEDGER_ASSIGN_OR_RETURN(const int64_t newest, store_->snapshots().LatestSeq());
  if (sequencer_.head_seq() == 0) return int64_t{0};
  if (sequencer_.head_seq() - newest < events_past_newest) {
    // Recent enough (saved by another process, or before a --no-snapshot fold): count from it.
    snapshot_seq_ = std::max(snapshot_seq_, std::min(newest, sequencer_.head_seq()));
    return int64_t{0};
  }
  const std::string bytes = EncodeFoldSnapshot(sequencer_);
  LEDGER_RETURN_IF_ERROR(store_->snapshots().Save(sequencer_.head_seq(), sequencer_.head_hash(),
                                                  kFoldSnapshotFormat, bytes));
  snapshot_seq_ = sequencer_.head_seq();
  return static_cast<int64_t>(bytes.size());
}

absl::Status Appender::Restart() {
  LEDGER_RETURN_IF_ERROR(store_->Reconnect());
  sequencer_ = Sequencer();
  snapshot_tried_ = false;
  snapshot_seq_ = 0;
  head_recorded_at_.reset();
  if (options_.observer) LEDGER_RETURN_IF_ERROR(options_.observer->Reset(store_));
  return CatchUp();
}

absl::Status Appender::WithRetry(const std::function<absl::Status()>& step,
                                 AppendSummary* summary) {
  Backoff backoff(options_.retries_max);
  absl::Status status = step();
  while (!status.ok() && IsTransient(status)) {
    if (redo_base_seq_ < 0) redo_base_seq_ = batch_base_seq_;
    if (!backoff.Wait(status, options_.on_retry)) break;
    ++summary->retries;
    status = Restart();
    if (status.ok()) status = step();
  }
  redo_base_seq_ = -1;
  return status;
}

absl::Status Appender::Run(std::istream& in, AppendSummary* summary) {
  // Fold what is already committed before taking the lock, so the lock is held only for the tail.
  LEDGER_RETURN_IF_ERROR(WithRetry([this] { return CatchUp(); }, summary));
  LineReader reader(in, kLineBytesMax);
  std::vector<InputLine> batch;
  batch.reserve(static_cast<size_t>(options_.batch_events));
  LineReader::Line line;
  bool more = true;
  while (more) {
    more = reader.Next(&line);
    if (more && !line.too_long && line.text.find_first_not_of(" \t") == std::string::npos) {
      continue;  // Blank lines separate nothing and mean nothing.
    }
    if (more) {
      batch.push_back(InputLine{line.number, std::move(line.text), line.too_long, line.length});
    }
    if (!batch.empty() && (!more || static_cast<int64_t>(batch.size()) >= options_.batch_events)) {
      std::vector<LineResult> results;
      LEDGER_RETURN_IF_ERROR(WithRetry(
          [&] { return AppendBatch(batch, summary, options_.on_result ? &results : nullptr); },
          summary));
      batch.clear();
    }
  }
  if (in.bad()) return absl::DataLossError("reading the input failed");
  return absl::OkStatus();
}

absl::Status Appender::AppendLines(const std::vector<InputLine>& lines,
                                   std::vector<LineResult>* results, AppendSummary* summary) {
  LEDGER_CHECK(static_cast<int64_t>(lines.size()) <= kBatchEventsMax, "a batch of ", lines.size(),
               " lines");
  return WithRetry([&] { return AppendBatch(lines, summary, results); }, summary);
}

absl::Status Appender::AppendBatch(const std::vector<InputLine>& lines, AppendSummary* summary,
                                   std::vector<LineResult>* results) {
  if (options_.observer == nullptr && head_recorded_at_ && lines.size() <= pg::kOneTripRowsMax) {
    LEDGER_ASSIGN_OR_RETURN(const bool done, AppendBatchInOneTrip(lines, summary, results));
    if (done) return absl::OkStatus();
    ++one_trip_fallbacks_;  // Another writer moved the head: the long way, which catches up.
  }
  batch_base_seq_ = sequencer_.head_seq();
  LEDGER_ASSIGN_OR_RETURN(const TimeMicros now, store_->log().BeginAppend());
  pg::TransactionGuard tx(store_);
  // Rows other writers committed since our last batch. When the stored head is our own, there are
  // none: the catch-up's COPY (four round trips) is skipped. A stored head row altered meanwhile is
  // still caught, by Write.
  if (store_->log().batch_head_seq() != sequencer_.head_seq()) LEDGER_RETURN_IF_ERROR(CatchUp());
  batch_base_seq_ = sequencer_.head_seq();
  BatchOutcome batch;
  batch.want_results = results != nullptr;
  LEDGER_RETURN_IF_ERROR(OfferBatch(lines, now, &batch));
  if (!batch.rows.empty()) LEDGER_RETURN_IF_ERROR(store_->log().Write(batch.rows));
  if (batch.want_results) LEDGER_RETURN_IF_ERROR(ResolveHashes(&batch));
  if (options_.observer) {
    for (const LoggedEvent& row : batch.rows) LEDGER_RETURN_IF_ERROR(options_.observer->OnRow(row));
    LEDGER_RETURN_IF_ERROR(options_.observer->BeforeCommit(store_));
  }
  LEDGER_RETURN_IF_ERROR(tx.Commit());
  head_recorded_at_ = now;  // At or after the head's own: a bound for the next batch's clock.
  Report(batch, summary, results);
  return absl::OkStatus();
}

absl::StatusOr<bool> Appender::AppendBatchInOneTrip(const std::vector<InputLine>& lines,
                                                    AppendSummary* summary,
                                                    std::vector<LineResult>* results) {
  // Validated against the fold as it is, then written only if the stored head is still its head
  // (nobody else appended meanwhile), by ledger_append_rows under the lock: the same outcome as
  // the long way, which would have found nothing to catch up on. The clock is this writer's, never
  // behind the head's recordedAt. A batch with no rows still asks, so that its rejections were
  // judged on the current log.
  batch_base_seq_ = sequencer_.head_seq();
  const int64_t head_seq = sequencer_.head_seq();
  const Sha256 head_hash = sequencer_.head_hash();
  const TimeMicros now = std::max(options_.clock(), *head_recorded_at_);
  BatchOutcome batch;
  batch.want_results = results != nullptr;
  sequencer_.BeginTentative();
  const absl::Status offered = OfferBatch(lines, now, &batch);
  const absl::StatusOr<bool> written =
      offered.ok() ? store_->log().AppendInOneTrip(head_seq, head_hash, batch.rows)
                   : absl::StatusOr<bool>(offered);
  if (!written.ok() || !*written) {
    sequencer_.UndoTentative();
    return written;
  }
  sequencer_.KeepTentative();
  ++one_trip_batches_;
  if (!batch.rows.empty()) head_recorded_at_ = now;
  if (batch.want_results) LEDGER_RETURN_IF_ERROR(ResolveHashes(&batch));
  Report(batch, summary, results);
  return true;
}

absl::Status Appender::OfferBatch(const std::vector<InputLine>& lines, TimeMicros now,
                                  BatchOutcome* batch) {
  std::vector<DecodeResult> decoded;
  decoded.reserve(lines.size());
  for (const InputLine& line : lines) {
    decoded.push_back(line.too_long
                          ? DecodeResult(Rejection{ErrorCode::kLineTooLong,
                                                   StrCat("line is ", line.length,
                                                          " bytes, the limit is ", kLineBytesMax)})
                          : DecodeEventLine(line.text, now));
  }
  LEDGER_RETURN_IF_ERROR(LookUpIdentities(decoded));
  for (size_t i = 0; i < lines.size();) {
    size_t end = i + 1;
    if (lines[i].group != 0) {
      while (end < lines.size() && lines[end].group == lines[i].group) ++end;
      LEDGER_RETURN_IF_ERROR(OfferGroup(lines, decoded, i, end, now, batch));
      i = end;
      continue;
    }
    LEDGER_ASSIGN_OR_RETURN(LineResult result,
                            OfferLine(lines[i], std::move(decoded[i]), now, batch));
    if (batch->want_results) batch->results.push_back(std::move(result));
    i = end;
  }
  LEDGER_CHECK(batch->lines() == lines.size(), "a batch of ", lines.size(), " lines came to ",
               batch->lines(), " outcomes");
  return absl::OkStatus();
}

absl::Status Appender::LookUpIdentities(const std::vector<DecodeResult>& decoded) {
  sequencer_.BeginBatch();
  std::vector<std::string> keys;
  keys.reserve(decoded.size());
  for (const DecodeResult& d : decoded) {
    if (const Event* event = std::get_if<Event>(&d))
      keys.push_back(LedgerState::IdentityKey(*event));
  }
  const std::vector<std::string> unresolved = sequencer_.Unresolved(keys);
  if (unresolved.empty()) return absl::OkStatus();
  LEDGER_ASSIGN_OR_RETURN(std::vector<LoggedEvent> found, store_->log().FindIdentities(unresolved));
  for (const LoggedEvent& row : found) sequencer_.Resolve(row);
  return absl::OkStatus();
}

absl::StatusOr<LineResult> Appender::OfferLine(const InputLine& line, DecodeResult decoded,
                                               TimeMicros now, BatchOutcome* out) {
  LineResult result;
  result.line = line.number;
  if (auto* rejection = std::get_if<Rejection>(&decoded)) {
    result.rejection = *rejection;
    out->rejections.push_back({line.number, std::move(*rejection), line.text});
    return result;
  }
  Event& event = std::get<Event>(decoded);
  Sequencer::Offered offered = sequencer_.Offer(event, now);
  switch (offered.outcome) {
    case Sequencer::Outcome::kAccepted:
      result.status = LineResult::Status::kAccepted;
      result.seq = offered.row.seq;
      result.hash = offered.row.hash;
      out->rows.push_back(std::move(offered.row));
      break;
    case Sequencer::Outcome::kDuplicate:
      result.seq = offered.existing_seq;
      if (redo_base_seq_ >= 0 && offered.existing_seq > redo_base_seq_) {
        result.status = LineResult::Status::kAccepted;
        result.recovered = true;
        ++out->recovered;
      } else {
        result.status = LineResult::Status::kDuplicate;
        ++out->duplicates;
      }
      break;
    case Sequencer::Outcome::kConflict: {
      LEDGER_ASSIGN_OR_RETURN(Rejection conflict, ConflictRejection(offered, event, out->rows));
      result.rejection = conflict;
      out->rejections.push_back({line.number, std::move(conflict), line.text});
      break;
    }
    case Sequencer::Outcome::kRejected:
      result.rejection = offered.rejection;
      out->rejections.push_back({line.number, *std::move(offered.rejection), line.text});
      break;
  }
  return result;
}

absl::Status Appender::OfferGroup(const std::vector<InputLine>& lines,
                                  std::vector<DecodeResult>& decoded, size_t begin, size_t end,
                                  TimeMicros now, BatchOutcome* out) {
  // What the batch held before the group, to put back if one of its lines is rejected.
  const size_t rows = out->rows.size();
  const size_t rejections = out->rejections.size();
  const int64_t duplicates = out->duplicates;
  const int64_t recovered = out->recovered;
  std::vector<LineResult> results;
  sequencer_.BeginGroup();
  std::optional<size_t> failed;
  for (size_t i = begin; i < end && !failed; ++i) {
    LEDGER_ASSIGN_OR_RETURN(LineResult result,
                            OfferLine(lines[i], std::move(decoded[i]), now, out));
    if (result.status == LineResult::Status::kRejected) failed = i;
    results.push_back(std::move(result));
  }
  if (!failed) {
    sequencer_.EndGroup();
  } else {
    sequencer_.UndoGroup();
    const Rejection first = *results.back().rejection;
    out->rows.resize(rows);
    out->rejections.resize(rejections);
    out->duplicates = duplicates;
    out->recovered = recovered;
    results.resize(end - begin);
    for (size_t i = begin; i < end; ++i) {
      LineResult& r = results[i - begin];
      r = LineResult();
      r.line = lines[i].number;
      r.rejection = i == *failed ? first
                                 : Rejection{ErrorCode::kAtomicRequestRejected,
                                             StrCat("not applied: line ", lines[*failed].number,
                                                    " of the same all-or-nothing request was "
                                                    "rejected (",
                                                    ErrorCodeName(first.code), ")")};
      out->rejections.push_back({lines[i].number, *r.rejection, lines[i].text});
    }
  }
  if (out->want_results) {
    for (LineResult& r : results) out->results.push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::Status Appender::ResolveHashes(BatchOutcome* batch) {
  const int64_t first_new = batch->rows.empty() ? INT64_MAX : batch->rows.front().seq;
  std::vector<int64_t> stored;
  for (LineResult& r : batch->results) {
    if (!r.seq || r.hash) continue;
    if (*r.seq >= first_new) {
      r.hash = batch->rows[static_cast<size_t>(*r.seq - first_new)].hash;
    } else {
      stored.push_back(*r.seq);
    }
  }
  if (stored.empty()) return absl::OkStatus();
  LEDGER_ASSIGN_OR_RETURN(auto hashes, store_->log().Hashes(stored));
  for (LineResult& r : batch->results) {
    if (!r.seq || r.hash) continue;
    auto it = hashes.find(*r.seq);
    if (it == hashes.end()) {
      return absl::DataLossError(
          StrCat("the log has no row at seq ", *r.seq, ", which the identity index names"));
    }
    r.hash = it->second;
  }
  return absl::OkStatus();
}

void Appender::Report(BatchOutcome& batch, AppendSummary* summary,
                      std::vector<LineResult>* results) const {
  if (!batch.rows.empty()) {
    if (!summary->first_seq) summary->first_seq = batch.rows.front().seq;
    summary->last_seq = batch.rows.back().seq;
  }
  summary->accepted += static_cast<int64_t>(batch.rows.size());
  summary->duplicates += batch.duplicates;
  summary->recovered += batch.recovered;
  summary->rejected += static_cast<int64_t>(batch.rejections.size());
  if (options_.on_reject) {
    for (const LineRejection& r : batch.rejections) {
      options_.on_reject(r.number, r.rejection, r.text);
    }
  }
  if (options_.on_result) {
    for (const LineResult& r : batch.results) options_.on_result(r);
  }
  if (results != nullptr) *results = std::move(batch.results);
  if (options_.on_batch) options_.on_batch(*summary);
}

boost::json::object LineResultJson(const LineResult& r) {
  auto or_null = [](bool present, boost::json::value v) {
    return present ? v : boost::json::value(nullptr);
  };
  return boost::json::object{
      {"line", r.line},
      {"status", LineStatusName(r.status)},
      {"seq", or_null(r.seq.has_value(), r.seq.value_or(0))},
      {"hash", or_null(r.hash.has_value(), r.hash ? boost::json::value(ToHex(*r.hash)) : nullptr)},
      {"code",
       or_null(r.rejection.has_value(),
               r.rejection ? boost::json::value(ErrorCodeName(r.rejection->code)) : nullptr)},
      {"message", or_null(r.rejection.has_value(),
                          r.rejection ? boost::json::value(r.rejection->message) : nullptr)},
      {"recovered", r.recovered}};
}

std::string_view LineStatusName(LineResult::Status status) {
  switch (status) {
    case LineResult::Status::kAccepted:
      return "accepted";
    case LineResult::Status::kDuplicate:
      return "duplicate";
    case LineResult::Status::kRejected:
      return "rejected";
  }
  return "rejected";
}

absl::StatusOr<Rejection> Appender::ConflictRejection(const Sequencer::Offered& offered,
                                                      const Event& event,
                                                      const std::vector<LoggedEvent>& rows) {
  std::optional<LoggedEvent> existing;
  if (!rows.empty() && offered.existing_seq >= rows.front().seq) {
    existing = rows[static_cast<size_t>(offered.existing_seq - rows.front().seq)];
  } else {
    absl::StatusOr<LoggedEvent> read = store_->log().Read(offered.existing_seq);
    if (!read.ok()) return read.status();
    existing = *std::move(read);
  }
  return Rejection{ErrorCode::kIdentityConflict,
                   StrCat("same identity (", existing->identity_key, ") as the event at seq ",
                          offered.existing_seq, " but different ",
                          absl::StrJoin(DifferingFields(event, existing->event), ", "))};
}

}  // namespace ledger
