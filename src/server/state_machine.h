// The replicated state machine of one shard: applies committed commands to the DataStore,
// with the Raft thesis's client sessions (§6.3) so that a retried write is applied at most
// once. Not thread-safe: it runs where its shard's Ready is persisted, on the storage thread
// or (for a small batch) the network thread, never on both at once.
//
// Sessions: a client writes through sessions, each with at most one write outstanding;
// a retry repeats the same (client_id, seq). A command whose seq equals the session's last
// is answered from the cached response without being applied again; an older seq is
// refused. The table holds at most max_sessions; beyond that the least recently active
// sessions are dropped at the same log index on every replica (determinism comes from the
// log, not from clocks). A retry that arrives after its session was dropped would be
// applied again: with the default 100000 sessions that needs 100000 other clients' writes
// between a timeout and its retry.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/types.h"
#include "net/client_protocol.h"
#include "server/kv_reads.h"
#include "server/txn_table.h"
#include "storage/data_store.h"

namespace kv::server {

struct ApplyResult {
  raft::LogIndex index = 0;
  raft::Term term = 0;
  net::ResponseBody body;
  // A plain write that met a transaction's lock: applied as a no-op (not even recorded in
  // its session), so the node that proposed it proposes it again once the lock is gone.
  bool blocked = false;
};

// A prepared transaction this replica has seen for a while (see abandoned_txns()).
struct AbandonedTxn {
  TxnId id = 0;
  std::string primary;
  std::string key;  // one of its keys on this shard, to route its resolution
};

class ShardStateMachine {
 public:
  ShardStateMachine(storage::GroupId group, storage::KeyRange range, storage::DataStore& data,
                    std::uint32_t max_sessions);

  // (Re)loads the session table and the prepared transactions: before the first apply(),
  // and after a snapshot install.
  storage::Status load();

  // Applies consecutive committed entries in one storage batch, returning one result per
  // command (no-ops have none). A storage write error is fatal (KV_PANIC): the node stops,
  // and a restart replays the log from the last applied index.
  std::vector<ApplyResult> apply(std::span<const raft::Entry> entries);

  std::size_t session_count() const { return sessions_.size(); }

  // ---- For the network thread (thread-safe) ----
  // Whether a plain read (get or range) must wait for a transaction's write lock: the
  // transaction may have committed already, and its value is not in the data yet.
  bool read_blocked(const net::RequestOp& read) const;
  // Transactions prepared here that this replica first saw before `cutoff`: their
  // coordinator may be gone, and whoever leads the shard asks their primary how they ended.
  std::vector<AbandonedTxn> abandoned_txns(std::chrono::steady_clock::time_point cutoff) const;
  std::size_t prepared_count() const { return published_locks_.load(std::memory_order_acquire); }

 private:
  struct Session {
    std::uint64_t last_seq = 0;
    raft::LogIndex last_active = 0;
    std::string response;  // encoded net::Response, empty when too large to keep
  };

  net::ResponseBody apply_command(const net::Request& request, raft::LogIndex index);
  net::ResponseBody execute(const net::RequestOp& op, raft::LogIndex index);
  // state_machine_txn.cc: transactions, and plain writes waiting for their locks.
  bool write_blocked(const net::RequestOp& op) const;
  net::ResponseBody commit_one_phase(const net::TxnCommitRequest& r, raft::LogIndex index);
  net::ResponseBody prepare(const net::TxnPrepareRequest& r, raft::LogIndex index);
  net::ResponseBody resolve(const net::TxnResolveRequest& r);
  net::ResponseBody decide(const net::TxnDecideRequest& r);
  net::ResponseBody record_leader(const net::ShardLeaderRequest& r);
  std::optional<std::string> outside_range(const net::TxnFootprint& part) const;
  void apply_txn_writes(const std::vector<net::TxnWrite>& writes, raft::LogIndex version);
  void put_txn_state(const std::string& key, std::optional<std::string> value);
  std::optional<std::string> get_txn_state(const std::string& key) const;
  storage::Status load_txns();
  void record_session(std::uint64_t client_id, std::uint64_t seq, raft::LogIndex index,
                      const net::ResponseBody& body);
  void evict_sessions();

  // Writes go to the batch and to the overlay that reads of the same batch see.
  void write(const std::string& key, std::optional<std::string> value, raft::LogIndex version);

  const storage::GroupId group_;
  const storage::KeyRange range_;
  storage::DataStore& data_;
  const std::uint32_t max_sessions_;
  std::optional<storage::ApplyBatch> batch_;
  std::map<std::string, std::optional<storage::VersionedValue>> overlay_;
  std::unordered_map<std::uint64_t, Session> sessions_;
  std::set<std::pair<raft::LogIndex, std::uint64_t>> by_activity_;

  // Transactions. Changed only by apply(), which holds txn_mu_ for a whole batch: the
  // network thread, reading under it while the storage thread applies, never sees a lock
  // released before the data it guarded is written. published_locks_ lets it skip the mutex
  // when no transaction is prepared (it rises as soon as a lock is taken, falls after the
  // write).
  mutable std::mutex txn_mu_;
  TxnTable txns_;
  std::map<TxnId, std::chrono::steady_clock::time_point> first_seen_;  // local, not replicated
  std::atomic<std::size_t> published_locks_{0};
  std::map<std::string, std::optional<std::string>> txn_state_overlay_;  // this batch's records
};

}  // namespace kv::server
