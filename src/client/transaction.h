// kv::client::Transaction — reads and writes over any keys, on any shards, committed
// atomically (strictly serializable: as if at one instant, between its first read and its
// commit's answer).
//
//   kv::client::Transaction txn = client.begin();
//   auto from = co_await txn.get("acct/alice");          // read (its version is remembered)
//   auto to = co_await txn.get("acct/bob");
//   txn.put("acct/alice", debit(from));                  // buffered until commit
//   txn.put("acct/bob", credit(to));
//   auto done = co_await txn.commit();                   // kConflict: run it all again
//
// How it works: reads are plain linearizable reads, each recorded with the version it saw
// (a range read with exactly the keys it saw, per shard). Writes wait in the transaction.
// commit() sends the reads, range reads and writes in one TxnCommitRequest to a node, which
// applies the writes only if every read is still current (one log entry when one shard is
// involved, two-phase commit otherwise).
//
// Reads see the transaction's own writes: a key it wrote is answered from the buffer, and a
// range read merges the buffer in. A key read twice gives the first answer again. Versions
// of the transaction's own writes are not known before commit: they read as 0 (commit()'s
// result lists them).
//
// Results:
//   - reads: as Client::get/range (the same errors), but always linearizable.
//   - commit(): the commit's txn_id, participant count and each written key's new version; or
//       kConflict       another transaction changed what this one read (or holds a lock on
//                       it): nothing was applied; run the whole transaction again (see
//                       run_transaction());
//       kIndeterminate  the commit was sent and no answer came: applied entirely or not at
//                       all; read to find out. (It is never resent: it has no session.)
//       kUnavailable, kTimeout, kInvalidArgument: not applied.
//   A transaction that wrote nothing and read at most once commits without a request.
//   After commit() (whatever its result), reads fail with kInvalidArgument and writes are
//   ignored; commit() again gives the first commit's result (no request).
//
// Threads and lifetime: as Client — use it on the client's io thread only, one operation at
// a time. It keeps the client's internals alive, so it may outlive the Client (its
// operations then fail with kClosed).
#pragma once

#include <asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>

#include "client/result.h"
#include "client/types.h"

namespace kv::client {

class Client;

class Transaction {
 public:
  struct State;  // opaque: a Transaction comes from Client::begin() or run_transaction()

  // REQUIRES: state != nullptr.
  explicit Transaction(std::shared_ptr<State> state);
  ~Transaction();
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // The key's value and version (found == false: absent), as this transaction sees it.
  asio::awaitable<Result<GetResult>> get(std::string key);
  // Keys in [start, end) as this transaction sees them; the arguments and options mean what
  // they mean for Client::range (serializable is ignored). A range over several shards is
  // read shard by shard. With a limit, reading stops once the limit is reached; `more` says
  // whether the range holds more keys.
  asio::awaitable<Result<RangeResult>> range(std::string start, std::string end, RangeOptions options = {});
  // Every key beginning with `prefix`.
  asio::awaitable<Result<RangeResult>> prefix(std::string prefix, RangeOptions options = {});

  // Buffered writes, applied by commit(). An empty key makes commit() fail (kInvalidArgument).
  void put(std::string key, std::string value);
  void del(std::string key);
  // Deletes every key in [start, end) as this transaction sees it: reads the whole range
  // (so that commit fails if a key appears in it meanwhile), then buffers a delete per key.
  // `deleted` counts them. An empty `end` is kInvalidArgument (use del()).
  asio::awaitable<Result<DeleteResult>> del_range(std::string start, std::string end, DeleteOptions options = {});

  // Commits (see above).
  asio::awaitable<Result<CommitResult>> commit();

  // What commit() sends (or would send): the reads, range reads and writes so far.
  net::TxnFootprint footprint() const;
  // Whether commit() has been called.
  bool finished() const;

 private:
  std::shared_ptr<State> state_;
};

// The body of a transaction: reads and buffers writes on the transaction it is given, then
// returns success (run_transaction commits, unless the body did) or an error (nothing is
// committed; the error is the run's result, or a new attempt if it is kConflict). It may run several times, each time on a fresh transaction: keep its
// effects outside the transaction idempotent.
using TransactionBody = std::function<asio::awaitable<Result<void>>(Transaction&)>;

// Runs `body` on a fresh transaction and commits; on kConflict (from the commit, or returned
// by the body) waits a backoff with jitter and runs it again, within options.max_attempts
// and options.timeout. The result is the last attempt's: a commit result, the conflict that
// remained, or the first error that was not a conflict (never retried: kIndeterminate in
// particular). Invalid options are kInvalidArgument (nothing run).
// REQUIRES: called on the client's io thread. `body` is kept until the run ends.
asio::awaitable<TransactionRun> run_transaction(Client& client, TransactionBody body, TransactionOptions options = {});

}  // namespace kv::client
