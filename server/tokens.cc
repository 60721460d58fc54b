#include "server/tokens.h"

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "engine/str_cat.h"

namespace ledger::server {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kAuditor:
      return "auditor";
    case Role::kWriter:
      return "writer";
  }
  return "reader";
}

bool Allows(Role role, Permission need) {
  switch (need) {
    case Permission::kRead:
      return true;
    case Permission::kWrite:
      return role == Role::kWriter;
    case Permission::kMetrics:
      return role == Role::kAuditor;
  }
  return false;
}

absl::StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read the tokens file ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<TokenTable> table = Parse(text.str());
  if (!table.ok()) {
    return absl::InvalidArgumentError(StrCat(path, ": ", table.status().message()));
  }
  return table;
}

absl::StatusOr<TokenTable> TokenTable::Parse(std::string_view text) {
  TokenTable table;
  int64_t number = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          StrCat("line ", number, ": expected `ROLE TOKEN` (two fields), found ", parts.size()));
    }
    Entry entry;
    if (parts[0] == "writer") {
      entry.role = Role::kWriter;
    } else if (parts[0] == "reader") {
      entry.role = Role::kReader;
    } else if (parts[0] == "auditor") {
      entry.role = Role::kAuditor;
    } else {
      return absl::InvalidArgumentError(
          StrCat("line ", number, ": unknown role \"", parts[0], "\" (writer, reader or auditor)"));
    }
    if (parts[1].size() < kTokenBytesMin) {
      return absl::InvalidArgumentError(StrCat("line ", number, ": the token is ", parts[1].size(),
                                               " characters, at least ", kTokenBytesMin,
                                               " are required"));
    }
    if (table.entries_.size() >= kTokensMax) {
      return absl::InvalidArgumentError(StrCat("more than ", kTokensMax, " tokens"));
    }
    entry.digest = Sha256Of(std::string_view(parts[1].data(), parts[1].size()));
    table.entries_.push_back(entry);
  }
  return table;
}

std::optional<Role> TokenTable::Find(std::string_view token) const {
  const Sha256 digest = Sha256Of(token);
  std::optional<Role> found;
  for (const Entry& e : entries_) {  // Every entry, whether or not one matched already.
    if (CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0) found = e.role;
  }
  return found;
}

}  // namespace ledger::server
