// The pure rules behind Client::txn (etcd-style compares and branches) when its keys span
// shards and it runs as a Transaction: which shards it touches, and what a compare says about
// a key as read. The compare rule is net::compare_holds, the server's too, so a txn gives the
// same answer whichever way it runs.
#pragma once

#include "client/route_cache.h"
#include "net/client_protocol.h"

namespace kv::client::detail {

// Whether `compare op target` holds for the key as `current` shows it (found == false:
// absent). Ordering: an absent key has version 0 and sorts before any present key for
// `absent` targets; it has no value, so a value compare holds for it only with notEqual.
bool compare_holds(const net::GetResponse& current, net::CompareOp op, const net::CompareTarget& target);

// Whether every key and range `txn` names (compares, both branches) lies in one shard of
// `routes`. A txn that names nothing counts as one shard.
bool in_one_shard(const RouteCache& routes, const net::TxnRequest& txn);

}  // namespace kv::client::detail
