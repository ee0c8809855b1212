// Helpers of the multi-process transaction tests (txn_cluster_test.cc, txn_recovery_test.cc):
// temporary files, kvctl runs, kvd logs kept on failure, and the shard map and leaders as the
// cluster reports them.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cluster_fixture.h"

#ifndef KV_KVCTL_PATH
#error "KV_KVCTL_PATH must name the kvctl binary under test"
#endif

namespace kv::test::txn {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// One key per shard of the default eight (shard_map.h cuts the key space over the first two
// bytes of printable keys). The tests check this against the cluster's own shard map rather
// than trust it.
inline const std::vector<std::string> kShardFirstChars = {"0", "A", "H", "P", "X", "b", "m", "w"};

inline long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// ---- temporary files and processes

class TempDir {
 public:
  TempDir() {
    char dir_template[] = "/tmp/kvtxntest-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    path_ = dir_template;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(file(name), std::ios::trunc);
    out << text;
    REQUIRE(out.good());
  }
  std::string read(const std::string& name) const {
    std::ifstream in(file(name));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

// Copies the nodes' logs out of the cluster's directory (which the fixture removes) when the
// test leaves by a failed REQUIRE, or always with KV_TXN_TEST_KEEP_LOGS=1 in the environment,
// so that a server bug can be read about afterwards. REQUIRES: destroyed before `cluster`.
class KeepLogsOnFailure {
 public:
  KeepLogsOnFailure(const ProcessCluster& cluster, std::string name)
      : cluster_(cluster), name_(std::move(name)), exceptions_(std::uncaught_exceptions()) {}
  ~KeepLogsOnFailure() {
    const char* keep = std::getenv("KV_TXN_TEST_KEEP_LOGS");
    const bool always = keep != nullptr && std::string(keep) == "1";
    if (!always && std::uncaught_exceptions() <= exceptions_) return;
    const std::string dir = "/tmp/kvtxntest-logs-" + name_ + "-" + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    for (int id = 1; id <= cluster_.size(); ++id) {
      std::filesystem::copy_file(cluster_.log_path(id), dir + "/node" + std::to_string(id) + ".log",
                                 std::filesystem::copy_options::overwrite_existing, ec);
    }
    std::cerr << "kvd logs of test " << name_ << " kept in " << dir << "\n";
  }
  KeepLogsOnFailure(const KeepLogsOnFailure&) = delete;
  KeepLogsOnFailure& operator=(const KeepLogsOnFailure&) = delete;

 private:
  const ProcessCluster& cluster_;
  const std::string name_;
  const int exceptions_;
};

// Whether process `pid` has ended. A child that exited stays a zombie until the fixture reaps
// it, and kill(pid, 0) still succeeds on a zombie, so ProcessCluster::running() cannot tell.
inline bool process_ended(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  if (stat.empty()) return true;
  const std::size_t paren = stat.rfind(')');  // the command name may hold spaces and parens
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  return stat[paren + 2] == 'Z' || stat[paren + 2] == 'X';
}

struct Ran {
  int exit_code = -1;  // -1: killed at the deadline
  std::string out;
  std::string err;
};

// Runs kvctl with `args` and `input` on its stdin, as a user would from a shell; killed by
// PID if it has not finished within 30 s.
inline Ran run_kvctl(const std::vector<std::string>& args, const std::string& input) {
  TempDir dir;
  dir.write("in", input);
  std::vector<std::string> argv_strings = {KV_KVCTL_PATH};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  const std::string in_path = dir.file("in"), out_path = dir.file("out"), err_path = dir.file("err");
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int in = ::open(in_path.c_str(), O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) std::_Exit(127);
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) std::_Exit(127);
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  Ran ran;
  int status = 0;
  const bool finished = eventually(seconds(30), [&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
  if (!finished) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  } else if (WIFEXITED(status)) {
    ran.exit_code = WEXITSTATUS(status);
  }
  ran.out = dir.read("out");
  ran.err = dir.read("err");
  return ran;
}

// ---- shards and leaders

inline client::ShardMapResult shard_map_of(client::BlockingClient& client) {
  auto map = client.shard_map();
  REQUIRE(map.ok());
  REQUIRE(!map->shards.empty());
  return map.value();
}

inline std::uint64_t shard_of(const client::ShardMapResult& map, const std::string& key) {
  for (const net::ShardInfo& s : map.shards) {
    if (key >= s.start_key && (s.end_key.empty() || key < s.end_key)) return s.shard;
  }
  FAIL("no shard of the map holds " << key);
  return 0;
}

// The key of shard `shard` that these tests use for `name`.
inline std::string key_in_shard(std::size_t shard, const std::string& name) {
  return kShardFirstChars.at(shard) + name;
}

// Shard id -> the running node that leads it, from each node's report of its own roles (the
// highest term wins: a deposed leader may not know it yet).
inline std::map<std::uint64_t, int> shard_leaders(client::BlockingClient& client, const ProcessCluster& cluster) {
  std::map<std::uint64_t, std::pair<std::uint64_t, int>> best;  // shard -> (term, node)
  for (int id = 1; id <= cluster.size(); ++id) {
    if (!cluster.running(id)) continue;
    auto status = client.status(cluster.client_endpoint(id));
    if (!status.ok()) continue;
    for (const net::ShardStatus& s : status->shards) {
      if (s.role != net::ReplicaRole::kLeader) continue;
      auto& b = best[s.shard];
      if (s.term > b.first) b = {s.term, id};
    }
  }
  std::map<std::uint64_t, int> out;
  for (const auto& [shard, term_node] : best) out[shard] = term_node.second;
  return out;
}

// Waits until every shard has a leader and every running node knows the leader of every
// shard it replicates (so a restarted node has rejoined); returns the leaders.
inline std::map<std::uint64_t, int> wait_all_shards_led(client::BlockingClient& client, const ProcessCluster& cluster,
                                                        std::size_t shard_count) {
  std::map<std::uint64_t, int> leaders;
  const bool led = eventually(seconds(30), [&] {
    leaders = shard_leaders(client, cluster);
    if (leaders.size() != shard_count) return false;
    for (int id = 1; id <= cluster.size(); ++id) {
      if (!cluster.running(id)) continue;
      auto status = client.status(cluster.client_endpoint(id));
      if (!status.ok()) return false;
      for (const net::ShardStatus& s : status->shards) {
        if (s.leader == 0) return false;
      }
    }
    return true;
  });
  INFO("shards with a leader: " << leaders.size() << " of " << shard_count);
  REQUIRE(led);
  return leaders;
}

inline std::optional<long long> balance_of(const client::GetResult& got) {
  if (!got.found) return std::nullopt;
  long long v = 0;
  const char* end = got.value.data() + got.value.size();
  const auto [ptr, ec] = std::from_chars(got.value.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

}  // namespace kv::test::txn
