// Specification of the output contract (docs/cli.md "Output contract") over every command that
// prints JSON, run as a process on a real database: each line of output (and of the --rejects and
// --results files) is strict JSON in valid UTF-8; no number has a fraction or an exponent (money is
// integers of micro-USDT); every time is RFC 3339 UTC with "Z" or null; every duration is an
// integer with its unit in its name; an absent value is null, never "" or 0 standing in for it.
// The input carries multibyte values cut at every byte of their characters, so that a message
// which cuts a long value must cut it on a character boundary.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "engine/pg/sql_session.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/serve_process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::ReadFile;
using testing::TempDir;

// What a key's name says its value is (the contract is kept by naming: docs/cli.md).
const std::regex kTimeKey("(At|Date|^timestamp|^eventTime)$");
const std::regex kAmountKey(
    "(amount|Amount|Pool|Micros|^stake|^payout|Stakes|^paid|^breakage|^net)$");
const std::regex kDurationKey("(Ms|Seconds)$");
const std::regex kRfc3339Utc(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$)");

// Every breach of the contract in `v`, named by its JSON path.
void Check(const boost::json::value& v, const std::string& path, std::vector<std::string>* bad) {
  if (v.is_double()) bad->push_back(path + ": a number with a fraction or an exponent");
  if (v.is_string() && v.as_string().empty()) bad->push_back(path + ": \"\" for an absent value");
  if (v.is_array()) {
    size_t i = 0;
    for (const boost::json::value& x : v.as_array())
      Check(x, path + "[" + std::to_string(i++) + "]", bad);
  }
  if (!v.is_object()) return;
  for (const auto& [key_view, x] : v.as_object()) {
    const std::string key(key_view);
    const std::string at = path + "." + key;
    if (std::regex_search(key, kTimeKey) && !x.is_null() &&
        !(x.is_string() && std::regex_match(std::string(x.as_string()), kRfc3339Utc))) {
      bad->push_back(at + ": not an RFC 3339 UTC time: " + boost::json::serialize(x));
    }
    if (std::regex_search(key, kAmountKey) && !x.is_null() && !x.is_int64()) {
      bad->push_back(at + ": not an integer of micro-USDT: " + boost::json::serialize(x));
    }
    if (std::regex_search(key, kDurationKey) && !x.is_int64()) {
      bad->push_back(at + ": a duration that is not an integer: " + boost::json::serialize(x));
    }
    Check(x, at, bad);
  }
}

// Checks every line of `text` (one JSON value a line); returns how many lines it read.
int CheckLines(const std::string& what, const std::string& text) {
  std::istringstream in(text);
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    boost::json::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);  // Refuses invalid UTF-8.
    BOOST_TEST_REQUIRE(!ec, what << " line " << lines << ": " << ec.message() << ": " << line);
    std::vector<std::string> bad;
    Check(v, "$", &bad);
    for (const std::string& b : bad) BOOST_TEST_ERROR(what << " line " << lines << ": " << b);
  }
  return lines;
}

// Placements whose wallets are Cyrillic look-alikes long enough to be cut in the message: shifted
// by 0 to 3 bytes, the cut lands on every byte of a 2-byte character.
std::string MultibyteLines() {
  std::string out;
  for (int shift = 0; shift < 4; ++shift) {
    std::string wallet = "0x" + std::string(static_cast<size_t>(shift), 'f');
    for (int i = 0; i < 60; ++i) wallet += "\xD0\xB0";
    out += R"({"action":"PLACED","betId":"mb-)" + std::to_string(shift) +
           R"(","marketId":"market-0001","wallet":")" + wallet +
           R"(","choice":"YES","amount":1000000,"betNumber":1})"
           "\n";
    out += R"({"action":"FLAGGED","betId":"mb-)" + std::to_string(shift) + R"(","reason":")" +
           std::string(static_cast<size_t>(shift), 'r') + std::string(300, 'x') + "\xE2\x82\xAC" +
           R"("})"
           "\n";
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(output_contract)

BOOST_AUTO_TEST_CASE(every_command_prints_json_by_the_contract) {
  TempDir dir;
  const std::string conn = testing::FreshDatabase();
  testing::Generate(dir / "in.jsonl",
                    {"--events", "3000", "--seed", "41", "--markets", "4", "--bad-every", "300"});
  std::ofstream(dir / "in.jsonl", std::ios::app) << MultibyteLines();
  auto ledger = [&](const std::vector<std::string>& args, const std::string& tag) {
    const int code = testing::Run(testing::LedgerSpec(conn, args, dir, tag));
    BOOST_TEST((code == 0 || code == 1 || code == 3),
               tag << " exit " << code << ": " << ReadFile(dir / (tag + ".err")));
    return CheckLines(tag, ReadFile(dir / (tag + ".out")));
  };
  BOOST_TEST(ledger({"migrate"}, "migrate") == 1);
  BOOST_TEST(ledger({"append", dir / "in.jsonl", "--rejects", dir / "rejects.jsonl", "--results",
                     dir / "results.jsonl"},
                    "append") == 1);
  BOOST_TEST(CheckLines("rejects", ReadFile(dir / "rejects.jsonl")) > 8);
  BOOST_TEST(CheckLines("results", ReadFile(dir / "results.jsonl")) > 3000);
  const std::string wallet = testing::Scalar(
      conn, R"(SELECT wallet FROM "BetHistory" WHERE action = 'CLAWED_BACK' ORDER BY seq LIMIT 1)");
  const std::string event_time = testing::Scalar(
      conn, R"(SELECT to_char("createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               FROM "BetHistory" WHERE seq = 1500)");
  for (const auto& [tag, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"digest", {"digest"}},
           {"project", {"project"}},
           {"rebuild", {"rebuild", "--projection", "bet"}},
           {"fold-snapshot", {"fold-snapshot"}},
           {"verify", {"verify"}},
           {"replay", {"replay", "--until", "1200"}},
           {"replay-event-time", {"replay", "--event-time", event_time}},
           {"audit-market", {"audit", "--market", "market-0003"}},
           {"audit-wallet", {"audit", "--wallet", wallet}},
           {"audit-range",
            {"audit", "--market", "market-0001", "--from", "100", "--until", event_time}},
           {"reconcile", {"reconcile"}},
           {"rules", {"rules", "run", "--dry-run"}},
           {"markets", {"markets", "close-expired", "--dry-run"}},
           {"stats", {"stats", "--market", "market-0001"}},
           {"history", {"history", "--wallet", wallet}},
       }) {
    BOOST_TEST(ledger(args, tag) == 1, tag);
  }
  BOOST_TEST(ledger({"feed", "--from", "2900"}, "feed") > 50);
  // verify with findings: drift of every kind, with its absent values.
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE(
      (*sql)
          ->Exec(R"(UPDATE "Market" SET "noPool" = "noPool" + 1 WHERE "marketId" = 'market-0001';
                                DELETE FROM "Bet" WHERE id = (SELECT min(id) FROM "Bet");
                                UPDATE "FlaggedWallet" SET "unflaggedAt" = NULL)")
          .ok());
  BOOST_TEST(ledger({"verify"}, "verify-drift") == 1);
  BOOST_TEST(ReadFile(dir / "verify-drift.out").find("MISSING_ROW") != std::string::npos);

  // The service's answers: its reads, an acknowledgement, a rejection with a multibyte value.
  testing::ServeProcess serve(conn, dir, {"--no-projections"});
  testing::HttpClient client(serve.port());
  const std::string bet = testing::Scalar(
      conn, R"(SELECT "betId" FROM "BetHistory" WHERE action = 'CONFIRMED' ORDER BY seq LIMIT 1)");
  for (const std::string& target :
       {std::string("/v1/head"), std::string("/v1/events/7"), "/v1/bets/" + bet,
        std::string("/v1/markets/market-0001"), "/v1/wallets/" + wallet + "/bets",
        std::string("/healthz/ready")}) {
    const testing::HttpReply r = client.Get(target);
    BOOST_TEST(r.status == 200, target << ": " << r.body);
    CheckLines("GET " + target, r.body);
  }
  std::istringstream multibyte(MultibyteLines());
  for (std::string line; std::getline(multibyte, line);) {
    const testing::HttpReply r = client.Post("/v1/events", line);
    BOOST_TEST(r.status == 422, r.body);
    CheckLines("POST /v1/events", r.body);
  }
  const testing::HttpReply accepted = client.Post(
      "/v1/events",
      R"({"action":"MARKET_CREATED","marketId":"contract-m","question":"Q?",)"
      R"("endDate":"2099-01-01T00:00:00Z","contractAddress":"0x00000000000000000000000000000000000000c1",)"
      R"("gnosisSafeAddress":"0x00000000000000000000000000000000000000a1"})");
  BOOST_TEST(accepted.status == 201, accepted.body);
  CheckLines("POST /v1/events", accepted.body);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
