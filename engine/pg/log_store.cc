#include "engine/pg/log_store.h"

#include <pqxx/pqxx>
#include <pqxx/stream_from>
#include <pqxx/tablewriter>

#include "engine/chain_guard.h"
#include "engine/check.h"
#include "engine/hash_chain.h"
#include "engine/pg/connection.h"
#include "engine/pg/log_row.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

// tablewriter is deprecated in libpqxx 6.4, but its write_raw_line is the only public way to send
// COPY rows we escaped ourselves; stream_to cannot take optional columns from a runtime container.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace ledger::pg {
namespace {

// The advisory lock that serializes appenders ("LEDGAPND").
constexpr int64_t kAppendLockKey = 0x4c45444741504e44;
// NOTIFY channel on which appenders announce the new head position.
constexpr char kAppendChannel[] = "ledger_appended";

// Runs `read(tx)` with sorting disabled for its statements: a read of the log by position then
// always plans the seq index, whatever the statistics say (a freshly appended, never analyzed log
// otherwise gets "seq scan + sort": a read of the whole table for every short tail, or the whole
// log spilled to disk first). Sorting is restored when `read` succeeded inside the caller's
// transaction, which goes on.
absl::Status InSeqOrder(Connection& c,
                        const std::function<absl::Status(pqxx::transaction_base&)>& read) {
  const bool callers = c.tx != nullptr;
  return c.InReadTransaction([&](pqxx::transaction_base& tx) {
    tx.exec("SET LOCAL enable_sort = off");
    absl::Status status = read(tx);
    if (status.ok() && callers) tx.exec("SET LOCAL enable_sort = on");
    return status;
  });
}

absl::StatusOr<Sha256> HashColumn(const pqxx::field& seq, const pqxx::field& hash) {
  std::optional<Sha256> parsed = FromHex(hash.c_str());
  if (!parsed) {
    return absl::DataLossError(
        StrCat("log row at seq ", seq.c_str(), " has an unreadable hash: ", hash.c_str()));
  }
  return *parsed;
}

}  // namespace

absl::Status LogStore::Scan(int64_t after_seq,
                            const std::function<absl::Status(const LoggedEvent&)>& fn) {
  const std::string query = StrCat("SELECT ", LogSelectList(),
                                   " FROM \"BetHistory\" WHERE seq > $1 ORDER BY seq LIMIT $2");
  try {
    for (;;) {
      pqxx::result page;
      LEDGER_RETURN_IF_ERROR(InSeqOrder(*conn_, [&](pqxx::transaction_base& tx) {
        page = tx.exec_params(query, after_seq, kScanPageRows);
        return absl::OkStatus();
      }));
      for (const pqxx::row& r : page) {
        LEDGER_ASSIGN_OR_RETURN(LoggedEvent row, ParseLogRow(ResultFields(r)));
        LEDGER_RETURN_IF_ERROR(fn(row));
        after_seq = row.seq;
      }
      if (static_cast<int64_t>(page.size()) < kScanPageRows) return absl::OkStatus();
    }
  } catch (const std::exception& e) {
    return conn_->Error(e, "scan the log");
  }
}

absl::Status LogStore::Stream(int64_t after_seq,
                              const std::function<absl::Status(const LoggedEvent&)>& fn) {
  // One COPY (text) of everything after `after_seq`, parsed line by line as it arrives: the server
  // produces rows while this thread folds them (docs/performance.md), in seq order (InSeqOrder).
  // COPY takes no parameters: the query holds only an integer formatted here.
  const std::string select =
      StrCat("(SELECT ", LogSelectList(), " FROM \"BetHistory\" WHERE seq > ", after_seq,
             " ORDER BY seq)");
  CopyLineFields fields;
  try {
    return InSeqOrder(*conn_, [&](pqxx::transaction_base& tx) {
      return conn_->CopyOut(tx, select, [&](const std::string& line) -> absl::Status {
        if (!fields.Parse(line, kLogColumns.size())) {
          return absl::DataLossError(StrCat("a log row after seq ", after_seq,
                                            " has an unexpected shape: ", line.substr(0, 200)));
        }
        LEDGER_ASSIGN_OR_RETURN(LoggedEvent row, ParseLogRow(fields));
        absl::Status s = fn(row);
        after_seq = row.seq;
        return s;
      });
    });
  } catch (const std::exception& e) {
    return conn_->Error(e, "stream the log");
  }
}

absl::StatusOr<LoggedEvent> LogStore::Read(int64_t seq) {
  std::optional<LoggedEvent> found;
  absl::Status status = Scan(seq - 1, [&found, seq](const LoggedEvent& row) {
    if (row.seq == seq) found = row;
    return absl::CancelledError("stop");  // One row is enough.
  });
  if (!status.ok() && !absl::IsCancelled(status)) return status;
  if (!found) return absl::NotFoundError(StrCat("no log row at seq ", seq));
  return *std::move(found);
}

absl::StatusOr<LoggedEvent> LogStore::FindByIdentity(const std::string& identity_key) {
  const std::string query =
      StrCat("SELECT ", LogSelectList(), " FROM \"BetHistory\" WHERE \"identityKey\" = $1");
  try {
    std::optional<LoggedEvent> found;
    LEDGER_RETURN_IF_ERROR(conn_->InReadTransaction([&](pqxx::transaction_base& tx) {
      pqxx::result r = tx.exec_params(query, identity_key);
      if (r.empty()) return absl::OkStatus();
      LEDGER_ASSIGN_OR_RETURN(found, ParseLogRow(ResultFields(r[0])));
      return absl::OkStatus();
    }));
    if (!found) return absl::NotFoundError(StrCat("no log row has identity ", identity_key));
    return *std::move(found);
  } catch (const std::exception& e) {
    return conn_->Error(e, "find a log row by identity");
  }
}

absl::StatusOr<std::vector<int64_t>> LogStore::StreamSeqs(const std::string& stream_id) {
  try {
    std::vector<int64_t> seqs;
    LEDGER_RETURN_IF_ERROR(conn_->InReadTransaction([&](pqxx::transaction_base& tx) {
      pqxx::result r = tx.exec_params(
          "SELECT seq FROM \"BetHistory\" WHERE \"streamId\" = $1 ORDER BY \"streamVersion\"",
          stream_id);
      for (const pqxx::row& row : r) seqs.push_back(row[0].as<int64_t>());
      return absl::OkStatus();
    }));
    return seqs;
  } catch (const std::exception& e) {
    return conn_->Error(e, "read a stream's positions");
  }
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> LogStore::WalletBets(
    const std::string& wallet, int64_t after_seq, int64_t limit) {
  try {
    std::vector<std::pair<int64_t, std::string>> bets;
    LEDGER_RETURN_IF_ERROR(conn_->InReadTransaction([&](pqxx::transaction_base& tx) {
      pqxx::result r = tx.exec_params(
          "SELECT seq, \"betId\" FROM \"BetHistory\" WHERE wallet = $1 AND action = $2 AND "
          "seq > $3 ORDER BY seq LIMIT $4",
          wallet, std::string(ActionName(Action::kPlaced)), after_seq, limit);
      for (const pqxx::row& row : r) bets.emplace_back(row[0].as<int64_t>(), row[1].c_str());
      return absl::OkStatus();
    }));
    return bets;
  } catch (const std::exception& e) {
    return conn_->Error(e, "read a wallet's bets");
  }
}

absl::StatusOr<std::vector<LoggedEvent>> LogStore::Find(const LogFilter& filter, int64_t after_seq,
                                                        int64_t limit) {
  // One statement whatever the filter: an absent condition is a NULL parameter, and PostgreSQL
  // plans an unnamed statement with its values, so `$2 IS NULL OR ...` folds away and each
  // look-up gets the index its conditions call for (docs/indexes.md; scripts/bench-indexes runs
  // EXPLAIN of this statement).
  static const std::string query =
      StrCat("SELECT ", LogSelectList(),
             " FROM \"BetHistory\" WHERE seq > $1"
             " AND ($2::text IS NULL OR \"streamId\" = 'bet:' || $2::text)"
             " AND ($3::text IS NULL OR \"marketId\" = $3::text)"
             " AND ($4::text IS NULL OR wallet = $4::text)"
             " AND ($5::text[] IS NULL OR action = ANY($5::text[]))"
             " AND ($6::timestamp IS NULL OR \"createdAt\" >= $6::timestamp)"
             " AND ($7::timestamp IS NULL OR \"createdAt\" < $7::timestamp)"
             " ORDER BY seq LIMIT $8");
  std::optional<std::string> actions;
  if (!filter.actions.empty()) {
    actions = "{";
    for (Action a : filter.actions)
      *actions += StrCat(actions->size() > 1 ? "," : "", ActionName(a));
    *actions += "}";
  }
  const std::optional<std::string> from =
      filter.from ? std::optional(FormatPgTimestamp(*filter.from)) : std::nullopt;
  const std::optional<std::string> until =
      filter.until ? std::optional(FormatPgTimestamp(*filter.until)) : std::nullopt;
  // libpqxx 6 sends a null `const char*` as SQL NULL.
  auto param = [](const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; };
  try {
    std::vector<LoggedEvent> rows;
    LEDGER_RETURN_IF_ERROR(conn_->InReadTransaction([&](pqxx::transaction_base& tx) {
      pqxx::result r =
          tx.exec_params(query, after_seq, param(filter.bet_id), param(filter.market_id),
                         param(filter.wallet), param(actions), param(from), param(until), limit);
      for (const pqxx::row& row : r) {
        LEDGER_ASSIGN_OR_RETURN(LoggedEvent e, ParseLogRow(ResultFields(row)));
        rows.push_back(std::move(e));
      }
      return absl::OkStatus();
    }));
    return rows;
  } catch (const std::exception& e) {
    return conn_->Error(e, "look up log rows");
  }
}

absl::StatusOr<absl::flat_hash_map<int64_t, Sha256>> LogStore::Hashes(
    const std::vector<int64_t>& seqs) {
  std::string array = "{";
  for (int64_t seq : seqs) array += StrCat(array.size() > 1 ? "," : "", seq);
  array += "}";
  absl::flat_hash_map<int64_t, Sha256> out;
  try {
    LEDGER_RETURN_IF_ERROR(conn_->InReadTransaction([&](pqxx::transaction_base& tx) {
      pqxx::result r = tx.exec_params(
          "SELECT seq, hash FROM \"BetHistory\" WHERE seq = ANY($1::bigint[])", array);
      for (const pqxx::row& row : r) {
        LEDGER_ASSIGN_OR_RETURN(Sha256 hash, HashColumn(row[0], row[1]));
        out[row[0].as<int64_t>()] = hash;
      }
      return absl::OkStatus();
    }));
    return out;
  } catch (const std::exception& e) {
    return conn_->Error(e, "read log hashes");
  }
}

absl::StatusOr<std::vector<LoggedEvent>> LogStore::FindIdentities(
    const std::vector<std::string>& keys) {
  // A text[] literal: each key double-quoted, its backslashes and quotes escaped.
  std::string array = "{";
  for (const std::string& key : keys) {
    if (array.size() > 1) array += ',';
    array += '"';
    for (char c : key) {
      if (c == '"' || c == '\\') array += '\\';
      array += c;
    }
    array += '"';
  }
  array += "}";
  const std::string query = StrCat("SELECT ", LogSelectList(),
                                   " FROM \"BetHistory\" WHERE \"identityKey\" = ANY($1::text[])");
  std::vector<LoggedEvent> out;
  try {
    LEDGER_RETURN_IF_ERROR(conn_->InReadTransaction([&](pqxx::transaction_base& tx) {
      for (const pqxx::row& row : tx.exec_params(query, array)) {
        LEDGER_ASSIGN_OR_RETURN(LoggedEvent found, ParseLogRow(ResultFields(row)));
        out.push_back(std::move(found));
      }
      return absl::OkStatus();
    }));
    return out;
  } catch (const std::exception& e) {
    return conn_->Error(e, "look up identities in the log");
  }
}

absl::StatusOr<std::pair<int64_t, Sha256>> LogStore::Head() {
  try {
    pqxx::read_transaction tx(*conn_->conn);
    pqxx::result r = tx.exec("SELECT seq, hash FROM \"BetHistory\" ORDER BY seq DESC LIMIT 1");
    if (r.empty()) return std::make_pair(int64_t{0}, Sha256{});
    LEDGER_ASSIGN_OR_RETURN(Sha256 hash, HashColumn(r[0][0], r[0][1]));
    return std::make_pair(r[0][0].as<int64_t>(), hash);
  } catch (const std::exception& e) {
    return conn_->Error(e, "read the log head");
  }
}

absl::StatusOr<TimeMicros> LogStore::BeginAppend() {
  conn_->Abort();
  try {
    pqxx::work& tx = conn_->Begin();
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kAppendLockKey);
    // After the lock, so that recordedAt never runs behind a batch committed before this one, and
    // the head is the one this batch must continue; and never behind the head's recordedAt even
    // when this server's clock is (a writer that appended in one trip used its own clock).
    pqxx::result r = tx.exec(
        "SELECT GREATEST(clock_timestamp() AT TIME ZONE 'UTC', h.\"recordedAt\"), h.seq, h.hash "
        "FROM (SELECT 1) one "
        "LEFT JOIN LATERAL (SELECT seq, hash, \"recordedAt\" FROM \"BetHistory\" ORDER BY seq DESC "
        "LIMIT 1) h "
        "ON true");
    std::optional<TimeMicros> now = ParsePgTimestamp(r[0][0].c_str());
    if (!now) return absl::InternalError(StrCat("bad server time ", r[0][0].c_str()));
    batch_head_seq_ = r[0][1].is_null() ? 0 : r[0][1].as<int64_t>();
    batch_head_hash_ = kGenesisHash;
    if (!r[0][2].is_null()) {
      LEDGER_ASSIGN_OR_RETURN(batch_head_hash_, HashColumn(r[0][1], r[0][2]));
    }
    return *now;
  } catch (const std::exception& e) {
    conn_->Abort();
    return conn_->Error(e, "begin append");
  }
}

absl::Status LogStore::Write(std::span<const LoggedEvent> rows) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(true, "Write"));
  for (size_t i = 0; i < rows.size(); ++i) {
    const LinkFaults faults = CheckLink(batch_head_seq_, batch_head_hash_, rows[i]);
    if (i == 0 && !faults.ok()) {
      // What this writer folded and what the log holds disagree at the head: someone changed the
      // stored rows after this writer read them. Refuse to build on them.
      return BrokenChainError(ChainBreak{
          batch_head_seq_, "ALTERED_ROW",
          StrCat("the stored head row no longer has the hash this writer read (",
                 faults.Describe(batch_head_seq_, batch_head_hash_, rows[i]).front().detail,
                 "): the rows to append do not continue it")});
    }
    LEDGER_CHECK(faults.ok(), "row ", i, " of the batch, at seq ", rows[i].seq,
                 ", does not continue seq ", batch_head_seq_);
    batch_head_seq_ = rows[i].seq;
    batch_head_hash_ = rows[i].hash;
  }
  try {
    pqxx::tablewriter writer(*conn_->tx, "\"BetHistory\"", LogCopyColumns().begin(),
                             LogCopyColumns().end());
    std::string line;
    line.reserve(1024);
    for (const LoggedEvent& row : rows) {
      EncodeLogRow(row, &line);
      writer.write_raw_line(line);
    }
    writer.complete();
    if (!rows.empty()) {
      conn_->tx->exec_params("SELECT pg_notify($1, $2)", kAppendChannel,
                             std::to_string(rows.back().seq));
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return conn_->Error(e, "write log rows");
  }
}

absl::StatusOr<bool> LogStore::AppendInOneTrip(int64_t head_seq, const Sha256& head_hash,
                                               std::span<const LoggedEvent> rows) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(false, "AppendInOneTrip"));
  LEDGER_CHECK(rows.size() <= kOneTripRowsMax, "a one-trip append of ", rows.size(), " rows");
  int64_t seq = head_seq;
  Sha256 hash = head_hash;
  for (const LoggedEvent& row : rows) {
    LEDGER_CHECK(CheckLink(seq, hash, row).ok(), "the row at seq ", row.seq,
                 " does not continue seq ", seq);
    seq = row.seq;
    hash = row.hash;
  }
  std::string json;
  EncodeLogRowsJson(rows, &json);
  const std::string expected_hash = ToHex(head_hash);
  try {
    pqxx::nontransaction tx(*conn_->conn);
    pqxx::result r =
        tx.exec_params("SELECT ledger_append_rows($1, $2, $3, $4::json, $5)", kAppendLockKey,
                       head_seq, expected_hash, json, std::string(kAppendChannel));
    const std::string_view verdict = r[0][0].c_str();
    if (verdict == "ok") return true;
    if (verdict == "moved") return false;
    if (verdict.starts_with("altered ")) {
      return BrokenChainError(
          ChainBreak{head_seq, "ALTERED_ROW",
                     StrCat("the stored head row no longer has the hash this writer read (it has ",
                            verdict.substr(8), ", this writer read ", expected_hash,
                            "): the rows to append do not continue it")});
    }
    return absl::InternalError(StrCat("ledger_append_rows answered \"", verdict, "\""));
  } catch (const std::exception& e) {
    return conn_->Error(e, "append log rows", /*committing=*/true);
  }
}

absl::StatusOr<bool> LogStore::WaitForAppend(int timeout_ms) {
  return conn_->Wait(conn_->append_listener, kAppendChannel, timeout_ms);
}

}  // namespace ledger::pg
