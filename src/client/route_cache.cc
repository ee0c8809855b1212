#include "client/route_cache.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::client::detail {

RouteCache::RouteCache() : shards_{ShardRoute{}} {}

std::size_t RouteCache::index_of(const std::string& key) const {
  KV_ASSERT(!shards_.empty());
  KV_ASSERT(shards_.front().start.empty());
  // The last shard whose start is <= key.
  auto it = std::upper_bound(shards_.begin(), shards_.end(), key,
                             [](const std::string& k, const ShardRoute& s) { return k < s.start; });
  return static_cast<std::size_t>(std::distance(shards_.begin(), it)) - 1;
}

const std::string& RouteCache::leader_for(const std::string& key) const { return shards_[index_of(key)].leader; }

void RouteCache::learn(const std::string& key, const std::string& endpoint) {
  shards_[index_of(key)].leader = endpoint;
}

void RouteCache::forget(const std::string& endpoint) {
  for (ShardRoute& s : shards_) {
    if (s.leader == endpoint) s.leader.clear();
  }
}

bool RouteCache::reset(std::vector<ShardRoute> shards) {
  if (shards.empty()) return false;
  std::sort(shards.begin(), shards.end(), [](const ShardRoute& a, const ShardRoute& b) { return a.start < b.start; });
  if (!shards.front().start.empty() || !shards.back().end.empty()) return false;
  for (std::size_t i = 0; i + 1 < shards.size(); ++i) {
    if (shards[i].end != shards[i + 1].start) return false;  // a gap, an overlap or an unbounded middle
  }
  shards_ = std::move(shards);
  KV_ASSERT(shards_.front().start.empty());
  return true;
}

std::vector<ShardRoute> routes_from(const net::StatusResponse& status, const net::MembersResponse& members) {
  std::vector<ShardRoute> out;
  out.reserve(status.shards.size());
  for (const net::ShardStatus& s : status.shards) {
    ShardRoute route{s.start_key, s.end_key, {}};
    for (const net::Member& m : members.members) {
      if (s.leader != 0 && m.id == s.leader) route.leader = m.client_addr;
    }
    out.push_back(std::move(route));
  }
  return out;
}

}  // namespace kv::client::detail
