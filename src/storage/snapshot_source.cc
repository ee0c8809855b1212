// Producing a state-machine snapshot of one shard as chunks (snapshot.h, snapshot_format.h).
//
// Why chunks of our own records over a RocksDB snapshot iterator, and not SST files made with
// SstFileWriter on the sender: the sender then needs no temporary files and no disk space, its
// memory is bounded by one chunk, it can stream while iterating, every chunk carries our own
// CRC32C and sequence number, and the wire format does not depend on the RocksDB version or
// table options of either side. The receiver still gets the bulk-load benefit: it writes the
// records it receives (already in key order) into an SST file and ingests it.
#include <rocksdb/iterator.h>

#include "common/assert.h"
#include "storage/detail/internal.h"
#include "storage/snapshot_format.h"

namespace kv::storage {

struct SnapshotSource::Impl {
  enum class Phase { kHeader, kData, kSessions, kTxnState, kEnd, kDone };

  const detail::Db* db = nullptr;
  snapfmt::ImageInfo info;
  SnapshotSourceOptions options;
  std::unique_ptr<detail::PinnedSnapshot> pinned;
  std::string data_upper;
  rocksdb::Slice data_upper_slice;
  std::string session_upper;
  rocksdb::Slice session_upper_slice;
  std::string txn_upper;
  rocksdb::Slice txn_upper_slice;
  std::unique_ptr<rocksdb::Iterator> data_it;
  std::unique_ptr<rocksdb::Iterator> session_it;
  std::unique_ptr<rocksdb::Iterator> txn_it;
  Phase phase = Phase::kHeader;
  std::uint32_t seq = 0;
  snapfmt::RecordCounts counts;
  ClientSession session;  // scratch

  Status fill_data(snapfmt::ChunkBuilder& b);
  Status fill_sessions(snapfmt::ChunkBuilder& b);
  Status fill_txn_states(snapfmt::ChunkBuilder& b);
};

namespace {

// The term of the group's applied index, read at the pinned snapshot.
Result<raft::Term> applied_term(const detail::Db& db, GroupId group, raft::LogIndex applied,
                                const rocksdb::Snapshot* snap) {
  if (applied == 0) return raft::Term{0};
  const std::string key = format::log_key(group, applied);
  std::string value;
  Status s = detail::get(db, db.raft_log, key, &value, snap);
  if (s.ok()) {
    raft::Term term = 0;
    KV_RETURN_IF_ERROR(format::check_entry(key, value, &term).with_context(format::describe_log_key(key)));
    return term;
  }
  if (s.code() != Status::Code::kNotFound) return s;
  std::string body;
  format::LogPosition truncated;
  KV_RETURN_IF_ERROR(detail::get_sealed(db, db.raft_state, format::state_key(group, format::kTruncatedTag), &body, snap));
  KV_RETURN_IF_ERROR(format::parse_position(body, &truncated));
  if (truncated.index != applied) {
    return Status::corruption("group " + std::to_string(group) + ": applied index " + std::to_string(applied) +
                              " is neither in the log nor its compaction point");
  }
  return truncated.term;
}

Status read_image_meta(const detail::Db& db, GroupId group, const rocksdb::Snapshot* snap, raft::SnapshotMeta* meta) {
  auto applied = detail::read_applied(db, group, snap);
  if (!applied.ok()) return applied.status();
  meta->index = *applied;
  std::string body;
  Status s = detail::get_sealed(db, db.raft_state, format::state_key(group, format::kConfTag), &body, snap);
  if (s.ok()) s = format::parse_conf(body, &meta->conf);
  if (!s.ok() && s.code() != Status::Code::kNotFound) return s.with_context("membership");
  auto term = applied_term(db, group, meta->index, snap);
  if (!term.ok()) return term.status();
  meta->term = *term;
  return Status();
}

}  // namespace

Status SnapshotSource::Impl::fill_data(snapfmt::ChunkBuilder& b) {
  for (; data_it->Valid(); data_it->Next()) {
    std::string_view value;
    raft::LogIndex version = 0;
    KV_RETURN_IF_ERROR(format::decode_data_value(detail::view(data_it->value()), &value, &version));
    const std::string_view key = detail::view(data_it->key());
    if (b.count() > 0 && b.size() + snapfmt::data_record_bytes(key, value) > options.max_chunk_bytes) return Status();
    b.add_data(key, version, value);
    ++counts.data;
  }
  return detail::from_rocks(data_it->status(), "read data for snapshot");
}

Status SnapshotSource::Impl::fill_sessions(snapfmt::ChunkBuilder& b) {
  for (; session_it->Valid(); session_it->Next()) {
    GroupId group = 0;
    KV_RETURN_IF_ERROR(format::decode_session_record(detail::view(session_it->key()), detail::view(session_it->value()),
                                                     &group, &session));
    if (b.count() > 0 && b.size() + snapfmt::session_record_bytes(session) > options.max_chunk_bytes) return Status();
    b.add_session(session);
    ++counts.sessions;
  }
  return detail::from_rocks(session_it->status(), "read sessions for snapshot");
}

Status SnapshotSource::Impl::fill_txn_states(snapfmt::ChunkBuilder& b) {
  for (; txn_it->Valid(); txn_it->Next()) {
    GroupId group = 0;
    std::string_view key, value;
    // Verified here so a corrupt record fails the leader's snapshot instead of spreading.
    KV_RETURN_IF_ERROR(
        format::decode_txn_state_record(detail::view(txn_it->key()), detail::view(txn_it->value()), &group, &key, &value));
    KV_ASSERT_MSG(group == info.group, "snapshot txn-state iterator left the group's prefix");
    if (b.count() > 0 && b.size() + snapfmt::txn_state_record_bytes(key, value) > options.max_chunk_bytes) return Status();
    b.add_txn_state(key, value);
    ++counts.txn_states;
  }
  return detail::from_rocks(txn_it->status(), "read txn state for snapshot");
}

SnapshotSource::SnapshotSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SnapshotSource::~SnapshotSource() = default;

GroupId SnapshotSource::group() const { return impl_->info.group; }
const KeyRange& SnapshotSource::range() const { return impl_->info.range; }
const raft::SnapshotMeta& SnapshotSource::meta() const { return impl_->info.meta; }

Result<bool> SnapshotSource::next_chunk(std::string* chunk) {
  using Phase = Impl::Phase;
  using Kind = snapfmt::ChunkKind;
  Impl& s = *impl_;
  snapfmt::ChunkBuilder b(chunk);
  auto seal = [&](bool last) {
    b.finish(last);
    ++s.seq;
    return true;
  };
  for (;;) {
    switch (s.phase) {
      case Phase::kHeader:
        b.start(Kind::kHeader, s.info.group, s.seq);
        b.add_raw(snapfmt::header_payload(s.info));
        s.phase = Phase::kData;
        return seal(false);
      case Phase::kData:
        b.start(Kind::kData, s.info.group, s.seq);
        KV_RETURN_IF_ERROR(s.fill_data(b));
        if (!s.data_it->Valid()) s.phase = Phase::kSessions;
        if (b.count() > 0) return seal(false);
        break;  // an empty range sends no data chunk
      case Phase::kSessions:
        b.start(Kind::kSessions, s.info.group, s.seq);
        KV_RETURN_IF_ERROR(s.fill_sessions(b));
        if (!s.session_it->Valid()) s.phase = Phase::kTxnState;
        if (b.count() > 0) return seal(false);
        break;
      case Phase::kTxnState:
        b.start(Kind::kTxnState, s.info.group, s.seq);
        KV_RETURN_IF_ERROR(s.fill_txn_states(b));
        if (!s.txn_it->Valid()) s.phase = Phase::kEnd;
        if (b.count() > 0) return seal(false);
        break;
      case Phase::kEnd:
        b.start(Kind::kEnd, s.info.group, s.seq);
        b.add_raw(snapfmt::end_payload(s.counts));
        s.phase = Phase::kDone;
        return seal(true);
      case Phase::kDone: return false;
    }
  }
}

namespace detail {

Result<std::unique_ptr<SnapshotSource>> open_snapshot_source(const Db& db, GroupId group, const KeyRange& range,
                                                             const SnapshotSourceOptions& options) {
  KV_ASSERT_MSG(options.max_chunk_bytes >= 4096, "SnapshotSourceOptions.max_chunk_bytes below 4 KiB");
  auto impl = std::make_unique<SnapshotSource::Impl>();
  impl->db = &db;
  impl->options = options;
  impl->info.group = group;
  impl->info.range = range;
  impl->pinned = pin(db);
  const rocksdb::Snapshot* snap = impl->pinned->snapshot;
  KV_RETURN_IF_ERROR(read_image_meta(db, group, snap, &impl->info.meta).with_context("snapshot of group " + std::to_string(group)));

  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  ro.fill_cache = false;  // a bulk read must not evict the working set
  ro.readahead_size = 2u << 20;
  impl->data_upper = range.end;
  impl->data_upper_slice = slice(impl->data_upper);
  if (!range.end.empty()) ro.iterate_upper_bound = &impl->data_upper_slice;
  impl->data_it.reset(db.db->NewIterator(ro, db.data));
  impl->data_it->Seek(slice(range.start));

  impl->session_upper = format::session_prefix_end(group);
  impl->session_upper_slice = slice(impl->session_upper);
  ro.iterate_upper_bound = &impl->session_upper_slice;
  impl->session_it.reset(db.db->NewIterator(ro, db.meta));
  impl->session_it->Seek(format::session_key(group, 0));

  impl->txn_upper = format::txn_state_prefix_end(group);
  impl->txn_upper_slice = slice(impl->txn_upper);
  ro.iterate_upper_bound = &impl->txn_upper_slice;
  impl->txn_it.reset(db.db->NewIterator(ro, db.locks));
  impl->txn_it->Seek(format::txn_state_prefix(group));
  return std::unique_ptr<SnapshotSource>(new SnapshotSource(std::move(impl)));
}

}  // namespace detail
}  // namespace kv::storage
