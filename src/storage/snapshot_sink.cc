// Receiving a state-machine snapshot into the staging area (snapshot.h, snapshot_format.h).
// Data records go straight into an SST file (they arrive in key order), sessions and
// txn-state records into the manifest (both are few: one per client, one per in-flight
// transaction lock or record, so memory holds them); nothing is visible to readers until
// NodeStore::persist() installs the image.
#include <rocksdb/sst_file_writer.h>

#include <atomic>

#include "common/assert.h"
#include "storage/detail/internal.h"
#include "storage/file_util.h"
#include "storage/snapshot_format.h"

namespace kv::storage {

struct SnapshotSink::Impl {
  enum class Stage { kHeader, kData, kSessions, kTxnState, kComplete, kDead };

  const detail::Db* db = nullptr;
  GroupId group = 0;
  std::string dir_name;
  std::string dir_path;
  Stage stage = Stage::kHeader;
  std::uint8_t chunk_version = 0;  // of the header chunk; every chunk of the image must match
  std::uint32_t next_seq = 0;
  snapfmt::ImageInfo info;
  std::unique_ptr<rocksdb::SstFileWriter> sst;
  std::string last_key;
  ClientId last_client = 0;
  std::string last_txn_key;
  snapfmt::RecordCounts counts;
  std::string sessions_encoded;
  std::string txn_states_encoded;
  std::string value_buf;
  bool finished = false;

  Status accept(const snapfmt::ChunkHeader& h, std::string_view payload);
  Status accept_data(std::uint32_t count, std::string_view payload);
  Status accept_sessions(std::uint32_t count, std::string_view payload);
  Status accept_txn_states(std::uint32_t count, std::string_view payload);
  Status accept_end(std::string_view payload);
};

namespace {

Status bad(const std::string& what) { return Status::invalid_argument(what); }

}  // namespace

Status SnapshotSink::Impl::accept(const snapfmt::ChunkHeader& h, std::string_view payload) {
  using Kind = snapfmt::ChunkKind;
  if (h.group != group) return bad("chunk of group " + std::to_string(h.group));
  if (h.seq != next_seq) return bad("chunk out of sequence: expected " + std::to_string(next_seq));
  if (h.last != (h.kind == Kind::kEnd)) return bad("only the end chunk may be, and must be, the last");
  if (stage != Stage::kHeader && h.version != chunk_version) return bad("chunk versions differ within one image");
  const bool past_header = stage == Stage::kData || stage == Stage::kSessions || stage == Stage::kTxnState;
  switch (h.kind) {
    case Kind::kHeader:
      if (stage != Stage::kHeader) return bad("a second header chunk");
      KV_RETURN_IF_ERROR(snapfmt::parse_header_payload(payload, group, &info));
      chunk_version = h.version;
      stage = Stage::kData;
      return Status();
    case Kind::kData:
      if (stage != Stage::kData) return bad("a data chunk out of place");
      return accept_data(h.count, payload);
    case Kind::kSessions:
      if (stage != Stage::kData && stage != Stage::kSessions) return bad("a session chunk out of place");
      stage = Stage::kSessions;
      return accept_sessions(h.count, payload);
    case Kind::kTxnState:
      if (!past_header) return bad("a txn-state chunk out of place");
      stage = Stage::kTxnState;
      return accept_txn_states(h.count, payload);
    case Kind::kEnd:
      if (!past_header) return bad("an end chunk out of place");
      return accept_end(payload);
  }
  return bad("unknown chunk kind");
}

Status SnapshotSink::Impl::accept_data(std::uint32_t count, std::string_view payload) {
  coding::Reader r(payload);
  std::string_view key, value;
  raft::LogIndex version = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!snapfmt::read_data(r, &key, &version, &value)) return bad("truncated data record");
    if (!info.range.contains(key)) return bad("a key outside the snapshot's range");
    if (counts.data > 0 && key <= last_key) return bad("keys not in ascending order");
    if (sst == nullptr) {
      sst = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), db->data_options);
      KV_RETURN_IF_ERROR(detail::from_rocks(sst->Open(dir_path + "/data.sst"), "create staged SST file"));
    }
    value_buf.resize(format::kDataHeaderBytes);
    format::encode_data_header(version, value_buf.data());
    value_buf.append(value);
    KV_RETURN_IF_ERROR(detail::from_rocks(sst->Put(detail::slice(key), value_buf), "write staged SST file"));
    last_key.assign(key);
    ++counts.data;
  }
  return r.at_end() ? Status() : bad("trailing bytes after the data records");
}

Status SnapshotSink::Impl::accept_sessions(std::uint32_t count, std::string_view payload) {
  coding::Reader r(payload);
  ClientSession s;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!snapfmt::read_session(r, &s)) return bad("truncated session record");
    if (counts.sessions > 0 && s.client_id <= last_client) return bad("client ids not in ascending order");
    snapfmt::append_session(sessions_encoded, s);
    last_client = s.client_id;
    ++counts.sessions;
  }
  return r.at_end() ? Status() : bad("trailing bytes after the session records");
}

Status SnapshotSink::Impl::accept_txn_states(std::uint32_t count, std::string_view payload) {
  coding::Reader r(payload);
  std::string_view key, value;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!snapfmt::read_txn_state(r, &key, &value)) return bad("truncated txn-state record");
    if (counts.txn_states > 0 && key <= last_txn_key) return bad("txn-state keys not in ascending order");
    snapfmt::append_txn_state(txn_states_encoded, key, value);
    last_txn_key.assign(key);
    ++counts.txn_states;
  }
  return r.at_end() ? Status() : bad("trailing bytes after the txn-state records");
}

Status SnapshotSink::Impl::accept_end(std::string_view payload) {
  snapfmt::RecordCounts sent;
  KV_RETURN_IF_ERROR(snapfmt::parse_end_payload(payload, chunk_version, &sent));
  if (sent != counts) {
    return bad("the end chunk counts " + std::to_string(sent.data) + " data, " + std::to_string(sent.sessions) +
               " session and " + std::to_string(sent.txn_states) + " txn-state records; received " +
               std::to_string(counts.data) + ", " + std::to_string(counts.sessions) + " and " +
               std::to_string(counts.txn_states));
  }
  stage = Stage::kComplete;
  return Status();
}

SnapshotSink::SnapshotSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SnapshotSink::~SnapshotSink() {
  if (impl_->finished) return;
  impl_->sst.reset();  // closes the file before it is removed
  files::remove_all(impl_->dir_path).permit_unchecked();  // else the next open() removes it
}

GroupId SnapshotSink::group() const { return impl_->group; }

bool SnapshotSink::complete() const { return impl_->stage == Impl::Stage::kComplete; }

Status SnapshotSink::add_chunk(std::string_view chunk) {
  Impl& s = *impl_;
  const std::string context = "snapshot chunk " + std::to_string(s.next_seq) + " for group " + std::to_string(s.group);
  if (s.stage == Impl::Stage::kDead) return Status::invalid_argument(context + ": the receive already failed");
  if (s.stage == Impl::Stage::kComplete) return Status::invalid_argument(context + ": after the final chunk");
  snapfmt::ChunkHeader header;
  std::string_view payload;
  Status st = snapfmt::parse_chunk(chunk, &header, &payload);
  if (st.ok()) st = s.accept(header, payload);
  if (!st.ok()) {
    s.stage = Impl::Stage::kDead;
    return st.with_context(context);
  }
  ++s.next_seq;
  return Status();
}

Result<StagedSnapshot> SnapshotSink::finish() {
  Impl& s = *impl_;
  KV_ASSERT_MSG(s.stage == Impl::Stage::kComplete, "SnapshotSink::finish() before the final chunk");
  KV_ASSERT(!s.finished);
  snapfmt::Manifest m;
  m.info = s.info;
  m.has_sst = s.sst != nullptr;
  m.counts = s.counts;
  if (s.sst != nullptr) {  // Finish() syncs the file
    KV_RETURN_IF_ERROR(detail::from_rocks(s.sst->Finish(), "finish staged SST file"));
    s.sst.reset();
  }
  KV_RETURN_IF_ERROR(files::write_synced(s.dir_path + "/manifest",
                                         snapfmt::encode_manifest(m, s.sessions_encoded, s.txn_states_encoded)));
  KV_RETURN_IF_ERROR(files::sync_dir(s.dir_path));
  KV_RETURN_IF_ERROR(files::sync_dir(s.db->staging_path));
  s.finished = true;
  return detail::SnapshotAccess::make_staged(s.group, s.info.range, s.info.meta, s.counts.data, s.counts.sessions,
                                             s.counts.txn_states, s.db->staging_path, s.dir_name);
}

// ---- StagedSnapshot ----

StagedSnapshot::StagedSnapshot(StagedSnapshot&& other) noexcept { *this = std::move(other); }

StagedSnapshot& StagedSnapshot::operator=(StagedSnapshot&& other) noexcept {
  if (this == &other) return *this;
  if (!dir_name_.empty()) files::remove_all(staging_root_ + "/" + dir_name_).permit_unchecked();
  group_ = other.group_;
  range_ = std::move(other.range_);
  meta_ = std::move(other.meta_);
  data_records_ = other.data_records_;
  session_records_ = other.session_records_;
  txn_state_records_ = other.txn_state_records_;
  staging_root_ = std::move(other.staging_root_);
  dir_name_ = std::move(other.dir_name_);
  other.dir_name_.clear();
  return *this;
}

StagedSnapshot::~StagedSnapshot() {
  if (!dir_name_.empty()) files::remove_all(staging_root_ + "/" + dir_name_).permit_unchecked();
}

void StagedSnapshot::release() { dir_name_.clear(); }

namespace detail {

StagedSnapshot SnapshotAccess::make_staged(GroupId group, KeyRange range, raft::SnapshotMeta meta,
                                           std::uint64_t data_records, std::uint64_t session_records,
                                           std::uint64_t txn_state_records, std::string staging_root,
                                           std::string dir_name) {
  StagedSnapshot s;
  s.group_ = group;
  s.range_ = std::move(range);
  s.meta_ = std::move(meta);
  s.data_records_ = data_records;
  s.session_records_ = session_records;
  s.txn_state_records_ = txn_state_records;
  s.staging_root_ = std::move(staging_root);
  s.dir_name_ = std::move(dir_name);
  return s;
}

Result<std::unique_ptr<SnapshotSink>> begin_snapshot_receive(const Db& db, GroupId group) {
  static std::atomic<std::uint64_t> counter{0};
  auto impl = std::make_unique<SnapshotSink::Impl>();
  impl->db = &db;
  impl->group = group;
  do {
    impl->dir_name = "g" + std::to_string(group) + "-" + std::to_string(counter.fetch_add(1));
    impl->dir_path = db.staging_path + "/" + impl->dir_name;
  } while (files::exists(impl->dir_path));
  KV_RETURN_IF_ERROR(files::make_dirs(impl->dir_path));
  return std::make_unique<SnapshotSink>(std::move(impl));
}

}  // namespace detail
}  // namespace kv::storage
