#include "replay/audit.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "boost/json.hpp"
#include "engine/event_codec.h"
#include "engine/hash_chain.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "engine/version.h"
#include "replay/replay.h"
#include "replay/verify.h"

namespace ledger {
namespace {

namespace json = boost::json;

std::string MarketStateText(const MarketState& m) {
  return StrCat(MarketStatusName(m.status), " yesPool=", m.yes_pool.value(),
                " noPool=", m.no_pool.value());
}

// ROUND(100.0 * yes / total, 1) as PostgreSQL computes it (half away from zero), in integers.
std::optional<std::string> YesPercent(int64_t yes, int64_t total) {
  if (total == 0) return std::nullopt;
  const Int128 tenths =
      (static_cast<Int128>(yes) * 2000 + total) / (2 * static_cast<Int128>(total));
  const int64_t t = static_cast<int64_t>(tenths);
  return StrCat(t / 10, ".", t % 10);
}

MarketStats StatsFor(const LedgerState& state, const std::string& market_id) {
  const MarketState& m = *state.FindMarket(market_id);
  MarketStats s;
  s.market_id = market_id;
  s.question = m.question;
  s.status = std::string(MarketStatusName(m.status));
  if (m.winner) s.winner = std::string(ChoiceName(*m.winner));
  s.yes_pool = m.yes_pool.value();
  s.no_pool = m.no_pool.value();
  s.total_pool = s.yes_pool + s.no_pool;
  s.yes_percent = YesPercent(s.yes_pool, s.total_pool);
  absl::flat_hash_set<uint32_t> wallets;
  state.ForEachBet([&](std::string_view, const BetState& b) {
    if (state.MarketIdOf(b) != market_id || b.status != BetStatus::kConfirmed) return;
    ++s.total_bets;
    wallets.insert(b.wallet);
  });
  s.unique_wallets = static_cast<int64_t>(wallets.size());
  return s;
}

Settlement Settle(const LedgerState& state, const std::string& market_id) {
  const MarketState& m = *state.FindMarket(market_id);
  Settlement s;
  s.winner = std::string(ChoiceName(*m.winner));
  s.total_pool = m.yes_pool.value() + m.no_pool.value();
  state.ForEachBet([&](std::string_view id, const BetState& b) {
    if (state.MarketIdOf(b) != market_id || b.status == BetStatus::kPending) return;
    s.confirmed_stakes += b.amount.value();
    s.clawbacks += b.clawback_amount.value();
    const int64_t stake = b.amount.value() - b.clawback_amount.value();
    if (b.choice == *m.winner && stake > 0) {
      s.payouts.push_back({std::string(id), std::string(state.WalletOf(b)), stake, 0});
      s.winning_stakes += stake;
    }
  });
  std::sort(s.payouts.begin(), s.payouts.end(),
            [](const Payout& a, const Payout& b) { return a.bet_id < b.bet_id; });
  for (Payout& p : s.payouts) {
    p.payout = static_cast<int64_t>(static_cast<Int128>(p.stake) * s.total_pool / s.winning_stakes);
    s.paid += p.payout;
  }
  s.breakage = s.total_pool - s.paid;
  s.conserved = s.confirmed_stakes == s.paid + s.clawbacks + s.breakage;
  return s;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out.push_back(c);
  }
  return out + "\"";
}

std::string Opt(const std::optional<std::string>& v) { return v.value_or(""); }
std::string OptAmount(const std::optional<Micros>& v) { return v ? StrCat(v->value()) : ""; }

}  // namespace

std::string AuditRange::Describe() const {
  if (whole_log()) return "the whole log";
  std::string out = from_time || until_time ? "events that happened" : "positions";
  if (from_seq) out += StrCat(" from seq ", *from_seq);
  if (from_time) out += StrCat(" from ", FormatRfc3339(*from_time));
  if (until_seq) out += StrCat(" until seq ", *until_seq);
  if (until_time) out += StrCat(" until ", FormatRfc3339(*until_time));
  return out;
}

namespace {

// The rows of one subject in every projection: what an audit compares with the live tables.
RowFilter SubjectRows(const std::optional<std::string>& market_id,
                      const std::optional<std::string>& wallet,
                      const absl::flat_hash_set<std::string>& wallet_markets) {
  // Columns (projections/projector.cc): Market 1 marketId; Bet 1 walletAddress, 2 marketId;
  // FlaggedWallet 1 wallet, 2 marketId; PoolSnapshot 1 marketId.
  return [=](Projection p, const Row& row) {
    if (market_id)
      return *row[p == Projection::kBet || p == Projection::kFlaggedWallet ? 2 : 1] == *market_id;
    switch (p) {
      case Projection::kMarket:
        return wallet_markets.contains(*row[1]);
      case Projection::kBet:
      case Projection::kFlaggedWallet:
        return *row[1] == *wallet;
      case Projection::kPoolSnapshot:
        return false;  // A market's history, not a wallet's.
    }
    return false;
  };
}

// The header's verify sentence: the chain as read, then this subject's projected rows.
absl::Status JudgeSubject(pg::Database* store, const Projector& projector, const RowFilter& keep,
                          const ChainTrust* trust, const std::string& subject, bool at_head,
                          ReportHeader* h) {
  if (trust != nullptr && trust->first_break) {
    h->verify_ok = false;
    h->verify = StrCat("the hash chain is BROKEN at seq ", trust->first_break->seq, " (",
                       trust->first_break->kind, "): this report is untrusted; tables not judged");
    return absl::OkStatus();
  }
  h->verify = StrCat("hash chain intact from the first row to seq ", h->head_seq);
  if (!at_head) {
    h->verify += "; projected tables not compared (the report's state is cut before the head)";
    return absl::OkStatus();
  }
  VerifyReport behind;
  LEDGER_ASSIGN_OR_RETURN(const auto skip, FindBehind(store, h->head_seq, &behind));
  if (!behind.behind.empty()) {
    h->verify +=
        "; projected tables not compared: a projection is behind the log (run `ledger "
        "project`)";
    return absl::OkStatus();
  }
  std::vector<Drift> drift;
  std::map<std::string, int64_t> counts;
  LEDGER_RETURN_IF_ERROR(CompareWithLive(store, projector, &drift, &counts, 1, skip, keep));
  int64_t differences = 0;
  for (const auto& [what, n] : counts) differences += n;
  h->verify_ok = differences == 0;
  h->verify += differences == 0 ? StrCat("; the projected rows of ", subject, " match the tables")
                                : StrCat("; ", differences, " projected rows of ", subject,
                                         " differ from the tables: run `ledger verify`");
  return absl::OkStatus();
}

// What the timeline shows as an event's amount (TimelineEntry::amount).
std::optional<int64_t> AmountOf(const Event& e, const BetState* bet) {
  switch (e.action) {
    case Action::kPlaced:
      return e.amount->value();
    case Action::kConfirmed:
    case Action::kFlagged:
      return bet->amount.value();
    case Action::kClawedBack:
      return -e.clawback_amount->value();
    case Action::kRefunded:
      return bet->clawback_amount.value();
    default:
      return std::nullopt;
  }
}

// Whether a row is in the report's state (the range's end), folding it when it is.
class RangeFold {
 public:
  RangeFold(const AuditRange& range, Projector* projector, AuditFindings* findings)
      : range_(range), projector_(projector), findings_(findings) {}

  absl::StatusOr<bool> Fold(const LoggedEvent& row) {
    if (range_.until_seq && row.seq > *range_.until_seq) return false;
    if (range_.until_time) {
      const bool folded = FoldByEventTime(*projector_, row, *range_.until_time, &cut_);
      findings_->held_back = cut_.held_back_total;
      return folded;
    }
    LEDGER_RETURN_IF_ERROR(projector_->Apply(row));
    return true;
  }
  bool InTimeline(const LoggedEvent& row) const {
    return (!range_.from_seq || row.seq >= *range_.from_seq) &&
           (!range_.from_time || row.event.created_at >= *range_.from_time);
  }

 private:
  const AuditRange& range_;
  Projector* projector_;
  AuditFindings* findings_;
  EventTimeCut cut_;
};

// The digest's row, when the stream reaches it: its hash and recordedAt must be the digest's.
void CheckDigestRow(const std::optional<LogDigest>& digest, const LoggedEvent& row,
                    ReportHeader* h) {
  if (!digest || row.seq != digest->seq) return;
  if (row.hash != digest->hash ||
      (digest->recorded_at && row.recorded_at != *digest->recorded_at)) {
    h->digest_ok = false;
    h->digest =
        StrCat("DOES NOT MATCH: the row at seq ", row.seq, " has hash ", ToHex(row.hash),
               ", the digest says ", ToHex(digest->hash), " (run `ledger verify --digest`)");
  } else {
    h->digest = StrCat("matches at seq ", row.seq);
  }
}

void FinishDigest(const AuditOptions& options, ReportHeader* h) {
  if (!options.digest) {
    h->digest = "not checked (no --digest)";
    return;
  }
  if (h->digest.empty()) {
    h->digest_ok = options.digest->seq == 0;
    h->digest = options.digest->seq == 0
                    ? "matches (the empty log)"
                    : StrCat("DOES NOT MATCH: the digest is at seq ", options.digest->seq,
                             " but the log ends at ", h->head_seq);
  }
  if (!options.digest_signature.empty())
    h->digest += StrCat("; signature ", options.digest_signature);
}

// Clawbacks of the subject's bets with no refund by the range's end, oldest first.
void FindUnrefunded(const LedgerState& state,
                    const absl::flat_hash_map<std::string, LoggedEvent>& clawbacks, TimeMicros now,
                    AuditFindings* findings) {
  for (const auto& [bet_id, row] : clawbacks) {
    const BetState* bet = state.FindBet(bet_id);
    if (bet == nullptr || bet->refunded) continue;
    findings->unrefunded.push_back({bet_id, std::string(state.WalletOf(*bet)), row.seq,
                                    row.event.clawback_amount->value(),
                                    std::max<int64_t>(0, (now - row.event.created_at) / 1000000)});
  }
  std::sort(findings->unrefunded.begin(), findings->unrefunded.end(),
            [](const UnrefundedClawback& a, const UnrefundedClawback& b) { return a.seq < b.seq; });
}

// A market's statistics, settlement, pool history and the times its chart marks.
void AddMarketSections(const Projector& projector, const std::string& market_id,
                       AuditReport* report) {
  const LedgerState& state = projector.state();
  const MarketState& m = *state.FindMarket(market_id);
  report->markets.push_back(StatsFor(state, market_id));
  if (m.status == MarketStatus::kResolved) report->settlement = Settle(state, market_id);
  if (m.end_date != 0) report->market_end = m.end_date;
  for (const TimelineEntry& t : report->timeline) {
    if (t.event.action == Action::kMarketResolved) report->market_resolved = t.event.created_at;
  }
  projector.ForEachRow(Projection::kPoolSnapshot, [&](const Row& row) {
    if (*row[1] != market_id) return;
    if (std::optional<TimeMicros> at = ParsePgTimestamp(*row[5])) {
      report->pool_history.push_back({*at, std::stoll(*row[2]), std::stoll(*row[3])});
    }
  });
  std::sort(report->pool_history.begin(), report->pool_history.end(),
            [](const SnapshotPoint& a, const SnapshotPoint& b) { return a.at < b.at; });
  report->pool_history.push_back({m.updated_at, m.yes_pool.value(), m.no_pool.value()});
}

// A wallet's markets: their statistics, and what the wallet staked, got back and is paid in each.
void AddWalletSections(const Projector& projector, const std::string& wallet,
                       const absl::flat_hash_set<std::string>& wallet_markets,
                       AuditReport* report) {
  const LedgerState& state = projector.state();
  std::vector<std::string> ids(wallet_markets.begin(), wallet_markets.end());
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    report->markets.push_back(StatsFor(state, id));
    WalletMarketTotals t;
    t.market_id = id;
    t.status = report->markets.back().status;
    state.ForEachBet([&](std::string_view, const BetState& b) {
      if (state.MarketIdOf(b) != id || state.WalletOf(b) != wallet) return;
      ++t.bets;
      if (b.status == BetStatus::kPending) return;
      t.staked += b.amount.value();
      t.clawed_back += b.clawback_amount.value();
      if (b.refunded) t.refunded += b.clawback_amount.value();
    });
    if (state.FindMarket(id)->status == MarketStatus::kResolved) {
      const Settlement s = Settle(state, id);
      t.payout = 0;
      for (const Payout& p : s.payouts) {
        if (p.wallet == wallet) *t.payout += p.payout;
      }
    }
    t.net = t.payout.value_or(0) + t.refunded - t.staked;
    report->wallet_totals.push_back(std::move(t));
  }
}

}  // namespace

absl::StatusOr<AuditReport> Audit(pg::Database* store, const std::optional<std::string>& market_id,
                                  const std::optional<std::string>& wallet,
                                  const AuditOptions& options, ChainTrust* trust) {
  AuditReport report;
  ReportHeader& h = report.header;
  h.generated_at = options.now != 0 ? options.now : NowMicros();
  h.ledger_version = kLedgerVersion;
  h.database = options.database;
  h.range = options.range.Describe();
  ChainGuard guard(0, kGenesisHash, trust);
  report.subject = market_id ? StrCat("market ", *market_id) : StrCat("wallet ", *wallet);
  Projector projector = Projector::ForFullFold(options.projector);
  RangeFold range(options.range, &projector, &report.findings);
  absl::flat_hash_set<std::string> wallet_markets;
  absl::flat_hash_map<std::string, LoggedEvent> clawbacks;  // The subject's, by bet.
  h.head_hash = ToHex(kGenesisHash);
  LEDGER_RETURN_IF_ERROR(store->log().Stream(0, [&](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(guard.Check(row));
    CheckDigestRow(options.digest, row, &h);
    h.head_seq = row.seq;
    h.head_hash = ToHex(row.hash);
    LEDGER_ASSIGN_OR_RETURN(const bool folded, range.Fold(row));
    const Event& e = row.event;
    const bool concerns = market_id ? e.market_id == *market_id : e.wallet == *wallet;
    if (!folded || !concerns) return absl::OkStatus();
    const LedgerState& state = projector.state();
    const BetState* bet = e.bet_id ? state.FindBet(*e.bet_id) : nullptr;
    if (bet != nullptr) wallet_markets.insert(state.MarketIdOf(*bet));
    if (e.action == Action::kClawedBack) clawbacks.insert_or_assign(*e.bet_id, row);
    if (!range.InTimeline(row)) return absl::OkStatus();
    TimelineEntry entry{row.seq, ToHex(row.hash), e, row.recorded_at, "", AmountOf(e, bet), 0, 0};
    if (const MarketState* m = e.market_id ? state.FindMarket(*e.market_id) : nullptr) {
      entry.yes_pool = m->yes_pool.value();
      entry.no_pool = m->no_pool.value();
      if (market_id) entry.state_after = MarketStateText(*m);
    }
    if (!market_id) {
      entry.state_after =
          bet != nullptr ? StrCat("bet ", BetStatusName(bet->status)) : "wallet no longer flagged";
    }
    if (e.action == Action::kFlagged) ++report.findings.flags;
    report.timeline.push_back(std::move(entry));
    return absl::OkStatus();
  }));
  h.state_seq = projector.head_seq();
  FinishDigest(options, &h);
  const LedgerState& state = projector.state();
  if (market_id && state.FindMarket(*market_id) == nullptr) {
    return absl::NotFoundError(StrCat("market ", *market_id, " is not in the log",
                                      options.range.whole_log() ? "" : " by the range's end"));
  }
  FindUnrefunded(state, clawbacks, options.range.until_time.value_or(h.generated_at),
                 &report.findings);
  const RowFilter keep = SubjectRows(market_id, wallet, wallet_markets);
  projector.ForEachRow(Projection::kFlaggedWallet, [&](const Row& row) {
    if (keep(Projection::kFlaggedWallet, row) && row[5] == "t") ++report.findings.flagged_now;
  });
  const bool at_head = !options.range.until_time &&
                       (!options.range.until_seq || *options.range.until_seq >= h.head_seq);
  LEDGER_RETURN_IF_ERROR(JudgeSubject(store, projector, keep, trust, report.subject, at_head, &h));
  if (market_id) {
    AddMarketSections(projector, *market_id, &report);
  } else {
    AddWalletSections(projector, *wallet, wallet_markets, &report);
  }
  return report;
}

namespace {

json::value OptJson(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value OptJson(const std::optional<int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object HeaderJson(const AuditReport& r) {
  const ReportHeader& h = r.header;
  return {{"subject", r.subject},
          {"generatedAt", FormatRfc3339(h.generated_at)},
          {"ledgerVersion", h.ledger_version},
          {"database", h.database},
          {"headSeq", h.head_seq},
          {"headHash", h.head_hash},
          {"stateSeq", h.state_seq},
          {"range", h.range},
          {"digest", h.digest},
          {"digestOk", h.digest_ok},
          {"verify", h.verify},
          {"verifyOk", h.verify_ok}};
}

json::object FindingsJson(const AuditReport& r) {
  json::array unrefunded;
  for (const UnrefundedClawback& u : r.findings.unrefunded) {
    unrefunded.push_back({{"betId", u.bet_id},
                          {"wallet", u.wallet},
                          {"seq", u.seq},
                          {"amount", u.amount},
                          {"ageSeconds", u.age_seconds}});
  }
  return {{"clawbacksNotRefunded", unrefunded},
          {"flags", r.findings.flags},
          {"flaggedNow", r.findings.flagged_now},
          {"heldBack", r.findings.held_back},
          {"settlementConserved",
           r.settlement ? json::value(r.settlement->conserved) : json::value(nullptr)}};
}

json::array WalletTotalsJson(const AuditReport& r) {
  json::array out;
  for (const WalletMarketTotals& t : r.wallet_totals) {
    out.push_back({{"marketId", t.market_id},
                   {"status", t.status},
                   {"bets", t.bets},
                   {"staked", t.staked},
                   {"clawedBack", t.clawed_back},
                   {"refunded", t.refunded},
                   {"payout", OptJson(t.payout)},
                   {"net", t.net}});
  }
  return out;
}

}  // namespace

bool IsMarketReport(const AuditReport& report) { return report.subject.rfind("market ", 0) == 0; }

std::string AuditJson(const AuditReport& r) {
  json::array timeline;
  for (const TimelineEntry& t : r.timeline) {
    json::object o = json::parse(EncodeEventJson(t.event)).as_object();
    o["seq"] = t.seq;
    o["hash"] = t.hash;
    o["recordedAt"] = FormatRfc3339(t.recorded_at);
    o["stateAfter"] = t.state_after;
    o["movedAmount"] = OptJson(t.amount);
    timeline.push_back(std::move(o));
  }
  json::array markets;
  for (const MarketStats& m : r.markets) {
    markets.push_back({{"marketId", m.market_id},
                       {"question", m.question},
                       {"status", m.status},
                       {"winner", OptJson(m.winner)},
                       {"yesPool", m.yes_pool},
                       {"noPool", m.no_pool},
                       {"totalPool", m.total_pool},
                       {"yesPercent", OptJson(m.yes_percent)},
                       {"totalBets", m.total_bets},
                       {"uniqueWallets", m.unique_wallets}});
  }
  json::object out{{"header", HeaderJson(r)},
                   {"subject", r.subject},
                   {"headSeq", r.header.state_seq},
                   {"untrusted", r.untrusted ? json::value({{"seq", r.untrusted->seq},
                                                            {"kind", r.untrusted->kind},
                                                            {"detail", r.untrusted->detail}})
                                             : json::value(nullptr)},
                   {"findings", FindingsJson(r)},
                   {"timeline", timeline},
                   {"markets", markets}};
  if (!IsMarketReport(r)) {
    out["walletTotals"] = WalletTotalsJson(r);
  }
  if (r.settlement) {
    const Settlement& s = *r.settlement;
    json::array payouts;
    for (const Payout& p : s.payouts) {
      payouts.push_back(
          {{"betId", p.bet_id}, {"wallet", p.wallet}, {"stake", p.stake}, {"payout", p.payout}});
    }
    out["settlement"] = {{"winner", s.winner},
                         {"totalPool", s.total_pool},
                         {"winningStakes", s.winning_stakes},
                         {"paid", s.paid},
                         {"breakage", s.breakage},
                         {"confirmedStakes", s.confirmed_stakes},
                         {"clawbacks", s.clawbacks},
                         {"conserved", s.conserved},
                         {"payouts", payouts}};
  }
  json::array history;
  for (const SnapshotPoint& p : r.pool_history) {
    history.push_back(
        {{"at", FormatRfc3339(p.at)}, {"yesPool", p.yes_pool}, {"noPool", p.no_pool}});
  }
  out["poolHistory"] = history;
  return json::serialize(out);
}

// One sentence for the report's first line when it was derived from a broken chain.
std::string UntrustedText(const ChainBreak& b) {
  return StrCat("UNTRUSTED: derived from a log whose hash chain is broken at seq ", b.seq, " (",
                b.kind, ": ", b.detail, ")");
}

std::string AuditCsv(const AuditReport& r) {
  // The header as comment lines: a spreadsheet shows them, a CSV reader told to skip '#' does.
  std::string out = r.untrusted ? StrCat("# ", UntrustedText(*r.untrusted), "\n") : "";
  for (const auto& [key, value] : HeaderJson(r)) {
    out +=
        StrCat("# ", std::string_view(key), ": ",
               value.is_string() ? std::string(value.as_string()) : json::serialize(value), "\n");
  }
  out +=
      "seq,hash,action,createdAt,recordedAt,betId,marketId,wallet,choice,amount,clawbackAmount,"
      "txHash,clawbackTxHash,reason,stateAfter,movedAmount,movedUsdt\n";
  for (const TimelineEntry& t : r.timeline) {
    const Event& e = t.event;
    out += StrCat(
        t.seq, ",", t.hash, ",", ActionName(e.action), ",", FormatRfc3339(e.created_at), ",",
        FormatRfc3339(t.recorded_at), ",", CsvField(Opt(e.bet_id)), ",", CsvField(Opt(e.market_id)),
        ",", Opt(e.wallet), ",", e.choice ? std::string(ChoiceName(*e.choice)) : "", ",",
        OptAmount(e.amount), ",", OptAmount(e.clawback_amount), ",", Opt(e.tx_hash), ",",
        Opt(e.clawback_tx_hash), ",", CsvField(Opt(e.reason)), ",", CsvField(t.state_after), ",",
        t.amount ? StrCat(*t.amount) : "", ",", t.amount ? FormatUsdt(*t.amount) : "", "\n");
  }
  return out;
}

namespace {

// The chart's geometry, in SVG pixels.
constexpr int64_t kChartWidth = 900;
constexpr int64_t kChartHeight = 300;
constexpr int64_t kChartLeft = 110;  // Room for the USDT labels.
constexpr int64_t kChartRight = 20;
constexpr int64_t kChartTop = 30;  // Room for the legend.
constexpr int64_t kChartBottom = 40;
constexpr int kChartTicks = 4;
// Timeline and payout rows per page in the HTML report: a 15k-event market opens at once.
constexpr int kHtmlPageRows = 100;

// The smallest 1, 2 or 5 times a power of ten, in whole USDT as micro-USDT, that `ticks` steps of
// it reach `top`: the chart's USDT axis step.
int64_t AxisStep(int64_t top, int ticks) {
  for (int64_t unit = kMicrosPerUsdt;; unit *= 10) {
    for (int64_t m : {1, 2, 5}) {
      if (m * unit * ticks >= top) return m * unit;
    }
    if (unit > Micros::kMax / 100) return unit * 10;
  }
}

// Integer interpolation: lo + (v - v0) * span / range, for pixel positions (no doubles).
int64_t Scale(int64_t v, int64_t v0, int64_t range, int64_t lo, int64_t span) {
  return lo +
         static_cast<int64_t>(static_cast<Int128>(v - v0) * span / std::max<int64_t>(range, 1));
}

// "2026-01-15 09:00", an axis label.
std::string Minute(TimeMicros t) {
  std::string text = FormatRfc3339(t).substr(0, 16);
  text[10] = ' ';
  return text;
}

// The pools over time: YES and NO as step lines (a pool holds its value until the next change),
// a time axis, a USDT axis, a legend, and the market's close and resolution marked.
std::string PoolChart(const AuditReport& r) {
  const std::vector<SnapshotPoint>& points = r.pool_history;
  if (points.size() < 2) return "<p>Not enough pool history for a chart.</p>";
  // The span of the pool history; a close or resolution outside it is named under the chart
  // (a market that closes in a year would otherwise squeeze its history into a line).
  const TimeMicros t0 = points.front().at;
  const TimeMicros t1 = std::max(points.back().at, t0 + 1);
  int64_t top = 1;
  for (const SnapshotPoint& p : points) top = std::max({top, p.yes_pool, p.no_pool});
  const int64_t step = AxisStep(top, kChartTicks);
  top = step * kChartTicks;
  const int64_t plot_w = kChartWidth - kChartLeft - kChartRight;
  const int64_t plot_h = kChartHeight - kChartTop - kChartBottom;
  auto x = [&](TimeMicros t) { return Scale(t, t0, t1 - t0, kChartLeft, plot_w); };
  auto y = [&](int64_t v) { return Scale(top - v, 0, top, kChartTop, plot_h); };
  auto path = [&](bool yes) {
    std::string d;
    for (const SnapshotPoint& p : points) {
      const int64_t v = yes ? p.yes_pool : p.no_pool;
      d += d.empty() ? StrCat("M", x(p.at), " ", y(v)) : StrCat("H", x(p.at), "V", y(v));
    }
    return d + StrCat("H", x(t1));
  };
  std::string svg = StrCat("<svg class=chart xmlns='http://www.w3.org/2000/svg' viewBox='0 0 ",
                           kChartWidth, " ", kChartHeight, "' width='", kChartWidth,
                           "' role='img' aria-label='YES and NO pools over time'>",
                           "<g font-size='11' fill='#444'>");
  for (int i = 0; i <= kChartTicks; ++i) {
    const int64_t v = step * i;
    const int64_t ty = y(v);
    svg += StrCat("<line x1='", kChartLeft, "' x2='", kChartLeft + plot_w, "' y1='", ty, "' y2='",
                  ty, "' stroke='#e4e4e4'/><text x='", kChartLeft - 6, "' y='", ty + 4,
                  "' text-anchor='end'>",
                  FormatUsdt(v, true).substr(0, FormatUsdt(v, true).size() - 7), "</text>");
    const TimeMicros tt =
        t0 + static_cast<TimeMicros>(static_cast<Int128>(t1 - t0) * i / kChartTicks);
    svg += StrCat("<text x='", x(tt), "' y='", kChartHeight - kChartBottom + 16,
                  "' text-anchor='middle'>", Minute(tt), "</text>");
  }
  svg += StrCat("<text x='14' y='", kChartTop + plot_h / 2, "' transform='rotate(-90 14 ",
                kChartTop + plot_h / 2, ")' text-anchor='middle'>pool, USDT</text>", "<text x='",
                kChartLeft + plot_w / 2, "' y='", kChartHeight - 4,
                "' text-anchor='middle'>time (UTC)</text></g>");
  std::string outside;
  for (const auto& [t, label] :
       {std::pair{r.market_end, "close"}, {r.market_resolved, "resolved"}}) {
    if (!t) continue;
    if (*t < t0 || *t > t1) {
      outside += StrCat(outside.empty() ? "" : "; ", label, " at ", FormatRfc3339(*t));
      continue;
    }
    const bool right_half = x(*t) > kChartLeft + plot_w / 2;
    svg += StrCat("<line x1='", x(*t), "' x2='", x(*t), "' y1='", kChartTop, "' y2='",
                  kChartTop + plot_h, "' stroke='#555' stroke-dasharray='4 3'/><text x='",
                  x(*t) + (right_half ? -3 : 3), "' y='", kChartTop + 10, "' font-size='11'",
                  right_half ? " text-anchor='end'" : "", ">", label, "</text>");
  }
  svg += StrCat("<path fill='none' stroke='#1a7f37' stroke-width='2' d='", path(true),
                "'/><path fill='none' stroke='#cf222e' stroke-width='2' d='", path(false), "'/>",
                "<g font-size='12'><line x1='", kChartLeft, "' x2='", kChartLeft + 24,
                "' y1='12' y2='12' stroke='#1a7f37' stroke-width='3'/><text x='", kChartLeft + 30,
                "' y='16'>YES pool</text><line x1='", kChartLeft + 110, "' x2='", kChartLeft + 134,
                "' y1='12' y2='12' stroke='#cf222e' stroke-width='3'/><text x='", kChartLeft + 140,
                "' y='16'>NO pool</text></g></svg>");
  if (!outside.empty()) svg += StrCat("<p>Outside the chart's span: ", outside, ".</p>");
  return svg;
}

std::string Usdt(int64_t micros) { return FormatUsdt(micros, true); }

// An age as a person reads it: "322d 04h 07m", "5h 03m", "42s".
std::string AgeText(int64_t seconds) {
  constexpr int64_t kMinute = 60, kHour = 3600, kDay = 86400;
  if (seconds < kMinute) return StrCat(seconds, "s");
  const int64_t d = seconds / kDay, h = seconds % kDay / kHour, m = seconds % kHour / kMinute;
  if (d > 0) return absl::StrFormat("%dd %02dh %02dm", d, h, m);
  return absl::StrFormat("%dh %02dm", h, m);
}

// Unrefunded clawbacks listed in the HTML findings at most (the JSON lists every one).
constexpr size_t kHtmlUnrefundedListed = 100;

// A JSON string for the page's data block: no '<' at all, so nothing a producer wrote can end the
// script element or start markup.
std::string ScriptString(std::string_view text) {
  std::string out = json::serialize(json::value(text));
  for (size_t at = out.find('<'); at != std::string::npos; at = out.find('<', at)) {
    out.replace(at, 1, "\\u003c");
  }
  return out;
}

// The header block and the findings, the first thing on the page.
std::string HtmlHeader(const AuditReport& r) {
  const ReportHeader& h = r.header;
  auto row = [](std::string_view key, const std::string& value, bool ok = true) {
    return StrCat("<tr><th>", key, "</th><td", ok ? "" : " class=bad", ">", HtmlEscape(value),
                  "</td></tr>");
  };
  std::string html = StrCat(
      "<table class=header>", row("generated at", FormatRfc3339(h.generated_at)),
      row("ledger version", h.ledger_version), row("database", h.database),
      row("log head", StrCat("seq ", h.head_seq, ", hash ", h.head_hash)),
      row("state as of", StrCat("seq ", h.state_seq)), row("range", h.range),
      row("digest", h.digest, h.digest_ok), row("verify", h.verify, h.verify_ok), "</table>");
  const AuditFindings& f = r.findings;
  html += "<h2>Findings</h2><ul class=findings>";
  int64_t unrefunded = 0;
  int64_t oldest = 0;
  for (const UnrefundedClawback& u : f.unrefunded) {
    unrefunded += u.amount;
    oldest = std::max(oldest, u.age_seconds);
  }
  html += f.unrefunded.empty()
              ? "<li class=ok>Every clawback is refunded.</li>"
              : StrCat("<li class=bad>", f.unrefunded.size(), " clawbacks not refunded, ",
                       Usdt(unrefunded), " USDT; the oldest for ", AgeText(oldest), ".</li>");
  html += StrCat("<li>", f.flags, " flags in the range; ", f.flagged_now,
                 " wallets flagged at its end.</li>");
  if (r.settlement) {
    html += r.settlement->conserved ? "<li class=ok>Settlement conserves the stakes.</li>"
                                    : "<li class=bad>Settlement does NOT conserve the stakes.</li>";
  }
  if (f.held_back > 0) {
    html += StrCat("<li class=bad>", f.held_back,
                   " events that happened by the range's end were held back: each needs an event "
                   "that happened after it.</li>");
  }
  html += "</ul>";
  if (!f.unrefunded.empty()) {
    html +=
        "<table><tr><th>bet</th><th>wallet</th><th>clawback seq</th><th>USDT</th><th>age</th></tr>";
    for (size_t i = 0; i < f.unrefunded.size() && i < kHtmlUnrefundedListed; ++i) {
      const UnrefundedClawback& u = f.unrefunded[i];
      html += StrCat("<tr><td>", HtmlEscape(u.bet_id), "</td><td><code>", u.wallet,
                     "</code></td><td class=num>", u.seq, "</td><td class=num>", Usdt(u.amount),
                     "</td><td class=num>", AgeText(u.age_seconds), "</td></tr>");
    }
    html += "</table>";
    if (f.unrefunded.size() > kHtmlUnrefundedListed) {
      html += StrCat("<p>The first ", kHtmlUnrefundedListed, " of ", f.unrefunded.size(),
                     " are listed; the JSON format lists every one.</p>");
    }
  }
  return html;
}

// Statistics of the markets, and a wallet's totals per market.
std::string HtmlMarkets(const AuditReport& r) {
  std::string html =
      "<h2>Market statistics</h2><table><tr><th>market</th><th>status</th><th>winner</th>"
      "<th>YES pool</th><th>NO pool</th><th>total pool</th><th>yes %</th><th>confirmed bets</th>"
      "<th>unique wallets</th></tr>";
  for (const MarketStats& m : r.markets) {
    html +=
        StrCat("<tr><td>", HtmlEscape(m.market_id), "</td><td>", m.status, "</td><td>",
               m.winner.value_or("-"), "</td><td class=num>", Usdt(m.yes_pool),
               "</td><td class=num>", Usdt(m.no_pool), "</td><td class=num>", Usdt(m.total_pool),
               "</td><td class=num>", m.yes_percent.value_or("-"), "</td><td class=num>",
               m.total_bets, "</td><td class=num>", m.unique_wallets, "</td></tr>");
  }
  html += "</table>";
  if (r.wallet_totals.empty()) return html;
  html +=
      "<h2>Totals per market</h2><table><tr><th>market</th><th>status</th><th>bets</th>"
      "<th>staked</th><th>clawed back</th><th>refunded</th><th>payout</th><th>net</th></tr>";
  WalletMarketTotals sum;
  for (const WalletMarketTotals& t : r.wallet_totals) {
    html +=
        StrCat("<tr><td>", HtmlEscape(t.market_id), "</td><td>", t.status, "</td><td class=num>",
               t.bets, "</td><td class=num>", Usdt(t.staked), "</td><td class=num>",
               Usdt(t.clawed_back), "</td><td class=num>", Usdt(t.refunded), "</td><td class=num>",
               t.payout ? Usdt(*t.payout) : "-", "</td><td class=num>", Usdt(t.net), "</td></tr>");
    sum.bets += t.bets;
    sum.staked += t.staked;
    sum.clawed_back += t.clawed_back;
    sum.refunded += t.refunded;
    sum.net += t.net;
    if (t.payout) sum.payout = sum.payout.value_or(0) + *t.payout;
  }
  html += StrCat("<tr class=total><th>total</th><th></th><th class=num>", sum.bets,
                 "</th><th class=num>", Usdt(sum.staked), "</th><th class=num>",
                 Usdt(sum.clawed_back), "</th><th class=num>", Usdt(sum.refunded),
                 "</th><th class=num>", sum.payout ? Usdt(*sum.payout) : "-", "</th><th class=num>",
                 Usdt(sum.net), "</th></tr></table>");
  return html;
}

// The timeline and payouts as compact JSON for the page's script, which pages them: a row is
// [seq - previous seq, action, createdAt - previous (µs), recordedAt - previous (µs), bet index,
// amount in USDT or 0, hash in base64, YES pool, NO pool] (pools only where the event changed them;
// amounts formatted here, exactly, so the page does no arithmetic on money).
std::string HtmlData(const AuditReport& r) {
  std::vector<std::string> bets;
  absl::flat_hash_map<std::string, size_t> bet_index;
  std::vector<std::string> parties;  // Wallets (a market's report) or markets (a wallet's).
  absl::flat_hash_map<std::string, size_t> party_index;
  const bool by_market = IsMarketReport(r);
  std::string bet_rows;
  auto bet_of = [&](const std::string& id, const std::string& party) {
    auto [it, added] = bet_index.try_emplace(id, bets.size());
    if (added) {
      auto [p, new_party] = party_index.try_emplace(party, parties.size());
      if (new_party) parties.push_back(party);
      bets.push_back(id);
      bet_rows += StrCat(bet_rows.empty() ? "" : ",", "[", ScriptString(id), ",", p->second, "]");
    }
    return it->second;
  };
  std::string rows;
  int64_t seq = 0;
  TimeMicros created = 0;
  TimeMicros recorded = 0;
  int64_t yes = -1;
  int64_t no = -1;
  for (const TimelineEntry& t : r.timeline) {
    const Event& e = t.event;
    const std::string bet = e.bet_id
                                ? StrCat(bet_of(*e.bet_id, by_market ? e.wallet.value_or("")
                                                                     : e.market_id.value_or("")))
                                : "-1";
    // The hash in base64 without padding: 43 bytes instead of 64; the page shows it in hex.
    std::string hash = absl::Base64Escape(absl::HexStringToBytes(t.hash));
    while (!hash.empty() && hash.back() == '=') hash.pop_back();
    rows += StrCat(rows.empty() ? "" : ",\n", "[", t.seq - seq, ",", static_cast<int>(e.action),
                   ",", e.created_at - created, ",", t.recorded_at - recorded, ",", bet, ",",
                   t.amount ? StrCat("\"", Usdt(*t.amount), "\"") : "0", ",\"", hash, "\"");
    if (t.yes_pool != yes || t.no_pool != no) {
      rows += StrCat(",\"", Usdt(t.yes_pool), "\",\"", Usdt(t.no_pool), "\"");
      yes = t.yes_pool;
      no = t.no_pool;
    }
    rows += "]";
    seq = t.seq;
    created = e.created_at;
    recorded = t.recorded_at;
  }
  std::string actions;
  for (int a = 0; a < kActionCount; ++a) {
    actions += StrCat(a ? "," : "", "\"", ActionName(static_cast<Action>(a)), "\"");
  }
  std::string party_list;
  for (const std::string& p : parties)
    party_list += StrCat(party_list.empty() ? "" : ",", ScriptString(p));
  std::string payouts;
  if (r.settlement) {
    for (const Payout& p : r.settlement->payouts) {
      payouts +=
          StrCat(payouts.empty() ? "" : ",", "[", ScriptString(p.bet_id), ",",
                 ScriptString(p.wallet), ",\"", Usdt(p.stake), "\",\"", Usdt(p.payout), "\"]");
    }
  }
  return StrCat("{\"pageRows\":", kHtmlPageRows, ",\"partyName\":\"",
                by_market ? "wallet" : "market", "\",\"actions\":[", actions, "],\"parties\":[",
                party_list, "],\"bets\":[", bet_rows, "],\"payouts\":[", payouts, "],\"rows\":[\n",
                rows, "]}");
}

// Renders the data block's pages; before printing, every page. No network, no library.
constexpr char kHtmlScript[] = R"JS(
(function () {
  var D = JSON.parse(document.getElementById('data').textContent);
  function pad(n, w) { n = String(n); while (n.length < w) n = '0' + n; return n; }
  // Microseconds since the epoch (exact below 2^53) as RFC 3339.
  function time(us) {
    var s = Math.floor(us / 1e6);
    return new Date(s * 1000).toISOString().slice(0, 19) + '.' + pad(us - s * 1e6, 6) + 'Z';
  }
  function hex(b64) {
    var bytes = atob(b64), out = '';
    for (var i = 0; i < bytes.length; i++) out += pad(bytes.charCodeAt(i).toString(16), 2);
    return out;
  }
  function cell(text, cls) {
    var td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }
  var timeline = [], seq = 0, created = 0, recorded = 0, yes = '', no = '';
  D.rows.forEach(function (r) {
    seq += r[0]; created += r[2]; recorded += r[3];
    if (r.length > 7) { yes = r[7]; no = r[8]; }
    var bet = r[4] >= 0 ? D.bets[r[4]] : null;
    timeline.push([seq, D.actions[r[1]], time(created), time(recorded), bet ? bet[0] : '',
                   bet ? D.parties[bet[1]] : '', r[5] === 0 ? '' : r[5], yes, no, hex(r[6])]);
  });
  var payouts = D.payouts;
  function pager(id, rows, classes) {
    var box = document.getElementById(id);
    if (!box) return null;
    var body = box.querySelector('tbody'), info = box.querySelector('.info');
    var page = 0, pages = Math.max(1, Math.ceil(rows.length / D.pageRows));
    function show(from, to) {
      body.textContent = '';
      rows.slice(from, to).forEach(function (r) {
        var tr = document.createElement('tr');
        r.forEach(function (v, i) { tr.appendChild(cell(v, classes[i])); });
        body.appendChild(tr);
      });
    }
    function go(p) {
      page = Math.min(Math.max(p, 0), pages - 1);
      show(page * D.pageRows, (page + 1) * D.pageRows);
      info.textContent = 'page ' + (page + 1) + ' of ' + pages + ' (' + rows.length + ' rows)';
    }
    box.querySelector('.first').onclick = function () { go(0); };
    box.querySelector('.prev').onclick = function () { go(page - 1); };
    box.querySelector('.next').onclick = function () { go(page + 1); };
    box.querySelector('.last').onclick = function () { go(pages - 1); };
    go(0);
    return { all: function () { show(0, rows.length); }, back: function () { go(page); } };
  }
  var num = 'num', code = 'hash';
  var views = [pager('timeline', timeline, [num, '', '', '', '', code, num, num, num, code]),
               pager('payouts', payouts, ['', code, num, num])];
  window.addEventListener('beforeprint', function () { views.forEach(function (v) { if (v) v.all(); }); });
  window.addEventListener('afterprint', function () { views.forEach(function (v) { if (v) v.back(); }); });
  document.body.setAttribute('data-rendered', String(timeline.length));
})();
)JS";

constexpr char kHtmlStyle[] =
    "body{font-family:sans-serif;margin:2em;color:#222;max-width:1400px}"
    "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ddd;"
    "padding:3px 6px;text-align:left;vertical-align:top}th{background:#f0f0f0}"
    ".num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".hash{font-family:monospace;font-size:10px;word-break:break-all}"
    ".ok{color:#1a7f37}.bad{color:#cf222e;font-weight:bold}table.header th{width:9em}"
    ".pager button{margin-right:.3em}.chart{max-width:100%;height:auto}"
    "@media print{body{margin:0;max-width:none}.pager{display:none}table{font-size:9px}"
    "tr{break-inside:avoid}h2{break-after:avoid}}";

// A paged table's frame; the script fills its body.
std::string PagedTable(std::string_view id, std::initializer_list<std::string_view> headers) {
  std::string html = StrCat("<div id=", id, "><div class=pager><button class=first>first</button>",
                            "<button class=prev>previous</button><button class=next>next</button>",
                            "<button class=last>last</button> <span class=info></span></div>",
                            "<table><thead><tr>");
  for (std::string_view h : headers) html += StrCat("<th>", h, "</th>");
  return html + "</tr></thead><tbody></tbody></table></div>";
}

}  // namespace

std::string AuditHtml(const AuditReport& r) {
  std::string html = StrCat(
      "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Audit: ",
      HtmlEscape(r.subject), "</title><style>", kHtmlStyle,
      "</style></head><body><h1>Audit: ", HtmlEscape(r.subject), "</h1>",
      r.untrusted ? StrCat("<p class='bad'>", HtmlEscape(UntrustedText(*r.untrusted)), "</p>") : "",
      HtmlHeader(r), HtmlMarkets(r),
      "<p>Amounts in USDT (six decimals); the JSON and CSV formats carry them in micro-USDT.</p>");
  if (!r.pool_history.empty()) html += "<h2>Pools over time</h2>" + PoolChart(r);
  if (r.settlement) {
    const Settlement& s = *r.settlement;
    html += StrCat("<h2>Parimutuel settlement</h2><p>Winner ", s.winner, ": pool ",
                   Usdt(s.total_pool), " USDT shared by winning stakes of ", Usdt(s.winning_stakes),
                   "; paid ", Usdt(s.paid), ", breakage ", Usdt(s.breakage),
                   ".</p><p class=", s.conserved ? "ok" : "bad", ">Conservation: stakes ",
                   Usdt(s.confirmed_stakes), " = payouts ", Usdt(s.paid), " + clawbacks ",
                   Usdt(s.clawbacks), " + breakage ", Usdt(s.breakage), ": ",
                   s.conserved ? "holds" : "DOES NOT HOLD", "</p>",
                   PagedTable("payouts", {"bet", "wallet", "stake", "payout"}));
  }
  const bool by_market = IsMarketReport(r);
  html += StrCat(
      "<h2>Timeline</h2><noscript><p>The timeline is shown with JavaScript; the JSON and "
      "CSV formats carry it.</p></noscript>",
      PagedTable("timeline",
                 {"seq", "action", "createdAt", "recordedAt", "bet",
                  by_market ? "wallet" : "market", "amount", "YES pool", "NO pool", "hash"}),
      "<script type='application/json' id=data>", HtmlData(r), "</script><script>", kHtmlScript,
      "</script></body></html>\n");
  return html;
}

}  // namespace ledger
