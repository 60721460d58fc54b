#include "tests/nats_server.h"

#include <nats/nats.h>
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "tests/process.h"

namespace ledger::testing {
namespace {

constexpr int kStartWaitMs = 10000;
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
    out.push_back(std::move(m));
    natsMsg_Destroy(msg);
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
