// Specification of fold snapshots and the identity filter: a sequencer loaded from a snapshot is
// the sequencer that was saved (same bytes, same verdicts and rows on what follows), the filter
// never forgets an identity, and damaged or foreign bytes are refused, never half-loaded.
#include "engine/fold_snapshot.h"

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/event_codec.h"
#include "engine/hash_chain.h"
#include "engine/identity_filter.h"
#include "projections/projector.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

constexpr TimeMicros kNow = 1771232400000000;

IdentityFilter::Key KeyOf(uint64_t n) {
  const Sha256 d = Sha256Of(std::to_string(n));
  IdentityFilter::Key key;
  std::memcpy(&key.hi, d.data(), 8);
  std::memcpy(&key.lo, d.data() + 8, 8);
  return key;
}

std::vector<std::string> StreamLines(int64_t events) {
  return testing::Lines(testing::GeneratedStream(events, 7, /*bad_every=*/97,
                                                 /*duplicate_every=*/31));
}

// A log held in memory: what the appender asks PostgreSQL for, by identity.
struct MemoryLog {
  absl::flat_hash_map<std::string, LoggedEvent> by_identity;
  int64_t lookups = 0;  // Identities looked up (the filter could not rule them out).
  int64_t found = 0;
};

// Offers `lines` to `s` in batches of `batch` the way the appender does (identities the filter
// cannot rule out are looked up in `log`); returns one verdict a line ("accepted <seq> <hash>",
// "duplicate <seq>", "conflict <seq>", "rejected <code>", "undecodable").
std::vector<std::string> OfferAll(Sequencer& s, MemoryLog& log,
                                  const std::vector<std::string>& lines, size_t batch) {
  std::vector<std::string> verdicts;
  for (size_t start = 0; start < lines.size(); start += batch) {
    s.BeginBatch();
    std::vector<Event> events;
    std::vector<std::string> keys;
    const size_t end = std::min(lines.size(), start + batch);
    for (size_t i = start; i < end; ++i) {
      DecodeResult d = DecodeEventLine(lines[i], kNow);
      if (const Event* e = std::get_if<Event>(&d)) keys.push_back(LedgerState::IdentityKey(*e));
    }
    for (const std::string& key : s.Unresolved(keys)) {
      ++log.lookups;
      if (auto it = log.by_identity.find(key); it != log.by_identity.end()) {
        ++log.found;
        s.Resolve(it->second);
      }
    }
    for (size_t i = start; i < end; ++i) {
      DecodeResult d = DecodeEventLine(lines[i], kNow);
      if (!std::holds_alternative<Event>(d)) {
        verdicts.push_back("undecodable");
        continue;
      }
      Sequencer::Offered o = s.Offer(std::get<Event>(std::move(d)), kNow);
      switch (o.outcome) {
        case Sequencer::Outcome::kAccepted:
          verdicts.push_back("accepted " + std::to_string(o.row.seq) + " " + ToHex(o.row.hash));
          log.by_identity[o.row.identity_key] = o.row;
          break;
        case Sequencer::Outcome::kDuplicate:
          verdicts.push_back("duplicate " + std::to_string(o.existing_seq));
          break;
        case Sequencer::Outcome::kConflict:
          verdicts.push_back("conflict " + std::to_string(o.existing_seq));
          break;
        case Sequencer::Outcome::kRejected:
          verdicts.push_back(std::string("rejected ") +
                             std::string(ErrorCodeName(o.rejection->code)));
          break;
      }
    }
  }
  return verdicts;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(identity_filter)

BOOST_AUTO_TEST_CASE(never_forgets_and_rarely_imagines_as_it_grows_past_its_first_layer) {
  constexpr uint64_t kInserted = 3 * kIdentityFilterKeysFirst;  // Three layers.
  IdentityFilter filter;
  for (uint64_t n = 0; n < kInserted; ++n) filter.Insert(KeyOf(n));
  BOOST_TEST(filter.size() == kInserted);
  uint64_t forgotten = 0;
  for (uint64_t n = 0; n < kInserted; ++n) forgotten += filter.MayContain(KeyOf(n)) ? 0 : 1;
  BOOST_TEST(forgotten == 0u);
  constexpr uint64_t kProbed = 1000000;
  uint64_t imagined = 0;
  for (uint64_t n = kInserted; n < kInserted + kProbed; ++n) {
    imagined += filter.MayContain(KeyOf(n)) ? 1 : 0;
  }
  // Three layers at about 1 in 500 each: well under 1%.
  BOOST_TEST(imagined < kProbed / 100, imagined << " false positives in " << kProbed);
  // About 2 bytes a key (16 bits, layers rounded up to powers of two).
  BOOST_TEST(filter.memory_bytes() <= 4 * kInserted);
}

BOOST_AUTO_TEST_CASE(saved_and_loaded_answers_the_same_and_truncation_is_refused) {
  IdentityFilter filter;
  for (uint64_t n = 0; n < 5000; ++n) filter.Insert(KeyOf(n));
  ByteWriter out;
  filter.Save(out);
  IdentityFilter loaded;
  ByteReader in(out.bytes());
  BOOST_REQUIRE(loaded.Load(in));
  BOOST_TEST(in.remaining() == 0u);
  for (uint64_t n = 0; n < 20000; ++n) {
    BOOST_TEST_REQUIRE(loaded.MayContain(KeyOf(n)) == filter.MayContain(KeyOf(n)));
  }
  IdentityFilter cut;
  ByteReader short_in(std::string_view(out.bytes()).substr(0, out.bytes().size() - 1));
  BOOST_TEST(!cut.Load(short_in));
  BOOST_TEST(cut.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fold_snapshot)

BOOST_AUTO_TEST_CASE(a_loaded_sequencer_is_the_saved_one_and_continues_identically) {
  const std::vector<std::string> lines = StreamLines(6000);
  const size_t cut = lines.size() / 2;
  const std::vector<std::string> before(lines.begin(), lines.begin() + cut);
  const std::vector<std::string> after(lines.begin() + cut, lines.end());

  Sequencer original;
  MemoryLog log;
  OfferAll(original, log, before, 200);
  const std::string bytes = EncodeFoldSnapshot(original);
  Sequencer loaded;
  BOOST_REQUIRE(DecodeFoldSnapshot(bytes, original.head_seq(), original.head_hash(), &loaded).ok());
  BOOST_TEST(loaded.head_seq() == original.head_seq());
  BOOST_TEST(EncodeFoldSnapshot(loaded) == bytes);  // Nothing lost, nothing reordered.

  // The rest of the stream, re-sent lines of the first half included, gets the same verdicts and
  // the same rows (positions and hashes) from both.
  MemoryLog log_copy = log;
  const std::vector<std::string> from_original = OfferAll(original, log, after, 200);
  const std::vector<std::string> from_loaded = OfferAll(loaded, log_copy, after, 200);
  BOOST_TEST(from_loaded == from_original, boost::test_tools::per_element());
  int duplicates = 0;
  for (const std::string& v : from_loaded) duplicates += v.rfind("duplicate", 0) == 0 ? 1 : 0;
  BOOST_TEST(duplicates > 10);
  BOOST_TEST(EncodeFoldSnapshot(loaded) == EncodeFoldSnapshot(original));
  const MarketState* a = original.state().FindMarket("market-0001");
  const MarketState* b = loaded.state().FindMarket("market-0001");
  BOOST_REQUIRE(a != nullptr);
  BOOST_REQUIRE(b != nullptr);
  BOOST_TEST(a->confirmed_bets == b->confirmed_bets);  // Derived on load, not stored.
  BOOST_TEST(a->confirmed_wallets == b->confirmed_wallets);
  BOOST_TEST(a->confirmed_bets > 0);
}

// Every row of every table a projector writes once the rows past `checkpoint` are applied, sorted:
// what its catch-up would upsert.
std::vector<std::string> ChangedRows(Projector& p) {
  std::vector<std::string> out;
  const ProjectionRows changes = p.TakeChanges();
  for (const TableRows& table : changes) {
    for (const auto& row : table.rows) {
      std::string line = table.table;
      for (const auto& cell : row) line += "|" + cell.value_or("NULL");
      out.push_back(std::move(line));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The log rows a stream gives, in position order.
std::vector<LoggedEvent> RowsOf(const std::vector<std::string>& lines) {
  Sequencer s;
  MemoryLog log;
  OfferAll(s, log, lines, 250);
  std::vector<LoggedEvent> rows;
  for (auto& [key, row] : log.by_identity) rows.push_back(row);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
  return rows;
}

// A projector resumed from a fold snapshot at any position writes, for everything after it, what
// a projector that folded the log from position 0 writes: the Market, Bet and FlaggedWallet rows
// and above all the PoolSnapshot rows, whose intervals depend on log time and on which markets
// moved in the interval the snapshot falls in (restored from the fold, not tracked aside).
BOOST_AUTO_TEST_CASE(a_projector_resumed_from_a_snapshot_anywhere_writes_what_a_full_fold_writes) {
  const std::vector<LoggedEvent> rows = RowsOf(StreamLines(3000));
  BOOST_REQUIRE(rows.size() > 2500);
  int64_t snapshot_rows = 0;
  // Intervals of a second (most rows in an interval of their own), a minute and the default.
  for (const TimeMicros interval :
       {TimeMicros{1000000}, TimeMicros{60000000}, kSnapshotIntervalDefault}) {
    ProjectorOptions options;
    options.snapshot_interval = interval;
    for (size_t cut = 0; cut < rows.size(); cut += cut < 40 ? 1 : 97) {
      const int64_t at = cut == 0 ? 0 : rows[cut - 1].seq;
      const std::array<int64_t, kProjectionCount> checkpoints = {at, at, at, at};
      Projector full(options, checkpoints);
      for (const LoggedEvent& row : rows) BOOST_REQUIRE(full.Apply(row).ok());

      Sequencer folded;
      for (size_t i = 0; i < cut; ++i) BOOST_REQUIRE(folded.Replay(rows[i]).ok());
      Sequencer loaded;
      BOOST_REQUIRE(DecodeFoldSnapshot(EncodeFoldSnapshot(folded), folded.head_seq(),
                                       folded.head_hash(), &loaded)
                        .ok());
      Projector resumed =
          Projector::Resume(options, checkpoints, std::move(loaded).ReleaseState(), at);
      for (size_t i = cut; i < rows.size(); ++i) BOOST_REQUIRE(resumed.Apply(rows[i]).ok());

      const std::vector<std::string> want = ChangedRows(full);
      const std::vector<std::string> got = ChangedRows(resumed);
      BOOST_TEST_REQUIRE(got == want, "resumed at seq " << at << ", interval " << interval << ": "
                                                        << got.size() << " rows, " << want.size()
                                                        << " from a full fold");
      for (const std::string& r : want) snapshot_rows += r.rfind("PoolSnapshot|", 0) == 0;
    }
  }
  BOOST_TEST(snapshot_rows > 1000);  // The comparison covered many PoolSnapshot rows.
}

// A filter whose first layer holds 16 keys has many layers, each adding its false positives, and
// says "maybe" to more keys as a batch's own events fill it: each must be looked up (or the
// sequencer stops), and none may change a verdict.
BOOST_AUTO_TEST_CASE(a_filter_that_often_says_maybe_changes_no_verdict) {
  std::vector<std::string> lines = StreamLines(6000);
  for (size_t i = 0, n = lines.size(); i < n; i += 10) lines.push_back(lines[i]);  // Re-sent.
  Sequencer normal;
  Sequencer tiny(/*filter_keys_first=*/16);
  MemoryLog normal_log;
  MemoryLog tiny_log;
  const std::vector<std::string> expected = OfferAll(normal, normal_log, lines, 250);
  BOOST_TEST(OfferAll(tiny, tiny_log, lines, 250) == expected, boost::test_tools::per_element());
  BOOST_TEST(tiny_log.lookups > normal_log.lookups + 30,
             tiny_log.lookups << " lookups against " << normal_log.lookups);
  BOOST_TEST(tiny_log.found == normal_log.found);  // The same re-sent events, found in the log.
  BOOST_TEST(normal_log.found > 400);
  // Its many layers survive a snapshot.
  Sequencer loaded;
  BOOST_REQUIRE(
      DecodeFoldSnapshot(EncodeFoldSnapshot(tiny), tiny.head_seq(), tiny.head_hash(), &loaded)
          .ok());
  BOOST_TEST(loaded.identity_filter().size() == tiny.identity_filter().size());
  BOOST_TEST(EncodeFoldSnapshot(loaded) == EncodeFoldSnapshot(tiny));
}

// Read in pieces of 1 to 13 bytes (views then live only until the next read), a snapshot loads
// into the same sequencer as when read whole.
BOOST_AUTO_TEST_CASE(a_snapshot_read_in_pieces_loads_the_same) {
  Sequencer original;
  MemoryLog log;
  OfferAll(original, log, StreamLines(1500), 100);
  const std::string bytes = EncodeFoldSnapshot(original);
  size_t offset = 0;
  size_t piece = 0;
  ByteReader in([&](std::string* out) {
    if (offset == bytes.size()) return false;
    const size_t n = std::min(bytes.size() - offset, 1 + piece++ % 13);
    out->append(bytes, offset, n);
    offset += n;
    return true;
  });
  Sequencer loaded;
  BOOST_REQUIRE(DecodeFoldSnapshot(in, original.head_seq(), original.head_hash(), &loaded).ok());
  BOOST_TEST(EncodeFoldSnapshot(loaded) == bytes);
  BOOST_TEST(piece > bytes.size() / 13);
}

BOOST_AUTO_TEST_CASE(damaged_foreign_or_misplaced_bytes_are_refused) {
  Sequencer original;
  MemoryLog log;
  OfferAll(original, log, StreamLines(800), 100);
  const std::string bytes = EncodeFoldSnapshot(original);
  const int64_t seq = original.head_seq();
  const Sha256 hash = original.head_hash();
  for (size_t size = 0; size < bytes.size(); size += 1 + bytes.size() / 300) {
    Sequencer s;
    BOOST_TEST_REQUIRE(absl::IsDataLoss(DecodeFoldSnapshot(bytes.substr(0, size), seq, hash, &s)),
                       "a snapshot cut to " << size << " bytes was accepted");
  }
  Sequencer longer;
  BOOST_TEST(absl::IsDataLoss(DecodeFoldSnapshot(bytes + "x", seq, hash, &longer)));
  std::string other_format = bytes;
  other_format[8] = static_cast<char>(kFoldSnapshotFormat + 1);
  Sequencer s1;
  BOOST_TEST(absl::IsDataLoss(DecodeFoldSnapshot(other_format, seq, hash, &s1)));
  Sequencer s2;
  BOOST_TEST(absl::IsFailedPrecondition(DecodeFoldSnapshot(bytes, seq - 1, hash, &s2)));
  Sequencer s3;
  BOOST_TEST(absl::IsFailedPrecondition(DecodeFoldSnapshot(bytes, seq, kGenesisHash, &s3)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(all_or_nothing)

// The fold's own bytes (LedgerState::Save): equal bytes, equal state.
std::string StateBytes(const Sequencer& s) {
  ByteWriter out;
  s.state().Save(out);
  return out.Take();
}

// How a window of events is offered and then taken back.
enum class Undo { kGroup, kTentativeBatch };

// Every window of the generated stream (all nine actions, bad lines, re-sent lines), offered and
// undone (as a group, or as a tentative batch with a kept group inside it), leaves the fold, the
// head and the batch's identities exactly as before: the same bytes, and the same rows when the
// window is then offered on its own.
void UndoEveryWindow(Undo how) {
  const std::vector<std::string> lines = StreamLines(3000);
  constexpr size_t kWindow = 25;
  int undone = 0;
  for (size_t start = 0; start + kWindow <= lines.size(); start += 97) {
    Sequencer s;
    MemoryLog log;
    OfferAll(s, log, std::vector<std::string>(lines.begin(), lines.begin() + start), 500);
    const std::string before = StateBytes(s);
    const int64_t head = s.head_seq();
    const Sha256 hash = s.head_hash();
    const std::vector<std::string> window(lines.begin() + start, lines.begin() + start + kWindow);
    MemoryLog scratch = log;
    s.BeginBatch();
    std::vector<std::string> keys;
    for (const std::string& line : window) {
      DecodeResult d = DecodeEventLine(line, kNow);
      if (const Event* e = std::get_if<Event>(&d)) keys.push_back(LedgerState::IdentityKey(*e));
    }
    for (const std::string& key : s.Unresolved(keys)) {
      if (auto it = scratch.by_identity.find(key); it != scratch.by_identity.end()) {
        s.Resolve(it->second);
      }
    }
    if (how == Undo::kGroup) s.BeginGroup();
    if (how == Undo::kTentativeBatch) s.BeginTentative();
    int accepted = 0;
    for (size_t i = 0; i < window.size(); ++i) {
      // In a tentative batch, the middle third is a group that is kept.
      if (how == Undo::kTentativeBatch && i == kWindow / 3) s.BeginGroup();
      if (how == Undo::kTentativeBatch && i == 2 * kWindow / 3) s.EndGroup();
      DecodeResult d = DecodeEventLine(window[i], kNow);
      if (!std::holds_alternative<Event>(d)) continue;
      accepted +=
          s.Offer(std::get<Event>(std::move(d)), kNow).outcome == Sequencer::Outcome::kAccepted;
    }
    BOOST_TEST_REQUIRE(accepted > 0);
    if (how == Undo::kGroup) s.UndoGroup();
    if (how == Undo::kTentativeBatch) s.UndoTentative();
    ++undone;
    BOOST_TEST_REQUIRE(s.head_seq() == head);
    BOOST_TEST_REQUIRE((s.head_hash() == hash));
    BOOST_TEST_REQUIRE(StateBytes(s) == before, "window at line " << start);
    // Offered again, outside a group, the window gets what a sequencer that never saw it gets.
    Sequencer fresh;
    MemoryLog fresh_log;
    OfferAll(fresh, fresh_log, std::vector<std::string>(lines.begin(), lines.begin() + start), 500);
    BOOST_TEST_REQUIRE(OfferAll(s, log, window, kWindow) ==
                       OfferAll(fresh, fresh_log, window, kWindow));
    BOOST_TEST_REQUIRE(StateBytes(s) == StateBytes(fresh));
  }
  BOOST_TEST(undone >= 30);
}

BOOST_AUTO_TEST_CASE(an_undone_group_leaves_the_fold_and_head_as_they_were) {
  UndoEveryWindow(Undo::kGroup);
}

// What the one-round-trip append does when another writer moved the head (engine/appender.h).
BOOST_AUTO_TEST_CASE(an_undone_tentative_batch_with_a_kept_group_inside_leaves_the_fold_as_it_was) {
  UndoEveryWindow(Undo::kTentativeBatch);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
