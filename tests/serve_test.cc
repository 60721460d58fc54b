// Specification of `ledger serve` as a process on real sockets and a real PostgreSQL: every route,
// status and result kind; the same verdicts and tables as `ledger append` for the same stream;
// token roles; hostile HTTP; SIGTERM; kill -9 under concurrent retrying clients.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/time_format.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/serve_process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

namespace json = boost::json;
using testing::DumpProjections;
using testing::FreshDatabase;
using testing::HttpClient;
using testing::HttpReply;
using testing::ReadFile;
using testing::Scalar;
using testing::ServeProcess;
using testing::TempDir;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view l : absl::StrSplit(text, '\n', absl::SkipEmpty())) out.emplace_back(l);
  return out;
}

const char kMarket[] =
    R"({"action":"MARKET_CREATED","createdAt":"2026-01-15T00:00:00Z","marketId":"m1",)"
    R"("question":"Will it rain?","startDate":"2026-01-15T00:00:00Z","endDate":"2030-01-01T00:00:00Z",)"
    R"("contractAddress":"0x8eae8949000b53c91a38f74b3ab18a7514ec235c",)"
    R"("gnosisSafeAddress":"0x000dbaffe2b44167b769bfc0f5df2a8ce37f9531"})";

std::string Placed(const std::string& bet, const std::string& wallet, int number,
                   int64_t amount = 5000000, const std::string& market = "m1") {
  return absl::StrCat(R"({"action":"PLACED","createdAt":"2026-01-16T00:00:00Z","betId":")", bet,
                      R"(","marketId":")", market, R"(","wallet":")", wallet,
                      R"(","choice":"YES","amount":)", amount, R"(,"betNumber":)", number, "}");
}

std::string Confirmed(const std::string& bet) {
  return absl::StrCat(R"({"action":"CONFIRMED","createdAt":"2026-01-16T00:01:00Z","betId":")", bet,
                      R"("})");
}

const std::string kWalletA = "0x1111111111111111111111111111111111111111";
const std::string kWalletB = "0x2222222222222222222222222222222222222222";

// The result of the only event of a reply.
json::object Only(const HttpReply& r) {
  return r.Json().as_object().at("results").as_array().at(0).as_object();
}

// The value of metric `name` on a /metrics page, as written; empty when it is not there.
std::string MetricValue(const std::string& page, const std::string& name) {
  const size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  const size_t from = at + name.size() + 2;
  return page.substr(from, page.find('\n', from) - from);
}

// Waits until the service's projections have caught up with its head (ledger_projection_lag_events
// 0 on /metrics, their fold at the head), at most 30 s.
void WaitForProjections(HttpClient& client) {
  for (int i = 0; i < 300; ++i) {
    const std::string m = client.Get("/metrics").body;
    if (MetricValue(m, "ledger_projection_lag_events") == "0") {
      BOOST_TEST(MetricValue(m, "ledger_projection_folded_seq") ==
                 MetricValue(m, "ledger_head_seq"));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_FAIL("the service's projections did not catch up");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(serve)

BOOST_AUTO_TEST_CASE(every_route_answers_with_its_status_and_result_kind) {
  // Proves the API of docs/api.md route by route: 201 accepted, 200 duplicate (with the seq and
  // hash of the event already in the log), 409 conflict, 422 rule, 400 malformed, 415, 404, 405,
  // and the reads of the fold (bet with its seqs, market statistics, a wallet's bets, paged).
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(conn, dir);
  HttpClient c(serve.port());

  HttpReply market = c.Post("/v1/events", kMarket);
  BOOST_TEST(market.status == 201);
  BOOST_TEST(Only(market).at("status").as_string() == "accepted");
  BOOST_TEST(Only(market).at("seq").as_int64() == 1);
  const std::string market_hash(Only(market).at("hash").as_string());

  HttpReply again = c.Post("/v1/events", kMarket);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(Only(again).at("status").as_string() == "duplicate");
  BOOST_TEST(Only(again).at("seq").as_int64() == 1);
  BOOST_TEST(Only(again).at("hash").as_string() == market_hash);

  BOOST_TEST(c.Post("/v1/events", Placed("b1", kWalletA, 1)).status == 201);
  HttpReply conflict = c.Post("/v1/events", Placed("b1", kWalletA, 1, 7000000));
  BOOST_TEST(conflict.status == 409);
  BOOST_TEST(Only(conflict).at("code").as_string() == "IDENTITY_CONFLICT");
  HttpReply rule = c.Post("/v1/events", Placed("b2", kWalletA, 2, 5000000, "nowhere"));
  BOOST_TEST(rule.status == 422);
  BOOST_TEST(Only(rule).at("code").as_string() == "MARKET_NOT_FOUND");
  HttpReply malformed = c.Post("/v1/events", R"({"action": )");
  BOOST_TEST(malformed.status == 400);
  BOOST_TEST(Only(malformed).at("code").as_string() == "MALFORMED_JSON");
  BOOST_TEST(c.Post("/v1/events", kMarket, "text/plain").status == 415);
  BOOST_TEST(c.Post("/v1/events?atomic=yes", kMarket).status == 400);

  // An array: one result per element, in order, whatever each one's fate.
  HttpReply batch =
      c.Post("/v1/events", absl::StrCat("[", Confirmed("b1"), ",", Placed("b3", kWalletB, 1), ",",
                                        Confirmed("b3"), ",", Confirmed("nope"), "]"));
  BOOST_TEST(batch.status == 200);
  const json::value batch_json = batch.Json();
  const json::array& results = batch_json.as_object().at("results").as_array();
  BOOST_REQUIRE(results.size() == 4u);
  BOOST_TEST(results[0].as_object().at("seq").as_int64() == 3);
  BOOST_TEST(results[2].as_object().at("seq").as_int64() == 5);
  BOOST_TEST(results[3].as_object().at("code").as_string() == "BET_NOT_FOUND");
  BOOST_TEST(results[3].as_object().at("line").as_int64() == 4);

  json::object head = c.Get("/v1/head").Json().as_object();
  BOOST_TEST(head.at("seq").as_int64() == 5);
  BOOST_TEST(head.at("recordedAt").is_string());
  json::object row = c.Get("/v1/events/1").Json().as_object();
  BOOST_TEST(row.at("hash").as_string() == market_hash);
  BOOST_TEST(row.at("marketId").as_string() == "m1");
  BOOST_TEST(c.Get("/v1/events/99").status == 404);
  BOOST_TEST(c.Get("/v1/events/x").status == 400);
  json::object page = c.Get("/v1/events?after=1&limit=2").Json().as_object();
  BOOST_TEST(page.at("events").as_array().size() == 2u);
  BOOST_TEST(page.at("next").as_int64() == 3);

  json::object bet = c.Get("/v1/bets/b1").Json().as_object();
  BOOST_TEST(bet.at("status").as_string() == "CONFIRMED");
  BOOST_TEST(json::serialize(bet.at("seqs")) == "[2,3]");
  BOOST_TEST(c.Get("/v1/bets/none").status == 404);
  json::object stats = c.Get("/v1/markets/m1").Json().as_object();
  BOOST_TEST(stats.at("yesPool").as_int64() == 10000000);
  BOOST_TEST(stats.at("totalPool").as_int64() == 10000000);
  BOOST_TEST(stats.at("yesPercent").as_string() == "100.0");
  BOOST_TEST(stats.at("totalBets").as_int64() == 2);
  BOOST_TEST(stats.at("uniqueWallets").as_int64() == 2);
  json::object wallet = c.Get("/v1/wallets/" + kWalletB + "/bets?limit=1").Json().as_object();
  BOOST_TEST(wallet.at("bets").as_array().size() == 1u);
  BOOST_TEST(wallet.at("bets").as_array()[0].as_object().at("betId").as_string() == "b3");
  BOOST_TEST(c.Get("/v1/wallets/" + kWalletB + "/bets?limit=0").status == 400);

  json::object by_id = c.Get("/v1/events?eventId=nothing").Json().as_object();
  BOOST_TEST(by_id.at("error").as_string() == "NOT_FOUND");
  BOOST_TEST(c.Get("/nowhere").status == 404);
  HttpReply wrong = c.Send("DELETE", "/v1/head", "", {});
  BOOST_TEST(wrong.status == 405);
  BOOST_TEST(wrong.headers["allow"] == "GET, OPTIONS");
  BOOST_TEST(c.Get("/healthz/live").status == 200);
  BOOST_TEST(c.Get("/healthz/ready").Json().as_object().at("headSeq").as_int64() == 5);
  HttpReply echoed = c.Get("/v1/head", {{"X-Request-Id", "req-42"}});
  BOOST_TEST(echoed.headers["x-request-id"] == "req-42");
  BOOST_TEST(c.Get("/v1/head").headers["x-request-id"].size() == 24u);

  const std::string metrics = c.Get("/metrics").body;
  BOOST_TEST(metrics.find("ledger_events_total{result=\"accepted\"} 5") != std::string::npos);
  BOOST_TEST(metrics.find("ledger_rejections_total{code=\"BET_NOT_FOUND\"} 1") !=
             std::string::npos);
  BOOST_TEST(metrics.find("ledger_head_seq 5") != std::string::npos);
  // After the first, the batches went in one round trip; nobody else moved the head.
  BOOST_TEST(metrics.find("ledger_one_trip_batches_total 0") == std::string::npos, metrics);
  BOOST_TEST(metrics.find("ledger_one_trip_fallbacks_total 0") != std::string::npos, metrics);
  BOOST_TEST(serve.Terminate() == 0);
  // The access log: one JSON line per request, with its id.
  BOOST_TEST(serve.Stderr().find("\"requestId\":\"req-42\"") != std::string::npos);
}

// Every row of the log, read through the unfiltered pages (the oracle for the look-ups below).
std::vector<json::object> WholeLog(HttpClient& c) {
  std::vector<json::object> rows;
  for (int64_t after = 0;;) {
    json::object page =
        c.Get(absl::StrCat("/v1/events?after=", after, "&limit=1000")).Json().as_object();
    for (const json::value& row : page.at("events").as_array()) rows.push_back(row.as_object());
    if (page.at("next").is_null()) return rows;
    after = page.at("next").as_int64();
  }
}

// The seqs a filtered look-up gives, following `next` through pages of 37.
std::vector<int64_t> LookUp(HttpClient& c, const std::string& query) {
  std::vector<int64_t> seqs;
  for (int64_t after = 0;;) {
    HttpReply r = c.Get(absl::StrCat("/v1/events?", query, "&limit=37&after=", after));
    BOOST_TEST_REQUIRE(r.status == 200, query << ": " << r.body);
    json::object page = r.Json().as_object();
    for (const json::value& row : page.at("events").as_array()) {
      seqs.push_back(row.as_object().at("seq").as_int64());
    }
    if (page.at("next").is_null()) return seqs;
    after = page.at("next").as_int64();
  }
}

std::string Field(const json::object& row, const char* name) {
  const json::value* v = row.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

BOOST_AUTO_TEST_CASE(event_look_ups_by_bet_market_wallet_action_and_time_agree_with_the_log) {
  // The audit's look-ups (schema/009's indexes, docs/indexes.md): each filter of GET /v1/events,
  // alone and combined, paged, gives exactly the rows of the whole log that match, in log order.
  TempDir dir;
  const std::string conn = FreshDatabase();
  testing::Generate(dir / "in.jsonl",
                    {"--events", "3000", "--seed", "43", "--markets", "5", "--wallets", "40"});
  BOOST_REQUIRE(testing::Run(testing::AppendSpec(conn, dir / "in.jsonl", dir, "a")) == 0);
  ServeProcess serve(conn, dir, {"--no-projections"});
  HttpClient c(serve.port());
  const std::vector<json::object> log = WholeLog(c);
  BOOST_REQUIRE(log.size() == 3000u);
  std::map<std::string, int> per_bet, per_market, per_wallet;
  for (const json::object& row : log) {
    ++per_bet[Field(row, "betId")];
    ++per_market[Field(row, "marketId")];
    ++per_wallet[Field(row, "wallet")];
  }
  auto busiest = [](std::map<std::string, int> counts) {
    counts.erase("");
    return std::max_element(counts.begin(), counts.end(),
                            [](const auto& a, const auto& b) { return a.second < b.second; })
        ->first;
  };
  const std::string bet = busiest(per_bet), market = busiest(per_market),
                    wallet = busiest(per_wallet);
  const std::string since = Field(log[1000], "createdAt"), before = Field(log[2000], "createdAt");
  const TimeMicros t0 = *ParseRfc3339(since), t1 = *ParseRfc3339(before);
  auto expect = [&](const std::function<bool(const json::object&)>& keep) {
    std::vector<int64_t> seqs;
    for (const json::object& row : log) {
      if (keep(row)) seqs.push_back(row.at("seq").as_int64());
    }
    return seqs;
  };
  auto in_time = [&](const json::object& row) {
    const TimeMicros t = *ParseRfc3339(Field(row, "createdAt"));
    return t >= t0 && t < t1;
  };
  const std::vector<std::pair<std::string, std::function<bool(const json::object&)>>> cases = {
      {"bet=" + bet, [&](const json::object& r) { return Field(r, "betId") == bet; }},
      {"market=" + market, [&](const json::object& r) { return Field(r, "marketId") == market; }},
      {"wallet=" + wallet, [&](const json::object& r) { return Field(r, "wallet") == wallet; }},
      {"action=CLAWED_BACK,REFUNDED",
       [&](const json::object& r) {
         return Field(r, "action") == "CLAWED_BACK" || Field(r, "action") == "REFUNDED";
       }},
      {"since=" + since + "&before=" + before, in_time},
      {"market=" + market + "&since=" + since + "&before=" + before,
       [&](const json::object& r) { return Field(r, "marketId") == market && in_time(r); }},
      {"wallet=" + wallet + "&action=PLACED",
       [&](const json::object& r) {
         return Field(r, "wallet") == wallet && Field(r, "action") == "PLACED";
       }},
  };
  for (const auto& [query, keep] : cases) {
    const std::vector<int64_t> want = expect(keep);
    BOOST_TEST(want.size() >= 3u, query);  // Every case selects something, most several pages.
    BOOST_TEST(LookUp(c, query) == want, query);
  }
  BOOST_TEST(per_market[market] > 37 * 3);
  for (const std::string bad : {"since=yesterday", "action=NOPE", "market=", "before=2026-13-01"}) {
    HttpReply r = c.Get("/v1/events?" + bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(r.Json().as_object().at("error").as_string() == "BAD_PARAMETER", bad);
  }
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_CASE(an_atomic_request_is_applied_whole_or_not_at_all) {
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(conn, dir, {"--no-projections"});
  HttpClient c(serve.port());
  BOOST_REQUIRE(c.Post("/v1/events", kMarket).status == 201);
  auto rows = [&conn] { return Scalar(conn, "SELECT count(*) FROM \"BetHistory\""); };
  auto results = [](const HttpReply& r) { return r.Json().as_object().at("results").as_array(); };

  // A placement, its confirmation, and a bet on a market that does not exist: nothing applied, the
  // third event named, the status its own.
  HttpReply refused = c.Post("/v1/events?atomic=true",
                             absl::StrCat("[", Placed("b1", kWalletA, 1), ",", Confirmed("b1"), ",",
                                          Placed("b2", kWalletA, 2, 5000000, "nowhere"), "]"));
  BOOST_TEST(refused.status == 422, refused.body);
  BOOST_TEST(!refused.Json().as_object().at("applied").as_bool());
  BOOST_TEST(results(refused)[0].at("code").as_string() == "ATOMIC_REQUEST_REJECTED");
  BOOST_TEST(results(refused)[1].at("code").as_string() == "ATOMIC_REQUEST_REJECTED");
  BOOST_TEST(results(refused)[2].at("code").as_string() == "MARKET_NOT_FOUND");
  BOOST_TEST(std::string(results(refused)[0].at("message").as_string()).find("line 3") !=
             std::string::npos);
  BOOST_TEST(rows() == "1");
  BOOST_TEST(c.Get("/v1/bets/b1").status == 404);  // Not even in the service's own fold.

  // Without the bad event, both are applied at consecutive positions; sent again, duplicates.
  const std::string good = absl::StrCat("[", Placed("b1", kWalletA, 1), ",", Confirmed("b1"), "]");
  HttpReply applied = c.Post("/v1/events?atomic=true", good);
  BOOST_TEST(applied.status == 200, applied.body);
  BOOST_TEST(applied.Json().as_object().at("applied").as_bool());
  BOOST_TEST(results(applied)[0].at("seq").as_int64() == 2);
  BOOST_TEST(results(applied)[1].at("seq").as_int64() == 3);
  HttpReply again = c.Post("/v1/events?atomic=true", good);
  BOOST_TEST(again.status == 200);
  BOOST_TEST(again.Json().as_object().at("applied").as_bool());
  BOOST_TEST(results(again)[1].at("status").as_string() == "duplicate");

  // A conflicting identity inside: 409, and the new bet before it is not applied either.
  HttpReply conflict = c.Post(
      "/v1/events?atomic=true",
      absl::StrCat("[", Placed("b4", kWalletB, 1), ",", Placed("b1", kWalletA, 1, 7000000), "]"));
  BOOST_TEST(conflict.status == 409, conflict.body);
  BOOST_TEST(results(conflict)[0].at("code").as_string() == "ATOMIC_REQUEST_REJECTED");
  BOOST_TEST(rows() == "3");
  BOOST_TEST(c.Get("/v1/bets/b4").status == 404);
  // b4 was taken back whole: placed now on its own, it gets the next position.
  HttpReply b4 = c.Post("/v1/events", Placed("b4", kWalletB, 1));
  BOOST_TEST(b4.status == 201);
  BOOST_TEST(Only(b4).at("seq").as_int64() == 4);
  BOOST_TEST(serve.Terminate() == 0);
  testing::VerifyChain(conn, 4);
}

BOOST_AUTO_TEST_CASE(with_tls_flags_the_service_speaks_only_https) {
  // --tls-cert/--tls-key: a real TLS client (curl, verifying the certificate) places a bet and
  // reads it back; plain HTTP on the same port is answered with nothing and changes nothing; a bad
  // pair of files stops the start with an error naming the file and never its contents.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  testing::ProcessSpec make_cert;
  make_cert.argv = {"/usr/bin/openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-days",
                    "2",
                    "-keyout",
                    key,
                    "-out",
                    cert};
  BOOST_REQUIRE(testing::Run(make_cert) == 0);
  ServeProcess serve(conn, dir, {"--no-projections", "--tls-cert", cert, "--tls-key", key});
  BOOST_TEST(serve.ready().at("tls").as_bool());
  const std::string url = absl::StrCat("https://127.0.0.1:", serve.port());
  auto curl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--cacert",    cert, "-o",
                                     dir / "body",    "-w",  "%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::ProcessSpec spec;
    spec.argv = argv;
    spec.stdout_path = dir / "code";
    spec.stderr_path = dir / "curl.err";
    const int rc = testing::Run(spec);
    BOOST_TEST(rc == 0, ReadFile(dir / "curl.err"));
    return std::make_pair(ReadFile(dir / "code"), ReadFile(dir / "body"));
  };
  auto [code, body] = curl({"-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
                            kMarket, url + "/v1/events"});
  BOOST_TEST(code == "201", body);
  BOOST_TEST(body.find(R"("status":"accepted")") != std::string::npos, body);
  std::tie(code, body) = curl({url + "/v1/head"});
  BOOST_TEST(code == "200");
  BOOST_TEST(json::parse(body).at("seq").as_int64() == 1, body);

  HttpClient plain(serve.port());
  BOOST_TEST(plain.Post("/v1/events", Placed("b1", kWalletA, 1)).status == 0);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "1");
  BOOST_TEST(serve.Terminate() == 0);

  // The certificate given as the key: refused, the file named, no PEM text in the message.
  testing::ProcessSpec bad;
  bad.argv = {testing::LedgerBinary(), "--db",       conn, "serve",     "--listen",
              "127.0.0.1:0",           "--tls-cert", cert, "--tls-key", cert};
  bad.stderr_path = dir / "bad.err";
  BOOST_TEST(testing::Run(bad) != 0);
  const std::string bad_err = ReadFile(dir / "bad.err");
  BOOST_TEST(bad_err.find("TLS private key") != std::string::npos, bad_err);
  BOOST_TEST(bad_err.find(cert) != std::string::npos, bad_err);
  BOOST_TEST(bad_err.find("BEGIN") == std::string::npos, bad_err);
  bad.argv = {testing::LedgerBinary(), "--db", conn, "serve", "--tls-cert", cert};
  BOOST_TEST(testing::Run(bad) == 2);
  BOOST_TEST(ReadFile(dir / "bad.err").find("go together") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(posting_a_stream_gives_the_verdicts_and_tables_of_ledger_append) {
  // Proves the service and `ledger append` are one engine: the generated stream, with its bad and
  // repeated lines, posted one event per request and as JSON Lines batches, gets the same result
  // per line (status, code, seq, hash) as `append --results`, and the projections the service
  // keeps current equal the tables `ledger append --inline` writes.
  TempDir dir;
  const std::string stream = testing::GeneratedStream(600, 11, 37, 23);
  std::ofstream(dir / "in.jsonl") << stream;
  const std::string reference = FreshDatabase();
  BOOST_TEST(testing::Run(testing::AppendSpec(reference, dir / "in.jsonl", dir, "a",
                                              {"--inline", "--results", dir / "a.results"})) == 1);
  std::vector<json::object> expected;
  for (const std::string& l : Lines(ReadFile(dir / "a.results"))) {
    expected.push_back(json::parse(l).as_object());
  }
  const std::vector<std::string> events = Lines(stream);
  BOOST_REQUIRE(expected.size() == events.size());

  // Hashes differ between the two logs (each row's recordedAt is its own server's clock); each is
  // checked against its own log below.
  auto same = [&](const json::object& got, const json::object& want, size_t i) {
    for (const char* field : {"status", "code", "seq"}) {
      BOOST_TEST(json::serialize(got.at(field)) == json::serialize(want.at(field)),
                 "line " << i + 1 << " field " << field);
    }
    BOOST_TEST(got.at("hash").is_null() == want.at("hash").is_null(), "line " << i + 1);
  };
  for (const bool batched : {false, true}) {
    const std::string conn = FreshDatabase();
    ServeProcess serve(conn, dir, {}, batched ? "batched" : "single");
    HttpClient c(serve.port());
    std::map<int64_t, std::string> acked;  // seq -> hash, as answered.
    size_t i = 0;
    while (i < events.size()) {
      const size_t n = batched ? std::min<size_t>(50, events.size() - i) : 1;
      std::vector<std::string> chunk(events.begin() + static_cast<long>(i),
                                     events.begin() + static_cast<long>(i + n));
      HttpReply r = batched
                        ? c.Post("/v1/events", absl::StrJoin(chunk, "\n"), "application/x-ndjson")
                        : c.Post("/v1/events", chunk[0]);
      BOOST_REQUIRE_MESSAGE(r.status == 200 || r.status == 201 || r.status == 409 ||
                                r.status == 422 || r.status == 400,
                            "status " << r.status << ": " << r.body);
      const json::value reply = r.Json();
      const json::array& got = reply.as_object().at("results").as_array();
      BOOST_REQUIRE(got.size() == n);
      for (size_t k = 0; k < n; ++k) {
        same(got[k].as_object(), expected[i + k], i + k);
        if (got[k].as_object().at("seq").is_int64()) {
          acked[got[k].as_object().at("seq").as_int64()] =
              std::string(got[k].as_object().at("hash").as_string());
        }
      }
      i += n;
    }
    WaitForProjections(c);
    BOOST_TEST(serve.Terminate() == 0);
    for (const auto& [seq, hash] : acked) {
      BOOST_TEST(Scalar(conn, absl::StrCat("SELECT hash FROM \"BetHistory\" WHERE seq = ", seq)) ==
                 hash);
    }
    BOOST_TEST(DumpProjections(conn) == DumpProjections(reference));
  }
}

BOOST_AUTO_TEST_CASE(tokens_give_each_role_its_routes_and_nothing_else) {
  // Proves --tokens: 401 without or with an unknown token, 403 for the wrong role, and each role's
  // routes; health checks need no token; no token appears in the logs; and without a tokens file
  // the service refuses to listen beyond loopback.
  TempDir dir;
  const std::string conn = FreshDatabase();
  const std::string writer(40, 'w'), reader(40, 'r'), auditor(40, 'u');
  std::ofstream(dir / "tokens") << "# roles\nwriter " << writer << "\nreader " << reader
                                << "\nauditor " << auditor << "\n";
  ServeProcess serve(conn, dir, {"--tokens", dir / "tokens"});
  HttpClient c(serve.port());
  auto bearer = [](const std::string& t) {
    return std::map<std::string, std::string>{{"Authorization", "Bearer " + t}};
  };
  BOOST_TEST(c.Get("/v1/head").status == 401);
  BOOST_TEST(c.Get("/v1/head", bearer(std::string(40, 'x'))).status == 401);
  BOOST_TEST(c.Get("/healthz/live").status == 200);
  BOOST_TEST(c.Post("/v1/events", kMarket, "application/json", bearer(reader)).status == 403);
  BOOST_TEST(c.Post("/v1/events", kMarket, "application/json", bearer(auditor)).status == 403);
  BOOST_TEST(c.Post("/v1/events", kMarket, "application/json", bearer(writer)).status == 201);
  for (const std::string* t : {&writer, &reader, &auditor}) {
    BOOST_TEST(c.Get("/v1/markets/m1", bearer(*t)).status == 200);
  }
  BOOST_TEST(c.Get("/metrics", bearer(reader)).status == 403);
  BOOST_TEST(c.Get("/metrics", bearer(writer)).status == 403);
  BOOST_TEST(c.Get("/metrics", bearer(auditor)).status == 200);
  BOOST_TEST(serve.Terminate() == 0);
  const std::string log = serve.Stderr();
  BOOST_TEST(log.find(writer) == std::string::npos);
  BOOST_TEST(log.find(reader) == std::string::npos);

  testing::ProcessSpec open =
      testing::LedgerSpec(conn, {"serve", "--listen", "0.0.0.0:0"}, dir, "open");
  BOOST_TEST(testing::Run(open) == 2);
  BOOST_TEST(ReadFile(dir / "open.err").find("loopback") != std::string::npos);
  std::ofstream(dir / "short") << "writer abc\n";
  BOOST_TEST(testing::Run(testing::LedgerSpec(conn, {"serve", "--tokens", dir / "short"}, dir,
                                              "short")) == 2);
  BOOST_TEST(ReadFile(dir / "short.err").find("line 1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(python_client_places_and_reads_bets) {
  // Proves the Python client (clients/python/, standard library only) against the real service:
  // place, confirm, flag, claw back and refund bets, read them back, and a retried append that is
  // a duplicate with the same seq and hash (the script checks each step and exits 1 on the first
  // failure).
  TempDir dir;
  const std::string conn = FreshDatabase();
  ServeProcess serve(conn, dir);
  testing::ProcessSpec python;
  python.argv = {"/usr/bin/python3",
                 std::string(LEDGER_SOURCE_DIR) + "/clients/python/tests/integration_test.py",
                 absl::StrCat("http://127.0.0.1:", serve.port())};
  python.stdout_path = dir / "python.out";
  python.stderr_path = dir / "python.err";
  const int code = testing::Run(python);
  BOOST_TEST(code == 0, ReadFile(dir / "python.err"));
  BOOST_TEST(ReadFile(dir / "python.out").find("all checks passed") != std::string::npos);
  BOOST_TEST(Scalar(conn, "SELECT count(*) FROM \"BetHistory\"") == "8");
  BOOST_TEST(serve.Terminate() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
