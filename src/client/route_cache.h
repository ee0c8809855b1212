// Where the client sends a request first: the endpoint believed to lead the shard that holds
// the key, and, when that is unknown or fails, the shard's other replicas. Until the shard
// map is loaded it knows one range (every key) and one leader. The map comes from a
// ShardMapRequest (every shard's range, replicas and latest known leader, with the member
// list that turns node ids into client endpoints); from a server too old for that, from a
// node's status and members, which name only the shards that node hosts.
//
// A cache, never the truth: a wrong entry costs one NotLeader redirect, which corrects it.
// Pure (no I/O). Thread-safety: none (the client's io thread only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "net/client_protocol.h"

namespace kv::client::detail {

struct ShardRoute {
  std::string start;   // first key of the shard
  std::string end;     // first key past it; empty = unbounded
  std::string leader;  // the leader's client endpoint "host:port"; empty = unknown
  std::vector<std::string> replicas;  // client endpoints of every replica; empty = unknown
  std::uint64_t shard = 0;            // the shard's id (for people and kvctl)

  bool operator==(const ShardRoute&) const = default;
};

// A piece of a key range that lies in one shard, in the protocol's terms: `end` == "\0"
// means "every key >= start" (the piece runs to the end of the key space).
struct RangePiece {
  std::size_t shard_index = 0;  // into RouteCache::shards()
  std::string start;
  std::string end;

  bool operator==(const RangePiece&) const = default;
};

class RouteCache {
 public:
  RouteCache();  // one shard, every key, leader unknown; loaded() == false

  // The believed leader of the shard holding `key`; empty when unknown.
  const std::string& leader_for(const std::string& key) const;
  // The shard holding `key` (the only one, before a map is loaded).
  const ShardRoute& route_for(const std::string& key) const;
  std::size_t index_of(const std::string& key) const;
  // `endpoint` led (or was named leader of) the shard holding `key`.
  void learn(const std::string& key, const std::string& endpoint);
  // `endpoint` failed (unreachable, timed out): believe it leads nothing.
  void forget(const std::string& endpoint);
  // Replaces the map. False (and no change) unless the shards, sorted by start, cover every
  // key exactly once.
  bool reset(std::vector<ShardRoute> shards);

  // Whether a map from the cluster has been loaded (reset() succeeded), and not found stale
  // since.
  bool loaded() const { return loaded_; }
  // The map proved wrong (a shard's range differs from it): keep routing by it, but load a
  // new one before it is trusted with shard boundaries again.
  void mark_stale() { loaded_ = false; }
  std::size_t shard_count() const { return shards_.size(); }
  const std::vector<ShardRoute>& shards() const { return shards_; }

  // [start, end) cut at shard boundaries, in key order; end == "\0" = every key >= start,
  // an empty start = the first key. Empty when the range holds no key (end <= start).
  // REQUIRES: end is not empty (a single key is not a range).
  std::vector<RangePiece> split(const std::string& start, const std::string& end) const;

 private:
  std::vector<ShardRoute> shards_;  // sorted by start; contiguous; first start is ""
  bool loaded_ = false;
};

// The shard map as one node sees it: its shards' ranges and leaders, with leader ids turned
// into client endpoints through the member list. Unknown leaders stay empty; replicas are
// not known this way.
std::vector<ShardRoute> routes_from(const net::StatusResponse& status, const net::MembersResponse& members);
// The cluster's shard map: ranges, leaders and replicas as client endpoints. Ids missing from
// the member list are left out (an unknown leader stays empty).
std::vector<ShardRoute> routes_from(const net::ShardMapResponse& map);

}  // namespace kv::client::detail
