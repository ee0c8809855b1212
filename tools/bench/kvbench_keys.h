// Key names for kvbench's workloads, the same shape etcd-bench's etcdload uses (so both
// stores see the same bytes): a short prefix, then a zero-padded decimal index filling the
// key to exactly key_size bytes. And where the multi-shard workloads put their keys: one
// prefix inside each shard's range. Pure, header-only.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/assert.h"

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
// protocol's ShardStatus and ShardInfo convention).
inline bool key_in_range(const std::string& key, const std::string& start, const std::string& end) {
  return key >= start && (end.empty() || key < end);
}

// Whether every key `prefix` + digits (`key_size` bytes, indexes below `key_space`) falls
// inside [start, end). Keys between the first and the last lie between them in byte order
// (same length, digits only), so checking both ends suffices.
inline bool keys_fit(const std::string& prefix, const std::string& start, const std::string& end,
                     std::uint64_t key_space, std::size_t key_size) {
  if (key_space == 0) return false;
  const std::string first = key_name(prefix, 0, key_size);
  const std::string last = key_name(prefix, key_space - 1, key_size);
  // An overflowed index would break "byte order is index order".
  if (last.size() != key_size) return false;
  return key_in_range(first, start, end) && key_in_range(last, start, end);
}

// Whether every byte is visible ASCII ('!'..'~'): such keys print as they are in kvctl's
// output, logs and error messages (the default shard map cuts at bytes like 0xc0).
inline bool visible_ascii(const std::string& s) {
  for (const char ch : s) {
    if (ch < '!' || ch > '~') return false;
  }
  return true;
}

// A key prefix for the shard [start, end) that holds `key_space` keys and is this run's own
// (`tag` is fresh per run, so the keys start absent and nothing else writes them). The
// candidates, the first that fits: start + tag when start is visible ASCII; else the next
// byte after start's first, + tag (start "B\xc0" gives "C" + tag); else start + tag. The
// first shard has no start: tag, "0" + tag, "!" + tag. nullopt when the range is too
// narrow for any (a shard whose start is a prefix of its end can be).
inline std::optional<std::string> shard_prefix(const std::string& start, const std::string& end, const std::string& tag,
                                               std::uint64_t key_space, std::size_t key_size) {
  KV_ASSERT(visible_ascii(tag));
  KV_ASSERT(!tag.empty());
  std::vector<std::string> candidates;
  if (start.empty()) {
    candidates = {tag, "0" + tag, "!" + tag};
  } else {
    if (visible_ascii(start)) candidates.push_back(start + tag);
    if (start[0] >= ' ' && start[0] < '~') candidates.push_back(std::string(1, static_cast<char>(start[0] + 1)) + tag);
    candidates.push_back(start + tag);
  }
  for (const std::string& prefix : candidates) {
    if (keys_fit(prefix, start, end, key_space, key_size)) return prefix;
  }
  return std::nullopt;
}

// A shard's range, as the shard map gives it (end empty = unbounded).
struct ShardRange {
  std::string start;
  std::string end;
};

// One prefix per shard that can hold the key space, in the map's order: each prefix lies
// in a different shard, since the ranges are disjoint.
inline std::vector<std::string> shard_prefixes(const std::vector<ShardRange>& shards, const std::string& tag,
                                               std::uint64_t key_space, std::size_t key_size) {
  std::vector<std::string> out;
  for (const ShardRange& s : shards) {
    if (std::optional<std::string> p = shard_prefix(s.start, s.end, tag, key_space, key_size)) out.push_back(*p);
  }
  return out;
}

// The transfer workload's pool: `keys` keys dealt round-robin over the shards (key j on
// shard j % S, as index j / S under that shard's prefix), so that every shard holds about
// keys / S of them. A transfer picks a key and a partner on another shard.
class TransferPool {
 public:
  TransferPool() = default;
  // REQUIRES: at least two prefixes, each inside its own shard; keys >= 2. Shards beyond
  // `keys` are left out, so that every shard used holds at least one key.
  TransferPool(std::vector<std::string> prefixes, std::uint64_t keys, std::size_t key_size)
      : prefixes_(std::move(prefixes)), keys_(keys), key_size_(key_size) {
    KV_ASSERT(prefixes_.size() >= 2);
    KV_ASSERT(keys_ >= 2);
    if (prefixes_.size() > keys_) prefixes_.resize(keys_);
  }

  std::size_t shards() const { return prefixes_.size(); }
  std::uint64_t keys() const { return keys_; }
  const std::vector<std::string>& prefixes() const { return prefixes_; }
  std::size_t shard_of(std::uint64_t j) const { return static_cast<std::size_t>(j % shards()); }
  std::string key(std::uint64_t j) const {
    KV_ASSERT(j < keys_);
    return key_name(prefixes_[shard_of(j)], j / shards(), key_size_);
  }
  std::uint64_t keys_on(std::size_t shard) const {
    KV_ASSERT(shard < shards());
    return keys_ / shards() + (shard < keys_ % shards() ? 1 : 0);
  }
  // A key on another shard than key `a`, from two random numbers: the shard uniformly
  // among the others, then a key uniformly among that shard's.
  std::uint64_t partner(std::uint64_t a, std::uint64_t random_shard, std::uint64_t random_key) const {
    KV_ASSERT(a < keys_);
    const std::size_t s = shards();
    const std::size_t other = (shard_of(a) + 1 + static_cast<std::size_t>(random_shard % (s - 1))) % s;
    const std::uint64_t b = (random_key % keys_on(other)) * s + other;
    KV_ASSERT(b < keys_ && shard_of(b) != shard_of(a));
    return b;
  }

 private:
  std::vector<std::string> prefixes_;
  std::uint64_t keys_ = 0;
  std::size_t key_size_ = 16;
};

// transfer's values: a balance in decimal (absent = 0). nullopt: not a balance.
inline std::optional<std::int64_t> parse_balance(const std::string& text) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || stop != end) return std::nullopt;
  return v;
}

}  // namespace kv::bench
