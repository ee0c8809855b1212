// Runs one kvbench workload against a live cluster through the client library (the
// coroutine API): `connections` Client instances spread over `io_threads` io_contexts, each
// run by one thread, and `clients` closed-loop coroutines spread over the Clients.
#pragma once

#include "kvbench_args.h"
#include "kvbench_report.h"

namespace kv::bench {

// Cross-shard transactions (2PC across Raft groups, design.md) are a later issue. Until the
// server has them, `kvbench txn --cross-shard` reports "not available yet" and exits 3. When
// it does, flipping this constant is the one change: the workload below is already written
// (compares and puts on a key in each of two shards, keys placed with the cluster's shard
// map) and compare-etcd already runs and tabulates it.
inline constexpr bool kCrossShardTxnAvailable = false;

// Blocks for the whole run (populate, warm-up, window, stragglers). Every operation is
// bounded by --timeout, so the run is too. Throws std::runtime_error when the run cannot
// be made (bad endpoints, populate failed); operation errors are counted in the report.
RunReport run_benchmark(const BenchConfig& config);

}  // namespace kv::bench
