// kvbench's command line: what to run (BenchConfig) and the usage text. Pure (no Asio, no
// I/O), so tests/bench can check it without a cluster.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kv::bench {

enum class Workload : std::uint8_t {
  kPut,    // random keys over the key space, fixed-size values
  kGet,    // random keys of a pre-written key space; linearizable or serializable
  kTxn,    // etcd-style compare-and-swap txns (compare version, put / else get)
  kMixed,  // reads and puts over one pre-written key space, --read-ratio reads
  kLoad,   // writes every key of the key space once, in txns of --batch puts
  kTransfer,  // bank transfers (read two keys on two shards, write both) over a shared pool
};
const char* to_string(Workload w);

enum class OutputFormat : std::uint8_t { kTable, kJson };

struct BenchConfig {
  Workload workload = Workload::kPut;
  // Client endpoints, host:port. Default: tools/up's cluster.
  std::vector<std::string> endpoints = {"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"};
  // Closed-loop clients (coroutines): each issues one operation, waits, issues the next.
  int clients = 1;
  // Client library instances, each with one connection per node; clients are spread over
  // them round-robin. Capped at `clients`.
  int connections = 1;
  // Threads running the connections' io_contexts (each connection is owned by one).
  int io_threads = 1;
  // The run ends after `duration_s` of measurement (after `warmup_s` unmeasured), or after
  // `count` operations in all (then nothing is warm-up and the run measures every op).
  double duration_s = 10;
  double warmup_s = 1;
  std::optional<std::uint64_t> count;
  std::size_t key_size = 16;      // bytes, fixed; >= 8
  std::size_t value_size = 256;   // bytes
  std::uint64_t key_space = 100000;
  bool serializable = false;      // get and mixed reads: --consistency s
  double read_ratio = 0.5;        // mixed: the fraction of operations that are reads
  bool cross_shard = false;       // txn: each txn touches keys of two shards
  // txn --cross-shard and transfer: run_transaction's bound on runs of one transaction
  // (TransactionOptions::max_attempts; the same default).
  int max_attempts = 10;
  bool populate = true;           // get and mixed: write the key space before measuring
  std::size_t batch = 100;        // load (and populate): puts per txn
  std::vector<int> server_pids;   // processes whose CPU (and memory) is reported
  double operation_timeout_s = 10;
  double wait_quiet_cores = 0;    // > 0: first wait until the machine uses fewer cores
  double quiet_max_s = 60;        // ... but at most this long
  OutputFormat format = OutputFormat::kTable;
  std::string json_file;          // also write the JSON result here
  std::string label;              // copied into the JSON (compare-etcd names its runs)
  int round = 0;                  // copied into the JSON
  std::uint64_t seed = 0;         // 0: time-based
  bool progress = true;           // a progress line on stderr while running
};

struct ParseResult {
  std::optional<BenchConfig> config;  // set when the command line is usable
  bool help = false;                  // --help: print usage_text(), exit 0
  std::string error;                  // otherwise: why not (one line)
};

ParseResult parse_args(const std::vector<std::string>& args);
std::string usage_text();

}  // namespace kv::bench
