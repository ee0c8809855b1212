// THE ON-DISK FORMAT of a node's store, version 2 (format::kFormatVersion).
//
// Directory <path>/ (StoreOptions::path):
//   db/          the node's one RocksDB instance (column families below)
//   snapshots/   staging area of received state-machine snapshots (snapshot_sink.cc);
//                a staged image is garbage unless a pending-install record names it
// Bootstrap builds db/ under db.bootstrap/ and renames it into place, so db/ either does not
// exist or holds a complete, identified store.
//
// Conventions. Integers inside keys are big-endian, so RocksDB's bytewise order is numeric
// order; integers inside values are little-endian. A "sealed record" is
//
//     crc u32 | version u8 (= kRecordVersion) | body...
//
// where crc = CRC32C(key bytes || version || body). The key is covered so that a record that
// lands under the wrong key (a misdirected write, a bug in key construction) fails its check
// like a flipped bit does. Every read verifies the crc and the version byte.
// conf = voters | voters_outgoing | learners, each as count u32 | count × u64.
//
// Column family "raft_log" — the Raft logs of all groups:
//   group u64be | index u64be  →  crc u32 | version u8 | type u8 | term u64 | data...
//   (a sealed record whose body is type | term | data; 14 bytes of header before data).
//   A group's entries are exactly the indexes (T.index, last], with no gaps.
// Column family "raft_state" — per group, sealed records:
//   group u64be | 'H'  →  term u64 | vote u64 | commit u64           hard state
//   group u64be | 'T'  →  index u64 | term u64                       log truncated after T.index
//                                                                    (first_index = T.index + 1)
//   group u64be | 'S'  →  index u64 | term u64 | conf | len u32 | data    newest snapshot meta
//   group u64be | 'C'  →  conf                                       membership as applied
//   'T' exists for every group the store knows (create_group writes it); the others may not.
// Column family "data" — applied user data of all shards:
//   user key (raw bytes)  →  version u8 | log index u64 | value...
//   Not sealed: RocksDB's block checksums cover it, and this is the hottest read path.
// Column family "locks" — per group, the opaque transaction state of the shard's state machine
// (locks and intents of prepared transactions, transaction records), applied atomically with
// the data and the applied index (ApplyBatch::put_txn_state) and carried by snapshots:
//   'X' | group u64be | key bytes  →  sealed: value bytes
//   Sealed, unlike `data`: these records decide the outcome of transactions spanning shards,
//   so a corrupt one must be refused rather than trusted; and there are few of them (one per
//   in-flight lock or transaction record), so the crc costs little.
//   A group's records are exactly the keys in [txn_state_prefix(g), txn_state_prefix_end(g)),
//   so a snapshot install replaces them with one DeleteRange.
// Column family "meta":
//   "id/cluster"                   →  sealed: cluster id bytes
//   "id/node"                      →  sealed: node id u64
//   "id/format"                    →  sealed: format version u32
//   'A' | group u64be              →  sealed: applied index u64
//   'P' | group u64be              →  sealed: pending snapshot install: index u64 | term u64 |
//                                     staging directory name (len u32 | bytes)
//   'S' | group u64be | client u64be → sealed: last_seq u64 | last_active_index u64 | response
//
// Version history:
//   1: initial format; the locks column family exists but is always empty.
//   2: the locks column family holds 'X' transaction-state records. A version 1 store is a
//      valid version 2 store (an empty locks CF is a valid state), so open() accepts it,
//      checks that its locks CF is indeed empty, and rewrites "id/format" to 2 once
//      everything else has loaded: a build that knows only version 1 would ignore these
//      records (and drop them from snapshots it sends), so it must refuse the store from
//      then on. Also new in version 2: a pending install's staged manifest may carry
//      txn-state records (snapshot_format.h); one written by version 1 carries none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/types.h"
#include "storage/coding.h"
#include "storage/status.h"
#include "storage/types.h"

namespace kv::storage::format {

inline constexpr std::uint32_t kFormatVersion = 2;
// The oldest version open() accepts (and upgrades to kFormatVersion).
inline constexpr std::uint32_t kOldestReadableFormatVersion = 1;
static_assert(kOldestReadableFormatVersion <= kFormatVersion);
inline constexpr std::uint8_t kRecordVersion = 1;

inline constexpr const char* kRaftLogCf = "raft_log";
inline constexpr const char* kRaftStateCf = "raft_state";
inline constexpr const char* kDataCf = "data";
inline constexpr const char* kLocksCf = "locks";
inline constexpr const char* kMetaCf = "meta";

inline constexpr std::string_view kClusterIdKey = "id/cluster";
inline constexpr std::string_view kNodeIdKey = "id/node";
inline constexpr std::string_view kFormatVersionKey = "id/format";

inline constexpr char kHardStateTag = 'H';
inline constexpr char kTruncatedTag = 'T';
inline constexpr char kSnapshotTag = 'S';
inline constexpr char kConfTag = 'C';
inline constexpr char kAppliedPrefix = 'A';
inline constexpr char kPendingInstallPrefix = 'P';
inline constexpr char kSessionPrefix = 'S';
inline constexpr char kTxnStatePrefix = 'X';  // in `locks`
inline constexpr std::size_t kGroupPrefixBytes = 9;  // prefix char + group u64be

inline constexpr std::size_t kLogKeyBytes = 16;
inline constexpr std::size_t kSealBytes = 5;  // crc u32 + version u8
inline constexpr std::size_t kEntryHeaderBytes = kSealBytes + 1 + 8;
static_assert(kEntryHeaderBytes == 14);

// ---- keys ----
void put_log_key(char out[kLogKeyBytes], GroupId group, raft::LogIndex index);
std::string log_key(GroupId group, raft::LogIndex index);
// Returns false unless `key` is a 16-byte log key.
bool parse_log_key(std::string_view key, GroupId* group, raft::LogIndex* index);
std::string state_key(GroupId group, char tag);
// Returns false unless `key` is a 9-byte raft_state key.
bool parse_state_key(std::string_view key, GroupId* group, char* tag);
std::string applied_key(GroupId group);
std::string pending_install_key(GroupId group);
std::string session_key(GroupId group, ClientId client);
// All session keys of `group` lie in [session_key(group, 0), session_prefix_end(group)).
std::string session_prefix_end(GroupId group);
// True and fills `group` when `key` is an 'A', 'P', 'S' or 'X' key with the given prefix.
bool parse_group_key(std::string_view key, char prefix, GroupId* group);
std::string txn_state_key(GroupId group, std::string_view key);
// All txn-state keys of `group` lie in [txn_state_prefix(group), txn_state_prefix_end(group)).
std::string txn_state_prefix(GroupId group);
std::string txn_state_prefix_end(GroupId group);

// ---- sealed records ----
// Returns crc | version | body for `key`.
std::string seal(std::string_view key, std::string_view body);
// Verifies crc and version and returns the body (pointing into `value`).
Status unseal(std::string_view key, std::string_view value, std::string_view* body);

// ---- log entries ----
// Fills the 14-byte header of the record for `entry` under `key` (which must be its log key);
// the record is header || entry.data.
void encode_entry_header(const char key[kLogKeyBytes], const raft::Entry& entry,
                         char header[kEntryHeaderBytes]);
std::string encode_entry(GroupId group, const raft::Entry& entry);  // key implied; for tests
// Verifies and decodes a raft_log record; out->index comes from the key.
Status decode_entry(std::string_view key, std::string_view value, raft::Entry* out);
// Verifies a record without copying its data; returns its term.
Status check_entry(std::string_view key, std::string_view value, raft::Term* term);

// ---- raft_state and meta bodies (unsealed bodies; seal() them under their key) ----
std::string hard_state_body(const raft::HardState& hs);
Status parse_hard_state(std::string_view body, raft::HardState* out);

struct LogPosition {
  raft::LogIndex index = 0;
  raft::Term term = 0;
  bool operator==(const LogPosition&) const = default;
};
std::string position_body(LogPosition pos);
Status parse_position(std::string_view body, LogPosition* out);

void append_conf(std::string& out, const raft::ConfState& conf);
bool read_conf(coding::Reader& r, raft::ConfState* out);
std::string conf_body(const raft::ConfState& conf);
Status parse_conf(std::string_view body, raft::ConfState* out);

std::string snapshot_body(const raft::Snapshot& snap);
Status parse_snapshot(std::string_view body, raft::Snapshot* out);

std::string u64_body(std::uint64_t v);
Status parse_u64(std::string_view body, std::uint64_t* out);

std::string session_body(const ClientSession& s);
// `client` comes from the key.
Status parse_session(std::string_view body, ClientId client, ClientSession* out);
// Verifies and decodes a whole session record: key ('S' | group | client) and sealed value.
Status decode_session_record(std::string_view key, std::string_view value, GroupId* group, ClientSession* out);

// Verifies a whole txn-state record ('X' | group | key and its sealed value); on success
// `group` is set and `key` and `value` point into the arguments (the key without its prefix).
Status decode_txn_state_record(std::string_view stored_key, std::string_view stored_value, GroupId* group,
                               std::string_view* key, std::string_view* value);

struct PendingInstall {
  LogPosition position;
  std::string staging_dir;  // a directory name under <path>/snapshots
};
std::string pending_install_body(const PendingInstall& p);
Status parse_pending_install(std::string_view body, PendingInstall* out);

// ---- data values ----
inline constexpr std::size_t kDataHeaderBytes = 9;
void encode_data_header(raft::LogIndex version, char header[kDataHeaderBytes]);
std::string encode_data_value(std::string_view value, raft::LogIndex version);
Status decode_data_value(std::string_view stored, std::string_view* value, raft::LogIndex* version);

// "group 7 index 42" style context for error messages.
std::string describe_log_key(std::string_view key);

}  // namespace kv::storage::format
