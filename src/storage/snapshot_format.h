// THE WIRE FORMAT of state-machine snapshot chunks (version 1) and of a staged image's
// manifest. Internal to src/storage; the server moves chunks as opaque bytes.
//
// chunk = crc u32 | version u8 | kind u8 | last u8 | reserved u8 | group u64 | seq u32 |
//         count u32 | payload                                   (24-byte header, little-endian)
//   crc  = CRC32C of every byte after the crc field.
//   seq  = 0, 1, 2, ... within one image; kind never goes back: header, data*, sessions*, end.
//   kind 1 header:   payload = index u64 | term u64 | conf | start (len u32 | bytes) |
//                    end (len u32 | bytes); count = 0
//   kind 2 data:     count × (key (len u32 | bytes) | version u64 | value (len u32 | bytes)),
//                    keys strictly ascending across the whole image and inside [start, end)
//   kind 3 sessions: count × (client u64 | last_seq u64 | last_active_index u64 |
//                    response (len u32 | bytes)), client ids strictly ascending
//   kind 4 end:      payload = data records u64 | session records u64; last = 1
//   (conf is encoded as in format.h)
//
// manifest (file <staging dir>/manifest, a format.h sealed record under the key "manifest"):
//   group u64 | index u64 | term u64 | conf | start | end | has_sst u8 | data records u64 |
//   session records u64 | the session records as in kind 3
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

inline constexpr std::uint8_t kChunkVersion = 1;
inline constexpr std::size_t kChunkHeaderBytes = 24;
inline constexpr std::string_view kManifestKey = "manifest";

enum class ChunkKind : std::uint8_t { kHeader = 1, kData = 2, kSessions = 3, kEnd = 4 };

struct ChunkHeader {
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

std::string header_payload(const ImageInfo& info);
std::string end_payload(std::uint64_t data_records, std::uint64_t session_records);

// Verifies the crc and version and splits a chunk. kInvalidArgument when malformed.
Status parse_chunk(std::string_view chunk, ChunkHeader* header, std::string_view* payload);
Status parse_header_payload(std::string_view payload, GroupId group, ImageInfo* info);
Status parse_end_payload(std::string_view payload, std::uint64_t* data_records, std::uint64_t* session_records);
// Record readers over a payload; return false at the end or when malformed (check r.ok()).
bool read_data(coding::Reader& r, std::string_view* key, raft::LogIndex* version, std::string_view* value);
bool read_session(coding::Reader& r, ClientSession* s);
void append_session(std::string& out, const ClientSession& s);

struct Manifest {
  ImageInfo info;
  bool has_sst = false;
  std::uint64_t data_records = 0;
  std::uint64_t session_records = 0;
  std::vector<ClientSession> sessions;
};
// `sessions_encoded`: the session records, already encoded with append_session().
std::string encode_manifest(const Manifest& m, std::string_view sessions_encoded);
Status decode_manifest(std::string_view sealed, Manifest* m);

}  // namespace kv::storage::snapfmt
