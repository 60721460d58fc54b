// `ledger project` and `ledger rebuild`: keeping the projections up to the log, and rebuilding them
// from it (docs/projections.md).
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "boost/json.hpp"
#include "cli/command.h"
#include "cli/common.h"
#include "engine/pg/database.h"
#include "engine/str_cat.h"
#include "projections/runner.h"

namespace ledger::cli {
namespace {

int RunProject(const Args& args) {
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  const RetryFlags retry = ParseRetryFlags(args);
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  ChainTrust trust = ChainTrustFlag(args);
  CatchUpRunner runner(store->get(), *options, &trust);
  // Past a damaged row every break is to be found and reported, so a fold read on past damage
  // starts at position 0.
  runner.set_use_snapshot(!args.Has("no-snapshot") && !args.Has("allow-broken-chain"));
  runner.set_on_snapshot_skipped([](std::string_view why) {
    std::cerr << "ledger project: fold snapshot not used (" << why << "); folding from seq 0\n";
  });
  if (args.Has("follow")) {
    absl::Status s = runner.Follow(StopOnSignals(), retry.report, retry.retries_max);
    ReportUntrusted(trust);  // The warning, at the end of a follow.
    return s.ok() ? kExitOk : Fail(s);
  }
  absl::StatusOr<int64_t> applied = runner.RunOnce();
  if (!applied.ok()) return Fail(applied.status());
  absl::StatusOr<std::array<int64_t, kProjectionCount>> checkpoints = LoadCheckpoints(store->get());
  if (!checkpoints.ok()) return Fail(checkpoints.status());
  boost::json::object cps;
  for (int i = 0; i < kProjectionCount; ++i) {
    cps[ProjectionName(static_cast<Projection>(i))] = (*checkpoints)[static_cast<size_t>(i)];
  }
  std::cout << boost::json::serialize(
                   boost::json::object{{"applied", *applied},
                                       {"foldFromSeq", runner.fold_started_at()},
                                       {"checkpoints", cps},
                                       {"snapshotsTrimmed", runner.snapshots_trimmed()},
                                       {"untrusted", ReportUntrusted(trust)}})
            << "\n";
  return kExitOk;
}

int RunRebuild(const Args& args) {
  std::optional<ProjectorOptions> options = ProjectorFlags(args);
  if (!options) return kExitError;
  std::vector<Projection> only;
  if (std::string name = args.Flag("projection"); !name.empty()) {
    std::optional<Projection> p = ParseProjection(name);
    if (!p) {
      std::cerr << "ledger: unknown projection " << name
                << " (market, bet, flagged_wallet, pool_snapshot)\n";
      return kExitError;
    }
    only.push_back(*p);
  }
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const bool tty = isatty(STDERR_FILENO) != 0;
  const absl::Time start = absl::Now();
  auto progress = [&](const RebuildProgress& p) {
    if (!tty) return;
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double rate = seconds > 0 ? static_cast<double>(p.events) / seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(p.total - p.events) / rate : 0;
    std::cerr << absl::StrFormat("\rrebuild: %d/%d events, %.0f events/s, ETA %.0fs   ", p.events,
                                 p.total, rate, eta)
              << std::flush;
  };
  ChainTrust trust = ChainTrustFlag(args);
  absl::Status status = Rebuild(store->get(), *options, only, progress, &trust);
  if (tty) std::cerr << "\n";
  if (!status.ok()) return Fail(status);
  absl::StatusOr<std::pair<int64_t, Sha256>> head = (*store)->log().Head();
  if (!head.ok()) return Fail(head.status());
  std::cout << boost::json::serialize(boost::json::object{
                   {"rebuilt", only.empty() ? "all" : std::string(ProjectionName(only[0]))},
                   {"seq", head->first},
                   {"elapsedMs", absl::ToInt64Milliseconds(absl::Now() - start)},
                   {"untrusted", ReportUntrusted(trust)}})
            << "\n";
  return kExitOk;
}
}  // namespace

std::vector<Command> ProjectionCommands() {
  return {
      {"project",
       "project [--follow] [--snapshot-retention 30d] [--retries N] [--no-snapshot]",
       "bring Bet, Market, FlaggedWallet, PoolSnapshot up to the log; --follow keeps them up to\n"
       "date until SIGINT/SIGTERM (riding out outages); --snapshot-retention keeps only recent\n"
       "PoolSnapshot rows; the fold starts from the newest fold snapshot at or before the\n"
       "checkpoints unless --no-snapshot (or --allow-broken-chain)",
       {kDbFlag, Switch("follow"), kSnapshotIntervalFlag, kSnapshotRetentionFlag,
        kAllowBrokenChainFlag, kRetriesFlag, Switch("no-snapshot")},
       0,
       RunProject},
      {"rebuild",
       "rebuild [--projection NAME]",
       "rebuild projections from the whole log (market, bet, flagged_wallet, pool_snapshot;\n"
       "default all) and swap them in",
       {kDbFlag, Text("projection", "NAME"), kSnapshotIntervalFlag, kAllowBrokenChainFlag},
       0,
       RunRebuild},
  };
}

}  // namespace ledger::cli
