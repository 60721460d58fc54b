#include "server/service.h"

#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "boost/json.hpp"
#include "engine/chain_guard.h"
#include "engine/conn_string.h"
#include "engine/event_codec.h"
#include "engine/ledger_state.h"
#include "engine/retry.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"
#include "feed/feed.h"
#include "projections/runner.h"
#include "server/event_body.h"
#include "server/feed_hub.h"
#include "server/metrics.h"
#include "server/target.h"

namespace ledger::server {
namespace {

namespace json = boost::json;
using Status = http::status;

// Connections for the reads the fold cannot answer, checked out one request at a time.
class ReaderPool {
 public:
  absl::Status Open(const std::string& conn, int count) {
    for (int i = 0; i < count; ++i) {
      LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<pg::Database> db, pg::Database::Open(conn));
      free_.push_back(std::move(db));
    }
    return absl::OkStatus();
  }
  // Runs `fn(db)` on a free connection; after a lost connection, reconnects it for the next use.
  template <typename F>
  auto With(F&& fn) {
    std::unique_ptr<pg::Database> db;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !free_.empty(); });
      db = std::move(free_.back());
      free_.pop_back();
    }
    auto result = fn(db.get());
    if (!StatusOf(result).ok() && IsTransient(StatusOf(result))) (void)db->Reconnect();
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(db));
    cv_.notify_one();
    return result;
  }

 private:
  static absl::Status StatusOf(const absl::Status& s) { return s; }
  template <typename T>
  static absl::Status StatusOf(const absl::StatusOr<T>& s) {
    return s.status();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pg::Database>> free_;
};

json::value OrNull(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// The seed's ROUND(100.0 * yes / NULLIF(yes + no, 0), 1), exactly, from integers: "62.5", or null.
json::value YesPercent(Micros yes, Micros no) {
  const Int128 total = static_cast<Int128>(yes.value()) + no.value();
  if (total == 0) return nullptr;
  const Int128 tenths = (static_cast<Int128>(yes.value()) * 2000 + total) / (2 * total);
  return json::value(absl::StrFormat("%d.%d", static_cast<int64_t>(tenths / 10),
                                     static_cast<int64_t>(tenths % 10)));
}

json::object MarketJson(const std::string& id, const MarketState& m) {
  const Int128 total = static_cast<Int128>(m.yes_pool.value()) + m.no_pool.value();
  return json::object{
      {"marketId", id},
      {"question", m.question},
      {"status", MarketStatusName(m.status)},
      {"winner", m.winner ? json::value(ChoiceName(*m.winner)) : json::value(nullptr)},
      {"yesPool", m.yes_pool.value()},
      {"noPool", m.no_pool.value()},
      {"totalPool", static_cast<int64_t>(total)},  // Two pools of int64 each checked to fit.
      {"yesPercent", YesPercent(m.yes_pool, m.no_pool)},
      {"totalBets", m.confirmed_bets},
      {"uniqueWallets", m.confirmed_wallets},
      {"startDate", FormatRfc3339(m.start_date)},
      {"endDate", FormatRfc3339(m.end_date)},
      {"contractAddress", m.contract_address},
      {"gnosisSafeAddress", m.gnosis_safe_address},
      {"createdAt", FormatRfc3339(m.created_at)},
      {"updatedAt", FormatRfc3339(m.updated_at)},
      {"streamVersion", m.stream_version}};
}

json::object BetJson(const LedgerState& state, std::string_view id, const BetState& b) {
  return json::object{{"betId", id},
                      {"marketId", state.MarketIdOf(b)},
                      {"walletAddress", state.WalletOf(b)},
                      {"choice", ChoiceName(b.choice)},
                      {"amount", b.amount.value()},
                      {"betNumber", b.bet_number},
                      {"status", BetStatusName(b.status)},
                      {"txHash", OrNull(state.TxHashOf(b))},
                      {"clawbackAmount", b.clawback_amount.value()},
                      {"refunded", b.refunded},
                      {"refundTxHash", OrNull(state.RefundTxHashOf(b))},
                      {"createdAt", FormatRfc3339(b.created_at)},
                      {"streamVersion", b.stream_version}};
}

Response Ok(json::value body) { return JsonResponse(Status::ok, json::serialize(body)); }

Response NotFound(std::string_view what) { return JsonError(Status::not_found, "NOT_FOUND", what); }

Response Unavailable(std::string_view code, std::string_view message) {
  Response res = JsonError(Status::service_unavailable, code, message);
  res.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
  return res;
}

// An error of the database behind a read: 503 when it is away (retry), 500 otherwise; a row that
// breaks the hash chain is 500 BROKEN_CHAIN naming its position and kind (never served).
Response ReadError(const absl::Status& status) {
  if (IsTransient(status))
    return Unavailable("DATABASE_UNAVAILABLE", "the database is unavailable");
  if (IsBrokenChain(status)) {
    return JsonError(Status::internal_server_error, "BROKEN_CHAIN",
                     StrCat(status.message(), " (docs/runbook-tampering.md)"));
  }
  return JsonError(Status::internal_server_error, "INTERNAL", std::string(status.message()));
}

// A row read from the log, before the service answers with it: its own hash and its position
// (ChainGuard::Unanchored; a page's rows are also linked to each other). The fold the other reads
// come from was checked as it was built.
absl::StatusOr<LoggedEvent> Checked(absl::StatusOr<LoggedEvent> row) {
  if (row.ok()) LEDGER_RETURN_IF_ERROR(ChainGuard::Unanchored(row->seq - 1, nullptr).Check(*row));
  return row;
}

// `limit` and `after` of a list route; an error response when either is not a number in range.
struct Page {
  int64_t limit = kPageLimitDefault;
  int64_t after = 0;
};
std::optional<Response> ParsePage(const Target& t, Page* page) {
  for (const auto& [name, out, lo, hi] : {std::tuple<const char*, int64_t*, int64_t, int64_t>{
                                              "limit", &page->limit, 1, kPageLimitMax},
                                          {"after", &page->after, 0, INT64_MAX}}) {
    std::optional<std::string> v = t.Param(name);
    if (!v) continue;
    if (!absl::SimpleAtoi(*v, out) || *out < lo || *out > hi) {
      return JsonError(Status::bad_request, "BAD_PARAMETER",
                       StrCat(name, " must be an integer from ", lo, " to ", hi, ", not \"",
                              v->substr(0, 40), "\""));
    }
  }
  return std::nullopt;
}

// The `action=A,B` parameter of /v1/events and /v1/feed into `*out` (left empty when absent); an
// error response naming the first unknown action.
std::optional<Response> ParseActionParam(const Target& t, std::set<Action>* out) {
  std::optional<std::string> actions = t.Param("action");
  if (!actions) return std::nullopt;
  std::string bad;
  std::optional<std::set<Action>> parsed = ParseActionList(*actions, &bad);
  if (!parsed) {
    return JsonError(Status::bad_request, "BAD_PARAMETER",
                     StrCat("unknown action \"", bad.substr(0, 40), "\""));
  }
  *out = *std::move(parsed);
  return std::nullopt;
}

// The look-up filters of GET /v1/events (bet, market, wallet, action=A,B, since and before: event
// times, RFC 3339); an error response when one is malformed.
std::optional<Response> ParseLogFilter(const Target& t, pg::LogFilter* filter) {
  filter->bet_id = t.Param("bet");
  filter->market_id = t.Param("market");
  filter->wallet = t.Param("wallet");
  for (const std::optional<std::string>* v :
       {&filter->bet_id, &filter->market_id, &filter->wallet}) {
    if (*v && (*v)->empty()) {
      return JsonError(Status::bad_request, "BAD_PARAMETER", "bet, market and wallet take a value");
    }
  }
  std::set<Action> actions;
  if (std::optional<Response> bad = ParseActionParam(t, &actions)) return bad;
  filter->actions.assign(actions.begin(), actions.end());
  for (const auto& [name, out] :
       {std::pair<const char*, std::optional<TimeMicros>*>{"since", &filter->from},
        {"before", &filter->until}}) {
    std::optional<std::string> v = t.Param(name);
    if (!v) continue;
    *out = ParseRfc3339(*v);
    if (!*out) {
      return JsonError(Status::bad_request, "BAD_PARAMETER",
                       StrCat(name, " must be an RFC 3339 time, not \"", v->substr(0, 40), "\""));
    }
  }
  return std::nullopt;
}

bool IsFiltered(const pg::LogFilter& f) {
  return f.bet_id || f.market_id || f.wallet || !f.actions.empty() || f.from || f.until;
}

// The routes of docs/api.md. A segment "*" matches any one path segment.
struct Route {
  std::vector<std::string_view> pattern;
  std::vector<http::verb> methods;
};
const std::vector<Route>& Routes() {
  static const auto* routes = new std::vector<Route>{
      {{"healthz", "live"}, {http::verb::get}},
      {{"healthz", "ready"}, {http::verb::get}},
      {{"metrics"}, {http::verb::get}},
      {{"v1", "events"}, {http::verb::get, http::verb::post}},
      {{"v1", "events", "*"}, {http::verb::get}},
      {{"v1", "head"}, {http::verb::get}},
      {{"v1", "bets", "*"}, {http::verb::get}},
      {{"v1", "markets", "*"}, {http::verb::get}},
      {{"v1", "wallets", "*", "bets"}, {http::verb::get}},
      {{"v1", "feed"}, {http::verb::get}},
  };
  return *routes;
}

const Route* MatchRoute(const std::vector<std::string>& segments) {
  for (const Route& r : Routes()) {
    if (r.pattern.size() != segments.size()) continue;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      match = r.pattern[i] == "*" || r.pattern[i] == segments[i];
    }
    if (match) return &r;
  }
  return nullptr;
}

std::string AllowHeader(const Route& r) {
  std::vector<std::string> names;
  for (http::verb v : r.methods) names.emplace_back(http::to_string(v));
  names.emplace_back("OPTIONS");
  return absl::StrJoin(names, ", ");
}

// The HTTP status of a single-event POST, from its result.
Status SingleStatus(const LineResult& r) {
  switch (r.status) {
    case LineResult::Status::kAccepted:
      return Status::created;
    case LineResult::Status::kDuplicate:
      return Status::ok;
    case LineResult::Status::kRejected:
      break;
  }
  switch (r.rejection->code) {
    case ErrorCode::kIdentityConflict:
      return Status::conflict;
    case ErrorCode::kMalformedJson:
    case ErrorCode::kNotAnObject:
    case ErrorCode::kLineTooLong:
      return Status::bad_request;
    default:
      return Status::unprocessable_entity;
  }
}

// `atomic`: the request was all or nothing. When one of its events was rejected, none was applied:
// the status is that event's, as for a single event (409, 422 or 400), and "applied" is false.
Response PostResponse(const WriteOutcome& out, bool single, bool atomic) {
  if (!out.status.ok()) {
    return Unavailable("NOT_COMMITTED",
                       "the batch holding this request was not committed (the database is "
                       "unavailable); retry with the same eventIds: an event that did commit is "
                       "then answered duplicate");
  }
  json::array results;
  const LineResult* first_rejected = nullptr;
  for (const LineResult& r : out.results) {
    results.push_back(LineResultJson(r));
    if (r.rejection && r.rejection->code != ErrorCode::kAtomicRequestRejected && !first_rejected) {
      first_rejected = &r;
    }
  }
  Status status = single ? SingleStatus(out.results.front()) : Status::ok;
  json::object body{{"results", std::move(results)}};
  if (atomic) {
    body["applied"] = first_rejected == nullptr;
    if (first_rejected != nullptr) status = SingleStatus(*first_rejected);
  }
  return JsonResponse(status, json::serialize(body));
}

class Api {
 public:
  // `projection_folded`: where the in-process projections have folded to; null without them.
  Api(const ServiceOptions& options, Writer* writer, ReaderPool* readers, const HttpServer* http,
      FeedHub* feed, const std::atomic<int64_t>* projection_folded)
      : options_(options),
        writer_(writer),
        readers_(readers),
        http_(http),
        feed_(feed),
        projection_folded_(projection_folded) {}

  void Handle(Request&& req, const RequestContext& ctx, Reply reply) {
    const auto started = std::chrono::steady_clock::now();
    const std::string origin(req[http::field::origin]);
    Reply finish = [this, started, origin, reply = std::move(reply)](Response res) {
      AddCors(origin, &res);
      latency_.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      reply(std::move(res));
    };
    Dispatch(std::move(req), ctx, std::move(finish));
  }

  std::string Metrics() const;

 private:
  void Dispatch(Request&& req, const RequestContext& ctx, Reply reply);
  void OpenFeed(const Request& req, const Target& t, const RequestContext& ctx, Reply reply);
  std::optional<Response> Authorize(const Request& req, const Target& t) const;
  void PostEvents(const Request& req, const Target& t, Reply reply);
  Response GetEvents(const Target& t);
  Response GetEvent(const std::string& seq_text);
  Response GetHead();
  Response GetBet(const std::string& bet_id);
  Response GetMarket(const std::string& market_id);
  Response GetWalletBets(const std::string& wallet, const Target& t);
  Response Ready();
  void AddCors(const std::string& origin, Response* res) const;
  Response Preflight(const Route& route) const;

  const ServiceOptions& options_;
  Writer* writer_;
  ReaderPool* readers_;
  const HttpServer* http_;
  FeedHub* feed_;
  const std::atomic<int64_t>* projection_folded_;
  Histogram latency_{"ledger_http_request_seconds", "Time from a request read to its answer.",
                     kLatencyBucketsSeconds};
  LabeledCounter responses_{"ledger_http_responses_total", "Responses, by status code.", "code"};
};

void Api::Dispatch(Request&& req, const RequestContext& ctx, Reply reply) {
  const Target t = ParseTarget(std::string_view(req.target().data(), req.target().size()));
  if (!t.valid) {
    return reply(JsonError(Status::bad_request, "BAD_TARGET", "the request target is not valid"));
  }
  const Route* route = MatchRoute(t.segments);
  if (route == nullptr) return reply(NotFound(StrCat("no route ", t.path.substr(0, 200))));
  if (req.method() == http::verb::options) return reply(Preflight(*route));
  if (std::find(route->methods.begin(), route->methods.end(), req.method()) ==
      route->methods.end()) {
    Response res = JsonError(Status::method_not_allowed, "METHOD_NOT_ALLOWED",
                             StrCat(std::string(req.method_string()).substr(0, 20),
                                    " is not allowed on ", t.path.substr(0, 200)));
    res.set(http::field::allow, AllowHeader(*route));
    return reply(std::move(res));
  }
  if (std::optional<Response> denied = Authorize(req, t)) return reply(*std::move(denied));
  const std::vector<std::string>& s = t.segments;
  const std::string& head = s[0];
  if (head == "healthz") {
    return reply(s[1] == "live" ? Ok(json::object{{"status", "live"}}) : Ready());
  }
  if (head == "metrics") {
    Response res{Status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = Metrics();
    return reply(std::move(res));
  }
  if (s[1] == "feed") return OpenFeed(req, t, ctx, std::move(reply));
  if (s[1] == "events" && s.size() == 2) {
    if (req.method() == http::verb::post) return PostEvents(req, t, std::move(reply));
    return reply(GetEvents(t));
  }
  if (s[1] == "events") return reply(GetEvent(s[2]));
  if (s[1] == "head") return reply(GetHead());
  if (s[1] == "bets") return reply(GetBet(s[2]));
  if (s[1] == "markets") return reply(GetMarket(s[2]));
  return reply(GetWalletBets(s[2], t));
}

std::optional<Response> Api::Authorize(const Request& req, const Target& t) const {
  if (!options_.tokens || t.segments[0] == "healthz") return std::nullopt;
  const Permission need = t.segments[0] == "metrics"         ? Permission::kMetrics
                          : req.method() == http::verb::post ? Permission::kWrite
                                                             : Permission::kRead;
  const std::string_view header(req[http::field::authorization]);
  constexpr std::string_view kBearer = "Bearer ";
  if (header.substr(0, kBearer.size()) != kBearer) {
    Response res = JsonError(Status::unauthorized, "UNAUTHENTICATED",
                             "this route needs `Authorization: Bearer TOKEN`");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  std::optional<Role> role = options_.tokens->Find(header.substr(kBearer.size()));
  if (!role) {
    Response res = JsonError(Status::unauthorized, "UNAUTHENTICATED", "the token is not known");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  if (!Allows(*role, need)) {
    return JsonError(Status::forbidden, "FORBIDDEN",
                     StrCat("the role ", RoleName(*role), " may not do this"));
  }
  return std::nullopt;
}

void Api::PostEvents(const Request& req, const Target& t, Reply reply) {
  const std::string atomic_param = t.Param("atomic").value_or("false");
  if (atomic_param != "false" && atomic_param != "true") {
    return reply(JsonError(
        Status::bad_request, "BAD_PARAMETER",
        StrCat("atomic must be true or false, not \"", atomic_param.substr(0, 40), "\"")));
  }
  const bool atomic = atomic_param == "true";
  const std::string_view type(req[http::field::content_type]);
  auto parsed = ParseEventBody(type, req.body(), options_.request_events_max);
  if (auto* error = std::get_if<BodyError>(&parsed)) {
    return reply(JsonError(
        static_cast<Status>(error->http_status), error->code, error->message,
        error->code == "TOO_MANY_EVENTS" ? static_cast<int64_t>(options_.request_events_max) : -1));
  }
  EventBody& body = std::get<EventBody>(parsed);
  if (body.events.empty()) return reply(Ok(json::object{{"results", json::array()}}));
  const bool single = body.single;
  if (atomic) {
    for (InputLine& line : body.events) line.group = 1;
  }
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  switch (writer_->Submit(std::move(body.events), [shared_reply, single, atomic](WriteOutcome out) {
    (*shared_reply)(PostResponse(out, single, atomic));
  })) {
    case Admission::kQueued:
      return;
    case Admission::kQueueFull: {
      Response res = JsonError(Status::service_unavailable, "QUEUE_FULL",
                               "the writer's queue is full; retry later",
                               static_cast<int64_t>(options_.queue_events_max));
      res.set(http::field::retry_after, std::to_string(kRetryAfterSeconds));
      return (*shared_reply)(std::move(res));
    }
    case Admission::kNotReady:
      return (*shared_reply)(Unavailable("NOT_READY", "the database is unavailable"));
    case Admission::kStopping:
      return (*shared_reply)(Unavailable("SHUTTING_DOWN", "the service is stopping"));
    case Admission::kReadOnly: {
      Response res = JsonError(Status::method_not_allowed, "READ_ONLY",
                               "this service is read-only (ledger serve --read-only, on a standby "
                               "or beside the primary's service): post events to the primary's");
      res.set(http::field::allow, "GET, OPTIONS");
      return (*shared_reply)(std::move(res));
    }
  }
}

void Api::OpenFeed(const Request& req, const Target& t, const RequestContext& ctx, Reply reply) {
  // Where to start: after the browser's Last-Event-ID (a reconnect), else before ?from=SEQ, else
  // live from the hub's head.
  int64_t after = feed_->head_seq();
  const std::string_view last_id(req["Last-Event-ID"]);
  std::optional<std::string> from = t.Param("from");
  if (!last_id.empty()) {
    if (!absl::SimpleAtoi(absl::string_view(last_id.data(), last_id.size()), &after) || after < 0) {
      return reply(JsonError(Status::bad_request, "BAD_PARAMETER",
                             "Last-Event-ID must be a position (an integer from 0)"));
    }
  } else if (from) {
    if (!absl::SimpleAtoi(*from, &after) || after < 1) {
      return reply(
          JsonError(Status::bad_request, "BAD_PARAMETER",
                    StrCat("from must be a position from 1, not \"", from->substr(0, 40), "\"")));
    }
    after -= 1;
  }
  FeedFilter filter;
  filter.market_id = t.Param("market");
  if (std::optional<Response> bad = ParseActionParam(t, &filter.actions)) {
    return reply(*std::move(bad));
  }
  Response head{Status::ok, 11};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-store");
  head.set("X-Accel-Buffering", "no");  // Proxies must not hold events back.
  AddCors(std::string(req[http::field::origin]), &head);
  std::shared_ptr<EventStream> stream = ctx.open_stream(std::move(head), feed_->buffer_bytes());
  if (stream == nullptr) return;  // The connection is gone already.
  (void)feed_->Subscribe(std::move(stream), std::move(filter), after);
}

Response Api::GetEvents(const Target& t) {
  if (std::optional<std::string> event_id = t.Param("eventId")) {
    absl::StatusOr<LoggedEvent> row = Checked(readers_->With([&](pg::Database* db) {
      // Event ids are UUIDs, stored lower case (docs/event-format.md).
      return db->log().FindByIdentity(
          StrCat("event:", absl::AsciiStrToLower(absl::string_view(*event_id))));
    }));
    if (absl::IsNotFound(row.status())) return NotFound("no event has this eventId");
    if (!row.ok()) return ReadError(row.status());
    return JsonResponse(Status::ok, EncodeLoggedEventJson(*row));
  }
  Page page;
  if (std::optional<Response> bad = ParsePage(t, &page)) return *std::move(bad);
  pg::LogFilter filter;
  if (std::optional<Response> bad = ParseLogFilter(t, &filter)) return *std::move(bad);
  std::vector<std::string> rows;
  int64_t last = 0;
  absl::Status status;
  if (IsFiltered(filter)) {
    // The rows are not contiguous: each is checked on its own (its hash over its content and the
    // prevHash it names), as a single row is.
    status = readers_->With([&](pg::Database* db) -> absl::Status {
      LEDGER_ASSIGN_OR_RETURN(std::vector<LoggedEvent> found,
                              db->log().Find(filter, page.after, page.limit));
      for (LoggedEvent& row : found) {
        LEDGER_ASSIGN_OR_RETURN(LoggedEvent checked, Checked(std::move(row)));
        rows.push_back(EncodeLoggedEventJson(checked));
        last = checked.seq;
      }
      return absl::OkStatus();
    });
  } else {
    ChainGuard guard = ChainGuard::Unanchored(page.after, nullptr);
    status = readers_->With([&](pg::Database* db) {
      return db->log().Scan(page.after, [&](const LoggedEvent& row) {
        LEDGER_RETURN_IF_ERROR(guard.Check(row));
        rows.push_back(EncodeLoggedEventJson(row));
        last = row.seq;
        return static_cast<int64_t>(rows.size()) < page.limit ? absl::OkStatus()
                                                              : absl::CancelledError("page full");
      });
    });
  }
  if (!status.ok() && !absl::IsCancelled(status)) return ReadError(status);
  const std::string next =
      static_cast<int64_t>(rows.size()) == page.limit ? std::to_string(last) : "null";
  return JsonResponse(Status::ok,
                      StrCat("{\"events\":[", absl::StrJoin(rows, ","), "],\"next\":", next, "}"));
}

Response Api::GetEvent(const std::string& seq_text) {
  int64_t seq = 0;
  if (!absl::SimpleAtoi(seq_text, &seq) || seq < 1) {
    return JsonError(
        Status::bad_request, "BAD_PARAMETER",
        StrCat("a position is an integer from 1, not \"", seq_text.substr(0, 40), "\""));
  }
  absl::StatusOr<LoggedEvent> row =
      Checked(readers_->With([&](pg::Database* db) { return db->log().Read(seq); }));
  if (absl::IsNotFound(row.status())) return NotFound(StrCat("no event at seq ", seq));
  if (!row.ok()) return ReadError(row.status());
  return JsonResponse(Status::ok, EncodeLoggedEventJson(*row));
}

Response Api::GetHead() {
  const auto [seq, hash] = writer_->Read([](const LedgerState&, int64_t head, const Sha256& h) {
    return std::pair<int64_t, Sha256>(head, h);
  });
  json::object body{{"seq", seq}, {"hash", ToHex(hash)}, {"recordedAt", nullptr}};
  if (seq > 0) {
    absl::StatusOr<LoggedEvent> row =
        readers_->With([&](pg::Database* db) { return db->log().Read(seq); });
    if (!row.ok()) return ReadError(row.status());
    body["recordedAt"] = FormatRfc3339(row->recorded_at);
  }
  return Ok(std::move(body));
}

Response Api::GetBet(const std::string& bet_id) {
  std::optional<json::object> bet =
      writer_->Read([&](const LedgerState& state, int64_t, const Sha256&) {
        const BetState* b = state.FindBet(bet_id);
        return b ? std::optional<json::object>(BetJson(state, bet_id, *b)) : std::nullopt;
      });
  if (!bet) return NotFound(StrCat("no bet ", bet_id.substr(0, 200)));
  absl::StatusOr<std::vector<int64_t>> seqs = readers_->With(
      [&](pg::Database* db) { return db->log().StreamSeqs(StrCat("bet:", bet_id)); });
  if (!seqs.ok()) return ReadError(seqs.status());
  (*bet)["seqs"] = json::array(seqs->begin(), seqs->end());
  return Ok(std::move(*bet));
}

Response Api::GetMarket(const std::string& market_id) {
  std::optional<json::object> market =
      writer_->Read([&](const LedgerState& state, int64_t, const Sha256&) {
        const MarketState* m = state.FindMarket(market_id);
        return m ? std::optional<json::object>(MarketJson(market_id, *m)) : std::nullopt;
      });
  if (!market) return NotFound(StrCat("no market ", market_id.substr(0, 200)));
  return Ok(std::move(*market));
}

Response Api::GetWalletBets(const std::string& wallet, const Target& t) {
  Page page;
  if (std::optional<Response> bad = ParsePage(t, &page)) return *std::move(bad);
  auto placed = readers_->With(
      [&](pg::Database* db) { return db->log().WalletBets(wallet, page.after, page.limit); });
  if (!placed.ok()) return ReadError(placed.status());
  json::array bets = writer_->Read([&](const LedgerState& state, int64_t, const Sha256&) {
    json::array out;
    for (const auto& [seq, bet_id] : *placed) {
      const BetState* b = state.FindBet(bet_id);
      if (b == nullptr) continue;  // Placed by another writer past this fold's head.
      json::object bet = BetJson(state, bet_id, *b);
      bet["placedSeq"] = seq;
      out.push_back(std::move(bet));
    }
    return out;
  });
  json::value next = nullptr;
  if (static_cast<int64_t>(placed->size()) == page.limit) next = placed->back().first;
  return Ok(json::object{{"bets", std::move(bets)}, {"next", next}});
}

Response Api::Ready() {
  if (!writer_->ready()) {
    return Unavailable("NOT_READY", "the writer is re-deriving its state after an outage");
  }
  absl::Status reachable =
      readers_->With([](pg::Database* db) { return db->log().Head().status(); });
  if (!reachable.ok()) return Unavailable("NOT_READY", "the database is unavailable");
  return Ok(json::object{
      {"status", "ready"}, {"headSeq", writer_->head_seq()}, {"readOnly", options_.read_only}});
}

std::string Api::Metrics() const {
  const WriterMetrics& w = writer_->metrics();
  std::string out = latency_.Render();
  out += w.batch_events.Render();
  out += w.commit_seconds.Render();
  out += w.events.Render();
  out += w.rejections.Render();
  out += RenderCounter("ledger_batch_failures_total", "Group-commit batches that failed.",
                       w.batch_failures.load());
  out +=
      RenderCounter("ledger_one_trip_batches_total",
                    "Batches written in one round trip (schema/007).", w.one_trip_batches.load());
  out += RenderCounter("ledger_one_trip_fallbacks_total",
                       "Batches that found the head moved by another writer and were redone the "
                       "long way.",
                       w.one_trip_fallbacks.load());
  const int64_t head = writer_->head_seq();
  out += RenderGauge("ledger_head_seq", "The writer's last committed position.",
                     static_cast<double>(head));
  out += RenderGauge("ledger_queue_events", "Events waiting for the writer.",
                     static_cast<double>(writer_->queued_events()));
  out += RenderGauge("ledger_http_connections", "Open HTTP connections.",
                     static_cast<double>(http_ == nullptr ? 0 : http_->connections()));
  out += RenderGauge("ledger_ready", "1 when the service is ready.", writer_->ready() ? 1 : 0);
  out += RenderGauge("ledger_read_only", "1 when the service takes no events (--read-only).",
                     options_.read_only ? 1 : 0);
  out += RenderGauge("ledger_feed_clients", "Clients following GET /v1/feed.",
                     static_cast<double>(feed_->clients()));
  out += RenderCounter("ledger_feed_slow_disconnects_total",
                       "Feed clients disconnected for falling behind their buffer.",
                       feed_->slow_disconnects());
  if (options_.read_only) {
    // On a hot standby: how far it has replayed (engine/pg/standby.h), asked at each scrape.
    auto standby = readers_->With([](pg::Database* db) { return db->ReadStandbyStatus(); });
    if (standby.ok() && standby->has_value()) {
      const pg::StandbyStatus& st = **standby;
      out += RenderGauge("ledger_standby_replay_lag_bytes",
                         "WAL the standby has received and not yet replayed, bytes.",
                         static_cast<double>(st.replay_lag_bytes));
      if (st.replayed_commit_at) {
        out += RenderGauge("ledger_standby_replayed_commit_age_seconds",
                           "Since the last replayed transaction committed on the primary, seconds.",
                           static_cast<double>(st.now - *st.replayed_commit_at) / 1e6);
      }
    }
  }
  // After a restart the projections fold the log (from a fold snapshot at or before their
  // checkpoints, or from position 1) before they project new rows, while their checkpoints may
  // already be at the head: the lag counts that fold too.
  int64_t folded = head;
  if (projection_folded_ != nullptr) {
    folded = projection_folded_->load(std::memory_order_relaxed);
    out += RenderGauge("ledger_projection_folded_seq",
                       "The position the in-process projections have folded to.",
                       static_cast<double>(folded));
  }
  auto checkpoints = readers_->With([](pg::Database* db) { return LoadCheckpoints(db); });
  if (checkpoints.ok()) {
    int64_t behind = std::max<int64_t>(0, head - folded);
    for (int64_t c : *checkpoints) behind = std::max(behind, head - c);
    out += RenderGauge("ledger_projection_lag_events",
                       "Events the slowest projection is behind the writer's head.",
                       static_cast<double>(behind));
  }
  return out;
}

void Api::AddCors(const std::string& origin, Response* res) const {
  if (options_.cors_origin.empty() || origin.empty()) return;
  if (options_.cors_origin != "*" && origin != options_.cors_origin) return;
  res->set(http::field::access_control_allow_origin, origin);
  res->set(http::field::vary, "Origin");
  res->set(http::field::access_control_expose_headers, "X-Request-Id, Retry-After");
}

Response Api::Preflight(const Route& route) const {
  Response res{Status::no_content, 11};
  res.set(http::field::allow, AllowHeader(route));
  if (!options_.cors_origin.empty()) {
    res.set(http::field::access_control_allow_methods, AllowHeader(route));
    res.set(http::field::access_control_allow_headers,
            "Authorization, Content-Type, X-Request-Id, Last-Event-ID");
    res.set(http::field::access_control_max_age, "600");
  }
  return res;
}

// Keeps the four projections current on a connection of their own, as `project --follow` does,
// until `stop`; after an outage longer than the runner's retries, starts over. `*folded` says how
// far its fold has come (CatchUpRunner::set_progress).
void FollowProjections(const ServiceOptions& options, const std::atomic<bool>& stop,
                       std::atomic<int64_t>* folded) {
  while (!stop.load()) {
    absl::StatusOr<std::unique_ptr<pg::Database>> db = pg::Database::Open(options.conn);
    absl::Status status = db.status();
    if (db.ok()) {
      (*db)->snapshots().set_cache_dir(options.snapshot_cache_dir);
      CatchUpRunner runner(db->get(), ProjectorOptions{});
      runner.set_progress(folded);
      runner.set_use_snapshot(options.use_snapshot);
      runner.set_on_snapshot_skipped([](std::string_view why) {
        std::cerr << "ledger serve: projections: fold snapshot not used (" << why
                  << "); folding from seq 0\n";
      });
      // Each retry and the end of each outage, logged as every follower logs them.
      status = runner.Follow(stop, [](const RetryNotice& notice) {
        std::cerr << "ledger serve: projections: " << MaskPassword(DescribeRetry(notice)) << "\n";
      });
    }
    if (!status.ok()) std::cerr << "ledger serve: projections: " << status << "\n";
    for (int i = 0; i < 10 && !stop.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}
}  // namespace

std::vector<std::string> RouteSignatures() {
  std::vector<std::string> out;
  for (const Route& r : Routes()) {
    for (http::verb v : r.methods) {
      std::string path;
      for (std::string_view segment : r.pattern) path += StrCat("/", segment);
      out.push_back(StrCat(std::string(http::to_string(v)), " ", path));
    }
  }
  return out;
}

bool IsLoopback(const std::string& host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

}  // namespace ledger::server

namespace ledger::server {

namespace {

// Who may be let in where: no tokens, loopback only; the TLS context when a certificate is given
// (null for plain HTTP, with a warning off loopback).
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> ListenSecurity(
    const ServiceOptions& options) {
  if (!options.tokens && !IsLoopback(options.host)) {
    return absl::FailedPreconditionError(
        StrCat("without --tokens the service listens only on a loopback address, not ",
               options.host, ": give a tokens file (docs/api.md) to listen there"));
  }
  if (!options.tls_cert_file.empty()) return LoadTls(options.tls_cert_file, options.tls_key_file);
  if (!IsLoopback(options.host)) {
    std::cerr << "ledger serve: warning: listening on " << options.host
              << " without TLS: bearer tokens cross the network in clear; give --tls-cert and "
                 "--tls-key, or put a TLS proxy in front\n";
  }
  return std::shared_ptr<boost::asio::ssl::context>();
}

}  // namespace

absl::Status RunService(const ServiceOptions& options, const std::atomic<bool>& stop) {
  LEDGER_ASSIGN_OR_RETURN(std::shared_ptr<boost::asio::ssl::context> tls, ListenSecurity(options));
  const auto started = std::chrono::steady_clock::now();
  WriterOptions writer_options;
  writer_options.conn = options.conn;
  writer_options.queue_events_max = options.queue_events_max;
  writer_options.use_snapshot = options.use_snapshot;
  writer_options.snapshot_cache_dir = options.snapshot_cache_dir;
  writer_options.read_only = options.read_only;
  LEDGER_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, Writer::Start(writer_options));
  ReaderPool readers;
  LEDGER_RETURN_IF_ERROR(readers.Open(options.conn, kReaderConnections));
  std::atomic<bool> stop_projections{false};
  std::atomic<int64_t> projection_folded{0};
  std::thread projections;
  const bool projecting = options.project && !options.read_only;
  if (projecting) {
    projections =
        std::thread([&] { FollowProjections(options, stop_projections, &projection_folded); });
  }
  boost::asio::io_context io(options.io_threads);
  std::unique_ptr<Api> api;
  HttpServer http(
      io, options.http,
      [&api](Request&& req, const RequestContext& ctx, Reply reply) {
        api->Handle(std::move(req), ctx, std::move(reply));
      },
      tls);
  FeedHubOptions feed_options;
  feed_options.conn = options.conn;
  feed_options.buffer_bytes = options.feed_buffer_bytes;
  feed_options.heartbeat_ms = options.feed_heartbeat_ms;
  FeedHub feed(feed_options);
  LEDGER_RETURN_IF_ERROR(feed.Start());
  api = std::make_unique<Api>(options, writer.get(), &readers, &http, &feed,
                              projecting ? &projection_folded : nullptr);
  absl::Status listening = http.Listen(options.host, options.port);
  if (!listening.ok()) {
    stop_projections = true;
    if (projections.joinable()) projections.join();
    return listening;
  }
  const int64_t start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started)
                               .count();
  std::cout << json::serialize(json::object{{"ready", true},
                                            {"listen", StrCat(options.host, ":", http.port())},
                                            {"tls", tls != nullptr},
                                            {"readOnly", options.read_only},
                                            {"headSeq", writer->head_seq()},
                                            {"foldedFrom", writer->started_from_seq()},
                                            {"startMs", start_ms}})
            << std::endl;
  std::vector<std::thread> threads;
  for (int i = 0; i < options.io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // SIGTERM: stop accepting, answer everything queued, let the answers be written, then go.
  http.StopAccepting();
  writer->Stop();
  feed.Stop();
  const auto drain_until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kDrainMsMax);
  while (http.in_flight() > 0 && std::chrono::steady_clock::now() < drain_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // The last writes leave the socket.
  io.stop();
  for (std::thread& t : threads) t.join();
  stop_projections = true;
  if (projections.joinable()) projections.join();
  std::cerr << "ledger serve: stopped at head " << writer->head_seq() << "\n";
  return absl::OkStatus();
}

}  // namespace ledger::server
