// Ed25519 signatures (OpenSSL) for what the ledger hands to people outside the database: signed
// digests (replay/digest.h). Keys are files an operator keeps: the private key as PKCS#8 PEM, the
// public key as SubjectPublicKeyInfo PEM, the two forms `openssl genpkey -algorithm ed25519` and
// `openssl pkey -pubout` write, so an auditor can check a signature with OpenSSL alone.
//
//   absl::StatusOr<KeyPair> pair = GenerateKeyPair();
//   absl::StatusOr<std::string> sig = SignBytes(pair->private_pem, "message");
//   absl::Status ok = VerifyBytes(pair->public_pem, "message", *sig);  // kDataLoss if forged
//
// Pure functions, thread-safe; no key material is ever put in an error message.
#ifndef LEDGER_ENGINE_SIGNING_H_
#define LEDGER_ENGINE_SIGNING_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ledger {

// An Ed25519 signature is 64 bytes; a key id is the first 8 bytes of the SHA-256 of the raw
// 32-byte public key, in hex: short enough to read aloud, long enough that two keys of one
// organisation never share one by chance.
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kKeyIdHexDigits = 16;
// A PEM key file is a few hundred bytes; anything much longer is not a key.
inline constexpr size_t kKeyFileBytesMax = 16 * 1024;

struct KeyPair {
  std::string private_pem;  // PKCS#8 "-----BEGIN PRIVATE KEY-----".
  std::string public_pem;   // SPKI "-----BEGIN PUBLIC KEY-----".
  std::string key_id;
};

absl::StatusOr<KeyPair> GenerateKeyPair();

// The key id of a public key (PEM), or of the public half of a private key (PEM).
// kInvalidArgument when the text is not an Ed25519 key of that kind.
absl::StatusOr<std::string> PublicKeyId(std::string_view public_pem);
absl::StatusOr<std::string> PrivateKeyId(std::string_view private_pem);

// The 64-byte Ed25519 signature of `message`.
absl::StatusOr<std::string> SignBytes(std::string_view private_pem, std::string_view message);
// OK when `signature` is `message` signed by the private half of `public_pem`; kDataLoss when it
// is not (a forged or edited message or signature); kInvalidArgument for a key that is not one.
absl::Status VerifyBytes(std::string_view public_pem, std::string_view message,
                         std::string_view signature);

}  // namespace ledger

#endif  // LEDGER_ENGINE_SIGNING_H_
