// `ledger serve` against hostile HTTP and process faults: each gets a clear JSON error or a closed
// connection and nothing else happens (the log holds exactly what was acknowledged); SIGTERM
// answers what is in flight; kill -9 under 16 clients that retry each event until acknowledged
// leaves each event exactly once with the chain intact.
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/serve_process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

namespace json = boost::json;
using testing::FreshDatabase;
using testing::HttpClient;
using testing::HttpReply;
using testing::RawExchange;
using testing::Scalar;
using testing::ServeProcess;
using testing::TempDir;

std::vector<std::string> StreamLines(int64_t events, uint64_t seed) {
  std::vector<std::string> out;
  for (absl::string_view l :
       absl::StrSplit(testing::GeneratedStream(events, seed), '\n', absl::SkipEmpty())) {
    out.emplace_back(l);
  }
  return out;
}

// The `id:` lines of an event stream, in order.
std::vector<int64_t> EventIds(const std::string& raw) {
  std::vector<int64_t> ids;
  for (absl::string_view line : absl::StrSplit(raw, '\n')) {
    if (absl::ConsumePrefix(&line, "id: ")) ids.push_back(std::stoll(std::string(line)));
  }
  return ids;
}

std::vector<int64_t> Range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

std::string FeedRequest(const std::string& target, const std::string& last_event_id = "") {
  return absl::StrCat("GET ", target, " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n",
                      last_event_id.empty() ? "" : "Last-Event-ID: " + last_event_id + "\r\n",
                      "\r\n");
}

std::string JsonLines(const std::vector<std::string>& lines, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) out += lines[i] + "\n";
  return out;
}

std::string StatusLine(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

// The JSON body of a raw response (after the blank line).
std::string BodyOf(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  return end == std::string::npos ? "" : raw.substr(end + 4);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(serve_hostile)

BOOST_AUTO_TEST_CASE(hostile_requests_get_a_json_error_and_change_nothing) {
  // Proves the hostile-HTTP list: malformed and truncated JSON, non-UTF-8, too many events, a body
  // over the limit, huge headers, a body longer than its Content-Length, a slowloris: each answered
  // with its status and a JSON error (or closed, when the client never sent a request), and the
  // log holds only the one good event.
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(
      conn, dir,
      {"--body-bytes-max", "4096", "--request-events-max", "3", "--header-timeout-ms", "500"});
  const int port = serve.port();
  HttpClient c(port);
  const std::vector<std::string> events = StreamLines(3, 5);

  BOOST_TEST(c.Post("/v1/events", "[" + events[0] + ",").status == 400);  // Truncated array.
  BOOST_TEST(c.Post("/v1/events", "[" + events[0] + "] x").status == 400);
  BOOST_TEST(c.Post("/v1/events", "").status == 400);
  HttpReply bad_utf8 = c.Post("/v1/events", "{\"action\":\"\xff\xfe\"}");
  BOOST_TEST(bad_utf8.status == 400);
  BOOST_TEST(c.Post("/v1/events", "[1,2,3,4]").Json().as_object().at("error").as_string() ==
             "TOO_MANY_EVENTS");
  HttpReply big = c.Post("/v1/events", std::string(5000, ' ') + events[0]);
  BOOST_TEST(big.status == 413);
  BOOST_TEST(big.Json().as_object().at("limit").as_int64() == 4096);

  const std::string huge_header =
      "GET /v1/head HTTP/1.1\r\nHost: x\r\nX-Junk: " + std::string(20000, 'a') + "\r\n\r\n";
  const std::string header_reply = RawExchange(port, huge_header, 5000);
  BOOST_TEST(StatusLine(header_reply) == "HTTP/1.1 431 Request Header Fields Too Large");
  BOOST_TEST(json::parse(BodyOf(header_reply)).as_object().at("error").as_string() ==
             "HEADERS_TOO_LARGE");

  // A body longer than its Content-Length: the first request is answered, the rest is not HTTP.
  const std::string good = events[0];
  const std::string overlong = absl::StrCat(
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ",
      good.size(), "\r\n\r\n", good, "garbage that is not a request\r\n\r\n");
  const std::string overlong_reply = RawExchange(port, overlong, 5000);
  BOOST_TEST(overlong_reply.find("HTTP/1.1 201 Created") == 0);
  BOOST_TEST(overlong_reply.find("HTTP/1.1 400 Bad Request") != std::string::npos);

  // A slowloris: half a header, then nothing. The server closes the connection (its header timeout
  // is 0.5 s) long before this client would give up (60 s).
  bool closed = false;
  const std::string slow = RawExchange(port, "GET /v1/head HTTP/1.1\r\nHost:", 60000, &closed);
  BOOST_TEST(slow.empty());
  BOOST_TEST(closed);

  BOOST_TEST(HttpClient(port).Get("/v1/head").Json().as_object().at("seq").as_int64() == 1);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "1");
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(connections_past_the_limit_are_told_503_and_those_within_it_still_work) {
  // Proves the connection limit without racing a timeout: each of the 20 connections within the
  // limit has been answered once (so the server has accepted it, whatever the machine's speed)
  // and stays open under a header timeout far longer than the test; the 21st is refused at once.
  TempDir dir;
  const std::string conn = FreshDatabase();
  constexpr int kConnectionsMax = 20;
  ServeProcess serve(
      conn, dir,
      {"--header-timeout-ms", "600000", "--connections-max", absl::StrCat(kConnectionsMax)});
  const int port = serve.port();
  std::vector<std::unique_ptr<HttpClient>> held;
  for (int i = 0; i < kConnectionsMax; ++i) {
    held.push_back(std::make_unique<HttpClient>(port));
    BOOST_TEST_REQUIRE(held.back()->Get("/v1/head").status == 200);
  }
  const std::string refused = RawExchange(port, "", 3000);
  BOOST_TEST(StatusLine(refused) == "HTTP/1.1 503 Service Unavailable");
  BOOST_TEST(refused.find("TOO_MANY_CONNECTIONS") != std::string::npos);
  // Those within the limit still work.
  BOOST_TEST(held.front()->Get("/v1/head").status == 200);
  held.clear();
  // Once they are closed, new connections are accepted again (the server notices each close on
  // its own time, hence the retries).
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    status = HttpClient(port).Get("/v1/head").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(status == 200);
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_answers_every_request_in_flight_and_exits_zero) {
  // Proves the shutdown: 8 clients posting when SIGTERM lands; every request that got an answer
  // with accepted events is in the log, no event is in the log twice, and the exit code is 0.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::vector<std::string> events = StreamLines(4000, 8);
  ServeProcess serve(conn, dir);
  std::atomic<int64_t> accepted{0};
  std::atomic<size_t> next{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      HttpClient c(serve.port());
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= events.size()) return;
        HttpReply r = c.Post("/v1/events", events[i]);
        if (r.status == 0 || r.status == 503) return;  // Stopped.
        if (r.status == 201) accepted.fetch_add(1);
      }
    });
  }
  while (accepted.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  BOOST_TEST(serve.Terminate() == 0);
  for (std::thread& t : clients) t.join();
  const int64_t rows = std::stoll(Scalar(conn, "SELECT count(*) FROM \"BetHistory\""));
  BOOST_TEST(rows >= accepted.load());
  BOOST_TEST(rows <= accepted.load() + 8);  // At most the requests whose answers were cut off.
  testing::VerifyChain(conn, rows);
}

BOOST_AUTO_TEST_CASE(kill_9_under_16_retrying_clients_loses_and_doubles_nothing) {
  // Proves the durability promise: 16 clients each retry their events until acknowledged, across
  // two kill -9s of the service (restarted on the same port range); afterwards every event is in
  // the log exactly once, in a chain that verifies, and each acknowledged (seq, hash) is the row at
  // that seq.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::vector<std::string> events = StreamLines(1600, 21);
  std::atomic<int> port{0};
  auto serve = std::make_unique<ServeProcess>(conn, dir, std::vector<std::string>{}, "s0");
  port = serve->port();
  testing::Acknowledgements acks;
  std::thread clients([&] {
    testing::PostUntilAcknowledged(
        events, 16, [&](size_t) { return port.load(); }, &acks);
  });
  for (int kill = 1; kill <= 2; ++kill) {
    const int64_t mark = acks.answered.load();
    while (acks.answered.load() < mark + 300) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    serve->Kill();
    serve = std::make_unique<ServeProcess>(conn, dir, std::vector<std::string>{},
                                           absl::StrCat("s", kill));
    port = serve->port();
  }
  clients.join();
  const int64_t settled_in_log = static_cast<int64_t>(events.size()) - acks.refused.load();
  BOOST_TEST(acks.refused.load() < static_cast<int64_t>(events.size()) / 10);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == std::to_string(settled_in_log));
  BOOST_TEST(Scalar(conn, "SELECT count(DISTINCT \"identityKey\") FROM \"BetHistory\"") ==
             std::to_string(settled_in_log));
  BOOST_TEST(acks.hashes.size() == static_cast<size_t>(settled_in_log));
  testing::VerifyChain(conn, settled_in_log);
  for (const auto& [seq, hash] : acks.hashes) {
    BOOST_TEST(Scalar(conn, absl::StrCat("SELECT hash FROM \"BetHistory\" WHERE seq = ", seq)) ==
               hash);
  }
  BOOST_TEST(serve->Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(two_services_on_one_database_keep_positions_gap_free_and_the_chain_whole) {
  // Proves two writers on one database stay correct: 8 clients split across two services (each
  // catches up on the other's rows under the log lock before it validates); every event once,
  // positions gap-free (a reader polling meanwhile never sees a hole fill in), chain intact.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::vector<std::string> events = StreamLines(1200, 17);
  ServeProcess a(conn, dir, {"--no-projections"}, "a");
  ServeProcess b(conn, dir, {"--no-projections"}, "b");
  // The reader stops at the rows it is told of, or when a poll finds nothing new after Finish.
  testing::GapFreeReader reader(conn, static_cast<int64_t>(events.size()));
  testing::Acknowledgements acks;
  testing::PostUntilAcknowledged(
      events, 8, [&](size_t client) { return client % 2 == 0 ? a.port() : b.port(); }, &acks);
  reader.Finish();
  BOOST_TEST(reader.error().empty(), reader.error());
  const int64_t settled_in_log = static_cast<int64_t>(events.size()) - acks.refused.load();
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == std::to_string(settled_in_log));
  BOOST_TEST(acks.hashes.size() == static_cast<size_t>(settled_in_log));
  testing::VerifyChain(conn, settled_in_log);
  BOOST_TEST(a.Terminate() == 0);
  BOOST_TEST(b.Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(a_thousand_idle_connections_do_not_stop_a_real_client) {
  // Proves idle connections cost the service nothing that matters: 1000 connections that never send
  // a byte are held (under the default limit of 1024), and a real client is still answered.
  struct rlimit files {};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;  // The test's 1000 sockets, and the service (which inherits it).
  BOOST_REQUIRE(setrlimit(RLIMIT_NOFILE, &files) == 0);
  BOOST_REQUIRE(files.rlim_cur >= 2200);
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(conn, dir);
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    const int fd = testing::Connect(serve.port());
    BOOST_REQUIRE(fd >= 0);
    idle.push_back(fd);
  }
  HttpClient c(serve.port());
  BOOST_TEST(c.Post("/v1/events", StreamLines(1, 3)[0]).status == 201);
  BOOST_TEST(c.Get("/metrics").body.find("ledger_http_connections 1001") != std::string::npos);
  for (int fd : idle) close(fd);
  for (int i = 0; i < 20; ++i) HttpClient(serve.port()).Get("/v1/head");  // Used, then closed.
  // Every closed connection is released (a session that kept itself alive would count for ever,
  // and after connections-max of them the service would refuse everyone).
  bool released = false;
  for (int i = 0; i < 100 && !released; ++i) {
    released = c.Get("/metrics").body.find("ledger_http_connections 1\n") != std::string::npos;
    if (!released) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST(released);
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(cors_preflight_and_headers_for_the_frontend_origin_only) {
  // Proves --cors-origin: a preflight from the frontend's origin is answered 204 with the methods
  // and headers it may use; responses to that origin carry Access-Control-Allow-Origin; another
  // origin gets no CORS header (the browser then refuses to show it the answer).
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(conn, dir, {"--cors-origin", "https://app.degenhouse.example"});
  HttpClient c(serve.port());
  HttpReply pre = c.Send(
      "OPTIONS", "/v1/events", "",
      {{"Origin", "https://app.degenhouse.example"}, {"Access-Control-Request-Method", "POST"}});
  BOOST_TEST(pre.status == 204);
  BOOST_TEST(pre.headers["access-control-allow-origin"] == "https://app.degenhouse.example");
  BOOST_TEST(pre.headers["access-control-allow-methods"] == "GET, POST, OPTIONS");
  BOOST_TEST(pre.headers["access-control-allow-headers"].find("Authorization") !=
             std::string::npos);
  HttpReply get = c.Get("/v1/head", {{"Origin", "https://app.degenhouse.example"}});
  BOOST_TEST(get.headers["access-control-allow-origin"] == "https://app.degenhouse.example");
  HttpReply other = c.Get("/v1/head", {{"Origin", "https://evil.example"}});
  BOOST_TEST(other.status == 200);
  BOOST_TEST(other.headers.count("access-control-allow-origin") == 0u);
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(feed_resumes_by_last_event_id_without_a_gap_and_filters) {
  // Proves GET /v1/feed: rows as SSE with `id:` = seq, from a position, heartbeats; a reconnect
  // with Last-Event-ID gets exactly the rows after it (rows committed while it was away included),
  // in order, no gap and no repeat; market and action filters.
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(conn, dir, {"--feed-heartbeat-ms", "200"});
  HttpClient c(serve.port());
  const std::vector<std::string> events = StreamLines(90, 13);
  auto head = [&] { return c.Get("/v1/head").Json().as_object().at("seq").as_int64(); };
  BOOST_REQUIRE(c.Post("/v1/events", JsonLines(events, 0, 40), "application/x-ndjson").status ==
                200);
  const int64_t head1 = head();
  BOOST_REQUIRE(head1 > 30);
  // Collects for a second: the stream never ends by itself, so a read window is how a test ends it.
  const std::string first = RawExchange(serve.port(), FeedRequest("/v1/feed?from=1"), 1000);
  BOOST_TEST(first.find("Content-Type: text/event-stream") != std::string::npos);
  BOOST_TEST(EventIds(first) == Range(1, head1), boost::test_tools::per_element());
  BOOST_TEST(first.find(": heartbeat") != std::string::npos);

  BOOST_REQUIRE(c.Post("/v1/events", JsonLines(events, 40, 80), "application/x-ndjson").status ==
                200);
  const int64_t head2 = head();
  const std::string resumed = RawExchange(serve.port(), FeedRequest("/v1/feed", "25"), 1000);
  BOOST_TEST(EventIds(resumed) == Range(26, head2), boost::test_tools::per_element());

  // Live: a follower that joined at the head sees what is committed after it, and only that.
  std::string live;
  std::thread follower([&] { live = RawExchange(serve.port(), FeedRequest("/v1/feed"), 2000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_REQUIRE(c.Post("/v1/events", JsonLines(events, 80, 90), "application/x-ndjson").status ==
                200);
  follower.join();
  const int64_t head3 = head();
  BOOST_REQUIRE(head3 > head2);
  BOOST_TEST(EventIds(live) == Range(head2 + 1, head3), boost::test_tools::per_element());

  const std::string placed =
      RawExchange(serve.port(), FeedRequest("/v1/feed?from=1&action=PLACED"), 1000);
  const std::vector<int64_t> placed_ids = EventIds(placed);
  BOOST_TEST(!placed_ids.empty());
  BOOST_TEST(std::count(placed.begin(), placed.end(), '\n') > 0);
  BOOST_TEST(placed.find("\"action\":\"CONFIRMED\"") == std::string::npos);
  BOOST_TEST(std::stoll(Scalar(conn,
                               "SELECT count(*) FROM \"BetHistory\" WHERE action = "
                               "'PLACED'")) == static_cast<int64_t>(placed_ids.size()));
  BOOST_TEST(c.Get("/v1/feed?action=NOPE").status == 400);
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(a_feed_client_that_stops_reading_is_told_why_and_disconnected) {
  // Proves the bounded buffer: a client that opens the feed and reads nothing while thousands of
  // events are committed is disconnected once its buffer (64 KiB here) is full, with an error event
  // naming CLIENT_TOO_SLOW; the service counts it, and other clients and writes go on.
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(conn, dir, {"--feed-buffer-bytes", "65536"});
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int small = 4096;  // A small receive window, so the server's side fills first.
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(serve.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  const std::string request = FeedRequest("/v1/feed");
  BOOST_REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  HttpClient c(serve.port());
  const std::vector<std::string> events = StreamLines(6000, 19);
  for (size_t i = 0; i < events.size(); i += 1000) {
    BOOST_REQUIRE(
        c.Post("/v1/events", JsonLines(events, i, i + 1000), "application/x-ndjson").status == 200);
  }
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {
    dropped =
        c.Get("/metrics").body.find("ledger_feed_slow_disconnects_total 1") != std::string::npos;
    if (!dropped) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(dropped);
  std::string received;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
    received.append(buf, static_cast<size_t>(n));
  close(fd);
  BOOST_TEST(received.find("CLIENT_TOO_SLOW") != std::string::npos);
  BOOST_TEST(c.Get("/healthz/ready").status == 200);
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
