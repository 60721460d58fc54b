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
#include <vector>

#include "absl/status/status.h"
#include "boost/json.hpp"
#include "cli/command.h"
#include "cli/common.h"
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

// Rows of one projection as JSON objects keyed by column, filtered by `keep`.
boost::json::array RowsAsJson(const Projector& projector, Projection p,
                              const std::function<bool(const Row&)>& keep) {
  const TableRows& shape = EmptyTable(p);
  boost::json::array out;
  projector.ForEachRow(p, [&](const Row& row) {
    if (!keep(row)) return;
    boost::json::object o;
    for (size_t i = 0; i < row.size(); ++i) {
      o[shape.columns[i]] = row[i] ? boost::json::value(*row[i]) : boost::json::value(nullptr);
    }
    out.push_back(std::move(o));
  });
  std::sort(out.begin(), out.end(), [](const boost::json::value& a, const boost::json::value& b) {
    return a.at("id").as_string() < b.at("id").as_string();
  });
  return out;
}

int RunReplay(const Args& args) {
  std::optional<ReplayPoint> point = ReplayPoint::Parse(args.Flag("until"));
  if (!point) {
    std::cerr << "ledger: replay needs --until SEQ or --until RFC3339-TIME\n";
    return kExitError;
  }
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
  absl::StatusOr<Projector> state = ReplayUntil(store->get(), *point, *options, &trust);
  if (!state.ok()) return Fail(state.status());
  // Column indexes: Bet (1 walletAddress, 2 marketId), FlaggedWallet (1 wallet, 2 marketId),
  // Market (1 marketId), PoolSnapshot (1 marketId).
  auto by_market = [&market](size_t column) {
    return [&market, column](const Row& r) { return market.empty() || *r[column] == market; };
  };
  auto by_wallet = [&wallet](size_t column) {
    return [&wallet, column](const Row& r) { return wallet.empty() || *r[column] == wallet; };
  };
  boost::json::array bets = RowsAsJson(
      *state, Projection::kBet, [&](const Row& r) { return by_market(2)(r) && by_wallet(1)(r); });
  std::set<std::string> bet_markets;
  for (const boost::json::value& b : bets)
    bet_markets.insert(std::string(b.at("marketId").as_string()));
  boost::json::array markets = RowsAsJson(*state, Projection::kMarket, [&](const Row& r) {
    return by_market(1)(r) && (wallet.empty() || bet_markets.contains(*r[1]));
  });
  boost::json::array flagged = RowsAsJson(*state, Projection::kFlaggedWallet, [&](const Row& r) {
    return by_market(2)(r) && by_wallet(1)(r);
  });
  const boost::json::value untrusted = ReportUntrusted(trust);
  if (format == "table") {
    if (trust.first_break) std::cout << "UNTRUSTED: see stderr\n";
    std::cout << "state as of seq " << state->head_seq() << "\n";
    PrintTable("markets", markets,
               {"marketId", "status", "winner", "yesPool", "noPool", "updatedAt"});
    PrintTable("bets", bets,
               {"id", "walletAddress", "marketId", "choice", "amount", "status", "createdAt"});
    PrintTable("flagged wallets", flagged,
               {"wallet", "marketId", "severity", "isActive", "reason"});
    return kExitOk;
  }
  std::cout << boost::json::serialize(boost::json::object{{"seq", state->head_seq()},
                                                          {"untrusted", untrusted},
                                                          {"markets", markets},
                                                          {"bets", bets},
                                                          {"flaggedWallets", flagged}})
            << "\n";
  return kExitOk;
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
    drift.push_back({{"table", d.table},
                     {"key", d.key},
                     {"kind", d.kind},
                     {"column", d.column},
                     {"expected", opt(d.expected)},
                     {"found", opt(d.found)}});
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
          {"behind", behind},
          {"seconds", report.total_seconds},
          {"engineSeconds", report.engine_seconds},
          {"scanSeconds", report.scan_seconds},
          {"compareSeconds", report.compare_seconds},
          {"chainSeconds", report.chain_seconds},
          {"foldSeconds", report.fold_seconds},
          {"counts", CountsJson(report)},
          {"unlisted", Unlisted(report)},
          {"findingsMax", findings_max},
          {"standby", StandbyJson()}};
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
  for (const Drift& d : report.drift) {
    std::cerr << "  drift " << d.table << " " << d.key << ": " << d.kind
              << (d.column.empty() ? "" : " " + d.column) << "\n";
  }
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
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  ChainTrust trust = ChainTrustFlag(args);
  absl::StatusOr<AuditReport> report =
      Audit(store->get(), market.empty() ? std::nullopt : std::optional<std::string>(market),
            wallet.empty() ? std::nullopt : std::optional<std::string>(wallet), *options, &trust);
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
       "replay --until SEQ|TIME [--market ID] [--wallet ADDR] [--format json|table]",
       "the state as of a position or a moment (recordedAt), from the log",
       {kDbFlag, Text("until", "SEQ|TIME"), market, wallet, kFormatFlag, kSnapshotIntervalFlag,
        kAllowBrokenChainFlag},
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
       "audit --market ID | --wallet ADDR [--format json|csv|html] [--out FILE]",
       "timeline, statistics and (resolved market) parimutuel settlement",
       {kDbFlag, market, wallet, kFormatFlag, OutputFile("out"), kSnapshotIntervalFlag,
        kAllowBrokenChainFlag},
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
