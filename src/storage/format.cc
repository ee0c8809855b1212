#include "storage/format.h"

#include "common/assert.h"
#include "storage/coding.h"
#include "storage/crc32c.h"

namespace kv::storage::format {
namespace {

std::string group_key(char prefix, GroupId group) {
  std::string key(1, prefix);
  coding::append_be64(key, group);
  return key;
}

std::uint32_t record_crc(std::string_view key, std::string_view after_crc) {
  return crc32c::extend(crc32c::value(key), after_crc);
}

Status truncated(const char* what) { return Status::corruption(std::string("truncated ") + what + " record"); }

}  // namespace

// ---- keys ----

void put_log_key(char out[kLogKeyBytes], GroupId group, raft::LogIndex index) {
  coding::put_be64(out, group);
  coding::put_be64(out + 8, index);
}

std::string log_key(GroupId group, raft::LogIndex index) {
  std::string key(kLogKeyBytes, '\0');
  put_log_key(key.data(), group, index);
  return key;
}

bool parse_log_key(std::string_view key, GroupId* group, raft::LogIndex* index) {
  if (key.size() != kLogKeyBytes) return false;
  *group = coding::get_be64(key.data());
  *index = coding::get_be64(key.data() + 8);
  return true;
}

std::string state_key(GroupId group, char tag) {
  std::string key;
  coding::append_be64(key, group);
  key.push_back(tag);
  return key;
}

bool parse_state_key(std::string_view key, GroupId* group, char* tag) {
  if (key.size() != 9) return false;
  *group = coding::get_be64(key.data());
  *tag = key[8];
  return true;
}

std::string applied_key(GroupId group) { return group_key(kAppliedPrefix, group); }
std::string pending_install_key(GroupId group) { return group_key(kPendingInstallPrefix, group); }

std::string session_key(GroupId group, ClientId client) {
  std::string key = group_key(kSessionPrefix, group);
  coding::append_be64(key, client);
  return key;
}

std::string session_prefix_end(GroupId group) {
  // The smallest key above every 'S' | group | client key.
  std::string key = group_key(kSessionPrefix, group);
  key.append(8, '\xFF');
  key.push_back('\0');
  return key;
}

bool parse_group_key(std::string_view key, char prefix, GroupId* group) {
  if (key.size() < kGroupPrefixBytes || key[0] != prefix) return false;
  *group = coding::get_be64(key.data() + 1);
  return true;
}

std::string txn_state_key(GroupId group, std::string_view key) {
  std::string out = group_key(kTxnStatePrefix, group);
  out.append(key);
  return out;
}

std::string txn_state_prefix(GroupId group) { return group_key(kTxnStatePrefix, group); }

std::string txn_state_prefix_end(GroupId group) {
  // Group ids use all 64 bits, so the last group's records end where the next prefix char starts.
  if (group == UINT64_MAX) return std::string(1, static_cast<char>(kTxnStatePrefix + 1));
  return group_key(kTxnStatePrefix, group + 1);
}

// ---- sealed records ----

std::string seal(std::string_view key, std::string_view body) {
  std::string out(kSealBytes, '\0');
  out[4] = static_cast<char>(kRecordVersion);
  out.append(body);
  coding::put_le32(out.data(), record_crc(key, std::string_view(out).substr(4)));
  return out;
}

Status unseal(std::string_view key, std::string_view value, std::string_view* body) {
  if (value.size() < kSealBytes) return truncated("sealed");
  const std::uint32_t stored = coding::get_le32(value.data());
  const std::uint32_t actual = record_crc(key, value.substr(4));
  if (stored != actual) return Status::corruption("checksum mismatch");
  if (static_cast<std::uint8_t>(value[4]) != kRecordVersion) {
    return Status::unsupported_format("record version " + std::to_string(static_cast<unsigned char>(value[4])));
  }
  *body = value.substr(kSealBytes);
  return Status();
}

// ---- log entries ----

void encode_entry_header(const char key[kLogKeyBytes], const raft::Entry& entry, char header[kEntryHeaderBytes]) {
  header[4] = static_cast<char>(kRecordVersion);
  header[5] = static_cast<char>(entry.type);
  coding::put_le64(header + 6, entry.term);
  std::uint32_t crc = crc32c::value(key, kLogKeyBytes);
  crc = crc32c::extend(crc, header + 4, kEntryHeaderBytes - 4);
  crc = crc32c::extend(crc, entry.data);
  coding::put_le32(header, crc);
}

std::string encode_entry(GroupId group, const raft::Entry& entry) {
  char key[kLogKeyBytes] = {};
  put_log_key(key, group, entry.index);
  char header[kEntryHeaderBytes] = {};
  encode_entry_header(key, entry, header);
  std::string out(header, kEntryHeaderBytes);
  out.append(entry.data);
  return out;
}

Status check_entry(std::string_view key, std::string_view value, raft::Term* term) {
  GroupId group = 0;
  raft::LogIndex index = 0;
  if (!parse_log_key(key, &group, &index)) return Status::corruption("malformed raft_log key");
  if (value.size() < kEntryHeaderBytes) return truncated("log entry");
  std::string_view body;
  KV_RETURN_IF_ERROR(unseal(key, value, &body));
  const auto type = static_cast<std::uint8_t>(body[0]);
  if (type > static_cast<std::uint8_t>(raft::EntryType::kConfChange)) {
    return Status::corruption("unknown entry type " + std::to_string(type));
  }
  *term = coding::get_le64(body.data() + 1);
  return Status();
}

Status decode_entry(std::string_view key, std::string_view value, raft::Entry* out) {
  raft::Term term = 0;
  KV_RETURN_IF_ERROR(check_entry(key, value, &term));
  GroupId group = 0;
  const bool parsed = parse_log_key(key, &group, &out->index);
  KV_ASSERT(parsed);
  out->term = term;
  out->type = static_cast<raft::EntryType>(value[kSealBytes]);
  out->data.assign(value.substr(kEntryHeaderBytes));
  return Status();
}

// ---- bodies ----

std::string hard_state_body(const raft::HardState& hs) {
  std::string out;
  coding::append_le64(out, hs.term);
  coding::append_le64(out, hs.vote);
  coding::append_le64(out, hs.commit);
  return out;
}

Status parse_hard_state(std::string_view body, raft::HardState* out) {
  coding::Reader r(body);
  r.le64(&out->term);
  r.le64(&out->vote);
  r.le64(&out->commit);
  return r.at_end() ? Status() : truncated("hard state");
}

std::string position_body(LogPosition pos) {
  std::string out;
  coding::append_le64(out, pos.index);
  coding::append_le64(out, pos.term);
  return out;
}

Status parse_position(std::string_view body, LogPosition* out) {
  coding::Reader r(body);
  r.le64(&out->index);
  r.le64(&out->term);
  return r.at_end() ? Status() : truncated("log position");
}

namespace {
void append_ids(std::string& out, const std::vector<raft::NodeId>& ids) {
  coding::append_le32(out, static_cast<std::uint32_t>(ids.size()));
  for (raft::NodeId id : ids) coding::append_le64(out, id);
}

bool read_ids(coding::Reader& r, std::vector<raft::NodeId>* ids) {
  std::uint32_t n = 0;
  if (!r.le32(&n) || n > r.rest().size() / 8) return false;
  ids->resize(n);
  for (auto& id : *ids) r.le64(&id);
  return r.ok();
}

}  // namespace

bool read_conf(coding::Reader& r, raft::ConfState* out) {
  return read_ids(r, &out->voters) && read_ids(r, &out->voters_outgoing) && read_ids(r, &out->learners);
}

void append_conf(std::string& out, const raft::ConfState& conf) {
  append_ids(out, conf.voters);
  append_ids(out, conf.voters_outgoing);
  append_ids(out, conf.learners);
}

std::string conf_body(const raft::ConfState& conf) {
  std::string out;
  append_conf(out, conf);
  return out;
}

Status parse_conf(std::string_view body, raft::ConfState* out) {
  coding::Reader r(body);
  return read_conf(r, out) && r.at_end() ? Status() : truncated("conf state");
}

std::string snapshot_body(const raft::Snapshot& snap) {
  std::string out;
  coding::append_le64(out, snap.meta.index);
  coding::append_le64(out, snap.meta.term);
  append_conf(out, snap.meta.conf);
  coding::append_bytes(out, snap.data);
  return out;
}

Status parse_snapshot(std::string_view body, raft::Snapshot* out) {
  coding::Reader r(body);
  std::string_view data;
  const bool ok = r.le64(&out->meta.index) && r.le64(&out->meta.term) && read_conf(r, &out->meta.conf) &&
                  r.bytes(&data) && r.at_end();
  if (!ok) return truncated("snapshot meta");
  out->data.assign(data);
  return Status();
}

std::string u64_body(std::uint64_t v) {
  std::string out;
  coding::append_le64(out, v);
  return out;
}

Status parse_u64(std::string_view body, std::uint64_t* out) {
  coding::Reader r(body);
  r.le64(out);
  return r.at_end() ? Status() : truncated("integer");
}

std::string session_body(const ClientSession& s) {
  std::string out;
  out.reserve(16 + s.response.size());
  coding::append_le64(out, s.last_seq);
  coding::append_le64(out, s.last_active_index);
  out.append(s.response);
  return out;
}

Status parse_session(std::string_view body, ClientId client, ClientSession* out) {
  coding::Reader r(body);
  if (!r.le64(&out->last_seq) || !r.le64(&out->last_active_index)) return truncated("session");
  out->client_id = client;
  out->response.assign(r.rest());
  return Status();
}

Status decode_session_record(std::string_view key, std::string_view value, GroupId* group, ClientSession* out) {
  if (key.size() != 17 || !parse_group_key(key, kSessionPrefix, group)) return Status::corruption("malformed session key");
  const ClientId client = coding::get_be64(key.data() + 9);
  std::string_view body;
  Status s = unseal(key, value, &body);
  if (s.ok()) s = parse_session(body, client, out);
  return s.with_context("session of client " + std::to_string(client) + " in group " + std::to_string(*group));
}

Status decode_txn_state_record(std::string_view stored_key, std::string_view stored_value, GroupId* group,
                               std::string_view* key, std::string_view* value) {
  if (!parse_group_key(stored_key, kTxnStatePrefix, group)) return Status::corruption("malformed txn-state key");
  *key = stored_key.substr(kGroupPrefixBytes);
  Status s = unseal(stored_key, stored_value, value);
  if (!s.ok()) {  // keys are opaque bytes: name the record by its size, not its contents
    return s.with_context("txn-state record (" + std::to_string(key->size()) + "-byte key) of group " +
                          std::to_string(*group));
  }
  return s;
}

std::string pending_install_body(const PendingInstall& p) {
  std::string out = position_body(p.position);
  coding::append_bytes(out, p.staging_dir);
  return out;
}

Status parse_pending_install(std::string_view body, PendingInstall* out) {
  coding::Reader r(body);
  std::string_view dir;
  if (!r.le64(&out->position.index) || !r.le64(&out->position.term) || !r.bytes(&dir) || !r.at_end()) {
    return truncated("pending install");
  }
  out->staging_dir.assign(dir);
  return Status();
}

// ---- data values ----

void encode_data_header(raft::LogIndex version, char header[kDataHeaderBytes]) {
  header[0] = static_cast<char>(kRecordVersion);
  coding::put_le64(header + 1, version);
}

std::string encode_data_value(std::string_view value, raft::LogIndex version) {
  std::string out(kDataHeaderBytes, '\0');
  encode_data_header(version, out.data());
  out.append(value);
  return out;
}

Status decode_data_value(std::string_view stored, std::string_view* value, raft::LogIndex* version) {
  if (stored.size() < kDataHeaderBytes) return truncated("data value");
  if (static_cast<std::uint8_t>(stored[0]) != kRecordVersion) {
    return Status::unsupported_format("data value version " + std::to_string(static_cast<unsigned char>(stored[0])));
  }
  *version = coding::get_le64(stored.data() + 1);
  *value = stored.substr(kDataHeaderBytes);
  return Status();
}

std::string describe_log_key(std::string_view key) {
  GroupId group = 0;
  raft::LogIndex index = 0;
  if (!parse_log_key(key, &group, &index)) return "malformed log key";
  return "group " + std::to_string(group) + " index " + std::to_string(index);
}

}  // namespace kv::storage::format
