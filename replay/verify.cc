#include "replay/verify.h"

#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "boost/json.hpp"
#include "engine/hash_chain.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "projections/runner.h"

namespace ledger {
namespace {

const std::vector<std::string>& TimestampColumns() {
  static const std::vector<std::string> kColumns = {"createdAt", "updatedAt", "startDate",
                                                    "endDate", "unflaggedAt"};
  return kColumns;
}

}  // namespace

namespace {

// A row's content in 64 bits, for the merge below: equal rows always agree, different rows differ
// except with probability 2^-64 (absl::Hash is seeded per process, so a tamperer cannot aim for a
// collision).
uint64_t RowFingerprint(const Row& row) {
  size_t h = absl::Hash<size_t>{}(row.size());
  for (const std::optional<std::string>& field : row) {
    h = absl::HashOf(h, field.has_value(), field ? std::string_view(*field) : std::string_view());
  }
  return h;
}

struct ExpectedRow {
  std::string key;
  uint64_t fingerprint;
};

// A Market row is keyed by a UUID nobody reads: its drift is also named by its marketId.
void NameMarketDrift(const Projector& projector, std::vector<Drift>* drift) {
  const bool any = std::any_of(drift->begin(), drift->end(), [](const Drift& d) {
    return d.table == EmptyTable(Projection::kMarket).table && d.name.empty();
  });
  if (!any) return;
  absl::flat_hash_map<std::string, std::string> names;  // id -> marketId; markets are few.
  projector.ForEachRow(Projection::kMarket,
                       [&](const Row& row) { names[*row[0]] = row[1].value_or(""); });
  for (Drift& d : *drift) {
    if (d.table != EmptyTable(Projection::kMarket).table || !d.name.empty()) continue;
    if (auto it = names.find(d.key); it != names.end()) d.name = it->second;
  }
}

}  // namespace

absl::Status CompareWithLive(pg::Database* store, const Projector& projector,
                             std::vector<Drift>* drift, std::map<std::string, int64_t>* counts,
                             size_t findings_max, std::array<bool, kProjectionCount> skip,
                             const RowFilter& keep) {
  std::map<std::string, int64_t> uncounted;
  if (counts == nullptr) counts = &uncounted;
  // PoolSnapshot rows created before the retention horizon were trimmed on purpose: neither
  // expected nor refused (a catch-up may write one back before its next trim).
  LEDGER_ASSIGN_OR_RETURN(std::optional<TimeMicros> horizon,
                          store->projections().SnapshotHorizon());
  const std::string kept_from = horizon ? FormatPgTimestamp(*horizon) : std::string();
  // Rows missing or unexpected are counted here; rows that differ where their fingerprint does
  // (one count a row, however many of its columns differ).
  auto add = [drift, counts, findings_max](Drift d) {
    if (d.kind != "DIFFERENT_VALUE") ++(*counts)[StrCat(d.table, " ", d.kind)];
    if (drift->size() < findings_max) drift->push_back(std::move(d));
  };
  for (int i = 0; i < kProjectionCount; ++i) {
    if (skip[static_cast<size_t>(i)]) continue;
    const Projection p = static_cast<Projection>(i);
    const TableRows& shape = EmptyTable(p);
    const size_t created_at = static_cast<size_t>(
        std::find(shape.columns.begin(), shape.columns.end(), "createdAt") - shape.columns.begin());
    // Trimmed on purpose, or outside what the caller asked about: not compared.
    auto trimmed = [&](const Row& row) {
      return (p == Projection::kPoolSnapshot && horizon && *row[created_at] < kept_from) ||
             (keep && !keep(p, row));
    };
    // The expected rows as (key, fingerprint) in key byte order, merged with the live table
    // streamed in the same order: memory is a key and 8 bytes a row, not the rows.
    std::vector<ExpectedRow> expected;
    projector.ForEachRow(p, [&](const Row& row) {
      if (!trimmed(row)) expected.push_back({*row.front(), RowFingerprint(row)});
    });
    std::sort(expected.begin(), expected.end(),
              [](const ExpectedRow& a, const ExpectedRow& b) { return a.key < b.key; });
    size_t next = 0;
    // Rows whose content differs: kept (found side) to name the columns below. Bounded: drift past
    // findings_max is not reported anyway.
    absl::flat_hash_map<std::string, Row> differing;
    LEDGER_RETURN_IF_ERROR(store->projections().StreamTable(
        shape.table, shape.columns, TimestampColumns(), [&](const Row& found) {
          if (trimmed(found)) return absl::OkStatus();
          const std::string& key = *found.front();
          for (; next < expected.size() && expected[next].key < key; ++next) {
            add({shape.table, expected[next].key, "MISSING_ROW", "", std::nullopt, std::nullopt,
                 ""});
          }
          if (next == expected.size() || expected[next].key != key) {
            // Not in the fold: a Market row's name comes from the row itself.
            add({shape.table, key, "UNEXPECTED_ROW", "", std::nullopt, std::nullopt,
                 p == Projection::kMarket ? found[1].value_or("") : ""});
          } else {
            if (expected[next].fingerprint != RowFingerprint(found)) {
              ++(*counts)[StrCat(shape.table, " DIFFERENT_VALUE")];
              if (differing.size() < findings_max) differing.emplace(key, found);
            }
            ++next;
          }
          return absl::OkStatus();
        }));
    for (; next < expected.size(); ++next) {
      add({shape.table, expected[next].key, "MISSING_ROW", "", std::nullopt, std::nullopt, ""});
    }
    if (differing.empty()) continue;
    projector.ForEachRow(p, [&](const Row& want) {
      auto it = differing.find(*want.front());
      if (it == differing.end()) return;
      const Row& found = it->second;
      for (size_t c = 1; c < found.size(); ++c) {
        if (found[c] != want[c]) {
          add({shape.table, it->first, "DIFFERENT_VALUE", shape.columns[c], want[c], found[c], ""});
        }
      }
    });
  }
  NameMarketDrift(projector, drift);
  return absl::OkStatus();
}

namespace {

// Rows handed from the scanning thread to the fold thread, in order; bounded.
class RowPipe {
 public:
  // Blocks while kVerifyBatchesInFlight batches wait.
  void Push(std::vector<LoggedEvent> batch) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return batches_.size() < kVerifyBatchesInFlight; });
    batches_.push_back(std::move(batch));
    ready_.notify_one();
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    ready_.notify_one();
  }
  // The next batch, or false once closed and drained.
  bool Pop(std::vector<LoggedEvent>* batch) {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [this] { return !batches_.empty() || closed_; });
    if (batches_.empty()) return false;
    *batch = std::move(batches_.front());
    batches_.pop_front();
    space_.notify_one();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::vector<LoggedEvent>> batches_;
  bool closed_ = false;
};

// CPU time of the calling thread: what the thread did, not how long it waited for a core.
double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Folds what the pipe delivers; a row that breaks a rule is recorded and skipped.
void FoldRows(RowPipe& pipe, Projector& projector, size_t findings_max,
              std::vector<ChainBreak>* breaks, int64_t* breaks_total, double* cpu_seconds) {
  std::vector<LoggedEvent> batch;
  while (pipe.Pop(&batch)) {
    const double start = ThreadCpuSeconds();
    // The fold waits on memory (a bet's slot per event): start loading a few rows ahead.
    constexpr size_t kPrefetchAhead = 16;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i + kPrefetchAhead < batch.size()) {
        projector.state().Prefetch(batch[i + kPrefetchAhead].event);
      }
      const LoggedEvent& row = batch[i];
      if (absl::Status s = projector.Apply(row); !s.ok()) {
        ++*breaks_total;
        if (breaks->size() < findings_max) {
          breaks->push_back({row.seq, "RULE_BROKEN", std::string(s.message())});
        }
      }
    }
    *cpu_seconds += ThreadCpuSeconds() - start;
  }
}

// The chain side of verify, row by row on the scanning thread: each row's link to the one before
// (CheckLink), and the row at the digest's position.
class ChainAudit {
 public:
  ChainAudit(const std::optional<LogDigest>& digest, size_t findings_max, VerifyReport* report)
      : digest_(digest), findings_max_(findings_max), report_(report) {}

  void Check(const LoggedEvent& row) {
    ++report_->rows;
    if (const LinkFaults faults = CheckLink(prev_seq_, prev_hash_, row); !faults.ok()) {
      for (ChainBreak& b : faults.Describe(prev_seq_, prev_hash_, row)) Add(std::move(b));
    }
    if (digest_ && row.seq == digest_->seq) {
      digest_seen_ = true;
      if (row.hash != digest_->hash) {
        report_->digest_problem =
            StrCat("the row at the digest's position ", digest_->seq, " has hash ", ToHex(row.hash),
                   ", the digest says ", ToHex(digest_->hash), ": the log was rewritten");
      } else if (digest_->recorded_at && row.recorded_at != *digest_->recorded_at) {
        report_->digest_problem = StrCat("the row at the digest's position ", digest_->seq,
                                         " was recorded at ", FormatRfc3339(row.recorded_at),
                                         ", the digest says ", FormatRfc3339(*digest_->recorded_at),
                                         ": the digest was edited, or the log rewritten");
      }
    }
    prev_hash_ = row.hash;
    prev_seq_ = row.seq;
    report_->head_seq = row.seq;
    report_->head_hash = row.hash;
  }

  // After the last row: a digest whose position never came. On a hot standby a log shorter than
  // the digest may only be replication lag, which the standby cannot tell from a truncation.
  void Finish(bool standby) {
    if (!digest_ || digest_seen_) return;
    // A digest of the empty log: position 0 holds no row, only the genesis hash.
    if (digest_->seq == 0 && digest_->hash == kGenesisHash) return;
    if (digest_->seq <= report_->head_seq) {
      report_->digest_problem =
          StrCat("the digest's position ", digest_->seq, " is missing from the log");
    } else if (standby) {
      report_->digest_problem =
          StrCat("the digest is at position ", digest_->seq,
                 " but this hot standby has the log only to ", report_->head_seq,
                 ": it lags the primary, or the log was truncated; verify again once "
                 "it has caught up, or on the primary");
    } else {
      report_->digest_problem =
          StrCat("the digest is at position ", digest_->seq, " but the log ends at ",
                 report_->head_seq, ": the log was truncated");
    }
  }

 private:
  void Add(ChainBreak b) {
    ++report_->counts[StrCat("chain ", b.kind)];
    if (report_->breaks.size() < findings_max_) report_->breaks.push_back(std::move(b));
  }

  const std::optional<LogDigest>& digest_;
  const size_t findings_max_;
  VerifyReport* report_;
  int64_t prev_seq_ = 0;
  Sha256 prev_hash_ = kGenesisHash;
  bool digest_seen_ = false;
};

}  // namespace

absl::StatusOr<std::array<bool, kProjectionCount>> FindBehind(pg::Database* store, int64_t head_seq,
                                                              VerifyReport* report) {
  LEDGER_ASSIGN_OR_RETURN(auto checkpoints, LoadCheckpoints(store));
  std::array<bool, kProjectionCount> skip{};
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    if (checkpoints[i] == head_seq) continue;
    skip[i] = true;
    const Projection p = static_cast<Projection>(i);
    report->behind.push_back({std::string(ProjectionName(p)), EmptyTable(p).table, checkpoints[i]});
    ++report->counts[StrCat(EmptyTable(p).table, checkpoints[i] < head_seq ? " BEHIND" : " AHEAD")];
  }
  return skip;
}

absl::StatusOr<VerifyReport> Verify(pg::Database* store, const std::optional<LogDigest>& digest,
                                    ProjectorOptions options, size_t findings_max) {
  VerifyReport report;
  Projector projector = Projector::ForFullFold(options);
  LEDGER_ASSIGN_OR_RETURN(auto head, store->log().Head());
  projector.ReserveForEvents(head.first);
  ChainAudit audit(digest, findings_max, &report);
  const absl::Time start = absl::Now();
  double chain = 0;
  double fold = 0;
  std::vector<ChainBreak> rule_breaks;
  RowPipe pipe;
  int64_t rule_breaks_total = 0;
  std::thread folder(
      [&] { FoldRows(pipe, projector, findings_max, &rule_breaks, &rule_breaks_total, &fold); });
  std::vector<LoggedEvent> batch;
  batch.reserve(kVerifyBatchRows);
  absl::Status scanned = store->log().Stream(0, [&](const LoggedEvent& row) {
    // Wall time (the vDSO clock is cheap enough per row; the thread CPU clock is a system call).
    const absl::Time row_start = absl::Now();
    audit.Check(row);
    chain += absl::ToDoubleSeconds(absl::Now() - row_start);
    batch.push_back(row);
    if (batch.size() >= kVerifyBatchRows) {
      pipe.Push(std::move(batch));
      batch.clear();
      batch.reserve(kVerifyBatchRows);
    }
    return absl::OkStatus();
  });
  if (!batch.empty()) pipe.Push(std::move(batch));
  pipe.Close();
  folder.join();
  LEDGER_RETURN_IF_ERROR(scanned);
  if (rule_breaks_total > 0) report.counts["chain RULE_BROKEN"] = rule_breaks_total;
  // One report in position order: chain findings and rule breaks interleaved.
  report.breaks.insert(report.breaks.end(), rule_breaks.begin(), rule_breaks.end());
  std::stable_sort(report.breaks.begin(), report.breaks.end(),
                   [](const ChainBreak& a, const ChainBreak& b) { return a.seq < b.seq; });
  if (report.breaks.size() > findings_max) report.breaks.resize(findings_max);
  audit.Finish(store->is_standby());
  report.chain_seconds = chain;
  report.fold_seconds = fold;
  report.engine_seconds = chain + fold;
  const absl::Time scanned_at = absl::Now();
  report.scan_seconds = absl::ToDoubleSeconds(scanned_at - start);
  LEDGER_ASSIGN_OR_RETURN(const auto skip, FindBehind(store, report.head_seq, &report));
  LEDGER_RETURN_IF_ERROR(
      CompareWithLive(store, projector, &report.drift, &report.counts, findings_max, skip));
  // Expected values come from the log: a broken or rewritten one cannot judge a table.
  report.drift_judged = !report.digest_problem &&
                        std::none_of(report.counts.begin(), report.counts.end(), [](const auto& c) {
                          return absl::StartsWith(c.first, "chain ");
                        });
  report.compare_seconds = absl::ToDoubleSeconds(absl::Now() - scanned_at);
  report.total_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  return report;
}

}  // namespace ledger
