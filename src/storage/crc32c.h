// CRC32C (Castagnoli, polynomial 0x1EDC6F41 / reflected 0x82F63B78), the checksum RocksDB,
// LevelDB, ext4 and iSCSI use. Computed with the SSE4.2 crc32 instruction when the CPU has it
// (checked once at run time) and with a table-driven slicing-by-8 loop otherwise; both give
// identical results (tests/storage/crc32c_test.cc checks them against each other and against
// the RFC 3720 test vectors).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kv::storage::crc32c {

// Returns the CRC32C of data[0, n) appended to a message whose CRC32C is `crc`:
// extend(value(A), B) == value(A || B). extend(0, ...) starts a new message.
std::uint32_t extend(std::uint32_t crc, const void* data, std::size_t n);

inline std::uint32_t value(const void* data, std::size_t n) { return extend(0, data, n); }
inline std::uint32_t value(std::string_view s) { return extend(0, s.data(), s.size()); }
inline std::uint32_t extend(std::uint32_t crc, std::string_view s) { return extend(crc, s.data(), s.size()); }

// The portable slicing-by-8 implementation, exposed so tests can compare it with extend().
std::uint32_t extend_portable(std::uint32_t crc, const void* data, std::size_t n);

// True when extend() uses the SSE4.2 instruction on this machine.
bool hardware_accelerated();

}  // namespace kv::storage::crc32c
