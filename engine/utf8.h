// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), for saying
// exactly where a refused line stops being text, and for writing refused lines back out losslessly.
#ifndef LEDGER_ENGINE_UTF8_H_
#define LEDGER_ENGINE_UTF8_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace ledger {

// The offset of the first byte that does not start a well-formed UTF-8 sequence; nullopt when
// `text` is valid UTF-8.
std::optional<size_t> FirstInvalidUtf8(std::string_view text);

// The longest prefix of `text` of at most `bytes_max` bytes that does not end inside a multi-byte
// sequence: cutting valid UTF-8 there leaves valid UTF-8 (a message that echoes a long value must
// stay valid, or the JSON that carries it is not).
std::string_view Utf8Prefix(std::string_view text, size_t bytes_max);

}  // namespace ledger

#endif  // LEDGER_ENGINE_UTF8_H_
