// A routed call for the SERVER's own use (the transaction coordinator sends TxnPrepare,
// TxnDecide and TxnResolve to other shards' leaders through a Client). Not part of the
// user-facing API: users have Client's typed operations and transactions.
//
//   kv::client::Client peers(io, options);  // options.endpoints: the members' client addresses
//   // on the io thread that runs `peers`:
//   net::RequestOp op = net::TxnDecideRequest{txn_id, primary, /*commit=*/true};
//   auto calling = kv::client::internal_call(peers, std::move(op), primary);
//   kv::client::Result<net::ResponseBody> r = co_await std::move(calling);
//   if (!r.ok()) { /* kIndeterminate / kUnavailable / kTimeout / kClosed: see below */ }
//   else if (auto* outcome = std::get_if<net::TxnOutcomeResponse>(&r.value())) { ... }
//   else if (auto* error = std::get_if<net::ErrorResponse>(&r.value())) { /* definitive */ }
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <string>

#include "client/result.h"
#include "net/client_protocol.h"

namespace kv::client {

class Client;

struct InternalCallOptions {
  // The call's whole budget (attempts, backoffs, waiting for a session). 0 = the client's
  // Options::operation_timeout. Default: 0.
  std::chrono::milliseconds timeout{0};
};

// Sends `op` to the leader of the shard holding `route_key` (by the client's shard map and
// NotLeader hints; the shard's replicas, then the configured endpoints, when no leader is
// known), retrying with backoff on NotLeader, Unavailable, TooManyRequests, WrongShard, a
// server-side timeout, a lost connection or a failed connect, until an answer or the
// deadline.
//
// Writes (net::is_write(op)) run in an exactly-once session: every retry re-sends the same
// (client_id, seq), so the server applies the op at most once. Exception: a TxnCommitRequest
// is sent without a session (the server coordinates it) and never twice: once an attempt may
// have reached the server, a lost answer ends the call with kIndeterminate.
//
// Result:
//   ok     the server's answer body. This includes an ErrorResponse for definitive errors
//          (conflict, badRequest, keyTooLarge, valueTooLarge, unsupported, internal): the
//          caller reads the code. NotLeader and the other retryable codes never come back
//          as bodies: they are retried until the deadline.
//   kIndeterminate  a write that may or may not have been applied: no definitive answer
//          before the deadline (or, for a commit, a lost answer).
//   kUnavailable / kTimeout  not applied (writes), or no answer (reads), before the deadline.
//   kInvalidArgument  the request is too large to send. kClosed: the client was closed.
//   kInternal  a read's answer could not be decoded.
// REQUIRES: called on the client's io thread.
asio::awaitable<Result<net::ResponseBody>> internal_call(Client& client, net::RequestOp op, std::string route_key,
                                                         InternalCallOptions options = {});

}  // namespace kv::client
