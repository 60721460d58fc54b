#include "replay/reconcile.h"

#include <array>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/hash_chain.h"
#include "engine/line_reader.h"
#include "engine/money.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

// A CSV export line is a handful of short fields; anything longer is not one.
constexpr size_t kChainLineBytesMax = 1024;

struct BetFacts {
  std::string market_id;
  std::string wallet;
  std::optional<int64_t> clawback_micros;
  int64_t clawback_seq = 0;
  TimeMicros clawback_at = 0;
  std::vector<std::pair<int64_t, std::string>> refunds;  // (seq, tx hash)
};

struct Transfer {
  std::string from;
  std::string to;
  int64_t amount = 0;
  int64_t line = 0;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The export's columns. A header row names them in any order (case-insensitive; other columns are
// ignored); without one, this is the order.
enum ChainColumn : uint8_t { kTxHash, kFrom, kTo, kAmount, kTimestamp };
constexpr std::array<std::string_view, 5> kChainColumnNames = {"txhash", "from", "to", "amount",
                                                               "timestamp"};
// Where each column stands in a line, and how many fields a line has.
struct ChainLayout {
  std::array<size_t, 5> at = {0, 1, 2, 3, 4};
  size_t fields = 5;
};

// The layout a header row names; nullopt after a finding when a needed column is missing or one is
// named twice.
std::optional<ChainLayout> ParseHeader(const std::vector<std::string>& names,
                                       const std::function<void(std::string)>& bad) {
  ChainLayout layout;
  layout.fields = names.size();
  std::array<bool, 5> seen{};
  for (size_t i = 0; i < names.size(); ++i) {
    std::string_view trimmed = names[i];
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\r')) {
      trimmed.remove_prefix(1);
    }
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\r')) {
      trimmed.remove_suffix(1);
    }
    const std::string name = Lower(trimmed);
    for (size_t c = 0; c < kChainColumnNames.size(); ++c) {
      if (name != kChainColumnNames[c]) continue;
      if (seen[c]) {
        bad(StrCat("the header names column ", names[i], " twice"));
        return std::nullopt;
      }
      seen[c] = true;
      layout.at[c] = i;
    }
  }
  for (ChainColumn c : {kTxHash, kFrom, kTo, kAmount}) {
    if (!seen[c]) {
      bad(StrCat("the header has no ", kChainColumnNames[c], " column (it names ",
                 absl::StrJoin(names, ","), ")"));
      return std::nullopt;
    }
  }
  return layout;
}

// One transfer line, or the reason it is not one ("column amount: ..., got 1e6").
absl::StatusOr<std::pair<std::string, Transfer>> ParseTransfer(const std::vector<std::string>& f,
                                                               const ChainLayout& layout,
                                                               int64_t number) {
  if (f.size() != layout.fields) {
    return absl::InvalidArgumentError(StrCat("expected ", layout.fields,
                                             " fields (txHash,from,to,amount,timestamp or the "
                                             "header's), got ",
                                             f.size()));
  }
  auto field = [&](ChainColumn c) { return std::string(f[layout.at[c]]); };
  std::optional<Micros> amount = ParseMicrosOrUsdt(field(kAmount));
  if (!amount || amount->value() < 1) {
    return absl::InvalidArgumentError(
        StrCat("column amount must be micro-USDT (an integer) or USDT with up to ",
               kUsdtDecimalsMax, " decimals, positive, got ", field(kAmount)));
  }
  const std::string hash = Lower(field(kTxHash));
  if (hash.size() != 66 || hash.rfind("0x", 0) != 0) {
    return absl::InvalidArgumentError(
        StrCat("column txHash must be 0x and 64 hex digits, got ", field(kTxHash)));
  }
  return std::make_pair(hash,
                        Transfer{Lower(field(kFrom)), Lower(field(kTo)), amount->value(), number});
}

// Reads the export; bad lines become BAD_CHAIN_LINE findings naming the line, the column and the
// value, and the rest is still used.
absl::flat_hash_map<std::string, Transfer> ReadChain(std::istream& in, ReconcileReport* report) {
  absl::flat_hash_map<std::string, Transfer> out;
  LineReader reader(in, kChainLineBytesMax);
  LineReader::Line line;
  auto bad = [report](int64_t number, std::string detail) {
    report->findings.push_back(
        {"BAD_CHAIN_LINE", "", "", "", 0, "", StrCat("chain line ", number, ": ", detail), 0});
  };
  ChainLayout layout;
  while (reader.Next(&line)) {
    if (line.too_long) {
      bad(line.number,
          StrCat("line is ", line.length, " bytes, the limit is ", kChainLineBytesMax));
      continue;
    }
    if (line.text.empty()) continue;
    std::vector<std::string> f = absl::StrSplit(line.text, ',');
    if (line.number == 1 && Lower(f[0]).rfind("0x", 0) != 0) {  // A header, not a transfer.
      std::optional<ChainLayout> named =
          ParseHeader(f, [&](std::string detail) { bad(1, std::move(detail)); });
      if (!named) return out;  // Without its columns no line can be read.
      layout = *named;
      continue;
    }
    absl::StatusOr<std::pair<std::string, Transfer>> t = ParseTransfer(f, layout, line.number);
    if (!t.ok()) {
      bad(line.number, std::string(t.status().message()));
      continue;
    }
    if (!out.emplace(t->first, t->second).second) {
      bad(line.number, StrCat("txHash ", t->first, " appears twice in the export"));
      continue;
    }
    ++report->chain_transfers;
  }
  return out;
}

// What the log says about clawbacks and refunds.
struct LogFacts {
  absl::flat_hash_map<std::string, BetFacts> bets;
  absl::flat_hash_map<std::string, std::string> safes;  // marketId -> gnosisSafeAddress
};

absl::StatusOr<LogFacts> ReadLogFacts(pg::Database* store, ReconcileReport* report,
                                      ChainTrust* trust) {
  LogFacts facts;
  ChainGuard guard(0, kGenesisHash, trust);
  LEDGER_RETURN_IF_ERROR(store->log().Stream(0, [&](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(guard.Check(row));
    const Event& e = row.event;
    if (e.action == Action::kMarketCreated) facts.safes[*e.market_id] = *e.gnosis_safe_address;
    if (!e.bet_id) return absl::OkStatus();
    BetFacts& bet = facts.bets[*e.bet_id];
    if (e.market_id) bet.market_id = *e.market_id;
    if (e.wallet) bet.wallet = *e.wallet;
    if (e.action == Action::kClawedBack) {
      bet.clawback_micros = e.clawback_amount->value();
      bet.clawback_seq = row.seq;
      bet.clawback_at = e.created_at;
      ++report->clawbacks;
      report->clawed_back_micros += e.clawback_amount->value();
    } else if (e.action == Action::kRefunded) {
      bet.refunds.emplace_back(row.seq, e.clawback_tx_hash.value_or(""));
      ++report->refunds;
    }
    return absl::OkStatus();
  }));
  return facts;
}

using AddFinding =
    std::function<void(std::string kind, int64_t seq, std::string tx, std::string detail)>;

// The log's own consistency for one bet: each clawback refunded once, no refund without one.
void CheckRefunds(const BetFacts& bet, TimeMicros now, ReconcileReport* report,
                  const AddFinding& finding) {
  if (bet.clawback_micros && bet.refunds.empty()) {
    finding("CLAWBACK_NOT_REFUNDED", bet.clawback_seq, "",
            StrCat(*bet.clawback_micros, " micro-USDT clawed back at ",
                   FormatRfc3339(bet.clawback_at), " has no refund"));
    report->findings.back().age_seconds = (now - bet.clawback_at) / 1000000;
  }
  if (!bet.clawback_micros) {
    for (const auto& [seq, tx] : bet.refunds) {
      finding("REFUND_WITHOUT_CLAWBACK", seq, tx, "refund of a bet that was never clawed back");
    }
  }
  if (bet.refunds.size() > 1) {
    finding("DOUBLE_REFUND", bet.refunds[1].first, bet.refunds[1].second,
            StrCat(bet.refunds.size(), " refunds for one clawback"));
  }
}

// One refund of `bet` against the on-chain transfer with its hash.
void CheckTransfer(const BetFacts& bet, int64_t seq, const std::string& tx,
                   const absl::flat_hash_map<std::string, Transfer>& transfers,
                   const LogFacts& facts, const AddFinding& finding) {
  auto t = transfers.find(tx);
  if (t == transfers.end()) {
    finding("REFUND_NOT_ON_CHAIN", seq, tx, "no on-chain transfer with this hash");
    return;
  }
  if (t->second.to != bet.wallet) {
    finding("REFUND_WRONG_WALLET", seq, tx,
            StrCat("transfer went to ", t->second.to, ", the bet's wallet is ", bet.wallet));
  }
  if (bet.clawback_micros && t->second.amount != *bet.clawback_micros) {
    finding("REFUND_AMOUNT_MISMATCH", seq, tx,
            StrCat("transfer of ", t->second.amount, " micro-USDT for a clawback of ",
                   *bet.clawback_micros));
  }
  auto safe = facts.safes.find(bet.market_id);
  if (safe != facts.safes.end() && t->second.from != safe->second) {
    finding("REFUND_WRONG_SOURCE", seq, tx,
            StrCat("transfer came from ", t->second.from, ", the market's Safe is ", safe->second));
  }
}

// Transfers out of a market's Safe that no refund in the log claims.
void CheckUnclaimed(const absl::flat_hash_map<std::string, Transfer>& transfers,
                    const absl::flat_hash_set<std::string>& claimed, const LogFacts& facts,
                    ReconcileReport* report) {
  absl::flat_hash_set<std::string> safe_addresses;
  for (const auto& [market, safe] : facts.safes) safe_addresses.insert(safe);
  for (const auto& [tx, t] : transfers) {
    if (claimed.contains(tx) || !safe_addresses.contains(t.from)) continue;
    report->findings.push_back(
        {"UNKNOWN_ONCHAIN_REFUND", "", "", t.to, 0, tx,
         StrCat("chain line ", t.line, ": ", t.amount, " micro-USDT from Safe ", t.from,
                " that no refund in the log claims"),
         0});
  }
}

}  // namespace

absl::StatusOr<ReconcileReport> Reconcile(pg::Database* store, std::istream* chain, TimeMicros now,
                                          ChainTrust* trust) {
  ReconcileReport report;
  LEDGER_ASSIGN_OR_RETURN(const LogFacts facts, ReadLogFacts(store, &report, trust));
  std::optional<absl::flat_hash_map<std::string, Transfer>> transfers;
  if (chain != nullptr) transfers = ReadChain(*chain, &report);
  absl::flat_hash_map<std::string, std::string> refund_tx_owner;  // tx hash -> betId
  absl::flat_hash_set<std::string> claimed;
  for (const auto& [bet_id, bet] : facts.bets) {
    const AddFinding finding = [&, &bet_id = bet_id, &bet = bet](std::string kind, int64_t seq,
                                                                 std::string tx,
                                                                 std::string detail) {
      report.findings.push_back({std::move(kind), bet_id, bet.market_id, bet.wallet, seq,
                                 std::move(tx), std::move(detail), 0});
    };
    CheckRefunds(bet, now, &report, finding);
    for (const auto& [seq, tx] : bet.refunds) {
      auto [owner, fresh] = refund_tx_owner.emplace(tx, bet_id);
      if (!fresh) {
        finding("REFUND_TX_REUSED", seq, tx, StrCat("refund tx also used for bet ", owner->second));
      }
      if (!transfers) continue;
      claimed.insert(tx);
      CheckTransfer(bet, seq, tx, *transfers, facts, finding);
    }
  }
  if (transfers) CheckUnclaimed(*transfers, claimed, facts, &report);
  std::sort(report.findings.begin(), report.findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.kind, a.seq, a.tx_hash) < std::tie(b.kind, b.seq, b.tx_hash);
  });
  return report;
}

}  // namespace ledger
