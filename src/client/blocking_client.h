// kv::client::BlockingClient — the client library for plain threads. It owns an io_context
// and one thread that runs it, with a Client (client.h) on that thread; each call hands its
// operation to that thread and blocks until the result is in. Operations, results, retries,
// deadlines and the exactly-once rules are exactly those of Client (read client.h).
//
//   kv::client::Options options;
//   options.endpoints = {"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"};
//   kv::client::BlockingClient client(options);
//   kv::client::Result<kv::client::GetResult> got = client.get("greeting");
//
// Threads: every method is safe to call from any number of threads at once; concurrent calls
// are pipelined over shared connections (one per node), not serialized. A call blocks for
// at most about Options::operation_timeout. The one network thread does all the I/O, so
// thousands of blocked callers cost threads, not sockets.
// This header includes no Asio.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "client/options.h"
#include "client/result.h"
#include "client/types.h"

namespace kv::client {

class Transaction;
class BlockingTransaction;

class BlockingClient {
 public:
  // Starts the network thread; connects lazily (on the first operation).
  // REQUIRES: options.validate() is empty.
  explicit BlockingClient(Options options);
  // close(), then waits for the network thread to finish (operations still running end
  // with kClosed within about backoff_max). REQUIRES: not called from an operation's
  // thread while that operation blocks (there is none to call it from, by construction).
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  Result<GetResult> get(const std::string& key, GetOptions options = {});
  Result<RangeResult> range(const std::string& start, const std::string& end, RangeOptions options = {});
  Result<RangeResult> prefix(const std::string& prefix, RangeOptions options = {});

  Result<PutResult> put(const std::string& key, const std::string& value, PutOptions options = {});
  Result<DeleteResult> del(const std::string& key, DeleteOptions options = {});
  Result<DeleteResult> del_range(const std::string& start, const std::string& end, DeleteOptions options = {});
  Result<DeleteResult> del_prefix(const std::string& prefix, DeleteOptions options = {});
  Result<CasResult> cas(const std::string& key, Compare compare, CasThen then);
  Result<TxnResult> txn(TxnRequest request);

  // Transactions: as Client::begin() and run_transaction() (transaction.h). The body runs on
  // the calling thread; each of the transaction's operations blocks as the client's do.
  BlockingTransaction begin();
  using TransactionBody = std::function<Result<void>(BlockingTransaction&)>;
  TransactionRun run_transaction(const TransactionBody& body, TransactionOptions options = {});

  Result<StatusResult> status(const std::string& endpoint);
  Result<MembersResult> members();
  Result<ShardMapResult> shard_map();

  // As Client::close(); afterwards every call fails at once with kClosed. Idempotent.
  void close();
  ClientStats stats() const;

  struct Impl;

 private:
  BlockingTransaction begin_until(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<Impl> impl_;
};

// A Transaction (transaction.h) driven from a plain thread: the same operations and results,
// each blocking until done. Use it from one thread at a time.
// REQUIRES: does not outlive the BlockingClient that began it.
class BlockingTransaction {
 public:
  ~BlockingTransaction();
  BlockingTransaction(BlockingTransaction&&) noexcept;
  BlockingTransaction& operator=(BlockingTransaction&&) noexcept;
  BlockingTransaction(const BlockingTransaction&) = delete;
  BlockingTransaction& operator=(const BlockingTransaction&) = delete;

  Result<GetResult> get(const std::string& key);
  Result<RangeResult> range(const std::string& start, const std::string& end, RangeOptions options = {});
  Result<RangeResult> prefix(const std::string& prefix, RangeOptions options = {});
  void put(const std::string& key, const std::string& value);
  void del(const std::string& key);
  Result<DeleteResult> del_range(const std::string& start, const std::string& end, DeleteOptions options = {});
  Result<CommitResult> commit();
  net::TxnFootprint footprint() const;

 private:
  friend class BlockingClient;
  BlockingTransaction(BlockingClient::Impl& impl, std::shared_ptr<Transaction> txn);

  BlockingClient::Impl* impl_;
  std::shared_ptr<Transaction> txn_;  // used and released on the network thread
};

}  // namespace kv::client
