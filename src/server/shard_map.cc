#include "server/shard_map.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::server {

namespace {

// Two-byte prefixes in [kLow, kHigh) are cut into equal spans.
constexpr std::uint32_t kLow = 0x30u << 8;   // "0"
constexpr std::uint32_t kHigh = 0x7Bu << 8;  // "{", just past "z"

}  // namespace

bool ShardPlacement::replicated_on(raft::NodeId node) const {
  return std::find(replicas.begin(), replicas.end(), node) != replicas.end();
}

std::vector<std::string> split_points(std::uint32_t shard_count) {
  KV_ASSERT(shard_count >= 1 && shard_count <= kHigh - kLow);
  std::vector<std::string> points;
  for (std::uint32_t k = 1; k < shard_count; ++k) {
    const std::uint32_t v = kLow + static_cast<std::uint32_t>(std::uint64_t{kHigh - kLow} * k / shard_count);
    std::string key{static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
    if (key.back() == '\0') key.pop_back();  // "A" rather than "A\0": the same cut but for one key
    points.push_back(std::move(key));
  }
  return points;
}

ShardMap::ShardMap(std::uint32_t shard_count, std::vector<raft::NodeId> members) {
  KV_ASSERT(!members.empty());
  std::sort(members.begin(), members.end());
  KV_ASSERT(std::adjacent_find(members.begin(), members.end()) == members.end());
  const std::vector<std::string> points = split_points(shard_count);
  const std::size_t n = members.size();
  const std::size_t replicas = std::min(n, kReplicasPerShard);
  for (std::uint32_t s = 0; s < shard_count; ++s) {
    ShardPlacement p;
    p.id = s;
    p.range.start = s == 0 ? std::string() : points[s - 1];
    p.range.end = s + 1 == shard_count ? std::string() : points[s];
    for (std::size_t i = 0; i < replicas; ++i) p.replicas.push_back(members[(s + i) % n]);
    std::sort(p.replicas.begin(), p.replicas.end());
    p.preferred_leader = members[s % n];
    shards_.push_back(std::move(p));
  }
}

const ShardPlacement& ShardMap::shard_for(std::string_view key) const {
  // The last shard whose start is <= key.
  auto it = std::upper_bound(shards_.begin(), shards_.end(), key,
                             [](std::string_view k, const ShardPlacement& p) { return k < p.range.start; });
  KV_ASSERT(it != shards_.begin());
  return *std::prev(it);
}

}  // namespace kv::server
