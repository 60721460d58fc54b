#include "engine/pg/snapshot_store.h"

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <vector>

#include "engine/byte_codec.h"
#include "engine/hash_chain.h"
#include "engine/pg/connection.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"

// The snapshot's bytes cross over a libpq connection of the store's own, in binary both ways:
// libpqxx 6.4 has bytea only as hex text, which costs the server a pass to encode, the client one
// to decode, and doubles what crosses the socket. They are stored as small rows (below the TOAST
// threshold), because fetching one large bytea back from TOAST takes PostgreSQL about 10 ms a MB:
// half a second for a 1M-event log's 52 MB, against a sequential read of its rows.
namespace ledger::pg {
namespace {

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using RawConn = std::unique_ptr<PGconn, PgConnCloser>;
using RawResult = std::unique_ptr<PGresult, PgResultClearer>;

// What the database says of a snapshot: where it was made, in which format, and its length and
// SHA-256 (hex) when stored.
struct StoredSnapshot {
  int64_t seq;
  Sha256 hash;
  int format;
  size_t bytes;
  std::string checksum;
};

// The result of the last command as a status: kUnavailable when the connection is gone.
absl::Status Failure(PGconn* conn, std::string_view what) {
  const std::string message = StrCat(what, ": ", PQerrorMessage(conn));
  if (PQstatus(conn) != CONNECTION_OK) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

// `sql` with text parameters; results in binary when `binary`.
absl::StatusOr<RawResult> Exec(PGconn* conn, const char* sql, const std::vector<std::string>& args,
                               bool binary = false) {
  std::vector<const char*> values;
  for (const std::string& a : args) values.push_back(a.c_str());
  RawResult r(PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                           nullptr, nullptr, binary ? 1 : 0));
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return Failure(conn, sql);
  return r;
}

absl::StatusOr<RawConn> Connect(const Connection& c) {
  RawConn conn(PQconnectdb(c.conn_string.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(StrCat("connect to ", c.masked_conn, " for the fold snapshot: ",
                                         conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  return conn;
}

void PutBigEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// COPY fold_snapshot_part FROM STDIN in binary: (seq, part, data) rows of kSnapshotPartBytes.
absl::Status CopyParts(PGconn* conn, int64_t seq, std::string_view bytes) {
  RawResult start(
      PQexec(conn, "COPY fold_snapshot_part (seq, part, data) FROM STDIN (FORMAT binary)"));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) return Failure(conn, "COPY parts");
  std::string buf("PGCOPY\n\377\r\n\0", 11);
  PutBigEndian(0, 4, &buf);  // Flags.
  PutBigEndian(0, 4, &buf);  // Header extension length.
  const size_t parts = (bytes.size() + kSnapshotPartBytes - 1) / kSnapshotPartBytes;
  for (size_t part = 0; part < parts; ++part) {
    const std::string_view data = bytes.substr(part * kSnapshotPartBytes, kSnapshotPartBytes);
    PutBigEndian(3, 2, &buf);
    PutBigEndian(8, 4, &buf);
    PutBigEndian(static_cast<uint64_t>(seq), 8, &buf);
    PutBigEndian(4, 4, &buf);
    PutBigEndian(part, 4, &buf);
    PutBigEndian(data.size(), 4, &buf);
    buf.append(data);
    if (buf.size() >= (size_t{1} << 20) || part + 1 == parts) {
      if (part + 1 == parts) PutBigEndian(0xffff, 2, &buf);  // The trailer: -1 fields.
      if (PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1) {
        return Failure(conn, "COPY parts");
      }
      buf.clear();
    }
  }
  if (parts == 0) {
    PutBigEndian(0xffff, 2, &buf);
    if (PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1) {
      return Failure(conn, "COPY parts");
    }
  }
  if (PQputCopyEnd(conn, nullptr) != 1) return Failure(conn, "COPY parts");
  RawResult end(PQgetResult(conn));
  if (!end || PQresultStatus(end.get()) != PGRES_COMMAND_OK) return Failure(conn, "COPY parts");
  while (RawResult more{PQgetResult(conn)}) {
  }
  return absl::OkStatus();
}

// Appends the next parts of snapshot `seq_text`, from `*next`, a few MB (one query) at a time;
// false when there are none left.
absl::StatusOr<bool> ReadParts(PGconn* conn, const std::string& seq_text, int64_t* next,
                               std::string* out) {
  LEDGER_ASSIGN_OR_RETURN(
      RawResult r, Exec(conn,
                        "SELECT part, data FROM fold_snapshot_part WHERE seq = $1 AND part >= $2 "
                        "ORDER BY part LIMIT $3",
                        {seq_text, std::to_string(*next), std::to_string(kSnapshotReadParts)},
                        /*binary=*/true));
  for (int row = 0; row < PQntuples(r.get()); ++row) {
    if (PQgetlength(r.get(), row, 0) != 4) return absl::DataLossError("a part number not int4");
    const auto* p = reinterpret_cast<const uint8_t*>(PQgetvalue(r.get(), row, 0));
    const int64_t part = (int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if (part != *next) {
      return absl::DataLossError(
          StrCat("the fold snapshot at seq ", seq_text, " has no part ", *next));
    }
    out->append(PQgetvalue(r.get(), row, 1), static_cast<size_t>(PQgetlength(r.get(), row, 1)));
    ++*next;
  }
  return PQntuples(r.get()) > 0;
}

// Runs `decode` over the bytes `refill` pulls, hashing and counting them on the way; `*intact` says
// whether they were exactly the bytes `stored` describes (when the decoder fails, the rest is read
// too, so that damage is told apart from whatever the decoder tripped on). `tee`, when given, sees
// every byte.
absl::Status DecodeChecked(const std::function<bool(std::string*)>& refill,
                           const SnapshotDecoder& decode, const StoredSnapshot& stored,
                           SnapshotCache::Writer* tee, bool* intact) {
  Sha256Stream checksum;
  size_t bytes = 0;
  ByteReader in([&](std::string* out) {
    const size_t before = out->size();
    const bool more = refill(out);
    const std::string_view added = std::string_view(*out).substr(before);
    checksum.Update(added);
    if (tee != nullptr) tee->Append(added);
    bytes += added.size();
    return more;
  });
  absl::Status decoded = decode(stored.seq, stored.hash, stored.format, in);
  if (!decoded.ok()) in.Drain();  // Read the rest: is it damage?
  const std::string sum = ToHex(checksum.Finish());
  *intact = bytes == stored.bytes && sum == stored.checksum;
  if (!*intact) {
    return absl::DataLossError(StrCat("the fold snapshot at seq ", stored.seq, " has ", bytes,
                                      " bytes with checksum ", sum, "; it was stored with ",
                                      stored.bytes, " bytes and ", stored.checksum));
  }
  return decoded;
}

}  // namespace

// One REPEATABLE READ transaction, so that the parts are those of the row checked. A local copy
// is used only when its bytes are the stored ones; one that is not is removed and the database's
// bytes decoded instead (decode runs again, on a new fold), and cached for the next start.
absl::StatusOr<bool> SnapshotStore::LoadLatest(const SnapshotDecoder& decode, int64_t at_most) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(false, "reading a fold snapshot"));
  LEDGER_ASSIGN_OR_RETURN(RawConn conn, Connect(*conn_));
  LEDGER_RETURN_IF_ERROR(
      Exec(conn.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}).status());
  LEDGER_ASSIGN_OR_RETURN(
      RawResult head,
      Exec(conn.get(),
           "SELECT s.seq, s.hash, s.format, s.bytes, s.checksum, h.hash FROM fold_snapshot s "
           "LEFT JOIN \"BetHistory\" h ON h.seq = s.seq WHERE s.seq <= $1 "
           "ORDER BY s.seq DESC LIMIT 1",
           {std::to_string(at_most)}));
  if (PQntuples(head.get()) == 0) return false;
  auto text = [&head](int column) { return std::string(PQgetvalue(head.get(), 0, column)); };
  const std::string seq_text = text(0);
  const int64_t seq = std::stoll(seq_text);
  const std::string hash = text(1);
  if (PQgetisnull(head.get(), 0, 5)) {
    return absl::FailedPreconditionError(
        StrCat("the log has no row at seq ", seq, ", where the fold snapshot was made"));
  }
  if (text(5) != hash) {
    return absl::FailedPreconditionError(StrCat("the log's row at seq ", seq, " has hash ", text(5),
                                                ", not ", hash,
                                                " as when the fold snapshot was made"));
  }
  const StoredSnapshot stored{seq, FromHex(hash).value_or(Sha256{}), std::stoi(text(2)),
                              static_cast<size_t>(std::stoull(text(3))), text(4)};
  bool intact = false;
  if (std::optional<SnapshotCache::Reader> local = cache_.Open(stored.checksum, stored.bytes)) {
    absl::Status decoded = DecodeChecked([&local](std::string* out) { return local->Read(out); },
                                         decode, stored, nullptr, &intact);
    if (intact) {
      LEDGER_RETURN_IF_ERROR(decoded);
      return true;
    }
    cache_.Remove(stored.checksum);
  }
  absl::Status read = absl::OkStatus();
  int64_t next_part = 0;
  SnapshotCache::Writer tee = cache_.Create(stored.checksum);
  // Parts are read as the decoder needs them. (Reading them on a thread of their own, ahead of the
  // decoder, bought nothing on 2 cores: the server sending them needs the other one.)
  absl::Status decoded = DecodeChecked(
      [&](std::string* out) {
        absl::StatusOr<bool> more = ReadParts(conn.get(), seq_text, &next_part, out);
        if (!more.ok()) read = more.status();
        return more.ok() && *more;
      },
      decode, stored, &tee, &intact);
  LEDGER_RETURN_IF_ERROR(read);
  LEDGER_RETURN_IF_ERROR(decoded);
  (void)tee.Commit();  // Best effort: without it the next start reads the database again.
  return true;
}

absl::StatusOr<int64_t> SnapshotStore::LatestSeq() {
  LEDGER_RETURN_IF_ERROR(conn_->Require(false, "reading a fold snapshot"));
  try {
    pqxx::read_transaction tx(*conn_->conn);
    pqxx::result r = tx.exec("SELECT COALESCE(max(seq), 0) FROM fold_snapshot");
    return r[0][0].as<int64_t>();
  } catch (const std::exception& e) {
    return conn_->Error(e, "read the fold snapshot's position");
  }
}

absl::Status SnapshotStore::Save(int64_t seq, const Sha256& hash, int format,
                                 std::string_view bytes) {
  LEDGER_RETURN_IF_ERROR(conn_->Require(false, "saving a fold snapshot"));
  LEDGER_ASSIGN_OR_RETURN(RawConn conn, Connect(*conn_));
  const std::string seq_text = std::to_string(seq);
  const std::string checksum = ToHex(Sha256Of(bytes));
  LEDGER_RETURN_IF_ERROR(Exec(conn.get(), "BEGIN", {}).status());
  LEDGER_RETURN_IF_ERROR(
      Exec(conn.get(), "DELETE FROM fold_snapshot WHERE seq = $1", {seq_text}).status());
  LEDGER_RETURN_IF_ERROR(
      Exec(conn.get(),
           "INSERT INTO fold_snapshot (seq, hash, format, bytes, checksum) "
           "VALUES ($1, $2, $3, $4, $5)",
           {seq_text, ToHex(hash), std::to_string(format), std::to_string(bytes.size()), checksum})
          .status());
  LEDGER_RETURN_IF_ERROR(CopyParts(conn.get(), seq, bytes));
  LEDGER_RETURN_IF_ERROR(Exec(conn.get(),
                              "DELETE FROM fold_snapshot WHERE seq NOT IN "
                              "(SELECT seq FROM fold_snapshot ORDER BY seq DESC LIMIT $1)",
                              {std::to_string(kSnapshotsKept)})
                             .status());
  RawResult commit(PQexec(conn.get(), "COMMIT"));
  if (!commit || PQresultStatus(commit.get()) != PGRES_COMMAND_OK) {
    // Unknown outcome: the snapshot is or is not there, and either is fine (a later save or the
    // next load settles it); say it failed.
    return Failure(conn.get(), StrCat("commit the fold snapshot at seq ", seq));
  }
  SnapshotCache::Writer local = cache_.Create(checksum);
  local.Append(bytes);
  (void)local.Commit();  // Best effort, as in LoadLatest.
  return absl::OkStatus();
}

}  // namespace ledger::pg
