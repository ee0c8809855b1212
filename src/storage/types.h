// Plain value types of the storage layer's public API. No RocksDB here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/types.h"

namespace kv::storage {

// One Raft group (a shard). Group ids are chosen by the server; any u64 is valid.
using GroupId = std::uint64_t;
using ClientId = std::uint64_t;

// A user value with the Raft log index of the entry that last wrote it.
struct VersionedValue {
  std::string value;
  raft::LogIndex version = 0;

  bool operator==(const VersionedValue&) const = default;
};

struct KeyValue {
  std::string key;
  std::string value;
  raft::LogIndex version = 0;

  bool operator==(const KeyValue&) const = default;
};

// The exactly-once record of one client within one group. `response` is opaque to storage
// (the server keeps there whatever it needs to answer a retry). `last_active_index` is the
// log index of the client's last request; expiry compares it with a log index, so every
// replica expires the same sessions at the same point of the log.
struct ClientSession {
  ClientId client_id = 0;
  std::uint64_t last_seq = 0;
  raft::LogIndex last_active_index = 0;
  std::string response;

  bool operator==(const ClientSession&) const = default;
};

// The user keys in [start, end). An empty `end` means "no upper bound".
struct KeyRange {
  std::string start;
  std::string end;

  bool contains(std::string_view key) const { return key >= start && (end.empty() || key < end); }
  bool operator==(const KeyRange&) const = default;
};

}  // namespace kv::storage
