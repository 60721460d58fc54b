// Specification of the HTML audit report as an auditor opens it: in a real headless browser
// (Debian's chromium), the page of the largest market of a generated stream loads without a single
// console message, its script renders the first page of the timeline from the embedded data (and
// every event is in that data), the page stays under kHtmlBytesPerEventMax bytes per event, and a
// screenshot is kept as a test artifact (build/test-artifacts/). The check itself is checked first:
// a page with a script error is caught.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::ReadFile;
using testing::TempDir;

// The page's weight the report promises per event of its timeline (docs/auditors-guide.md).
constexpr size_t kHtmlBytesPerEventMax = 150;
// Debian's chromium (scripts/install-deps installs it).
constexpr char kChromium[] = "/usr/bin/chromium";
// Rows the report's script shows per page (replay/audit.cc kHtmlPageRows).
constexpr int kPageRows = 100;

struct BrowserRun {
  int exit_code = 0;
  std::string dom;      // The DOM after the page's scripts ran (--dump-dom).
  std::string console;  // Every console message chromium logged, one a line.
};

// chromium --headless on a local file: the DOM after load, and the console messages it logged.
BrowserRun OpenInBrowser(const std::string& page, const TempDir& dir, const std::string& tag,
                         const std::string& screenshot = "") {
  testing::ProcessSpec spec;
  spec.argv = {kChromium,
               "--headless",
               "--no-sandbox",
               "--disable-gpu",
               "--no-first-run",
               "--enable-logging=stderr",
               "--v=0",
               "--user-data-dir=" + (dir / (tag + "-profile")),
               "--window-size=1300,2000"};
  spec.argv.push_back(screenshot.empty() ? "--dump-dom" : "--screenshot=" + screenshot);
  spec.argv.push_back("file://" + page);
  spec.stdout_path = dir / (tag + ".dom");
  spec.stderr_path = dir / (tag + ".log");
  BrowserRun run;
  run.exit_code = testing::Run(spec);
  run.dom = ReadFile(dir / (tag + ".dom"));
  std::istringstream log(ReadFile(dir / (tag + ".log")));
  for (std::string line; std::getline(log, line);) {
    if (line.find(":CONSOLE") != std::string::npos) run.console += line + "\n";
  }
  return run;
}

std::string ArtifactDir() {
  const std::filesystem::path dir =
      std::filesystem::path(testing::LedgerBinary()).parent_path() / "test-artifacts";
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_report)

BOOST_AUTO_TEST_CASE(a_script_error_is_caught_by_the_browser_check) {
  TempDir dir;
  const std::string page = dir / "broken.html";
  std::ofstream(page) << "<!DOCTYPE html><html><body><script>undefinedFunction();</script>"
                         "</body></html>";
  const BrowserRun run = OpenInBrowser(page, dir, "broken");
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.console.find("undefinedFunction") != std::string::npos, run.console);
}

BOOST_AUTO_TEST_CASE(the_largest_market_report_loads_without_console_errors_and_renders) {
  TempDir dir;
  const std::string conn = testing::FreshDatabase();
  testing::Generate(dir / "in.jsonl", {"--events", "20000", "--seed", "31", "--markets", "6"});
  BOOST_REQUIRE_EQUAL(testing::Run(testing::AppendSpec(conn, dir / "in.jsonl", dir, "a")), 0);
  const std::string market =
      testing::Scalar(conn, R"(SELECT "marketId" FROM "BetHistory" WHERE "marketId" IS NOT NULL
               GROUP BY "marketId" ORDER BY count(*) DESC, "marketId" LIMIT 1)");
  const int64_t events = std::stoll(testing::Scalar(
      conn, R"(SELECT count(*) FROM "BetHistory" WHERE "marketId" = ')" + market + "'"));
  const std::string page = dir / "report.html";
  BOOST_REQUIRE_EQUAL(
      testing::Run(testing::LedgerSpec(
          conn, {"audit", "--market", market, "--format", "html", "--out", page}, dir, "audit")),
      0);
  const std::string html = ReadFile(page);
  BOOST_TEST(html.size() <= kHtmlBytesPerEventMax * static_cast<size_t>(events),
             html.size() << " bytes for " << events << " events");

  const BrowserRun run = OpenInBrowser(page, dir, "report");
  BOOST_REQUIRE_EQUAL(run.exit_code, 0);
  BOOST_TEST(run.console.empty(), run.console);
  // The script ran to its end over every event, and drew the first page of the timeline.
  std::smatch rendered;
  BOOST_REQUIRE(std::regex_search(run.dom, rendered, std::regex("data-rendered=\"([0-9]+)\"")));
  BOOST_TEST(std::stoll(rendered[1]) == events);
  BOOST_TEST(run.dom.find("page 1 of " + std::to_string((events + kPageRows - 1) / kPageRows)) !=
             std::string::npos);
  const size_t body = run.dom.find("<div id=\"timeline\">");
  BOOST_REQUIRE(body != std::string::npos);
  const std::string timeline = run.dom.substr(body, run.dom.find("</table>", body) - body);
  size_t rows = 0;
  for (size_t at = timeline.find("<tr>"); at != std::string::npos;
       at = timeline.find("<tr>", at + 1)) {
    ++rows;
  }
  BOOST_TEST(rows == static_cast<size_t>(kPageRows) + 1);  // The header row and a page.
  // Full hashes, shown in hex from the page's base64 data.
  const std::string first_hash =
      testing::Scalar(conn, R"(SELECT hash FROM "BetHistory" WHERE "marketId" = ')" + market +
                                "' ORDER BY seq LIMIT 1");
  BOOST_TEST(run.dom.find(first_hash) != std::string::npos, first_hash);

  const std::string screenshot = ArtifactDir() + "/audit-report-" + market + ".png";
  std::filesystem::remove(screenshot);
  BOOST_REQUIRE_EQUAL(OpenInBrowser(page, dir, "shot", screenshot).exit_code, 0);
  const std::string png = ReadFile(screenshot);
  BOOST_TEST(png.rfind("\x89PNG", 0) == 0u, "no PNG at " << screenshot);
  BOOST_TEST_MESSAGE("screenshot: " << screenshot);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
