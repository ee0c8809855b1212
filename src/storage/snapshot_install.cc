// Installing a staged snapshot image, and finishing installs a crash interrupted.
//
// The commit point is persist()'s synced WriteBatch, which resets the group's log and writes
// the pending-install record 'P' naming the staging directory. After it:
//   1. delete the image's key range in `data`, the group's sessions in `meta` and the
//      group's txn-state records in `locks`;
//   2. ingest the staged SST file (hard-linked, so the staged copy survives for a redo);
//   3. one synced WriteBatch: the sessions, the txn-state records, the applied index, and
//      the removal of 'P';
//   4. remove the staging directory.
// Each step can be repeated from the start, so open() simply runs them again for every 'P'
// it finds. The group serves no reads or applies until install_staged() returns.
#include <rocksdb/write_batch.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage/detail/internal.h"
#include "storage/file_util.h"
#include "storage/snapshot_format.h"

namespace kv::storage::detail {
namespace {

// One point delete per session, not a DeleteRange: `meta` uses memtable insert hints, and
// RocksDB 7.8 hands a range deletion the hint of a point key with the same prefix, which
// corrupts the memtable (fixed in later RocksDB; see store_open.cc).
Status delete_sessions(const Db& db, GroupId group, rocksdb::WriteBatch& batch) {
  const std::string lower_key = format::session_key(group, 0);
  const std::string upper_key = format::session_prefix_end(group);
  const rocksdb::Slice lower = slice(lower_key);
  const rocksdb::Slice upper = slice(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.meta));
  for (it->SeekToFirst(); it->Valid(); it->Next()) must(batch.Delete(db.meta, it->key()));
  return from_rocks(it->status(), "list the sessions to replace");
}

// Deletes every `data` key of `range` and every session and txn-state record of `group`.
Status clear_range(const Db& db, GroupId group, const KeyRange& range) {
  rocksdb::WriteBatch batch;
  rocksdb::ReadOptions ro;
  const rocksdb::Slice lower = slice(range.start);
  const rocksdb::Slice upper = slice(range.end);
  ro.iterate_lower_bound = &lower;
  if (!range.end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.data));
  it->SeekToLast();
  KV_RETURN_IF_ERROR(from_rocks(it->status(), "find the end of the snapshot range"));
  if (it->Valid()) {
    // An empty `end` has no key form; delete up to just past the last key present instead.
    std::string end_key(view(it->key()));
    end_key.push_back('\0');
    must(batch.DeleteRange(db.data, slice(range.start), end_key));
  }
  KV_RETURN_IF_ERROR(delete_sessions(db, group, batch));
  must(batch.DeleteRange(db.locks, format::txn_state_prefix(group), format::txn_state_prefix_end(group)));
  return from_rocks(db.db->Write(rocksdb::WriteOptions(), &batch), "clear the snapshot range");
}

Status ingest(const Db& db, const std::string& dir) {
  const std::string staged = dir + "/data.sst";
  const std::string link = dir + "/ingest.sst";
  KV_RETURN_IF_ERROR(files::remove_all(link));
  if (::link(staged.c_str(), link.c_str()) != 0) {
    return Status::io_error("link " + staged + " to " + link + ": " + std::strerror(errno));
  }
  rocksdb::IngestExternalFileOptions o;
  o.move_files = true;  // RocksDB takes `link` over; `staged` stays for a redo
  o.snapshot_consistency = true;
  o.allow_global_seqno = true;
  o.allow_blocking_flush = true;
  o.write_global_seqno = false;  // never modify the file (it is also our staged copy)
  o.verify_checksums_before_ingest = true;
  return from_rocks(db.db->IngestExternalFile(db.data, {link}, o), "ingest snapshot file " + link);
}

Status finish_install(const Db& db, GroupId group, const snapfmt::Manifest& m) {
  rocksdb::WriteBatch batch;
  for (const ClientSession& s : m.sessions) {
    put_sealed(batch, db.meta, format::session_key(group, s.client_id), format::session_body(s));
  }
  for (const snapfmt::TxnStateRecord& r : m.txn_states) {
    put_sealed(batch, db.locks, format::txn_state_key(group, r.key), r.value);
  }
  put_sealed(batch, db.meta, format::applied_key(group), format::u64_body(m.info.meta.index));
  must(batch.Delete(db.meta, format::pending_install_key(group)));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(db.db->Write(wo, &batch), "record the installed snapshot");
}

}  // namespace

Status install_staged(const Db& db, GroupId group, const format::PendingInstall& pending) {
  const std::string dir = db.staging_path + "/" + pending.staging_dir;
  std::string sealed;
  Status s = files::read_all(dir + "/manifest", &sealed);
  if (s.code() == Status::Code::kNotFound) {
    return Status::incomplete("the pending snapshot install of group " + std::to_string(group) + " needs " + dir +
                              ", which is missing");
  }
  KV_RETURN_IF_ERROR(s);
  snapfmt::Manifest m;
  KV_RETURN_IF_ERROR(snapfmt::decode_manifest(sealed, &m).with_context(dir));
  if (m.info.group != group || m.info.meta.index != pending.position.index || m.info.meta.term != pending.position.term) {
    return Status::corruption(dir + " holds a snapshot that does not match the pending install of group " +
                              std::to_string(group));
  }
  KV_RETURN_IF_ERROR(clear_range(db, group, m.info.range));
  if (m.has_sst) KV_RETURN_IF_ERROR(ingest(db, dir));
  KV_RETURN_IF_ERROR(finish_install(db, group, m));
  files::remove_all(dir).permit_unchecked();  // a leftover is removed by the next open()
  return Status();
}

Status recover_staging(const Db& db) {
  std::vector<std::pair<GroupId, format::PendingInstall>> pending;
  {
    std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.meta));
    const std::string prefix(1, format::kPendingInstallPrefix);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      GroupId group = 0;
      std::string_view body;
      if (!format::parse_group_key(view(it->key()), format::kPendingInstallPrefix, &group)) {
        return Status::corruption("malformed pending-install key in meta");
      }
      auto& p = pending.emplace_back(group, format::PendingInstall{});
      Status st = format::unseal(view(it->key()), view(it->value()), &body);
      if (st.ok()) st = format::parse_pending_install(body, &p.second);
      if (!st.ok()) return st.with_context("pending snapshot install of group " + std::to_string(group));
    }
    KV_RETURN_IF_ERROR(from_rocks(it->status(), "read pending snapshot installs"));
  }
  for (const auto& [group, p] : pending) {
    KV_RETURN_IF_ERROR(install_staged(db, group, p).with_context("finishing the interrupted snapshot install of group " +
                                                                 std::to_string(group)));
  }
  // Whatever is left was never installed: half-received or never persisted images.
  std::vector<std::string> names;
  KV_RETURN_IF_ERROR(files::list_dir(db.staging_path, &names));
  for (const auto& name : names) KV_RETURN_IF_ERROR(files::remove_all(db.staging_path + "/" + name));
  return Status();
}

}  // namespace kv::storage::detail
