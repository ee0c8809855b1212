#include "storage/detail/db.h"

#include "storage/format.h"

namespace kv::storage::detail {

Db::~Db() {
  if (db == nullptr) return;
  for (auto* h : handles) {
    rocksdb::Status s = db->DestroyColumnFamilyHandle(h);
    s.PermitUncheckedError();
  }
  handles.clear();
  rocksdb::Status s = db->Close();
  s.PermitUncheckedError();
  db.reset();
}

void put_sealed(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                std::string_view body) {
  must(batch.Put(cf, key, format::seal(key, body)));
}

Status from_rocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status();
  std::string message = std::string(context) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::corruption(std::move(message));
  if (s.IsNotFound()) return Status::not_found(std::move(message));
  if (s.IsInvalidArgument()) return Status::invalid_argument(std::move(message));
  return Status::io_error(std::move(message));
}

Status get(const Db& db, rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string* value,
           const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  rocksdb::Status s = db.db->Get(ro, cf, slice(key), value);
  if (s.IsNotFound()) return Status::not_found("no record");
  return from_rocks(s, "read " + cf->GetName());
}

Status get_sealed(const Db& db, rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string* body,
                  const rocksdb::Snapshot* snapshot) {
  std::string value;
  KV_RETURN_IF_ERROR(get(db, cf, key, &value, snapshot));
  std::string_view b;
  KV_RETURN_IF_ERROR(format::unseal(key, value, &b).with_context("record in " + cf->GetName()));
  body->assign(b);
  return Status();
}

Result<std::uint64_t> read_applied(const Db& db, GroupId group, const rocksdb::Snapshot* snapshot) {
  std::string body;
  Status s = get_sealed(db, db.meta, format::applied_key(group), &body, snapshot);
  if (s.code() == Status::Code::kNotFound) return std::uint64_t{0};
  std::uint64_t index = 0;
  if (s.ok()) s = format::parse_u64(body, &index);
  if (!s.ok()) return s.with_context("applied index of group " + std::to_string(group));
  return index;
}

}  // namespace kv::storage::detail
