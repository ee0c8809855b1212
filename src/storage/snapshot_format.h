// THE WIRE FORMAT of state-machine snapshot chunks (version 2) and of a staged image's
// manifest. Internal to src/storage; the server moves chunks as opaque bytes.
//
// chunk = crc u32 | version u8 | kind u8 | last u8 | reserved u8 | group u64 | seq u32 |
//         count u32 | payload                                   (24-byte header, little-endian)
//   crc  = CRC32C of every byte after the crc field.
//   seq  = 0, 1, 2, ... within one image; kind never goes back:
//          header, data*, sessions*, txn_state*, end.
//   version: the same in every chunk of an image.
//   kind 1 header:    payload = index u64 | term u64 | conf | start (len u32 | bytes) |
//                     end (len u32 | bytes); count = 0
//   kind 2 data:      count × (key (len u32 | bytes) | version u64 | value (len u32 | bytes)),
//                     keys strictly ascending across the whole image and inside [start, end)
//   kind 3 sessions:  count × (client u64 | last_seq u64 | last_active_index u64 |
//                     response (len u32 | bytes)), client ids strictly ascending
//   kind 5 txn_state: count × (key (len u32 | bytes) | value (len u32 | bytes)): the group's
//                     txn-state records (format.h 'X', without the 'X' | group prefix), keys
//                     strictly ascending across the whole image
//   kind 4 end:       payload = data records u64 | session records u64 | txn-state records u64;
//                     last = 1
//   (conf is encoded as in format.h; kind 5 is numbered after end because it came later)
//
// Version history:
//   1: kinds 1-4; the end payload has no txn-state count. Still accepted from senders built
//      before version 2 (an image without txn state is what such a sender's group has).
//   2: kind 5 and the txn-state count. A receiver built for version 1 refuses the whole image
//      ("unknown version") rather than silently dropping the group's txn state.
//
// manifest (file <staging dir>/manifest, a format.h sealed record under the key "manifest"):
//   group u64 | index u64 | term u64 | conf | start | end | has_sst u8 | data records u64 |
//   session records u64 | the session records as in kind 3 |
//   txn-state records u64 | the txn-state records as in kind 5
//   The last two fields are absent in manifests written by a format-1 node (an install that
//   a crash interrupted before an upgrade): absent means none.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/types.h"
#include "storage/coding.h"
#include "storage/status.h"
#include "storage/types.h"

namespace kv::storage::snapfmt {

inline constexpr std::uint8_t kChunkVersion = 2;        // what this build sends
inline constexpr std::uint8_t kOldestChunkVersion = 1;  // the oldest it accepts
static_assert(kOldestChunkVersion <= kChunkVersion);
inline constexpr std::size_t kChunkHeaderBytes = 24;
inline constexpr std::string_view kManifestKey = "manifest";

enum class ChunkKind : std::uint8_t { kHeader = 1, kData = 2, kSessions = 3, kEnd = 4, kTxnState = 5 };

struct ChunkHeader {
  std::uint8_t version = kChunkVersion;
  ChunkKind kind = ChunkKind::kHeader;
  bool last = false;
  GroupId group = 0;
  std::uint32_t seq = 0;
  std::uint32_t count = 0;
};

// What the header chunk and the manifest carry.
struct ImageInfo {
  GroupId group = 0;
  raft::SnapshotMeta meta;
  KeyRange range;
};

// Builds one chunk in a caller-owned string (reused between chunks).
class ChunkBuilder {
 public:
  explicit ChunkBuilder(std::string* out) : out_(out) {}
  void start(ChunkKind kind, GroupId group, std::uint32_t seq);
  void add_data(std::string_view key, raft::LogIndex version, std::string_view value);
  void add_session(const ClientSession& s);
  void add_txn_state(std::string_view key, std::string_view value);
  void add_raw(std::string_view bytes) { out_->append(bytes); }
  std::size_t size() const { return out_->size(); }
  std::uint32_t count() const { return count_; }
  // Fills in count, last and the crc.
  void finish(bool last);

 private:
  std::string* out_;
  std::uint32_t count_ = 0;
};

std::size_t data_record_bytes(std::string_view key, std::string_view value);
std::size_t session_record_bytes(const ClientSession& s);
std::size_t txn_state_record_bytes(std::string_view key, std::string_view value);

// How many records of each kind an image holds (the end chunk and the manifest carry them).
struct RecordCounts {
  std::uint64_t data = 0;
  std::uint64_t sessions = 0;
  std::uint64_t txn_states = 0;
  bool operator==(const RecordCounts&) const = default;
};

std::string header_payload(const ImageInfo& info);
std::string end_payload(const RecordCounts& counts);

// Verifies the crc and version and splits a chunk. kInvalidArgument when malformed, when
// its version is outside [kOldestChunkVersion, kChunkVersion], or its kind unknown to it.
Status parse_chunk(std::string_view chunk, ChunkHeader* header, std::string_view* payload);
Status parse_header_payload(std::string_view payload, GroupId group, ImageInfo* info);
// `version`: the chunk's; a version 1 end payload has no txn-state count (read as 0).
Status parse_end_payload(std::string_view payload, std::uint8_t version, RecordCounts* counts);
// Record readers over a payload; return false at the end or when malformed (check r.ok()).
bool read_data(coding::Reader& r, std::string_view* key, raft::LogIndex* version, std::string_view* value);
bool read_session(coding::Reader& r, ClientSession* s);
void append_session(std::string& out, const ClientSession& s);
bool read_txn_state(coding::Reader& r, std::string_view* key, std::string_view* value);
void append_txn_state(std::string& out, std::string_view key, std::string_view value);

// One txn-state record of a staged image (the key without format.h's 'X' | group prefix).
struct TxnStateRecord {
  std::string key;
  std::string value;
  bool operator==(const TxnStateRecord&) const = default;
};

struct Manifest {
  ImageInfo info;
  bool has_sst = false;
  RecordCounts counts;
  std::vector<ClientSession> sessions;
  std::vector<TxnStateRecord> txn_states;
};
// `sessions_encoded` and `txn_states_encoded`: the records, already encoded with
// append_session() and append_txn_state() (m.sessions and m.txn_states are not read).
std::string encode_manifest(const Manifest& m, std::string_view sessions_encoded, std::string_view txn_states_encoded);
Status decode_manifest(std::string_view sealed, Manifest* m);

}  // namespace kv::storage::snapfmt
