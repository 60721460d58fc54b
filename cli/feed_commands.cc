// `ledger feed` and `ledger publish`: the change feed for other services (docs/feed.md).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/numbers.h"
#include "cli/common.h"
#include "engine/str_cat.h"
#include "replay/feed.h"
#include "replay/nats_publisher.h"

namespace ledger::cli {
namespace {

// Writes all of `text` to stdout and flushes it; an error (closed pipe, full disk) ends the feed.
absl::Status WriteStdout(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(STDOUT_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::DataLossError(StrCat("writing the feed failed: ", std::strerror(errno)));
    text.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

int RunFeed(const Args& args) {
  FeedOptions options;
  options.follow = args.Has("follow");
  options.consumer = args.Flag("consumer");
  if (std::string from = args.Flag("from"); !from.empty()) {
    int64_t seq = 0;
    if (!absl::SimpleAtoi(from, &seq) || seq < 1) {
      std::cerr << "ledger: --from must be a position (1 or more), got " << from << "\n";
      return kExitError;
    }
    options.from_seq = seq;
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
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  options.stop = &StopOnSignals();
  absl::Status status = ledger::RunFeed(store->get(), options, WriteStdout);
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
  if (std::string replicas = args.Flag("replicas"); !replicas.empty()) {
    if (!absl::SimpleAtoi(replicas, &options.replicas) || options.replicas < 1 ||
        options.replicas > kStreamReplicasMax) {
      std::cerr << "ledger: --replicas must be 1 to " << kStreamReplicasMax << ", got " << replicas
                << "\n";
      return kExitError;
    }
  }
  if (absl::Status s = ValidatePublishOptions(options); !s.ok()) {
    std::cerr << "ledger: " << s.message() << "\n";
    return kExitError;
  }
  std::optional<RetryFlags> retry = ParseRetryFlags(args);
  if (!retry) return kExitError;
  options.retries_max = retry->retries_max;
  options.on_retry = retry->report;
  absl::StatusOr<std::unique_ptr<pg::LogStore>> store = OpenStore(args);
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

}  // namespace ledger::cli
