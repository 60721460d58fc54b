// Entry point of the integration tests on the ledger binary: a real PostgreSQL cluster is started
// for the run.
#define BOOST_TEST_MODULE ledger_cli_tests
#include <boost/test/unit_test.hpp>

#include "tests/test_cluster.h"

using ledger::testing::ClusterFixture;
BOOST_TEST_GLOBAL_FIXTURE(ClusterFixture);
