// The shard map (server/shard_map.h): ranges that cover every key exactly once, replicas
// spread so each node holds about 3/n of the shards, preferred leaders spread evenly, and a
// split of transactions at shard boundaries (server/txn_coordinator.h).
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "server/shard_map.h"
#include "server/txn_coordinator.h"

using kv::server::ShardMap;
using kv::server::ShardPlacement;

TEST_CASE("shard map: ranges are contiguous and cover every key once", "[shard_map]") {
  for (std::uint32_t count : {1u, 2u, 3u, 8u, 64u}) {
    const ShardMap map(count, {1, 2, 3});
    REQUIRE(map.shards().size() == count);
    REQUIRE(map.shards().front().range.start.empty());
    REQUIRE(map.shards().back().range.end.empty());
    for (std::size_t i = 0; i + 1 < map.shards().size(); ++i) {
      REQUIRE(map.shards()[i].range.end == map.shards()[i + 1].range.start);
      REQUIRE(map.shards()[i].range.start < map.shards()[i].range.end);
    }
    std::mt19937_64 rng(count);
    for (int i = 0; i < 2000; ++i) {
      std::string key(1 + rng() % 6, '\0');
      for (char& c : key) c = static_cast<char>(rng() % 256);
      int holders = 0;
      for (const ShardPlacement& p : map.shards()) holders += p.range.contains(key) ? 1 : 0;
      REQUIRE(holders == 1);
      REQUIRE(map.shard_for(key).range.contains(key));
    }
  }
}

TEST_CASE("shard map: printable first letters spread over the default eight shards", "[shard_map]") {
  const ShardMap map(8, {1, 2, 3});
  std::map<std::uint64_t, int> per_shard;
  for (char c = '0'; c <= 'z'; ++c) ++per_shard[map.shard_for(std::string(1, c) + "key").id];
  REQUIRE(per_shard.size() == 8);
  for (const auto& [shard, n] : per_shard) REQUIRE(n >= 8);
  REQUIRE(map.shard_for("").id == 0);
  REQUIRE(map.shard_for("\xff\xff").id == 7);
}

TEST_CASE("shard map: three replicas per shard spread over five nodes", "[shard_map]") {
  const ShardMap map(8, {5, 4, 3, 2, 1});
  std::map<std::uint64_t, int> held;
  std::map<std::uint64_t, int> preferred;
  for (const ShardPlacement& p : map.shards()) {
    REQUIRE(p.replicas.size() == 3);
    REQUIRE(p.replicated_on(p.preferred_leader));
    for (auto node : p.replicas) ++held[node];
    ++preferred[p.preferred_leader];
  }
  REQUIRE(held.size() == 5);
  for (const auto& [node, n] : held) REQUIRE((n >= 4 && n <= 6));  // 8 x 3 / 5 = 4.8 on average
  for (const auto& [node, n] : preferred) REQUIRE((n == 1 || n == 2));
}

TEST_CASE("shard map: up to three nodes hold every shard and share the leaders", "[shard_map]") {
  const ShardMap map(8, {1, 2, 3});
  std::map<std::uint64_t, int> preferred;
  for (const ShardPlacement& p : map.shards()) {
    REQUIRE(p.replicas == std::vector<kv::raft::NodeId>{1, 2, 3});
    ++preferred[p.preferred_leader];
  }
  REQUIRE(preferred == std::map<std::uint64_t, int>{{1, 3}, {2, 3}, {3, 2}});
}

TEST_CASE("shard map: a transaction splits per shard and a range is cut at boundaries", "[shard_map][txn]") {
  const ShardMap map(8, {1, 2, 3});
  const auto& a = map.shard_for("apple");
  const auto& z = map.shard_for("zebra");
  REQUIRE(a.id != z.id);
  kv::net::TxnFootprint txn;
  txn.writes.push_back({"apple", std::string("1")});
  txn.reads.push_back({"zebra", 7});
  txn.ranges.push_back({"apple", "zz", {{"apple", 3}, {"monkey", 4}, {"zebra", 7}}});
  const auto parts = kv::server::split_by_shard(txn, map);
  REQUIRE(parts.size() == z.id - a.id + 1);  // every shard from apple's to zebra's
  REQUIRE(parts.at(a.id).writes.size() == 1);
  REQUIRE(parts.at(z.id).reads.size() == 1);
  std::size_t keys = 0;
  for (const auto& [id, part] : parts) {
    REQUIRE(part.ranges.size() == 1);
    const auto& piece = part.ranges.front();
    const auto& range = map.shard(id).range;
    REQUIRE(range.contains(piece.start));
    if (!range.end.empty()) REQUIRE(piece.end <= range.end);
    for (const auto& k : piece.keys) REQUIRE(range.contains(k.key));
    keys += piece.keys.size();
  }
  REQUIRE(keys == 3);
  REQUIRE(parts.at(z.id).ranges.front().end == "zz");
  REQUIRE(kv::server::primary_key(txn) == "apple");
}
