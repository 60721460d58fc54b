// A real PgBouncer in transaction-pooling mode (the seed's production setup) in front of the test
// cluster, for the tests that prove the engine keeps no session state across transactions. Started
// and stopped by the test; as root it runs as 'postgres' (PgBouncer refuses root).
//
//   PgBouncer bouncer;
//   std::string conn = bouncer.ConnectionString(database);   // through the pooler
#ifndef LEDGER_TESTS_PGBOUNCER_H_
#define LEDGER_TESTS_PGBOUNCER_H_

#include <sys/types.h>

#include <string>

namespace ledger::testing {

class PgBouncer {
 public:
  // REQUIRES: the test cluster is running (ClusterFixture).
  PgBouncer();
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  // libpq key=value string for `database` through the pooler.
  std::string ConnectionString(const std::string& database) const;

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_PGBOUNCER_H_
