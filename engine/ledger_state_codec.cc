// LedgerState::Save and Load: the fold's tables in the snapshot layout (engine/byte_codec.h).
// Sections in order: log time, markets (creation order), wallets (interning order), bets (placement
// order), flagged wallets (by address). Every enum is checked on load, every index against its
// table.
#include <algorithm>
#include <array>
#include <cstring>

#include "engine/ledger_state.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

constexpr uint8_t kNoWinner = 0xff;

void SaveTime(ByteWriter& out, TimeMicros t) { out.I64(t); }

// `raw` as an enum whose last value is `last`, or false.
template <typename E>
bool ToEnum(uint8_t raw, E last, E* out) {
  if (raw > static_cast<uint8_t>(last)) return false;
  *out = static_cast<E>(raw);
  return true;
}

}  // namespace

void LedgerState::Save(ByteWriter& out) const {
  SaveTime(out, log_time_);
  out.U32(static_cast<uint32_t>(markets_.size()));
  for (size_t i = 0; i < markets_.size(); ++i) {
    const MarketState& m = markets_[i];
    out.String(market_ids_[i]);
    out.String(m.question);
    out.U8(static_cast<uint8_t>(m.status));
    out.U8(m.winner ? static_cast<uint8_t>(*m.winner) : kNoWinner);
    out.I64(m.yes_pool.value());
    out.I64(m.no_pool.value());
    SaveTime(out, m.start_date);
    SaveTime(out, m.end_date);
    out.String(m.contract_address);
    out.String(m.gnosis_safe_address);
    SaveTime(out, m.created_at);
    SaveTime(out, m.updated_at);
    out.I32(m.stream_version);
    SaveTime(out, m.pools_moved_at);
  }
  out.U32(static_cast<uint32_t>(wallets_by_index_.size()));
  for (absl::string_view w : wallets_by_index_) out.String(std::string_view(w.data(), w.size()));
  out.U32(static_cast<uint32_t>(bet_store_->size()));
  for (uint32_t i = 0; i < bet_store_->size(); ++i) {
    const BetEntry& e = (*bet_store_)[i];
    const BetState& b = e.bet;
    out.String(std::string_view(e.id.data(), e.id.size()));
    out.U32(b.market);
    out.U32(b.wallet);
    out.I64(b.amount.value());
    SaveTime(out, b.created_at);
    out.I64(b.clawback_amount.value());
    out.I32(b.bet_number);
    out.I32(b.stream_version);
    out.U8(static_cast<uint8_t>(b.choice));
    out.U8(static_cast<uint8_t>(b.status));
    out.U8(static_cast<uint8_t>((b.has_tx_hash ? 1 : 0) | (b.refunded ? 2 : 0)));
    if (b.has_tx_hash) out.Bytes(b.tx_hash.data(), b.tx_hash.size());
    if (b.refunded) {
      const Sha256& refund = refund_tx_hashes_.at(&b);
      out.Bytes(refund.data(), refund.size());
    }
  }
  std::vector<const std::pair<const std::string, WalletFlagState>*> flags;
  for (const auto& entry : wallets_) flags.push_back(&entry);
  std::sort(flags.begin(), flags.end(), [](auto* a, auto* b) { return a->first < b->first; });
  out.U32(static_cast<uint32_t>(flags.size()));
  for (const auto* entry : flags) {
    const WalletFlagState& w = entry->second;
    out.String(entry->first);
    out.U8(w.active ? 1 : 0);
    out.String(w.market_id);
    out.String(w.reason);
    out.U8(static_cast<uint8_t>(w.severity));
    SaveTime(out, w.created_at);
    out.U8(w.unflagged_at ? 1 : 0);
    SaveTime(out, w.unflagged_at.value_or(0));
    out.I32(w.stream_version);
  }
}

bool LedgerState::Load(ByteReader& in) {
  if (!markets_.empty() || bet_store_->size() != 0 || !wallets_.empty()) return false;
  return LoadMarketsAndWallets(in) && LoadBets(in) && LoadFlags(in) && in.ok();
}

bool LedgerState::LoadMarketsAndWallets(ByteReader& in) {
  log_time_ = in.I64();
  if (log_time_ < 0) return false;
  const uint32_t count = in.U32();
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    std::string id(in.String());
    if (!market_index_.emplace(id, static_cast<uint32_t>(markets_.size())).second) return false;
    market_ids_.push_back(std::move(id));
    MarketState& m = markets_.emplace_back();
    m.question = std::string(in.String());
    if (!ToEnum(in.U8(), MarketStatus::kResolved, &m.status)) return false;
    if (const uint8_t winner = in.U8(); winner != kNoWinner) {
      Choice choice;
      if (!ToEnum(winner, Choice::kNo, &choice)) return false;
      m.winner = choice;
    }
    m.yes_pool = Micros(in.I64());
    m.no_pool = Micros(in.I64());
    m.start_date = in.I64();
    m.end_date = in.I64();
    m.contract_address = std::string(in.String());
    m.gnosis_safe_address = std::string(in.String());
    m.created_at = in.I64();
    m.updated_at = in.I64();
    m.stream_version = in.I32();
    m.pools_moved_at = in.I64();
    if (m.yes_pool.value() < 0 || m.no_pool.value() < 0) return false;
    if (m.pools_moved_at < -1 || m.pools_moved_at > log_time_) return false;
  }
  const uint32_t wallets = in.U32();
  for (uint32_t i = 0; i < wallets && in.ok(); ++i) {
    const std::string_view w = in.String();
    if (wallet_index_.contains(AbslView(w))) return false;
    InternWallet(w);
  }
  return in.ok();
}

// Bets are loaded in blocks: each block's bets are read into the store first, prefetching the
// slots of the three tables that index them (a 1M-event fold's tables are far larger than the
// caches, so each insert is a cache miss), then inserted, by then mostly from the cache.
bool LedgerState::LoadBets(ByteReader& in) {
  const uint32_t count = in.U32();
  if (!in.ok()) return false;
  bets_.reserve(count);
  bet_numbers_.reserve(count);
  std::array<BetStatus, kLoadBetsBlock> statuses;
  for (uint32_t done = 0; done < count;) {
    const uint32_t first = static_cast<uint32_t>(bet_store_->size());
    const uint32_t block = std::min<uint32_t>(kLoadBetsBlock, count - done);
    for (uint32_t i = 0; i < block; ++i) {
      if (!LoadBet(in, &statuses[i])) return false;
    }
    for (uint32_t i = 0; i < block; ++i) {
      const uint32_t index = first + i;
      BetState& b = (*bet_store_)[index].bet;
      if (!bets_.insert(index).second) return false;  // The id twice.
      if (!bet_numbers_.insert({b.market, b.wallet, b.bet_number}).second) return false;
      SetStatus(b, statuses[i]);  // From PENDING: counts the CONFIRMED ones.
    }
    done += block;
  }
  return in.ok();
}

// Reads one bet into the store (its status in `*status`, not yet applied) and starts loading the
// index slots LoadBets will insert it into.
bool LedgerState::LoadBet(ByteReader& in, BetStatus* status) {
  const std::string_view id = in.String();
  if (!in.ok()) return false;
  const uint32_t index = AddBet(arena_->Intern(id));
  BetState& b = (*bet_store_)[index].bet;
  b.market = in.U32();
  b.wallet = in.U32();
  b.amount = Micros(in.I64());
  b.created_at = in.I64();
  b.clawback_amount = Micros(in.I64());
  b.bet_number = in.I32();
  b.stream_version = in.I32();
  if (!ToEnum(in.U8(), Choice::kNo, &b.choice) ||
      !ToEnum(in.U8(), BetStatus::kClawedBack, status)) {
    return false;
  }
  const uint8_t flags = in.U8();
  if (!in.ok() || flags > 3 || b.market >= markets_.size() ||
      b.wallet >= wallets_by_index_.size() || b.amount.value() <= 0) {
    return false;
  }
  bets_.prefetch(index);
  bet_numbers_.prefetch({b.market, b.wallet, b.bet_number});
  if (*status == BetStatus::kConfirmed) {
    confirmed_by_wallet_.prefetch((uint64_t{b.market} << 32) | b.wallet);
  }
  b.has_tx_hash = (flags & 1) != 0;
  b.refunded = (flags & 2) != 0;
  if (b.has_tx_hash) {
    const std::string_view bytes = in.Bytes(b.tx_hash.size());
    if (!in.ok()) return false;
    std::memcpy(b.tx_hash.data(), bytes.data(), b.tx_hash.size());
  }
  if (b.refunded) {
    Sha256& refund = refund_tx_hashes_[&b];
    const std::string_view bytes = in.Bytes(refund.size());
    if (!in.ok()) return false;
    std::memcpy(refund.data(), bytes.data(), refund.size());
  }
  return true;
}

bool LedgerState::LoadFlags(ByteReader& in) {
  const uint32_t count = in.U32();
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    auto [it, inserted] = wallets_.try_emplace(std::string(in.String()));
    if (!inserted) return false;
    WalletFlagState& w = it->second;
    w.active = in.U8() != 0;
    w.market_id = std::string(in.String());
    w.reason = std::string(in.String());
    if (!ToEnum(in.U8(), Severity::kCritical, &w.severity)) return false;
    w.created_at = in.I64();
    const bool unflagged = in.U8() != 0;
    const TimeMicros unflagged_at = in.I64();
    if (unflagged) w.unflagged_at = unflagged_at;
    w.stream_version = in.I32();
  }
  return in.ok();
}

}  // namespace ledger
