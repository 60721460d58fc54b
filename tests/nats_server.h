// A real nats-server with JetStream (file storage in a temporary directory) for the feed tests, and
// a reader of what a JetStream stream holds. Started and stopped by the test, never mocked.
//
//   NatsServer nats;                       // started, JetStream on, listening on 127.0.0.1
//   Publish to nats.url() ...
//   std::vector<StreamMessage> all = ReadStream(nats.url(), "LEDGER", expected_count);
#ifndef LEDGER_TESTS_NATS_SERVER_H_
#define LEDGER_TESTS_NATS_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ledger::testing {

class NatsServer {
 public:
  // Starts nats-server and waits until it accepts connections; fails the test otherwise.
  NatsServer();
  // Stops it (SIGTERM, then SIGKILL) and removes its storage.
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  const std::string& url() const { return url_; }

 private:
  std::string dir_;
  std::string url_;
  pid_t pid_ = -1;
};

struct StreamMessage {
  uint64_t stream_seq = 0;
  std::string subject;
  std::string msg_id;  // Nats-Msg-Id header.
  std::string data;
};

// Every message of `stream`, in stream order, read with an ordered consumer until `count` arrived
// or none came for a few seconds.
std::vector<StreamMessage> ReadStream(const std::string& url, const std::string& stream,
                                      size_t count);

// The stream's message count and last sequence; {0, 0} when it does not exist.
std::pair<uint64_t, uint64_t> StreamState(const std::string& url, const std::string& stream);

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_NATS_SERVER_H_
