// Helpers shared by the multi-process tests: a ProcessCluster plus clients, leader lookup,
// and per-node reads.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/blocking_client.h"
#include "process_cluster.h"

namespace kv::test {

inline client::Options client_options(std::vector<std::string> endpoints) {
  client::Options o;
  o.endpoints = std::move(endpoints);
  o.request_timeout = std::chrono::milliseconds(2000);
  o.operation_timeout = std::chrono::milliseconds(15000);
  return o;
}

// The node that node `asked` believes leads shard 0 (0 when unknown or unreachable).
inline std::uint64_t leader_seen_by(client::BlockingClient& client, const ProcessCluster& cluster, int asked) {
  auto status = client.status(cluster.client_endpoint(asked));
  return status.ok() ? status->leader : 0;
}

// Waits until every running node agrees on one leader; returns it (REQUIREs success).
inline int wait_for_leader(client::BlockingClient& client, const ProcessCluster& cluster) {
  std::uint64_t leader = 0;
  const bool agreed = eventually(std::chrono::seconds(20), [&] {
    leader = 0;
    for (int i = 1; i <= cluster.size(); ++i) {
      if (!cluster.running(i)) continue;
      const std::uint64_t seen = leader_seen_by(client, cluster, i);
      if (seen == 0 || (leader != 0 && seen != leader)) return false;
      leader = seen;
    }
    return leader != 0;
  });
  REQUIRE(agreed);
  return static_cast<int>(leader);
}

// Node `id`'s applied index of each of its shards, by shard (empty when unreachable).
inline std::map<std::uint64_t, std::uint64_t> applied_on(client::BlockingClient& client, const ProcessCluster& cluster,
                                                         int id) {
  std::map<std::uint64_t, std::uint64_t> applied;
  auto status = client.status(cluster.client_endpoint(id));
  if (status.ok()) {
    for (const auto& shard : status->shards) applied[shard.shard] = shard.applied_index;
  }
  return applied;
}

// Every key under `prefix` as node `id` itself has applied it (serializable reads).
inline std::map<std::string, std::string> read_all_on(const ProcessCluster& cluster, int id, const std::string& prefix) {
  client::BlockingClient local(client_options({cluster.client_endpoint(id)}));
  std::map<std::string, std::string> out;
  std::string start = prefix;
  const std::string end = client::prefix_end(prefix);
  for (;;) {
    client::RangeOptions opts;
    opts.serializable = true;
    auto page = local.range(start, end, opts);
    REQUIRE(page.ok());
    for (const auto& kv : page->kvs) out[kv.key] = kv.value;
    if (!page->more || page->kvs.empty()) break;
    start = page->kvs.back().key + std::string(1, '\0');
  }
  return out;
}

}  // namespace kv::test
