// kv::client::Client — the coroutine API of the client library. (For plain threads, see
// BlockingClient in blocking_client.h: same operations, same results.)
//
//   asio::io_context io;
//   kv::client::Options options;
//   options.endpoints = {"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"};
//   kv::client::Client client(io, options);
//   // inside a coroutine running on io:
//   auto put = co_await client.put("greeting", "hello");
//   if (!put.ok()) std::cerr << to_string(put.kind()) << ": " << put.message() << "\n";
//
// What every operation does: it is routed to the node believed to lead the key's shard (any
// endpoint at first; by the shard map once loaded), follows NotLeader hints, moves
// round-robin over the shard's replicas and then the endpoints when a node cannot serve it,
// and backs off exponentially with jitter between retries, until it gets an answer or its
// deadline (Options::operation_timeout) passes. The shard map is loaded when a redirect or
// WrongShard shows the cached one stale, and before the first transaction. Connections (one per
// node, made on demand) are shared by all operations; requests are pipelined on them.
//
// Transactions over any keys (transaction.h): begin() and run_transaction().
//
// Exactly-once writes: every write (put, del*, cas, txn) runs in a session of its own — a
// random 64-bit client_id with a sequence counter — and every retry re-sends the same
// (client_id, seq), to whichever node leads by then; the server applies it at most once and
// answers retries from its session table. So a write that reports success was applied
// exactly once, one that reports kIndeterminate at most once, and every other error means it
// was not applied. Options::max_sessions bounds the writes in flight; more writes wait.
// Reads carry no session.
//
// Results: see result.h for the error kinds and what each lets the caller conclude. A
// missing key, a failed CAS compare and a txn that ran its failure branch are answers, not
// errors. Arguments are taken by value (the coroutines outlive the caller's expressions).
//
// Threads: a Client belongs to one io_context, which must be run by exactly ONE thread; call
// and co_await its operations only from coroutines on that io_context. Any number of
// operations may run concurrently. (BlockingClient wraps this for any-thread use.)
// Lifetime: operations keep the internals alive, so the Client may be destroyed while they
// run (they end with kClosed); destroy it on the io thread, or once the io_context no longer
// runs. The io_context must outlive every operation.
#pragma once

#include <asio/awaitable.hpp>

#include <memory>
#include <string>

#include "client/options.h"
#include "client/result.h"
#include "client/transaction.h"
#include "client/types.h"

namespace asio {
class io_context;
}

namespace kv::client {

namespace detail {
struct ClientAccess;
}

class Client {
 public:
  // REQUIRES: options.validate() is empty; `io` outlives every operation of this client.
  Client(asio::io_context& io, Options options);
  ~Client();  // close(); see "Lifetime" above
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // ---- reads (no session; retried freely)

  // The key's value and version; found == false when it does not exist.
  asio::awaitable<Result<GetResult>> get(std::string key, GetOptions options = {});
  // Keys in [start, end) in byte order; `end` empty = `start` alone; end == "\0" = every key
  // >= start; an empty `start` with a non-empty `end` starts at the first key. At most
  // options.limit kvs (0 = the server's maximum per shard); `more` says whether the range
  // holds more. A range over several shards is read as a read-only transaction: each shard's
  // piece in turn, then validated as one snapshot (run again on conflict), so the answer is
  // still one linearizable view; `serializable` is then ignored.
  asio::awaitable<Result<RangeResult>> range(std::string start, std::string end, RangeOptions options = {});
  // Every key beginning with `prefix` (empty prefix: every key; keys are never empty, so
  // this is the range ["\0", "\0")).
  asio::awaitable<Result<RangeResult>> prefix(std::string prefix, RangeOptions options = {});

  // ---- writes (exactly once; see above)

  // Sets the key; result: its new version (and the previous kv if asked for).
  asio::awaitable<Result<PutResult>> put(std::string key, std::string value, PutOptions options = {});
  // Deletes the key; `deleted` is 0 if it did not exist (not an error).
  asio::awaitable<Result<DeleteResult>> del(std::string key, DeleteOptions options = {});
  // Deletes keys in [start, end) (end == "\0": every key >= start). An empty `end` is
  // kInvalidArgument (use del() for one key). A range over several shards is deleted
  // atomically as a transaction (as txn() does; `deleted` and prev_kvs as usual).
  asio::awaitable<Result<DeleteResult>> del_range(std::string start, std::string end, DeleteOptions options = {});
  // Deletes every key beginning with `prefix` (empty prefix: every key).
  asio::awaitable<Result<DeleteResult>> del_prefix(std::string prefix, DeleteOptions options = {});
  // If the key's current state matches `compare` (expect_version / expect_value /
  // expect_absent), applies `then` (then_put / then_delete) atomically. succeeded == false
  // (not an error) when it did not match; `current` then holds the key's kv, if any.
  asio::awaitable<Result<CasResult>> cas(std::string key, Compare compare, CasThen then);
  // etcd-style transaction: if every compare holds, the success ops run, else the failure
  // ops, atomically; results has one entry per op of the branch that ran.
  // When every key it names (compares, ops, ranges) lies in one shard, it is one request,
  // applied by that shard in one log entry. Otherwise it runs as a Transaction: the compared
  // keys are read and the compares evaluated here (exactly as the server would), the branch's
  // reads are done and its writes buffered (a ranged delete reads the range, then deletes
  // what it found), and the whole commits atomically; a conflict runs it again, invisibly,
  // within Options::operation_timeout. The results have the same shape, except that the
  // versions the server would give the transaction's own writes are not known then: a put's
  // `version`, and the version of a key read after the transaction wrote it, are 0.
  // Errors: as a write (kIndeterminate: the commit's outcome is unknown); kConflict only when
  // conflicts persisted until the deadline.
  asio::awaitable<Result<TxnResult>> txn(TxnRequest request);

  // ---- transactions (transaction.h)

  // A new transaction over any keys, on this client. Nothing is sent until its first read.
  Transaction begin();

  // ---- cluster

  // What the node at `endpoint` says about itself and its shards: one attempt at that
  // endpoint only (no redirect), within min(request_timeout, operation_timeout).
  // `endpoint` need not be one of Options::endpoints.
  asio::awaitable<Result<StatusResult>> status(std::string endpoint);
  // The cluster's members, from any node that answers.
  asio::awaitable<Result<MembersResult>> members();
  // The shard map (every shard's range, replicas, latest known leader and term, and the
  // members), from any node that answers; it also replaces the client's cached map.
  asio::awaitable<Result<ShardMapResult>> shard_map();

  // Closes every connection; operations in flight finish with kClosed (or kIndeterminate for
  // a write that may have been applied), later ones fail at once with kClosed. Idempotent.
  // Call on the io thread.
  void close();

  // Counters so far. Call on the io thread.
  ClientStats stats() const;

  struct Impl;

 private:
  friend struct detail::ClientAccess;
  std::shared_ptr<Impl> impl_;
};

}  // namespace kv::client
