// Runs one kvbench workload against a live cluster through the client library (the
// coroutine API): `connections` Client instances spread over `io_threads` io_contexts, each
// run by one thread, and `clients` closed-loop coroutines spread over the Clients.
#pragma once

#include "kvbench_args.h"
#include "kvbench_report.h"

namespace kv::bench {

// Blocks for the whole run (shard map, populate, warm-up, window, stragglers, transfer's
// balance check). Every operation is bounded by --timeout, so the run is too. Throws
// std::runtime_error when the run cannot be made (bad endpoints, populate failed, too few
// shards for txn --cross-shard or transfer); operation errors are counted in the report.
RunReport run_benchmark(const BenchConfig& config);

}  // namespace kv::bench
