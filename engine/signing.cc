#include "engine/signing.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "engine/hash_chain.h"
#include "engine/str_cat.h"

namespace ledger {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Refuses every passphrase prompt: an encrypted key is an error here, never a wait on a terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

enum class KeyKind { kPrivate, kPublic };

absl::StatusOr<Pkey> ReadKey(std::string_view pem, KeyKind kind) {
  const char* what = kind == KeyKind::kPrivate ? "private" : "public";
  if (pem.size() > kKeyFileBytesMax) {
    return absl::InvalidArgumentError(
        StrCat("not an Ed25519 ", what, " key: longer than ", kKeyFileBytesMax, " bytes"));
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(kind == KeyKind::kPrivate
               ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr)
               : PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        StrCat("not an Ed25519 ", what, " key in PEM form (unencrypted ",
               kind == KeyKind::kPrivate ? "PKCS#8" : "SubjectPublicKeyInfo", ")"));
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        StrCat("the ", what, " key is not an Ed25519 key (only Ed25519 is accepted)"));
  }
  return key;
}

std::string KeyIdOf(EVP_PKEY* key) {
  unsigned char raw[32];
  size_t length = sizeof(raw);
  EVP_PKEY_get_raw_public_key(key, raw, &length);
  const Sha256 hash = Sha256Of(std::string_view(reinterpret_cast<const char*>(raw), length));
  return ToHex(hash).substr(0, kKeyIdHexDigits);
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

absl::StatusOr<KeyPair> GenerateKeyPair() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL could not generate an Ed25519 key");
  }
  Bio private_bio(BIO_new(BIO_s_mem()));
  Bio public_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(private_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1 ||
      PEM_write_bio_PUBKEY(public_bio.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL could not write the Ed25519 key as PEM");
  }
  return KeyPair{BioText(private_bio.get()), BioText(public_bio.get()), KeyIdOf(key.get())};
}

absl::StatusOr<std::string> PublicKeyId(std::string_view public_pem) {
  absl::StatusOr<Pkey> key = ReadKey(public_pem, KeyKind::kPublic);
  if (!key.ok()) return key.status();
  return KeyIdOf(key->get());
}

absl::StatusOr<std::string> PrivateKeyId(std::string_view private_pem) {
  absl::StatusOr<Pkey> key = ReadKey(private_pem, KeyKind::kPrivate);
  if (!key.ok()) return key.status();
  return KeyIdOf(key->get());
}

absl::StatusOr<std::string> SignBytes(std::string_view private_pem, std::string_view message) {
  absl::StatusOr<Pkey> key = ReadKey(private_pem, KeyKind::kPrivate);
  if (!key.ok()) return key.status();
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(kSignatureBytes, '\0');
  size_t length = signature.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      length != kSignatureBytes) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL could not sign with the Ed25519 key");
  }
  return signature;
}

absl::Status VerifyBytes(std::string_view public_pem, std::string_view message,
                         std::string_view signature) {
  absl::StatusOr<Pkey> key = ReadKey(public_pem, KeyKind::kPublic);
  if (!key.ok()) return key.status();
  if (signature.size() != kSignatureBytes) {
    return absl::DataLossError(StrCat("the signature is ", signature.size(),
                                      " bytes, an Ed25519 signature is ", kSignatureBytes));
  }
  MdCtx ctx(EVP_MD_CTX_new());
  const int verdict =
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) == 1
          ? EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size())
          : -1;
  ERR_clear_error();
  if (verdict == 1) return absl::OkStatus();
  if (verdict == 0) {
    return absl::DataLossError(
        "the signature does not match: the signed text or the signature "
        "was changed, or another key signed it");
  }
  return absl::InternalError("OpenSSL could not check the Ed25519 signature");
}

}  // namespace ledger
