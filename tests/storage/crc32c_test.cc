// CRC32C: RFC 3720 (iSCSI) appendix B.4 test vectors, and the SSE4.2 path against the
// portable slicing-by-8 path over random inputs (style.md item 7: fast code vs naive code).
#include "storage/crc32c.h"

#include <random>
#include <string>

#include <catch2/catch.hpp>

namespace kv::storage {
namespace {

// The textbook bit-at-a-time CRC32C: the oracle for both fast paths.
std::uint32_t crc_bitwise(const std::string& s) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : s) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
  }
  return crc ^ 0xFFFFFFFFu;
}

TEST_CASE("crc32c matches the RFC 3720 test vectors", "[storage][crc32c]") {
  std::string zeros(32, '\0'), ones(32, '\xFF'), ascending(32, '\0'), descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[static_cast<std::size_t>(i)] = static_cast<char>(i);
    descending[static_cast<std::size_t>(i)] = static_cast<char>(31 - i);
  }
  CHECK(crc32c::value(zeros) == 0x8A9136AAu);
  CHECK(crc32c::value(ones) == 0x62A8AB43u);
  CHECK(crc32c::value(ascending) == 0x46DD794Eu);
  CHECK(crc32c::value(descending) == 0x113FDB5Cu);
  CHECK(crc32c::value(std::string("123456789")) == 0xE3069283u);
  CHECK(crc32c::extend_portable(0, "123456789", 9) == 0xE3069283u);
  CHECK(crc32c::value(std::string()) == 0u);
}

TEST_CASE("crc32c fast paths agree with the bitwise oracle and compose with extend", "[storage][crc32c]") {
  std::mt19937_64 rng(20261125);
  for (int round = 0; round < 300; ++round) {
    std::string s(rng() % 300, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const std::uint32_t expected = crc_bitwise(s);
    REQUIRE(crc32c::value(s) == expected);
    REQUIRE(crc32c::extend_portable(0, s.data(), s.size()) == expected);
    const std::size_t cut = s.empty() ? 0 : rng() % s.size();
    const std::string_view head(s.data(), cut), tail(s.data() + cut, s.size() - cut);
    REQUIRE(crc32c::extend(crc32c::value(head), tail) == expected);
    REQUIRE(crc32c::extend_portable(crc32c::extend_portable(0, head.data(), head.size()), tail.data(), tail.size()) ==
            expected);
  }
  INFO("hardware accelerated: " << crc32c::hardware_accelerated());
  SUCCEED();
}

}  // namespace
}  // namespace kv::storage
