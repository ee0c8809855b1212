// The operations of kvbench's workloads: one Worker per closed-loop client, issuing its
// next operation through a kv::client::Client. Coroutines on the Client's io thread.
#pragma once

#include <asio/awaitable.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "client/client.h"
#include "kvbench_args.h"
#include "kvbench_keys.h"
#include "kvbench_report.h"

namespace kv::bench {

// Everything workers share; read-only while they run.
struct WorkloadShared {
  BenchConfig config;
  std::string value;   // what every put writes (value_size random letters)
  std::string prefix;  // this run's key prefix (txn --cross-shard, transfer: the tag in each shard's)
  // txn --cross-shard (the first two shards' prefixes) and transfer: one key prefix inside
  // each shard's range, from the cluster's shard map.
  TransferPool pool;

  // The key prefix etcd-bench's etcdload uses for the same workload (txn: fresh per run).
  static std::string default_prefix(Workload w, std::uint64_t seed);
};

// How one operation ended.
struct Outcome {
  bool ok = false;
  bool compare_failed = false;  // txn: the compare did not hold (an answer, not an error)
  std::uint64_t keys_written = 0;
  client::Error error;          // when !ok
  // A run_transaction call: how many times the body ran (0: not such a call), and the
  // participant shards of its commit (when ok).
  std::uint64_t txn_attempts = 0;
  std::uint32_t participants = 0;

  TxnEnd txn_end() const;
};

class Worker {
 public:
  // `index` is the client's number, 0..clients-1 (it owns txn keys index, index+clients, ...).
  Worker(const WorkloadShared& shared, int index);

  // The next operation; `ticket` is the run's operation number (load: the batch to write).
  // REQUIRES: runs on `client`'s io thread.
  asio::awaitable<Outcome> next(client::Client& client, std::uint64_t ticket);

 private:
  asio::awaitable<Outcome> start(client::Client& client, std::uint64_t ticket);
  asio::awaitable<Outcome> put(client::Client& client);
  asio::awaitable<Outcome> get(client::Client& client);
  asio::awaitable<Outcome> cas_txn(client::Client& client);
  asio::awaitable<Outcome> cross_shard_txn(client::Client& client);
  asio::awaitable<Outcome> load_batch(client::Client& client, std::uint64_t batch);
  asio::awaitable<Outcome> transfer(client::Client& client);

  std::string random_key(const std::string& prefix);
  client::TransactionOptions transaction_options() const;
  // A value no other write of this run has: the write's id in 16 hex digits, then filler.
  std::string tagged_value(std::uint64_t write_id) const;

  const WorkloadShared& shared_;
  const BenchConfig& config_;
  const std::uint64_t index_;
  std::mt19937_64 rng_;
  // txn: this client owns keys index_ + slot * clients; what it last saw of each (0 =
  // absent), per shard for cross-shard txns: the version (txn), or the id of the write
  // (txn --cross-shard, whose commits do not return the versions they wrote).
  std::uint64_t owned_slots_ = 1;
  std::vector<std::vector<std::uint64_t>> seen_;
  std::uint64_t writes_ = 0;  // txn --cross-shard: ids of this client's writes
};

}  // namespace kv::bench
