// Specification of the service's pure parts: the event body splitter, request targets, the tokens
// file, metrics rendering, and docs/openapi.yaml against the route table.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <variant>

#include "server/event_body.h"
#include "server/metrics.h"
#include "server/service.h"
#include "server/target.h"
#include "server/tokens.h"

namespace ledger::server {
namespace {

std::vector<std::string> Texts(const EventBody& body) {
  std::vector<std::string> out;
  for (const InputLine& l : body.events) out.push_back(l.text);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(service)

BOOST_AUTO_TEST_CASE(an_array_is_cut_into_its_elements_as_written) {
  // Proves elements keep their exact text (1.50 stays 1.50; strings with brackets, commas and
  // escaped quotes do not cut), and what makes a body malformed as a whole.
  auto body = ParseEventBody("application/json; charset=utf-8",
                             R"( [ {"a":1.50} , {"b":"],\"{,"}, [1] ] )", 10);
  BOOST_REQUIRE(std::holds_alternative<EventBody>(body));
  BOOST_TEST(Texts(std::get<EventBody>(body)) ==
                 (std::vector<std::string>{R"({"a":1.50})", R"({"b":"],\"{,"})", "[1]"}),
             boost::test_tools::per_element());
  BOOST_TEST(!std::get<EventBody>(body).single);
  for (const char* bad : {"[{}", "[{},]", "[] x", "", "  "}) {
    auto r = ParseEventBody("application/json", bad, 10);
    BOOST_REQUIRE(std::holds_alternative<BodyError>(r));
    BOOST_TEST(std::get<BodyError>(r).code == "MALFORMED_BODY", bad);
  }
  auto many = ParseEventBody("application/json", "[{},{},{}]", 2);
  BOOST_TEST(std::get<BodyError>(many).http_status == 413);
  auto single = ParseEventBody("application/json", " {\"x\":1} \n", 2);
  BOOST_TEST(std::get<EventBody>(single).single);
  BOOST_TEST(Texts(std::get<EventBody>(single))[0] == "{\"x\":1}");
  BOOST_TEST(std::get<BodyError>(ParseEventBody("text/plain", "{}", 2)).http_status == 415);
}

BOOST_AUTO_TEST_CASE(json_lines_keep_their_line_numbers_and_skip_blank_lines) {
  auto body = ParseEventBody("application/x-ndjson", "{\"a\":1}\r\n\n  \n{\"b\":2}", 10);
  const EventBody& b = std::get<EventBody>(body);
  BOOST_REQUIRE(b.events.size() == 2u);
  BOOST_TEST(b.events[0].text == "{\"a\":1}");
  BOOST_TEST(b.events[1].number == 4);
}

BOOST_AUTO_TEST_CASE(targets_decode_their_segments_and_query) {
  Target t = ParseTarget("/v1/bets/a%2Fb?limit=5&x=a+b&eventId=%41");
  BOOST_TEST(t.valid);
  BOOST_TEST(t.segments == (std::vector<std::string>{"v1", "bets", "a/b"}),
             boost::test_tools::per_element());
  BOOST_TEST(*t.Param("x") == "a b");
  BOOST_TEST(*t.Param("eventId") == "A");
  BOOST_TEST(!ParseTarget("/v1/%zz").valid);
  BOOST_TEST(!ParseTarget("/v1/a%00").valid);
  BOOST_TEST(!ParseTarget("/v1/a%4").valid);
}

BOOST_AUTO_TEST_CASE(tokens_file_maps_tokens_to_roles_and_refuses_bad_lines) {
  const std::string w(32, 'w');
  auto table = TokenTable::Parse("# comment\n\nwriter " + w + "\nreader  " + std::string(33, 'r'));
  BOOST_REQUIRE(table.ok());
  BOOST_TEST(table->size() == 2u);
  BOOST_TEST((table->Find(w) == Role::kWriter));
  BOOST_TEST(!table->Find(w + "x").has_value());
  BOOST_TEST(!table->Find("").has_value());
  auto short_token = TokenTable::Parse("writer abc");
  BOOST_TEST(short_token.status().message().find("line 1") != std::string::npos);
  BOOST_TEST(short_token.status().message().find("abc") == std::string::npos);  // Never echoed.
  BOOST_TEST(!TokenTable::Parse("root " + w).ok());
  BOOST_TEST(!TokenTable::Parse("writer " + w + " extra").ok());
  BOOST_TEST(Allows(Role::kWriter, Permission::kWrite));
  BOOST_TEST(!Allows(Role::kReader, Permission::kWrite));
  BOOST_TEST(!Allows(Role::kWriter, Permission::kMetrics));
  BOOST_TEST(Allows(Role::kAuditor, Permission::kMetrics));
}

BOOST_AUTO_TEST_CASE(histograms_render_cumulative_buckets) {
  const double bounds[] = {1, 10};
  Histogram h("x_seconds", "help", bounds);
  h.Observe(0.5);
  h.Observe(5);
  h.Observe(50);
  const std::string text = h.Render();
  BOOST_TEST(text.find("x_seconds_bucket{le=\"1\"} 1\n") != std::string::npos);
  BOOST_TEST(text.find("x_seconds_bucket{le=\"10\"} 2\n") != std::string::npos);
  BOOST_TEST(text.find("x_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("x_seconds_sum 55.5\n") != std::string::npos);
  BOOST_TEST(text.find("# TYPE x_seconds histogram\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(openapi_lists_exactly_the_server_routes) {
  // Proves docs/openapi.yaml and the route table agree: every (method, path) of one is in the
  // other, path parameters ({seq}, {betId}, ...) standing for the table's "*".
  std::ifstream in(std::string(LEDGER_SOURCE_DIR) + "/docs/openapi.yaml");
  BOOST_REQUIRE(in);
  std::set<std::string> documented;
  std::string line, path;
  bool in_paths = false;
  const std::regex path_line(R"(^  (/[^:]*):\s*$)");
  const std::regex method_line(R"(^    (get|post|put|delete|patch):)");
  const std::regex param(R"(\{[^}]+\})");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") in_paths = true;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_line)) path = std::regex_replace(m[1].str(), param, "*");
    if (std::regex_search(line, m, method_line)) {
      std::string method = m[1].str();
      for (char& c : method) c = static_cast<char>(std::toupper(c));
      documented.insert(method + " " + path);
    }
  }
  const std::vector<std::string> routes = RouteSignatures();
  const std::set<std::string> served(routes.begin(), routes.end());
  BOOST_TEST(documented.size() >= 10u);
  BOOST_TEST(std::vector<std::string>(documented.begin(), documented.end()) ==
                 std::vector<std::string>(served.begin(), served.end()),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger::server
