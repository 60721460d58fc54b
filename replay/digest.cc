#include "replay/digest.h"

#include "boost/json.hpp"
#include "engine/hash_chain.h"
#include "engine/signing.h"
#include "engine/status_macros.h"
#include "engine/str_cat.h"
#include "engine/time_format.h"

namespace ledger {
namespace {

std::string_view View(const boost::json::string& s) { return {s.data(), s.size()}; }

// The optional RFC 3339 time field `name` of `o`: absent or null -> nullopt.
absl::StatusOr<std::optional<TimeMicros>> TimeField(const boost::json::object& o,
                                                    std::string_view name) {
  const boost::json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return std::optional<TimeMicros>();
  std::optional<TimeMicros> t = v->is_string() ? ParseRfc3339(View(v->get_string())) : std::nullopt;
  if (!t) {
    return absl::InvalidArgumentError(
        StrCat("digest ", name, " is not an RFC 3339 time: ", boost::json::serialize(*v)));
  }
  return t;
}

// The optional string field `name` of `o` ("" when absent).
absl::StatusOr<std::string> TextField(const boost::json::object& o, std::string_view name) {
  const boost::json::value* v = o.if_contains(name);
  if (v == nullptr) return std::string();
  if (!v->is_string())
    return absl::InvalidArgumentError(StrCat("digest ", name, " is not a string"));
  return std::string(View(v->get_string()));
}

}  // namespace

absl::StatusOr<LogDigest> TakeDigest(pg::Database* store, TimeMicros now) {
  LEDGER_ASSIGN_OR_RETURN(auto head, store->log().Head());
  LogDigest digest;
  digest.seq = head.first;
  digest.hash = head.second;
  if (head.first > 0) {
    LEDGER_ASSIGN_OR_RETURN(LoggedEvent row, store->log().Read(head.first));
    digest.recorded_at = row.recorded_at;
  }
  digest.taken_at = now;
  return digest;
}

std::string DigestSigningText(const LogDigest& digest) {
  return StrCat(kDigestSigningTag, "\n", "seq ", digest.seq, "\n", "hash ", ToHex(digest.hash),
                "\n", "recordedAt ", digest.recorded_at ? FormatRfc3339(*digest.recorded_at) : "-",
                "\n", "takenAt ", FormatRfc3339(digest.taken_at.value()), "\n", "keyId ",
                digest.key_id, "\n");
}

absl::Status SignDigest(std::string_view private_pem, LogDigest* digest) {
  absl::StatusOr<std::string> key_id = PrivateKeyId(private_pem);
  if (!key_id.ok()) return key_id.status();
  digest->key_id = *key_id;
  absl::StatusOr<std::string> signature = SignBytes(private_pem, DigestSigningText(*digest));
  if (!signature.ok()) return signature.status();
  digest->signature = *signature;
  return absl::OkStatus();
}

absl::Status CheckDigestSignature(std::string_view public_pem, const LogDigest& digest) {
  absl::StatusOr<std::string> key_id = PublicKeyId(public_pem);
  if (!key_id.ok()) return key_id.status();
  if (!digest.is_signed()) {
    return absl::FailedPreconditionError(
        "the digest is not signed: a public key can only check a digest taken with "
        "`ledger digest --sign`");
  }
  if (digest.key_id != *key_id) {
    return absl::DataLossError(StrCat("the digest names signing key ", digest.key_id,
                                      ", the public key given is key ", *key_id));
  }
  absl::Status verdict = VerifyBytes(public_pem, DigestSigningText(digest), digest.signature);
  if (absl::IsDataLoss(verdict)) {
    return absl::DataLossError(StrCat("the digest's signature does not verify with key ", *key_id,
                                      ": the digest file was edited, or forged"));
  }
  return verdict;
}

std::string FormatDigest(const LogDigest& digest) {
  boost::json::object o{{"seq", digest.seq}, {"hash", ToHex(digest.hash)}};
  o["recordedAt"] = digest.recorded_at ? boost::json::value(FormatRfc3339(*digest.recorded_at))
                                       : boost::json::value(nullptr);
  if (digest.taken_at) o["takenAt"] = FormatRfc3339(*digest.taken_at);
  if (digest.is_signed()) {
    o["keyId"] = digest.key_id;
    o["signature"] = BytesToHex(digest.signature);
  }
  return boost::json::serialize(o);
}

absl::StatusOr<LogDigest> ParseDigest(const std::string& text) {
  if (text.size() > kDigestFileBytesMax) {
    return absl::InvalidArgumentError(
        StrCat("digest is ", text.size(), " bytes, more than a digest's ", kDigestFileBytesMax));
  }
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return absl::InvalidArgumentError("digest is not a JSON object");
  const boost::json::object& o = v.get_object();
  const boost::json::value* seq = o.if_contains("seq");
  const boost::json::value* hash = o.if_contains("hash");
  if (seq == nullptr || !seq->is_int64() || hash == nullptr || !hash->is_string()) {
    return absl::InvalidArgumentError(R"(digest needs {"seq": N, "hash": "<64 hex>"})");
  }
  std::optional<Sha256> bytes = FromHex(View(hash->get_string()));
  if (!bytes) return absl::InvalidArgumentError("digest hash is not 64 lowercase hex digits");
  LogDigest digest;
  digest.seq = seq->get_int64();
  digest.hash = *bytes;
  absl::StatusOr<std::optional<TimeMicros>> recorded_at = TimeField(o, "recordedAt");
  if (!recorded_at.ok()) return recorded_at.status();
  absl::StatusOr<std::optional<TimeMicros>> taken_at = TimeField(o, "takenAt");
  if (!taken_at.ok()) return taken_at.status();
  absl::StatusOr<std::string> key_id = TextField(o, "keyId");
  if (!key_id.ok()) return key_id.status();
  absl::StatusOr<std::string> signature = TextField(o, "signature");
  if (!signature.ok()) return signature.status();
  digest.recorded_at = *recorded_at;
  digest.taken_at = *taken_at;
  if (key_id->empty() != signature->empty()) {
    return absl::InvalidArgumentError(
        "digest has a keyId without a signature, or the other way round");
  }
  if (!signature->empty()) {
    std::optional<std::string> raw = HexToBytes(*signature);
    if (!raw || raw->size() != kSignatureBytes || !digest.taken_at) {
      return absl::InvalidArgumentError(
          StrCat("digest signature is not ", 2 * kSignatureBytes,
                 " lowercase hex digits with a takenAt time (an Ed25519 signature of the digest)"));
    }
    digest.key_id = *key_id;
    digest.signature = *raw;
  }
  return digest;
}

}  // namespace ledger
