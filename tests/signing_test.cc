// Specification of Ed25519 signing (engine/signing.h) and signed digests (replay/digest.h): a
// signature verifies only with the signer's public key and only over the exact canonical text, so
// changing any field of a digest, or its signature, by one byte is refused; the digest format reads
// back what it wrote, and the older {seq, hash} form still parses.
#include "engine/signing.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "engine/hash_chain.h"
#include "replay/digest.h"

namespace ledger {
namespace {

LogDigest SampleDigest() {
  LogDigest d;
  d.seq = 4242;
  d.hash = Sha256Of("row 4242");
  d.recorded_at = 1'780'000'000'123'456;  // 2026-05-28T...Z, with microseconds.
  d.taken_at = 1'780'000'300'000'000;
  return d;
}

KeyPair NewKeys() {
  absl::StatusOr<KeyPair> keys = GenerateKeyPair();
  BOOST_REQUIRE_MESSAGE(keys.ok(), keys.status().ToString());
  return *keys;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(signing)

BOOST_AUTO_TEST_CASE(a_signature_verifies_with_its_key_and_nothing_else) {
  const KeyPair keys = NewKeys();
  const KeyPair other = NewKeys();
  BOOST_TEST(keys.key_id.size() == kKeyIdHexDigits);
  BOOST_TEST(keys.key_id != other.key_id);
  BOOST_TEST(*PublicKeyId(keys.public_pem) == keys.key_id);
  BOOST_TEST(*PrivateKeyId(keys.private_pem) == keys.key_id);
  absl::StatusOr<std::string> sig = SignBytes(keys.private_pem, "the message");
  BOOST_REQUIRE(sig.ok());
  BOOST_TEST(sig->size() == kSignatureBytes);
  BOOST_TEST(VerifyBytes(keys.public_pem, "the message", *sig).ok());
  BOOST_TEST(absl::IsDataLoss(VerifyBytes(keys.public_pem, "the messagE", *sig)));
  BOOST_TEST(absl::IsDataLoss(VerifyBytes(other.public_pem, "the message", *sig)));
  for (size_t i = 0; i < sig->size(); i += 7) {
    std::string flipped = *sig;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    BOOST_TEST(absl::IsDataLoss(VerifyBytes(keys.public_pem, "the message", flipped)), i);
  }
  BOOST_TEST(absl::IsDataLoss(VerifyBytes(keys.public_pem, "the message", sig->substr(1))));
}

BOOST_AUTO_TEST_CASE(what_is_not_an_ed25519_key_is_refused_without_quoting_it) {
  const KeyPair keys = NewKeys();
  // The halves swapped, garbage, and an RSA-looking header: each an InvalidArgument that never
  // repeats the key text.
  for (const std::string& bad : {keys.public_pem, std::string("not a key"),
                                 std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END "
                                             "PRIVATE KEY-----\n")}) {
    absl::StatusOr<std::string> sig = SignBytes(bad, "m");
    BOOST_TEST(absl::IsInvalidArgument(sig.status()), sig.status().ToString());
    BOOST_TEST(sig.status().message().find("BEGIN") == std::string::npos);
  }
  BOOST_TEST(absl::IsInvalidArgument(PublicKeyId(keys.private_pem).status()));
  BOOST_TEST(absl::IsInvalidArgument(PublicKeyId(std::string(kKeyFileBytesMax + 1, 'A')).status()));
}

BOOST_AUTO_TEST_CASE(a_signed_digest_reads_back_and_verifies) {
  const KeyPair keys = NewKeys();
  LogDigest d = SampleDigest();
  BOOST_REQUIRE(SignDigest(keys.private_pem, &d).ok());
  BOOST_TEST(d.key_id == keys.key_id);
  absl::StatusOr<LogDigest> back = ParseDigest(FormatDigest(d));
  BOOST_REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  BOOST_TEST(FormatDigest(*back) == FormatDigest(d));
  BOOST_TEST((back->recorded_at == d.recorded_at));
  BOOST_TEST(CheckDigestSignature(keys.public_pem, *back).ok());
  BOOST_TEST(DigestSigningText(d) ==
             "ledger-digest-v1\nseq 4242\nhash " + ToHex(d.hash) +
                 "\nrecordedAt 2026-05-28T20:26:40.123456Z\ntakenAt 2026-05-28T20:31:40Z\nkeyId " +
                 keys.key_id + "\n");
}

BOOST_AUTO_TEST_CASE(every_edited_field_of_a_signed_digest_is_refused) {
  const KeyPair keys = NewKeys();
  LogDigest signed_digest = SampleDigest();
  BOOST_REQUIRE(SignDigest(keys.private_pem, &signed_digest).ok());
  auto expect_refused = [&](LogDigest d, const char* what) {
    const absl::Status s = CheckDigestSignature(keys.public_pem, d);
    BOOST_TEST(absl::IsDataLoss(s), what << ": " << s.ToString());
  };
  LogDigest d = signed_digest;
  d.seq -= 1;
  expect_refused(d, "seq");
  d = signed_digest;
  d.hash[31] ^= 0x01;
  expect_refused(d, "hash");
  d = signed_digest;
  *d.recorded_at += 1;
  expect_refused(d, "recordedAt");
  d = signed_digest;
  d.recorded_at.reset();
  expect_refused(d, "recordedAt removed");
  d = signed_digest;
  *d.taken_at -= 1;
  expect_refused(d, "takenAt");
  d = signed_digest;
  d.signature[0] = static_cast<char>(d.signature[0] ^ 0x80);
  expect_refused(d, "signature");
  // Signed by another key that claims this key's id, and by another key under its own id.
  LogDigest forged = SampleDigest();
  BOOST_REQUIRE(SignDigest(NewKeys().private_pem, &forged).ok());
  expect_refused(forged, "another key");
  forged.key_id = keys.key_id;
  expect_refused(forged, "another key with this key's id");
  // Unsigned: nothing to check, said as a precondition, not as forgery.
  BOOST_TEST(absl::IsFailedPrecondition(CheckDigestSignature(keys.public_pem, SampleDigest())));
}

BOOST_AUTO_TEST_CASE(the_older_digest_form_parses_and_malformed_ones_are_named) {
  const std::string hash = ToHex(Sha256Of("x"));
  absl::StatusOr<LogDigest> old = ParseDigest(R"({"seq": 7, "hash": ")" + hash + R"("})");
  BOOST_REQUIRE(old.ok());
  BOOST_TEST(old->seq == 7);
  BOOST_TEST(!old->recorded_at.has_value());
  BOOST_TEST(!old->is_signed());
  for (const std::string& bad : std::vector<std::string>{
           R"({"seq": 7})", R"({"seq": "7", "hash": ")" + hash + R"("})",
           R"({"seq": 7, "hash": ")" + hash + R"(", "takenAt": "yesterday"})",
           R"({"seq": 7, "hash": ")" + hash + R"(", "signature": "00"})",
           R"({"seq": 7, "hash": ")" + hash + R"(", "keyId": "ab", "signature": "00",
               "takenAt": "2026-01-01T00:00:00Z"})",
           std::string("[1]"), std::string(kDigestFileBytesMax + 1, ' ')}) {
    BOOST_TEST(absl::IsInvalidArgument(ParseDigest(bad).status()), bad.substr(0, 80));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
