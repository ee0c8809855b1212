#include "client/route_cache.h"

#include <algorithm>
#include <map>

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

const ShardRoute& RouteCache::route_for(const std::string& key) const { return shards_[index_of(key)]; }

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
  loaded_ = true;
  KV_ASSERT(shards_.front().start.empty());
  KV_ASSERT(shards_.back().end.empty());
  return true;
}

std::vector<RangePiece> RouteCache::split(const std::string& start, const std::string& end) const {
  KV_ASSERT_MSG(!end.empty(), "split() of a single key");
  const bool unbounded = end == std::string(1, '\0');
  const std::string first = start.empty() ? std::string(1, '\0') : start;
  std::vector<RangePiece> out;
  if (!unbounded && end <= first) return out;
  for (std::size_t i = index_of(first); i < shards_.size(); ++i) {
    const ShardRoute& s = shards_[i];
    std::string piece_start = std::max(first, s.start);
    if (!unbounded && piece_start >= end) break;
    // The piece ends where the shard or the range does, whichever comes first.
    std::string piece_end = (s.end.empty() || (!unbounded && end < s.end)) ? end : s.end;
    out.push_back(RangePiece{i, std::move(piece_start), std::move(piece_end)});
    if (!unbounded && out.back().end == end) break;
  }
  KV_ASSERT(out.empty() || out.front().start == first);
  return out;
}

std::vector<ShardRoute> routes_from(const net::StatusResponse& status, const net::MembersResponse& members) {
  std::vector<ShardRoute> out;
  out.reserve(status.shards.size());
  for (const net::ShardStatus& s : status.shards) {
    ShardRoute route{s.start_key, s.end_key, {}, {}, s.shard};
    for (const net::Member& m : members.members) {
      if (s.leader != 0 && m.id == s.leader) route.leader = m.client_addr;
    }
    out.push_back(std::move(route));
  }
  return out;
}

std::vector<ShardRoute> routes_from(const net::ShardMapResponse& map) {
  std::map<std::uint64_t, std::string> endpoint_of;
  for (const net::Member& m : map.members) endpoint_of[m.id] = m.client_addr;
  std::vector<ShardRoute> out;
  out.reserve(map.shards.size());
  for (const net::ShardInfo& s : map.shards) {
    ShardRoute route{s.start_key, s.end_key, {}, {}, s.shard};
    if (auto it = endpoint_of.find(s.leader); s.leader != 0 && it != endpoint_of.end()) route.leader = it->second;
    for (std::uint64_t id : s.replicas) {
      if (auto it = endpoint_of.find(id); it != endpoint_of.end() && !it->second.empty()) route.replicas.push_back(it->second);
    }
    out.push_back(std::move(route));
  }
  return out;
}

}  // namespace kv::client::detail
