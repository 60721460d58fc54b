#include "engine/appender.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/event_codec.h"
#include "engine/line_reader.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

namespace ledger {

Appender::Appender(pg::LogStore* store, AppendOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.batch_events < 1) options_.batch_events = 1;
  if (options_.batch_events > kBatchEventsMax) options_.batch_events = kBatchEventsMax;
}

absl::Status Appender::CatchUp() {
  return store_->Stream(sequencer_.head_seq(), [this](const LoggedEvent& row) {
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
    if (!batch.empty() &&
        (!more || static_cast<int64_t>(batch.size()) >= options_.batch_events)) {
      LEDGER_RETURN_IF_ERROR(WithRetry([&] { return AppendBatch(batch, summary); }, summary));
      batch.clear();
    }
  }
  if (in.bad()) return absl::DataLossError("reading the input failed");
  return absl::OkStatus();
}

absl::Status Appender::AppendBatch(const std::vector<PendingLine>& lines,
                                   AppendSummary* summary) {
  batch_base_seq_ = sequencer_.head_seq();
  absl::StatusOr<TimeMicros> now = store_->BeginAppend();
  if (!now.ok()) return now.status();
  if (absl::Status s = CatchUp(); !s.ok()) {
    store_->Abort();
    return s;
  }
  batch_base_seq_ = sequencer_.head_seq();
  std::vector<LoggedEvent> rows;
  std::vector<LineRejection> rejections;
  int64_t duplicates = 0;
  int64_t recovered = 0;
  for (const PendingLine& line : lines) {
    DecodeResult decoded =
        line.too_long
            ? DecodeResult(Rejection{ErrorCode::kLineTooLong,
                                     StrCat("line is ", line.length, " bytes, the limit is ", kLineBytesMax)})
            : DecodeEventLine(line.text, *now);
    if (auto* rejection = std::get_if<Rejection>(&decoded)) {
      rejections.push_back({line.number, std::move(*rejection), line.text});
      continue;
    }
    Event& event = std::get<Event>(decoded);
    Sequencer::Offered offered = sequencer_.Offer(event, *now);
    switch (offered.outcome) {
      case Sequencer::Outcome::kAccepted:
        rows.push_back(std::move(offered.row));
        break;
      case Sequencer::Outcome::kDuplicate:
        if (redo_base_seq_ >= 0 && offered.existing_seq > redo_base_seq_) {
          ++recovered;
        } else {
          ++duplicates;
        }
        break;
      case Sequencer::Outcome::kConflict: {
        absl::StatusOr<Rejection> conflict = ConflictRejection(offered, event, rows);
        if (!conflict.ok()) {
          store_->Abort();
          return conflict.status();
        }
        rejections.push_back({line.number, *std::move(conflict), line.text});
        break;
      }
      case Sequencer::Outcome::kRejected:
        rejections.push_back({line.number, *std::move(offered.rejection), line.text});
        break;
    }
  }
  if (!rows.empty()) {
    if (absl::Status s = store_->Write(rows); !s.ok()) {
      store_->Abort();
      return s;
    }
  }
  if (options_.observer) {
    for (const LoggedEvent& row : rows) {
      if (absl::Status s = options_.observer->OnRow(row); !s.ok()) {
        store_->Abort();
        return s;
      }
    }
    if (absl::Status s = options_.observer->BeforeCommit(store_); !s.ok()) {
      store_->Abort();
      return s;
    }
  }
  LEDGER_RETURN_IF_ERROR(store_->Commit());
  if (!rows.empty()) {
    if (!summary->first_seq) summary->first_seq = rows.front().seq;
    summary->last_seq = rows.back().seq;
  }
  summary->accepted += static_cast<int64_t>(rows.size());
  summary->duplicates += duplicates;
  summary->recovered += recovered;
  summary->rejected += static_cast<int64_t>(rejections.size());
  if (options_.on_reject) {
    for (const LineRejection& r : rejections) options_.on_reject(r.number, r.rejection, r.text);
  }
  if (options_.on_batch) options_.on_batch(*summary);
  return absl::OkStatus();
}

absl::StatusOr<Rejection> Appender::ConflictRejection(const Sequencer::Offered& offered,
                                                      const Event& event,
                                                      const std::vector<LoggedEvent>& rows) {
  std::optional<LoggedEvent> existing;
  if (!rows.empty() && offered.existing_seq >= rows.front().seq) {
    existing = rows[static_cast<size_t>(offered.existing_seq - rows.front().seq)];
  } else {
    absl::StatusOr<LoggedEvent> read = store_->Read(offered.existing_seq);
    if (!read.ok()) return read.status();
    existing = *std::move(read);
  }
  return Rejection{
      ErrorCode::kIdentityConflict,
      StrCat("same identity (", existing->identity_key, ") as the event at seq ",
                   offered.existing_seq, " but different ",
                   absl::StrJoin(DifferingFields(event, existing->event), ", "))};
}

}  // namespace ledger
