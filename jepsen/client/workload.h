// The four workloads (register, bank, append, set): each turns a worker's turn into one op
// of its kind, logged through Worker::perform, and knows its final reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "txn.h"

namespace kv::jepsen {

struct WorkloadOptions {
  double serializable_reads = 0.0;  // register: fraction of reads that are serializable
  int active_keys = 0;              // register/append: keys in use at once; 0 = the workload's default
  int ops_per_key = 0;              // register: ops before a key is retired; append: appends per key
  int accounts = 8;                 // bank
  int initial_balance = 10;         // bank: per account
  int max_elements = 100000;        // set: adds after this many become reads (bounds each read)
  bool unsafe_blind_writes = false;  // bank/append: TESTING ONLY, see make_txn_executor()
  // register: every key in shard 0, whose leader the nemesis's leader faults hit. The stale
  // reads teeth run needs it: a read is stale only where a key's leader is cut off.
  bool one_shard = false;
};

// What the final reads established (after every fault was healed).
struct FinalReport {
  std::vector<bool> node_ok;  // per node: a final read through it succeeded
  std::int64_t attempts = 0;
  std::int64_t ok = 0;
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Before the workers start (bank: create the accounts). False: the cluster could not be
  // set up within `deadline_ns`; the run is void.
  virtual bool setup(Worker& worker, std::int64_t deadline_ns) {
    (void)worker;
    (void)deadline_ns;
    return true;
  }
  // One op. Thread-safety: called from every worker thread at once.
  virtual void step(Worker& worker) = 0;
  // After the workers stopped: one worker per node, each retrying its node's final read
  // until it succeeds or `deadline_ns` passes. Runs the workers one after another.
  virtual void final_reads(std::vector<Worker>& workers, std::int64_t deadline_ns, FinalReport& report) = 0;
};

// The store key of a workload's key number `index` (an account, a list, a register): `name`
// behind one first character chosen by index mod 8 from "4>GPZclu", which fall in shards
// 0..7 of the server's default map (src/server/shard_map.h cuts printable keys evenly over
// their first two bytes, from '0' to just past 'z'). Eight consecutive indexes hit every
// default shard, so bank transfers and append transactions span shards and run as
// cross-shard transactions. The history and the checker see only the names (a0, 7, ...).
std::string spread_key(std::uint64_t index, const std::string& name);

// REQUIRES: `name` is register, bank, append or set (else nullptr).
std::unique_ptr<Workload> make_workload(const std::string& name, const WorkloadOptions& options, HistoryLog& log);

// Retries `attempt` (one logged op) until it returns Outcome::ok or the deadline passes,
// sleeping between tries. Returns whether it succeeded.
bool retry_until_ok(std::int64_t deadline_ns, FinalReport& report, const std::function<Outcome()>& attempt);

}  // namespace kv::jepsen
