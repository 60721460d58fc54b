// Entry point of the fault tests: a PostgreSQL cluster of their own, which they crash and restart.
#define BOOST_TEST_MODULE ledger_fault_tests
#include <boost/test/unit_test.hpp>

#include "tests/test_cluster.h"

using ledger::testing::ClusterFixture;
BOOST_TEST_GLOBAL_FIXTURE(ClusterFixture);
