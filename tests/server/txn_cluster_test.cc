// Multi-process tests of cross-shard transactions (docs/protocol.md, "Transactions across
// shards") on real kvd nodes: a bank whose total must hold in every committed read while shard
// leaders are killed, and two transactions taking the same locks in opposite orders.
// Recovery from a coordinator's crash and kvctl txn are in txn_recovery_test.cc. Every
// process is started and stopped by PID (ProcessCluster); every loop ends by a deadline of
// its own.
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

}  // namespace
}  // namespace kv::test
