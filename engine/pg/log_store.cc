#include "engine/pg/log_store.h"

#include <algorithm>
#include <deque>
#include <pqxx/pqxx>
#include <pqxx/stream_from>
#include <pqxx/tablewriter>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/json.hpp"
#include "engine/conn_string.h"
#include "engine/hash_chain.h"
#include "engine/pg/migrate.h"
#include "engine/pg/pg_errors.h"
#include "engine/status_macros.h"
#include "engine/time_format.h"
#include "engine/str_cat.h"

// tablewriter is deprecated in libpqxx 6.4, but its write_raw_line is the only public way to send COPY
// rows we escaped ourselves; stream_to cannot take optional columns from a runtime container.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace ledger::pg {
namespace {

namespace json = boost::json;

// Column order shared by Scan/Read (SELECT) and Write (COPY).
constexpr std::string_view kColumns =
    "seq, id, \"identityKey\", \"streamId\", \"streamVersion\", \"recordedAt\", \"eventId\", action, "
    "\"createdAt\", \"betId\", \"marketId\", wallet, choice, amount, \"betNumber\", \"txHash\", "
    "reason, severity, \"clawbackAmount\", \"clawbackTxHash\", winner, question, \"startDate\", "
    "\"endDate\", \"contractAddress\", \"gnosisSafeAddress\", \"prevHash\", hash";
// The same names, quoted, for the COPY column list.
const std::vector<std::string> kColumnList = {
    "seq", "id", "\"identityKey\"", "\"streamId\"", "\"streamVersion\"", "\"recordedAt\"",
    "\"eventId\"", "action", "\"createdAt\"", "\"betId\"", "\"marketId\"", "wallet", "choice",
    "amount", "\"betNumber\"", "\"txHash\"", "reason", "severity", "\"clawbackAmount\"",
    "\"clawbackTxHash\"", "winner", "question", "\"startDate\"", "\"endDate\"",
    "\"contractAddress\"", "\"gnosisSafeAddress\"", "\"prevHash\"", "hash"};

// The advisory lock that serializes appenders ("LEDGAPND").
constexpr int64_t kAppendLockKey = 0x4c45444741504e44;
// The advisory lock that serializes projection writers ("LEDGPROJ").
constexpr int64_t kProjectionLockKey = 0x4c45444750524f4a;
// NOTIFY channel on which appenders announce the new head position.
constexpr char kAppendChannel[] = "ledger_appended";
// NOTIFY channel on which projection writers announce the position their checkpoints reached.
constexpr char kProjectionChannel[] = "ledger_projected";

std::string Quote(std::string_view name) { return StrCat("\"", name, "\""); }

std::string ColumnList(const std::vector<std::string>& columns) {
  std::string out;
  for (const std::string& c : columns) {
    if (!out.empty()) out += ", ";
    out += Quote(c);
  }
  return out;
}

// The columns, quoted, timestamps as to_char(..., 'YYYY-MM-DD HH24:MI:SS.US') so that they read back
// like FormatPgTimestamp writes them.
std::string SelectList(const std::vector<std::string>& columns,
                       const std::vector<std::string>& timestamp_columns) {
  std::string select;
  for (const std::string& c : columns) {
    if (!select.empty()) select += ", ";
    const bool is_time = std::find(timestamp_columns.begin(), timestamp_columns.end(), c) !=
                         timestamp_columns.end();
    select += is_time ? StrCat("to_char(", Quote(c), ", 'YYYY-MM-DD HH24:MI:SS.US')") : Quote(c);
  }
  return select;
}


absl::Status Corrupt(int64_t seq, std::string_view column, std::string_view value) {
  return absl::DataLossError(
      StrCat("log row at seq ", seq, " has an unreadable ", column, ": ", value));
}

// One row's fields as text, whatever they were read with.
class Fields {
 public:
  virtual ~Fields() = default;
  virtual bool null(int column) const = 0;
  virtual std::string_view text(int column) const = 0;
};

// A row of a pqxx::result.
class ResultFields : public Fields {
 public:
  explicit ResultFields(const pqxx::row& row) : row_(row) {}
  bool null(int column) const override { return row_[column].is_null(); }
  std::string_view text(int column) const override {
    return std::string_view(row_[column].c_str(), row_[column].size());
  }

 private:
  const pqxx::row& row_;
};

// A line of COPY ... TO STDOUT in text format: fields split at tabs, \N is NULL, and backslash
// escapes (\b \f \n \r \t \v, \digits octal, \xhex, \c for any other c) undone. Views point into the
// line, or into this object for the (rare) fields that had escapes: valid until the next Parse.
class CopyLineFields : public Fields {
 public:
  // False when the line does not have `columns` fields.
  bool Parse(std::string_view line, size_t columns) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    fields_.clear();
    unescaped_used_ = 0;
    size_t start = 0;
    for (;;) {
      const size_t tab = line.find('\t', start);
      const std::string_view field =
          line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
      if (field == "\\N") {
        fields_.emplace_back(std::nullopt);
      } else if (field.find('\\') == std::string_view::npos) {
        fields_.emplace_back(field);
      } else {
        fields_.emplace_back(Unescape(field));
      }
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    return fields_.size() == columns;
  }
  bool null(int column) const override { return !fields_[static_cast<size_t>(column)]; }
  std::string_view text(int column) const override {
    return fields_[static_cast<size_t>(column)].value_or(std::string_view());
  }

 private:
  std::string_view Unescape(std::string_view field) {
    if (unescaped_used_ == unescaped_.size()) unescaped_.emplace_back();
    std::string& out = unescaped_[unescaped_used_++];
    out.clear();
    for (size_t i = 0; i < field.size(); ++i) {
      if (field[i] != '\\' || i + 1 == field.size()) {
        out.push_back(field[i]);
        continue;
      }
      const char c = field[++i];
      auto digit = [](char d, int base) -> int {
        const int v = d >= '0' && d <= '9' ? d - '0'
                      : d >= 'a' && d <= 'f' ? d - 'a' + 10
                      : d >= 'A' && d <= 'F' ? d - 'A' + 10
                                             : 99;
        return v < base ? v : -1;
      };
      switch (c) {
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x': {
          int value = 0;
          int n = 0;
          while (n < 2 && i + 1 < field.size() && digit(field[i + 1], 16) >= 0) {
            value = value * 16 + digit(field[++i], 16);
            ++n;
          }
          if (n == 0) {
            out.push_back('x');
          } else {
            out.push_back(static_cast<char>(value));
          }
          break;
        }
        default:
          if (digit(c, 8) >= 0) {
            int value = digit(c, 8);
            for (int n = 1; n < 3 && i + 1 < field.size() && digit(field[i + 1], 8) >= 0; ++n) {
              value = value * 8 + digit(field[++i], 8);
            }
            out.push_back(static_cast<char>(value));
          } else {
            out.push_back(c);
          }
      }
    }
    return out;
  }

  std::vector<std::optional<std::string_view>> fields_;
  std::deque<std::string> unescaped_;  // Stable addresses; reused across lines.
  size_t unescaped_used_ = 0;
};

absl::StatusOr<LoggedEvent> ParseRow(const Fields& r) {
  LoggedEvent out;
  auto integer = [&](int column, std::string_view name, auto* dst) -> absl::Status {
    const std::string_view t = r.text(column);
    if (!absl::SimpleAtoi(absl::string_view(t.data(), t.size()), dst)) {
      return Corrupt(out.seq, name, t);
    }
    return absl::OkStatus();
  };
  auto text = [&](int column) -> std::optional<std::string> {
    if (r.null(column)) return std::nullopt;
    return std::string(r.text(column));
  };
  auto time = [&](int column, std::string_view name) -> absl::StatusOr<TimeMicros> {
    std::optional<TimeMicros> t = ParsePgTimestamp(r.text(column));
    if (!t) return Corrupt(out.seq, name, r.text(column));
    return *t;
  };
  auto optional_time = [&](int column, std::string_view name,
                           std::optional<TimeMicros>* dst) -> absl::Status {
    if (r.null(column)) return absl::OkStatus();
    LEDGER_ASSIGN_OR_RETURN(*dst, time(column, name));
    return absl::OkStatus();
  };
  auto micros = [&](int column, std::string_view name, std::optional<Micros>* dst) -> absl::Status {
    if (r.null(column)) return absl::OkStatus();
    int64_t v = 0;
    LEDGER_RETURN_IF_ERROR(integer(column, name, &v));
    *dst = Micros(v);
    return absl::OkStatus();
  };
  // A column holding one of an enum's names (`parse` returns nullopt for anything else).
  auto named = [&](int column, std::string_view name, auto parse, auto* dst) -> absl::Status {
    if (r.null(column)) return absl::OkStatus();
    *dst = parse(r.text(column));
    if (!*dst) return Corrupt(out.seq, name, r.text(column));
    return absl::OkStatus();
  };
  auto hash = [&](int column, std::string_view name, Sha256* dst) -> absl::Status {
    std::optional<Sha256> h = FromHex(r.text(column));
    if (!h) return Corrupt(out.seq, name, r.text(column));
    *dst = *h;
    return absl::OkStatus();
  };
  LEDGER_RETURN_IF_ERROR(integer(0, "seq", &out.seq));
  out.id = std::string(r.text(1));
  out.identity_key = std::string(r.text(2));
  out.stream_id = std::string(r.text(3));
  LEDGER_RETURN_IF_ERROR(integer(4, "streamVersion", &out.stream_version));
  LEDGER_ASSIGN_OR_RETURN(out.recorded_at, time(5, "recordedAt"));
  Event& e = out.event;
  e.event_id = text(6);
  std::optional<Action> action = ParseAction(r.text(7));
  if (!action) return Corrupt(out.seq, "action", r.text(7));
  e.action = *action;
  LEDGER_ASSIGN_OR_RETURN(e.created_at, time(8, "createdAt"));
  e.bet_id = text(9);
  e.market_id = text(10);
  e.wallet = text(11);
  LEDGER_RETURN_IF_ERROR(named(12, "choice", ParseChoice, &e.choice));
  LEDGER_RETURN_IF_ERROR(micros(13, "amount", &e.amount));
  if (!r.null(14)) {
    int32_t n = 0;
    LEDGER_RETURN_IF_ERROR(integer(14, "betNumber", &n));
    e.bet_number = n;
  }
  e.tx_hash = text(15);
  e.reason = text(16);
  LEDGER_RETURN_IF_ERROR(named(17, "severity", ParseSeverity, &e.severity));
  LEDGER_RETURN_IF_ERROR(micros(18, "clawbackAmount", &e.clawback_amount));
  e.clawback_tx_hash = text(19);
  LEDGER_RETURN_IF_ERROR(named(20, "winner", ParseChoice, &e.winner));
  e.question = text(21);
  LEDGER_RETURN_IF_ERROR(optional_time(22, "startDate", &e.start_date));
  LEDGER_RETURN_IF_ERROR(optional_time(23, "endDate", &e.end_date));
  e.contract_address = text(24);
  e.gnosis_safe_address = text(25);
  LEDGER_RETURN_IF_ERROR(hash(26, "prevHash", &out.prev_hash));
  LEDGER_RETURN_IF_ERROR(hash(27, "hash", &out.hash));
  return out;
}

// COPY text format: backslash, tab, newline and carriage return escaped; \N is NULL. UTF-8 is safe
// byte by byte because multi-byte sequences never contain ASCII bytes.
void PutCopyField(const std::optional<std::string_view>& value, std::string* line) {
  if (!line->empty()) line->push_back('\t');
  if (!value) {
    line->append("\\N");
    return;
  }
  for (char c : *value) {
    switch (c) {
      case '\\': line->append("\\\\"); break;
      case '\t': line->append("\\t"); break;
      case '\n': line->append("\\n"); break;
      case '\r': line->append("\\r"); break;
      default: line->push_back(c);
    }
  }
}

void EncodeCopyLine(const LoggedEvent& row, std::string* line) {
  line->clear();
  const Event& e = row.event;
  auto text = [line](const std::optional<std::string>& v) {
    PutCopyField(v ? std::optional<std::string_view>(*v) : std::nullopt, line);
  };
  auto str = [line](std::string_view v) { PutCopyField(v, line); };
  auto num = [line](std::optional<int64_t> v) {
    if (v) {
      PutCopyField(StrCat(*v), line);
    } else {
      PutCopyField(std::nullopt, line);
    }
  };
  auto time = [line](std::optional<TimeMicros> v) {
    if (v) {
      PutCopyField(FormatPgTimestamp(*v), line);
    } else {
      PutCopyField(std::nullopt, line);
    }
  };
  auto micros = [&num](const std::optional<Micros>& v) {
    num(v ? std::optional<int64_t>(v->value()) : std::nullopt);
  };
  auto choice = [line](const std::optional<Choice>& v) {
    PutCopyField(v ? std::optional<std::string_view>(ChoiceName(*v)) : std::nullopt, line);
  };
  num(row.seq);
  str(row.id);
  str(row.identity_key);
  str(row.stream_id);
  num(row.stream_version);
  time(row.recorded_at);
  text(e.event_id);
  str(ActionName(e.action));
  time(e.created_at);
  text(e.bet_id);
  text(e.market_id);
  text(e.wallet);
  choice(e.choice);
  micros(e.amount);
  num(e.bet_number ? std::optional<int64_t>(*e.bet_number) : std::nullopt);
  text(e.tx_hash);
  text(e.reason);
  PutCopyField(e.severity ? std::optional<std::string_view>(SeverityName(*e.severity))
                          : std::nullopt,
               line);
  micros(e.clawback_amount);
  text(e.clawback_tx_hash);
  choice(e.winner);
  text(e.question);
  time(e.start_date);
  time(e.end_date);
  text(e.contract_address);
  text(e.gnosis_safe_address);
  str(ToHex(row.prev_hash));
  str(ToHex(row.hash));
}

}  // namespace

// Sets a flag when a notification arrives on its channel.
class NoticeListener : public pqxx::notification_receiver {
 public:
  NoticeListener(pqxx::connection_base& conn, const char* channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string&, int) override { notified = true; }
  bool notified = false;
};

namespace {

void CopyFrom(pqxx::work& tx, const std::string& table, const std::vector<std::string>& columns,
              const std::function<void(const RowSink&)>& produce) {
  std::vector<std::string> quoted;
  for (const std::string& c : columns) quoted.push_back(Quote(c));
  pqxx::tablewriter writer(tx, table, quoted.begin(), quoted.end());
  std::string line;
  produce([&](const Row& row) {
    line.clear();
    for (const std::optional<std::string>& field : row) {
      PutCopyField(field ? std::optional<std::string_view>(*field) : std::nullopt, &line);
    }
    writer.write_raw_line(line);
  });
  writer.complete();
}

// `rows` as a JSON array of objects keyed by column name (NULL as null), for
// json_populate_recordset: the server converts each value with the column type's own input function.
std::string RowsAsJson(const TableRows& rows) {
  json::monotonic_resource arena;
  json::array out(&arena);
  out.reserve(rows.rows.size());
  for (const Row& row : rows.rows) {
    json::object o(&arena);
    o.reserve(rows.columns.size());
    for (size_t c = 0; c < rows.columns.size(); ++c) {
      if (row[c]) {
        o.emplace(rows.columns[c], json::string_view(*row[c]));
      } else {
        o.emplace(rows.columns[c], nullptr);
      }
    }
    out.emplace_back(std::move(o));
  }
  return json::serialize(out);
}

}  // namespace

struct LogStore::Impl {
  std::string conn_string;  // Kept to reconnect; never printed (masked_conn is).
  std::string masked_conn;
  pqxx::connection conn;
  std::unique_ptr<pqxx::work> batch;  // The open transaction, if any.
  bool projection_locked = false;     // The projection lock is held by `batch`.
  std::unique_ptr<NoticeListener> append_listener;
  std::unique_ptr<NoticeListener> projection_listener;

  explicit Impl(const std::string& conn_string)
      : conn_string(conn_string), masked_conn(MaskPassword(conn_string)), conn(conn_string) {
    conn.set_client_encoding("UTF8");
  }

  // Waits up to `timeout_ms` for a notification on `channel` (LISTENing on first use); whether one
  // came.
  absl::StatusOr<bool> Wait(std::unique_ptr<NoticeListener>& listener, const char* channel,
                            int timeout_ms) {
    if (batch) return absl::FailedPreconditionError("waiting for notifications inside a transaction");
    try {
      if (!listener) listener = std::make_unique<NoticeListener>(conn, channel);
      listener->notified = false;
      conn.get_notifs();
      if (!listener->notified) {
        conn.await_notification(timeout_ms / 1000, (timeout_ms % 1000) * 1000L);
      }
      return listener->notified;
    } catch (const std::exception& e) {
      listener.reset();
      return Error(e, StrCat("wait for notifications on ", channel));
    }
  }

  // TranslateException, plus what only the connection knows: an error after which the connection
  // is closed is an outage (kUnavailable), and an outage while committing leaves the outcome unknown
  // (kUnknown), so that callers retry (engine/retry.h) and resolve through the identities.
  absl::Status Error(const std::exception& e, std::string_view context, bool committing = false) {
    absl::Status status = TranslateException(e, context);
    if (!absl::IsUnavailable(status) && !absl::IsUnknown(status) && !conn.is_open()) {
      status = absl::UnavailableError(StrCat(status.message(), " (connection lost)"));
    }
    if (committing && absl::IsUnavailable(status)) {
      return absl::UnknownError(StrCat(status.message(), ": commit outcome unknown"));
    }
    return status;
  }

  // Runs `COPY <query> TO STDOUT` in `tx` and hands each line (with its newline) to `on_line`. When
  // `on_line` fails, the server is told to stop sending and the rest is drained unread (the COPY then
  // ends with an error and `tx` is left to be rolled back): returns that failure. Throws what libpqxx
  // throws otherwise.
  absl::Status CopyOut(pqxx::transaction_base& tx, const std::string& query,
                       const std::function<absl::Status(const std::string&)>& on_line) {
    pqxx::stream_from copy(tx, query);
    std::string line;
    while (copy.get_raw_line(line)) {
      if (absl::Status status = on_line(line); !status.ok()) {
        conn.cancel_query();
        try {
          while (copy.get_raw_line(line)) {
          }
        } catch (const std::exception&) {
          // The cancelled COPY's own error.
        }
        return status;
      }
    }
    copy.complete();
    return absl::OkStatus();
  }

  // Runs a constant query inside the open transaction, or in a read-only one of its own.
  pqxx::result Read(const char* query) {
    if (batch) return batch->exec(query);
    pqxx::read_transaction tx(conn);
    return tx.exec(query);
  }

  // Runs `read(tx)` inside the open transaction, or in a read-only one of its own, with sorting
  // disabled for its statements: a read of the log by position then always plans the seq index,
  // whatever the statistics say (a freshly appended, never analyzed log otherwise gets "seq scan +
  // sort": a read of the whole table for every short tail, or the whole log spilled to disk first).
  // Sorting is restored when `read` succeeded inside the caller's transaction, which goes on.
  absl::Status InSeqOrder(const std::function<absl::Status(pqxx::transaction_base&)>& read) {
    auto run = [&](pqxx::transaction_base& tx) {
      tx.exec("SET LOCAL enable_sort = off");
      absl::Status status = read(tx);
      if (status.ok() && batch) tx.exec("SET LOCAL enable_sort = on");
      return status;
    };
    if (batch) return run(*batch);
    pqxx::read_transaction tx(conn);
    return run(tx);
  }
};

LogStore::LogStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LogStore::~LogStore() { Abort(); }

absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Open(const std::string& conn_string) {
  try {
    auto impl = std::make_unique<Impl>(conn_string);
    return std::unique_ptr<LogStore>(new LogStore(std::move(impl)));
  } catch (const std::exception& e) {
    return TranslateException(e, StrCat("connect to ", MaskPassword(conn_string)));
  }
}

absl::Status LogStore::Reconnect() {
  Abort();
  try {
    impl_ = std::make_unique<Impl>(impl_->conn_string);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return TranslateException(e, StrCat("reconnect to ", impl_->masked_conn));
  }
}

absl::Status LogStore::Migrate(MigrateReport* report) {
  return pg::Migrate(impl_->conn, EmbeddedMigrations(), report);
}

absl::Status LogStore::ApplyRoles() {
  if (impl_->batch) return absl::FailedPreconditionError("ApplyRoles inside a transaction");
  try {
    pqxx::work tx(impl_->conn);
    tx.exec0(EmbeddedRolesSql());
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return impl_->Error(e, "create the ledger roles");
  }
}

absl::Status LogStore::Scan(int64_t after_seq,
                            const std::function<absl::Status(const LoggedEvent&)>& fn) {
  const std::string query =
      StrCat("SELECT ", kColumns, " FROM \"BetHistory\" WHERE seq > $1 ORDER BY seq LIMIT $2");
  try {
    for (;;) {
      pqxx::result page;
      LEDGER_RETURN_IF_ERROR(impl_->InSeqOrder([&](pqxx::transaction_base& tx) {
        page = tx.exec_params(query, after_seq, kScanPageRows);
        return absl::OkStatus();
      }));
      for (const pqxx::row& r : page) {
        LEDGER_ASSIGN_OR_RETURN(LoggedEvent row, ParseRow(ResultFields(r)));
        LEDGER_RETURN_IF_ERROR(fn(row));
        after_seq = row.seq;
      }
      if (static_cast<int64_t>(page.size()) < kScanPageRows) return absl::OkStatus();
    }
  } catch (const std::exception& e) {
    return impl_->Error(e, "scan the log");
  }
}

absl::Status LogStore::Stream(int64_t after_seq,
                              const std::function<absl::Status(const LoggedEvent&)>& fn) {
  // One COPY (text) of everything after `after_seq`, parsed line by line as it arrives: the server
  // produces rows while this thread folds them (docs/performance.md), in seq order (Impl::InSeqOrder).
  // COPY takes no parameters: the query holds only an integer formatted here.
  constexpr size_t kColumnCount = 28;
  const std::string select = StrCat("(SELECT ", kColumns, " FROM \"BetHistory\" WHERE seq > ",
                                    after_seq, " ORDER BY seq)");
  CopyLineFields fields;
  try {
    return impl_->InSeqOrder([&](pqxx::transaction_base& tx) {
      return impl_->CopyOut(tx, select, [&](const std::string& line) -> absl::Status {
        if (!fields.Parse(line, kColumnCount)) {
          return absl::DataLossError(StrCat("a log row after seq ", after_seq,
                                            " has an unexpected shape: ", line.substr(0, 200)));
        }
        LEDGER_ASSIGN_OR_RETURN(LoggedEvent row, ParseRow(fields));
        absl::Status s = fn(row);
        after_seq = row.seq;
        return s;
      });
    });
  } catch (const std::exception& e) {
    return impl_->Error(e, "stream the log");
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

absl::StatusOr<std::pair<int64_t, Sha256>> LogStore::Head() {
  try {
    pqxx::read_transaction tx(impl_->conn);
    pqxx::result r = tx.exec("SELECT seq, hash FROM \"BetHistory\" ORDER BY seq DESC LIMIT 1");
    if (r.empty()) return std::make_pair(int64_t{0}, Sha256{});
    std::optional<Sha256> hash = FromHex(r[0][1].c_str());
    if (!hash) return Corrupt(r[0][0].as<int64_t>(), "hash", r[0][1].c_str());
    return std::make_pair(r[0][0].as<int64_t>(), *hash);
  } catch (const std::exception& e) {
    return impl_->Error(e, "read the log head");
  }
}

absl::StatusOr<TimeMicros> LogStore::BeginAppend() {
  Abort();
  try {
    impl_->batch = std::make_unique<pqxx::work>(impl_->conn);
    impl_->batch->exec_params("SELECT pg_advisory_xact_lock($1)", kAppendLockKey);
    // After the lock, so that recordedAt never runs behind a batch committed before this one.
    pqxx::result r = impl_->batch->exec("SELECT clock_timestamp() AT TIME ZONE 'UTC'");
    std::optional<TimeMicros> now = ParsePgTimestamp(r[0][0].c_str());
    if (!now) return absl::InternalError(StrCat("bad server time ", r[0][0].c_str()));
    return *now;
  } catch (const std::exception& e) {
    impl_->batch.reset();
    return impl_->Error(e, "begin append");
  }
}

absl::Status LogStore::Write(std::span<const LoggedEvent> rows) {
  if (!impl_->batch) return absl::FailedPreconditionError("Write outside a batch");
  try {
    pqxx::tablewriter writer(*impl_->batch, "\"BetHistory\"", kColumnList.begin(),
                             kColumnList.end());
    std::string line;
    line.reserve(1024);
    for (const LoggedEvent& row : rows) {
      EncodeCopyLine(row, &line);
      writer.write_raw_line(line);
    }
    writer.complete();
    if (!rows.empty()) {
      impl_->batch->exec_params("SELECT pg_notify($1, $2)", kAppendChannel,
                                std::to_string(rows.back().seq));
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return impl_->Error(e, "write log rows");
  }
}

absl::Status LogStore::BeginProjection() {
  try {
    if (!impl_->batch) impl_->batch = std::make_unique<pqxx::work>(impl_->conn);
    if (!impl_->projection_locked) {
      impl_->batch->exec_params("SELECT pg_advisory_xact_lock($1)", kProjectionLockKey);
      impl_->projection_locked = true;
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    Abort();
    return impl_->Error(e, "begin projection");
  }
}

absl::Status LogStore::Upsert(const TableRows& rows) {
  if (!impl_->batch) return absl::FailedPreconditionError("Upsert outside a transaction");
  if (rows.rows.empty()) return absl::OkStatus();
  const std::string table = Quote(rows.table);
  const std::string columns = ColumnList(rows.columns);
  std::string updates;
  for (size_t i = 1; i < rows.columns.size(); ++i) {
    if (!updates.empty()) updates += ", ";
    updates += StrCat(Quote(rows.columns[i]), " = EXCLUDED.", Quote(rows.columns[i]));
  }
  try {
    // One statement, the rows one JSON parameter typed by the table's own row type: no staging
    // table (whose CREATE, COPY and TRUNCATE were three more round trips and catalog churn per
    // flush), and no session state, which transaction-pooling PgBouncer requires.
    impl_->batch->exec_params(
        StrCat("INSERT INTO ", table, " (", columns, ") SELECT ", columns,
               " FROM json_populate_recordset(NULL::", table, ", $1::json) ON CONFLICT (",
               Quote(rows.columns[0]), ") DO UPDATE SET ", updates),
        RowsAsJson(rows));
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return impl_->Error(e, StrCat("upsert ", rows.table));
  }
}

absl::Status LogStore::SetCheckpoints(const std::vector<std::string>& projections, int64_t seq) {
  if (!impl_->batch) return absl::FailedPreconditionError("SetCheckpoints outside a transaction");
  if (projections.empty()) return absl::OkStatus();
  json::array names;
  for (const std::string& p : projections) names.emplace_back(p);
  try {
    // The notification (delivered at COMMIT, with the rows) tells LISTENers that the projections
    // reached `seq`: a service that wants to read its own writes waits for it.
    impl_->batch->exec_params(
        "WITH moved AS (INSERT INTO projection_checkpoint (projection, seq) "
        "SELECT json_array_elements_text($1::json), $2::bigint "
        "ON CONFLICT (projection) DO UPDATE SET seq = EXCLUDED.seq, "
        "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC' RETURNING 1) "
        "SELECT pg_notify($3, $2::bigint::text) FROM moved LIMIT 1",
        json::serialize(names), seq, kProjectionChannel);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return impl_->Error(e, "set checkpoints");
  }
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> LogStore::ReadCheckpoints() {
  const char* query = "SELECT projection, seq FROM projection_checkpoint ORDER BY projection";
  try {
    pqxx::result r = impl_->Read(query);
    std::vector<std::pair<std::string, int64_t>> out;
    for (const pqxx::row& row : r) out.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
    return out;
  } catch (const std::exception& e) {
    return impl_->Error(e, "read checkpoints");
  }
}

absl::StatusOr<int64_t> LogStore::TrimSnapshots(TimeMicros kept_from) {
  if (!impl_->batch || !impl_->projection_locked) {
    return absl::FailedPreconditionError("TrimSnapshots outside a projection transaction");
  }
  const std::string horizon = FormatPgTimestamp(kept_from);
  try {
    pqxx::result deleted = impl_->batch->exec_params(
        "DELETE FROM \"PoolSnapshot\" WHERE \"createdAt\" < $1::timestamp", horizon);
    impl_->batch->exec_params(
        "INSERT INTO projection_retention (projection, \"keptFrom\") "
        "VALUES ('pool_snapshot', $1::timestamp) ON CONFLICT (projection) DO UPDATE SET "
        "\"keptFrom\" = GREATEST(projection_retention.\"keptFrom\", EXCLUDED.\"keptFrom\"), "
        "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC'",
        horizon);
    return static_cast<int64_t>(deleted.affected_rows());
  } catch (const std::exception& e) {
    return impl_->Error(e, "trim snapshots");
  }
}

absl::StatusOr<std::optional<TimeMicros>> LogStore::SnapshotHorizon() {
  const char* query =
      "SELECT to_char(\"keptFrom\", 'YYYY-MM-DD HH24:MI:SS.US') FROM projection_retention "
      "WHERE projection = 'pool_snapshot'";
  try {
    pqxx::result r = impl_->Read(query);
    if (r.empty()) return std::optional<TimeMicros>();
    std::optional<TimeMicros> t = ParsePgTimestamp(r[0][0].as<std::string>());
    if (!t) return absl::DataLossError("projection_retention.keptFrom is not a timestamp");
    return t;
  } catch (const std::exception& e) {
    return impl_->Error(e, "read the snapshot horizon");
  }
}

absl::Status LogStore::FillShadowTables(const std::vector<TableSource>& tables) {
  Abort();
  try {
    pqxx::work tx(impl_->conn);
    for (const TableSource& t : tables) {
      const std::string shadow = Quote(StrCat("ledger_shadow_", t.table));
      tx.exec0(StrCat("DROP TABLE IF EXISTS ", shadow));
      // UNLOGGED: a staging copy that a crash may lose; it is refilled by the next rebuild.
      tx.exec0(StrCat("CREATE UNLOGGED TABLE ", shadow, " (LIKE ", Quote(t.table),
                      " INCLUDING DEFAULTS)"));
      CopyFrom(tx, shadow, t.columns, t.produce);
    }
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return impl_->Error(e, "fill shadow tables");
  }
}

absl::Status LogStore::SwapShadowTables(const std::vector<TableSource>& tables) {
  if (!impl_->batch || !impl_->projection_locked) {
    return absl::FailedPreconditionError("SwapShadowTables outside a projection transaction");
  }
  bool has_bet = false;
  for (const TableSource& t : tables) has_bet = has_bet || t.table == "Bet";
  try {
    pqxx::work& tx = *impl_->batch;
    std::string truncate;
    for (const TableSource& t : tables) {
      tx.exec0(StrCat("LOCK TABLE ", Quote(t.table), " IN ACCESS EXCLUSIVE MODE"));
      // Market is referenced by Bet: without Bet in the same TRUNCATE it is merged instead.
      if (t.table == "Market" && !has_bet) continue;
      truncate += StrCat(truncate.empty() ? "" : ", ", Quote(t.table));
    }
    if (!truncate.empty()) tx.exec0(StrCat("TRUNCATE ", truncate));
    for (const TableSource& t : tables) {
      const std::string shadow = Quote(StrCat("ledger_shadow_", t.table));
      const std::string columns = ColumnList(t.columns);
      const std::string insert = StrCat("INSERT INTO ", Quote(t.table), " (", columns,
                                        ") SELECT ", columns, " FROM ", shadow);
      if (t.table != "Market" || has_bet) {
        tx.exec0(insert);
        continue;
      }
      std::string updates;
      for (size_t i = 1; i < t.columns.size(); ++i) {
        updates += StrCat(i > 1 ? ", " : "", Quote(t.columns[i]), " = EXCLUDED.",
                          Quote(t.columns[i]));
      }
      tx.exec0(StrCat(insert, " ON CONFLICT (id) DO UPDATE SET ", updates));
      tx.exec0(StrCat("DELETE FROM \"Market\" m WHERE NOT EXISTS (SELECT 1 FROM ", shadow,
                      " s WHERE s.id = m.id)"));
    }
    for (const TableSource& t : tables) {
      tx.exec0(StrCat("DROP TABLE ", Quote(StrCat("ledger_shadow_", t.table))));
      if (t.table == "PoolSnapshot") {
        tx.exec0("DELETE FROM projection_retention WHERE projection = 'pool_snapshot'");
      }
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return impl_->Error(e, "swap shadow tables");
  }
}

absl::Status LogStore::StreamTable(const std::string& table,
                                   const std::vector<std::string>& columns,
                                   const std::vector<std::string>& timestamp_columns,
                                   const std::function<absl::Status(const Row&)>& fn) {
  // No parameters: the table and column names are the projections' own constants, quoted.
  const std::string query =
      StrCat("(SELECT ", SelectList(columns, timestamp_columns), " FROM ", Quote(table),
             " ORDER BY ", Quote(columns.front()), " COLLATE \"C\")");
  CopyLineFields fields;
  Row row(columns.size());
  try {
    pqxx::read_transaction tx(impl_->conn);
    return impl_->CopyOut(tx, query, [&](const std::string& line) -> absl::Status {
      if (!fields.Parse(line, columns.size())) {
        return absl::DataLossError(StrCat("a row of ", table, " has an unexpected shape"));
      }
      for (size_t c = 0; c < columns.size(); ++c) {
        if (fields.null(static_cast<int>(c))) {
          row[c].reset();
        } else {
          const std::string_view text = fields.text(static_cast<int>(c));
          if (row[c]) {
            row[c]->assign(text.data(), text.size());
          } else {
            row[c].emplace(text);
          }
        }
      }
      return fn(row);
    });
  } catch (const std::exception& e) {
    return impl_->Error(e, StrCat("stream ", table));
  }
}

absl::StatusOr<int64_t> LogStore::ReadFeedPosition(const std::string& kind,
                                                   const std::string& name) {
  if (impl_->batch) return absl::FailedPreconditionError("ReadFeedPosition inside a transaction");
  try {
    pqxx::read_transaction tx(impl_->conn);
    pqxx::result r = tx.exec_params(
        "SELECT seq FROM feed_position WHERE kind = $1 AND name = $2", kind, name);
    return r.empty() ? int64_t{0} : r[0][0].as<int64_t>();
  } catch (const std::exception& e) {
    return impl_->Error(e, StrCat("read the position of ", kind, " ", name));
  }
}

absl::Status LogStore::SetFeedPosition(const std::string& kind, const std::string& name, int64_t seq,
                                       bool rewind) {
  if (impl_->batch) return absl::FailedPreconditionError("SetFeedPosition inside a transaction");
  try {
    pqxx::work tx(impl_->conn);
    tx.exec_params(
        rewind ? "INSERT INTO feed_position (kind, name, seq) VALUES ($1, $2, $3) "
                 "ON CONFLICT (kind, name) DO UPDATE SET seq = EXCLUDED.seq, "
                 "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC'"
               : "INSERT INTO feed_position (kind, name, seq) VALUES ($1, $2, $3) "
                 "ON CONFLICT (kind, name) DO UPDATE SET "
                 "seq = GREATEST(feed_position.seq, EXCLUDED.seq), "
                 "\"updatedAt\" = clock_timestamp() AT TIME ZONE 'UTC'",
        kind, name, seq);
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return impl_->Error(e, StrCat("store the position of ", kind, " ", name));
  }
}

absl::StatusOr<bool> LogStore::WaitForAppend(int timeout_ms) {
  return impl_->Wait(impl_->append_listener, kAppendChannel, timeout_ms);
}

absl::StatusOr<bool> LogStore::WaitForProjection(int timeout_ms) {
  return impl_->Wait(impl_->projection_listener, kProjectionChannel, timeout_ms);
}

absl::Status LogStore::Commit() {
  if (!impl_->batch) return absl::FailedPreconditionError("Commit outside a transaction");
  impl_->projection_locked = false;
  try {
    impl_->batch->commit();
    impl_->batch.reset();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    impl_->batch.reset();
    return impl_->Error(e, "commit append", /*committing=*/true);
  }
}

void LogStore::Abort() {
  if (!impl_ || !impl_->batch) return;
  impl_->projection_locked = false;
  try {
    impl_->batch->abort();
  } catch (const std::exception&) {
    // The connection is gone; the server rolls the transaction back on its own.
  }
  impl_->batch.reset();
}

}  // namespace ledger::pg
