// The RocksDB handles of a node's store. Internal to src/storage: this is the only kind of
// header that includes RocksDB, and no public header includes it.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/assert.h"
#include "storage/status.h"
#include "storage/types.h"

namespace kv::storage::detail {

struct Db {
  std::string node_path;  // StoreOptions::path
  std::string db_path;    // node_path + "/db"
  std::string staging_path;  // node_path + "/snapshots"
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned; destroyed before db
  rocksdb::ColumnFamilyHandle* raft_log = nullptr;
  rocksdb::ColumnFamilyHandle* raft_state = nullptr;
  rocksdb::ColumnFamilyHandle* data = nullptr;
  rocksdb::ColumnFamilyHandle* locks = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  // The data column family's options, for SstFileWriter of received snapshots.
  rocksdb::Options data_options;

  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();
};

// A RocksDB snapshot, released on destruction.
struct PinnedSnapshot {
  rocksdb::DB* db;
  const rocksdb::Snapshot* snapshot;

  PinnedSnapshot(rocksdb::DB* d, const rocksdb::Snapshot* s) : db(d), snapshot(s) {}
  PinnedSnapshot(const PinnedSnapshot&) = delete;
  PinnedSnapshot& operator=(const PinnedSnapshot&) = delete;
  ~PinnedSnapshot() { db->ReleaseSnapshot(snapshot); }
};

inline std::unique_ptr<PinnedSnapshot> pin(const Db& db) {
  return std::make_unique<PinnedSnapshot>(db.db.get(), db.db->GetSnapshot());
}

inline rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// WriteBatch operations fail only beyond size limits we never set.
inline void must(const rocksdb::Status& s) { KV_ASSERT_MSG(s.ok(), s.ToString().c_str()); }

// Adds a sealed record (format.h) under `key`.
void put_sealed(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                std::string_view body);

// Maps a RocksDB status to ours, prefixing `context` ("write raft log batch").
// Corruption stays kCorruption; everything else that failed becomes kIOError.
Status from_rocks(const rocksdb::Status& s, std::string_view context);

// Reads `key` of `cf`; kNotFound when absent. `snapshot` may be null (latest).
Status get(const Db& db, rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string* value,
           const rocksdb::Snapshot* snapshot = nullptr);
// Reads and unseals a sealed record; kNotFound when absent. `body` holds the body on return.
Status get_sealed(const Db& db, rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string* body,
                  const rocksdb::Snapshot* snapshot = nullptr);

// The applied index recorded for `group` (0 when none), at `snapshot` (null: latest).
Result<std::uint64_t> read_applied(const Db& db, GroupId group, const rocksdb::Snapshot* snapshot);

}  // namespace kv::storage::detail
