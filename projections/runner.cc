#include "projections/runner.h"

#include <algorithm>
#include <limits>

#include "engine/fold_snapshot.h"
#include "engine/hash_chain.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {

absl::StatusOr<std::array<int64_t, kProjectionCount>> LoadCheckpoints(pg::Database* store) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, store->projections().ReadCheckpoints());
  std::array<int64_t, kProjectionCount> out{};
  for (const auto& [name, seq] : rows) {
    if (std::optional<Projection> p = ParseProjection(name)) out[static_cast<size_t>(*p)] = seq;
  }
  return out;
}

absl::Status WriteChanges(pg::Database* store, Projector& projector) {
  LEDGER_ASSIGN_OR_RETURN(auto checkpoints, LoadCheckpoints(store));
  ProjectionRows changes = projector.TakeChanges();
  std::vector<std::string> moved;
  for (int i = 0; i < kProjectionCount; ++i) {
    // A projection already at or past this fold's head was written by a fold at least as new.
    if (checkpoints[static_cast<size_t>(i)] >= projector.head_seq()) continue;
    LEDGER_RETURN_IF_ERROR(store->projections().Upsert(changes[static_cast<size_t>(i)]));
    moved.emplace_back(ProjectionName(static_cast<Projection>(i)));
  }
  return store->projections().SetCheckpoints(moved, projector.head_seq());
}

CatchUpRunner::CatchUpRunner(pg::Database* store, ProjectorOptions options, ChainTrust* trust)
    : store_(store), options_(options), trust_(trust) {}

absl::Status CatchUpRunner::Trim() {
  if (options_.snapshot_retention == 0) return absl::OkStatus();
  const TimeMicros kept_from = NowMicros() - options_.snapshot_retention;
  LEDGER_ASSIGN_OR_RETURN(int64_t deleted, store_->projections().TrimSnapshots(kept_from));
  snapshots_trimmed_ += deleted;
  trimmed_to_ = kept_from;
  return absl::OkStatus();
}

absl::Status CatchUpRunner::Flush() {
  LEDGER_RETURN_IF_ERROR(store_->projections().BeginProjection(pg::ProjectionCommit::kDerived));
  pg::TransactionGuard tx(store_);
  LEDGER_RETURN_IF_ERROR(WriteChanges(store_, *projector_));
  LEDGER_RETURN_IF_ERROR(Trim());
  LEDGER_RETURN_IF_ERROR(tx.Commit());
  pending_ = 0;
  return absl::OkStatus();
}

absl::Status CatchUpRunner::StartFold(const std::array<int64_t, kProjectionCount>& checkpoints) {
  projector_.reset();
  int64_t start = 0;
  Sha256 start_hash = kGenesisHash;
  const int64_t lowest = *std::min_element(checkpoints.begin(), checkpoints.end());
  if (use_snapshot_ && lowest > 0) {
    Sequencer fold;
    absl::StatusOr<bool> loaded = store_->snapshots().LoadLatest(
        [&fold](int64_t seq, const Sha256& hash, int format, ByteReader& in) {
          fold = Sequencer();  // A second call starts again (pg::SnapshotDecoder).
          return DecodeStoredFoldSnapshot(in, seq, hash, format, &fold);
        },
        lowest);
    if (loaded.ok() && *loaded) {
      start = fold.head_seq();
      start_hash = fold.head_hash();
      projector_.emplace(
          Projector::Resume(options_, checkpoints, std::move(fold).ReleaseState(), start));
    } else if (!loaded.ok()) {
      // An outage is an outage (retried); anything else only costs the full fold.
      if (IsTransient(loaded.status()) || absl::IsUnknown(loaded.status())) return loaded.status();
      if (on_snapshot_skipped_) {
        const absl::string_view why = loaded.status().message();
        on_snapshot_skipped_(std::string_view(why.data(), why.size()));
      }
    }
  }
  if (!projector_) projector_.emplace(options_, checkpoints);
  guard_.emplace(start, start_hash, trust_);
  fold_started_at_ = start;
  if (progress_ != nullptr) progress_->store(start, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CatchUpRunner::RunOnce() {
  if (!projector_) {
    LEDGER_ASSIGN_OR_RETURN(auto checkpoints, LoadCheckpoints(store_));
    LEDGER_RETURN_IF_ERROR(StartFold(checkpoints));
  }
  int64_t applied = 0;
  LEDGER_RETURN_IF_ERROR(store_->log().Scan(projector_->head_seq(), [&](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(guard_->Check(row));
    LEDGER_RETURN_IF_ERROR(projector_->Apply(row));
    if (progress_ != nullptr) progress_->store(row.seq, std::memory_order_relaxed);
    ++applied;
    return ++pending_ >= kProjectBatchEvents ? Flush() : absl::OkStatus();
  }));
  if (pending_ > 0) {
    LEDGER_RETURN_IF_ERROR(Flush());
  } else if (options_.snapshot_retention > 0 &&
             NowMicros() - options_.snapshot_retention - trimmed_to_ >= kRetentionStepMicros) {
    LEDGER_RETURN_IF_ERROR(store_->projections().BeginProjection(pg::ProjectionCommit::kDerived));
    pg::TransactionGuard tx(store_);
    LEDGER_RETURN_IF_ERROR(Trim());
    LEDGER_RETURN_IF_ERROR(tx.Commit());
  }
  return applied;
}

absl::Status CatchUpRunner::Follow(const std::atomic<bool>& stop, const RetryObserver& on_retry,
                                   int retries_max) {
  Backoff backoff(retries_max);
  while (!stop.load()) {
    absl::Status status = RunOnce().status();
    if (status.ok() && !stop.load()) status = store_->log().WaitForAppend(kFollowPollMs).status();
    if (status.ok()) {
      backoff.Reset(on_retry);
      continue;
    }
    if (!IsTransient(status)) return status;
    if (!backoff.Wait(status, on_retry, &stop)) return stop.load() ? absl::OkStatus() : status;
    // What was folded but not written is re-derived from the checkpoints on the new connection. A
    // failed reconnect leaves the broken one, and the next RunOnce reports kUnavailable again.
    projector_.reset();
    pending_ = 0;
    store_->Reconnect().IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status InlineProjection::Init(pg::Database* store) {
  LEDGER_ASSIGN_OR_RETURN(auto checkpoints, LoadCheckpoints(store));
  projector_.emplace(options_, checkpoints);
  return absl::OkStatus();
}

absl::Status InlineProjection::OnRow(const LoggedEvent& row) { return projector_->Apply(row); }

absl::Status InlineProjection::BeforeCommit(pg::Database* store) {
  LEDGER_RETURN_IF_ERROR(store->projections().BeginProjection(pg::ProjectionCommit::kDurable));
  return WriteChanges(store, *projector_);
}

absl::Status Rebuild(pg::Database* store, ProjectorOptions options,
                     const std::vector<Projection>& only,
                     const std::function<void(const RebuildProgress&)>& progress,
                     ChainTrust* trust) {
  std::vector<Projection> selected = only;
  if (selected.empty()) {
    selected = {Projection::kMarket, Projection::kBet, Projection::kFlaggedWallet,
                Projection::kPoolSnapshot};
  }
  LEDGER_ASSIGN_OR_RETURN(auto head, store->log().Head());
  Projector projector = Projector::ForFullFold(options);
  projector.ReserveForEvents(head.first);
  RebuildProgress state{0, head.first};
  constexpr int64_t kProgressEvery = 100000;
  ChainGuard guard(0, kGenesisHash, trust);
  LEDGER_RETURN_IF_ERROR(store->log().Stream(0, [&](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(guard.Check(row));
    LEDGER_RETURN_IF_ERROR(projector.Apply(row));
    if (progress && ++state.events % kProgressEvery == 0) progress(state);
    return absl::OkStatus();
  }));
  state.events = projector.head_seq();
  if (progress) progress(state);

  // In table order (Market first, as the seed's clients expect to find a bet's market). Rows
  // stream from the fold into COPY, never all in memory.
  std::sort(selected.begin(), selected.end());
  std::vector<TableSource> tables;
  for (Projection p : selected) {
    const TableRows& shape = EmptyTable(p);
    tables.push_back({shape.table, shape.columns,
                      [&projector, p](const RowSink& sink) { projector.ForEachRow(p, sink); }});
  }
  LEDGER_RETURN_IF_ERROR(store->projections().FillShadowTables(tables));
  // Everything so far is in the shadow tables; track only what is appended meanwhile.
  const int64_t filled = projector.head_seq();
  projector.SetCheckpoints({filled, filled, filled, filled});

  LEDGER_RETURN_IF_ERROR(store->projections().BeginProjection(pg::ProjectionCommit::kDurable));
  pg::TransactionGuard tx(store);
  LEDGER_RETURN_IF_ERROR(store->projections().SwapShadowTables(tables));
  // Rows appended while the shadows were filled: apply them in the same transaction.
  LEDGER_RETURN_IF_ERROR(store->log().Scan(projector.head_seq(), [&](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(guard.Check(row));
    return projector.Apply(row);
  }));
  ProjectionRows tail = projector.TakeChanges();
  std::vector<std::string> names;
  for (Projection p : selected) {
    LEDGER_RETURN_IF_ERROR(store->projections().Upsert(tail[static_cast<size_t>(p)]));
    names.emplace_back(ProjectionName(p));
  }
  LEDGER_RETURN_IF_ERROR(store->projections().SetCheckpoints(names, projector.head_seq()));
  return tx.Commit();
}

}  // namespace ledger
