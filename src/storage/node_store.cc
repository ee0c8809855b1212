#include "storage/node_store.h"

#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <limits>

#include "common/assert.h"
#include "storage/detail/internal.h"
#include "storage/detail/store_open.h"

namespace kv::storage {
namespace {

using detail::GroupLogAccess;
using detail::LogBounds;
using detail::must;
using detail::put_sealed;

constexpr raft::LogIndex kMaxIndex = std::numeric_limits<raft::LogIndex>::max();
// A stale log suffix up to this many entries is removed with point deletes; longer ones with
// one range tombstone (RocksDB reads get slower with many tombstones, so use them sparingly).
constexpr raft::LogIndex kPointDeleteLimit = 64;

// Removes log entries [from, to) of `group`.
void delete_log_range(rocksdb::WriteBatch& batch, const detail::Db& db, GroupId group, raft::LogIndex from,
                      raft::LogIndex to) {
  KV_ASSERT(from <= to);
  if (to - from <= kPointDeleteLimit) {
    char key[format::kLogKeyBytes] = {};
    for (raft::LogIndex i = from; i < to; ++i) {
      format::put_log_key(key, group, i);
      must(batch.Delete(db.raft_log, rocksdb::Slice(key, sizeof key)));
    }
    return;
  }
  must(batch.DeleteRange(db.raft_log, format::log_key(group, from), format::log_key(group, to)));
}

// Checks the REQUIRES of GroupWrite against the group's current bounds.
void check_write(const GroupWrite& w, const LogBounds& b, const GroupLog& log) {
  raft::LogIndex dummy = b.dummy_index;
  raft::LogIndex last = b.last_index;
  if (w.snapshot != nullptr) {
    KV_ASSERT_MSG(w.snapshot->meta.index > b.snapshot_index, "persist(): snapshot not newer than the current one");
    dummy = last = w.snapshot->meta.index;
  }
  if (w.image != nullptr) {
    KV_ASSERT_MSG(w.snapshot != nullptr, "persist(): an image needs its snapshot");
    KV_ASSERT_MSG(w.image->group() == w.group, "persist(): image of another group");
    KV_ASSERT_MSG(w.image->meta().index == w.snapshot->meta.index, "persist(): image index differs from snapshot");
    KV_ASSERT_MSG(w.image->meta().term == w.snapshot->meta.term, "persist(): image term differs from snapshot");
    KV_ASSERT_MSG(!w.image->directory_name().empty(), "persist(): image already installed");
  }
  if (w.entries.empty()) return;
  const raft::LogIndex front = w.entries.front().index;
  KV_ASSERT_MSG(front > dummy, "persist(): entries at or below the compaction point");
  KV_ASSERT_MSG(front <= last + 1, "persist(): entries would leave a gap");
  raft::Term prev = w.snapshot != nullptr ? w.snapshot->meta.term : log.term(front - 1);
  for (std::size_t k = 0; k < w.entries.size(); ++k) {
    KV_ASSERT_MSG(w.entries[k].index == front + k, "persist(): entries not contiguous");
    KV_ASSERT_MSG(w.entries[k].term >= prev, "persist(): entry terms decrease");
    prev = w.entries[k].term;
  }
}

void encode_entries(rocksdb::WriteBatch& batch, const detail::Db& db, GroupId group, std::span<const raft::Entry> entries) {
  char key[format::kLogKeyBytes] = {};
  char header[format::kEntryHeaderBytes] = {};
  const rocksdb::Slice key_part(key, sizeof key);
  for (const raft::Entry& e : entries) {
    format::put_log_key(key, group, e.index);
    format::encode_entry_header(key, e, header);
    const rocksdb::Slice value_parts[2] = {rocksdb::Slice(header, sizeof header), detail::slice(e.data)};
    must(batch.Put(db.raft_log, rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(value_parts, 2)));
  }
}

// Adds `w` to `batch`, in the order of the Ready contract: snapshot, entries, hard state.
void encode_write(rocksdb::WriteBatch& batch, const detail::Db& db, const GroupWrite& w, const LogBounds& b) {
  const GroupId g = w.group;
  raft::LogIndex last = b.last_index;
  if (w.snapshot != nullptr) {
    const raft::SnapshotMeta& meta = w.snapshot->meta;
    put_sealed(batch, db.raft_state, format::state_key(g, format::kSnapshotTag), format::snapshot_body(*w.snapshot));
    put_sealed(batch, db.raft_state, format::state_key(g, format::kTruncatedTag),
               format::position_body({meta.index, meta.term}));
    put_sealed(batch, db.raft_state, format::state_key(g, format::kConfTag), format::conf_body(meta.conf));
    must(batch.DeleteRange(db.raft_log, format::log_key(g, 0), format::log_key(g, kMaxIndex)));
    if (w.image != nullptr) {
      const format::PendingInstall pending{{meta.index, meta.term}, w.image->directory_name()};
      put_sealed(batch, db.meta, format::pending_install_key(g), format::pending_install_body(pending));
    }
    last = meta.index;
  }
  if (!w.entries.empty()) {
    const raft::LogIndex new_last = w.entries.back().index;
    if (new_last < last) delete_log_range(batch, db, g, new_last + 1, last + 1);
    encode_entries(batch, db, g, w.entries);
  }
  if (w.hard_state) {
    put_sealed(batch, db.raft_state, format::state_key(g, format::kHardStateTag), format::hard_state_body(*w.hard_state));
  }
}

}  // namespace

NodeStore::NodeStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeStore::~NodeStore() = default;

Result<std::unique_ptr<NodeStore>> NodeStore::open(const StoreOptions& options) {
  if (std::string problem = options.validate(); !problem.empty()) return Status::invalid_argument(problem);
  auto layout = detail::inspect_layout(options);
  if (!layout.ok()) return layout.status();
  if (*layout == detail::Layout::kEmpty) {
    if (!options.create_if_missing) {
      return Status::not_found(options.path + " holds no store and create_if_missing is false");
    }
    KV_RETURN_IF_ERROR(detail::bootstrap(options));
  }
  auto db = detail::open_db(options);
  if (!db.ok()) return db.status();
  std::uint32_t format_version = 0;
  KV_RETURN_IF_ERROR(detail::check_identity(*db.value(), options, &format_version));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->db = std::move(db.value());
  impl->data = detail::DataStoreAccess::make(*impl->db, impl->registry);
  KV_RETURN_IF_ERROR(detail::recover_staging(*impl->db));
  KV_RETURN_IF_ERROR(detail::load_groups(*impl->db, options, impl->registry));
  KV_RETURN_IF_ERROR(detail::load_applied(*impl->db, *impl->data));
  KV_RETURN_IF_ERROR(detail::maybe_upgrade_format(*impl->db, format_version));
  return std::unique_ptr<NodeStore>(new NodeStore(std::move(impl)));
}

const std::string& NodeStore::cluster_id() const { return impl_->options.cluster_id; }
raft::NodeId NodeStore::node_id() const { return impl_->options.node_id; }

std::vector<GroupId> NodeStore::groups() const {
  std::lock_guard lock(impl_->registry.mu);
  std::vector<GroupId> out;
  out.reserve(impl_->registry.groups.size());
  for (const auto& [id, log] : impl_->registry.groups) out.push_back(id);
  return out;
}

GroupLog* NodeStore::group(GroupId group) const { return impl_->registry.find(group); }

Result<GroupLog*> NodeStore::create_group(GroupId group, const raft::ConfState& conf) {
  std::lock_guard writer(impl_->writer_mu);
  if (impl_->registry.find(group) != nullptr) {
    return Status::invalid_argument("group " + std::to_string(group) + " already exists");
  }
  const detail::Db& db = *impl_->db;
  rocksdb::WriteBatch batch;
  // As MemoryStorage(conf): an empty log, and a snapshot at index 0 that carries `conf`.
  raft::Snapshot empty;
  empty.meta.conf = conf;
  put_sealed(batch, db.raft_state, format::state_key(group, format::kTruncatedTag), format::position_body({0, 0}));
  put_sealed(batch, db.raft_state, format::state_key(group, format::kSnapshotTag), format::snapshot_body(empty));
  put_sealed(batch, db.raft_state, format::state_key(group, format::kConfTag), format::conf_body(conf));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  KV_RETURN_IF_ERROR(detail::from_rocks(db.db->Write(wo, &batch), "create group " + std::to_string(group)));
  auto log = GroupLogAccess::make(group, db, impl_->options.log_cache_bytes_per_group);
  detail::LoadedGroup loaded;
  loaded.conf = conf;
  loaded.snapshot = std::move(empty);
  GroupLogAccess::load(*log, loaded);
  GroupLog* out = log.get();
  std::lock_guard lock(impl_->registry.mu);
  impl_->registry.groups.emplace(group, std::move(log));
  return out;
}

void disable_perf_counters_on_this_thread() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

Status NodeStore::persist(std::span<const GroupWrite> writes, bool sync) {
  std::lock_guard writer(impl_->writer_mu);
  const detail::Db& db = *impl_->db;
  rocksdb::WriteBatch& batch = *impl_->persist_batch;
  std::vector<GroupLog*>& logs = impl_->persist_logs;
  batch.Clear();
  logs.clear();
  for (const GroupWrite& w : writes) {
    GroupLog* log = impl_->registry.find(w.group);
    KV_ASSERT_MSG(log != nullptr, "persist(): unknown group");
    KV_ASSERT_MSG(std::find(logs.begin(), logs.end(), log) == logs.end(), "persist(): a group listed twice");
    const LogBounds bounds = GroupLogAccess::bounds(*log);
    check_write(w, bounds, *log);
    encode_write(batch, db, w, bounds);
    logs.push_back(log);
    sync = sync || w.snapshot != nullptr;
  }
  if (batch.Count() == 0) return Status();
  for (std::size_t i = 0; i < writes.size(); ++i) GroupLogAccess::before_write(*logs[i], writes[i]);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  KV_RETURN_IF_ERROR(detail::from_rocks(db.db->Write(wo, &batch), "persist raft log batch"));
  for (std::size_t i = 0; i < writes.size(); ++i) GroupLogAccess::after_write(*logs[i], writes[i]);
  for (const GroupWrite& w : writes) {
    if (w.image != nullptr) KV_RETURN_IF_ERROR(install_image(w));
  }
  return Status();
}

Status NodeStore::install_image(const GroupWrite& w) {
  const format::PendingInstall pending{{w.snapshot->meta.index, w.snapshot->meta.term}, w.image->directory_name()};
  // The durable pending-install record owns the staged files now: a failed install must
  // leave them for open() to finish it.
  detail::SnapshotAccess::release(*w.image);
  if (impl_->options.testing_skip_install_after_persist) return Status();
  KV_RETURN_IF_ERROR(detail::install_staged(*impl_->db, w.group, pending));
  detail::DataStoreAccess::set_applied(*impl_->data, w.group, w.snapshot->meta.index);
  return Status();
}

Status NodeStore::create_snapshot(GroupId group, raft::LogIndex index, const raft::ConfState& conf, std::string data) {
  std::lock_guard writer(impl_->writer_mu);
  GroupLog* log = impl_->registry.find(group);
  KV_ASSERT_MSG(log != nullptr, "create_snapshot(): unknown group");
  const LogBounds bounds = GroupLogAccess::bounds(*log);
  KV_ASSERT_MSG(index > bounds.snapshot_index, "create_snapshot(): not newer than the current snapshot");
  KV_ASSERT_MSG(index <= bounds.last_index, "create_snapshot(): index beyond the log");
  raft::Snapshot snapshot{raft::SnapshotMeta{index, log->term(index), conf}, std::move(data)};
  rocksdb::WriteBatch batch;
  put_sealed(batch, impl_->db->raft_state, format::state_key(group, format::kSnapshotTag), format::snapshot_body(snapshot));
  put_sealed(batch, impl_->db->raft_state, format::state_key(group, format::kConfTag), format::conf_body(conf));
  KV_RETURN_IF_ERROR(detail::from_rocks(impl_->db->db->Write(rocksdb::WriteOptions(), &batch), "record snapshot meta"));
  GroupLogAccess::after_create_snapshot(*log, std::move(snapshot));
  return Status();
}

Status NodeStore::compact(GroupId group, raft::LogIndex index) {
  std::lock_guard writer(impl_->writer_mu);
  GroupLog* log = impl_->registry.find(group);
  KV_ASSERT_MSG(log != nullptr, "compact(): unknown group");
  const LogBounds bounds = GroupLogAccess::bounds(*log);
  if (index <= bounds.dummy_index) return Status();
  KV_ASSERT_MSG(index <= bounds.snapshot_index, "compact(): beyond the snapshot");
  KV_ASSERT_MSG(index <= bounds.last_index, "compact(): beyond the log");
  const format::LogPosition position{index, log->term(index)};
  rocksdb::WriteBatch batch;
  put_sealed(batch, impl_->db->raft_state, format::state_key(group, format::kTruncatedTag), format::position_body(position));
  must(batch.DeleteRange(impl_->db->raft_log, format::log_key(group, bounds.dummy_index + 1),
                         format::log_key(group, index + 1)));
  GroupLogAccess::before_compact(*log, index);
  rocksdb::WriteOptions wo;
  wo.sync = true;  // rare (once per snapshot interval), so make the new first index durable
  return detail::from_rocks(impl_->db->db->Write(wo, &batch), "compact raft log");
}

DataStore& NodeStore::data() { return *impl_->data; }
const DataStore& NodeStore::data() const { return *impl_->data; }

Result<std::unique_ptr<SnapshotSource>> NodeStore::open_snapshot_source(GroupId group, const KeyRange& range,
                                                                       const SnapshotSourceOptions& options) const {
  if (impl_->registry.find(group) == nullptr) return Status::not_found("group " + std::to_string(group) + " is unknown");
  return detail::open_snapshot_source(*impl_->db, group, range, options);
}

Result<std::unique_ptr<SnapshotSink>> NodeStore::begin_snapshot_receive(GroupId group) {
  return detail::begin_snapshot_receive(*impl_->db, group);
}

}  // namespace kv::storage
