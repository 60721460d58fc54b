#include "projections/projector.h"

#include <limits>

#include "engine/check.h"
#include "engine/sequencer.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

using Row = std::vector<std::optional<std::string>>;

constexpr std::array<std::string_view, kProjectionCount> kNames = {
    "market", "bet", "flagged_wallet", "pool_snapshot"};

std::string Int(int64_t v) { return StrCat(v); }
std::string Time(TimeMicros t) { return FormatPgTimestamp(t); }

Row MarketRow(const std::string& market_id, const MarketState& m) {
  return {RowIdFor(StrCat("market:", market_id)),
          market_id,
          m.question,
          std::string(MarketStatusName(m.status)),
          m.winner ? std::optional<std::string>(std::string(ChoiceName(*m.winner))) : std::nullopt,
          Int(m.yes_pool.value()),
          Int(m.no_pool.value()),
          Time(m.start_date),
          Time(m.end_date),
          m.contract_address,
          m.gnosis_safe_address,
          Time(m.created_at),
          Time(m.updated_at)};
}

Row BetRow(const LedgerState& state, std::string_view bet_id, const BetState& b) {
  return {std::string(bet_id),
          std::string(state.WalletOf(b)),
          state.MarketIdOf(b),
          std::string(ChoiceName(b.choice)),
          Int(b.amount.value()),
          Int(b.bet_number),
          std::string(BetStatusName(b.status)),
          state.TxHashOf(b),
          Time(b.created_at)};
}

Row FlaggedWalletRow(const std::string& wallet, const WalletFlagState& w) {
  return {RowIdFor(StrCat("flagged:", wallet)),
          wallet,
          w.market_id,
          w.reason,
          std::string(SeverityName(w.severity)),
          w.active ? "t" : "f",
          Time(w.created_at),
          w.unflagged_at ? std::optional<std::string>(Time(*w.unflagged_at)) : std::nullopt};
}

}  // namespace

Row Projector::SnapshotRow(const SnapshotPoint& p) const {
  const std::string& market_id = state_.MarketIdAt(p.market);
  return {RowIdFor(StrCat("snapshot:", market_id, ":", p.interval)),
          market_id,
          Int(p.yes_pool.value()),
          Int(p.no_pool.value()),
          Int(p.confirmed_bets),
          Time((p.interval + 1) * options_.snapshot_interval)};
}

namespace {

const std::array<TableRows, kProjectionCount>& Tables() {
  static const std::array<TableRows, kProjectionCount> kTables = {{
      {"Market",
       {"id", "marketId", "question", "status", "winner", "yesPool", "noPool", "startDate",
        "endDate", "contractAddress", "gnosisSafeAddress", "createdAt", "updatedAt"},
       {}},
      {"Bet",
       {"id", "walletAddress", "marketId", "choice", "amount", "betNumber", "status", "txHash",
        "createdAt"},
       {}},
      {"FlaggedWallet",
       {"id", "wallet", "marketId", "reason", "severity", "isActive", "createdAt", "unflaggedAt"},
       {}},
      {"PoolSnapshot", {"id", "marketId", "yesPool", "noPool", "totalBets", "createdAt"}, {}},
  }};
  return kTables;
}

}  // namespace

std::string_view ProjectionName(Projection p) { return kNames[static_cast<size_t>(p)]; }

std::optional<Projection> ParseProjection(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Projection>(i);
  }
  return std::nullopt;
}

const TableRows& EmptyTable(Projection p) { return Tables()[static_cast<size_t>(p)]; }

Projector::Projector(ProjectorOptions options, std::array<int64_t, kProjectionCount> checkpoints)
    : options_(options), checkpoints_(checkpoints) {}

Projector Projector::ForFullFold(ProjectorOptions options) {
  constexpr int64_t kTrackNothing = std::numeric_limits<int64_t>::max();
  options.keep_all_snapshots = true;
  return Projector(options, {kTrackNothing, kTrackNothing, kTrackNothing, kTrackNothing});
}

void Projector::Touch(Projection p, int64_t seq, std::string_view key) {
  if (seq > checkpoints_[static_cast<size_t>(p)]) changed_[static_cast<size_t>(p)].emplace(key);
}

Projector Projector::Resume(ProjectorOptions options,
                            std::array<int64_t, kProjectionCount> checkpoints, LedgerState state,
                            int64_t head_seq) {
  for (const int64_t checkpoint : checkpoints) {
    LEDGER_CHECK(checkpoint >= head_seq, "a projector resumed at seq ", head_seq,
                 " for a projection checkpointed at ", checkpoint);
  }
  Projector p(options, checkpoints);
  p.state_ = std::move(state);
  p.head_seq_ = head_seq;
  if (head_seq > 0) p.interval_ = p.IntervalOf(p.state_.log_time());
  uint32_t index = 0;
  p.state_.ForEachMarket([&p, &index](const std::string&, const MarketState& m) {
    if (m.pools_moved_at >= 0 && p.IntervalOf(m.pools_moved_at) == p.interval_) {
      p.dirty_markets_.push_back(index);
    }
    ++index;
  });
  return p;
}

void Projector::FlushSnapshots(int64_t seq) {
  // Every dirty market moved in interval_, which has just ended in log time: the state now is the
  // state as of its last event.
  for (const uint32_t market : dirty_markets_) {
    const MarketState& m = state_.MarketAt(market);
    const SnapshotPoint point{market, interval_, m.yes_pool, m.no_pool, m.confirmed_bets};
    if (seq > checkpoints_[static_cast<size_t>(Projection::kPoolSnapshot)]) {
      snapshot_rows_changed_.push_back(SnapshotRow(point));
    }
    if (options_.keep_all_snapshots) snapshot_points_.push_back(point);
  }
  dirty_markets_.clear();
}

absl::Status Projector::Apply(const LoggedEvent& row) {
  const Event& e = row.event;
  const BetState* bet_ptr = nullptr;
  BetStatus status_before = BetStatus::kPending;
  bool dirty_before = false;
  std::optional<Rejection> bad = state_.TryApply(e, [&](const BetState* bet) {
    // Intervals follow log time (the largest createdAt so far), so an event whose createdAt goes
    // backwards lands in the current interval, never in one already written. Flushing happens
    // before the event changes anything: a flushed row holds the state as of its interval's end.
    const int64_t interval = IntervalOf(std::max(state_.log_time(), e.created_at));
    if (interval > interval_) {
      FlushSnapshots(row.seq);
      interval_ = interval;
    }
    bet_ptr = bet;
    if (bet != nullptr && e.action != Action::kPlaced) {
      status_before = bet->status;
      const TimeMicros moved = state_.MarketAt(bet->market).pools_moved_at;
      dirty_before = moved >= 0 && IntervalOf(moved) == interval_;
    }
  });
  if (bad) {
    return absl::DataLossError(StrCat("log row at seq ", row.seq, " breaks a rule: ",
                                      ErrorCodeName(bad->code), ": ", bad->message));
  }
  head_seq_ = row.seq;

  if (IsMarketAction(e.action)) {
    Touch(Projection::kMarket, row.seq, *e.market_id);
    return absl::OkStatus();
  }
  if (e.action == Action::kWalletUnflagged) {
    Touch(Projection::kFlaggedWallet, row.seq, *e.wallet);
    return absl::OkStatus();
  }
  // Bets never move in their store (engine/chunked_store.h), so the pointer from TryApply holds.
  const BetState& bet = *bet_ptr;
  const std::string& market_id = state_.MarketIdOf(bet);
  Touch(Projection::kBet, row.seq, *e.bet_id);
  if (e.action == Action::kFlagged)
    Touch(Projection::kFlaggedWallet, row.seq, state_.WalletOf(bet));
  if (e.action == Action::kConfirmed || e.action == Action::kClawedBack) {
    Touch(Projection::kMarket, row.seq, market_id);
  }
  if (MovesPools(e.action, status_before, bet.status) && !dirty_before) {
    dirty_markets_.push_back(bet.market);
  }
  return absl::OkStatus();
}

ProjectionRows Projector::TakeChanges() {
  ProjectionRows out = Tables();
  for (const std::string& id : changed_[0]) {
    out[0].rows.push_back(MarketRow(id, *state_.FindMarket(id)));
  }
  for (const std::string& id : changed_[1]) {
    out[1].rows.push_back(BetRow(state_, id, *state_.FindBet(id)));
  }
  for (const std::string& wallet : changed_[2]) {
    out[2].rows.push_back(FlaggedWalletRow(wallet, state_.wallets().at(wallet)));
  }
  out[3].rows = std::move(snapshot_rows_changed_);
  snapshot_rows_changed_.clear();
  for (auto& set : changed_) set.clear();
  return out;
}

void Projector::ForEachRow(Projection p, const RowSink& sink) const {
  switch (p) {
    case Projection::kMarket:
      state_.ForEachMarket([&sink](const std::string& id, const MarketState& market) {
        sink(MarketRow(id, market));
      });
      return;
    case Projection::kBet:
      state_.ForEachBet([this, &sink](std::string_view id, const BetState& bet) {
        sink(BetRow(state_, id, bet));
      });
      return;
    case Projection::kFlaggedWallet:
      for (const auto& [wallet, w] : state_.wallets()) sink(FlaggedWalletRow(wallet, w));
      return;
    case Projection::kPoolSnapshot:
      for (size_t i = 0; i < snapshot_points_.size(); ++i) sink(SnapshotRow(snapshot_points_[i]));
      return;
  }
}

}  // namespace ledger
