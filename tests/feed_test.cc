// Specification of the change feed with real processes, a real PostgreSQL and a real nats-server
// (JetStream, file storage): `ledger publish` killed with SIGKILL at random moments and restarted
// leaves each event in the stream exactly once and in order; a durable `ledger feed --consumer`
// killed the same way delivers every event, in order, with only the uncommitted tail delivered
// twice; and followers under concurrent appenders never skip or reorder an event.
#include "feed/feed.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "feed/nats_publisher.h"
#include "tests/ledger_process.h"
#include "tests/nats_server.h"
#include "tests/process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::KillRepeatedly;
using testing::KillSchedule;
using testing::LedgerBinary;
using testing::ProcessSpec;
using testing::ReadFile;
using testing::Scalar;
using testing::TempDir;

constexpr int64_t kLogEvents = 100000;
// Each run is killed soon after it visibly made progress and resumes where the last one stopped.
constexpr int kKills = KillSchedule{}.kills;
constexpr int kCatchUpWaitMs = 60000;

// Generates `events` events with the real binary and appends them; returns the log's length.
int64_t AppendGenerated(const std::string& conn, const TempDir& dir, const std::string& tag,
                        int64_t events, const std::string& id_prefix = "", int seed = 42) {
  ProcessSpec gen;
  gen.argv = {LedgerBinary(), "generate", "--events", std::to_string(events),
              "--id-prefix",  id_prefix,  "--seed",   std::to_string(seed)};
  gen.stdout_path = dir / (tag + ".jsonl");
  BOOST_REQUIRE_EQUAL(testing::Run(gen), 0);
  ProcessSpec append;
  append.argv = {LedgerBinary(),         "--db",         conn, "append",
                 dir / (tag + ".jsonl"), "--batch-size", "500"};
  append.stderr_path = dir / (tag + ".err");
  BOOST_REQUIRE_EQUAL(testing::Run(append), 0);
  return std::stoll(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")"));
}

// One database holding a 100k-event log, shared by the tests that only read it.
const std::string& HundredThousandEventLog() {
  static const std::string conn = [] {
    std::string c = testing::FreshDatabase();
    TempDir dir;
    BOOST_REQUIRE_EQUAL(AppendGenerated(c, dir, "log", kLogEvents), kLogEvents);
    return c;
  }();
  return conn;
}

// The "seq" of each complete line (a line cut short by SIGKILL is not a delivery).
std::vector<int64_t> FeedSeqs(const std::string& text) {
  std::vector<int64_t> out;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    boost::json::value v = boost::json::parse(text.substr(start, end - start));
    out.push_back(v.at("seq").as_int64());
  }
  return out;
}

// Every message of the stream (read with an ordered consumer, or a durable pull consumer when
// `pull_durable` is given) is the log's position in order.
void ExpectStreamHoldsTheLogInOrder(const std::string& url, const std::string& stream,
                                    const std::string& prefix, int64_t events,
                                    const std::string& pull_durable = "") {
  std::vector<testing::StreamMessage> messages =
      pull_durable.empty() ? testing::ReadStream(url, stream, static_cast<size_t>(events) + 1)
                           : testing::ReadStreamWithPullConsumer(url, stream, pull_durable,
                                                                 static_cast<size_t>(events) + 1);
  BOOST_REQUIRE_EQUAL(messages.size(), static_cast<size_t>(events));
  int64_t wrong = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const testing::StreamMessage& m = messages[i];
    const boost::json::object event = boost::json::parse(m.data).as_object();
    const int64_t position = static_cast<int64_t>(i) + 1;
    const std::string subject = prefix + "." + std::string(event.at("marketId").as_string()) + "." +
                                std::string(event.at("action").as_string());
    if (m.stream_seq != static_cast<uint64_t>(position) || m.msg_id != std::to_string(position) ||
        event.at("seq").as_int64() != position || m.subject != subject) {
      if (++wrong <= 5) {
        BOOST_ERROR("stream message " << m.stream_seq << " (id " << m.msg_id << ", subject "
                                      << m.subject << ") is not log position " << position);
      }
    }
  }
  BOOST_TEST(wrong == 0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(feed)

BOOST_AUTO_TEST_CASE(publisher_killed_and_restarted_leaves_each_event_once_in_order) {
  // Proves: 100k events published by a publisher killed (SIGKILL) six times mid-way and restarted
  // are in the JetStream stream exactly once, in log order, each with its position as Nats-Msg-Id
  // and on the subject of its market and action; the checkpoint ends at the log's end.
  const std::string& conn = HundredThousandEventLog();
  testing::NatsServer nats;
  TempDir dir;
  auto publish = [&](int i) {
    ProcessSpec spec;
    spec.argv = {LedgerBinary(), "--db", conn, "publish", "--nats", nats.url()};
    spec.stdout_path = dir / ("publish-" + std::to_string(i) + ".out");
    spec.stderr_path = dir / ("publish-" + std::to_string(i) + ".err");
    return spec;
  };
  std::mt19937 rng(20261126);
  const int interrupted = KillRepeatedly(publish, rng, kLogEvents, [&] {
    return static_cast<int64_t>(testing::StreamState(nats.url(), "LEDGER").first);
  });
  BOOST_TEST(interrupted >= 3, "only " << interrupted << " kills landed mid-way");
  BOOST_REQUIRE_EQUAL(testing::Run(publish(kKills)), 0);
  const boost::json::object summary =
      boost::json::parse(ReadFile(dir / "publish-6.out")).as_object();
  BOOST_TEST(summary.at("position").as_int64() == kLogEvents);
  BOOST_TEST(summary.at("resumedAfter").as_int64() > 0);
  ExpectStreamHoldsTheLogInOrder(nats.url(), "LEDGER", "ledger", kLogEvents);
  BOOST_TEST(
      Scalar(conn, "SELECT seq FROM feed_position WHERE kind = 'publish' AND name = 'LEDGER'") ==
      std::to_string(kLogEvents));
  // A run with nothing new publishes nothing.
  BOOST_REQUIRE_EQUAL(testing::Run(publish(kKills + 1)), 0);
  BOOST_TEST(boost::json::parse(ReadFile(dir / "publish-7.out")).at("published").as_int64() == 0);
  BOOST_TEST(testing::StreamState(nats.url(), "LEDGER").first == static_cast<uint64_t>(kLogEvents));
}

BOOST_AUTO_TEST_CASE(durable_consumer_killed_and_restarted_delivers_every_event_in_order) {
  // Proves: a durable consumer killed six times mid-way resumes after its stored position: every
  // run delivers consecutive positions starting no later than where the previous one stopped, so
  // the deliveries, with seq as the idempotency key, are exactly 1..N in order; what is delivered
  // twice is at most the last unstored batch of each killed run.
  const std::string& conn = HundredThousandEventLog();
  TempDir dir;
  auto feed = [&](int i) {
    ProcessSpec spec;
    spec.argv = {LedgerBinary(), "--db", conn, "feed", "--consumer", "auditor"};
    spec.stdout_path = dir / ("feed-" + std::to_string(i) + ".out");
    spec.stderr_path = dir / ("feed-" + std::to_string(i) + ".err");
    return spec;
  };
  std::mt19937 rng(7);
  const int interrupted = KillRepeatedly(feed, rng, kLogEvents, [&] {
    return std::stoll(Scalar(conn,
                             "SELECT coalesce(max(seq), 0) FROM feed_position WHERE kind = "
                             "'feed' AND name = 'auditor'"));
  });
  BOOST_TEST(interrupted >= 3, "only " << interrupted << " kills landed mid-way");
  BOOST_REQUIRE_EQUAL(testing::Run(feed(kKills)), 0);

  int64_t delivered_through = 0;
  int64_t redelivered = 0;
  for (int i = 0; i <= kKills; ++i) {
    const std::vector<int64_t> seqs =
        FeedSeqs(ReadFile(dir / ("feed-" + std::to_string(i) + ".out")));
    if (seqs.empty()) continue;
    BOOST_TEST(seqs.front() <= delivered_through + 1,
               "run " << i << " skipped to " << seqs.front());
    for (size_t k = 1; k < seqs.size(); ++k) {
      if (seqs[k] != seqs[k - 1] + 1) {
        BOOST_ERROR("run " << i << " went from " << seqs[k - 1] << " to " << seqs[k]);
        break;
      }
    }
    const int64_t again = std::max<int64_t>(0, delivered_through - seqs.front() + 1);
    BOOST_TEST(again <= kFeedBatchEvents, "run " << i << " re-delivered " << again);
    redelivered += again;
    delivered_through = std::max(delivered_through, seqs.back());
  }
  BOOST_TEST(delivered_through == kLogEvents);
  BOOST_TEST_MESSAGE("re-delivered after kills: " << redelivered);
  BOOST_TEST(
      Scalar(conn, "SELECT seq FROM feed_position WHERE kind = 'feed' AND name = 'auditor'") ==
      std::to_string(kLogEvents));
}

BOOST_AUTO_TEST_CASE(followers_under_concurrent_appenders_never_skip_or_reorder) {
  // Proves: while four appenders write concurrently, a following publisher and a following durable
  // consumer deliver positions 1..N exactly once and in order (the log's positions become visible
  // in order); both stop cleanly on SIGTERM.
  const std::string conn = testing::FreshDatabase();
  testing::NatsServer nats;
  TempDir dir;
  ProcessSpec publisher;
  publisher.argv = {LedgerBinary(),     "--db",        conn,       "publish",
                    "--nats",           nats.url(),    "--stream", "LIVE",
                    "--subject-prefix", "live.events", "--follow"};
  publisher.stdout_path = dir / "publisher.out";
  publisher.stderr_path = dir / "publisher.err";
  ProcessSpec consumer;
  consumer.argv = {LedgerBinary(), "--db", conn, "feed", "--consumer", "odds", "--follow"};
  consumer.stdout_path = dir / "consumer.out";
  consumer.stderr_path = dir / "consumer.err";
  const pid_t publisher_pid = testing::Spawn(publisher);
  const pid_t consumer_pid = testing::Spawn(consumer);

  std::vector<std::thread> appenders;
  for (int i = 0; i < 4; ++i) {
    appenders.emplace_back([&, i] {
      // Distinct seeds: wallet unflags are identified by (wallet, time), which one seed repeats.
      AppendGenerated(conn, dir, "writer" + std::to_string(i), 5000, "w" + std::to_string(i) + "-",
                      i + 1);
    });
  }
  for (std::thread& t : appenders) t.join();
  const int64_t head = std::stoll(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")"));
  BOOST_REQUIRE_EQUAL(head, 20000);
  auto caught_up = [&] {
    return Scalar(conn, "SELECT count(*) FROM feed_position WHERE seq = " + std::to_string(head)) ==
           "2";
  };
  for (int waited = 0; !caught_up(); waited += 100) {
    BOOST_REQUIRE_MESSAGE(waited < kCatchUpWaitMs,
                          "followers did not catch up: " << ReadFile(dir / "publisher.err")
                                                         << ReadFile(dir / "consumer.err"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(publisher_pid, SIGTERM);
  kill(consumer_pid, SIGTERM);
  BOOST_TEST(testing::Wait(publisher_pid) == 0, ReadFile(dir / "publisher.err"));
  BOOST_TEST(testing::Wait(consumer_pid) == 0, ReadFile(dir / "consumer.err"));

  const std::vector<int64_t> seqs = FeedSeqs(ReadFile(dir / "consumer.out"));
  BOOST_REQUIRE_EQUAL(seqs.size(), static_cast<size_t>(head));
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (seqs[i] != static_cast<int64_t>(i) + 1) {
      BOOST_ERROR("delivery " << i << " is position " << seqs[i]);
      break;
    }
  }
  ExpectStreamHoldsTheLogInOrder(nats.url(), "LIVE", "live.events", head);
}

BOOST_AUTO_TEST_CASE(subjects_escape_what_nats_would_split_or_match) {
  // Proves: market ids with '.', '*', '>', spaces or non-ASCII bytes give one literal token each,
  // distinct ids give distinct subjects, and bad stream names and prefixes are refused.
  BOOST_TEST(SubjectFor("ledger", "eden-haus_1", "PLACED") == "ledger.eden-haus_1.PLACED");
  BOOST_TEST(SubjectFor("a.b", "x.y", "MARKET_CLOSED") == "a.b.x%2Ey.MARKET_CLOSED");
  BOOST_TEST(SubjectFor("p", "*>", "FLAGGED") == "p.%2A%3E.FLAGGED");
  BOOST_TEST(SubjectFor("p", "\xc3\xa9", "FLAGGED") == "p.%C3%A9.FLAGGED");
  BOOST_TEST(SubjectFor("p", "x%2E", "FLAGGED") != SubjectFor("p", "x.", "FLAGGED"));
  PublishOptions options;
  options.nats_url = "nats://127.0.0.1:4222";
  BOOST_TEST(ValidatePublishOptions(options).ok());
  for (const char* bad : {"", "a.b", "a b", "a*"}) {
    options.stream = bad;
    BOOST_TEST(!ValidatePublishOptions(options).ok(), bad);
  }
  options.stream = "LEDGER";
  for (const char* bad : {"", ".a", "a.", "a..b", "a.>", "a.*"}) {
    options.subject_prefix = bad;
    BOOST_TEST(!ValidatePublishOptions(options).ok(), bad);
  }
}

BOOST_AUTO_TEST_CASE(publisher_rides_out_the_stream_leader_and_another_node_killed_in_a_cluster) {
  // Proves the clustered JetStream: `publish --follow --replicas 3` against three clustered
  // nats-servers, under a live append, while the stream's leader is killed (SIGKILL) and restarted,
  // then the node leading after it: publishing goes on through the surviving quorum each time,
  // and the stream ends with every log position once, in order, read back by a consumer.
  const std::string conn = testing::FreshDatabase();
  TempDir dir;
  // The live append: chunks of kChunkEvents (each its own generated stream) until the kills are
  // over, at most kChunksMax.
  constexpr int kChunksMax = 200;
  constexpr int64_t kChunkEvents = 150;
  testing::NatsCluster nats;
  const pid_t publisher = testing::Spawn(testing::LedgerSpec(
      conn, {"publish", "--nats", nats.urls(), "--replicas", "3", "--follow"}, dir, "publish"));
  std::atomic<bool> keep_appending{true};
  std::atomic<int> chunks_done{0}, append_failures{0};
  std::thread appender([&] {  // No Boost.Test macros off the main thread.
    for (int i = 0; i < kChunksMax && keep_appending.load(); ++i) {
      const std::string tag = "live-" + std::to_string(i);
      ProcessSpec gen;
      gen.argv = {LedgerBinary(), "generate",
                  "--events",     std::to_string(kChunkEvents),
                  "--seed",       std::to_string(60 + i),
                  "--id-prefix",  "c" + std::to_string(i) + "-"};
      gen.stdout_path = dir / (tag + ".jsonl");
      if (testing::Run(gen) != 0 ||
          testing::Run(testing::AppendSpec(conn, dir / (tag + ".jsonl"), dir, tag)) != 0) {
        append_failures.fetch_add(1);
      }
      chunks_done.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const auto published = [&] {
    return static_cast<int64_t>(testing::StreamState(nats.urls(), "LEDGER").first);
  };
  // Waits until the stream has grown by `events` (true), or the append is over and the stream
  // has caught up (false).
  const auto wait_for_progress = [&](int64_t events, const std::string& what) {
    const int64_t from = published();
    for (int waited = 0; waited < kCatchUpWaitMs; waited += 50) {
      const int64_t now = published();
      if (now >= from + events) return true;
      if (chunks_done.load() == kChunksMax &&
          now == std::stoll(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")"))) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    BOOST_FAIL("the stream did not grow by " << events << " " << what << ": "
                                             << ReadFile(dir / "publish.err"));
    return false;
  };
  wait_for_progress(300, "before the first kill");
  int leader = -1;
  for (int tries = 0; tries < 100 && leader < 0; ++tries) {
    leader = nats.StreamLeader("LEDGER");
    if (leader < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_REQUIRE_GE(leader, 0);
  nats.Kill(leader);
  // The point of the test: the stream grows while its leader is dead (live appends still coming).
  BOOST_TEST(wait_for_progress(300, "with the first leader dead"));
  nats.Restart(leader);
  const auto wait_until_healthy = [&](const std::string& when) {
    for (int waited = 0; !nats.StreamHealthy("LEDGER"); waited += 100) {
      BOOST_REQUIRE_MESSAGE(waited < kCatchUpWaitMs,
                            "the stream's replicas did not catch up " << when);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  wait_until_healthy("after the first restart");
  wait_for_progress(300, "after the first leader came back");
  int second = nats.StreamLeader("LEDGER");
  if (second < 0 || second == leader) second = (leader + 1) % testing::NatsCluster::kNodes;
  nats.Kill(second);
  BOOST_TEST(wait_for_progress(300, "with a second node dead"));
  nats.Restart(second);
  keep_appending = false;
  appender.join();
  BOOST_TEST(append_failures.load() == 0);
  const int64_t rows = std::stoll(Scalar(conn, R"(SELECT count(*) FROM "BetHistory")"));
  BOOST_TEST(rows == chunks_done.load() * kChunkEvents);
  for (int waited = 0; published() < rows && waited < kCatchUpWaitMs; waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(publisher, SIGTERM);
  BOOST_TEST(testing::Wait(publisher) == 0, ReadFile(dir / "publish.err"));
  wait_until_healthy("after the second restart");
  ExpectStreamHoldsTheLogInOrder(nats.urls(), "LEDGER", "ledger", rows, "risk-service");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
