// Multi-process tests of cross-shard transactions (docs/protocol.md, "Transactions across
// shards") on real kvd nodes: a bank whose total must hold in every committed read while shard
// leaders are killed, two transactions taking the same locks in opposite orders, a coordinator
// that dies at each step of two-phase commit, and kvctl txn as a new user would run it.
// Every process is started and stopped by PID (ProcessCluster, run_kvctl); every loop ends by
// a deadline of its own.
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

namespace kv::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// One key per shard of the default eight (shard_map.h cuts the key space over the first two
// bytes of printable keys). The tests check this against the cluster's own shard map rather
// than trust it.
const std::vector<std::string> kShardFirstChars = {"0", "A", "H", "P", "X", "b", "m", "w"};

long long ms_since(Clock::time_point start) {
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
bool process_ended(pid_t pid) {
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
Ran run_kvctl(const std::vector<std::string>& args, const std::string& input) {
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

client::ShardMapResult shard_map_of(client::BlockingClient& client) {
  auto map = client.shard_map();
  REQUIRE(map.ok());
  REQUIRE(!map->shards.empty());
  return map.value();
}

std::uint64_t shard_of(const client::ShardMapResult& map, const std::string& key) {
  for (const net::ShardInfo& s : map.shards) {
    if (key >= s.start_key && (s.end_key.empty() || key < s.end_key)) return s.shard;
  }
  FAIL("no shard of the map holds " << key);
  return 0;
}

// The key of shard `shard` that these tests use for `name`.
std::string key_in_shard(std::size_t shard, const std::string& name) { return kShardFirstChars.at(shard) + name; }

// Shard id -> the running node that leads it, from each node's report of its own roles (the
// highest term wins: a deposed leader may not know it yet).
std::map<std::uint64_t, int> shard_leaders(client::BlockingClient& client, const ProcessCluster& cluster) {
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
std::map<std::uint64_t, int> wait_all_shards_led(client::BlockingClient& client, const ProcessCluster& cluster,
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

std::optional<long long> balance_of(const client::GetResult& got) {
  if (!got.found) return std::nullopt;
  long long v = 0;
  const char* end = got.value.data() + got.value.size();
  const auto [ptr, ec] = std::from_chars(got.value.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// ---- the bank

constexpr long long kInitialBalance = 100;

std::vector<std::string> bank_accounts() {
  std::vector<std::string> out;
  for (std::size_t s = 0; s < kShardFirstChars.size(); ++s) out.push_back(key_in_shard(s, "acct"));
  return out;
}

struct BankCounters {
  std::atomic<long> transfers_committed{0};
  std::atomic<long> transfers_conflicted{0};  // still conflicting after every attempt
  std::atomic<long> transfers_indeterminate{0};
  std::atomic<long> transfers_unavailable{0};  // not applied: no leader, timeout
  std::atomic<long> audits_committed{0};
  std::atomic<long> audits_conflicted{0};  // still conflicting after every attempt
  std::atomic<long> audits_unavailable{0};
  std::atomic<long> retries{0};  // conflicts that a later attempt of the same run got past
  // Audit attempts whose reads did not add up (so validation had something to refuse): shows
  // that the check on committed audits has teeth.
  std::atomic<long> torn_audit_reads{0};
  std::mutex mu;
  std::vector<std::string> failures;

  void fail(std::string what) {
    std::lock_guard lock(mu);
    failures.push_back(std::move(what));
  }
};

// Reads every account in `txn`; their balances, or the error that ended the reads.
client::Result<std::vector<long long>> read_bank(client::BlockingTransaction& txn,
                                                  const std::vector<std::string>& accounts) {
  std::vector<long long> balances;
  for (const std::string& account : accounts) {
    auto got = txn.get(account);
    if (!got.ok()) return got.error();
    const std::optional<long long> balance = balance_of(got.value());
    if (!balance) {
      return client::Error{client::ErrorKind::kInvalidArgument, account + " holds no balance: '" + got->value + "'"};
    }
    balances.push_back(*balance);
  }
  return balances;
}

long long total_of(const std::vector<long long>& balances) {
  long long total = 0;
  for (long long b : balances) total += b;
  return total;
}

std::string describe(const std::vector<std::string>& accounts, const std::vector<long long>& balances) {
  std::string out;
  for (std::size_t i = 0; i < accounts.size() && i < balances.size(); ++i) {
    out += accounts[i] + "=" + std::to_string(balances[i]) + " ";
  }
  return out;
}

void run_audit(client::BlockingClient& client, const std::vector<std::string>& accounts, BankCounters& counters) {
  std::vector<long long> seen;  // the last attempt's reads: those of the committed attempt
  const client::TransactionRun run = client.run_transaction(
      [&](client::BlockingTransaction& txn) -> client::Result<void> {
        auto balances = read_bank(txn, accounts);
        if (!balances.ok()) return balances.error();
        seen = std::move(balances.value());
        if (total_of(seen) != kInitialBalance * static_cast<long long>(accounts.size())) ++counters.torn_audit_reads;
        return {};
      },
      client::TransactionOptions{.max_attempts = 20, .timeout = seconds(10)});
  counters.retries += run.attempts > 0 ? run.attempts - 1 : 0;
  if (run.result.ok()) {
    ++counters.audits_committed;
    const long long total = total_of(seen);
    const bool negative = std::any_of(seen.begin(), seen.end(), [](long long b) { return b < 0; });
    if (total != kInitialBalance * static_cast<long long>(accounts.size()) || negative || seen.size() != accounts.size()) {
      counters.fail("a committed audit read total " + std::to_string(total) + ": " + describe(accounts, seen));
    }
    return;
  }
  // Not committed, so what it read proves nothing. Indeterminate too: a read-only commit
  // that lost its answer is unknown, and its reads were not validated as far as we know.
  switch (run.result.kind()) {
    case client::ErrorKind::kConflict: ++counters.audits_conflicted; return;
    case client::ErrorKind::kIndeterminate:
    case client::ErrorKind::kUnavailable:
    case client::ErrorKind::kTimeout: ++counters.audits_unavailable; return;
    default: break;
  }
  const client::ErrorKind kind = run.result.kind();
  counters.fail(std::string("audit: unexpected ") + client::to_string(kind) + ": " + run.result.message());
}

void run_transfer(client::BlockingClient& client, const std::vector<std::string>& accounts, std::mt19937_64& rng,
                  BankCounters& counters) {
  const std::size_t from = rng() % accounts.size();
  const std::size_t to = (from + 1 + rng() % (accounts.size() - 1)) % accounts.size();
  const long long wanted = 1 + static_cast<long long>(rng() % 30);
  const client::TransactionRun run = client.run_transaction(
      [&](client::BlockingTransaction& txn) -> client::Result<void> {
        const std::vector<std::string> pair = {accounts[from], accounts[to]};
        auto balances = read_bank(txn, pair);
        if (!balances.ok()) return balances.error();
        const long long amount = std::min(wanted, balances.value()[0]);  // never overdrawn
        txn.put(accounts[from], std::to_string(balances.value()[0] - amount));
        txn.put(accounts[to], std::to_string(balances.value()[1] + amount));
        return {};
      },
      client::TransactionOptions{.max_attempts = 10, .timeout = seconds(10)});
  counters.retries += run.attempts > 0 ? run.attempts - 1 : 0;
  if (run.result.ok()) {
    ++counters.transfers_committed;
    if (run.result->shards != 2) counters.fail("a transfer over two shards reported " + std::to_string(run.result->shards));
    return;
  }
  switch (run.result.kind()) {
    case client::ErrorKind::kConflict: ++counters.transfers_conflicted; return;
    case client::ErrorKind::kIndeterminate: ++counters.transfers_indeterminate; return;
    case client::ErrorKind::kUnavailable:
    case client::ErrorKind::kTimeout: ++counters.transfers_unavailable; return;
    default: break;
  }
  counters.fail(std::string("transfer: unexpected ") + client::to_string(run.result.kind()) + ": " +
                run.result.message());
}

// Client threads that stop when told to, at the latest at their deadline; joined on every
// path out of the test (a failed REQUIRE included).
class Workers {
 public:
  ~Workers() { stop_and_join(); }
  template <class Loop>
  void spawn(Loop loop) {
    threads_.emplace_back([this, loop]() mutable { loop(stop_); });
  }
  void stop_and_join() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

std::uint64_t test_seed() {
  if (const char* s = std::getenv("KV_TXN_TEST_SEED"); s != nullptr) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// kill -9 of the leader of `shard`, a restart a few seconds later, and a wait until every
// shard is led again with the victim back in; returns the victim.
int kill_and_restart_leader(client::BlockingClient& admin, ProcessCluster& cluster, std::size_t shard_count,
                            std::uint64_t shard, int avoid) {
  std::map<std::uint64_t, int> leaders = wait_all_shards_led(admin, cluster, shard_count);
  int victim = leaders.at(shard);
  if (victim == avoid) {
    for (const auto& [s, node] : leaders) {
      if (node != avoid) victim = node;
    }
  }
  WARN("bank: kill -9 of node " << victim << " (leads shard " << shard << " or another)");
  cluster.kill(victim);
  std::this_thread::sleep_for(seconds(3));
  cluster.start(victim);
  wait_all_shards_led(admin, cluster, shard_count);
  return victim;
}

void check_bank_total_after_healing(client::BlockingClient& client, const ProcessCluster& cluster,
                                    const std::vector<std::string>& accounts, std::size_t shard_count) {
  const long long expected = kInitialBalance * static_cast<long long>(accounts.size());
  wait_all_shards_led(client, cluster, shard_count);
  long long plain_total = 0;
  for (const std::string& account : accounts) {
    auto got = client.get(account);  // linearizable; waits while a transaction holds the key
    REQUIRE(got.ok());
    const std::optional<long long> balance = balance_of(got.value());
    REQUIRE(balance.has_value());
    REQUIRE(*balance >= 0);
    plain_total += *balance;
  }
  CHECK(plain_total == expected);
  std::vector<long long> seen;
  const client::TransactionRun run = client.run_transaction(
      [&](client::BlockingTransaction& txn) -> client::Result<void> {
        auto balances = read_bank(txn, accounts);
        if (!balances.ok()) return balances.error();
        seen = std::move(balances.value());
        return {};
      },
      client::TransactionOptions{.max_attempts = 20, .timeout = seconds(20)});
  INFO("final audit: " << (run.result.ok() ? std::string("ok") : run.result.message()));
  REQUIRE(run.result.ok());
  INFO(describe(accounts, seen));
  REQUIRE(total_of(seen) == expected);
}

// Transfer threads (paced) and audit threads, each with its own client, until `stop_by`.
void start_bank_clients(Workers& workers, std::vector<std::unique_ptr<client::BlockingClient>>& clients,
                        const ProcessCluster& cluster, const std::vector<std::string>& accounts,
                        BankCounters& counters, std::uint64_t seed, Clock::time_point stop_by) {
  constexpr int kTransferThreads = 4;
  constexpr int kAuditThreads = 2;
  for (int i = 0; i < kTransferThreads + kAuditThreads; ++i) {
    clients.push_back(std::make_unique<client::BlockingClient>(client_options(cluster.client_endpoints())));
    client::BlockingClient* c = clients.back().get();
    const bool audits = i >= kTransferThreads;
    workers.spawn([c, audits, i, &accounts, &counters, seed, stop_by](const std::atomic<bool>& stop) {
      std::mt19937_64 rng(seed + static_cast<std::uint64_t>(i));
      while (!stop && Clock::now() < stop_by) {
        if (audits) {
          run_audit(*c, accounts, counters);
          continue;
        }
        run_transfer(*c, accounts, rng, counters);
        // Paced: an audit validates 8 reads, and at full speed some transfer changes one of
        // them before almost every audit commits, which would leave the total unchecked.
        std::this_thread::sleep_for(milliseconds(rng() % 100));
      }
    });
  }
}

void report_bank(BankCounters& counters, std::uint64_t seed) {
  WARN("bank (seed " << seed << "): transfers committed " << counters.transfers_committed << ", conflicted (gave up) "
                     << counters.transfers_conflicted << ", indeterminate " << counters.transfers_indeterminate
                     << ", unavailable " << counters.transfers_unavailable << "; conflicts retried "
                     << counters.retries << "; audits committed " << counters.audits_committed
                     << ", conflicted (gave up) " << counters.audits_conflicted
                     << ", unavailable or indeterminate " << counters.audits_unavailable
                     << "; audit attempts that read a torn total (then refused) " << counters.torn_audit_reads);
  std::lock_guard lock(counters.mu);
  INFO("failures: " << counters.failures.size() << "; first: "
                    << (counters.failures.empty() ? std::string() : counters.failures.front()));
  REQUIRE(counters.failures.empty());
}

TEST_CASE("txn bank: every committed read of 8 accounts on 8 shards sums to 800 through leader kills",
          "[cluster][txn][slow]") {
  const auto test_start = Clock::now();
  const std::uint64_t seed = test_seed();
  INFO("seed " << seed << " (KV_TXN_TEST_SEED=" << seed << " repeats the transfers chosen, not the timing)");
  ProcessCluster cluster({.nodes = 3});
  KeepLogsOnFailure keep_logs(cluster, "bank");
  cluster.start_all();
  client::BlockingClient admin(client_options(cluster.client_endpoints()));
  const std::vector<std::string> accounts = bank_accounts();
  const client::ShardMapResult map = shard_map_of(admin);
  std::set<std::uint64_t> account_shards;
  for (const std::string& a : accounts) account_shards.insert(shard_of(map, a));
  REQUIRE(account_shards.size() >= 4);
  wait_all_shards_led(admin, cluster, map.shards.size());
  for (const std::string& a : accounts) REQUIRE(admin.put(a, std::to_string(kInitialBalance)).ok());

  BankCounters counters;
  std::vector<std::unique_ptr<client::BlockingClient>> clients;
  Workers workers;  // declared after what its threads use: joined before it goes
  start_bank_clients(workers, clients, cluster, accounts, counters, seed, Clock::now() + seconds(40));
  std::this_thread::sleep_for(seconds(4));
  const int first = kill_and_restart_leader(admin, cluster, map.shards.size(), shard_of(map, accounts[0]), 0);
  std::this_thread::sleep_for(seconds(2));
  kill_and_restart_leader(admin, cluster, map.shards.size(), shard_of(map, accounts[5]), first);
  std::this_thread::sleep_for(seconds(6));
  workers.stop_and_join();  // well before the clients' 40 s deadline: the kills take about 16 s

  report_bank(counters, seed);
  REQUIRE(counters.transfers_committed > 0);
  REQUIRE(counters.audits_committed > 0);
  check_bank_total_after_healing(admin, cluster, accounts, map.shards.size());
  WARN("bank took " << ms_since(test_start) << " ms");
}

// ---- two transactions taking the same two locks in opposite orders

struct OrderedRuns {
  int ok = 0;
  long long slowest_ms = 0;
  int conflicts = 0;  // attempts beyond the first
  std::vector<std::string> failures;
};

// `runs` read-modify-writes of both counters, first `first` then `second`; each must commit
// within 10 s.
void increment_both(client::BlockingClient& client, const std::string& first, const std::string& second, int runs,
                    OrderedRuns& out) {
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    const client::TransactionRun run = client.run_transaction(
        [&](client::BlockingTransaction& txn) -> client::Result<void> {
          auto a = txn.get(first);
          if (!a.ok()) return a.error();
          auto b = txn.get(second);
          if (!b.ok()) return b.error();
          const std::optional<long long> va = balance_of(a.value()), vb = balance_of(b.value());
          if (!va || !vb) return client::Error{client::ErrorKind::kInvalidArgument, "a counter holds no number"};
          txn.put(first, std::to_string(*va + 1));
          txn.put(second, std::to_string(*vb + 1));
          return {};
        },
        client::TransactionOptions{.max_attempts = 1000, .timeout = seconds(10)});
    const long long took = ms_since(start);
    out.slowest_ms = std::max(out.slowest_ms, took);
    out.conflicts += run.attempts > 0 ? run.attempts - 1 : 0;
    if (run.result.ok() && took <= 10000) {
      ++out.ok;
    } else {
      out.failures.push_back("run " + std::to_string(i) + " after " + std::to_string(took) + " ms and " +
                             std::to_string(run.attempts) + " attempts: " +
                             (run.result.ok() ? std::string("ok, too late") : run.result.message()));
    }
  }
}

TEST_CASE("txn opposite order: two transactions locking A then B and B then A both always finish",
          "[cluster][txn]") {
  const auto test_start = Clock::now();
  ProcessCluster cluster({.nodes = 3});
  KeepLogsOnFailure keep_logs(cluster, "opposite-order");
  cluster.start_all();
  client::BlockingClient admin(client_options(cluster.client_endpoints()));
  const client::ShardMapResult map = shard_map_of(admin);
  const std::string a = key_in_shard(1, "order");
  const std::string b = key_in_shard(7, "order");
  REQUIRE(shard_of(map, a) != shard_of(map, b));
  wait_all_shards_led(admin, cluster, map.shards.size());
  REQUIRE(admin.put(a, "0").ok());
  REQUIRE(admin.put(b, "0").ok());

  constexpr int kRuns = 50;
  OrderedRuns ab, ba;
  {
    client::BlockingClient client_ab(client_options(cluster.client_endpoints()));
    client::BlockingClient client_ba(client_options(cluster.client_endpoints()));
    std::thread t_ab([&] { increment_both(client_ab, a, b, kRuns, ab); });
    std::thread t_ba([&] { increment_both(client_ba, b, a, kRuns, ba); });
    t_ab.join();  // each thread ends on its own: kRuns runs of at most 10 s each
    t_ba.join();
  }
  WARN("opposite order: conflicts retried " << ab.conflicts << " (A then B) and " << ba.conflicts
                                            << " (B then A); slowest run " << std::max(ab.slowest_ms, ba.slowest_ms)
                                            << " ms; test took " << ms_since(test_start) << " ms");
  INFO("A then B: " << (ab.failures.empty() ? std::string() : ab.failures.front()));
  INFO("B then A: " << (ba.failures.empty() ? std::string() : ba.failures.front()));
  REQUIRE(ab.ok == kRuns);
  REQUIRE(ba.ok == kRuns);
  for (const std::string& key : {a, b}) {
    auto got = admin.get(key);
    REQUIRE(got.ok());
    REQUIRE(got->value == std::to_string(2 * kRuns));  // each committed run added one, once
  }
}

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
