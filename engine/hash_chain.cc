#include "engine/hash_chain.h"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

constexpr char kAbsent = '\0';
constexpr char kPresent = '\1';

// kPresent, the length as 8 bytes big-endian, the bytes (docs/event-format.md). The header is built
// on the stack and appended at once: a row has ~25 fields, and byte-by-byte push_back dominated.
void PutBytes(std::string_view value, std::string* out) {
  char header[9];
  header[0] = kPresent;
  const uint64_t length = value.size();
  for (int i = 0; i < 8; ++i) header[1 + i] = static_cast<char>((length >> (56 - 8 * i)) & 0xff);
  out->append(header, sizeof(header));
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
  Sha256 Sum(std::string_view a, std::string_view b) {
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
  const bool derived_market =
      derived_bet_fields || (identity_payload && e.action == Action::kWalletUnflagged);
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
  PutOptional(
      e.severity, [out](Severity v) { PutBytes(SeverityName(v), out); }, out);
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

Sha256 Sha256Of(std::string_view bytes) { return ThreadHasher().Sum(bytes, {}); }

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex2(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::Update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

Sha256 Sha256Stream::Finish() {
  Sha256 out{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &length);
  return out;
}

Sha256 ChainHash(const Sha256& prev, const LoggedEvent& row) {
  std::string& buffer = ThreadBuffer();
  AppendCanonicalRow(row, &buffer);
  return ThreadHasher().Sum(
      std::string_view(reinterpret_cast<const char*>(prev.data()), prev.size()), buffer);
}

Sha256 PayloadFingerprint(const Event& event) {
  std::string& buffer = ThreadBuffer();
  AppendCanonicalEvent(event, &buffer, /*identity_payload=*/true);
  return Sha256Of(buffer);
}

namespace {

std::string HexOf(const uint8_t* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

// Decodes hex.size() / 2 bytes into `out`; false at an odd length or a digit that is not
// lowercase hex.
bool DecodeHex(std::string_view hex, uint8_t* out) {
  // Lowercase hex digit -> value, anything else -> 0xff. Built once; the fold parses every tx hash.
  static constexpr std::array<uint8_t, 256> kNibble = [] {
    std::array<uint8_t, 256> t{};
    t.fill(0xff);
    for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<uint8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) t[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'a' + 10);
    return t;
  }();
  if (hex.size() % 2 != 0) return false;
  uint8_t bad = 0;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const uint8_t hi = kNibble[static_cast<unsigned char>(hex[2 * i])];
    const uint8_t lo = kNibble[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= static_cast<uint8_t>(hi | lo);
    out[i] = static_cast<uint8_t>((hi << 4) | (lo & 0x0f));
  }
  return (bad & 0xf0) == 0;
}

}  // namespace

std::string ToHex(const Sha256& hash) { return HexOf(hash.data(), hash.size()); }

std::optional<Sha256> FromHex(std::string_view hex) {
  Sha256 out{};
  if (hex.size() != 2 * out.size() || !DecodeHex(hex, out.data())) return std::nullopt;
  return out;
}

std::string BytesToHex(std::string_view bytes) {
  return HexOf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::optional<std::string> HexToBytes(std::string_view hex) {
  std::string out(hex.size() / 2, '\0');
  if (!DecodeHex(hex, reinterpret_cast<uint8_t*>(out.data()))) return std::nullopt;
  return out;
}

LinkFaults CheckLink(int64_t prev_seq, const Sha256& prev_hash, const LoggedEvent& row) {
  LinkFaults f;
  f.missing_positions = row.seq > prev_seq + 1;
  f.unexpected_position = row.seq <= prev_seq;
  f.broken_link = row.prev_hash != prev_hash;
  f.computed = ChainHash(row.prev_hash, row);
  f.altered_row = f.computed != row.hash;
  return f;
}

std::vector<ChainBreak> LinkFaults::Describe(int64_t prev_seq, const Sha256& prev_hash,
                                             const LoggedEvent& row) const {
  std::vector<ChainBreak> out;
  if (missing_positions) {
    out.push_back({prev_seq + 1, "MISSING_POSITION",
                   StrCat("positions ", prev_seq + 1, " to ", row.seq - 1, " are missing")});
  }
  if (unexpected_position) {
    out.push_back(
        {row.seq, "UNEXPECTED_POSITION", StrCat("position ", row.seq, " after ", prev_seq)});
  }
  if (broken_link) {
    out.push_back({row.seq, "BROKEN_LINK",
                   StrCat("prevHash ", ToHex(row.prev_hash), " is not the previous row's hash ",
                          ToHex(prev_hash))});
  }
  if (altered_row) {
    out.push_back(
        {row.seq, "ALTERED_ROW",
         StrCat("content hashes to ", ToHex(computed), ", stored hash is ", ToHex(row.hash))});
  }
  return out;
}

}  // namespace ledger
