#include "server/http_server.h"

#include <openssl/rand.h>

#include <chrono>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "boost/beast/ssl.hpp"
#include "boost/json.hpp"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// A client's X-Request-Id is kept when it is at most this long and plain printable ASCII; anything
// else is replaced, so the access log never carries a client's control characters.
constexpr size_t kRequestIdBytesMax = 128;
// How long Retry-After tells a client turned away for too many connections to wait.
constexpr int kBusyRetryAfterSeconds = 1;

std::string NewRequestId() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

std::string RequestIdOf(const Request& req) {
  auto it = req.find("X-Request-Id");
  if (it == req.end()) return NewRequestId();
  std::string_view id(it->value().data(), it->value().size());
  if (id.empty() || id.size() > kRequestIdBytesMax) return NewRequestId();
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return NewRequestId();
  }
  return std::string(id);
}

// The path of a target, without its query: what the access log names (queries may carry ids).
std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

void AccessLog(const RequestContext& ctx, std::string_view method, std::string_view target,
               unsigned status, double duration_ms, size_t request_bytes, size_t response_bytes) {
  boost::json::object line{
      {"time", FormatRfc3339(absl::ToUnixMicros(absl::Now()))},
      {"requestId", ctx.request_id},
      {"remote", ctx.remote},
      {"method", method},
      {"path", PathOf(target)},
      {"status", status},
      {"durationMicros", static_cast<int64_t>(std::llround(duration_ms * 1000))},
      {"requestBytes", request_bytes},
      {"responseBytes", response_bytes}};
  std::string text = boost::json::serialize(line);
  text += '\n';
  std::cerr << text << std::flush;  // One write per line: lines from many threads do not mix.
}

template <class Stream>
class Session;

// The EventStream of a session that answered with a stream: a queue of chunks written in order on
// the session's strand. Holds the session until the stream is closed and drained.
template <class Stream>
class SessionStream : public EventStream,
                      public std::enable_shared_from_this<SessionStream<Stream>> {
 public:
  SessionStream(std::shared_ptr<Session<Stream>> session, size_t buffer_bytes_max)
      : session_(std::move(session)), buffer_bytes_max_(buffer_bytes_max) {}

  bool Push(std::string bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || pending_ + bytes.size() > buffer_bytes_max_) return false;
    Enqueue(std::move(bytes));
    return true;
  }
  void Close(std::string farewell) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    Enqueue(std::move(farewell));  // Past the limit: the last words are always queued.
  }
  bool closed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  size_t pending_bytes() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_;
  }
  // The head, ahead of everything (called once, before any Push).
  void Start(std::string head) {
    std::lock_guard<std::mutex> lock(mu_);
    Enqueue(std::move(head));
  }
  // The peer went away, or a write failed: nothing more is sent.
  void Abandon() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    if (writing_) return;  // The write in flight fails on the closed socket and cleans up.
    queue_.clear();
    pending_ = 0;
    session_.reset();
  }

 private:
  friend class Session<Stream>;
  void Enqueue(std::string bytes);  // REQUIRES: mu_ held.
  void WriteNext();                 // On the session's strand.

  std::shared_ptr<Session<Stream>> session_;
  const size_t buffer_bytes_max_;
  mutable std::mutex mu_;
  std::deque<std::string> queue_;
  size_t pending_ = 0;
  bool closed_ = false;
  bool writing_ = false;
};

// Stream is beast::tcp_stream (plain HTTP) or TlsStream (HTTPS: a TLS handshake first, under the
// header timeout; a connection that does not speak TLS is closed without a word).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Stream stream, const HttpLimits& limits, const Handler& handler,
          std::shared_ptr<std::atomic<int64_t>> connections,
          std::shared_ptr<std::atomic<int64_t>> in_flight,
          std::shared_ptr<std::atomic<bool>> stopping)
      : stream_(std::move(stream)),
        limits_(limits),
        handler_(handler),
        connections_(std::move(connections)),
        in_flight_(std::move(in_flight)),
        stopping_(std::move(stopping)) {
    beast::error_code ec;
    auto ep = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = StrCat(ep.address().to_string(), ":", ep.port());
  }
  ~Session() { connections_->fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->Handshake(false); });
  }

  // Answers 503 and closes: the connection limit is reached.
  void Refuse() {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->Handshake(true); });
  }

 private:
  std::shared_ptr<Session> Self() { return this->shared_from_this(); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Then reads the first request, or answers `refuse`'s 503.
  void Handshake(bool refuse) {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::milliseconds(limits_.header_timeout_ms));
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = Self(), refuse](beast::error_code ec) {
                                if (ec) return self->Close();
                                refuse ? self->WriteRefusal() : self->ReadHeader();
                              });
    } else {
      refuse ? WriteRefusal() : ReadHeader();
    }
  }

  void WriteRefusal() {
    ctx_.request_id = NewRequestId();
    ctx_.remote = remote_;
    Response res = JsonError(http::status::service_unavailable, "TOO_MANY_CONNECTIONS",
                             "the server holds its maximum of open connections; retry later",
                             limits_.connections_max);
    res.set(http::field::retry_after, std::to_string(kBusyRetryAfterSeconds));
    res.keep_alive(false);
    Write(std::move(res), "-", "-", 0);
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(limits_.header_bytes_max));
    parser_->body_limit(limits_.body_bytes_max);
    Lowest().expires_after(std::chrono::milliseconds(limits_.header_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, Self()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    started_ = std::chrono::steady_clock::now();
    Lowest().expires_after(std::chrono::milliseconds(limits_.body_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, Self()));
  }

  void OnReadError(beast::error_code ec) {
    // A client that went away or stayed silent gets nothing: there is nobody to tell.
    if (ec == http::error::end_of_stream) return Shutdown();
    if (ec == net::ssl::error::stream_truncated || ec == beast::error::timeout ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || (parser_ && !parser_->got_some())) {
      return Close();
    }
    ctx_.request_id = NewRequestId();
    ctx_.remote = remote_;
    Response res;
    if (ec == http::error::header_limit) {
      res = JsonError(http::status::request_header_fields_too_large, "HEADERS_TOO_LARGE",
                      "the request line and headers exceed the limit",
                      static_cast<int64_t>(limits_.header_bytes_max));
    } else if (ec == http::error::body_limit) {
      res = JsonError(http::status::payload_too_large, "BODY_TOO_LARGE",
                      "the body exceeds the limit", static_cast<int64_t>(limits_.body_bytes_max));
    } else {
      res = JsonError(http::status::bad_request, "BAD_HTTP",
                      StrCat("the request is not valid HTTP/1.1: ", ec.message()));
    }
    res.keep_alive(false);  // The stream's framing is lost: nothing after this can be trusted.
    Write(std::move(res), "-", "-", 0);
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    Lowest().expires_never();  // The handler may take a commit's time; the reply sets its own.
    Request req = parser_->release();
    ctx_.request_id = RequestIdOf(req);
    ctx_.remote = remote_;
    // A weak pointer: the context lives in the session, and a strong one would keep it for ever.
    ctx_.open_stream = [weak = this->weak_from_this(), method = std::string(req.method_string()),
                        target = std::string(req.target())](
                           Response head, size_t buffer_max) -> std::shared_ptr<EventStream> {
      std::shared_ptr<Session> self = weak.lock();
      if (!self) return nullptr;
      return self->OpenStream(std::move(head), buffer_max, method, target);
    };
    const std::string method(req.method_string());
    const std::string target(req.target());
    const size_t request_bytes = req.body().size();
    const bool keep_alive = req.keep_alive() && !stopping_->load();
    in_flight_->fetch_add(1);
    auto self = Self();
    handler_(std::move(req), ctx_,
             [self, method, target, request_bytes, keep_alive](Response res) mutable {
               net::post(self->stream_.get_executor(), [self, res = std::move(res), method, target,
                                                        request_bytes, keep_alive]() mutable {
                 self->in_flight_->fetch_sub(1);
                 res.keep_alive(keep_alive && !self->stopping_->load());
                 self->Write(std::move(res), method, target, request_bytes);
               });
             });
  }

  void Write(Response res, const std::string& method, const std::string& target,
             size_t request_bytes) {
    res.set("X-Request-Id", ctx_.request_id);
    res.prepare_payload();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    AccessLog(ctx_, method, target, res.result_int(), method == "-" ? 0 : ms, request_bytes,
              res.body().size());
    auto sp = std::make_shared<Response>(std::move(res));
    Lowest().expires_after(std::chrono::milliseconds(limits_.body_timeout_ms));
    http::async_write(stream_, *sp, [self = Self(), sp](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      if (!sp->keep_alive()) return self->Shutdown();
      self->ReadHeader();
    });
  }

  std::shared_ptr<EventStream> OpenStream(Response head, size_t buffer_max,
                                          const std::string& method, const std::string& target) {
    in_flight_->fetch_sub(1);
    head.set("X-Request-Id", ctx_.request_id);
    head.set(http::field::connection, "close");
    std::string text =
        StrCat("HTTP/1.1 ", head.result_int(), " ", std::string(head.reason()), "\r\n");
    for (const auto& field : head) {
      text += StrCat(std::string(field.name_string()), ": ", std::string(field.value()), "\r\n");
    }
    text += "\r\n";
    AccessLog(ctx_, method, target, head.result_int(), 0, 0, 0);
    auto stream = std::make_shared<SessionStream<Stream>>(Self(), buffer_max);
    stream->Start(std::move(text));
    net::post(stream_.get_executor(), [self = Self(), stream] {
      self->Lowest().expires_never();
      self->WatchPeer(stream);
    });
    return stream;
  }

  // Reads (and drops) whatever the client sends on a stream, to learn when it goes away.
  void WatchPeer(std::shared_ptr<SessionStream<Stream>> stream) {
    stream_.async_read_some(net::buffer(peer_bytes_),
                            [self = Self(), stream](beast::error_code ec, size_t) {
                              if (ec) {
                                stream->Abandon();
                                return self->Close();
                              }
                              self->WatchPeer(stream);
                            });
  }

  // The end of a conversation in good order: over TLS a close_notify first (so the client can tell
  // an end from a cut), under the header timeout.
  void Shutdown() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::milliseconds(limits_.header_timeout_ms));
      stream_.async_shutdown([self = Self()](beast::error_code) { self->Close(); });
    } else {
      Close();
    }
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    Lowest().close();
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpLimits& limits_;
  const Handler& handler_;
  std::shared_ptr<std::atomic<int64_t>> connections_;
  std::shared_ptr<std::atomic<int64_t>> in_flight_;
  std::shared_ptr<std::atomic<bool>> stopping_;
  std::string remote_ = "-";
  RequestContext ctx_;
  char peer_bytes_[512];
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  friend class SessionStream<Stream>;
};

template <class Stream>
void SessionStream<Stream>::Enqueue(std::string bytes) {
  if (!session_) return;
  pending_ += bytes.size();
  queue_.push_back(std::move(bytes));
  if (writing_) return;
  writing_ = true;
  net::post(session_->stream_.get_executor(),
            [self = this->shared_from_this()] { self->WriteNext(); });
}

template <class Stream>
void SessionStream<Stream>::WriteNext() {
  std::unique_lock<std::mutex> lock(mu_);
  if (queue_.empty()) {
    writing_ = false;
    if (closed_ && session_) {
      session_->Close();
      session_.reset();  // Drained and closed: the session may go.
    }
    return;
  }
  const std::string* front = &queue_.front();
  lock.unlock();
  net::async_write(session_->stream_, net::buffer(*front),
                   [self = this->shared_from_this()](beast::error_code ec, size_t) {
                     {
                       std::lock_guard<std::mutex> lock(self->mu_);
                       if (ec || self->queue_.empty()) {
                         self->closed_ = true;
                         self->queue_.clear();
                         self->pending_ = 0;
                         self->writing_ = false;
                         if (self->session_) self->session_->Close();
                         self->session_.reset();
                         return;
                       }
                       self->pending_ -= self->queue_.front().size();
                       self->queue_.pop_front();
                     }
                     self->WriteNext();
                   });
}

// Starts `session`, or has it refuse when `open` connections are past the limit.
template <class SessionPtr>
void StartSession(const SessionPtr& session, int64_t open, int64_t connections_max) {
  if (open > connections_max) {
    session->Refuse();
  } else {
    session->Start();
  }
}

}  // namespace

Response JsonError(http::status status, std::string_view code, std::string_view message,
                   int64_t limit) {
  boost::json::object body{{"error", code}, {"message", message}};
  if (limit >= 0) body["limit"] = limit;
  return JsonResponse(status, boost::json::serialize(body));
}

Response JsonResponse(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

absl::StatusOr<std::shared_ptr<net::ssl::context>> LoadTls(const std::string& cert_file,
                                                           const std::string& key_file) {
  auto tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  // TLS 1.2 and 1.3 only; the older versions have known breaks and no client of ours needs them.
  tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  beast::error_code ec;
  tls->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        StrCat("cannot load the TLS certificate chain (PEM) from ", cert_file, ": ", ec.message()));
  }
  tls->use_private_key_file(key_file, net::ssl::context::pem, ec);
  if (ec) {
    // The key's bytes never appear in a message: only the file's name.
    return absl::InvalidArgumentError(
        StrCat("cannot load the TLS private key (PEM) from ", key_file, ": ", ec.message()));
  }
  if (SSL_CTX_check_private_key(tls->native_handle()) != 1) {
    return absl::InvalidArgumentError(StrCat("the TLS private key in ", key_file,
                                             " does not match the certificate in ", cert_file));
  }
  return tls;
}

HttpServer::HttpServer(net::io_context& io, HttpLimits limits, Handler handler,
                       std::shared_ptr<net::ssl::context> tls)
    : io_(io),
      limits_(limits),
      handler_(std::move(handler)),
      tls_(std::move(tls)),
      acceptor_(net::make_strand(io)) {}

HttpServer::~HttpServer() {
  beast::error_code ec;
  acceptor_.close(ec);
}

absl::Status HttpServer::Listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError(StrCat("not an IP address: ", host));
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(StrCat("cannot listen on ", host, ":", port, ": ", ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  Accept();
  return absl::OkStatus();
}

void HttpServer::StopAccepting() {
  stopping_->store(true);
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
}

void HttpServer::Accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      Accept();  // EMFILE and the like: this connection is lost, the next may not be.
      return;
    }
    // Small writes go out at once: without this, an SSE frame written while the previous one is
    // unacknowledged waits for the client's delayed ACK (~40 ms; Nagle's algorithm).
    beast::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    const int64_t open = connections_->fetch_add(1) + 1;
    if (tls_) {
      StartSession(
          std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *tls_), limits_,
                                               handler_, connections_, in_flight_, stopping_),
          open, limits_.connections_max);
    } else {
      StartSession(std::make_shared<Session<beast::tcp_stream>>(
                       beast::tcp_stream(std::move(socket)), limits_, handler_, connections_,
                       in_flight_, stopping_),
                   open, limits_.connections_max);
    }
    Accept();
  });
}

}  // namespace ledger::server
