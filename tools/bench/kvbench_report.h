// What one kvbench run measured, and its two renderings: a table for people and one JSON
// line for scripts (compare-etcd reads it; field names follow etcd-bench's etcdload where
// the meaning is the same, so the two can be read side by side). Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "histogram.h"
#include "kvbench_args.h"
#include "proc_stats.h"

namespace kv::bench {

struct ServerUsage {
  int pid = 0;
  double cpu_s = 0;                    // CPU seconds during the measured window
  std::optional<MemoryStatus> memory;  // at the end of the run; nullopt if the process is gone
};

// How a run_transaction call (txn --cross-shard, transfer) ended.
enum class TxnEnd : std::uint8_t {
  kCommitted,
  kGaveUp,         // still conflicting after --max-attempts runs (or at the deadline)
  kIndeterminate,  // the commit was sent and no answer came: applied entirely or not at all
  kFailed,         // any other error (nothing applied)
};

// The run_transaction calls of the measured window, whatever their outcome.
struct TxnStats {
  static constexpr std::size_t kParticipantSlots = 9;  // 0..7 shards, then 8 or more

  std::uint64_t runs = 0;
  std::uint64_t committed = 0;
  std::uint64_t gave_up = 0;
  std::uint64_t indeterminate = 0;
  std::uint64_t failed = 0;
  std::uint64_t attempts = 0;   // runs of the body (first tries and retries), summed
  // Attempts that ended in a conflict. run_transaction retries only conflicts, so every
  // attempt but the last conflicted, and the last one too when the run gave up.
  std::uint64_t conflicts = 0;
  std::uint64_t most_attempts = 0;  // of one run
  // Committed runs by the commit's participant shards (1: one log entry, no 2PC).
  std::array<std::uint64_t, kParticipantSlots> committed_by_participants{};

  void record(TxnEnd end, std::uint64_t run_attempts, std::uint32_t participants);
  void merge(const TxnStats& other);
  // conflicts / attempts: the share of attempts that were thrown away.
  double abort_rate() const { return attempts > 0 ? static_cast<double>(conflicts) / static_cast<double>(attempts) : 0; }
};

// transfer's closing check: every balance of the run's pool read back. Transfers move
// money between keys atomically, so the balances must still sum to 0.
struct BalanceCheck {
  std::uint64_t keys = 0;        // keys found (absent keys hold 0)
  std::int64_t sum = 0;
  std::uint64_t bad_values = 0;  // values that are not a balance
  std::string error;             // the read failed: nothing was checked
  bool ok() const { return error.empty() && sum == 0 && bad_values == 0; }
};

struct RunReport {
  BenchConfig config;

  std::uint64_t ops = 0;        // measured, successful operations
  double seconds = 0;           // the measured window (or, with --count, the elapsed time)
  Histogram latency_ns;         // of the measured operations
  std::uint64_t keys_written = 0;  // load: keys written (ops are txns of --batch keys)
  std::uint64_t errors = 0;     // failed operations (not timed), warm-up included
  std::vector<std::pair<std::string, std::uint64_t>> errors_by_kind;
  std::string first_error;
  std::uint64_t cas_failed = 0;  // txn: compares that did not hold (answers, not errors)
  TxnStats txns;                 // txn --cross-shard, transfer
  std::optional<BalanceCheck> balance_check;  // transfer

  // CPU over the measured window, in cores (CPU seconds per wall second).
  std::vector<ServerUsage> servers;
  double server_cpu_s = 0;
  double loadgen_cpu_cores = 0;
  double host_busy_cores = 0;    // the whole machine
  double host_busy_before = 0;   // the whole machine, the second before the run
  std::string load_average;      // /proc/loadavg at the end

  // Client library counters, summed over the connections.
  std::uint64_t attempts = 0;
  std::uint64_t redirects = 0;
  std::uint64_t connects = 0;

  double ops_per_s() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
  double server_cpu_cores() const { return seconds > 0 ? server_cpu_s / seconds : 0; }
  // Throughput per unit of server CPU: the efficiency figure, independent of the generator.
  double ops_per_server_cpu_s() const { return server_cpu_s > 0 ? static_cast<double>(ops) / server_cpu_s : 0; }
  // Busy cores not explained by the servers or kvbench: other tenants of the machine.
  double other_cores() const { return host_busy_cores - server_cpu_cores() - loadgen_cpu_cores; }
};

// Whether the workload runs its operations through run_transaction (and fills `txns`).
bool uses_run_transaction(const BenchConfig& c);

// "put", "get-l", "get-s", "txn", "txn-cross-shard", "mixed-s-0.9", "load", "transfer".
std::string workload_name(const BenchConfig& c);

std::string format_table(const RunReport& r);
// One line, no trailing newline.
std::string format_json(const RunReport& r);
// A JSON string literal (quotes included), escaping what JSON requires, and every byte
// above 0x7e as \u00XX: messages carry raw key bytes, which need not be UTF-8.
std::string json_quote(const std::string& s);

}  // namespace kv::bench
