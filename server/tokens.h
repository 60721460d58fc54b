// Tokens: who may call the service. `--tokens FILE` maps bearer tokens to roles, one per line:
//
//   # comment
//   writer  3f9c...   (role, then the token: at least kTokenBytesMin characters)
//
//   writer   appends events, and everything a reader may do
//   reader   reads (events, head, bets, markets, wallets) and follows the feed
//   auditor  what a reader may, and /metrics
//
// Tokens are kept only as SHA-256 digests and compared in constant time against every entry, so
// neither the file's order nor a near miss shows in the timing. No token is ever logged.
// Immutable after Load: thread-safe.
#ifndef LEDGER_SERVER_TOKENS_H_
#define LEDGER_SERVER_TOKENS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/hash_chain.h"

namespace ledger::server {

enum class Role : uint8_t { kReader, kAuditor, kWriter };
std::string_view RoleName(Role role);

// What a route needs; Allows(role, need) says whether a role has it.
enum class Permission : uint8_t { kRead, kWrite, kMetrics };
bool Allows(Role role, Permission need);

// A token shorter than this is refused at load: 32 characters of a random hex or base64 token are
// at least 128 bits, beyond guessing through the service's rate of answers.
inline constexpr size_t kTokenBytesMin = 32;
// Entries a tokens file may hold: a handful of services and people, not a user table.
inline constexpr size_t kTokensMax = 1000;

class TokenTable {
 public:
  // Parses the file; an error names the line (never the token).
  static absl::StatusOr<TokenTable> Load(const std::string& path);
  static absl::StatusOr<TokenTable> Parse(std::string_view text);

  // The role of `token`, when it is in the table.
  std::optional<Role> Find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Sha256 digest;
    Role role;
  };
  std::vector<Entry> entries_;
};

}  // namespace ledger::server

#endif  // LEDGER_SERVER_TOKENS_H_
