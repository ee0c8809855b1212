// Fixed-width integer encodings for keys (big-endian, so byte order is numeric order) and
// values (little-endian), plus a bounds-checked reader. Internal to src/storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kv::storage::coding {

inline void put_be64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
}
inline std::uint64_t get_be64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

inline void put_le32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
}
inline void put_le64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
}
inline std::uint32_t get_le32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline std::uint64_t get_le64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

inline void append_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void append_le32(std::string& out, std::uint32_t v) {
  char buf[4];
  put_le32(buf, v);
  out.append(buf, sizeof buf);
}
inline void append_le64(std::string& out, std::uint64_t v) {
  char buf[8];
  put_le64(buf, v);
  out.append(buf, sizeof buf);
}
inline void append_be64(std::string& out, std::uint64_t v) {
  char buf[8];
  put_be64(buf, v);
  out.append(buf, sizeof buf);
}
// A u32 length followed by the bytes.
inline void append_bytes(std::string& out, std::string_view bytes) {
  append_le32(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

// Reads fields front to back; every read fails (returns false, and keeps failing) instead of
// running past the end, so decoders can read all fields and check ok() once.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool u8(std::uint8_t* v) {
    if (!take(1)) return false;
    *v = static_cast<std::uint8_t>(in_[pos_ - 1]);
    return true;
  }
  bool le32(std::uint32_t* v) {
    if (!take(4)) return false;
    *v = get_le32(in_.data() + pos_ - 4);
    return true;
  }
  bool le64(std::uint64_t* v) {
    if (!take(8)) return false;
    *v = get_le64(in_.data() + pos_ - 8);
    return true;
  }
  bool bytes(std::string_view* v) {
    std::uint32_t n = 0;
    if (!le32(&n) || !take(n)) return false;
    *v = in_.substr(pos_ - n, n);
    return true;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && pos_ == in_.size(); }
  std::string_view rest() const { return in_.substr(pos_); }

 private:
  bool take(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace kv::storage::coding
