#include "storage/debug_tools.h"

#include <functional>
#include <memory>

#include "storage/detail/db.h"

namespace kv::storage::debug {
namespace {

// Opens the RocksDB of `node_path` with all its column families and runs `fn` on `cf`.
Status with_cf(const std::string& node_path, const std::string& cf,
               const std::function<rocksdb::Status(rocksdb::DB&, rocksdb::ColumnFamilyHandle*)>& fn) {
  const std::string path = node_path + "/db";
  rocksdb::DBOptions options;
  std::vector<std::string> names;
  KV_RETURN_IF_ERROR(detail::from_rocks(rocksdb::DB::ListColumnFamilies(options, path, &names), "list " + path));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  detail::Db db;
  rocksdb::DB* raw = nullptr;
  KV_RETURN_IF_ERROR(detail::from_rocks(rocksdb::DB::Open(options, path, descriptors, &db.handles, &raw), "open " + path));
  db.db.reset(raw);
  for (auto* h : db.handles) {
    if (h->GetName() == cf) return detail::from_rocks(fn(*db.db, h), "raw access to " + cf);
  }
  return Status::not_found("no column family " + cf);
}

}  // namespace

Status raw_get(const std::string& node_path, const std::string& cf, std::string_view key, std::string* value) {
  return with_cf(node_path, cf, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) {
    return db.Get(rocksdb::ReadOptions(), h, detail::slice(key), value);
  });
}

Status raw_put(const std::string& node_path, const std::string& cf, std::string_view key, std::string_view value) {
  return with_cf(node_path, cf, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return db.Put(wo, h, detail::slice(key), detail::slice(value));
  });
}

Status raw_delete(const std::string& node_path, const std::string& cf, std::string_view key) {
  return with_cf(node_path, cf, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return db.Delete(wo, h, detail::slice(key));
  });
}

Status raw_keys(const std::string& node_path, const std::string& cf, std::vector<std::string>* keys) {
  keys->clear();
  return with_cf(node_path, cf, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) {
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys->push_back(it->key().ToString());
    return it->status();
  });
}

Status drop_column_family(const std::string& node_path, const std::string& cf) {
  return with_cf(node_path, cf, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* h) { return db.DropColumnFamily(h); });
}

}  // namespace kv::storage::debug
