// The values client operations take and return. Results are the protocol's plain structs
// (net/client_protocol.h, documented field by field in schema/kv.capnp); this header names
// them for the client API and adds the per-operation options and compare/CAS builders.
// Keys and values are arbitrary bytes held in std::string.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "client/result.h"
#include "net/client_protocol.h"

namespace kv::client {

// ---- results

using KeyValue = net::KeyValue;            // key, value, version (> 0 for an existing key)
using GetResult = net::GetResponse;        // found, value, version; found == false is no error
using PutResult = net::PutResponse;        // version after the put; prev_kv if asked for
using DeleteResult = net::DeleteResponse;  // number deleted; prev_kvs if asked for
using RangeResult = net::RangeResponse;    // kvs in key order, more, count
using CasResult = net::CasResponse;        // succeeded; version, or the current kv on failure
using TxnResult = net::TxnResponse;        // succeeded; one result per op of the branch run
using StatusResult = net::StatusResponse;  // one node's view of itself and its shards
using MembersResult = net::MembersResponse;
using ShardMapResult = net::ShardMapResponse;  // every shard's range, replicas, leader; members
using CommitResult = net::TxnCommitResponse;   // txn_id; shards (participants; 1 = no 2PC)

// ---- per-operation options

struct GetOptions {
  // false (default): linearizable. true: any replica answers from what it has applied,
  // possibly stale.
  bool serializable = false;
};

struct PutOptions {
  bool prev_kv = false;  // return the key's previous value, if it had one
};

struct DeleteOptions {
  bool prev_kv = false;  // return the deleted key-values
};

struct RangeOptions {
  std::uint64_t limit = 0;  // at most this many kvs; 0 = the server's maximum
  bool keys_only = false;   // values left empty
  bool count_only = false;  // kvs empty, count set
  bool serializable = false;  // ignored inside a transaction (its reads are linearizable)
};

// ---- compare-and-swap and transactions

using Compare = net::CompareTarget;  // what a CAS or txn compare tests about a key
using CasThen = std::variant<net::CasPut, net::CasDelete>;

// The key exists with exactly this version.
inline Compare expect_version(std::uint64_t version) { return net::CompareVersion{version}; }
// The key exists with exactly this value.
inline Compare expect_value(std::string value) { return net::CompareValue{std::move(value)}; }
// The key does not exist.
inline Compare expect_absent() { return net::CompareAbsent{}; }

inline CasThen then_put(std::string value) { return net::CasPut{std::move(value)}; }
inline CasThen then_delete() { return net::CasDelete{}; }

// etcd-style transactions: compares, then the success or the failure ops, atomically.
using TxnRequest = net::TxnRequest;
using TxnCompare = net::TxnCompare;
using TxnOp = net::TxnOp;
using CompareOp = net::CompareOp;

// The end of the range holding every key that starts with `prefix` (see net::prefix_end).
inline std::string prefix_end(const std::string& prefix) { return net::prefix_end(prefix); }

// Counters since the client was created (for tools and benchmarks). Thread-safety: a copy.
struct ClientStats {
  std::uint64_t operations = 0;          // started
  std::uint64_t attempts = 0;            // requests sent (first tries and retries)
  std::uint64_t redirects = 0;           // NotLeader answers with a hint that was followed
  std::uint64_t connects = 0;            // connections established
  std::uint64_t connect_failures = 0;
  std::uint64_t sessions_created = 0;
  std::uint64_t sessions_discarded = 0;  // after an indeterminate write (never reused)
  std::uint64_t route_refreshes = 0;     // shard map reloads
};

// run_transaction(): how often and how long a transaction is run again after a conflict.
struct TransactionOptions {
  // Runs of the body (the first one included). Default: 10.
  int max_attempts = 10;
  // The whole run's budget: every attempt's reads and commit, and the waits between them.
  // Operations inside end by then (a commit cut short is kIndeterminate). Default: 30 s.
  std::chrono::milliseconds timeout{30000};
  // The wait before attempt n+1 is about min(backoff_max, backoff_min * 2^(n-1)), drawn
  // uniformly from [(1 - backoff_jitter) * that, that]: full jitter by default, because
  // transactions that conflicted once tend to collide again if they retry in step.
  // Defaults: 10 ms, 1 s, 1.0.
  std::chrono::milliseconds backoff_min{10};
  std::chrono::milliseconds backoff_max{1000};
  double backoff_jitter = 1.0;

  // Empty when usable, else what is wrong (names the field).
  std::string validate() const;
};

// The outcome of run_transaction(): the final commit's result (or the body's error) and how
// many times the body ran.
struct TransactionRun {
  Result<CommitResult> result;
  int attempts = 0;
};

}  // namespace kv::client
