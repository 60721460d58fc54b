#include "server/feed_hub.h"

#include <chrono>
#include <iostream>

#include "boost/json.hpp"
#include "engine/pg/database.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "feed/feed.h"

namespace ledger::server {
namespace {

// How long the follower waits for a notification before polling the log anyway.
constexpr int kHubPollMs = 200;

std::string ErrorEvent(std::string_view code, std::string_view message) {
  return StrCat("event: error\ndata: ",
                boost::json::serialize(boost::json::object{{"error", code}, {"message", message}}),
                "\n\n");
}

}  // namespace

std::optional<FeedHub::Frame> FeedHub::MakeFrame(std::string_view line) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(line.data(), line.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const boost::json::object& row = v.as_object();
  Frame f;
  f.seq = row.at("seq").to_number<int64_t>();
  if (const auto* m = row.if_contains("marketId"); m != nullptr && m->is_string()) {
    f.market_id = std::string(m->as_string());
  }
  std::optional<Action> action = ParseAction(std::string_view(row.at("action").as_string()));
  if (!action) return std::nullopt;
  f.action = *action;
  f.text = StrCat("id: ", f.seq, "\ndata: ", line, "\n\n");
  return f;
}

absl::Status FeedHub::Start() {
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<pg::Database> db, pg::Database::Open(options_.conn));
  LEDGER_ASSIGN_OR_RETURN(auto head, db->log().Head());
  head_seq_ = head.first;
  follower_ = std::thread([this] { Follow(); });
  heartbeat_ = std::thread([this] { Heartbeats(); });
  return absl::OkStatus();
}

void FeedHub::Stop() {
  stop_ = true;
  stop_cv_.notify_all();
  if (follower_.joinable()) follower_.join();
  if (heartbeat_.joinable()) heartbeat_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : clients_) c->stream->Close("");
  clients_.clear();
}

size_t FeedHub::clients() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

void FeedHub::Follow() {
  while (!stop_.load()) {
    absl::StatusOr<std::unique_ptr<pg::Database>> db = pg::Database::Open(options_.conn);
    absl::Status status = db.status();
    if (db.ok()) {
      FeedOptions feed;
      feed.from_seq = head_seq_.load() + 1;
      feed.follow = true;
      feed.stop = &stop_;
      feed.poll_ms = kHubPollMs;
      status = RunFeed(db->get(), feed, [this](std::string_view lines) { return OnLines(lines); });
    }
    if (!status.ok()) std::cerr << "ledger serve: feed: " << status << "\n";
    std::unique_lock<std::mutex> lock(mu_);
    stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_.load(); });
  }
}

void FeedHub::Heartbeats() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(options_.heartbeat_ms),
                            [this] { return stop_.load(); })) {
    for (size_t i = 0; i < clients_.size();) {
      Client& c = *clients_[i];
      if (!c.stream->closed() && (c.backfilling || c.stream->Push(": heartbeat\n\n"))) {
        ++i;
        continue;
      }
      if (!c.stream->closed()) DropSlow(c);
      clients_.erase(clients_.begin() + static_cast<long>(i));
    }
  }
}

absl::Status FeedHub::OnLines(std::string_view lines) {
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    std::optional<Frame> frame = MakeFrame(lines.substr(start, end - start));
    start = end + 1;
    if (!frame) continue;
    std::lock_guard<std::mutex> lock(mu_);
    head_seq_ = frame->seq;
    for (size_t i = 0; i < clients_.size();) {
      if (Offer(*clients_[i], *frame)) {
        ++i;
      } else {
        clients_.erase(clients_.begin() + static_cast<long>(i));
      }
    }
  }
  return absl::OkStatus();
}

bool FeedHub::Offer(Client& c, const Frame& f) {
  if (c.stream->closed()) return false;
  if (c.backfilling) {
    c.held_bytes += f.text.size();
    c.held.push_back(f);
    if (c.held_bytes <= options_.buffer_bytes) return true;
    DropSlow(c);
    return false;
  }
  if (f.seq < c.next_seq) return true;
  c.next_seq = f.seq + 1;
  const bool wanted = (!c.filter.market_id || f.market_id == *c.filter.market_id) &&
                      (c.filter.actions.empty() || c.filter.actions.contains(f.action));
  if (!wanted || c.stream->Push(f.text)) return true;
  DropSlow(c);
  return false;
}

void FeedHub::DropSlow(Client& c) {
  slow_disconnects_.fetch_add(1);
  c.stream->Close(
      ErrorEvent("CLIENT_TOO_SLOW", StrCat("more than ", options_.buffer_bytes,
                                           " bytes of events waited unread; reconnect with "
                                           "Last-Event-ID to resume without a gap")));
}

absl::Status FeedHub::Subscribe(std::shared_ptr<EventStream> stream, FeedFilter filter,
                                int64_t after_seq) {
  auto client = std::make_shared<Client>();
  client->stream = stream;
  client->filter = std::move(filter);
  client->next_seq = after_seq + 1;
  int64_t live_from = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    clients_.push_back(client);
    live_from = head_seq_.load();
  }
  absl::Status status;
  if (live_from - after_seq > kFeedBackfillRowsMax) {
    status = absl::OutOfRangeError(StrCat("resuming after seq ", after_seq, " would replay ",
                                          live_from - after_seq, " rows, more than ",
                                          kFeedBackfillRowsMax, ": page GET /v1/events instead"));
  } else if (after_seq < live_from) {
    // The rows missed, with the same chain checks as the live ones; the live rows meanwhile wait
    // in `held`.
    absl::StatusOr<std::unique_ptr<pg::Database>> db = pg::Database::Open(options_.conn);
    status = db.status();
    if (db.ok()) {
      FeedOptions feed;
      feed.from_seq = after_seq + 1;
      status = RunFeed(db->get(), feed, [&](std::string_view lines) -> absl::Status {
        std::lock_guard<std::mutex> lock(mu_);
        client->backfilling = false;  // Offer sends; `held` is untouched meanwhile.
        for (size_t start = 0; start < lines.size();) {
          size_t end = lines.find('\n', start);
          if (end == std::string_view::npos) end = lines.size();
          std::optional<Frame> f = MakeFrame(lines.substr(start, end - start));
          start = end + 1;
          if (f && !Offer(*client, *f)) return absl::ResourceExhaustedError("client too slow");
        }
        client->backfilling = true;
        return absl::OkStatus();
      });
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  client->backfilling = false;
  if (!status.ok()) {
    if (!client->stream->closed()) {
      client->stream->Close(ErrorEvent(absl::IsOutOfRange(status) ? "FROM_TOO_OLD" : "FEED_FAILED",
                                       std::string(status.message())));
    }
    return status;
  }
  for (const Frame& f : client->held) {
    if (!Offer(*client, f)) return absl::ResourceExhaustedError("client too slow");
  }
  client->held.clear();
  client->held_bytes = 0;
  return absl::OkStatus();
}

}  // namespace ledger::server
