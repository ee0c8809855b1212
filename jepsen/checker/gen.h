// Seeded generators of histories from a simulated correct store, for tests and for
// measuring checker speed. Each op takes effect atomically at a random instant strictly
// inside its [invoke, complete] interval, so the history is linearizable (register) or
// strictly serializable (append, bank) by construction, unless an anomaly is injected on
// purpose. Deterministic for a given options value; thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kv::checker {

struct GenOptions {
  std::uint64_t seed = 1;
  std::size_t ops = 1000;              // client ops in total (all keys)
  std::size_t processes = 5;           // concurrent clients (register: per key)
  std::size_t keys = 1;                // register: independent keys; append: keys live at once
  double info_rate = 0.02;             // fraction of ops whose outcome is lost (info)
  double fail_rate = 0.01;             // fraction of ops that fail before being sent (no effect)
  std::int64_t latency_ns_max = 1000;  // an op lasts 2..latency_ns_max ns
  std::int64_t think_ns_max = 500;     // a client waits 0..think_ns_max ns between ops
  // Register: ok reads rewritten to return a value that was certainly overwritten before
  // the read began (a stale read the checker must reject).
  // Append: ok reads rewritten to return a proper prefix of what they saw, missing an
  // element whose writer completed before the read began (strict-serializability violation).
  std::size_t stale_reads = 0;
  std::size_t append_max_per_key = 32;  // append: a key is retired after this many appends
  std::size_t accounts = 5;             // bank
  std::int64_t bank_total = 100;        // bank
};

// Register workload: read / write / cas on `keys` independent keys, `processes` clients per
// key, unique written values per key. Returns JSON Lines.
std::string generate_register_history(const GenOptions& o);

// List-append workload: txns of 1-4 micro-ops over a sliding window of `keys` keys.
std::string generate_append_history(const GenOptions& o);

// Bank workload: transfers and whole-bank reads over `accounts` accounts; starts with the
// meta event naming accounts and total.
std::string generate_bank_history(const GenOptions& o);

}  // namespace kv::checker
