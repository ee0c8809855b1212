// Multi-key read-modify-write transactions as the bank and append workloads need them:
// read some keys, decide the writes from what was read, commit atomically.
//
// The store's etcd-style transactions (Client::txn) run in one request when their keys are
// in one shard, and as a cross-shard transaction (2PC, atomic and strictly serializable)
// when they span shards. OccTxn runs optimistic concurrency control over them: a snapshot
// read (one txn of gets), then a commit txn whose compares require every key's version to be
// unchanged. Each of the two is atomic, whichever shards its keys are in, so a committed
// transaction is strictly serializable at its commit; a failed compare aborts it (nothing
// written).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/blocking_client.h"
#include "harness.h"

namespace kv::jepsen {

struct TxnRead {
  bool found = false;
  std::string value;
  std::uint64_t version = 0;  // 0 when absent
};
using TxnSnapshot = std::map<std::string, TxnRead>;
using TxnWrites = std::map<std::string, std::string>;

// Given a consistent snapshot of the keys, the writes to make; nullopt aborts the
// transaction on purpose (insufficient funds, say). No writes = a read-only transaction.
using TxnLogic = std::function<std::optional<TxnWrites>(const TxnSnapshot&)>;

enum class TxnStatus {
  committed,  // the writes happened, exactly once; `reads` is what the transaction saw
  aborted,    // certainly no write happened (conflict, chosen abort, error before sending)
  unknown,    // the commit may or may not have happened
};

struct TxnOutcome {
  TxnStatus status = TxnStatus::unknown;
  TxnSnapshot reads;
  std::string error;  // why it aborted or is unknown
};

class TxnExecutor {
 public:
  virtual ~TxnExecutor() = default;
  // Reads `keys`, calls `logic` once with them, commits its writes atomically.
  // REQUIRES: every key `logic` writes is in `keys`. Thread-safety: concurrent calls are fine.
  virtual TxnOutcome run(client::BlockingClient& client, const std::vector<std::string>& keys,
                         const TxnLogic& logic) = 0;
};

// The executor the workloads use (OCC over Client::txn, see above).
// `unsafe_blind_writes` (TESTING ONLY, for the teeth test): commit without the version
// compares, so concurrent transactions lose each other's updates; the bank and append
// checkers must then report anomalies.
std::unique_ptr<TxnExecutor> make_txn_executor(bool unsafe_blind_writes = false);

// Maps a transaction's outcome to the history's: committed -> ok, aborted -> fail,
// unknown -> info.
Outcome outcome_of(TxnStatus status);

}  // namespace kv::jepsen
