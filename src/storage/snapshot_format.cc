#include "storage/snapshot_format.h"

#include "common/assert.h"
#include "storage/crc32c.h"
#include "storage/format.h"

namespace kv::storage::snapfmt {
namespace {

Status malformed(const std::string& what) { return Status::invalid_argument("malformed snapshot chunk: " + what); }

bool read_range_and_meta(coding::Reader& r, ImageInfo* info) {
  std::string_view start, end;
  raft::SnapshotMeta& m = info->meta;
  if (!r.le64(&m.index) || !r.le64(&m.term) || !format::read_conf(r, &m.conf)) return false;
  if (!r.bytes(&start) || !r.bytes(&end)) return false;
  info->range.start.assign(start);
  info->range.end.assign(end);
  return true;
}

void append_range_and_meta(std::string& out, const ImageInfo& info) {
  coding::append_le64(out, info.meta.index);
  coding::append_le64(out, info.meta.term);
  format::append_conf(out, info.meta.conf);
  coding::append_bytes(out, info.range.start);
  coding::append_bytes(out, info.range.end);
}

}  // namespace

void ChunkBuilder::start(ChunkKind kind, GroupId group, std::uint32_t seq) {
  out_->assign(kChunkHeaderBytes, '\0');
  (*out_)[4] = static_cast<char>(kChunkVersion);
  (*out_)[5] = static_cast<char>(kind);
  coding::put_le64(out_->data() + 8, group);
  coding::put_le32(out_->data() + 16, seq);
  count_ = 0;
}

void ChunkBuilder::add_data(std::string_view key, raft::LogIndex version, std::string_view value) {
  coding::append_bytes(*out_, key);
  coding::append_le64(*out_, version);
  coding::append_bytes(*out_, value);
  ++count_;
}

void ChunkBuilder::add_session(const ClientSession& s) {
  append_session(*out_, s);
  ++count_;
}

void ChunkBuilder::add_txn_state(std::string_view key, std::string_view value) {
  append_txn_state(*out_, key, value);
  ++count_;
}

void ChunkBuilder::finish(bool last) {
  KV_ASSERT(out_->size() >= kChunkHeaderBytes);
  (*out_)[6] = static_cast<char>(last ? 1 : 0);
  coding::put_le32(out_->data() + 20, count_);
  coding::put_le32(out_->data(), crc32c::value(out_->data() + 4, out_->size() - 4));
}

std::size_t data_record_bytes(std::string_view key, std::string_view value) { return 16 + key.size() + value.size(); }
std::size_t session_record_bytes(const ClientSession& s) { return 28 + s.response.size(); }
std::size_t txn_state_record_bytes(std::string_view key, std::string_view value) { return 8 + key.size() + value.size(); }

void append_session(std::string& out, const ClientSession& s) {
  coding::append_le64(out, s.client_id);
  coding::append_le64(out, s.last_seq);
  coding::append_le64(out, s.last_active_index);
  coding::append_bytes(out, s.response);
}

void append_txn_state(std::string& out, std::string_view key, std::string_view value) {
  coding::append_bytes(out, key);
  coding::append_bytes(out, value);
}

std::string header_payload(const ImageInfo& info) {
  std::string out;
  append_range_and_meta(out, info);
  return out;
}

std::string end_payload(const RecordCounts& counts) {
  std::string out;
  coding::append_le64(out, counts.data);
  coding::append_le64(out, counts.sessions);
  coding::append_le64(out, counts.txn_states);
  return out;
}

Status parse_chunk(std::string_view chunk, ChunkHeader* header, std::string_view* payload) {
  if (chunk.size() < kChunkHeaderBytes) return malformed("shorter than its header");
  const std::uint32_t crc = coding::get_le32(chunk.data());
  if (crc != crc32c::value(chunk.data() + 4, chunk.size() - 4)) return malformed("checksum mismatch");
  const auto version = static_cast<std::uint8_t>(chunk[4]);
  if (version < kOldestChunkVersion || version > kChunkVersion) {
    return malformed("unknown version " + std::to_string(version));
  }
  const auto kind = static_cast<std::uint8_t>(chunk[5]);
  const std::uint8_t max_kind = version == 1 ? 4 : 5;
  if (kind < 1 || kind > max_kind) {
    return malformed("unknown kind " + std::to_string(kind) + " in a version " + std::to_string(version) + " chunk");
  }
  header->version = version;
  header->kind = static_cast<ChunkKind>(kind);
  header->last = chunk[6] != 0;
  header->group = coding::get_le64(chunk.data() + 8);
  header->seq = coding::get_le32(chunk.data() + 16);
  header->count = coding::get_le32(chunk.data() + 20);
  *payload = chunk.substr(kChunkHeaderBytes);
  return Status();
}

Status parse_header_payload(std::string_view payload, GroupId group, ImageInfo* info) {
  coding::Reader r(payload);
  info->group = group;
  if (!read_range_and_meta(r, info) || !r.at_end()) return malformed("bad header payload");
  return Status();
}

Status parse_end_payload(std::string_view payload, std::uint8_t version, RecordCounts* counts) {
  KV_ASSERT(version >= kOldestChunkVersion);
  KV_ASSERT(version <= kChunkVersion);
  coding::Reader r(payload);
  counts->txn_states = 0;
  bool ok = r.le64(&counts->data) && r.le64(&counts->sessions);
  if (ok && version >= 2) ok = r.le64(&counts->txn_states);
  if (!ok || !r.at_end()) return malformed("bad end payload");
  return Status();
}

bool read_data(coding::Reader& r, std::string_view* key, raft::LogIndex* version, std::string_view* value) {
  return r.bytes(key) && r.le64(version) && r.bytes(value);
}

bool read_session(coding::Reader& r, ClientSession* s) {
  std::string_view response;
  if (!r.le64(&s->client_id) || !r.le64(&s->last_seq) || !r.le64(&s->last_active_index) || !r.bytes(&response)) {
    return false;
  }
  s->response.assign(response);
  return true;
}

bool read_txn_state(coding::Reader& r, std::string_view* key, std::string_view* value) {
  return r.bytes(key) && r.bytes(value);
}

std::string encode_manifest(const Manifest& m, std::string_view sessions_encoded, std::string_view txn_states_encoded) {
  std::string body;
  coding::append_le64(body, m.info.group);
  append_range_and_meta(body, m.info);
  coding::append_u8(body, m.has_sst ? 1 : 0);
  coding::append_le64(body, m.counts.data);
  coding::append_le64(body, m.counts.sessions);
  body.append(sessions_encoded);
  coding::append_le64(body, m.counts.txn_states);
  body.append(txn_states_encoded);
  return format::seal(kManifestKey, body);
}

Status decode_manifest(std::string_view sealed, Manifest* m) {
  std::string_view body;
  KV_RETURN_IF_ERROR(format::unseal(kManifestKey, sealed, &body).with_context("snapshot manifest"));
  coding::Reader r(body);
  std::uint8_t has_sst = 0;
  const bool ok = r.le64(&m->info.group) && read_range_and_meta(r, &m->info) && r.u8(&has_sst) &&
                  r.le64(&m->counts.data) && r.le64(&m->counts.sessions);
  if (!ok) return Status::corruption("snapshot manifest: truncated");
  m->has_sst = has_sst != 0;
  m->sessions.clear();
  for (std::uint64_t i = 0; i < m->counts.sessions; ++i) {
    if (!read_session(r, &m->sessions.emplace_back())) return Status::corruption("snapshot manifest: truncated sessions");
  }
  m->counts.txn_states = 0;
  m->txn_states.clear();
  if (r.at_end()) return Status();  // written by a format-1 node: no txn state
  if (!r.le64(&m->counts.txn_states)) return Status::corruption("snapshot manifest: truncated txn-state count");
  std::string_view key, value;
  for (std::uint64_t i = 0; i < m->counts.txn_states; ++i) {
    if (!read_txn_state(r, &key, &value)) return Status::corruption("snapshot manifest: truncated txn-state records");
    m->txn_states.push_back(TxnStateRecord{std::string(key), std::string(value)});
  }
  if (!r.at_end()) return Status::corruption("snapshot manifest: trailing bytes");
  return Status();
}

}  // namespace kv::storage::snapfmt
