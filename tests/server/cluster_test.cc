// Multi-process tests of real kvd nodes on 127.0.0.1: crashes, restarts, snapshots.
// Every process is started and stopped by PID (ProcessCluster); every loop is bounded.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "cluster_fixture.h"

namespace kv::test {
namespace {

// Writer w's keys begin with kSpread[w]: one character inside each of the eight default
// shards' ranges (server/shard_map.h), so the writers load every shard and its leader.
constexpr const char* kSpread = "4>GPZclu";
std::string writer_prefix(int writer) { return std::string(1, kSpread[writer % 8]) + "w/" + std::to_string(writer) + "/"; }
std::string key_of(int writer, int i) { return writer_prefix(writer) + std::to_string(i); }

// Waits until every node has applied at least what `reference` has.
void wait_caught_up(client::BlockingClient& client, const ProcessCluster& cluster) {
  // Every node has applied every shard to the same index (writes have stopped).
  const bool caught_up = eventually(std::chrono::seconds(30), [&] {
    const auto reference = applied_on(client, cluster, 1);
    if (reference.empty()) return false;
    for (int i = 2; i <= cluster.size(); ++i) {
      if (applied_on(client, cluster, i) != reference) return false;
    }
    return true;
  });
  REQUIRE(caught_up);
}

TEST_CASE("10000 writes survive kill -9 of the leader mid-stream and each is applied exactly once", "[cluster][slow]") {
  ProcessCluster cluster({.nodes = 3});
  cluster.start_all();
  client::BlockingClient client(client_options(cluster.client_endpoints()));
  const int leader = wait_for_leader(client, cluster);

  constexpr int kWriters = 8;
  constexpr int kPerWriter = 1250;  // 10,000 in all
  std::atomic<int> acked{0};
  std::mutex mu;
  std::map<std::string, std::string> acknowledged;
  std::vector<std::string> indeterminate;
  std::vector<std::string> failures;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        const std::string key = key_of(w, i);
        const std::string value = "v" + std::to_string(i);
        // Create-if-absent: applied twice, the second application would report failure.
        auto result = client.cas(key, client::expect_absent(), client::then_put(value));
        std::lock_guard lock(mu);
        if (result.ok()) {
          if (!result->succeeded) failures.push_back(key + ": CAS reported the key already present");
          acknowledged[key] = value;
          ++acked;
        } else if (result.error().kind == client::ErrorKind::kIndeterminate) {
          indeterminate.push_back(key);
        } else {
          failures.push_back(key + ": " + result.error().message);
        }
      }
    });
  }
  REQUIRE(eventually(std::chrono::seconds(60), [&] { return acked >= 3000; }));
  cluster.kill(leader);
  REQUIRE(eventually(std::chrono::seconds(60), [&] { return acked >= 6000; }));
  cluster.start(leader);
  for (std::thread& t : writers) t.join();

  INFO("first failures: " << (failures.empty() ? "" : failures.front()));
  REQUIRE(failures.empty());
  REQUIRE(acknowledged.size() + indeterminate.size() == kWriters * kPerWriter);
  wait_caught_up(client, cluster);
  for (int id = 1; id <= cluster.size(); ++id) {
    std::map<std::string, std::string> stored;
    for (int w = 0; w < kWriters; ++w) stored.merge(read_all_on(cluster, id, writer_prefix(w)));
    INFO("node " << id);
    for (const auto& [key, value] : acknowledged) {
      auto it = stored.find(key);
      REQUIRE(it != stored.end());
      REQUIRE(it->second == value);
    }
    for (const auto& [key, value] : stored) {
      const bool known = acknowledged.contains(key) ||
                         std::find(indeterminate.begin(), indeterminate.end(), key) != indeterminate.end();
      REQUIRE(known);
    }
  }
}

TEST_CASE("a follower behind the compacted log catches up through a snapshot", "[cluster][slow]") {
  ProcessCluster cluster({.nodes = 3, .extra_args = {"--snapshot-interval", "300", "--log-keep", "50"}});
  cluster.start_all();
  client::BlockingClient client(client_options(cluster.client_endpoints()));
  const int leader = wait_for_leader(client, cluster);
  const int lagging = leader == 3 ? 2 : 3;
  cluster.kill(lagging);
  constexpr int kKeys = 2000;
  for (int i = 0; i < kKeys; ++i) REQUIRE(client.put("s/" + std::to_string(i), std::to_string(i)).ok());
  cluster.start(lagging);
  wait_caught_up(client, cluster);
  const auto stored = read_all_on(cluster, lagging, "s/");
  REQUIRE(stored.size() == kKeys);
  for (int i = 0; i < kKeys; ++i) REQUIRE(stored.at("s/" + std::to_string(i)) == std::to_string(i));
  // The leader (of the shard holding "s/") compacted past the follower, so it can only have
  // caught up from a snapshot, streamed by one of the other nodes.
  bool streamed = false;
  for (int id = 1; id <= cluster.size(); ++id) {
    if (id != lagging) streamed = streamed || cluster.log_tail(id, 1u << 20).find("snapshot streamed") != std::string::npos;
  }
  REQUIRE(streamed);
}

TEST_CASE("a restart of the whole cluster keeps all data", "[cluster][slow]") {
  ProcessCluster cluster({.nodes = 3});
  cluster.start_all();
  {
    client::BlockingClient client(client_options(cluster.client_endpoints()));
    wait_for_leader(client, cluster);
    for (int i = 0; i < 500; ++i) REQUIRE(client.put("r/" + std::to_string(i), std::to_string(i * i)).ok());
  }
  for (int id = 1; id <= cluster.size(); ++id) REQUIRE(cluster.terminate(id) == 0);  // SIGTERM: a clean exit
  cluster.start_all();
  client::BlockingClient client(client_options(cluster.client_endpoints()));
  for (int i = 0; i < 500; ++i) {
    auto got = client.get("r/" + std::to_string(i));
    REQUIRE(got.ok());
    REQUIRE(got->found);
    REQUIRE(got->value == std::to_string(i * i));
  }
}

}  // namespace
}  // namespace kv::test
