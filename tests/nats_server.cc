#include "tests/nats_server.h"

#include <nats/nats.h>
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/str_join.h"
#include "tests/process.h"

namespace ledger::testing {
namespace {

constexpr int kStartWaitMs = 10000;
// A cluster elects its JetStream metadata leader within seconds of its routes connecting.
constexpr int kClusterWaitMs = 30000;
constexpr int kPollMs = 100;
constexpr int64_t kReadIdleMs = 5000;

struct Js {
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
  explicit Js(const std::string& url) {
    BOOST_REQUIRE(natsConnection_ConnectTo(&conn, url.c_str()) == NATS_OK);
    BOOST_REQUIRE(natsConnection_JetStream(&js, conn, nullptr) == NATS_OK);
  }
  ~Js() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(conn);
  }
};

// Debian's nats-server lands in /usr/sbin, which is not always on a test's PATH.
std::string NatsServerBinary() {
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server"}) {
    if (access(path, X_OK) == 0) return path;
  }
  BOOST_FAIL("nats-server is not installed: run scripts/install-deps");
  return "";
}

}  // namespace

NatsServer::NatsServer() {
  char dir[] = "/tmp/ledger-nats-XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir) != nullptr);
  dir_ = dir;
  const int port = FreeLocalPort();
  url_ = "nats://127.0.0.1:" + std::to_string(port);
  ProcessSpec spec;
  spec.argv = {NatsServerBinary(), "--jetstream", "--store_dir", dir_ + "/js",
               "--addr",           "127.0.0.1",   "--port",      std::to_string(port)};
  spec.stdout_path = dir_ + "/server.log";
  spec.stderr_path = dir_ + "/server.err";
  pid_ = Spawn(spec);
  WaitUntilAccepting(port, kStartWaitMs, "nats-server",
                     [this] { return ReadFile(dir_ + "/server.err"); });
}

NatsServer::~NatsServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    Wait(pid_);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

NatsCluster::NatsCluster() : pids_(kNodes, -1) {
  char dir[] = "/tmp/ledger-nats-cluster-XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir) != nullptr);
  dir_ = dir;
  std::vector<std::string> routes;
  for (int i = 0; i < kNodes; ++i) {
    client_ports_.push_back(FreeLocalPort());
    route_ports_.push_back(FreeLocalPort());
    routes.push_back("nats-route://127.0.0.1:" + std::to_string(route_ports_.back()));
    urls_ += (i == 0 ? "" : ",") + ("nats://127.0.0.1:" + std::to_string(client_ports_.back()));
  }
  for (int i = 0; i < kNodes; ++i) {
    const std::string name = "n" + std::to_string(i);
    std::ofstream conf(dir_ + "/" + name + ".conf");
    conf << "server_name: " << name << "\n"
         << "listen: 127.0.0.1:" << client_ports_[i] << "\n"
         << "jetstream { store_dir: \"" << dir_ << "/" << name << "\" }\n"
         << "cluster {\n  name: ledger\n  listen: 127.0.0.1:" << route_ports_[i] << "\n"
         << "  routes: [" << absl::StrJoin(routes, ", ") << "]\n}\n";
    BOOST_REQUIRE(conf.good());
  }
  for (int i = 0; i < kNodes; ++i) Start(i);
  // JetStream answers account requests once the nodes have elected a metadata leader.
  for (int waited = 0;; waited += kPollMs) {
    natsConnection* conn = nullptr;
    jsCtx* js = nullptr;
    jsAccountInfo* info = nullptr;
    bool ready = natsConnection_ConnectTo(&conn, urls_.c_str()) == NATS_OK &&
                 natsConnection_JetStream(&js, conn, nullptr) == NATS_OK &&
                 js_GetAccountInfo(&info, js, nullptr, nullptr) == NATS_OK;
    if (info != nullptr) jsAccountInfo_Destroy(info);
    if (js != nullptr) jsCtx_Destroy(js);
    if (conn != nullptr) natsConnection_Destroy(conn);
    if (ready) break;
    BOOST_REQUIRE_MESSAGE(waited < kClusterWaitMs, "the NATS cluster elected no JetStream leader: "
                                                       << ReadFile(dir_ + "/n0.err"));
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

NatsCluster::~NatsCluster() {
  for (pid_t& pid : pids_) {
    if (pid > 0) {
      kill(pid, SIGTERM);
      Wait(pid);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void NatsCluster::Start(int node) {
  const std::string name = "n" + std::to_string(node);
  ProcessSpec spec;
  spec.argv = {NatsServerBinary(), "-c", dir_ + "/" + name + ".conf"};
  spec.stdout_path = dir_ + "/" + name + ".log";
  spec.stderr_path = dir_ + "/" + name + ".err";
  pids_[node] = Spawn(spec);
  WaitUntilAccepting(client_ports_[node], kStartWaitMs, "nats-server " + name,
                     [this, name] { return ReadFile(dir_ + "/" + name + ".err"); });
}

void NatsCluster::Kill(int node) {
  BOOST_REQUIRE(pids_[node] > 0);
  kill(pids_[node], SIGKILL);
  Wait(pids_[node]);
  pids_[node] = -1;
}

void NatsCluster::Restart(int node) {
  BOOST_REQUIRE(pids_[node] < 0);
  Start(node);
}

void NatsCluster::WithStreamInfo(const std::string& stream,
                                 const std::function<void(const jsStreamInfo&)>& read) const {
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (natsConnection_ConnectTo(&conn, urls_.c_str()) == NATS_OK &&
      natsConnection_JetStream(&js, conn, nullptr) == NATS_OK &&
      js_GetStreamInfo(&info, js, stream.c_str(), nullptr, &code) == NATS_OK) {
    read(*info);
  }
  if (info != nullptr) jsStreamInfo_Destroy(info);
  if (js != nullptr) jsCtx_Destroy(js);
  if (conn != nullptr) natsConnection_Destroy(conn);
}

int NatsCluster::StreamLeader(const std::string& stream) const {
  int leader = -1;
  WithStreamInfo(stream, [&](const jsStreamInfo& info) {
    if (info.Cluster == nullptr || info.Cluster->Leader == nullptr) return;
    const std::string name = info.Cluster->Leader;
    if (name.size() == 2 && name[0] == 'n') leader = name[1] - '0';
  });
  return leader;
}

bool NatsCluster::StreamHealthy(const std::string& stream) const {
  bool healthy = false;
  WithStreamInfo(stream, [&](const jsStreamInfo& info) {
    if (info.Cluster == nullptr || info.Cluster->Leader == nullptr ||
        info.Cluster->ReplicasLen != kNodes - 1) {
      return;
    }
    healthy = true;
    for (int i = 0; i < info.Cluster->ReplicasLen; ++i) {
      const jsPeerInfo& peer = *info.Cluster->Replicas[i];
      healthy = healthy && peer.Current && !peer.Offline && peer.Lag == 0;
    }
  });
  return healthy;
}

namespace {

StreamMessage ToStreamMessage(natsMsg* msg) {
  StreamMessage m;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
    m.stream_seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
  m.subject = natsMsg_GetSubject(msg);
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK) m.msg_id = id;
  m.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  return m;
}

}  // namespace

std::vector<StreamMessage> ReadStream(const std::string& url, const std::string& stream,
                                      size_t count) {
  Js js(url);
  jsOptions js_opts;
  jsOptions_Init(&js_opts);
  jsSubOptions sub_opts;
  jsSubOptions_Init(&sub_opts);
  sub_opts.Stream = stream.c_str();
  sub_opts.Ordered = true;
  natsSubscription* sub = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  BOOST_REQUIRE(js_SubscribeSync(&sub, js.js, ">", &js_opts, &sub_opts, &code) == NATS_OK);
  std::vector<StreamMessage> out;
  while (out.size() < count) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, sub, kReadIdleMs) != NATS_OK) break;
    out.push_back(ToStreamMessage(msg));
    natsMsg_Destroy(msg);
  }
  natsSubscription_Destroy(sub);
  return out;
}

std::vector<StreamMessage> ReadStreamWithPullConsumer(const std::string& url,
                                                      const std::string& stream,
                                                      const std::string& durable, size_t count) {
  constexpr int kFetchBatch = 500;
  Js js(url);
  jsSubOptions sub_opts;
  jsSubOptions_Init(&sub_opts);
  sub_opts.Stream = stream.c_str();
  natsSubscription* sub = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  BOOST_REQUIRE(js_PullSubscribe(&sub, js.js, ">", durable.c_str(), nullptr, &sub_opts, &code) ==
                NATS_OK);
  std::vector<StreamMessage> out;
  // The first fetches may time out while the new consumer's replicas elect a leader (a cluster
  // just healed): wait up to kFirstMessageWaitMs for the first message; after it, one empty fetch
  // ends the read.
  constexpr int64_t kFirstMessageWaitMs = 30000;
  int64_t waited_ms = 0;
  while (out.size() < count) {
    natsMsgList list{};
    if (natsSubscription_Fetch(&list, sub, kFetchBatch, kReadIdleMs, &code) != NATS_OK) {
      waited_ms += kReadIdleMs;
      if (!out.empty() || waited_ms >= kFirstMessageWaitMs) break;
      continue;
    }
    for (int i = 0; i < list.Count; ++i) {
      out.push_back(ToStreamMessage(list.Msgs[i]));
      natsMsg_Ack(list.Msgs[i], nullptr);
    }
    natsMsgList_Destroy(&list);
  }
  natsSubscription_Destroy(sub);
  return out;
}

std::pair<uint64_t, uint64_t> StreamState(const std::string& url, const std::string& stream) {
  Js js(url);
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, js.js, stream.c_str(), nullptr, &code) != NATS_OK) return {0, 0};
  std::pair<uint64_t, uint64_t> out{info->State.Msgs, info->State.LastSeq};
  jsStreamInfo_Destroy(info);
  return out;
}

}  // namespace ledger::testing
