// Key names for kvbench's workloads, the same shape etcd-bench's etcdload uses (so both
// stores see the same bytes): a short prefix, then a zero-padded decimal index filling the
// key to exactly key_size bytes. Pure, header-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kv::bench {

// prefix + index, zero-padded to `key_size` bytes; if the index has more digits than fit,
// the key grows (never silently collides).
inline std::string key_name(const std::string& prefix, std::uint64_t index, std::size_t key_size) {
  std::string digits = std::to_string(index);
  std::string key = prefix;
  const std::size_t used = prefix.size() + digits.size();
  if (used < key_size) key.append(key_size - used, '0');
  key += digits;
  return key;
}

// Whether `key` lies in the shard range [start, end); an empty end is unbounded (the
// protocol's ShardStatus convention).
inline bool key_in_range(const std::string& key, const std::string& start, const std::string& end) {
  return key >= start && (end.empty() || key < end);
}

// A key prefix whose keys (prefix + digits, `key_size` bytes, for indexes below
// `key_space`) all fall inside [start, end), for the cross-shard txn workload: `start`
// itself when it is non-empty (every key it prefixes is >= start), else `fallback`. nullopt
// when the first or the last such key would fall outside the range (a range too narrow to
// hold the key space under one prefix). Keys between the first and last lie between them
// in byte order, so checking both ends suffices.
inline std::optional<std::string> prefix_inside(const std::string& start, const std::string& end,
                                                const std::string& fallback, std::uint64_t key_space,
                                                std::size_t key_size) {
  const std::string prefix = start.empty() ? fallback : start;
  if (key_space == 0) return std::nullopt;
  const std::string first = key_name(prefix, 0, key_size);
  const std::string last = key_name(prefix, key_space - 1, key_size);
  // Every key exactly key_size bytes, so byte order is index order (no overflowed index).
  if (last.size() != key_size) return std::nullopt;
  if (!key_in_range(first, start, end) || !key_in_range(last, start, end)) return std::nullopt;
  return prefix;
}

}  // namespace kv::bench
