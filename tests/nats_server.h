// A real nats-server with JetStream (file storage in a temporary directory) for the feed tests, and
// a reader of what a JetStream stream holds. Started and stopped by the test, never mocked.
//
//   NatsServer nats;                       // started, JetStream on, listening on 127.0.0.1
//   Publish to nats.url() ...
//   std::vector<StreamMessage> all = ReadStream(nats.url(), "LEDGER", expected_count);
#ifndef LEDGER_TESTS_NATS_SERVER_H_
#define LEDGER_TESTS_NATS_SERVER_H_

#include <nats/nats.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
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

// Three nats-servers clustered on loopback (routes between all of them), JetStream on each with its
// own storage: a stream created with --replicas 3 survives any one node's loss. The constructor
// returns once JetStream has a metadata leader (a stream can be created); the destructor stops
// every node and removes their storage.
class NatsCluster {
 public:
  static constexpr int kNodes = 3;
  NatsCluster();
  ~NatsCluster();
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  // Every node's URL, comma-separated: what a client that fails over between them is given.
  const std::string& urls() const { return urls_; }
  // SIGKILL (a crash: nothing flushed, no leadership handed over).
  void Kill(int node);
  // Starts a killed node again, on its ports and storage; it rejoins and catches up.
  void Restart(int node);
  // The node leading `stream`'s replica group, asked through the live nodes; -1 when there is none
  // (the stream is missing or between leaders).
  int StreamLeader(const std::string& stream) const;
  // Whether `stream` has a leader and every other node's replica is current (no lag, online).
  bool StreamHealthy(const std::string& stream) const;

 private:
  void Start(int node);
  // Calls `read` with the stream's info when a live node answers for it.
  void WithStreamInfo(const std::string& stream,
                      const std::function<void(const jsStreamInfo&)>& read) const;

  std::string dir_;
  std::string urls_;
  std::vector<int> client_ports_;
  std::vector<int> route_ports_;
  std::vector<pid_t> pids_;
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

// The same read through a durable pull consumer named `durable` (explicit acks, fetched in
// batches), as a service that applies the feed would read it.
std::vector<StreamMessage> ReadStreamWithPullConsumer(const std::string& url,
                                                      const std::string& stream,
                                                      const std::string& durable, size_t count);

// The stream's message count and last sequence; {0, 0} when it does not exist.
std::pair<uint64_t, uint64_t> StreamState(const std::string& url, const std::string& stream);

}  // namespace ledger::testing

#endif  // LEDGER_TESTS_NATS_SERVER_H_
