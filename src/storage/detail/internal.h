// Internal wiring between the storage classes: the group registry and the "access" classes
// that let NodeStore change a GroupLog's in-memory view and construct the other objects.
// Internal to src/storage.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/data_store.h"
#include "storage/detail/db.h"
#include "storage/format.h"
#include "storage/group_log.h"
#include "storage/node_store.h"
#include "storage/snapshot.h"

namespace kv::storage::detail {

// The GroupLogs of a node. Entries are never removed while the store is open, so a
// GroupLog* handed out stays valid.
struct Registry {
  mutable std::mutex mu;
  std::map<GroupId, std::unique_ptr<GroupLog>> groups;

  GroupLog* find(GroupId group) const {
    std::lock_guard lock(mu);
    auto it = groups.find(group);
    return it == groups.end() ? nullptr : it->second.get();
  }
};

// A consistent copy of a GroupLog's bounds, taken under its lock.
struct LogBounds {
  raft::LogIndex dummy_index = 0;  // first_index - 1
  raft::LogIndex last_index = 0;
  raft::LogIndex snapshot_index = 0;
};

// Everything open() reads from raft_state for one group.
struct LoadedGroup {
  raft::HardState hard_state;
  raft::ConfState conf;
  raft::Snapshot snapshot;
  format::LogPosition truncated;
};

class GroupLogAccess {
 public:
  static std::unique_ptr<GroupLog> make(GroupId group, const Db& db, std::uint64_t cache_bytes);
  static LogBounds bounds(const GroupLog& log);

  // Recovery: the state first, then every entry of the log in order.
  static void load(GroupLog& log, const LoadedGroup& state);
  static void load_entry(GroupLog& log, raft::LogIndex index, raft::Term term, raft::EntryType type,
                         std::string_view data);

  // A write that deletes log entries first removes them from the view, then from RocksDB:
  // a reader's iterator, created under the view's lock, must find every entry the view
  // shows. Everything else enters the view after the write has succeeded.
  // persist(): before_write() drops what a snapshot or a conflicting append replaces;
  // after_write() adds the new entries, hard state, snapshot meta and membership.
  static void before_write(GroupLog& log, const GroupWrite& w);
  static void after_write(GroupLog& log, const GroupWrite& w);
  static void after_create_snapshot(GroupLog& log, raft::Snapshot snapshot);
  static void before_compact(GroupLog& log, raft::LogIndex index);
  static void after_conf_applied(GroupLog& log, const raft::ConfState& conf);
};

class DataStoreAccess {
 public:
  static std::unique_ptr<DataStore> make(const Db& db, Registry& registry);
  // Sets the in-memory applied index (open(), snapshot install).
  static void set_applied(DataStore& store, GroupId group, raft::LogIndex index);
};

class SnapshotAccess {
 public:
  // Staged images: fill a StagedSnapshot; mark it installed.
  static StagedSnapshot make_staged(GroupId group, KeyRange range, raft::SnapshotMeta meta, std::uint64_t data_records,
                                    std::uint64_t session_records, std::uint64_t txn_state_records,
                                    std::string staging_root, std::string dir_name);
  static void release(StagedSnapshot& staged) { staged.release(); }
};

// Snapshot production and receipt (snapshot_source.cc, snapshot_sink.cc).
Result<std::unique_ptr<SnapshotSource>> open_snapshot_source(const Db& db, GroupId group, const KeyRange& range,
                                                             const SnapshotSourceOptions& options);
Result<std::unique_ptr<SnapshotSink>> begin_snapshot_receive(const Db& db, GroupId group);

// Installing a staged image (snapshot_install.cc). The pending-install record for the group
// must already be durable. Idempotent: open() calls it again after a crash.
Status install_staged(const Db& db, GroupId group, const format::PendingInstall& pending);
// Finishes every install a crash interrupted and removes staging directories no install
// refers to. Called by open() before the groups are loaded.
Status recover_staging(const Db& db);

}  // namespace kv::storage::detail

namespace kv::storage {

struct NodeStore::Impl {
  StoreOptions options;
  std::unique_ptr<detail::Db> db;
  detail::Registry registry;
  std::unique_ptr<DataStore> data;

  std::mutex writer_mu;  // serializes log-side writes
  // Reused by persist() so a steady stream of group commits does not reallocate.
  std::unique_ptr<rocksdb::WriteBatch> persist_batch = std::make_unique<rocksdb::WriteBatch>();
  std::vector<GroupLog*> persist_logs;
};

}  // namespace kv::storage
