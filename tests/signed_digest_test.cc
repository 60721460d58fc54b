// Specification of signed digests from the command line: `ledger keygen` makes an Ed25519 key pair
// it never overwrites, `ledger digest --sign KEY` signs the head, and `ledger verify --digest FILE
// --pubkey PUB` checks the signature before anything else: an edited or forged digest file, one
// signed by another key, or an unsigned one is refused with exit 3 even where the log itself would
// match it; a valid signature over a damaged log is still exit 3. The signature is checked with
// OpenSSL's own command line over the canonical text docs/auditors-guide.md gives.
#include <sys/stat.h>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "engine/pg/sql_session.h"
#include "tests/ledger_process.h"
#include "tests/process.h"
#include "tests/test_cluster.h"

namespace ledger {
namespace {

using testing::LedgerSpec;
using testing::ReadFile;
using testing::TempDir;

constexpr int64_t kEvents = 120;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// `ledger --db conn args...` with its output in dir/tag.{out,err}; returns the exit code.
int Ledger(const std::string& conn, const std::vector<std::string>& args, const TempDir& dir,
           const std::string& tag) {
  return testing::Run(LedgerSpec(conn, args, dir, tag));
}

// `ledger keygen --out prefix` (a command without a database); returns the exit code.
int Keygen(const std::string& prefix, const TempDir& dir, const std::string& tag) {
  testing::ProcessSpec spec;
  spec.argv = {testing::LedgerBinary(), "keygen", "--out", prefix};
  spec.stdout_path = dir / (tag + ".out");
  spec.stderr_path = dir / (tag + ".err");
  return testing::Run(spec);
}

// A log of kEvents events, projected, with a key pair in dir/k.{key,pub} and a signed digest of
// the head in dir/signed.json.
std::string SignedLog(const TempDir& dir) {
  const std::string conn = testing::FreshDatabase();
  testing::Generate(dir / "in.jsonl", {"--events", std::to_string(kEvents), "--seed", "41"});
  BOOST_REQUIRE_EQUAL(testing::Run(testing::AppendSpec(conn, dir / "in.jsonl", dir, "append")), 0);
  BOOST_REQUIRE_EQUAL(Ledger(conn, {"project"}, dir, "project"), 0);
  BOOST_REQUIRE_EQUAL(Keygen(dir / "k", dir, "keygen"), 0);
  BOOST_REQUIRE_EQUAL(Ledger(conn, {"digest", "--sign", dir / "k.key"}, dir, "signed"), 0);
  std::rename((dir / "signed.out").c_str(), (dir / "signed.json").c_str());
  return conn;
}

boost::json::object Json(const std::string& path) {
  return boost::json::parse(ReadFile(path)).as_object();
}

// verify --digest FILE --pubkey PUB: its exit code; its report in dir/v.out.
int VerifySigned(const std::string& conn, const std::string& digest, const std::string& pubkey,
                 const TempDir& dir) {
  return Ledger(conn, {"verify", "--digest", digest, "--pubkey", pubkey}, dir, "v");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(signed_digest)

BOOST_AUTO_TEST_CASE(keygen_makes_a_private_key_only_its_owner_reads_and_never_overwrites) {
  TempDir dir;
  BOOST_REQUIRE_EQUAL(Keygen(dir / "k", dir, "a"), 0);
  const boost::json::object made = Json(dir / "a.out");
  struct stat st {};
  BOOST_REQUIRE_EQUAL(stat((dir / "k.key").c_str(), &st), 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  const std::string key = ReadFile(dir / "k.key");
  BOOST_TEST(key.find("-----BEGIN PRIVATE KEY-----") == 0u);
  BOOST_TEST(ReadFile(dir / "k.pub").find("-----BEGIN PUBLIC KEY-----") == 0u);
  BOOST_TEST(made.at("keyId").as_string().size() == 16u);
  // A second keygen to the same prefix fails and leaves the first key as it was.
  BOOST_TEST(Keygen(dir / "k", dir, "b") == 2);
  BOOST_TEST(ReadFile(dir / "b.err").find("never overwrites") != std::string::npos);
  BOOST_TEST(ReadFile(dir / "k.key") == key);
}

BOOST_AUTO_TEST_CASE(a_signed_digest_verifies_and_openssl_agrees_over_the_documented_text) {
  TempDir dir;
  const std::string conn = SignedLog(dir);
  const boost::json::object d = Json(dir / "signed.json");
  BOOST_TEST(d.at("seq").as_int64() == kEvents);
  BOOST_TEST(d.at("keyId").as_string() == Json(dir / "keygen.out").at("keyId").as_string());
  BOOST_TEST(VerifySigned(conn, dir / "signed.json", dir / "k.pub", dir) == 0,
             ReadFile(dir / "v.err"));
  const boost::json::object report = Json(dir / "v.out");
  BOOST_TEST(report.at("digestSignature").as_string() == "valid");
  BOOST_TEST(report.at("digest").as_string() == "ok");
  // Without --pubkey the digest is still checked against the log, its signature said unchecked.
  BOOST_TEST(Ledger(conn, {"verify", "--digest", dir / "signed.json"}, dir, "plain") == 0);
  BOOST_TEST(Json(dir / "plain.out").at("digestSignature").as_string() == "not checked");

  // The canonical text, built here from the documentation, verified by `openssl pkeyutl`.
  auto text = [](const boost::json::value& v) { return std::string(v.as_string()); };
  const std::string canonical = "ledger-digest-v1\nseq " + std::to_string(kEvents) + "\nhash " +
                                text(d.at("hash")) + "\nrecordedAt " + text(d.at("recordedAt")) +
                                "\ntakenAt " + text(d.at("takenAt")) + "\nkeyId " +
                                text(d.at("keyId")) + "\n";
  WriteFile(dir / "canonical.txt", canonical);
  std::string signature;
  const std::string hex = text(d.at("signature"));
  for (size_t i = 0; i < hex.size(); i += 2) {
    signature.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  WriteFile(dir / "signature.bin", signature);
  auto openssl_verifies = [&] {
    testing::ProcessSpec spec;
    spec.argv = {"/usr/bin/openssl",
                 "pkeyutl",
                 "-verify",
                 "-pubin",
                 "-inkey",
                 dir / "k.pub",
                 "-rawin",
                 "-in",
                 dir / "canonical.txt",
                 "-sigfile",
                 dir / "signature.bin"};
    spec.stdout_path = dir / "openssl.out";
    spec.stderr_path = dir / "openssl.err";
    return testing::Run(spec) == 0;
  };
  BOOST_TEST(openssl_verifies(), ReadFile(dir / "openssl.out") << ReadFile(dir / "openssl.err"));
  std::string edited = canonical;
  edited.replace(edited.find("seq "), 7, "seq 119");  // kEvents - 1.
  WriteFile(dir / "canonical.txt", edited);
  BOOST_TEST(!openssl_verifies());
}

BOOST_AUTO_TEST_CASE(an_edited_forged_or_unsigned_digest_is_refused_before_the_log_is_trusted) {
  TempDir dir;
  const std::string conn = SignedLog(dir);
  // The edit a tamperer who truncated the log would make: the digest moved back to an earlier
  // row, with that row's real hash and time. Unsigned verification cannot tell (exit 0); the
  // signature can.
  boost::json::object edited = Json(dir / "signed.json");
  const int64_t earlier = kEvents - 20;
  edited["seq"] = earlier;
  edited["hash"] = testing::Scalar(
      conn, "SELECT hash FROM \"BetHistory\" WHERE seq = " + std::to_string(earlier));
  edited["recordedAt"] =
      testing::Scalar(conn,
                      "SELECT to_char(\"recordedAt\", 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM "
                      "\"BetHistory\" WHERE seq = " +
                          std::to_string(earlier));
  WriteFile(dir / "edited.json", boost::json::serialize(edited));
  BOOST_TEST(Ledger(conn, {"verify", "--digest", dir / "edited.json"}, dir, "unsigned") == 0,
             ReadFile(dir / "unsigned.err"));
  BOOST_TEST(VerifySigned(conn, dir / "edited.json", dir / "k.pub", dir) == 3);
  BOOST_TEST(Json(dir / "v.out").at("digestSignature").as_string() == "refused");
  BOOST_TEST(ReadFile(dir / "v.err").find("does not verify") != std::string::npos,
             ReadFile(dir / "v.err"));

  // Another key's public key: both key ids named.
  BOOST_REQUIRE_EQUAL(Keygen(dir / "other", dir, "other"), 0);
  BOOST_TEST(VerifySigned(conn, dir / "signed.json", dir / "other.pub", dir) == 3);
  const std::string err = ReadFile(dir / "v.err");
  BOOST_TEST(
      err.find(std::string(Json(dir / "other.out").at("keyId").as_string())) != std::string::npos,
      err);
  BOOST_TEST(
      err.find(std::string(Json(dir / "keygen.out").at("keyId").as_string())) != std::string::npos,
      err);

  // An unsigned digest where a signed one is required.
  BOOST_REQUIRE_EQUAL(Ledger(conn, {"digest"}, dir, "bare"), 0);
  BOOST_TEST(VerifySigned(conn, dir / "bare.out", dir / "k.pub", dir) == 3);
  BOOST_TEST(ReadFile(dir / "v.err").find("not signed") != std::string::npos,
             ReadFile(dir / "v.err"));

  // Usage: --pubkey without --digest, and a public key file that is not one (named, not quoted).
  BOOST_TEST(Ledger(conn, {"verify", "--pubkey", dir / "k.pub"}, dir, "usage") == 2);
  WriteFile(dir / "junk.pub", "SECRET-LOOKING-TEXT");
  BOOST_TEST(VerifySigned(conn, dir / "signed.json", dir / "junk.pub", dir) == 2);
  BOOST_TEST(ReadFile(dir / "v.err").find("junk.pub") != std::string::npos,
             ReadFile(dir / "v.err"));
  BOOST_TEST(ReadFile(dir / "v.err").find("SECRET") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_valid_signature_does_not_excuse_a_flipped_byte_in_the_log) {
  TempDir dir;
  const std::string conn = SignedLog(dir);
  auto sql = pg::SqlSession::Open(conn);
  BOOST_REQUIRE(sql.ok());
  BOOST_REQUIRE((*sql)
                    ->Exec("SET session_replication_role = replica; UPDATE \"BetHistory\" SET "
                           "\"txHash\" = overlay(\"txHash\" placing 'f' from 10) WHERE seq = "
                           "(SELECT min(seq) FROM \"BetHistory\" WHERE \"txHash\" IS NOT NULL "
                           "AND substr(\"txHash\", 10, 1) <> 'f')")
                    .ok());
  BOOST_TEST(VerifySigned(conn, dir / "signed.json", dir / "k.pub", dir) == 3);
  const boost::json::object report = Json(dir / "v.out");
  BOOST_TEST(report.at("digestSignature").as_string() == "valid");
  BOOST_TEST(report.at("breaks").as_array().size() >= 1u);
  BOOST_TEST(report.at("breaks").as_array()[0].at("kind").as_string() == "ALTERED_ROW");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ledger
