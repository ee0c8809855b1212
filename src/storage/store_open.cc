// Opening a node's RocksDB: directory layout checks, bootstrap, RocksDB options, the
// column-family check and the node-identity check (format.h describes what is on disk).
#include "storage/detail/store_open.h"

#include <rocksdb/cache.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "storage/coding.h"
#include "storage/file_util.h"
#include "storage/format.h"

namespace kv::storage::detail {
namespace {

constexpr const char* kRequiredCfs[] = {format::kRaftLogCf, format::kRaftStateCf, format::kDataCf,
                                        format::kLocksCf, format::kMetaCf};
constexpr const char* kDbDir = "db";
constexpr const char* kBootstrapDir = "db.bootstrap";
constexpr const char* kSnapshotsDir = "snapshots";

rocksdb::DBOptions db_options() {
  rocksdb::DBOptions o;
  o.paranoid_checks = true;  // RocksDB refuses to open on any corruption it detects
  o.create_if_missing = false;
  o.create_missing_column_families = false;
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1u << 20;
  o.keep_log_file_num = 4;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // kPointInTimeRecovery (the default): after a crash the WAL is replayed up to the first
  // torn record, so the recovered state is always a prefix of what was written. (RocksDB 7.8
  // then silently disables recycle_log_file_num, which would turn the synced WAL appends
  // into cheaper overwrites; a weaker recovery mode is not worth that.)
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // The memtable insert hints below work only for writes inserted one at a time. One
  // storage thread does nearly all writes, so concurrent inserts gained nothing anyway.
  o.allow_concurrent_memtable_write = false;
  return o;
}

rocksdb::ColumnFamilyOptions cf_options(const StoreOptions& options, std::string_view name,
                                        const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  const bool big = name == format::kRaftLogCf || name == format::kDataCf;
  o.write_buffer_size = big ? options.write_buffer_bytes : options.write_buffer_bytes / 8;
  // Log entries live briefly and are read back soon after being written: do not spend CPU
  // compressing them. User data is compressed in the lower levels only.
  o.compression = rocksdb::kNoCompression;
  if (name == format::kDataCf) {
    o.bottommost_compression = rocksdb::kLZ4Compression;
    table.whole_key_filtering = true;
  }
  // Insert hints: a memtable insert normally searches the skiplist from the top, a chain of
  // cache misses in a large memtable. Sessions, applied indexes and hard states are
  // rewritten with every write, so each key keeps a hint (the whole key is the prefix) and
  // its new version goes beside the last. Measured on `kvbench put` with 64 clients: the
  // session records alone had cost about a sixth of the servers' CPU.
  // RocksDB 7.8 also hands a range deletion the hint of a point key with its prefix, which
  // corrupts the memtable (fixed in later RocksDB): these families must never see a
  // DeleteRange. (That is why raft_log, whose keys ascend per group and would suit a hint
  // too, has none: its compaction is a DeleteRange.)
  if (name == format::kMetaCf || name == format::kRaftStateCf) {
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewNoopTransform());
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

std::vector<rocksdb::ColumnFamilyDescriptor> descriptors(const StoreOptions& options,
                                                         const std::vector<std::string>& names) {
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> out;
  for (const auto& name : names) out.emplace_back(name, cf_options(options, name, cache));
  return out;
}

std::string node_db_path(const StoreOptions& options) { return options.path + "/" + kDbDir; }

Status write_identity(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta, const StoreOptions& options) {
  rocksdb::WriteBatch batch;
  auto put = [&](std::string_view key, const std::string& body) {
    return batch.Put(meta, slice(key), format::seal(key, body));
  };
  std::string format_body;
  coding::append_le32(format_body, format::kFormatVersion);
  rocksdb::Status s = put(format::kClusterIdKey, options.cluster_id);
  if (s.ok()) s = put(format::kNodeIdKey, format::u64_body(options.node_id));
  if (s.ok()) s = put(format::kFormatVersionKey, format_body);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (s.ok()) s = db.Write(wo, &batch);
  return from_rocks(s, "write node identity");
}

// Opens the RocksDB at `db_path` with every column family it has.
Result<std::unique_ptr<Db>> open_rocks(const StoreOptions& options, const std::string& db_path, bool create) {
  auto db = std::make_unique<Db>();
  db->node_path = options.path;
  db->db_path = db_path;
  db->staging_path = options.path + "/" + kSnapshotsDir;
  rocksdb::DBOptions dbo = db_options();
  std::vector<std::string> names;
  if (create) {
    dbo.create_if_missing = true;
    dbo.create_missing_column_families = true;
    names = {rocksdb::kDefaultColumnFamilyName};
    names.insert(names.end(), std::begin(kRequiredCfs), std::end(kRequiredCfs));
  } else {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(dbo, db_path, &names);
    if (!s.ok()) return from_rocks(s, "list column families of " + db_path);
    for (const char* cf : kRequiredCfs) {
      if (std::find(names.begin(), names.end(), cf) == names.end()) {
        return Status::incomplete(db_path + " lacks the column family '" + cf + "': not a complete store");
      }
    }
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, db_path, descriptors(options, names), &db->handles, &raw);
  if (!s.ok()) return from_rocks(s, "RocksDB refused to open " + db_path);
  db->db.reset(raw);
  for (auto* h : db->handles) {
    const std::string& n = h->GetName();
    if (n == format::kRaftLogCf) db->raft_log = h;
    if (n == format::kRaftStateCf) db->raft_state = h;
    if (n == format::kDataCf) db->data = h;
    if (n == format::kLocksCf) db->locks = h;
    if (n == format::kMetaCf) db->meta = h;
  }
  KV_ASSERT(db->raft_log && db->raft_state && db->data && db->locks && db->meta);
  db->data_options = rocksdb::Options(dbo, cf_options(options, format::kDataCf, rocksdb::NewLRUCache(8u << 20)));
  return db;
}

}  // namespace

Result<Layout> inspect_layout(const StoreOptions& options) {
  std::vector<std::string> names;
  Status s = files::list_dir(options.path, &names);
  if (s.code() == Status::Code::kNotFound) return Layout::kEmpty;
  if (!s.ok()) return s;
  // A bootstrap that never reached its rename left no store behind: discard it.
  if (std::find(names.begin(), names.end(), kBootstrapDir) != names.end()) {
    KV_RETURN_IF_ERROR(files::remove_all(options.path + "/" + kBootstrapDir));
    std::erase(names, kBootstrapDir);
  }
  if (names.empty()) return Layout::kEmpty;
  if (std::find(names.begin(), names.end(), kDbDir) == names.end()) {
    std::string listed;
    for (const auto& n : names) listed += (listed.empty() ? "" : ", ") + n;
    return Status::incomplete(options.path + " is not empty but has no db/ (found: " + listed +
                              "): refusing to bootstrap over unknown files");
  }
  if (!files::exists(node_db_path(options) + "/CURRENT")) {
    return Status::incomplete(node_db_path(options) + " has no CURRENT file: not a complete RocksDB database");
  }
  return Layout::kExisting;
}

Status bootstrap(const StoreOptions& options) {
  const std::string tmp = options.path + "/" + kBootstrapDir;
  KV_RETURN_IF_ERROR(files::make_dirs(options.path));
  KV_RETURN_IF_ERROR(files::remove_all(tmp));
  {
    auto db = open_rocks(options, tmp, /*create=*/true);
    if (!db.ok()) return db.status();
    KV_RETURN_IF_ERROR(write_identity(*db.value()->db, db.value()->meta, options));
  }  // closed
  KV_RETURN_IF_ERROR(files::sync_dir(tmp));
  KV_RETURN_IF_ERROR(files::make_dirs(options.path + "/" + kSnapshotsDir));
  if (std::rename(tmp.c_str(), node_db_path(options).c_str()) != 0) {
    return Status::io_error("rename " + tmp + " to " + node_db_path(options));
  }
  return files::sync_dir(options.path);
}

Result<std::unique_ptr<Db>> open_db(const StoreOptions& options) {
  auto db = open_rocks(options, node_db_path(options), /*create=*/false);
  if (!db.ok()) return db.status();
  KV_RETURN_IF_ERROR(files::make_dirs(db.value()->staging_path));
  return db;
}

Status check_identity(const Db& db, const StoreOptions& options, std::uint32_t* format_version) {
  std::string cluster, node, version;
  const Status reads[] = {get_sealed(db, db.meta, format::kClusterIdKey, &cluster),
                          get_sealed(db, db.meta, format::kNodeIdKey, &node),
                          get_sealed(db, db.meta, format::kFormatVersionKey, &version)};
  for (const Status& s : reads) s.permit_unchecked();  // the loop may return before the last
  for (const Status& s : reads) {
    if (s.code() == Status::Code::kNotFound) {
      return Status::incomplete(db.db_path + " has no complete node identity (cluster id, node id, format version)");
    }
    if (!s.ok()) return s.with_context("node identity in " + db.db_path);
  }
  if (version.size() != 4) return Status::corruption("format version record has " + std::to_string(version.size()) + " bytes");
  const std::uint32_t v = coding::get_le32(version.data());
  if (v < format::kOldestReadableFormatVersion || v > format::kFormatVersion) {
    return Status::unsupported_format(db.db_path + " has on-disk format version " + std::to_string(v) +
                                      "; this build reads versions " + std::to_string(format::kOldestReadableFormatVersion) +
                                      " to " + std::to_string(format::kFormatVersion));
  }
  *format_version = v;
  if (cluster != options.cluster_id) {
    return Status::wrong_identity(db.db_path + " belongs to cluster '" + cluster + "', not '" + options.cluster_id + "'");
  }
  std::uint64_t node_id = 0;
  KV_RETURN_IF_ERROR(format::parse_u64(node, &node_id).with_context("node id record"));
  if (node_id != options.node_id) {
    return Status::wrong_identity(db.db_path + " belongs to node " + std::to_string(node_id) + ", not node " +
                                  std::to_string(options.node_id));
  }
  return Status();
}

Status maybe_upgrade_format(const Db& db, std::uint32_t format_version) {
  KV_ASSERT(format_version >= format::kOldestReadableFormatVersion);
  KV_ASSERT(format_version <= format::kFormatVersion);
  static_assert(format::kFormatVersion == 2, "add the upgrade step from the previous version here");
  if (format_version == format::kFormatVersion) return Status();
  // Version 1 never wrote to `locks`: a record there means the store is not what it claims,
  // and upgrading would bless it.
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.locks));
  it->SeekToFirst();
  KV_RETURN_IF_ERROR(from_rocks(it->status(), "read the locks column family"));
  if (it->Valid()) {
    return Status::corruption(db.db_path + " has format version 1 but records in the locks column family");
  }
  std::string body;
  coding::append_le32(body, format::kFormatVersion);
  rocksdb::WriteBatch batch;
  put_sealed(batch, db.meta, std::string(format::kFormatVersionKey), body);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(db.db->Write(wo, &batch), "upgrade the on-disk format version");
}

}  // namespace kv::storage::detail
