#include "feed/nats_publisher.h"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/chain_guard.h"
#include "engine/event_codec.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "feed/feed.h"

namespace ledger {
namespace {

constexpr char kPublishKind[] = "publish";
constexpr char kMsgIdHeader[] = "Nats-Msg-Id";
// Connection: fail a connect after 2 s, keep reconnecting for about a minute (the retry loop below
// then takes over), wait 5 s for JetStream API replies and acknowledgements.
constexpr int64_t kNatsConnectTimeoutMs = 2000;
constexpr int kNatsReconnectsMax = 120;
constexpr int64_t kNatsReconnectWaitMs = 500;
constexpr int64_t kJetStreamWaitMs = 5000;
constexpr int64_t kNanosPerSecond = 1000000000;

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// What a clustered JetStream answers while it elects a stream or meta leader, or while a restarted
// node catches up: the same request succeeds a moment later.
bool IsTransientJetStreamError(jsErrCode code) {
  return code == JSClusterIncompleteErr || code == JSClusterNotAssignedErr ||
         code == JSClusterNotAvailErr || code == JSClusterNotLeaderErr ||
         code == JSStreamOfflineErr;
}

absl::Status NatsError(natsStatus s, const std::string& what,
                       jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string text = StrCat(what, ": ", natsStatus_GetText(s));
  if (code != 0) text += StrCat(" (JetStream error ", static_cast<int>(code), ")");
  // Connection-level failures and a cluster between leaders are worth retrying; the rest are not.
  if (s == NATS_CONNECTION_CLOSED || s == NATS_NO_SERVER || s == NATS_TIMEOUT ||
      s == NATS_CONNECTION_DISCONNECTED || s == NATS_STALE_CONNECTION || s == NATS_NO_RESPONDERS ||
      s == NATS_IO_ERROR || IsTransientJetStreamError(code)) {
    return absl::UnavailableError(text);
  }
  return absl::FailedPreconditionError(text);
}

// What the acknowledgement callback (a library thread) reports to the publishing thread.
struct AckState {
  std::mutex mu;
  int64_t stored = 0;
  int64_t duplicates = 0;
  std::optional<std::string> error;
};

void OnAck(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* state = static_cast<AckState*>(closure);
  std::lock_guard<std::mutex> lock(state->mu);
  if (pa != nullptr) {
    (pa->Duplicate ? state->duplicates : state->stored) += 1;
  } else if (pae != nullptr && !state->error) {
    const char* id = nullptr;
    natsMsgHeader_Get(msg, kMsgIdHeader, &id);
    state->error =
        StrCat("JetStream refused position ", id != nullptr ? id : "?", ": ",
               pae->ErrText != nullptr ? pae->ErrText : natsStatus_GetText(pae->Err),
               pae->ErrCode != 0 ? StrCat(" (error ", static_cast<int>(pae->ErrCode), ")")
                                 : std::string());
  }
  natsMsg_Destroy(msg);
}

class JetStreamPublisher {
 public:
  JetStreamPublisher(pg::Database* store, const PublishOptions& options, PublishSummary* summary)
      : store_(store), options_(options), summary_(summary) {}
  ~JetStreamPublisher() { Disconnect(); }

  // Called after each round of PublishFrom that settled everything it sent.
  void set_on_round(std::function<void()> fn) { on_round_ = std::move(fn); }

  absl::Status Connect() {
    Disconnect();
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    // A cluster is given as "nats://a:4222,nats://b:4222": natsOptions_SetURL takes one URL only.
    const std::vector<std::string> urls = absl::StrSplit(options_.nats_url, ',', absl::SkipEmpty());
    std::vector<const char*> servers;
    for (const std::string& url : urls) servers.push_back(url.c_str());
    if (s == NATS_OK) {
      s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
    }
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, kNatsConnectTimeoutMs);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, kNatsReconnectsMax);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, kNatsReconnectWaitMs);
    if (s == NATS_OK) s = natsConnection_Connect(&conn_, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) return NatsError(s, StrCat("connect to NATS at ", options_.nats_url));
    jsOptions js_opts;
    jsOptions_Init(&js_opts);
    js_opts.Wait = kJetStreamWaitMs;
    js_opts.PublishAsync.MaxPending = kPublishWindow;
    js_opts.PublishAsync.AckHandler = OnAck;
    js_opts.PublishAsync.AckHandlerClosure = &acks_;
    s = natsConnection_JetStream(&js_, conn_, &js_opts);
    if (s != NATS_OK) return NatsError(s, "open a JetStream context");
    return absl::OkStatus();
  }

  // Creates the stream if missing; checks an existing one takes our subjects.
  absl::Status EnsureStream() {
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), nullptr, &code);
    const std::string subjects = options_.subject_prefix + ".>";
    if (s == NATS_OK) {
      bool ours = false;
      for (int i = 0; i < info->Config->SubjectsLen; ++i) {
        ours = ours || subjects == info->Config->Subjects[i];
      }
      jsStreamInfo_Destroy(info);
      if (!ours) {
        return absl::FailedPreconditionError(
            StrCat("stream ", options_.stream, " exists without the subjects ", subjects,
                   ": choose another --stream or --subject-prefix"));
      }
      return absl::OkStatus();
    }
    if (s != NATS_NOT_FOUND) return NatsError(s, StrCat("look up stream ", options_.stream), code);
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    const char* subject_list[] = {subjects.c_str()};
    config.Name = options_.stream.c_str();
    config.Description = "DegenHouse ledger events, one message per log position (ledger publish)";
    config.Subjects = subject_list;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Retention = js_LimitsPolicy;
    config.Replicas = options_.replicas;
    config.Duplicates = kStreamDuplicateWindowSeconds * kNanosPerSecond;
    config.DenyDelete = true;
    config.DenyPurge = true;
    s = js_AddStream(&info, js_, &config, nullptr, &code);
    if (s != NATS_OK) return NatsError(s, StrCat("create stream ", options_.stream), code);
    jsStreamInfo_Destroy(info);
    return absl::OkStatus();
  }

  // The log position of the stream's last message (0 when empty), from its Nats-Msg-Id.
  absl::StatusOr<int64_t> StreamPosition() {
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, js_, options_.stream.c_str(), nullptr, &code);
    if (s != NATS_OK) return NatsError(s, StrCat("read stream ", options_.stream), code);
    const uint64_t last = info->State.LastSeq;
    const uint64_t count = info->State.Msgs;
    jsStreamInfo_Destroy(info);
    if (count == 0) return int64_t{0};
    natsMsg* msg = nullptr;
    s = js_GetMsg(&msg, js_, options_.stream.c_str(), last, nullptr, &code);
    if (s != NATS_OK)
      return NatsError(s, StrCat("read the last message of ", options_.stream), code);
    const char* id = nullptr;
    int64_t position = 0;
    const bool ok = natsMsgHeader_Get(msg, kMsgIdHeader, &id) == NATS_OK &&
                    absl::SimpleAtoi(id, &position) && position > 0;
    natsMsg_Destroy(msg);
    if (!ok) {
      return absl::FailedPreconditionError(
          StrCat("the last message of stream ", options_.stream,
                 " has no ledger position as Nats-Msg-Id: the stream "
                 "holds messages of another publisher"));
    }
    return position;
  }

  // Publishes the log after `position` (the stream's last) until its end, or until stopped.
  // Every row's chain is checked before it is sent: nothing at or past a break is published (no
  // --allow-broken-chain here: other services would build on it); what was sent before it is
  // settled, and the break ends the publisher (exit 3).
  absl::Status PublishFrom(int64_t position) {
    position_ = position;
    LEDGER_ASSIGN_OR_RETURN(ChainGuard guard, GuardAfter(store_, position, nullptr));
    for (;;) {
      absl::Status scanned =
          store_->log().Scan(position_ + in_flight_, [this, &guard](const LoggedEvent& row) {
            if (Stopping()) return absl::CancelledError("stop");
            LEDGER_RETURN_IF_ERROR(guard.Check(row));
            LEDGER_RETURN_IF_ERROR(Send(row));
            return in_flight_ >= kPublishWindow ? Settle() : absl::OkStatus();
          });
      if (IsBrokenChain(scanned)) {
        Settle().IgnoreError();
        return scanned;
      }
      if (!scanned.ok() && !absl::IsCancelled(scanned)) return scanned;
      LEDGER_RETURN_IF_ERROR(Settle());
      if (on_round_) on_round_();
      if (!options_.follow || Stopping()) return absl::OkStatus();
      LEDGER_ASSIGN_OR_RETURN(bool notified, store_->log().WaitForAppend(kPublishPollMs));
      (void)notified;  // Poll either way: a notification only cuts the wait short.
    }
  }

 private:
  bool Stopping() const { return options_.stop != nullptr && options_.stop->load(); }

  absl::Status Send(const LoggedEvent& row) {
    const std::string subject = SubjectFor(
        options_.subject_prefix, row.event.market_id.value_or(""), ActionName(row.event.action));
    const std::string data = EncodeLoggedEventJson(row);
    natsMsg* msg = nullptr;
    natsStatus s =
        natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
    if (s != NATS_OK) return NatsError(s, "create a message");
    const std::string id = StrCat(row.seq);
    const std::string previous = StrCat(row.seq - 1);
    jsPubOptions pub;
    jsPubOptions_Init(&pub);
    pub.MsgId = id.c_str();
    if (row.seq > 1) pub.ExpectLastMsgId = previous.c_str();
    s = js_PublishMsgAsync(js_, &msg, &pub);
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      return NatsError(s, StrCat("publish position ", row.seq));
    }
    ++in_flight_;
    return absl::OkStatus();
  }

  // Waits for every message in flight, then moves the checkpoint to the last acknowledged one.
  absl::Status Settle() {
    if (in_flight_ == 0) return absl::OkStatus();
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = kJetStreamWaitMs;
    natsStatus s = js_PublishAsyncComplete(js_, &wait);
    std::optional<std::string> error;
    {
      std::lock_guard<std::mutex> lock(acks_.mu);
      summary_->published += acks_.stored;
      summary_->duplicates += acks_.duplicates;
      acks_.stored = acks_.duplicates = 0;
      error = std::move(acks_.error);
      acks_.error.reset();
    }
    in_flight_ = 0;
    if (s != NATS_OK) return NatsError(s, "wait for JetStream acknowledgements");
    // A refused message refuses every later one (each expects its predecessor), so the stream ends
    // at the last message before it: the caller resumes from there.
    if (error) return absl::AbortedError(*error);
    LEDGER_ASSIGN_OR_RETURN(position_, StreamPosition());
    summary_->position = position_;
    return store_->feed_positions().Set(kPublishKind, options_.stream, position_);
  }

  void Disconnect() {
    if (js_ != nullptr) jsCtx_Destroy(js_);
    if (conn_ != nullptr) natsConnection_Destroy(conn_);
    js_ = nullptr;
    conn_ = nullptr;
    in_flight_ = 0;
  }

  pg::Database* store_;
  const PublishOptions& options_;
  PublishSummary* summary_;
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
  AckState acks_;
  int64_t position_ = 0;
  int64_t in_flight_ = 0;
  std::function<void()> on_round_;
};

}  // namespace

absl::Status ValidatePublishOptions(const PublishOptions& options) {
  if (options.stream.empty() || options.stream.size() > kStreamNameBytesMax ||
      !std::all_of(options.stream.begin(), options.stream.end(), IsTokenChar)) {
    return absl::InvalidArgumentError(StrCat("--stream must be 1 to ", kStreamNameBytesMax,
                                             " letters, digits, '-' or '_', got ", options.stream));
  }
  bool token_started = false;
  bool prefix_ok =
      !options.subject_prefix.empty() && options.subject_prefix.size() <= kSubjectPrefixBytesMax;
  for (char c : options.subject_prefix) {
    if (c == '.') {
      prefix_ok = prefix_ok && token_started;
      token_started = false;
    } else {
      prefix_ok = prefix_ok && IsTokenChar(c);
      token_started = true;
    }
  }
  if (!prefix_ok || !token_started) {
    return absl::InvalidArgumentError(
        StrCat("--subject-prefix must be tokens of letters, digits, '-' or '_' joined by '.', got ",
               options.subject_prefix));
  }
  if (options.replicas < 1 || options.replicas > kStreamReplicasMax) {
    return absl::InvalidArgumentError(StrCat("--replicas must be 1 to ", kStreamReplicasMax));
  }
  return absl::OkStatus();
}

std::string SubjectFor(const std::string& prefix, const std::string& market_id,
                       std::string_view action) {
  std::string out = prefix + ".";
  for (char c : market_id) {
    if (IsTokenChar(c)) {
      out.push_back(c);
    } else {
      out += absl::StrFormat("%%%02X", static_cast<unsigned char>(c));
    }
  }
  if (market_id.empty()) out += "_";
  out += ".";
  out += action;
  return out;
}

absl::Status Publish(pg::Database* store, const PublishOptions& options, PublishSummary* summary) {
  LEDGER_RETURN_IF_ERROR(ValidatePublishOptions(options));
  JetStreamPublisher publisher(store, options, summary);
  Backoff backoff(options.retries_max);
  // A round settled: an outage before it is over, and the next one gets every attempt (a cluster
  // may lose its stream leader more than once in a long run).
  publisher.set_on_round([&] { backoff.Reset(options.on_retry); });
  bool first = true;
  for (;;) {
    absl::Status status = publisher.Connect();
    if (status.ok()) status = publisher.EnsureStream();
    absl::StatusOr<int64_t> position = status.ok() ? publisher.StreamPosition() : status;
    absl::StatusOr<int64_t> checkpoint =
        position.ok() ? store->feed_positions().Read(kPublishKind, options.stream)
                      : position.status();
    if (checkpoint.ok() && *checkpoint > *position) {
      return absl::DataLossError(
          StrCat("stream ", options.stream, " ends at position ", *position,
                 " but JetStream acknowledged up to ", *checkpoint,
                 " before: the stream lost messages (deleted and recreated?); publish to a new "
                 "stream, or restore this one"));
    }
    if (checkpoint.ok()) {
      if (first) summary->resumed_after = *position;
      first = false;
      summary->position = *position;
      status = store->feed_positions().Set(kPublishKind, options.stream, *position);
      if (status.ok()) status = publisher.PublishFrom(*position);
      if (status.ok()) return status;
    } else {
      status = checkpoint.status();
    }
    // A refused publish (kAborted: another publisher got there first) is retried like an outage.
    const bool retryable = IsTransient(status) || absl::IsAborted(status);
    if (!retryable || !backoff.Wait(status, options.on_retry, options.stop)) return status;
    store->Reconnect().IgnoreError();
  }
}

}  // namespace ledger
