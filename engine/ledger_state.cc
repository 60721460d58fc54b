#include "engine/ledger_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/check.h"
#include "engine/hash_chain.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

Rejection Reject(ErrorCode code, std::string message) {
  return Rejection{code, std::move(message)};
}

std::optional<std::string> HashText(bool present, const Sha256& hash) {
  if (!present) return std::nullopt;
  return StrCat("0x", ToHex(hash));
}

// "0x" + 64 lowercase hex (as the decoder normalizes them) to bytes.
Sha256 HashBytes(const std::string& text) {
  return FromHex(std::string_view(text).substr(2)).value();
}

Micros& PoolOf(MarketState& market, Choice choice) {
  return choice == Choice::kYes ? market.yes_pool : market.no_pool;
}
Micros PoolOf(const MarketState& market, Choice choice) {
  return choice == Choice::kYes ? market.yes_pool : market.no_pool;
}

}  // namespace

const MarketState* LedgerState::FindMarket(std::string_view market_id) const {
  auto it = market_index_.find(AbslView(market_id));
  return it == market_index_.end() ? nullptr : &markets_[it->second];
}

std::optional<std::string> LedgerState::TxHashOf(const BetState& bet) const {
  return HashText(bet.has_tx_hash, bet.tx_hash);
}

std::optional<std::string> LedgerState::RefundTxHashOf(const BetState& bet) const {
  if (!bet.refunded) return std::nullopt;
  return HashText(true, refund_tx_hashes_.at(&bet));
}

void LedgerState::ReserveForEvents(int64_t events) {
  const size_t bets = static_cast<size_t>(std::max<int64_t>(events, 0) / 2);
  bets_.reserve(bets);
  bet_numbers_.reserve(bets);
}

StringArena::~StringArena() {
  for (const Block& b : blocks_) FreeHugePages(b.data, b.size);
}

absl::string_view StringArena::Intern(std::string_view text) {
  if (text.size() > kBlockBytes - used_) {
    // Strings here are ids of at most kIdBytesMax bytes; a larger one gets a block of its own.
    const size_t size = std::max(kBlockBytes, text.size());
    blocks_.push_back(Block{static_cast<char*>(AllocateHugePages(size)), size});
    used_ = 0;
  }
  char* out = blocks_.back().data + used_;
  std::copy(text.begin(), text.end(), out);
  used_ += text.size();
  return absl::string_view(out, text.size());
}

uint32_t LedgerState::AddBet(absl::string_view id) {
  return static_cast<uint32_t>(bet_store_->push_back(BetEntry{id, BetState{}}));
}

uint32_t LedgerState::InternWallet(std::string_view wallet) {
  auto it = wallet_index_.find(AbslView(wallet));
  if (it != wallet_index_.end()) return it->second;
  const absl::string_view interned = arena_->Intern(wallet);
  const uint32_t index = static_cast<uint32_t>(wallets_by_index_.size());
  wallet_index_.emplace(interned, index);
  wallets_by_index_.push_back(interned);
  return index;
}

const BetState* LedgerState::FindBet(std::string_view bet_id) const {
  auto it = bets_.find(AbslView(bet_id));
  return it == bets_.end() ? nullptr : &(*bet_store_)[*it].bet;
}

std::optional<Rejection> LedgerState::Validate(const Event& e) const {
  if (IsMarketAction(e.action)) return ValidateMarketAction(e);
  if (e.action == Action::kWalletUnflagged) {
    auto it = wallets_.find(*e.wallet);
    if (it == wallets_.end() || !it->second.active) {
      return Reject(ErrorCode::kWalletNotFlagged,
                    StrCat("wallet ", *e.wallet, " is not actively flagged"));
    }
    return std::nullopt;
  }
  if (e.action == Action::kPlaced) {
    if (FindBet(*e.bet_id) != nullptr) {
      return Reject(ErrorCode::kBetExists, StrCat("bet ", *e.bet_id, " exists"));
    }
    auto wallet = wallet_index_.find(AbslView(*e.wallet));
    return ValidatePlaced(
        e, FindMarket(*e.market_id),
        wallet == wallet_index_.end() ? std::nullopt : std::optional<uint32_t>(wallet->second));
  }
  const BetState* bet = FindBet(*e.bet_id);
  if (bet == nullptr) {
    return Reject(ErrorCode::kBetNotFound, StrCat("bet ", *e.bet_id, " was never placed"));
  }
  return ValidateBetAction(e, *bet);
}

std::optional<Rejection> LedgerState::ValidateMarketAction(const Event& e) const {
  const MarketState* market = FindMarket(*e.market_id);
  if (e.action == Action::kMarketCreated) {
    if (market != nullptr) {
      return Reject(ErrorCode::kMarketExists, StrCat("market ", *e.market_id, " exists"));
    }
    return std::nullopt;
  }
  if (market == nullptr) {
    return Reject(ErrorCode::kMarketNotFound, StrCat("market ", *e.market_id, " not found"));
  }
  if (e.action == Action::kMarketClosed && market->status != MarketStatus::kActive) {
    return Reject(ErrorCode::kMarketNotActive,
                  StrCat("market ", *e.market_id, " is ", MarketStatusName(market->status),
                         ", only an ACTIVE market can be closed"));
  }
  if (e.action == Action::kMarketResolved && market->status == MarketStatus::kResolved) {
    return Reject(ErrorCode::kMarketResolved,
                  StrCat("market ", *e.market_id, " is already resolved"));
  }
  return std::nullopt;
}

std::optional<Rejection> LedgerState::ValidatePlaced(const Event& e, const MarketState* market,
                                                     std::optional<uint32_t> wallet) const {
  if (market == nullptr) {
    return Reject(ErrorCode::kMarketNotFound, StrCat("market ", *e.market_id, " not found"));
  }
  if (market->status != MarketStatus::kActive) {
    return Reject(ErrorCode::kMarketNotActive,
                  StrCat("market ", *e.market_id, " is ", MarketStatusName(market->status)));
  }
  if (e.created_at >= market->end_date) {
    return Reject(ErrorCode::kMarketEnded,
                  StrCat("createdAt ", FormatRfc3339(e.created_at), " is not before market ",
                         *e.market_id, "'s endDate ", FormatRfc3339(market->end_date)));
  }
  if (wallet && bet_numbers_.contains(
                    {static_cast<uint32_t>(market - markets_.data()), *wallet, *e.bet_number})) {
    return Reject(ErrorCode::kBetNumberTaken,
                  StrCat("wallet ", *e.wallet, " already has bet number ", *e.bet_number,
                         " in market ", *e.market_id));
  }
  return std::nullopt;
}

std::optional<Rejection> LedgerState::ValidateBetAction(const Event& e, const BetState& bet) const {
  const std::string& id = *e.bet_id;
  const std::string_view status = BetStatusName(bet.status);
  switch (e.action) {
    case Action::kConfirmed: {
      const MarketState& market = markets_[bet.market];
      if (market.status == MarketStatus::kResolved) {
        return Reject(ErrorCode::kMarketResolved,
                      StrCat("market ", MarketIdOf(bet), " of bet ", id, " is resolved"));
      }
      if (bet.status != BetStatus::kPending) {
        return Reject(ErrorCode::kBetNotPending, StrCat("bet ", id, " is ", status));
      }
      if (e.tx_hash && bet.has_tx_hash && HashBytes(*e.tx_hash) != bet.tx_hash) {
        return Reject(ErrorCode::kTxHashMismatch,
                      StrCat("txHash ", *e.tx_hash, " contradicts ", *TxHashOf(bet),
                             " given when bet ", id, " was placed"));
      }
      if (!Micros::CheckedAdd(PoolOf(market, bet.choice), bet.amount)) {
        return Reject(ErrorCode::kPoolOverflow,
                      StrCat("pool of market ", MarketIdOf(bet), " would exceed 2^63-1"));
      }
      return std::nullopt;
    }
    case Action::kFlagged:
      if (bet.status != BetStatus::kConfirmed) {
        return Reject(ErrorCode::kBetNotConfirmed,
                      StrCat("bet ", id, " is ", status, ", only a CONFIRMED bet is flagged"));
      }
      return std::nullopt;
    case Action::kClawedBack:
      if (bet.status != BetStatus::kConfirmed && bet.status != BetStatus::kFlagged) {
        return Reject(
            ErrorCode::kBetNotClawable,
            StrCat("bet ", id, " is ", status, ", only a CONFIRMED or FLAGGED bet is clawed back"));
      }
      if (*e.clawback_amount > bet.amount) {
        return Reject(ErrorCode::kClawbackExceedsAmount,
                      StrCat("clawbackAmount ", e.clawback_amount->value(),
                             " exceeds the bet's amount ", bet.amount.value()));
      }
      return std::nullopt;
    case Action::kRefunded:
      if (bet.status != BetStatus::kClawedBack) {
        return Reject(ErrorCode::kNotClawedBack,
                      StrCat("bet ", id, " is ", status, ", only a clawback is refunded"));
      }
      if (bet.refunded) {
        return Reject(ErrorCode::kAlreadyRefunded,
                      StrCat("bet ", id, " was refunded by ", *RefundTxHashOf(bet)));
      }
      return std::nullopt;
    default:
      LEDGER_CHECK(false, "not a bet action: ", ActionName(e.action));
      return std::nullopt;
  }
}

void LedgerState::Derive(Event* e) const {
  if (IsBetAction(e->action) && e->action != Action::kPlaced) {
    const BetState& bet = *FindBet(*e->bet_id);
    e->market_id = MarketIdOf(bet);
    e->wallet = WalletOf(bet);
  } else if (e->action == Action::kWalletUnflagged) {
    e->market_id = wallets_.at(*e->wallet).market_id;
  }
}

size_t LedgerState::BeginUndoable() {
  ++undo_depth_;
  return journal_.size();
}

void LedgerState::Undo(size_t mark) {
  LEDGER_CHECK(undo_depth_ > 0 && mark <= journal_.size(), "Undo(", mark,
               ") outside an undoable group, or past it");
  while (journal_.size() > mark) {
    journal_.back()();
    journal_.pop_back();
  }
  --undo_depth_;
}

void LedgerState::KeepChanges(size_t mark) {
  LEDGER_CHECK(undo_depth_ > 0 && mark <= journal_.size(), "KeepChanges(", mark,
               ") outside an undoable group, or past it");
  if (--undo_depth_ == 0) journal_.clear();
}

void LedgerState::JournalBetAction(BetState& bet) {
  if (undo_depth_ == 0) return;
  const std::string wallet(WalletOf(bet));
  const uint64_t pair = (uint64_t{bet.market} << 32) | bet.wallet;
  auto flag = wallets_.find(wallet);
  auto confirmed = confirmed_by_wallet_.find(pair);
  auto refund = refund_tx_hashes_.find(&bet);
  Journal([this, &bet, old_bet = bet, old_market = markets_[bet.market], wallet,
           old_flag = flag == wallets_.end() ? std::nullopt : std::optional(flag->second), pair,
           old_confirmed = confirmed == confirmed_by_wallet_.end()
                               ? std::nullopt
                               : std::optional(confirmed->second),
           old_refund =
               refund == refund_tx_hashes_.end() ? std::nullopt : std::optional(refund->second)] {
    markets_[old_bet.market] = old_market;
    bet = old_bet;
    if (old_flag) {
      wallets_[wallet] = *old_flag;
    } else {
      wallets_.erase(wallet);
    }
    if (old_confirmed) {
      confirmed_by_wallet_[pair] = *old_confirmed;
    } else {
      confirmed_by_wallet_.erase(pair);
    }
    if (old_refund) {
      refund_tx_hashes_[&bet] = *old_refund;
    } else {
      refund_tx_hashes_.erase(&bet);
    }
  });
}

void LedgerState::AdvanceLogTime(TimeMicros created_at) {
  if (created_at <= log_time_) return;
  Journal([this, old = log_time_] { log_time_ = old; });
  log_time_ = created_at;
}

void LedgerState::Apply(const Event& e) {
  AdvanceLogTime(e.created_at);
  switch (e.action) {
    case Action::kMarketCreated: {
      Journal([this, id = *e.market_id] {
        market_index_.erase(id);
        market_ids_.pop_back();
        markets_.pop_back();
      });
      market_index_[*e.market_id] = static_cast<uint32_t>(markets_.size());
      market_ids_.push_back(*e.market_id);
      MarketState& m = markets_.emplace_back();
      m.question = *e.question;
      m.start_date = e.start_date.value_or(e.created_at);
      m.end_date = *e.end_date;
      m.contract_address = *e.contract_address;
      m.gnosis_safe_address = *e.gnosis_safe_address;
      m.created_at = m.updated_at = e.created_at;
      m.stream_version = 1;
      return;
    }
    case Action::kMarketClosed:
    case Action::kMarketResolved: {
      const uint32_t index = market_index_.at(*e.market_id);
      MarketState& m = markets_[index];
      Journal([this, index, old = m] { markets_[index] = old; });
      m.status =
          e.action == Action::kMarketClosed ? MarketStatus::kClosed : MarketStatus::kResolved;
      if (e.winner) m.winner = e.winner;
      m.updated_at = e.created_at;
      ++m.stream_version;
      return;
    }
    case Action::kPlaced: {
      const size_t wallets_before = wallets_by_index_.size();
      const uint32_t wallet = InternWallet(*e.wallet);
      if (wallets_by_index_.size() > wallets_before) {
        Journal([this] {
          wallet_index_.erase(wallets_by_index_.back());
          wallets_by_index_.pop_back();  // Its arena bytes stay: the arena only grows.
        });
      }
      const uint32_t index = AddBet(arena_->Intern(*e.bet_id));
      bets_.insert(index);
      BetState& bet = (*bet_store_)[index].bet;
      FillPlaced(e, market_index_.at(*e.market_id), wallet, bet);
      Journal([this, index] {
        const BetState& b = (*bet_store_)[index].bet;
        bet_numbers_.erase({b.market, b.wallet, b.bet_number});
        bets_.erase(index);
        bet_store_->pop_back();
      });
      return;
    }
    case Action::kWalletUnflagged: {
      WalletFlagState& w = wallets_.at(*e.wallet);
      Journal([this, wallet = *e.wallet, old = w] { wallets_[wallet] = old; });
      w.active = false;
      w.unflagged_at = e.created_at;
      ++w.stream_version;
      return;
    }
    default: {
      BetState& bet = (*bet_store_)[*bets_.find(AbslView(*e.bet_id))].bet;
      JournalBetAction(bet);
      ApplyBetAction(e, bet);
    }
  }
}

void LedgerState::FillPlaced(const Event& e, uint32_t market, uint32_t wallet, BetState& b) {
  b.market = market;
  b.wallet = wallet;
  b.choice = *e.choice;
  b.amount = *e.amount;
  b.bet_number = *e.bet_number;
  if (e.tx_hash) {
    b.has_tx_hash = true;
    b.tx_hash = HashBytes(*e.tx_hash);
  }
  b.created_at = e.created_at;
  b.stream_version = 1;
  bet_numbers_.insert({b.market, b.wallet, b.bet_number});
}

std::optional<Rejection> LedgerState::TryApply(
    const Event& e, absl::FunctionRef<void(const BetState*)> before_apply) {
  if (e.action == Action::kPlaced) {
    // One probe: the slot is claimed at once (with the id interned), and freed if the event is bad.
    bool inserted = false;
    auto it = bets_.lazy_emplace(AbslView(*e.bet_id), [&](const auto& construct) {
      inserted = true;
      construct(AddBet(arena_->Intern(*e.bet_id)));
    });
    if (!inserted) return Reject(ErrorCode::kBetExists, StrCat("bet ", *e.bet_id, " exists"));
    auto market = market_index_.find(*e.market_id);
    auto wallet = wallet_index_.find(AbslView(*e.wallet));
    const bool known_wallet = wallet != wallet_index_.end();
    std::optional<Rejection> bad =
        ValidatePlaced(e, market == market_index_.end() ? nullptr : &markets_[market->second],
                       known_wallet ? std::optional<uint32_t>(wallet->second) : std::nullopt);
    if (bad) {
      bets_.erase(it);
      bet_store_->pop_back();
      return bad;
    }
    BetState& bet = (*bet_store_)[*it].bet;
    before_apply(&bet);
    AdvanceLogTime(e.created_at);
    const uint32_t wallet_index = known_wallet ? wallet->second : InternWallet(*e.wallet);
    FillPlaced(e, market->second, wallet_index, bet);
    return std::nullopt;
  }
  if (IsBetAction(e.action)) {
    auto it = bets_.find(AbslView(*e.bet_id));
    if (it == bets_.end()) {
      return Reject(ErrorCode::kBetNotFound, StrCat("bet ", *e.bet_id, " was never placed"));
    }
    BetState& bet = (*bet_store_)[*it].bet;
    if (std::optional<Rejection> bad = ValidateBetAction(e, bet)) return bad;
    before_apply(&bet);
    AdvanceLogTime(e.created_at);
    ApplyBetAction(e, bet);
    return std::nullopt;
  }
  if (std::optional<Rejection> bad = Validate(e)) return bad;
  before_apply(nullptr);
  Apply(e);
  return std::nullopt;
}

void LedgerState::SetStatus(BetState& bet, BetStatus status) {
  const bool was = bet.status == BetStatus::kConfirmed;
  const bool is = status == BetStatus::kConfirmed;
  bet.status = status;
  if (was == is) return;
  MarketState& market = *MutableMarket(bet);
  const uint64_t pair = (uint64_t{bet.market} << 32) | bet.wallet;
  if (is) {
    ++market.confirmed_bets;
    if (++confirmed_by_wallet_[pair] == 1) ++market.confirmed_wallets;
    return;
  }
  --market.confirmed_bets;
  auto it = confirmed_by_wallet_.find(pair);
  LEDGER_CHECK(it != confirmed_by_wallet_.end() && it->second > 0, "bet of market ",
               MarketIdOf(bet), " left CONFIRMED without being counted");
  if (--it->second == 0) {
    confirmed_by_wallet_.erase(it);
    --market.confirmed_wallets;
  }
}

void LedgerState::ApplyBetAction(const Event& e, BetState& bet) {
  const BetStatus before = bet.status;
  ApplyBetActionFields(e, bet);
  // Journaled with the market by JournalBetAction.
  if (MovesPools(e.action, before, bet.status)) MutableMarket(bet)->pools_moved_at = log_time_;
}

void LedgerState::ApplyBetActionFields(const Event& e, BetState& bet) {
  ++bet.stream_version;
  switch (e.action) {
    case Action::kConfirmed: {
      MarketState& market = *MutableMarket(bet);
      Micros& pool = PoolOf(market, bet.choice);
      pool = *Micros::CheckedAdd(pool, bet.amount);
      LEDGER_CHECK(pool.value() >= 0, "pool of market ", MarketIdOf(bet), " went negative");
      market.updated_at = e.created_at;
      SetStatus(bet, BetStatus::kConfirmed);
      if (!bet.has_tx_hash && e.tx_hash) {
        bet.has_tx_hash = true;
        bet.tx_hash = HashBytes(*e.tx_hash);
      }
      return;
    }
    case Action::kFlagged: {
      SetStatus(bet, BetStatus::kFlagged);
      WalletFlagState& w = wallets_[std::string(WalletOf(bet))];
      w.active = true;
      w.market_id = MarketIdOf(bet);
      w.reason = *e.reason;
      w.severity = e.severity.value_or(Severity::kMedium);
      w.created_at = e.created_at;
      w.unflagged_at.reset();
      return;
    }
    case Action::kClawedBack: {
      MarketState& market = *MutableMarket(bet);
      Micros& pool = PoolOf(market, bet.choice);
      // The pool holds at least this bet's confirmed amount, and clawbackAmount <= amount.
      pool = *Micros::CheckedSub(pool, *e.clawback_amount);
      LEDGER_CHECK(pool.value() >= 0, "pool of market ", MarketIdOf(bet), " went negative");
      market.updated_at = e.created_at;
      SetStatus(bet, BetStatus::kClawedBack);
      bet.clawback_amount = *e.clawback_amount;
      return;
    }
    case Action::kRefunded:
      bet.refunded = true;
      refund_tx_hashes_[&bet] = HashBytes(*e.clawback_tx_hash);
      return;
    default:
      LEDGER_CHECK(false, "not a bet action: ", ActionName(e.action));
  }
}

std::string LedgerState::IdentityKey(const Event& e) {
  if (e.event_id) return StrCat("event:", *e.event_id);
  const std::string_view action = ActionName(e.action);
  if (IsMarketAction(e.action)) return StrCat("market:", *e.market_id, ":", action);
  if (IsBetAction(e.action)) return StrCat("bet:", *e.bet_id, ":", action);
  // A wallet can be unflagged many times, so its natural key includes when: the decoder requires a
  // createdAt (or an eventId) on WALLET_UNFLAGGED for exactly this reason.
  return StrCat("wallet:", *e.wallet, ":", e.created_at, ":", action);
}

std::string LedgerState::StreamId(const Event& e) {
  if (IsMarketAction(e.action)) return StrCat("market:", *e.market_id);
  if (IsBetAction(e.action)) return StrCat("bet:", *e.bet_id);
  return StrCat("wallet:", *e.wallet);
}

int32_t LedgerState::NextStreamVersion(const Event& e) const {
  if (IsMarketAction(e.action)) {
    const MarketState* m = FindMarket(*e.market_id);
    return m == nullptr ? 1 : m->stream_version + 1;
  }
  if (IsBetAction(e.action)) {
    const BetState* b = FindBet(*e.bet_id);
    return b == nullptr ? 1 : b->stream_version + 1;
  }
  auto it = wallets_.find(*e.wallet);
  return it == wallets_.end() ? 1 : it->second.stream_version + 1;
}

std::vector<std::string> DifferingFields(const Event& a_in, const Event& b_in) {
  const Event a = StripDerived(a_in);
  const Event b = StripDerived(b_in);
  std::vector<std::string> out;
  auto check = [&out](bool same, std::string_view name) {
    if (!same) out.emplace_back(name);
  };
  check(a.action == b.action, "action");
  check(a.event_id == b.event_id, "eventId");
  check(a.bet_id == b.bet_id, "betId");
  check(a.market_id == b.market_id, "marketId");
  check(a.wallet == b.wallet, "wallet");
  check(a.choice == b.choice, "choice");
  check(a.amount == b.amount, "amount");
  check(a.bet_number == b.bet_number, "betNumber");
  check(a.tx_hash == b.tx_hash, "txHash");
  check(a.reason == b.reason, "reason");
  check(a.severity == b.severity, "severity");
  check(a.clawback_amount == b.clawback_amount, "clawbackAmount");
  check(a.clawback_tx_hash == b.clawback_tx_hash, "clawbackTxHash");
  check(a.winner == b.winner, "winner");
  check(a.question == b.question, "question");
  check(a.start_date == b.start_date, "startDate");
  check(a.end_date == b.end_date, "endDate");
  check(a.contract_address == b.contract_address, "contractAddress");
  check(a.gnosis_safe_address == b.gnosis_safe_address, "gnosisSafeAddress");
  return out;
}

}  // namespace ledger
