// Multi-process tests of cross-shard transactions on real kvd nodes, continued: a
// coordinator that dies at each step of two-phase commit (recovery must finish its
// transaction either way, leaving no lock), and kvctl txn as a new user would run it.
// Every process is started and stopped by PID (ProcessCluster, run_kvctl); every loop ends
// by a deadline of its own.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "txn_cluster_util.h"

namespace kv::test {
namespace {

using namespace txn;

// ---- a coordinator that dies in the middle of two-phase commit

constexpr int kCoordinator = 1;

// Starts the cluster with --crash-txn-at on node kCoordinator only. The fixture's flags are the
// same for every node, so the per-node flag goes through the kvd --config file that every node
// reads: it names the step while kCoordinator starts (until it answers, so it has read the
// file), and nothing afterwards, for the other nodes and for kCoordinator's restart.
void start_with_crashing_coordinator(ProcessCluster& cluster, const TempDir& flags, const std::string& step) {
  flags.write("kvd.conf", "crash-txn-at = " + step + "\n");
  cluster.start(kCoordinator);
  {
    client::Options o = client_options({cluster.client_endpoint(kCoordinator)});
    o.operation_timeout = milliseconds(1000);
    client::BlockingClient probe(o);
    REQUIRE(eventually(seconds(20), [&] { return probe.status(cluster.client_endpoint(kCoordinator)).ok(); }));
  }
  flags.write("kvd.conf", "# --crash-txn-at was for node " + std::to_string(kCoordinator) + "'s first start only\n");
  for (int id = 1; id <= cluster.size(); ++id) {
    if (id != kCoordinator) cluster.start(id);
  }
}

// The lowest shard led by kCoordinator that has two shards after it. The client sends a commit
// to the leader of its first written key's shard, so a transaction whose smallest key lives
// there is coordinated by kCoordinator.
std::size_t wait_for_coordinator_shard(client::BlockingClient& admin, const ProcessCluster& cluster,
                                       std::size_t shard_count) {
  std::optional<std::size_t> found;
  const bool led = eventually(seconds(30), [&] {
    for (const auto& [shard, node] : wait_all_shards_led(admin, cluster, shard_count)) {
      if (node == kCoordinator && shard + 2 < shard_count) {
        found = static_cast<std::size_t>(shard);
        return true;
      }
    }
    return false;
  });
  REQUIRE(led);
  return *found;
}

// Reads the keys through the other nodes until all of them answer; any answer other than
// `expected` is a partial or wrong outcome. Returns how long recovery took.
long long wait_for_outcome(const ProcessCluster& cluster, const std::vector<std::string>& keys,
                           const std::string& expected) {
  std::vector<std::string> others;
  for (int id = 1; id <= cluster.size(); ++id) {
    if (id != kCoordinator) others.push_back(cluster.client_endpoint(id));
  }
  client::Options o = client_options(others);
  o.operation_timeout = milliseconds(3000);
  client::BlockingClient reader(o);
  std::vector<std::string> wrong;
  std::string last_error;
  const auto start = Clock::now();
  const bool settled = eventually(seconds(15), [&] {
    bool all = true;
    for (const std::string& key : keys) {
      auto got = reader.get(key);  // waits while the key is write-locked
      if (!got.ok()) {
        all = false;
        last_error = key + ": " + got.message();
        continue;
      }
      if (!got->found || got->value != expected) wrong.push_back(key + " = '" + got->value + "'");
    }
    return all;
  });
  INFO("expected every key = '" << expected << "'; first other value: " << (wrong.empty() ? "" : wrong.front()));
  REQUIRE(wrong.empty());
  INFO("last read error: " << last_error);
  REQUIRE(settled);
  return ms_since(start);
}

// No lock outlives recovery: plain puts (which wait while a key is locked) and a cross-shard
// transaction over the same keys go through. The transaction writes `final_value`.
void check_no_lock_remains(client::BlockingClient& others, const std::vector<std::string>& keys,
                           const std::string& expected, const std::string& final_value) {
  for (const std::string& key : keys) {
    auto put = others.put(key, expected);
    INFO(key << ": " << (put.ok() ? std::string("ok") : put.message()));
    REQUIRE(put.ok());
  }
  const client::TransactionRun run = others.run_transaction(
      [&](client::BlockingTransaction& txn) -> client::Result<void> {
        for (const std::string& key : keys) {
          auto got = txn.get(key);
          if (!got.ok()) return got.error();
          if (got->value != expected) return client::Error{client::ErrorKind::kInvalidArgument, key + " changed"};
          txn.put(key, final_value);
        }
        return {};
      },
      client::TransactionOptions{.max_attempts = 10, .timeout = seconds(10)});
  INFO("transaction after recovery: " << (run.result.ok() ? std::string("ok") : run.result.message()));
  REQUIRE(run.result.ok());
  REQUIRE(run.result->shards == keys.size());
}

// The coordinator, restarted without the flag, has applied the final values on its replicas
// of the keys' shards, and a client that knows only it reads them.
void check_from_restarted_coordinator(client::BlockingClient& others, ProcessCluster& cluster,
                                      const std::vector<std::string>& keys, const std::string& final_value,
                                      std::size_t shard_count) {
  std::map<std::uint64_t, std::uint64_t> committed;  // shard -> commit index at its leader
  {
    const std::map<std::uint64_t, int> leaders = wait_all_shards_led(others, cluster, shard_count);
    for (const auto& [shard, node] : leaders) {
      auto status = others.status(cluster.client_endpoint(node));
      REQUIRE(status.ok());
      for (const net::ShardStatus& s : status->shards) {
        if (s.shard == shard) committed[shard] = s.commit_index;
      }
    }
  }
  cluster.start(kCoordinator);
  wait_all_shards_led(others, cluster, shard_count);
  client::BlockingClient only_x(client_options({cluster.client_endpoint(kCoordinator)}));
  const bool caught_up = eventually(seconds(20), [&] {
    auto status = only_x.status(cluster.client_endpoint(kCoordinator));
    if (!status.ok()) return false;
    for (const net::ShardStatus& s : status->shards) {
      if (s.applied_index < committed[s.shard]) return false;
    }
    return true;
  });
  REQUIRE(caught_up);
  for (const std::string& key : keys) {
    auto got = only_x.get(key);
    INFO(key << ": " << (got.ok() ? got->value : got.message()));
    REQUIRE(got.ok());
    REQUIRE(got->value == final_value);
  }
}

void coordinator_crash_case(const std::string& step, bool rolls_forward) {
  const auto test_start = Clock::now();
  TempDir flags;  // outlives the cluster: every node reads it at each start
  ProcessCluster cluster({.nodes = 3, .extra_args = {"--txn-lock-ttl-ms", "500", "--config", flags.file("kvd.conf")}});
  KeepLogsOnFailure keep_logs(cluster, "crash-" + step);
  start_with_crashing_coordinator(cluster, flags, step);
  std::vector<std::string> other_endpoints;
  for (int id = 1; id <= cluster.size(); ++id) {
    if (id != kCoordinator) other_endpoints.push_back(cluster.client_endpoint(id));
  }
  client::BlockingClient others(client_options(other_endpoints));
  const client::ShardMapResult map = shard_map_of(others);
  const std::size_t first = wait_for_coordinator_shard(others, cluster, map.shards.size());
  const std::vector<std::string> keys = {key_in_shard(first, "crash"), key_in_shard(first + 1, "crash"),
                                         key_in_shard(first + 2, "crash")};
  std::set<std::uint64_t> shards;
  for (const std::string& key : keys) shards.insert(shard_of(map, key));
  REQUIRE(shards.size() == keys.size());
  for (const std::string& key : keys) REQUIRE(others.put(key, "old").ok());

  std::string commit_error;
  {
    client::BlockingClient only_x(client_options({cluster.client_endpoint(kCoordinator)}));
    client::BlockingTransaction txn = only_x.begin();
    for (const std::string& key : keys) {
      auto got = txn.get(key);
      REQUIRE(got.ok());
      REQUIRE(got->value == "old");
      txn.put(key, "new");
    }
    auto committed = txn.commit();
    INFO("commit through node " << kCoordinator << " only: "
                                << (committed.ok() ? std::string("ok") : committed.message()));
    REQUIRE(!committed.ok());  // ok would mean another node coordinated it
    commit_error = std::string(client::to_string(committed.kind())) + ": " + committed.message();
  }
  REQUIRE(eventually(seconds(10), [&] { return process_ended(cluster.pid(kCoordinator)); }));
  INFO(cluster.log_tail(kCoordinator));
  REQUIRE(cluster.log_tail(kCoordinator, 1u << 20).find("crashing on purpose") != std::string::npos);
  cluster.kill(kCoordinator);  // reaps it

  const std::string expected = rolls_forward ? "new" : "old";
  const long long recovery_ms = wait_for_outcome(cluster, keys, expected);
  // The locks can only have gone through recovery: nobody else knew the transaction.
  bool recovered = false;
  for (int id = 1; id <= cluster.size(); ++id) {
    if (id == kCoordinator) continue;
    recovered = recovered || cluster.log_tail(id, 1u << 20).find("recovering an abandoned transaction") != std::string::npos;
  }
  REQUIRE(recovered);
  check_no_lock_remains(others, keys, expected, "final");
  check_from_restarted_coordinator(others, cluster, keys, "final", map.shards.size());
  WARN("coordinator crash at " << step << ": the client saw " << commit_error << "; every key read '" << expected
                               << "' " << recovery_ms << " ms after the crash; test took " << ms_since(test_start)
                               << " ms");
}

TEST_CASE("txn coordinator crash after some prepared: recovery rolls back", "[cluster][txn]") {
  coordinator_crash_case("some-prepared", false);
}

TEST_CASE("txn coordinator crash after all prepared: recovery rolls back", "[cluster][txn]") {
  coordinator_crash_case("all-prepared", false);
}

TEST_CASE("txn coordinator crash after the commit record: recovery rolls forward", "[cluster][txn]") {
  coordinator_crash_case("decided", true);
}

// ---- kvctl, as a new user would use it

TEST_CASE("txn kvctl: a txn moves a value between keys on two shards", "[cluster][txn]") {
  ProcessCluster cluster({.nodes = 3});
  KeepLogsOnFailure keep_logs(cluster, "kvctl");
  cluster.start_all();
  client::BlockingClient admin(client_options(cluster.client_endpoints()));
  const client::ShardMapResult map = shard_map_of(admin);
  REQUIRE(shard_of(map, "alice") != shard_of(map, "Bob"));
  wait_all_shards_led(admin, cluster, map.shards.size());
  std::string endpoints;
  for (const std::string& e : cluster.client_endpoints()) endpoints += (endpoints.empty() ? "" : ",") + e;
  auto kvctl = [&](std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--endpoints", endpoints});
    Ran ran = run_kvctl(args, input);
    std::string line;
    for (const std::string& a : args) line += " " + a;
    INFO("kvctl" << line << " -> exit " << ran.exit_code << "\nstdout:\n" << ran.out << "stderr:\n" << ran.err);
    REQUIRE(ran.exit_code == 0);
    return ran.out;
  };
  REQUIRE(kvctl({"put", "alice", "100"}) == "OK\n");
  REQUIRE(kvctl({"put", "Bob", "0"}) == "OK\n");
  const std::string move =
      "val(\"alice\") = \"100\"\n"
      "val(\"Bob\") = \"0\"\n"
      "\n"
      "put alice 70\n"
      "put Bob 30\n"
      "\n";
  const std::string txn_out = kvctl({"txn"}, move);
  REQUIRE(txn_out.rfind("SUCCESS\n", 0) == 0);
  REQUIRE(kvctl({"get", "alice"}) == "alice\n70\n");
  REQUIRE(kvctl({"get", "Bob"}) == "Bob\n30\n");
  // The same compares no longer hold: the other branch (empty) runs and nothing changes.
  REQUIRE(kvctl({"txn"}, move).rfind("FAILURE\n", 0) == 0);
  REQUIRE(kvctl({"get", "alice"}) == "alice\n70\n");
  REQUIRE(kvctl({"get", "Bob"}) == "Bob\n30\n");
}

}  // namespace
}  // namespace kv::test
