// Every input kept in fuzz/regressions/ (what the fuzz targets once found) and the fuzz seed
// corpus, replayed through the fuzz targets' properties (fuzz/properties.h) in every test run: the
// decoder round-trips what it accepts, Validate and TryApply agree, no pool goes negative.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fuzz/properties.h"

namespace ledger {
namespace {

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int CheckFolder(const std::string& folder) {
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(LEDGER_SOURCE_DIR) + folder)) {
    if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
    const std::string input = Slurp(entry.path());
    std::optional<std::string> decode = fuzz::CheckDecode(input);
    BOOST_TEST(!decode.has_value(), entry.path().filename() << ": " << decode.value_or(""));
    std::optional<std::string> fold = fuzz::CheckFold(input);
    BOOST_TEST(!fold.has_value(), entry.path().filename() << ": " << fold.value_or(""));
    ++files;
  }
  return files;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fuzz_regressions)

BOOST_AUTO_TEST_CASE(kept_fuzz_inputs_still_hold_the_properties) {
  // Proves: the fuzz properties hold on every kept input; the corpus is not empty, so this can
  // fail.
  CheckFolder("/fuzz/regressions");
  BOOST_TEST(CheckFolder("/fuzz/corpus/decode") > 10);
  BOOST_TEST(CheckFolder("/fuzz/corpus/fold") > 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
