// `ledger feed` and `ledger publish`: the change feed for other services (docs/feed.md).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "cli/command.h"
#include "cli/common.h"
#include "engine/str_cat.h"
#include "feed/feed.h"
#include "feed/nats_publisher.h"

namespace ledger::cli {
namespace {

// Writes all of `text` to stdout and flushes it; an error (closed pipe, full disk) ends the feed.
absl::Status WriteStdout(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return absl::DataLossError(StrCat("writing the feed failed: ", std::strerror(errno)));
    text.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

int RunFeed(const Args& args) {
  FeedOptions options;
  options.follow = args.Has("follow");
  options.consumer = args.Flag("consumer");
  if (args.Has("from")) {
    options.from_seq = args.Integer("from", 1);
  } else if (options.consumer.empty()) {
    options.from_seq = 1;
  }
  if (std::string market = args.Flag("market"); !market.empty()) options.market_id = market;
  if (std::string actions = args.Flag("action"); !actions.empty()) {
    std::string bad;
    std::optional<std::set<Action>> parsed = ParseActionList(actions, &bad);
    if (!parsed) {
      std::cerr << "ledger: --action: unknown action " << bad << "\n";
      return kExitError;
    }
    options.actions = *parsed;
  }
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const RetryFlags retry = ParseRetryFlags(args);
  options.retries_max = retry.retries_max;
  options.on_retry = retry.report;
  options.stop = &StopOnSignals();
  ChainTrust trust = ChainTrustFlag(args);
  options.trust = &trust;
  absl::Status status = ledger::RunFeed(store->get(), options, WriteStdout);
  ReportUntrusted(trust);  // The warning; the lines are the log's rows as stored.
  return status.ok() ? kExitOk : Fail(status);
}

int RunPublish(const Args& args) {
  PublishOptions options;
  options.nats_url = args.Flag("nats");
  if (options.nats_url.empty()) {
    std::cerr << "usage: ledger publish --nats URL [--stream NAME] [--subject-prefix P] "
                 "[--replicas N] [--follow]\n";
    return kExitError;
  }
  options.stream = args.Flag("stream", options.stream);
  options.subject_prefix = args.Flag("subject-prefix", options.subject_prefix);
  options.follow = args.Has("follow");
  options.replicas = static_cast<int>(args.Integer("replicas", options.replicas));
  if (absl::Status s = ValidatePublishOptions(options); !s.ok()) {
    std::cerr << "ledger: " << s.message() << "\n";
    return kExitError;
  }
  const RetryFlags retry = ParseRetryFlags(args);
  options.retries_max = retry.retries_max;
  options.on_retry = retry.report;
  absl::StatusOr<std::unique_ptr<pg::Database>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  options.stop = &StopOnSignals();
  PublishSummary summary;
  absl::Status status = Publish(store->get(), options, &summary);
  std::cout << boost::json::serialize(boost::json::object{{"stream", options.stream},
                                                          {"published", summary.published},
                                                          {"duplicates", summary.duplicates},
                                                          {"resumedAfter", summary.resumed_after},
                                                          {"position", summary.position}})
            << "\n";
  return status.ok() ? kExitOk : Fail(status);
}

}  // namespace

std::vector<Command> FeedCommands() {
  return {
      {"feed",
       "feed [--from SEQ] [--follow] [--market ID] [--action A,...] [--consumer NAME]",
       "the log as JSON Lines in position order; --consumer keeps its position in the database\n"
       "and resumes from it (at-least-once); rides out outages up to --retries times",
       {kDbFlag, Integer("from", "SEQ", 1, kInt64Max), Switch("follow"), Text("market", "ID"),
        Text("action", "A,..."), Text("consumer", "NAME"), kRetriesFlag, kAllowBrokenChainFlag},
       0,
       RunFeed,
       {DatabaseUse::kWritesWithFlag, "consumer"}},
      {"publish",
       "publish --nats URL [--stream NAME] [--subject-prefix P] [--replicas N] [--follow]",
       "publish the log to a NATS JetStream stream, exactly once, in order",
       {kDbFlag, Text("nats", "URL"), Text("stream", "NAME"), Text("subject-prefix", "P"),
        Integer("replicas", "N", 1, kStreamReplicasMax), Switch("follow"), kRetriesFlag},
       0,
       RunPublish},
  };
}

}  // namespace ledger::cli
