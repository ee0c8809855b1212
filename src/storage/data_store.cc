#include "storage/data_store.h"

#include <rocksdb/write_batch.h>

#include "common/assert.h"
#include "storage/coding.h"
#include "storage/detail/internal.h"

namespace kv::storage {
namespace {

using detail::must;
using detail::put_sealed;

rocksdb::ReadOptions read_options(const detail::PinnedSnapshot* snapshot) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot == nullptr ? nullptr : snapshot->snapshot;
  return ro;
}

Status decode_session(std::string_view key, std::string_view value, GroupId group, ClientSession* out) {
  GroupId key_group = 0;
  KV_RETURN_IF_ERROR(format::decode_session_record(key, value, &key_group, out));
  if (key_group != group) return Status::corruption("session key of another group");
  return Status();
}

}  // namespace

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// ---- ApplyBatch ----

struct ApplyBatch::Rep {
  const detail::Db* db = nullptr;
  GroupId group = 0;
  rocksdb::WriteBatch batch;
  std::optional<raft::LogIndex> applied;
  std::optional<raft::ConfState> conf;
};

ApplyBatch::ApplyBatch(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
ApplyBatch::ApplyBatch(ApplyBatch&&) noexcept = default;
ApplyBatch& ApplyBatch::operator=(ApplyBatch&&) noexcept = default;
ApplyBatch::~ApplyBatch() = default;

GroupId ApplyBatch::group() const { return rep_->group; }

void ApplyBatch::put(std::string_view key, std::string_view value, raft::LogIndex version) {
  char header[format::kDataHeaderBytes] = {};
  format::encode_data_header(version, header);
  const rocksdb::Slice key_part = detail::slice(key);
  const rocksdb::Slice value_parts[2] = {rocksdb::Slice(header, sizeof header), detail::slice(value)};
  must(rep_->batch.Put(rep_->db->data, rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(value_parts, 2)));
}

void ApplyBatch::del(std::string_view key) { must(rep_->batch.Delete(rep_->db->data, detail::slice(key))); }

void ApplyBatch::put_session(const ClientSession& session) {
  put_sealed(rep_->batch, rep_->db->meta, format::session_key(rep_->group, session.client_id),
             format::session_body(session));
}

void ApplyBatch::delete_session(ClientId client) {
  must(rep_->batch.Delete(rep_->db->meta, format::session_key(rep_->group, client)));
}

void ApplyBatch::put_txn_state(std::string_view key, std::string_view value) {
  put_sealed(rep_->batch, rep_->db->locks, format::txn_state_key(rep_->group, key), value);
}

void ApplyBatch::delete_txn_state(std::string_view key) {
  must(rep_->batch.Delete(rep_->db->locks, format::txn_state_key(rep_->group, key)));
}

void ApplyBatch::set_conf_state(const raft::ConfState& conf) { rep_->conf = conf; }

void ApplyBatch::set_applied_index(raft::LogIndex index) { rep_->applied = index; }

std::size_t ApplyBatch::op_count() const { return rep_->batch.Count(); }
std::size_t ApplyBatch::byte_size() const { return rep_->batch.GetDataSize(); }

void ApplyBatch::clear() {
  rep_->batch.Clear();
  rep_->applied.reset();
  rep_->conf.reset();
}

// ---- ReadView ----

ReadView::ReadView(const detail::Db& db, std::unique_ptr<detail::PinnedSnapshot> snapshot)
    : db_(&db), snapshot_(std::move(snapshot)) {}
ReadView::ReadView(ReadView&&) noexcept = default;
ReadView& ReadView::operator=(ReadView&&) noexcept = default;
ReadView::~ReadView() = default;

Result<std::optional<VersionedValue>> ReadView::get(std::string_view key) const {
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->db->Get(read_options(snapshot_.get()), db_->data, detail::slice(key), &stored);
  if (s.IsNotFound()) return std::optional<VersionedValue>();
  if (!s.ok()) return detail::from_rocks(s, "read user key");
  std::string_view value;
  VersionedValue out;
  KV_RETURN_IF_ERROR(format::decode_data_value(detail::view(stored), &value, &out.version));
  out.value.assign(value);
  return std::optional<VersionedValue>(std::move(out));
}

Result<ScanResult> ReadView::scan(std::string_view start, std::string_view end, std::size_t limit) const {
  KV_ASSERT_MSG(limit > 0, "scan(): limit must be positive");
  rocksdb::ReadOptions ro = read_options(snapshot_.get());
  const rocksdb::Slice upper = detail::slice(end);
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->data));
  ScanResult out;
  for (it->Seek(detail::slice(start)); it->Valid(); it->Next()) {
    if (out.items.size() == limit) {
      out.more = true;
      break;
    }
    KeyValue& kv = out.items.emplace_back();
    std::string_view value;
    KV_RETURN_IF_ERROR(format::decode_data_value(detail::view(it->value()), &value, &kv.version)
                           .with_context("scan"));
    kv.key.assign(detail::view(it->key()));
    kv.value.assign(value);
  }
  if (!it->status().ok()) return detail::from_rocks(it->status(), "scan user keys");
  return out;
}

Result<ScanResult> ReadView::scan_prefix(std::string_view prefix, std::size_t limit) const {
  return scan(prefix, prefix_end(prefix), limit);
}

Result<raft::LogIndex> ReadView::applied_index(GroupId group) const {
  return detail::read_applied(*db_, group, snapshot_ ? snapshot_->snapshot : nullptr);
}

Result<std::optional<ClientSession>> ReadView::get_session(GroupId group, ClientId client) const {
  const std::string key = format::session_key(group, client);
  std::string value;
  Status s = detail::get(*db_, db_->meta, key, &value, snapshot_ ? snapshot_->snapshot : nullptr);
  if (s.code() == Status::Code::kNotFound) return std::optional<ClientSession>();
  if (!s.ok()) return s;
  ClientSession out;
  KV_RETURN_IF_ERROR(decode_session(key, value, group, &out));
  return std::optional<ClientSession>(std::move(out));
}

Status ReadView::for_each_session(GroupId group, const std::function<bool(const ClientSession&)>& visit) const {
  rocksdb::ReadOptions ro = read_options(snapshot_.get());
  const std::string end = format::session_prefix_end(group);
  const rocksdb::Slice upper = detail::slice(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->meta));
  ClientSession session;
  for (it->Seek(format::session_key(group, 0)); it->Valid(); it->Next()) {
    KV_RETURN_IF_ERROR(decode_session(detail::view(it->key()), detail::view(it->value()), group, &session));
    if (!visit(session)) return Status();
  }
  return detail::from_rocks(it->status(), "iterate sessions");
}

Result<std::optional<std::string>> ReadView::get_txn_state(GroupId group, std::string_view key) const {
  const std::string stored_key = format::txn_state_key(group, key);
  rocksdb::PinnableSlice stored;
  rocksdb::Status s = db_->db->Get(read_options(snapshot_.get()), db_->locks, detail::slice(stored_key), &stored);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return detail::from_rocks(s, "read txn state");
  GroupId stored_group = 0;
  std::string_view parsed_key, value;
  KV_RETURN_IF_ERROR(
      format::decode_txn_state_record(stored_key, detail::view(stored), &stored_group, &parsed_key, &value));
  KV_ASSERT(stored_group == group);
  KV_ASSERT(parsed_key == key);
  return std::optional<std::string>(std::string(value));
}

Status ReadView::for_each_txn_state(GroupId group,
                                    const std::function<bool(std::string_view key, std::string_view value)>& visit) const {
  rocksdb::ReadOptions ro = read_options(snapshot_.get());
  const std::string end = format::txn_state_prefix_end(group);
  const rocksdb::Slice upper = detail::slice(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->locks));
  for (it->Seek(format::txn_state_prefix(group)); it->Valid(); it->Next()) {
    GroupId stored_group = 0;
    std::string_view key, value;
    KV_RETURN_IF_ERROR(
        format::decode_txn_state_record(detail::view(it->key()), detail::view(it->value()), &stored_group, &key, &value));
    KV_ASSERT_MSG(stored_group == group, "for_each_txn_state(): iterator left the group's prefix");
    if (!visit(key, value)) return Status();
  }
  return detail::from_rocks(it->status(), "iterate txn state");
}

// ---- DataStore ----

DataStore::DataStore(const detail::Db& db, detail::Registry& registry) : db_(db), registry_(registry) {}
DataStore::~DataStore() = default;

ApplyBatch DataStore::new_batch(GroupId group) const {
  auto rep = std::make_unique<ApplyBatch::Rep>();
  rep->db = &db_;
  rep->group = group;
  return ApplyBatch(std::move(rep));
}

Status DataStore::apply(ApplyBatch& batch) {
  ApplyBatch::Rep& rep = *batch.rep_;
  KV_ASSERT_MSG(rep.db == &db_, "apply(): batch from another store");
  KV_ASSERT_MSG(rep.applied.has_value(), "apply(): set_applied_index() was not called");
  const raft::LogIndex applied = *rep.applied;
  KV_ASSERT_MSG(applied > applied_index(rep.group), "apply(): applied index must increase");
  put_sealed(rep.batch, db_.meta, format::applied_key(rep.group), format::u64_body(applied));
  if (rep.conf) {
    put_sealed(rep.batch, db_.raft_state, format::state_key(rep.group, format::kConfTag), format::conf_body(*rep.conf));
  }
  rocksdb::WriteOptions wo;
  wo.sync = false;
  KV_RETURN_IF_ERROR(detail::from_rocks(db_.db->Write(wo, &rep.batch), "apply to the state machine"));
  {
    std::lock_guard lock(applied_mu_);
    applied_[rep.group] = applied;
  }
  if (rep.conf) {
    if (GroupLog* log = registry_.find(rep.group)) detail::GroupLogAccess::after_conf_applied(*log, *rep.conf);
  }
  batch.clear();
  return Status();
}

raft::LogIndex DataStore::applied_index(GroupId group) const {
  std::lock_guard lock(applied_mu_);
  auto it = applied_.find(group);
  return it == applied_.end() ? 0 : it->second;
}

ReadView DataStore::latest() const { return ReadView(db_, nullptr); }
ReadView DataStore::read_view() const { return ReadView(db_, detail::pin(db_)); }

Result<std::optional<VersionedValue>> DataStore::get(std::string_view key) const { return latest().get(key); }

Result<ScanResult> DataStore::scan(std::string_view start, std::string_view end, std::size_t limit) const {
  return latest().scan(start, end, limit);
}

Result<ScanResult> DataStore::scan_prefix(std::string_view prefix, std::size_t limit) const {
  return latest().scan_prefix(prefix, limit);
}

Result<std::optional<ClientSession>> DataStore::get_session(GroupId group, ClientId client) const {
  return latest().get_session(group, client);
}

Status DataStore::for_each_session(GroupId group, const std::function<bool(const ClientSession&)>& visit) const {
  return latest().for_each_session(group, visit);
}

Result<std::optional<std::string>> DataStore::get_txn_state(GroupId group, std::string_view key) const {
  return latest().get_txn_state(group, key);
}

Status DataStore::for_each_txn_state(GroupId group,
                                     const std::function<bool(std::string_view key, std::string_view value)>& visit) const {
  return latest().for_each_txn_state(group, visit);
}

Result<std::size_t> DataStore::expire_sessions(ApplyBatch& batch, raft::LogIndex inactive_before) const {
  std::vector<ClientId> expired;
  KV_RETURN_IF_ERROR(for_each_session(batch.group(), [&](const ClientSession& s) {
    if (s.last_active_index < inactive_before) expired.push_back(s.client_id);
    return true;
  }));
  for (ClientId client : expired) batch.delete_session(client);
  return expired.size();
}

// ---- detail::DataStoreAccess ----

namespace detail {

std::unique_ptr<DataStore> DataStoreAccess::make(const Db& db, Registry& registry) {
  return std::unique_ptr<DataStore>(new DataStore(db, registry));
}

void DataStoreAccess::set_applied(DataStore& store, GroupId group, raft::LogIndex index) {
  std::lock_guard lock(store.applied_mu_);
  store.applied_[group] = index;
}

}  // namespace detail
}  // namespace kv::storage
