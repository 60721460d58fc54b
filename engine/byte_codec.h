// ByteWriter and ByteReader: the fixed little-endian binary layout of a fold snapshot
// (engine/fold_snapshot.h). The reader never reads past its input: every read reports whether
// the bytes were there, and the first short read leaves the reader failed, so a decoder checks
// ok() once at the end instead of after every field. A reader may also pull its input in pieces
// (a snapshot read part by part, never all of it in memory at once); a view it returns is then
// valid only until its next read.
//
//   ByteWriter w;
//   w.U32(7);
//   w.String("bet-1");
//   ByteReader r(w.bytes());
//   uint32_t n = r.U32();
//   std::string_view id = r.String();
//   if (!r.ok()) ...truncated...
#ifndef LEDGER_ENGINE_BYTE_CODEC_H_
#define LEDGER_ENGINE_BYTE_CODEC_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace ledger {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Fixed(v); }
  void I32(int32_t v) { Fixed(static_cast<uint32_t>(v)); }
  void U64(uint64_t v) { Fixed(v); }
  void I64(int64_t v) { Fixed(static_cast<uint64_t>(v)); }
  void Bytes(const void* data, size_t size) { out_.append(static_cast<const char*>(data), size); }
  // A length (u32) and the bytes.
  void String(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void Reserve(size_t bytes) { out_.reserve(bytes); }
  const std::string& bytes() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  template <typename T>
  void Fixed(T v) {
    char buf[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_.append(buf, sizeof(T));
  }
  std::string out_;
};

class ByteReader {
 public:
  // Reads `in`, which must outlive the reader.
  explicit ByteReader(std::string_view in) : in_(in) {}
  // Reads what `refill` appends to the string it is given, piece by piece, as reads need it;
  // `refill` returns false once there is nothing more (or it failed: it says why itself).
  explicit ByteReader(std::function<bool(std::string*)> refill) : refill_(std::move(refill)) {}

  uint8_t U8() { return Fixed<uint8_t>(); }
  uint32_t U32() { return Fixed<uint32_t>(); }
  int32_t I32() { return static_cast<int32_t>(Fixed<uint32_t>()); }
  uint64_t U64() { return Fixed<uint64_t>(); }
  int64_t I64() { return static_cast<int64_t>(Fixed<uint64_t>()); }
  // `size` bytes, or an empty view (and failed) when fewer are left.
  std::string_view Bytes(size_t size) {
    if (ok_ && size > in_.size() - pos_) Pull(size);
    if (!ok_ || size > in_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string_view out = in_.substr(pos_, size);
    pos_ += size;
    return out;
  }
  std::string_view String() { return Bytes(U32()); }

  // Every read so far found its bytes.
  bool ok() const { return ok_; }
  // Marks the input bad (a decoder found a value out of range).
  void Fail() { ok_ = false; }
  // Whether every byte of the input has been read (pulling, to know).
  bool AtEnd() {
    Pull(1);
    return pos_ == in_.size();
  }
  size_t remaining() const { return in_.size() - pos_; }
  // Reads and drops everything left, failed or not.
  void Drain() {
    while (refill_) {
      buffer_.clear();
      if (!refill_(&buffer_)) refill_ = nullptr;
    }
    buffer_.clear();
    in_ = buffer_;
    pos_ = 0;
  }

 private:
  // Refills until `size` bytes are buffered past pos_ or the source is spent.
  void Pull(size_t size) {
    while (refill_ && in_.size() - pos_ < size) {
      buffer_.erase(0, pos_);  // What was read is not needed again.
      pos_ = 0;
      if (!refill_(&buffer_)) refill_ = nullptr;
      in_ = buffer_;
    }
  }
  template <typename T>
  T Fixed() {
    std::string_view b = Bytes(sizeof(T));
    if (b.empty()) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t{static_cast<uint8_t>(b[i])} << (8 * i);
    return static_cast<T>(v);
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::function<bool(std::string*)> refill_;
  std::string buffer_;  // Pulled input, when reading from `refill_`.
};

}  // namespace ledger

#endif  // LEDGER_ENGINE_BYTE_CODEC_H_
