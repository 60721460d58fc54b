// StreamGenerator: a deterministic, realistic stream of JSON Lines events for the demo, tests and
// benchmarks: markets (the seed's eden-haus-hackathon first), bets from a pool of wallets placed
// and confirmed, some flagged, clawed back and refunded, wallets unflagged, markets closed and
// resolved, and, when asked, a sprinkle of bad lines. The same options always produce the same
// bytes.
#ifndef LEDGER_SAMPLE_STREAM_GENERATOR_H_
#define LEDGER_SAMPLE_STREAM_GENERATOR_H_

#include <cstdint>
#include <ostream>
#include <string>

namespace ledger {

struct StreamOptions {
  int64_t events = 10000;
  int32_t markets = 13;
  int32_t wallets = 2000;
  uint64_t seed = 42;
  // One line in this many is a bad line (malformed or breaking a rule); 0 for none.
  int32_t bad_line_every = 0;
  // Every this many events, the previous line is repeated (a duplicate); 0 for none.
  int32_t duplicate_every = 0;
  // Every this many placements, one wallet bursts five confirmed bets on one market within seconds
  // (what the velocity rule catches); 0 for none.
  int32_t burst_every = 0;
  // Prefixed to every market and bet id, so that several streams can share one log.
  std::string id_prefix;
};

// Writes `options.events` lines (plus bad and duplicate lines) to `out`. Returns the lines written;
// `*events`, when given, gets the events written, fewer than asked when the markets and wallets
// cannot hold that many (ten bets per wallet per market: 13 markets and 2000 wallets hold about
// 580k events).
int64_t GenerateStream(const StreamOptions& options, std::ostream& out, int64_t* events = nullptr);

}  // namespace ledger

#endif  // LEDGER_SAMPLE_STREAM_GENERATOR_H_
