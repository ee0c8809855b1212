#include "storage/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace kv::storage::crc32c {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli polynomial

// kTables[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8).
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomial : 0u);
    t[0][b] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}

constexpr Tables kTables = make_tables();
static_assert(kTables[0][1] == 0xF26B8303u, "CRC32C table: byte 0x01");
static_assert(kTables[0][128] == kPolynomial, "CRC32C table: byte 0x80 is the polynomial");

std::uint32_t load_le32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // x86 and every target we build for are little-endian
}

std::uint32_t extend_tables(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  std::uint32_t l = crc ^ 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint32_t lo = load_le32(p) ^ l;
    const std::uint32_t hi = load_le32(p + 4);
    l = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
        kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) l = kTables[0][(l ^ *p) & 0xFF] ^ (l >> 8);
  return l ^ 0xFFFFFFFFu;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t extend_sse42(std::uint32_t crc, const unsigned char* p,
                                                             std::size_t n) {
  std::uint64_t l = crc ^ 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    l = _mm_crc32_u64(l, word);
  }
  auto l32 = static_cast<std::uint32_t>(l);
  for (; n > 0; --n, ++p) l32 = _mm_crc32_u8(l32, *p);
  return l32 ^ 0xFFFFFFFFu;
}

bool detect_sse42() {
  __builtin_cpu_init();  // needed when called from a static initializer
  return __builtin_cpu_supports("sse4.2") != 0;
}
#else
bool detect_sse42() { return false; }
#endif

const bool kHaveSse42 = detect_sse42();

}  // namespace

std::uint32_t extend_portable(std::uint32_t crc, const void* data, std::size_t n) {
  return extend_tables(crc, static_cast<const unsigned char*>(data), n);
}

std::uint32_t extend(std::uint32_t crc, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  if (kHaveSse42) return extend_sse42(crc, p, n);
#endif
  return extend_tables(crc, p, n);
}

bool hardware_accelerated() { return kHaveSse42; }

}  // namespace kv::storage::crc32c
