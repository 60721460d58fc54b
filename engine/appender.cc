#include "engine/appender.h"

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
  return store_->log().Stream(sequencer_.head_seq(), [this](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(sequencer_.Replay(row));
    return options_.observer ? options_.observer->OnRow(row) : absl::OkStatus();
  });
}

absl::Status Appender::Restart() {
  LEDGER_RETURN_IF_ERROR(store_->Reconnect());
  sequencer_ = Sequencer();
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
  std::vector<PendingLine> batch;
  batch.reserve(static_cast<size_t>(options_.batch_events));
  LineReader::Line line;
  bool more = true;
  while (more) {
    more = reader.Next(&line);
    if (more && !line.too_long && line.text.find_first_not_of(" \t") == std::string::npos) {
      continue;  // Blank lines separate nothing and mean nothing.
    }
    if (more) {
      batch.push_back(PendingLine{line.number, std::move(line.text), line.too_long, line.length});
    }
    if (!batch.empty() && (!more || static_cast<int64_t>(batch.size()) >= options_.batch_events)) {
      LEDGER_RETURN_IF_ERROR(WithRetry([&] { return AppendBatch(batch, summary); }, summary));
      batch.clear();
    }
  }
  if (in.bad()) return absl::DataLossError("reading the input failed");
  return absl::OkStatus();
}

absl::Status Appender::AppendBatch(const std::vector<PendingLine>& lines, AppendSummary* summary) {
  batch_base_seq_ = sequencer_.head_seq();
  LEDGER_ASSIGN_OR_RETURN(const TimeMicros now, store_->log().BeginAppend());
  pg::TransactionGuard tx(store_);
  LEDGER_RETURN_IF_ERROR(CatchUp());
  batch_base_seq_ = sequencer_.head_seq();
  BatchOutcome batch;
  for (const PendingLine& line : lines) LEDGER_RETURN_IF_ERROR(OfferLine(line, now, &batch));
  LEDGER_CHECK(batch.lines() == lines.size(), "a batch of ", lines.size(), " lines came to ",
               batch.lines(), " outcomes");
  if (!batch.rows.empty()) LEDGER_RETURN_IF_ERROR(store_->log().Write(batch.rows));
  if (options_.observer) {
    for (const LoggedEvent& row : batch.rows) LEDGER_RETURN_IF_ERROR(options_.observer->OnRow(row));
    LEDGER_RETURN_IF_ERROR(options_.observer->BeforeCommit(store_));
  }
  LEDGER_RETURN_IF_ERROR(tx.Commit());
  Report(batch, summary);
  return absl::OkStatus();
}

absl::Status Appender::OfferLine(const PendingLine& line, TimeMicros now, BatchOutcome* out) {
  DecodeResult decoded =
      line.too_long ? DecodeResult(Rejection{
                          ErrorCode::kLineTooLong,
                          StrCat("line is ", line.length, " bytes, the limit is ", kLineBytesMax)})
                    : DecodeEventLine(line.text, now);
  if (auto* rejection = std::get_if<Rejection>(&decoded)) {
    out->rejections.push_back({line.number, std::move(*rejection), line.text});
    return absl::OkStatus();
  }
  Event& event = std::get<Event>(decoded);
  Sequencer::Offered offered = sequencer_.Offer(event, now);
  switch (offered.outcome) {
    case Sequencer::Outcome::kAccepted:
      out->rows.push_back(std::move(offered.row));
      break;
    case Sequencer::Outcome::kDuplicate:
      if (redo_base_seq_ >= 0 && offered.existing_seq > redo_base_seq_) {
        ++out->recovered;
      } else {
        ++out->duplicates;
      }
      break;
    case Sequencer::Outcome::kConflict: {
      LEDGER_ASSIGN_OR_RETURN(Rejection conflict, ConflictRejection(offered, event, out->rows));
      out->rejections.push_back({line.number, std::move(conflict), line.text});
      break;
    }
    case Sequencer::Outcome::kRejected:
      out->rejections.push_back({line.number, *std::move(offered.rejection), line.text});
      break;
  }
  return absl::OkStatus();
}

void Appender::Report(const BatchOutcome& batch, AppendSummary* summary) const {
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
  if (options_.on_batch) options_.on_batch(*summary);
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
