// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast, for `ledger serve`. It owns the sockets and
// everything HTTP: limits, timeouts, request ids, the access log and the JSON errors of requests
// that never reach a route. What a request means is the Handler's business (routes.h).
//
// Each connection is a Session on its own strand. A request is read in two steps, each with a
// deadline: the header (also the keep-alive idle time) and then the body, so a slow client cannot
// hold a connection longer than the two timeouts. Connections past connections_max are answered
// 503 and closed at once.
//
// Thread-safety: Listen/Stop from one thread; the io_context may run on many. A Handler is called
// on an I/O thread and must call `reply` exactly once, from any thread.
#ifndef LEDGER_SERVER_HTTP_SERVER_H_
#define LEDGER_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/asio.hpp"
#include "boost/asio/ssl/context.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace ledger::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// A body holds at most one request's events (kRequestEventsMax of ~500 bytes each) with room to
// spare; larger is refused with 413 before it is read.
inline constexpr size_t kBodyBytesMaxDefault = 4 << 20;
// Request line and headers: browsers send ~1-2 KiB; 16 KiB fits any honest client and keeps a
// header flood small.
inline constexpr size_t kHeaderBytesMaxDefault = 16 << 10;
// Open connections: each costs a socket, a strand and its buffers (~10 KiB); 1024 is far above what
// a backend's pool opens, and far below the process's file limit.
inline constexpr int kConnectionsMaxDefault = 1024;
// The whole header, counted from the end of the previous request: also how long an idle keep-alive
// connection is kept. 10 s is longer than any client's pause between clicks on a pooled connection.
inline constexpr int kHeaderTimeoutMsDefault = 10000;
// The body, counted from the end of the header: 4 MiB at 1 Mbit/s takes ~32 s.
inline constexpr int kBodyTimeoutMsDefault = 30000;

struct HttpLimits {
  size_t body_bytes_max = kBodyBytesMaxDefault;
  size_t header_bytes_max = kHeaderBytesMaxDefault;
  int connections_max = kConnectionsMaxDefault;
  int header_timeout_ms = kHeaderTimeoutMsDefault;
  int body_timeout_ms = kBodyTimeoutMsDefault;
};

// A response that stays open and streams (Server-Sent Events). The session writes the head (no
// Content-Length: the connection closes when the stream does) and then every chunk pushed, in
// order. Thread-safe: any thread may push.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues `bytes`. False, and nothing queued, once the stream is closed, or when more than the
  // stream's buffer limit would wait unsent: the stream then sends `farewell`... see Close.
  virtual bool Push(std::string bytes) = 0;
  // Sends `farewell` (may be empty) after what is queued, then closes the connection.
  virtual void Close(std::string farewell) = 0;
  virtual bool closed() const = 0;
  // Bytes queued and not yet written to the socket.
  virtual size_t pending_bytes() const = 0;
};

// What a handler knows of a request beyond its text.
struct RequestContext {
  std::string request_id;  // The client's X-Request-Id when usable, else a new one.
  std::string remote;      // "ip:port".
  // Answers with a stream instead of `reply` (call one of the two, once): `head` is written at
  // once; at most `buffer_bytes_max` may wait unsent.
  std::function<std::shared_ptr<EventStream>(Response head, size_t buffer_bytes_max)> open_stream;
};

using Reply = std::function<void(Response)>;
using Handler = std::function<void(Request&& request, const RequestContext& context, Reply reply)>;

// {"error": code, "message": message[, "limit": limit]} with `status`, as every error is answered.
Response JsonError(http::status status, std::string_view code, std::string_view message,
                   int64_t limit = -1);
// A 200 (or `status`) response with a JSON body.
Response JsonResponse(http::status status, std::string body);

// A TLS server context from PEM files: the certificate chain (leaf first) and its private key,
// TLS 1.2 and 1.3 only. An error names the file, never its contents.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> LoadTls(const std::string& cert_file,
                                                                   const std::string& key_file);

class HttpServer {
 public:
  // `io` must outlive the server. With `tls` every connection is HTTPS (a TLS handshake first);
  // without, plain HTTP.
  HttpServer(boost::asio::io_context& io, HttpLimits limits, Handler handler,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~HttpServer();

  // Binds and starts accepting on host:port (port 0: any; see port()).
  absl::Status Listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // Stops accepting; open connections finish the request they are in and are then closed.
  void StopAccepting();
  // Requests read and not yet answered.
  int64_t in_flight() const { return in_flight_->load(); }
  int64_t connections() const { return connections_->load(); }

 private:
  void Accept();

  boost::asio::io_context& io_;
  HttpLimits limits_;
  Handler handler_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  // Shared with the sessions, which may outlive a stopped server by a few callbacks.
  std::shared_ptr<std::atomic<int64_t>> connections_ = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<std::atomic<int64_t>> in_flight_ = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace ledger::server

#endif  // LEDGER_SERVER_HTTP_SERVER_H_
