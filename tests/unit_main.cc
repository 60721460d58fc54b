// Entry point of the unit tests: pure engine code, no database.
#define BOOST_TEST_MODULE ledger_unit_tests
#include <boost/test/unit_test.hpp>
