// How a shard persists its transaction state, as storage's opaque per-group txn-state
// records (storage/data_store.h): written in the same batch as the data they guard, and
// carried by snapshots with it.
//
//   "P" | txn id u64be  ->  prepared_at u64le | the TxnPrepareRequest as a log command
//                           (command.h: the public schema, so old records stay readable)
//   "R" | txn id u64be  ->  "C" (committed) or "A" (aborted): the transaction record, kept
//                           on the primary key's shard (the commit point)
//
// Shard 0 also keeps the shard map's run-time part there:
//   "L" | shard u64be   ->  leader u64le | term u64le: the newest claim to lead the shard
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/result.h"
#include "server/txn_table.h"

namespace kv::server {

enum class TxnOutcome : char { kCommitted = 'C', kAborted = 'A' };

std::string prepared_record_key(TxnId id);
std::string outcome_record_key(TxnId id);
bool is_prepared_record_key(std::string_view key);

std::string encode_prepared(const PreparedTxn& txn);
net::Result<PreparedTxn> decode_prepared(std::string_view bytes);

struct LeaderClaim {
  std::uint64_t leader = 0;
  std::uint64_t term = 0;
};
std::string leader_record_key(std::uint64_t shard);
std::string encode_leader_claim(const LeaderClaim& claim);
std::optional<LeaderClaim> decode_leader_claim(std::string_view bytes);

std::string encode_outcome(TxnOutcome outcome);
// nullopt for bytes that are not an outcome (corruption the storage checksum missed: a bug).
std::optional<TxnOutcome> decode_outcome(std::string_view bytes);

}  // namespace kv::server
