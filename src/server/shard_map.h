// The shard map: which key range each shard serves, which nodes replicate it, and which
// node should lead it when it can. A pure function of the cluster's creation parameters
// (shard count, member ids), so every node computes the same map without asking anyone;
// the latest known leaders are learned at run time (Node, shard 0's records).
//
// Ranges. Keys are arbitrary bytes; with no statistics at creation the key space is cut
// evenly over the first two bytes of printable keys, from '0' (0x30) to just past 'z':
// digits, upper- and lower-case first letters land on different shards, everything below
// '0' on the first shard and everything from 'z' up on the last. (Splitting and merging by
// size at run time is not built yet.)
//
// Replicas. With up to three members every node replicates every shard. With more, shard s
// lives on members s, s+1, s+2 (mod n, members ordered by id), so each node holds about 3/n
// of the shards. The preferred leader of shard s is member s mod n: leaders spread evenly
// when every node is up (see LeaderBalancer).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "consensus/types.h"
#include "storage/types.h"

namespace kv::server {

inline constexpr std::size_t kReplicasPerShard = 3;

struct ShardPlacement {
  storage::GroupId id = 0;
  storage::KeyRange range;
  std::vector<raft::NodeId> replicas;  // ascending
  raft::NodeId preferred_leader = raft::kNoNode;

  bool replicated_on(raft::NodeId node) const;
};

class ShardMap {
 public:
  // REQUIRES: shard_count >= 1; members non-empty and distinct.
  ShardMap(std::uint32_t shard_count, std::vector<raft::NodeId> members);

  const std::vector<ShardPlacement>& shards() const { return shards_; }
  const ShardPlacement& shard(storage::GroupId id) const { return shards_.at(id); }
  // The shard whose range holds `key` (every key has exactly one).
  const ShardPlacement& shard_for(std::string_view key) const;

 private:
  std::vector<ShardPlacement> shards_;  // by id; ranges ascending with the id
};

// The first keys of shards 1..count-1 (ascending); exposed for tests.
std::vector<std::string> split_points(std::uint32_t shard_count);

}  // namespace kv::server
