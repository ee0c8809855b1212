// DataStore: the applied state machine of all groups on a node — user data with versions,
// each group's applied index, client sessions, each group's transaction state — in the
// `data`, `meta` and `locks` column families.
//
// Writes: an ApplyBatch collects one group's effects of a run of committed entries (puts,
// deletes, session updates, transaction state, membership) and apply() writes them together
// with the group's new applied index in ONE WriteBatch, unsynced. After a crash the applied
// index on disk is exactly the one of the last batch that survived, so the server replays
// the log from there (the log itself is synced by NodeStore::persist and ordered before the
// apply in the WAL).
//
// Reads: get/scan see the latest applied state; read_view() pins a consistent point-in-time
// view (a RocksDB snapshot) for multi-page scans and snapshot-consistent reads.
//
// Thread-safety: all methods are thread-safe. ApplyBatch objects are not: one per thread.
// Applies of one group must come from one thread at a time, in log order.
// Lifetime: ApplyBatch and ReadView objects must be destroyed before their NodeStore.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/types.h"
#include "storage/status.h"
#include "storage/types.h"

namespace kv::storage {

namespace detail {
struct Db;
struct Registry;
struct PinnedSnapshot;
class DataStoreAccess;
}  // namespace detail

// The smallest key greater than every key that starts with `prefix`, or "" (no bound) when
// there is none (empty prefix, or all bytes 0xFF).
std::string prefix_end(std::string_view prefix);

class ApplyBatch {
 public:
  ApplyBatch(ApplyBatch&&) noexcept;
  ApplyBatch& operator=(ApplyBatch&&) noexcept;
  ~ApplyBatch();

  GroupId group() const;

  // User data. `version` is the log index of the entry that writes the value.
  void put(std::string_view key, std::string_view value, raft::LogIndex version);
  void del(std::string_view key);

  // This group's session table.
  void put_session(const ClientSession& session);
  void delete_session(ClientId client);

  // This group's transaction state: opaque key → value records that the server keeps for
  // multi-shard transactions (locks and intents of prepared transactions, transaction
  // records). Storage gives them no meaning; it keeps them per group, sealed (format.h),
  // atomic with the rest of the batch, and carries them in the group's snapshots.
  // Keys and values may be empty and hold any bytes.
  void put_txn_state(std::string_view key, std::string_view value);
  void delete_txn_state(std::string_view key);

  // The group's membership as of the applied index (what GroupLog::initial_state() returns
  // after a restart).
  void set_conf_state(const raft::ConfState& conf);

  // The log index up to which this batch applies the log. Required before apply().
  void set_applied_index(raft::LogIndex index);

  std::size_t op_count() const;
  std::size_t byte_size() const;
  // Empties the batch for reuse (keeps its memory).
  void clear();

 private:
  friend class DataStore;
  friend class detail::DataStoreAccess;
  struct Rep;
  explicit ApplyBatch(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// A page of a range scan. `more` is true when the limit stopped the scan before the end of
// the range; continue from the last key + '\0'.
struct ScanResult {
  std::vector<KeyValue> items;
  bool more = false;
};

class ReadView {
 public:
  ReadView(ReadView&&) noexcept;
  ReadView& operator=(ReadView&&) noexcept;
  ~ReadView();  // releases the RocksDB snapshot

  // nullopt when the key is absent. Errors: kIOError, kCorruption.
  Result<std::optional<VersionedValue>> get(std::string_view key) const;
  // Keys in [start, end) ("" end = no bound), ascending, at most `limit`. REQUIRES: limit > 0.
  Result<ScanResult> scan(std::string_view start, std::string_view end, std::size_t limit) const;
  Result<ScanResult> scan_prefix(std::string_view prefix, std::size_t limit) const;
  // The durable-or-not applied index recorded for `group` in this view (0 when none).
  Result<raft::LogIndex> applied_index(GroupId group) const;
  Result<std::optional<ClientSession>> get_session(GroupId group, ClientId client) const;
  // Visits the group's sessions in client id order until `visit` returns false.
  Status for_each_session(GroupId group, const std::function<bool(const ClientSession&)>& visit) const;
  // The value of the group's txn-state record `key`; nullopt when absent.
  // Errors: kCorruption (the record fails its checksum; it is never served), kIOError.
  Result<std::optional<std::string>> get_txn_state(GroupId group, std::string_view key) const;
  // Visits the group's txn-state records in ascending (bytewise) key order until `visit`
  // returns false. The views are valid only during the call. Errors as get_txn_state(): a
  // corrupt record ends the walk with kCorruption after the records before it were visited.
  Status for_each_txn_state(GroupId group,
                            const std::function<bool(std::string_view key, std::string_view value)>& visit) const;

 private:
  friend class DataStore;
  friend class detail::DataStoreAccess;
  ReadView(const detail::Db& db, std::unique_ptr<detail::PinnedSnapshot> snapshot);
  const detail::Db* db_;
  std::unique_ptr<detail::PinnedSnapshot> snapshot_;  // null: the latest state
};

class DataStore {
 public:
  ~DataStore();
  DataStore(const DataStore&) = delete;
  DataStore& operator=(const DataStore&) = delete;

  // An empty batch for `group`.
  ApplyBatch new_batch(GroupId group) const;

  // Writes `batch` in one unsynced WriteBatch and clears it.
  // REQUIRES: set_applied_index() was called, with an index above applied_index(group).
  // Errors: kIOError (treat as fatal: the state machine is then behind the log, and a
  // restart replays it).
  Status apply(ApplyBatch& batch);

  // The applied index of the last successful apply() (or install) for `group`; 0 when none.
  // Served from memory.
  raft::LogIndex applied_index(GroupId group) const;

  // Reads of the latest applied state (see ReadView for results and errors).
  Result<std::optional<VersionedValue>> get(std::string_view key) const;
  Result<ScanResult> scan(std::string_view start, std::string_view end, std::size_t limit) const;
  Result<ScanResult> scan_prefix(std::string_view prefix, std::size_t limit) const;
  Result<std::optional<ClientSession>> get_session(GroupId group, ClientId client) const;
  Status for_each_session(GroupId group, const std::function<bool(const ClientSession&)>& visit) const;
  Result<std::optional<std::string>> get_txn_state(GroupId group, std::string_view key) const;
  Status for_each_txn_state(GroupId group,
                            const std::function<bool(std::string_view key, std::string_view value)>& visit) const;

  // Adds to `batch` the deletion of every session of batch.group() whose last_active_index
  // is below `inactive_before`; returns how many. Deterministic given the applied state, so
  // all replicas expire the same sessions when they apply it at the same log index.
  Result<std::size_t> expire_sessions(ApplyBatch& batch, raft::LogIndex inactive_before) const;

  // A consistent point-in-time view of everything above.
  ReadView read_view() const;

 private:
  friend class detail::DataStoreAccess;
  DataStore(const detail::Db& db, detail::Registry& registry);
  ReadView latest() const;

  const detail::Db& db_;
  detail::Registry& registry_;
  mutable std::mutex applied_mu_;
  std::map<GroupId, raft::LogIndex> applied_;
};

}  // namespace kv::storage
