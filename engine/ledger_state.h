// LedgerState: the pure fold of the log. Apply(state, event) is the one piece of domain logic that
// append-time validation, projections, replay and verify all share.
//
//   LedgerState state;
//   if (std::optional<Rejection> r = state.Validate(event)) { ...refuse... }
//   state.Derive(&event);   // fills marketId/wallet from the bet
//   state.Apply(event);
//
// No I/O. Not thread-safe: one owner at a time.
#ifndef LEDGER_ENGINE_LEDGER_STATE_H_
#define LEDGER_ENGINE_LEDGER_STATE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "engine/byte_codec.h"
#include "engine/chunked_store.h"
#include "engine/error_codes.h"
#include "engine/event.h"
#include "engine/huge_page_allocator.h"

namespace ledger {

// The fold's large tables: absl's defaults (hash, equality, heterogeneous lookup) on huge pages.
template <typename K, typename V>
using FoldMap = absl::flat_hash_map<K, V, typename absl::flat_hash_map<K, V>::hasher,
                                    typename absl::flat_hash_map<K, V>::key_equal,
                                    HugePageAllocator<std::pair<const K, V>>>;
template <typename K>
using FoldSet =
    absl::flat_hash_set<K, typename absl::flat_hash_set<K>::hasher,
                        typename absl::flat_hash_set<K>::key_equal, HugePageAllocator<K>>;

// Append-only storage for the fold's many short strings (bet ids, wallets): one allocation per MiB
// instead of one per string, and keys of 16 bytes. Views stay valid as long as the arena lives.
class StringArena {
 public:
  StringArena() = default;
  StringArena(const StringArena&) = delete;
  StringArena& operator=(const StringArena&) = delete;
  ~StringArena();

  absl::string_view Intern(std::string_view text);

 private:
  // One huge page per block (engine/huge_page_allocator.h): a 10M-event fold interns ~100 MB.
  static constexpr size_t kBlockBytes = kHugePageBytes;
  struct Block {
    char* data;
    size_t size;
  };
  std::vector<Block> blocks_;
  size_t used_ = kBlockBytes;
};

struct MarketState {
  std::string question;
  MarketStatus status = MarketStatus::kActive;
  std::optional<Choice> winner;
  Micros yes_pool;
  Micros no_pool;
  TimeMicros start_date = 0;
  TimeMicros end_date = 0;
  std::string contract_address;
  std::string gnosis_safe_address;
  TimeMicros created_at = 0;
  TimeMicros updated_at = 0;
  int32_t stream_version = 0;  // Events in the market's stream so far.
  // The seed's market statistics (DATABASE.md, "Get Market Statistics"): bets now CONFIRMED, and
  // the distinct wallets among them.
  int32_t confirmed_bets = 0;
  int32_t confirmed_wallets = 0;
  // Log time (LedgerState::log_time) when an event last moved the pools or the CONFIRMED count
  // (MovesPools), -1 if none has: which PoolSnapshot interval holds the market's last change, so
  // that a projector can start from a saved fold (projections/projector.h).
  TimeMicros pools_moved_at = -1;
};

// Whether a bet action that took a bet from `before` to `after` changes what a PoolSnapshot row of
// its market holds: CONFIRMED and CLAWED_BACK move the pools, and any move into or out of CONFIRMED
// changes the count of confirmed bets. The one rule the fold and the projector share.
inline bool MovesPools(Action action, BetStatus before, BetStatus after) {
  return action == Action::kConfirmed || action == Action::kClawedBack ||
         (before == BetStatus::kConfirmed) != (after == BetStatus::kConfirmed);
}

// One bet, compact: a fold of 10^7 events holds millions of these. The market and the wallet are
// indexes into the state's interned ids (LedgerState::MarketIdOf, WalletOf); hashes are raw bytes.
struct BetState {
  uint32_t market = 0;
  uint32_t wallet = 0;
  Micros amount;
  TimeMicros created_at = 0;
  Micros clawback_amount;  // 0 until clawed back.
  int32_t bet_number = 0;
  int32_t stream_version = 0;
  Choice choice = Choice::kYes;
  BetStatus status = BetStatus::kPending;
  bool has_tx_hash = false;
  bool refunded = false;  // Its refund's tx hash is kept aside (LedgerState::RefundTxHashOf).
  Sha256 tx_hash{};       // When has_tx_hash.
};

// The bets of a fold in placement order, each with its id (in the state's StringArena). 96 bytes a
// bet, every byte used (a hash map's slots are a third empty on average); addresses never move.
struct BetEntry {
  absl::string_view id;
  BetState bet;
};
using BetStore = ChunkedStore<BetEntry>;

// The bet index hashes and compares its 4-byte entries by the bets' ids, looked up in the store: a
// 10M-event fold's index is 32 MiB of slots instead of 1 GiB of 128-byte ones
// (docs/performance.md).
struct BetIdHash {
  using is_transparent = void;
  const BetStore* store = nullptr;
  size_t operator()(absl::string_view id) const { return absl::Hash<absl::string_view>{}(id); }
  size_t operator()(uint32_t index) const { return (*this)((*store)[index].id); }
};
struct BetIdEq {
  using is_transparent = void;
  const BetStore* store = nullptr;
  bool operator()(uint32_t a, uint32_t b) const { return a == b; }
  bool operator()(uint32_t a, absl::string_view b) const { return (*store)[a].id == b; }
  bool operator()(absl::string_view a, uint32_t b) const { return a == (*store)[b].id; }
};
using BetIndex = absl::flat_hash_set<uint32_t, BetIdHash, BetIdEq, HugePageAllocator<uint32_t>>;

struct WalletFlagState {
  bool active = false;
  std::string market_id;
  std::string reason;
  Severity severity = Severity::kMedium;
  TimeMicros created_at = 0;
  std::optional<TimeMicros> unflagged_at;
  int32_t stream_version = 0;  // WALLET_UNFLAGGED events so far.
};

// Bets a snapshot load reads ahead of inserting them into the fold's indexes (LedgerState::Load):
// enough prefetches in flight to hide a cache miss each, few enough that their slots are still
// cached when the inserts come.
inline constexpr uint32_t kLoadBetsBlock = 16;

class LedgerState {
 public:
  // Whether `event` may be applied now; the reason when it may not. `event` need not be derived.
  std::optional<Rejection> Validate(const Event& event) const;

  // Fills the fields derived from state: marketId and wallet of a bet action, marketId of a
  // WALLET_UNFLAGGED. REQUIRES: Validate(*event) returned nullopt.
  void Derive(Event* event) const;

  // Applies a validated, derived event. REQUIRES: Validate(event) returned nullopt.
  void Apply(const Event& event);

  // Validate and Apply in one pass, looking each id up once (the replay hot path). On success calls
  // `before_apply` with the bet the event concerns (nullptr for market and wallet actions; for
  // PLACED, the new bet before it is filled in) after validation and before any change, then
  // applies. On failure changes nothing and returns the reason. REQUIRES: `event` is derived (a log
  // row).
  std::optional<Rejection> TryApply(const Event& event,
                                    absl::FunctionRef<void(const BetState*)> before_apply);

  // The event's idempotency identity (docs/event-format.md): its eventId when given, else
  // (betId, action), (marketId, action), or (wallet, createdAt, action) for WALLET_UNFLAGGED.
  // A function of the event alone, so a re-sent event has the same identity whatever came since.
  static std::string IdentityKey(const Event& event);

  // "bet:<betId>", "market:<marketId>" or "wallet:<address>", and the event's 1-based version in
  // it.
  static std::string StreamId(const Event& event);
  int32_t NextStreamVersion(const Event& event) const;

  // Sizes the maps for a fold of about `events` log rows (about half of them bets), so that folding
  // a known log does not rehash and re-fault its maps as they grow.
  void ReserveForEvents(int64_t events);

  const absl::flat_hash_map<std::string, WalletFlagState>& wallets() const { return wallets_; }

  // Log time: the largest createdAt of the events applied so far (0 before the first). Events may
  // arrive with a createdAt behind it; log time never goes back.
  TimeMicros log_time() const { return log_time_; }

  const MarketState* FindMarket(std::string_view market_id) const;
  const BetState* FindBet(std::string_view bet_id) const;
  // Starts loading the memory that folding `e` will look up first (its bet's and its wallet's
  // slots), for a caller
  // that knows the next events: a fold of a batch prefetches a few rows ahead.
  void Prefetch(const Event& e) const {
    if (e.bet_id) bets_.prefetch(absl::string_view(e.bet_id->data(), e.bet_id->size()));
    if (e.wallet) wallet_index_.prefetch(absl::string_view(e.wallet->data(), e.wallet->size()));
  }

  // Visits every market (in creation order) or bet (in placement order).
  template <typename F>
  void ForEachMarket(F&& f) const {
    for (size_t i = 0; i < markets_.size(); ++i) f(market_ids_[i], markets_[i]);
  }
  // `f(std::string_view id, const BetState& bet)`.
  template <typename F>
  void ForEachBet(F&& f) const {
    for (uint32_t i = 0; i < bet_store_->size(); ++i) {
      const BetEntry& entry = (*bet_store_)[i];
      f(std::string_view(entry.id.data(), entry.id.size()), entry.bet);
    }
  }

  const std::string& MarketIdOf(const BetState& bet) const { return market_ids_[bet.market]; }
  const std::string& MarketIdAt(uint32_t index) const { return market_ids_[index]; }
  const MarketState& MarketAt(uint32_t index) const { return markets_[index]; }
  std::string_view WalletOf(const BetState& bet) const {
    const absl::string_view w = wallets_by_index_[bet.wallet];
    return std::string_view(w.data(), w.size());
  }
  std::optional<std::string> TxHashOf(const BetState& bet) const;
  std::optional<std::string> RefundTxHashOf(const BetState& bet) const;

  // Changes that may be taken back: an all-or-nothing group of events (`ledger serve`'s
  // ?atomic=true), or a whole batch written in one round trip (engine/appender.h) that another
  // writer got ahead of. After BeginUndoable, every Apply records how to reverse what it changed;
  // Undo(mark) reverses what was applied since BeginUndoable returned `mark`, newest first, and
  // KeepChanges(mark) keeps it. They nest (a group inside a batch): what an inner KeepChanges kept
  // the outer Undo still reverses. Recording costs nothing outside them.
  size_t BeginUndoable();
  void Undo(size_t mark);
  void KeepChanges(size_t mark);

  // The fold as bytes, for a snapshot (engine/fold_snapshot.h), and back. Deterministic: two states
  // folded from the same log save the same bytes. What can be derived (the indexes, the seed's
  // UNIQUE set, the confirmed counts) is not saved but rebuilt by Load.
  void Save(ByteWriter& out) const;
  // Loads what Save wrote. REQUIRES: this state is new. False when the bytes are malformed (a
  // value out of range, an index past its table, an id twice, truncation): discard the state then.
  bool Load(ByteReader& in);

 private:
  // Records `undo` when inside an undoable group.
  void Journal(std::function<void()> undo) {
    if (undo_depth_ > 0) journal_.push_back(std::move(undo));
  }
  // Journals how to restore everything a bet action on `bet` may change.
  void JournalBetAction(BetState& bet);
  bool LoadMarketsAndWallets(ByteReader& in);
  bool LoadBets(ByteReader& in);
  bool LoadBet(ByteReader& in, BetStatus* status);
  bool LoadFlags(ByteReader& in);
  std::optional<Rejection> ValidateMarketAction(const Event& event) const;
  std::optional<Rejection> ValidatePlaced(const Event& event, const MarketState* market,
                                          std::optional<uint32_t> wallet) const;
  void FillPlaced(const Event& event, uint32_t market, uint32_t wallet, BetState& bet);
  std::optional<Rejection> ValidateBetAction(const Event& event, const BetState& bet) const;
  void ApplyBetAction(const Event& event, BetState& bet);
  void ApplyBetActionFields(const Event& event, BetState& bet);
  // Moves log time forward to `created_at`, if it is ahead.
  void AdvanceLogTime(TimeMicros created_at);
  // Moves `bet` to `status`, keeping its market's confirmed_bets and confirmed_wallets.
  void SetStatus(BetState& bet, BetStatus status);

  MarketState* MutableMarket(const BetState& bet) { return &markets_[bet.market]; }
  uint32_t InternWallet(std::string_view wallet);
  // Appends a new bet with `id` to the store; returns its index (32 bits: 2^32 bets would take
  // 400 GB of store, far past any machine this fold runs on).
  uint32_t AddBet(absl::string_view id);

  // Markets by index, with their ids and an id -> index map.
  std::vector<MarketState> markets_;
  std::vector<std::string> market_ids_;
  absl::flat_hash_map<std::string, uint32_t> market_index_;
  // Every wallet that placed a bet, interned.
  // Bet ids and wallets live in the arena, shared by copies of the state (append-only).
  std::shared_ptr<StringArena> arena_ = std::make_shared<StringArena>();
  std::vector<absl::string_view> wallets_by_index_;
  FoldMap<absl::string_view, uint32_t> wallet_index_;
  // Behind a pointer, so that the index's hasher and equality, which point at it, stay valid when
  // the state is moved. The state cannot be copied.
  std::unique_ptr<BetStore> bet_store_ = std::make_unique<BetStore>();
  BetIndex bets_{0, BetIdHash{bet_store_.get()}, BetIdEq{bet_store_.get()}};
  // The refund tx hash of each refunded bet (few of them: kept out of every BetState).
  absl::flat_hash_map<const BetState*, Sha256> refund_tx_hashes_;
  // (market, wallet, betNumber) of every bet, for the seed's UNIQUE constraint.
  FoldSet<std::tuple<uint32_t, uint32_t, int32_t>> bet_numbers_;
  absl::flat_hash_map<std::string, WalletFlagState> wallets_;
  // CONFIRMED bets per (market << 32 | wallet), for MarketState::confirmed_wallets; a pair leaves
  // when its count drops to zero.
  FoldMap<uint64_t, int32_t> confirmed_by_wallet_;
  TimeMicros log_time_ = 0;
  int undo_depth_ = 0;  // BeginUndoable calls not yet ended by Undo or KeepChanges.
  std::vector<std::function<void()>> journal_;
};

// Names of the identity-payload fields in which `a` and `b` differ (createdAt and derived fields
// aside).
std::vector<std::string> DifferingFields(const Event& a, const Event& b);

}  // namespace ledger

#endif  // LEDGER_ENGINE_LEDGER_STATE_H_
