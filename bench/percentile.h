// Percentiles for the benchmark programs.
#ifndef LEDGER_BENCH_PERCENTILE_H_
#define LEDGER_BENCH_PERCENTILE_H_

#include <algorithm>
#include <vector>

namespace ledger {

// p-th percentile (0..100) of `values`, nearest rank; 0 when empty.
inline double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

}  // namespace ledger

#endif  // LEDGER_BENCH_PERCENTILE_H_
