// Two-phase commit across shards, run by the node a client sends its TxnCommitRequest to
// (design.md, "Multi-key transactions"), and the recovery of transactions whose coordinator
// went away.
//
//   1. The primary key (the first written key, else the first read) names the shard that
//      will hold the transaction record.
//   2. Prepare at every participant shard, in parallel, through its Raft log: each votes
//      yes (locks taken, reads still current) or no.
//   3. All yes: record "committed" at the primary's shard. That replicated record is the
//      commit point; the client is answered then, and the intents are resolved after: the
//      other participants first, the primary's shard last, deleting the record with it.
//      Any no: the participants that may hold locks are told to drop them, and the client
//      gets a conflict (nothing was applied).
//   4. Recovery (for locks older than the lock TTL): record "aborted" at the primary unless
//      a record exists already, then resolve the locks as the record says. Records are only
//      ever written through the primary's log, so the coordinator and any number of
//      recoverers agree on one outcome.
//
// The coordinator keeps nothing durable of its own: a crash at any step leaves locks that
// name their primary, and recovery finishes the transaction either way.
#pragma once

#include <asio/awaitable.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "net/client_protocol.h"
#include "server/shard_map.h"
#include "server/txn_table.h"

namespace kv::server {

// Sends a request to the leader of the shard holding route_key and returns its answer,
// retrying through leader changes; an outcome it cannot learn comes back as Error timeout.
using ShardCall = std::function<asio::awaitable<net::ResponseBody>(net::RequestOp op, std::string route_key)>;

// A transaction's share of each shard it touches (ranges are cut at shard boundaries).
using TxnParts = std::map<storage::GroupId, net::TxnFootprint>;
TxnParts split_by_shard(const net::TxnFootprint& txn, const ShardMap& map);
// The key whose shard holds the record; REQUIRES: the footprint is not empty.
const std::string& primary_key(const net::TxnFootprint& txn);
// A key of the footprint that routes a request to its shard.
const std::string& route_key(const net::TxnFootprint& part);

// The steps after which a test may make the coordinator die (kvd --crash-txn-at).
enum class TxnStep { kSomePrepared, kAllPrepared, kDecided };
using TxnStepHook = std::function<void(TxnStep)>;

class TxnCoordinator {
 public:
  TxnCoordinator(const ShardMap& map, ShardCall call, std::function<TxnId()> new_txn_id, TxnStepHook on_step = {});

  // Commits a transaction touching two or more shards (`parts`, from split_by_shard), whose
  // record goes to `primary`'s shard (primary_key); answers TxnCommitResponse, or an Error
  // (conflict: nothing applied; timeout: outcome unknown).
  asio::awaitable<net::ResponseBody> commit(std::string primary, TxnParts parts);

  // Finishes a transaction found prepared and abandoned at the shard holding `key`.
  asio::awaitable<void> recover(TxnId id, std::string primary, std::string key);

 private:
  // Resolves the transaction at the participants holding `keys`, in parallel; their answers.
  asio::awaitable<std::vector<net::ResponseBody>> resolve_all(TxnId id, std::vector<std::string> keys, bool commit);
  // Resolves a decided transaction: the other participants first, then the primary's shard,
  // which also deletes the record when every other participant answered.
  asio::awaitable<void> finish(TxnId id, std::string primary, std::vector<std::string> keys, bool commit);

  const ShardMap& map_;
  const ShardCall call_;
  const std::function<TxnId()> new_txn_id_;
  const TxnStepHook on_step_;
};

}  // namespace kv::server
