#include "replay/audit.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "boost/json.hpp"
#include "engine/event_codec.h"
#include "engine/hash_chain.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

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

// The pool-over-time chart: two polylines (YES, NO) in an inline SVG.
std::string PoolChart(const std::vector<SnapshotPoint>& points) {
  constexpr int kWidth = 860;
  constexpr int kHeight = 260;
  constexpr int kPad = 40;
  if (points.size() < 2) return "<p>Not enough pool history for a chart.</p>";
  int64_t top = 1;
  for (const SnapshotPoint& p : points) top = std::max({top, p.yes_pool, p.no_pool});
  auto line = [&](bool yes) {
    std::string out;
    for (size_t i = 0; i < points.size(); ++i) {
      const double x = kPad + static_cast<double>(i) * (kWidth - 2 * kPad) /
                                  static_cast<double>(points.size() - 1);
      const int64_t v = yes ? points[i].yes_pool : points[i].no_pool;
      const double y =
          kHeight - kPad - static_cast<double>(v) * (kHeight - 2 * kPad) / static_cast<double>(top);
      out += StrCat(i ? " " : "", static_cast<int64_t>(x), ",", static_cast<int64_t>(y));
    }
    return out;
  };
  return StrCat("<svg xmlns='http://www.w3.org/2000/svg' width='", kWidth, "' height='", kHeight,
                "' role='img' aria-label='pool over time'>",
                "<rect width='100%' height='100%' fill='#fafafa' stroke='#ccc'/>",
                "<polyline fill='none' stroke='#1a7f37' stroke-width='2' points='", line(true),
                "'/><polyline fill='none' stroke='#cf222e' stroke-width='2' points='", line(false),
                "'/><text x='", kPad, "' y='20' font-size='12'>max ", top,
                " micro-USDT; green YES, red NO; ", HtmlEscape(points.front().at), " to ",
                HtmlEscape(points.back().at), "</text></svg>");
}

}  // namespace

absl::StatusOr<AuditReport> Audit(pg::Database* store, const std::optional<std::string>& market_id,
                                  const std::optional<std::string>& wallet,
                                  ProjectorOptions options, ChainTrust* trust) {
  AuditReport report;
  ChainGuard guard(0, kGenesisHash, trust);
  report.subject = market_id ? StrCat("market ", *market_id) : StrCat("wallet ", *wallet);
  Projector projector = Projector::ForFullFold(options);
  absl::flat_hash_set<std::string> wallet_markets;
  LEDGER_RETURN_IF_ERROR(store->log().Stream(0, [&](const LoggedEvent& row) {
    LEDGER_RETURN_IF_ERROR(guard.Check(row));
    LEDGER_RETURN_IF_ERROR(projector.Apply(row));
    const Event& e = row.event;
    const bool concerns = market_id ? e.market_id == *market_id : e.wallet == *wallet;
    if (!concerns) return absl::OkStatus();
    TimelineEntry entry{row.seq, ToHex(row.hash), e, row.recorded_at, ""};
    const LedgerState& state = projector.state();
    if (market_id) {
      entry.state_after = MarketStateText(*state.FindMarket(*market_id));
    } else if (e.bet_id) {
      const BetState& bet = *state.FindBet(*e.bet_id);
      entry.state_after = StrCat("bet ", BetStatusName(bet.status));
      wallet_markets.insert(state.MarketIdOf(bet));
    } else {
      entry.state_after = "wallet no longer flagged";
    }
    report.timeline.push_back(std::move(entry));
    return absl::OkStatus();
  }));
  report.head_seq = projector.head_seq();
  const LedgerState& state = projector.state();
  if (market_id) {
    if (state.FindMarket(*market_id) == nullptr) {
      return absl::NotFoundError(StrCat("market ", *market_id, " is not in the log"));
    }
    report.markets.push_back(StatsFor(state, *market_id));
    if (state.FindMarket(*market_id)->status == MarketStatus::kResolved) {
      report.settlement = Settle(state, *market_id);
    }
    projector.ForEachRow(Projection::kPoolSnapshot, [&](const Row& row) {
      if (*row[1] == *market_id) {
        report.pool_history.push_back({*row[5], std::stoll(*row[2]), std::stoll(*row[3])});
      }
    });
    std::sort(report.pool_history.begin(), report.pool_history.end(),
              [](const SnapshotPoint& a, const SnapshotPoint& b) { return a.at < b.at; });
    const MarketState& m = *state.FindMarket(*market_id);
    report.pool_history.push_back(
        {FormatPgTimestamp(m.updated_at), m.yes_pool.value(), m.no_pool.value()});
  } else {
    std::vector<std::string> ids(wallet_markets.begin(), wallet_markets.end());
    std::sort(ids.begin(), ids.end());
    for (const std::string& id : ids) report.markets.push_back(StatsFor(state, id));
  }
  return report;
}

std::string AuditJson(const AuditReport& r) {
  json::array timeline;
  for (const TimelineEntry& t : r.timeline) {
    json::object o = json::parse(EncodeEventJson(t.event)).as_object();
    o["seq"] = t.seq;
    o["hash"] = t.hash;
    o["recordedAt"] = FormatRfc3339(t.recorded_at);
    o["stateAfter"] = t.state_after;
    timeline.push_back(std::move(o));
  }
  json::array markets;
  for (const MarketStats& m : r.markets) {
    markets.push_back(
        {{"marketId", m.market_id},
         {"question", m.question},
         {"status", m.status},
         {"winner", m.winner ? json::value(*m.winner) : json::value(nullptr)},
         {"yesPool", m.yes_pool},
         {"noPool", m.no_pool},
         {"totalPool", m.total_pool},
         {"yesPercent", m.yes_percent ? json::value(*m.yes_percent) : json::value(nullptr)},
         {"totalBets", m.total_bets},
         {"uniqueWallets", m.unique_wallets}});
  }
  json::object out{{"subject", r.subject},
                   {"headSeq", r.head_seq},
                   {"untrusted", r.untrusted ? json::value({{"seq", r.untrusted->seq},
                                                            {"kind", r.untrusted->kind},
                                                            {"detail", r.untrusted->detail}})
                                             : json::value(nullptr)},
                   {"timeline", timeline},
                   {"markets", markets}};
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
    history.push_back({{"at", p.at}, {"yesPool", p.yes_pool}, {"noPool", p.no_pool}});
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
  std::string out = r.untrusted ? StrCat("# ", UntrustedText(*r.untrusted), "\n") : "";
  out +=
      "seq,hash,action,createdAt,recordedAt,betId,marketId,wallet,choice,amount,clawbackAmount,"
      "txHash,clawbackTxHash,reason,stateAfter\n";
  for (const TimelineEntry& t : r.timeline) {
    const Event& e = t.event;
    out += StrCat(t.seq, ",", t.hash, ",", ActionName(e.action), ",", FormatRfc3339(e.created_at),
                  ",", FormatRfc3339(t.recorded_at), ",", CsvField(Opt(e.bet_id)), ",",
                  CsvField(Opt(e.market_id)), ",", Opt(e.wallet), ",",
                  e.choice ? std::string(ChoiceName(*e.choice)) : "", ",", OptAmount(e.amount), ",",
                  OptAmount(e.clawback_amount), ",", Opt(e.tx_hash), ",", Opt(e.clawback_tx_hash),
                  ",", CsvField(Opt(e.reason)), ",", CsvField(t.state_after), "\n");
  }
  return out;
}

std::string AuditHtml(const AuditReport& r) {
  std::string html = StrCat(
      "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Audit: ",
      HtmlEscape(r.subject),
      "</title><style>body{font-family:sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ddd;"
      "padding:3px 6px;text-align:left}th{background:#f0f0f0}.num{text-align:right}"
      ".ok{color:#1a7f37}.bad{color:#cf222e}code{font-size:11px}</style></head><body>",
      "<h1>Audit: ", HtmlEscape(r.subject), "</h1>",
      r.untrusted ? StrCat("<p class='bad'><strong>", HtmlEscape(UntrustedText(*r.untrusted)),
                           "</strong></p>")
                  : "",
      "<p>Replayed from the event log up to position ", r.head_seq, ". Amounts in micro-USDT.</p>");
  html +=
      "<h2>Market statistics</h2><table><tr><th>market</th><th>status</th><th>winner</th>"
      "<th>yesPool</th><th>noPool</th><th>totalPool</th><th>yes %</th><th>totalBets</th>"
      "<th>uniqueWallets</th></tr>";
  for (const MarketStats& m : r.markets) {
    html += StrCat("<tr><td>", HtmlEscape(m.market_id), "</td><td>", m.status, "</td><td>",
                   m.winner.value_or("-"), "</td><td class=num>", m.yes_pool, "</td><td class=num>",
                   m.no_pool, "</td><td class=num>", m.total_pool, "</td><td class=num>",
                   m.yes_percent.value_or("-"), "</td><td class=num>", m.total_bets,
                   "</td><td class=num>", m.unique_wallets, "</td></tr>");
  }
  html += "</table>";
  if (!r.pool_history.empty()) {
    html += "<h2>Pool over time</h2>" + PoolChart(r.pool_history);
  }
  if (r.settlement) {
    const Settlement& s = *r.settlement;
    html +=
        StrCat("<h2>Parimutuel settlement</h2><p>Winner ", s.winner, ": pool ", s.total_pool,
               " shared by winning stakes of ", s.winning_stakes, "; paid ", s.paid, ", breakage ",
               s.breakage, ".</p><p class=", s.conserved ? "ok" : "bad", ">Conservation: stakes ",
               s.confirmed_stakes, " = payouts ", s.paid, " + clawbacks ", s.clawbacks,
               " + breakage ", s.breakage, ": ", s.conserved ? "holds" : "DOES NOT HOLD", "</p>");
    html += "<table><tr><th>bet</th><th>wallet</th><th>stake</th><th>payout</th></tr>";
    for (const Payout& p : s.payouts) {
      html += StrCat("<tr><td>", HtmlEscape(p.bet_id), "</td><td><code>", p.wallet,
                     "</code></td><td class=num>", p.stake, "</td><td class=num>", p.payout,
                     "</td></tr>");
    }
    html += "</table>";
  }
  html +=
      "<h2>Timeline</h2><table><tr><th>seq</th><th>action</th><th>createdAt</th>"
      "<th>recordedAt</th><th>bet</th><th>wallet</th><th>amount</th><th>state after</th>"
      "<th>hash</th></tr>";
  for (const TimelineEntry& t : r.timeline) {
    const Event& e = t.event;
    html += StrCat("<tr><td class=num>", t.seq, "</td><td>", ActionName(e.action), "</td><td>",
                   FormatRfc3339(e.created_at), "</td><td>", FormatRfc3339(t.recorded_at),
                   "</td><td>", HtmlEscape(Opt(e.bet_id)), "</td><td><code>", Opt(e.wallet),
                   "</code></td><td class=num>",
                   e.amount ? StrCat(e.amount->value())
                            : (e.clawback_amount ? StrCat("-", e.clawback_amount->value()) : ""),
                   "</td><td>", HtmlEscape(t.state_after), "</td><td><code>", t.hash.substr(0, 16),
                   "…</code></td></tr>");
  }
  html += "</table></body></html>\n";
  return html;
}

}  // namespace ledger
