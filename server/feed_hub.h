// FeedHub: `GET /v1/feed`, the log as Server-Sent Events for the frontend's live odds.
//
// One thread follows the log (feed/feed.h's RunFeed: in position order, every row checked against
// the chain) on a connection of its own and hands each row, encoded once, to every client whose
// filter it matches. A client that resumes (Last-Event-ID, or ?from=) is first sent the rows it
// missed, read on the caller's thread with the same RunFeed, while the hub buffers the live rows
// for it; positions already sent are never sent again, so a resume has neither a gap nor a repeat.
//
// Every client has a bounded buffer: one that falls behind by more than its limit is sent an error
// event saying why and disconnected, so a slow reader can never grow the server's memory. A comment
// line every heartbeat keeps proxies from closing an idle stream and tells the hub a client left.
//
// Thread-safety: every public method may be called from any thread.
#ifndef LEDGER_SERVER_FEED_HUB_H_
#define LEDGER_SERVER_FEED_HUB_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "engine/event.h"
#include "server/http_server.h"

namespace ledger::server {

// Unsent bytes a feed client may hold: ~1,600 rows of ~600 bytes, a few seconds of a busy market
// for a browser on a slow link; past it the client is dropped, not buffered.
inline constexpr size_t kFeedBufferBytesDefault = 1 << 20;
// Between heartbeats (SSE comment lines): under the 30-60 s idle timeouts of common proxies.
inline constexpr int kFeedHeartbeatMsDefault = 15000;
// Rows a resuming client may ask to be sent before it goes live: a browser that reconnects after a
// few minutes away. Older history is for `GET /v1/events` paging or `ledger feed`, not a stream.
inline constexpr int64_t kFeedBackfillRowsMax = 100000;

struct FeedHubOptions {
  std::string conn;
  size_t buffer_bytes = kFeedBufferBytesDefault;
  int heartbeat_ms = kFeedHeartbeatMsDefault;
};

struct FeedFilter {
  std::optional<std::string> market_id;
  std::set<Action> actions;  // Empty: all.
};

class FeedHub {
 public:
  explicit FeedHub(FeedHubOptions options) : options_(std::move(options)) {}
  ~FeedHub() { Stop(); }

  // Reads the head and starts following from it.
  absl::Status Start();
  // Closes every stream and joins the threads.
  void Stop();

  // Sends `stream` every row past `after_seq` that matches `filter`, then keeps it live. Reads the
  // missed rows on this thread (on a connection of its own). An error (the backfill is too long, or
  // the database failed) is sent to the client as an error event and returned.
  absl::Status Subscribe(std::shared_ptr<EventStream> stream, FeedFilter filter, int64_t after_seq);

  size_t clients() const;
  // The hub's last position: a client asking for nothing older goes live at once.
  int64_t head_seq() const { return head_seq_.load(); }
  uint64_t slow_disconnects() const { return slow_disconnects_.load(); }
  size_t buffer_bytes() const { return options_.buffer_bytes; }

 private:
  struct Frame {
    int64_t seq = 0;
    std::string market_id;
    Action action = Action::kPlaced;
    std::string text;  // "id: SEQ\ndata: JSON\n\n".
  };
  struct Client {
    std::shared_ptr<EventStream> stream;
    FeedFilter filter;
    int64_t next_seq = 1;  // Every position below this has been sent or filtered out.
    bool backfilling = true;
    std::vector<Frame> held;  // Live frames that arrived while backfilling.
    size_t held_bytes = 0;
  };

  void Follow();
  void Heartbeats();
  absl::Status OnLines(std::string_view lines);
  // Sends `frame` to `client` if it is next and matches; false when the client is to be dropped.
  bool Offer(Client& client, const Frame& frame);
  void DropSlow(Client& client);
  static std::optional<Frame> MakeFrame(std::string_view line);

  FeedHubOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> head_seq_{0};
  std::atomic<uint64_t> slow_disconnects_{0};
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::vector<std::shared_ptr<Client>> clients_;
  std::thread follower_;
  std::thread heartbeat_;
};

}  // namespace ledger::server

#endif  // LEDGER_SERVER_FEED_HUB_H_
