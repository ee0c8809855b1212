// Where the client sends a request first: the endpoint believed to lead the shard that holds
// the key. Until the shard map is loaded it knows one range (every key) and one leader; after
// a redirect the client loads the map from a node's status and members, so that a cluster
// with several shards (each with its own leader) does not cost a redirect per request.
//
// A cache, never the truth: a wrong entry costs one NotLeader redirect, which corrects it.
// Pure (no I/O). Thread-safety: none (the client's io thread only).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "net/client_protocol.h"

namespace kv::client::detail {

struct ShardRoute {
  std::string start;   // first key of the shard
  std::string end;     // first key past it; empty = unbounded
  std::string leader;  // the leader's client endpoint "host:port"; empty = unknown

  bool operator==(const ShardRoute&) const = default;
};

class RouteCache {
 public:
  RouteCache();  // one shard, every key, leader unknown

  // The believed leader of the shard holding `key`; empty when unknown.
  const std::string& leader_for(const std::string& key) const;
  // `endpoint` led (or was named leader of) the shard holding `key`.
  void learn(const std::string& key, const std::string& endpoint);
  // `endpoint` failed (unreachable, timed out): believe it leads nothing.
  void forget(const std::string& endpoint);
  // Replaces the map. False (and no change) unless the shards, sorted by start, cover every
  // key exactly once.
  bool reset(std::vector<ShardRoute> shards);

  std::size_t shard_count() const { return shards_.size(); }
  const std::vector<ShardRoute>& shards() const { return shards_; }

 private:
  std::size_t index_of(const std::string& key) const;

  std::vector<ShardRoute> shards_;  // sorted by start; contiguous; first start is ""
};

// The shard map as one node sees it: its shards' ranges and leaders, with leader ids turned
// into client endpoints through the member list. Unknown leaders stay empty.
std::vector<ShardRoute> routes_from(const net::StatusResponse& status, const net::MembersResponse& members);

}  // namespace kv::client::detail
