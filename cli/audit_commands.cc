// `ledger replay`, `verify`, `audit` and `reconcile`: the auditor's commands, every one a fold of
// the log (docs/auditors-guide.md).
#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "boost/json.hpp"
#include "cli/command.h"
#include "cli/common.h"
#include "engine/conn_string.h"
#include "engine/hash_chain.h"
#include "engine/pg/database.h"
#include "engine/signing.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "projections/projector.h"
#include "replay/audit.h"
#include "replay/digest.h"
#include "replay/reconcile.h"
#include "replay/replay.h"
#include "replay/verify.h"

namespace ledger::cli {
namespace {

// `verify --findings-max` at most: a listed finding is a few hundred bytes of memory and output, so
// a million is about the most a person or a script can use.
constexpr int64_t kFindingsMaxLimit = 1000000;

// A projected column's value as the output contract writes it (docs/cli.md): amounts and counts as
// integers, times as RFC 3339 UTC, flags as booleans, absent as null; text as it is.
boost::json::value ColumnJson(std::string_view column, const std::optional<std::string>& v) {
  if (!v) return nullptr;
  static const std::set<std::string_view> kIntegers = {"yesPool", "noPool", "amount", "betNumber",
                                                       "totalBets"};
  static const std::set<std::string_view> kTimes = {"startDate", "endDate", "createdAt",
                                                    "updatedAt", "unflaggedAt"};
  int64_t number = 0;
  if (kIntegers.contains(column) && absl::SimpleAtoi(*v, &number)) return number;
  if (kTimes.contains(column)) {
    if (std::optional<TimeMicros> t = ParsePgTimestamp(*v))
      return boost::json::value(FormatRfc3339(*t));
  }
  if (column == "isActive") return *v == "t";
  return boost::json::value(*v);
}

// Rows of one projection as JSON objects keyed by column, filtered by `keep`.
boost::json::array RowsAsJson(const Projector& projector, Projection p,
                              const std::function<bool(const Row&)>& keep) {
  const TableRows& shape = EmptyTable(p);
  boost::json::array out;
  projector.ForEachRow(p, [&](const Row& row) {
    if (!keep(row)) return;
    boost::json::object o;
    for (size_t i = 0; i < row.size(); ++i)
      o[shape.columns[i]] = ColumnJson(shape.columns[i], row[i]);
    out.push_back(std::move(o));
  });
  std::sort(out.begin(), out.end(), [](const boost::json::value& a, const boost::json::value& b) {
    return a.at("id").as_string() < b.at("id").as_string();
  });
  return out;
}

// The replayed state, filtered to a market and/or a wallet, as JSON or tables on stdout.
int PrintReplay(const Projector& state, const std::string& market, const std::string& wallet,
                const std::string& format, const ChainTrust& trust, boost::json::value cut) {
  // Column indexes: Bet (1 walletAddress, 2 marketId), FlaggedWallet (1 wallet, 2 marketId),
  // Market (1 marketId), PoolSnapshot (1 marketId).
  auto by_market = [&market](size_t column) {
    return [&market, column](const Row& r) { return market.empty() || *r[column] == market; };
  };
  auto by_wallet = [&wallet](size_t column) {
    return [&wallet, column](const Row& r) { return wallet.empty() || *r[column] == wallet; };
  };
  boost::json::array bets = RowsAsJson(
      state, Projection::kBet, [&](const Row& r) { return by_market(2)(r) && by_wallet(1)(r); });
  std::set<std::string> bet_markets;
  for (const boost::json::value& b : bets)
    bet_markets.insert(std::string(b.at("marketId").as_string()));
  boost::json::array markets = RowsAsJson(state, Projection::kMarket, [&](const Row& r) {
    return by_market(1)(r) && (wallet.empty() || bet_markets.contains(*r[1]));
  });
  boost::json::array flagged = RowsAsJson(state, Projection::kFlaggedWallet, [&](const Row& r) {
    return by_market(2)(r) && by_wallet(1)(r);
  });
  const boost::json::value untrusted = ReportUntrusted(trust);
  if (format == "table") {
    if (trust.first_break) std::cout << "UNTRUSTED: see stderr\n";
    if (cut.is_object()) {
      std::cout << "state of what happened by " << cut.at("eventTime").as_string().c_str() << " ("
                << cut.at("folded").as_int64() << " events, the last at seq " << state.head_seq()
                << "; " << cut.at("heldBackTotal").as_int64() << " held back)\n";
    } else {
      std::cout << "state as of seq " << state.head_seq() << "\n";
    }
    PrintTable("markets", markets,
               {"marketId", "status", "winner", "yesPool", "noPool", "updatedAt"});
    PrintTable("bets", bets,
               {"id", "walletAddress", "marketId", "choice", "amount", "status", "createdAt"});
    PrintTable("flagged wallets", flagged,
               {"wallet", "marketId", "severity", "isActive", "reason"});
    return kExitOk;
  }
  std::cout << boost::json::serialize(boost::json::object{{"seq", state.head_seq()},
                                                          {"untrusted", untrusted},
                                                          {"cut", std::move(cut)},
                                                          {"markets", markets},
                                                          {"bets", bets},
                                                          {"flaggedWallets", flagged}})
            << "\n";
  return kExitOk;
}

// Where `replay` cuts: --until SEQ|TIME (position, or recordedAt) or --event-time TIME (createdAt).
std::optional<ReplayPoint> ReplayPointFlags(const Args& args) {
  const std::string until = args.Flag("until");
  const std::string event_time = args.Flag("event-time");
  if (until.empty() == event_time.empty()) {
    std::cerr << "ledger: replay needs one of --until SEQ|RFC3339-TIME (what the ledger had "
                 "recorded by then) and --event-time RFC3339-TIME (what had happened by then)\n";
    return std::nullopt;
  }
  if (!event_time.empty()) {
    std::optional<TimeMicros> t = ParseRfc3339(event_time);
    if (!t)
      std::cerr << "ledger: --event-time must be an RFC 3339 time, got " << event_time << "\n";
    return t ? std::optional<ReplayPoint>(ReplayPoint::AtEventTime(*t)) : std::nullopt;
  }
  std::optional<ReplayPoint> point = ReplayPoint::Parse(until);
  if (!point)
    std::cerr << "ledger: --until must be a position or an RFC 3339 time, got " << until << "\n";
  return point;
}

// What an --event-time replay folded, held back and left after the cut.
boost::json::value CutJson(const ReplayPoint& point, const EventTimeCut& cut) {
  if (!point.event_time) return nullptr;
  boost::json::array held;
  for (const EventTimeCut::HeldBack& h : cut.held_back) {
    held.push_back({{"seq", h.seq}, {"reason", h.reason}});
  }
  return boost::json::object{{"eventTime", FormatRfc3339(*point.event_time)},
                             {"folded", cut.folded},
                             {"afterCut", cut.after_cut},
                             {"heldBackTotal", cut.held_back_total},
                             {"heldBack", held}};
}

// A --until TIME before the first row was recorded folds nothing: say why, and what else to ask.
void HintEmptyRecordedCut(pg::Database* store, const ReplayPoint& point, const Projector& state) {
  if (!point.time || state.head_seq() != 0) return;
  absl::StatusOr<LoggedEvent> first = store->log().Read(1);
  if (!first.ok()) return;
  std::cerr << "replay: nothing was recorded by " << FormatRfc3339(*point.time)
            << " (the first row was recorded at " << FormatRfc3339(first->recorded_at)
            << "); --until cuts by when the ledger recorded events, --event-time by when they "
               "happened\n";
}

int RunReplay(const Args& args) {
  std::optional<ReplayPoint> point = ReplayPointFlags(args);
  if (!point) return kExitError;
  const std::string format = args.Flag("format", "json");
  if (format != "json" && format != "table") {
    std::cerr << "ledger: --format must be json or table\n";
    return kExitError;
  }
  std::string wallet = args.Flag("wallet");
  for (char& c : wallet) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string market = args.Flag("market");
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  ChainTrust trust = ChainTrustFlag(args);
  EventTimeCut cut;
  absl::StatusOr<Projector> state = ReplayUntil(store->get(), *point, *options, &trust, &cut);
  if (!state.ok()) return Fail(state.status());
  HintEmptyRecordedCut(store->get(), *point, *state);
  if (cut.held_back_total > 0) {
    std::cerr << "replay: " << cut.held_back_total
              << " events that happened by the cut were held back: each needs an event that "
                 "happened after it (see heldBack)\n";
  }
  return PrintReplay(*state, market, wallet, format, trust, CutJson(*point, cut));
}

boost::json::object CountsJson(const VerifyReport& report) {
  boost::json::object out;
  for (const auto& [what, n] : report.counts) out[what] = n;
  return out;
}

// BEHIND the log (run `project`), or AHEAD of what verify folded (the log grew meanwhile).
std::string BehindKind(const ProjectionBehind& b, int64_t head_seq) {
  return b.checkpoint < head_seq ? "BEHIND" : "AHEAD";
}

// Findings counted but not listed: the counts less what the lists hold (a DIFFERENT_VALUE row is
// one count, listed once per differing column).
int64_t Unlisted(const VerifyReport& report) {
  std::map<std::string, int64_t> listed;
  for (const ChainBreak& b : report.breaks) ++listed[StrCat("chain ", b.kind)];
  std::set<std::pair<std::string, std::string>> differing_rows;
  for (const Drift& d : report.drift) {
    if (d.kind == "DIFFERENT_VALUE") {
      if (differing_rows.insert({d.table, d.key}).second) ++listed[StrCat(d.table, " ", d.kind)];
    } else {
      ++listed[StrCat(d.table, " ", d.kind)];
    }
  }
  for (const ProjectionBehind& b : report.behind) {
    ++listed[StrCat(b.table, " ", BehindKind(b, report.head_seq))];
  }
  int64_t more = 0;
  for (const auto& [what, n] : report.counts) more += std::max<int64_t>(0, n - listed[what]);
  return more;
}

// The --digest file, and what --pubkey says of its signature: "valid", "not checked" (signed, no
// --pubkey), "unsigned", or why it failed (in *forged; the digest is then not used). nullopt after
// a usage or I/O error has been reported.
struct DigestFlags {
  std::optional<LogDigest> digest;
  std::string signature = "none";
  std::optional<std::string> forged;
};

std::optional<DigestFlags> ReadDigestFlags(const Args& args) {
  DigestFlags out;
  const std::string path = args.Flag("digest");
  const std::string pubkey = args.Flag("pubkey");
  if (path.empty()) {
    if (pubkey.empty()) return out;
    std::cerr << "ledger verify: --pubkey checks the signature of a --digest FILE; give both\n";
    return std::nullopt;
  }
  absl::StatusOr<std::string> text = ReadSmallFile(path, kDigestFileBytesMax);
  absl::StatusOr<LogDigest> parsed = text.ok() ? ParseDigest(*text) : text.status();
  if (!parsed.ok()) {
    Fail(absl::Status(parsed.status().code(), StrCat(path, ": ", parsed.status().message())));
    return std::nullopt;
  }
  out.signature = parsed->is_signed() ? "not checked" : "unsigned";
  if (!pubkey.empty()) {
    absl::StatusOr<std::string> pem = ReadSmallFile(pubkey, kKeyFileBytesMax);
    absl::Status checked = pem.ok() ? CheckDigestSignature(*pem, *parsed) : pem.status();
    if (absl::IsNotFound(checked) || absl::IsInvalidArgument(checked)) {
      Fail(absl::Status(checked.code(), StrCat(pubkey, ": ", checked.message())));
      return std::nullopt;
    }
    if (!checked.ok()) {
      out.signature = "refused";
      out.forged = StrCat(path, ": ", checked.message());
      return out;  // Nothing the file says is used: it may be forged.
    }
    out.signature = "valid";
  }
  out.digest = *std::move(parsed);
  return out;
}

// A duration measured in seconds as the output contract writes it: whole milliseconds.
int64_t Millis(double seconds) { return static_cast<int64_t>(seconds * 1000 + 0.5); }

boost::json::object VerifyJson(const VerifyReport& report, const DigestFlags& digest_flags,
                               size_t findings_max) {
  const std::optional<LogDigest>& digest = digest_flags.digest;
  boost::json::array breaks;
  for (const ChainBreak& b : report.breaks) {
    breaks.push_back({{"seq", b.seq}, {"kind", b.kind}, {"detail", b.detail}});
  }
  boost::json::array drift;
  for (const Drift& d : report.drift) {
    auto opt = [](const std::optional<std::string>& v) {
      return v ? boost::json::value(*v) : boost::json::value(nullptr);
    };
    drift.push_back(
        {{"table", d.table},
         {"key", d.key},
         {"name", d.name.empty() ? boost::json::value(nullptr) : boost::json::value(d.name)},
         {"kind", d.kind},
         {"column", d.column.empty() ? boost::json::value(nullptr) : boost::json::value(d.column)},
         {"expected", opt(d.expected)},
         {"found", opt(d.found)},
         {"judged", report.drift_judged}});
  }
  boost::json::array behind;
  for (const ProjectionBehind& b : report.behind) {
    behind.push_back({{"projection", b.projection},
                      {"table", b.table},
                      {"kind", BehindKind(b, report.head_seq)},
                      {"checkpoint", b.checkpoint},
                      {"headSeq", report.head_seq}});
  }
  return {{"clean", report.clean()},
          {"rows", report.rows},
          {"headSeq", report.head_seq},
          {"headHash", ToHex(report.head_hash)},
          {"firstBreak", report.breaks.empty() ? boost::json::value(nullptr)
                                               : boost::json::value(report.breaks[0].seq)},
          {"breaks", breaks},
          {"digest", report.digest_problem ? boost::json::value(*report.digest_problem)
                                           : boost::json::value(digest ? "ok" : "none")},
          {"digestSignature", digest_flags.signature},
          {"digestKeyId", digest && digest->is_signed() ? boost::json::value(digest->key_id)
                                                        : boost::json::value(nullptr)},
          {"drift", drift},
          {"driftJudged", report.drift_judged},
          {"behind", behind},
          {"elapsedMs", Millis(report.total_seconds)},
          {"engineMs", Millis(report.engine_seconds)},
          {"scanMs", Millis(report.scan_seconds)},
          {"compareMs", Millis(report.compare_seconds)},
          {"chainMs", Millis(report.chain_seconds)},
          {"foldMs", Millis(report.fold_seconds)},
          {"counts", CountsJson(report)},
          {"unlisted", Unlisted(report)},
          {"findingsMax", findings_max},
          {"standby", StandbyJson()}};
}

// A value as a person reads it in a finding: quoted, or NULL.
std::string Shown(const std::optional<std::string>& v) { return v ? StrCat("'", *v, "'") : "NULL"; }

// The drift lines of the summary. On a broken or rewritten log the expected values come from
// damaged rows: the differences are listed as such, never as the table being wrong.
void PrintDrift(const VerifyReport& report) {
  if (report.drift.empty()) return;
  if (!report.drift_judged) {
    std::cerr
        << "  projections not judged: the log is broken or rewritten, so what it gives is not "
           "evidence against a table (a table projected before the damage may hold the "
           "original values). Differences, for forensics:\n";
  }
  for (const Drift& d : report.drift) {
    std::cerr << (report.drift_judged ? "  drift " : "    ") << d.table << " "
              << (d.name.empty() ? d.key : StrCat(d.name, " (id ", d.key, ")")) << ": ";
    if (d.kind != "DIFFERENT_VALUE") {
      std::cerr << d.kind << "\n";
    } else if (report.drift_judged) {
      std::cerr << d.kind << " " << d.column << ": expected " << Shown(d.expected) << ", found "
                << Shown(d.found) << "\n";
    } else {
      std::cerr << d.column << ": the log gives " << Shown(d.expected) << ", the table holds "
                << Shown(d.found) << "\n";
    }
  }
}

// The summary on stderr; returns the exit code.
int PrintVerifySummary(const VerifyReport& report, const DigestFlags& digest_flags,
                       size_t findings_max) {
  const std::optional<LogDigest>& digest = digest_flags.digest;
  if (report.clean()) {
    std::cerr << "verify: clean: " << report.rows << " rows, chain intact to seq "
              << report.head_seq << (digest ? ", digest matches" : "")
              << (digest_flags.signature == "valid"
                      ? StrCat(" (signed by key ", digest->key_id, ")")
                  : digest_flags.signature == "not checked"
                      ? " (its signature not checked: no --pubkey)"
                      : "")
              << ", projections match the log\n";
    return kExitOk;
  }
  std::cerr << "verify: FAILED\n";
  for (const ChainBreak& b : report.breaks) {
    std::cerr << "  seq " << b.seq << ": " << b.kind << ": " << b.detail << "\n";
  }
  if (report.digest_problem) std::cerr << "  digest: " << *report.digest_problem << "\n";
  PrintDrift(report);
  for (const ProjectionBehind& b : report.behind) {
    std::cerr << "  " << b.table << " " << BehindKind(b, report.head_seq) << ": projection "
              << b.projection << " is at seq " << b.checkpoint << ", the log at " << report.head_seq
              << (b.checkpoint < report.head_seq
                      ? ": run `ledger project`, then verify again (not compared; not drift)"
                      : ": the log grew while verify ran; verify again (not compared; not drift)")
              << "\n";
  }
  std::string counted;
  for (const auto& [what, n] : report.counts)
    counted += StrCat(counted.empty() ? "" : ", ", what, " ", n);
  std::cerr << "  counted: " << counted << "\n";
  if (const int64_t more = Unlisted(report); more > 0) {
    std::cerr << "  and " << more << " more not listed above (at most " << findings_max
              << " breaks and " << findings_max << " drifts are listed; --findings-max N)\n";
  }
  return kExitFindings;
}

int RunVerify(const Args& args) {
  std::optional<DigestFlags> digest_flags = ReadDigestFlags(args);
  if (!digest_flags) return kExitError;
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  const auto findings_max =
      static_cast<size_t>(args.Integer("findings-max", static_cast<int64_t>(kVerifyFindingsMax)));
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<VerifyReport> report =
      Verify(store->get(), digest_flags->digest, *options, findings_max);
  if (!report.ok()) return Fail(report.status());
  if (digest_flags->forged) report->digest_problem = digest_flags->forged;
  std::cout << boost::json::serialize(VerifyJson(*report, *digest_flags, findings_max)) << "\n";
  return PrintVerifySummary(*report, *digest_flags, findings_max);
}

// --from and --until of `audit`: each a position or an RFC 3339 time (when events happened).
std::optional<AuditRange> AuditRangeFlags(const Args& args) {
  AuditRange range;
  for (const auto& [flag, seq, time] : {std::tuple{"from", &range.from_seq, &range.from_time},
                                        std::tuple{"until", &range.until_seq, &range.until_time}}) {
    const std::string text = args.Flag(flag);
    if (text.empty()) continue;
    std::optional<ReplayPoint> point = ReplayPoint::Parse(text);
    if (!point) {
      std::cerr << "ledger: --" << flag << " must be a position or an RFC 3339 time, got " << text
                << "\n";
      return std::nullopt;
    }
    *seq = point->seq;
    *time = point->time;
  }
  if ((range.from_seq && range.until_seq && *range.from_seq > *range.until_seq) ||
      (range.from_time && range.until_time && *range.from_time > *range.until_time)) {
    std::cerr << "ledger: --from " << args.Flag("from") << " is after --until "
              << args.Flag("until") << "\n";
    return std::nullopt;
  }
  return range;
}

int RunAudit(const Args& args) {
  const std::string market = args.Flag("market");
  std::string wallet = args.Flag("wallet");
  for (char& c : wallet) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (market.empty() == wallet.empty()) {
    std::cerr << "ledger: audit needs exactly one of --market ID and --wallet ADDR\n";
    return kExitError;
  }
  const std::string format = args.Flag("format", "json");
  if (format != "json" && format != "csv" && format != "html") {
    std::cerr << "ledger: --format must be json, csv or html\n";
    return kExitError;
  }
  std::optional<AuditRange> range = AuditRangeFlags(args);
  std::optional<DigestFlags> digest_flags = ReadDigestFlags(args);
  const std::optional<TimeMicros> now = NowFlag(args);
  if (!range || !digest_flags || !now) return kExitError;
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  ChainTrust trust = ChainTrustFlag(args);
  AuditOptions audit{*range, *options, digest_flags->digest, digest_flags->signature, *now, ""};
  if (digest_flags->forged) {  // As verify: a digest whose signature fails proves nothing.
    std::cerr << "ledger: " << *digest_flags->forged << ": the digest is refused\n";
    return kExitFindings;
  }
  bool embedded = false;
  audit.database = MaskPassword(ResolveDatabase(args, &embedded).value_or("?"));
  absl::StatusOr<AuditReport> report =
      Audit(store->get(), market.empty() ? std::nullopt : std::optional<std::string>(market),
            wallet.empty() ? std::nullopt : std::optional<std::string>(wallet), audit, &trust);
  if (!report.ok()) return Fail(report.status());
  ReportUntrusted(trust);
  report->untrusted = trust.first_break;
  const std::string text = format == "json"  ? AuditJson(*report) + "\n"
                           : format == "csv" ? AuditCsv(*report)
                                             : AuditHtml(*report);
  if (std::string out = args.Flag("out"); !out.empty()) {
    std::ofstream file(out, std::ios::trunc);
    file << text;
    if (!file) return Fail(absl::PermissionDeniedError("cannot write " + out));
    std::cerr << "audit: wrote " << out << "\n";
  } else {
    std::cout << text;
  }
  if (report->settlement && !report->settlement->conserved) {
    std::cerr << "audit: settlement does not conserve the stakes\n";
    return kExitFindings;
  }
  if (!report->header.digest_ok) {
    std::cerr << "audit: digest " << report->header.digest << "\n";
    return kExitFindings;
  }
  return kExitOk;
}

int RunReconcile(const Args& args) {
  std::ifstream chain;
  if (std::string path = args.Flag("chain"); !path.empty()) {
    chain.open(path, std::ios::binary);
    if (!chain) return Fail(absl::NotFoundError("cannot open " + path));
  }
  const std::optional<TimeMicros> now = NowFlag(args);  // ageSeconds as of then.
  if (!now) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  ChainTrust trust = ChainTrustFlag(args);
  absl::StatusOr<ReconcileReport> report =
      Reconcile(store->get(), chain.is_open() ? &chain : nullptr, *now, &trust);
  if (!report.ok()) return Fail(report.status());
  boost::json::array findings;
  std::map<std::string, int> by_kind;
  for (const Finding& f : report->findings) {
    ++by_kind[f.kind];
    // What a finding does not concern is null, not "" or 0 (no bet, no log row, no transfer).
    auto text = [](const std::string& v) {
      return v.empty() ? boost::json::value(nullptr) : boost::json::value(v);
    };
    boost::json::object o{{"kind", f.kind},
                          {"betId", text(f.bet_id)},
                          {"marketId", text(f.market_id)},
                          {"wallet", text(f.wallet)},
                          {"seq", f.seq > 0 ? boost::json::value(f.seq) : nullptr},
                          {"txHash", text(f.tx_hash)},
                          {"detail", f.detail}};
    if (f.kind == "CLAWBACK_NOT_REFUNDED") o["ageSeconds"] = f.age_seconds;
    findings.push_back(std::move(o));
  }
  std::cout << boost::json::serialize(
                   boost::json::object{{"reconciled", report->reconciled()},
                                       {"untrusted", ReportUntrusted(trust)},
                                       {"clawbacks", report->clawbacks},
                                       {"refunds", report->refunds},
                                       {"clawedBackMicros", report->clawed_back_micros},
                                       {"chainTransfers", report->chain_transfers},
                                       {"findings", findings}})
            << "\n";
  std::cerr << "reconcile: " << report->clawbacks << " clawbacks, " << report->refunds << " refunds"
            << (chain.is_open() ? StrCat(", ", report->chain_transfers, " on-chain transfers") : "")
            << ": " << (report->reconciled() ? "everything reconciles" : "NOT reconciled") << "\n";
  for (const auto& [kind, count] : by_kind) std::cerr << "  " << kind << ": " << count << "\n";
  return report->reconciled() ? kExitOk : kExitFindings;
}

}  // namespace

std::vector<Command> AuditCommands() {
  const FlagSpec market = Text("market", "ID");
  const FlagSpec wallet = Text("wallet", "ADDR");
  return {
      {"replay",
       "replay --until SEQ|TIME | --event-time TIME [--market ID] [--wallet ADDR]\n"
       "       [--format json|table]",
       "the state as of a position or a moment, from the log: --until what the ledger had\n"
       "recorded (recordedAt), --event-time what had happened (createdAt)",
       {kDbFlag, Text("until", "SEQ|TIME"), Text("event-time", "TIME"), market, wallet, kFormatFlag,
        kSnapshotIntervalFlag, kAllowBrokenChainFlag},
       0,
       RunReplay,
       kReadsDatabase},
      {"verify",
       "verify [--digest FILE [--pubkey PUB]] [--findings-max N]",
       "check the hash chain, positions, the digest (its signature first, with --pubkey), and the\n"
       "projections against the log; exit 3 when anything is wrong",
       {kDbFlag, InputFile("digest"), InputFile("pubkey"), kSnapshotIntervalFlag,
        Integer("findings-max", "N", 1, kFindingsMaxLimit)},
       0,
       RunVerify,
       kReadsDatabase},
      {"audit",
       "audit --market ID | --wallet ADDR [--from SEQ|TIME] [--until SEQ|TIME]\n"
       "      [--digest FILE [--pubkey PUB]] [--now TIME] [--format json|csv|html] [--out FILE]",
       "timeline, findings, statistics, (resolved market) parimutuel settlement and (wallet)\n"
       "totals per market, under a header saying where the report comes from; times in --from\n"
       "and --until are when events happened",
       {kDbFlag, market, wallet, Text("from", "SEQ|TIME"), Text("until", "SEQ|TIME"),
        InputFile("digest"), InputFile("pubkey"), kNowFlag, kFormatFlag, OutputFile("out"),
        kSnapshotIntervalFlag, kAllowBrokenChainFlag},
       0,
       RunAudit,
       kReadsDatabase},
      {"reconcile",
       "reconcile [--chain FILE.csv] [--now TIME]",
       "clawbacks vs refunds, and refunds vs on-chain transfers (CSV:\n"
       "txHash,from,to,amount,timestamp); exit 3 unless reconciled; --now: ages as of TIME",
       {kDbFlag, InputFile("chain"), kAllowBrokenChainFlag, kNowFlag},
       0,
       RunReconcile,
       kReadsDatabase},
  };
}

}  // namespace ledger::cli
