#include "engine/hash_chain.h"

#include <openssl/evp.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

constexpr char kAbsent = '\0';
constexpr char kPresent = '\1';

void PutBytes(std::string_view value, std::string* out) {
  out->push_back(kPresent);
  uint64_t length = value.size();
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((length >> shift) & 0xff));
  }
  out->append(value);
}

void PutInt(int64_t value, std::string* out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  PutBytes(std::string_view(digits, static_cast<size_t>(end - digits)), out);
}

// SHA-256 through one fetched EVP_MD and a per-thread context: OpenSSL 3 otherwise looks the
// algorithm up on every call, which costs more than hashing a 300-byte row.
class Hasher {
 public:
  Hasher() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~Hasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256 Digest(std::string_view a, std::string_view b) {
    Sha256 out{};
    unsigned int length = 0;
    EVP_DigestInit_ex2(ctx_, md_, nullptr);
    EVP_DigestUpdate(ctx_, a.data(), a.size());
    if (!b.empty()) EVP_DigestUpdate(ctx_, b.data(), b.size());
    EVP_DigestFinal_ex(ctx_, out.data(), &length);
    return out;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

Hasher& ThreadHasher() {
  thread_local Hasher hasher;
  return hasher;
}

// A per-thread buffer for canonical encodings, so hashing a row allocates nothing.
std::string& ThreadBuffer() {
  thread_local std::string buffer;
  buffer.clear();
  return buffer;
}

template <typename T, typename F>
void PutOptional(const std::optional<T>& value, F&& put, std::string* out) {
  if (value) {
    put(*value);
  } else {
    out->push_back(kAbsent);
  }
}

}  // namespace

void AppendCanonicalEvent(const Event& e, std::string* out, bool identity_payload) {
  // The identity payload (StripDerived) leaves out createdAt and the fields derived from state.
  const bool derived_bet_fields =
      identity_payload && IsBetAction(e.action) && e.action != Action::kPlaced;
  const bool derived_market = derived_bet_fields ||
                              (identity_payload && e.action == Action::kWalletUnflagged);
  auto text = [out](const std::string& v) { PutBytes(v, out); };
  auto integer = [out](int64_t v) { PutInt(v, out); };
  auto micros = [out](Micros v) { PutInt(v.value(), out); };
  auto choice = [out](Choice v) { PutBytes(ChoiceName(v), out); };
  PutBytes(ActionName(e.action), out);
  PutOptional(e.event_id, text, out);
  PutInt(identity_payload ? 0 : e.created_at, out);
  PutOptional(e.bet_id, text, out);
  PutOptional(derived_market ? std::nullopt : e.market_id, text, out);
  PutOptional(derived_bet_fields ? std::nullopt : e.wallet, text, out);
  PutOptional(e.choice, choice, out);
  PutOptional(e.amount, micros, out);
  PutOptional(e.bet_number, integer, out);
  PutOptional(e.tx_hash, text, out);
  PutOptional(e.reason, text, out);
  PutOptional(e.severity, [out](Severity v) { PutBytes(SeverityName(v), out); }, out);
  PutOptional(e.clawback_amount, micros, out);
  PutOptional(e.clawback_tx_hash, text, out);
  PutOptional(e.winner, choice, out);
  PutOptional(e.question, text, out);
  PutOptional(e.start_date, integer, out);
  PutOptional(e.end_date, integer, out);
  PutOptional(e.contract_address, text, out);
  PutOptional(e.gnosis_safe_address, text, out);
}

void AppendCanonicalRow(const LoggedEvent& row, std::string* out) {
  PutBytes(kCanonicalVersion, out);
  PutInt(row.seq, out);
  PutBytes(row.id, out);
  PutBytes(row.identity_key, out);
  PutBytes(row.stream_id, out);
  PutInt(row.stream_version, out);
  PutInt(row.recorded_at, out);
  AppendCanonicalEvent(row.event, out);
}

std::string CanonicalEncoding(const LoggedEvent& row) {
  std::string out;
  out.reserve(512);
  AppendCanonicalRow(row, &out);
  return out;
}

Sha256 Sha256Of(std::string_view bytes) { return ThreadHasher().Digest(bytes, {}); }

Sha256 ChainHash(const Sha256& prev, const LoggedEvent& row) {
  std::string& buffer = ThreadBuffer();
  AppendCanonicalRow(row, &buffer);
  return ThreadHasher().Digest(
      std::string_view(reinterpret_cast<const char*>(prev.data()), prev.size()), buffer);
}

Sha256 PayloadFingerprint(const Event& event) {
  std::string& buffer = ThreadBuffer();
  AppendCanonicalEvent(event, &buffer, /*identity_payload=*/true);
  return Sha256Of(buffer);
}

std::string ToHex(const Sha256& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(hash.size() * 2, '0');
  for (size_t i = 0; i < hash.size(); ++i) {
    out[2 * i] = kDigits[hash[i] >> 4];
    out[2 * i + 1] = kDigits[hash[i] & 0xf];
  }
  return out;
}

std::optional<Sha256> FromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  Sha256 out{};
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

}  // namespace ledger
