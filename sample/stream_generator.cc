#include "sample/stream_generator.h"

#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/event.h"
#include "engine/event_codec.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

// 2026-01-15T00:00:00Z: the stream starts a month before the seed market's endDate.
constexpr TimeMicros kStreamStart = 1768435200LL * 1000000;
constexpr TimeMicros kMarketLifetime = 365LL * 24 * 3600 * 1000000;
// Mean gap between events: one every ~2 s gives a realistic day-scale stream for 10^5 events.
constexpr int64_t kMeanGapMicros = 2000000;
// The seed market's endDate (its example data): 2026-02-16T09:00:00Z.
constexpr TimeMicros kSeedMarketEnd = 1771232400LL * 1000000;
// Bets in one burst: past the velocity rule's default 3 within an hour.
constexpr int kBurstBets = 5;

struct GenBet {
  std::string id;
  std::string market;
  std::string wallet;
  int64_t amount;
  int stage;  // 0 placed, 1 confirmed, 2 flagged, 3 clawed back, 4 refunded.
};

class Generator {
 public:
  Generator(const StreamOptions& options, std::ostream& out)
      : options_(options), out_(out), rng_(options.seed) {}

  int64_t events() const { return emitted_; }

  int64_t Run() {
    for (int32_t m = 0; m < options_.markets && emitted_ < options_.events; ++m) CreateMarket(m);
    // The last third of the markets close and resolve at the end of the stream.
    const int64_t settling = 2 * (options_.markets / 3);
    burst_limit_ = options_.events - settling;
    // Every (market, wallet) pair can hold ten bets; once all are full and every bet has run its
    // course, no step can emit anything more: stop short rather than spin.
    const size_t pairs = markets_.size() * static_cast<size_t>(options_.wallets);
    while (emitted_ < options_.events - settling && !(open_.empty() && full_pairs_ == pairs)) {
      Step();
    }
    for (size_t m = markets_.size() - static_cast<size_t>(settling / 2); m < markets_.size(); ++m) {
      Settle(markets_[m]);
    }
    return lines_;
  }

 private:
  std::string Hex(size_t digits) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out = "0x";
    for (size_t i = 0; i < digits; ++i) out.push_back(kDigits[rng_() % 16]);
    return out;
  }
  std::string Wallet(int64_t index) {
    // Deterministic per index, mixed case as wallets arrive from browsers (EIP-55 style).
    std::mt19937_64 local(static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ULL + options_.seed);
    static constexpr char kDigits[] = "0123456789abcdefABCDEF";
    std::string out = "0x";
    for (int i = 0; i < 40; ++i) out.push_back(kDigits[local() % 22]);
    return out;
  }

  void Emit(Event event) {
    now_ += 1 + static_cast<int64_t>(rng_() % (2 * kMeanGapMicros));
    event.created_at = now_;
    last_line_ = EncodeEventJson(event);
    Write(last_line_);
    ++emitted_;
    if (options_.duplicate_every > 0 && emitted_ % options_.duplicate_every == 0) Write(last_line_);
    if (options_.bad_line_every > 0 && emitted_ % options_.bad_line_every == 0) WriteBadLine();
  }
  void Write(const std::string& line) {
    out_ << line << '\n';
    ++lines_;
  }
  void WriteBadLine() {
    static const std::vector<std::string> kBad = {
        R"({"action":"PLACED","betId":"bad-1","marketId":"eden-haus-hackathon",)",
        R"({"action":"PLACED","betId":"bad-2","marketId":"eden-haus-hackathon","wallet":"0x742d35Cc6634C0532925a3b844Bc9e7595f0bEb1","choice":"YES","amount":10.5,"betNumber":1})",
        R"({"action":"CONFIRMED","betId":"never-placed"})",
        R"({"action":"TELEPORTED","betId":"x"})",
        R"({"action":"PLACED","betId":"bad-3","marketId":"no-such-market","wallet":"0x742d35Cc6634C0532925a3b844Bc9e7595f0bEb1","choice":"NO","amount":5000000,"betNumber":1})",
        R"({"action":"CLAWED_BACK","betId":"never-placed","clawbackAmount":-5})",
    };
    Write(kBad[bad_index_++ % kBad.size()]);
  }

  void CreateMarket(int32_t index) {
    Event e;
    e.action = Action::kMarketCreated;
    if (index == 0) {
      e.market_id = options_.id_prefix + "eden-haus-hackathon";
      e.question = "Will Eden Haus win the Cronos x402 Hackathon?";
    } else {
      e.market_id = options_.id_prefix + absl::StrFormat("market-%04d", index);
      e.question = absl::StrFormat("Will outcome #%d happen before the deadline?", index);
    }
    e.start_date = kStreamStart;
    e.end_date = index == 0 ? kSeedMarketEnd : kStreamStart + kMarketLifetime;
    e.contract_address = Hex(40);
    e.gnosis_safe_address = Hex(40);
    markets_.push_back(*e.market_id);
    market_ends_.push_back(*e.end_date);
    Emit(std::move(e));
  }

  void Place() {
    const std::string& market = markets_[OpenMarket(Zipf(markets_.size()))];
    const int64_t wallet_index =
        static_cast<int64_t>(rng_() % static_cast<uint64_t>(options_.wallets));
    PlaceFor(market, wallet_index);
    ++placements_;
    if (options_.burst_every > 0 && placements_ % options_.burst_every == 0) Burst();
  }

  // Places one bet of `wallet_index` on `market`; false when the wallet has its ten there already.
  bool PlaceFor(const std::string& market, int64_t wallet_index) {
    const std::string wallet = Wallet(wallet_index);
    int& count = bets_per_wallet_[StrCat(market, "|", wallet_index)];
    if (count >= 10) return false;  // The seed's limit: ten bets per wallet per market.
    if (++count == 10) ++full_pairs_;
    Event e;
    e.action = Action::kPlaced;
    e.bet_id = options_.id_prefix + absl::StrFormat("bet-%08d", next_bet_++);
    e.market_id = market;
    e.wallet = wallet;
    e.choice = rng_() % 2 == 0 ? Choice::kYes : Choice::kNo;
    // 1 to 500 USDT in whole cents.
    const int64_t amount = (1 + static_cast<int64_t>(rng_() % 50000)) * 10000;
    e.amount = Micros(amount);
    e.bet_number = count;
    if (rng_() % 2 == 0) e.tx_hash = Hex(64);
    open_.push_back(GenBet{*e.bet_id, market, absl::AsciiStrToLower(wallet), amount, 0});
    Emit(std::move(e));
    return true;
  }

  // One wallet places kBurstBets bets on one market seconds apart, each confirmed at once: what the
  // velocity rule (`ledger rules run`) exists to catch.
  void Burst() {
    const std::string& market = markets_[OpenMarket(Zipf(markets_.size()))];
    const int64_t wallet_index =
        static_cast<int64_t>(rng_() % static_cast<uint64_t>(options_.wallets));
    for (int b = 0; b < kBurstBets && emitted_ + 2 <= burst_limit_; ++b) {
      if (!PlaceFor(market, wallet_index)) return;
      Event confirm;
      confirm.action = Action::kConfirmed;
      confirm.bet_id = open_.back().id;
      open_.back().stage = 1;
      Emit(std::move(confirm));
    }
  }

  // `pick`, or when that market's endDate is before the next event's time (gaps are at most
  // 2 * kMeanGapMicros), the next market still open: a bet after the end would be refused
  // (MARKET_ENDED), and the generator makes valid events unless asked for bad lines. Draws no
  // randomness, so a stream in which no market has ended yet (under ~1.4M events: the seed market
  // ends a month in) is what it always was.
  size_t OpenMarket(size_t pick) const {
    for (size_t k = 0; k < markets_.size(); ++k) {
      const size_t m = (pick + k) % markets_.size();
      if (now_ + 2 * kMeanGapMicros < market_ends_[m]) return m;
    }
    return pick;  // Every market has ended: the bet is refused, as it would be in life.
  }

  // Skewed market choice: a few markets get most bets, as in life.
  size_t Zipf(size_t n) {
    const size_t a = rng_() % n;
    const size_t b = rng_() % n;
    return std::min(a, b);
  }

  void Advance() {
    if (open_.empty()) return Place();
    const size_t i = rng_() % open_.size();
    GenBet& bet = open_[i];
    Event e;
    e.bet_id = bet.id;
    const uint64_t roll = rng_() % 100;
    switch (bet.stage) {
      case 0:
        e.action = Action::kConfirmed;
        bet.stage = 1;
        break;
      case 1:
        if (roll < 90) return Retire(i);
        e.action = Action::kFlagged;
        e.reason = "Velocity exceeded";
        e.severity = roll < 95 ? Severity::kMedium : Severity::kHigh;
        bet.stage = 2;
        flagged_wallets_.push_back(bet.wallet);
        break;
      case 2:
        if (roll < 30) return Retire(i);
        e.action = Action::kClawedBack;
        e.clawback_amount = Micros(roll < 80 ? bet.amount : bet.amount / 2 + 1);
        e.reason = "Sybil cluster";
        bet.stage = 3;
        break;
      case 3:
        e.action = Action::kRefunded;
        e.clawback_tx_hash = Hex(64);
        bet.stage = 4;
        break;
      default:
        return Retire(i);
    }
    Emit(std::move(e));
  }

  void Retire(size_t i) {
    open_[i] = std::move(open_.back());
    open_.pop_back();
  }

  void Unflag() {
    if (flagged_wallets_.empty()) return Place();
    Event e;
    e.action = Action::kWalletUnflagged;
    e.wallet = flagged_wallets_.back();
    e.reason = "Reviewed by compliance";
    flagged_wallets_.clear();  // Unflag only the latest; the others stay flagged.
    Emit(std::move(e));
  }

  void Settle(const std::string& market) {
    Event close;
    close.action = Action::kMarketClosed;
    close.market_id = market;
    Emit(std::move(close));
    Event resolve;
    resolve.action = Action::kMarketResolved;
    resolve.market_id = market;
    resolve.winner = rng_() % 2 == 0 ? Choice::kYes : Choice::kNo;
    Emit(std::move(resolve));
  }

  void Step() {
    const uint64_t roll = rng_() % 1000;
    if (roll < 450) return Place();
    if (roll < 999) return Advance();
    return Unflag();
  }

  const StreamOptions& options_;
  std::ostream& out_;
  std::mt19937_64 rng_;
  TimeMicros now_ = kStreamStart;
  int64_t emitted_ = 0;
  int64_t lines_ = 0;
  int64_t next_bet_ = 1;
  int64_t placements_ = 0;
  int64_t burst_limit_ = 0;
  size_t bad_index_ = 0;
  std::string last_line_;
  std::vector<std::string> markets_;
  std::vector<TimeMicros> market_ends_;  // endDate of each of markets_.
  std::vector<GenBet> open_;
  std::vector<std::string> flagged_wallets_;
  absl::flat_hash_map<std::string, int> bets_per_wallet_;
  size_t full_pairs_ = 0;  // (market, wallet) pairs with their ten bets.
};

}  // namespace

int64_t GenerateStream(const StreamOptions& options, std::ostream& out, int64_t* events) {
  Generator generator(options, out);
  const int64_t lines = generator.Run();
  if (events != nullptr) *events = generator.events();
  return lines;
}

}  // namespace ledger
