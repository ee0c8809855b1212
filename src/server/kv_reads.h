// Reads of user data, shared by the read path (latest applied state, on the network thread)
// and by the state machine (the applied state plus the writes of the batch being applied,
// for CAS, prev_kv and transactions). Both go through KeyReader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "net/client_protocol.h"
#include "storage/data_store.h"

namespace kv::server {

// The most a range response carries; beyond, `more` is set. Keeps a response well inside
// the client frame limit (4 MiB).
inline constexpr std::size_t kMaxRangeItems = 10000;
inline constexpr std::size_t kMaxRangeBytes = 3u << 20;

class KeyReader {
 public:
  virtual ~KeyReader() = default;
  // Crash on a storage read error: the state machine cannot go on without its data.
  virtual std::optional<storage::VersionedValue> get(const std::string& key) = 0;
  // Keys in [start, end) ("" end: no bound), ascending, at most `limit`.
  virtual storage::ScanResult scan(const std::string& start, const std::string& end, std::size_t limit) = 0;
};

// Reads the latest applied state of one shard in a DataStore. The node's shards share one
// data column family, so scans are clipped to the shard's range: a follower's copy of a
// neighbouring shard is not this shard's to serve, nor to delete.
class StoreReader final : public KeyReader {
 public:
  StoreReader(const storage::DataStore& data, const storage::KeyRange& range) : data_(data), range_(range) {}
  std::optional<storage::VersionedValue> get(const std::string& key) override;
  storage::ScanResult scan(const std::string& start, const std::string& end, std::size_t limit) override;

 private:
  const storage::DataStore& data_;
  const storage::KeyRange& range_;
};

// The protocol's key/range_end pair: range_end "" names `key` alone, "\0" means no upper
// bound. Returns the storage range end ("" = no bound), or nullopt for a single key.
std::optional<std::string> storage_range_end(const std::string& range_end);

net::GetResponse execute_get(const net::GetRequest& request, KeyReader& reader);
net::RangeResponse execute_range(const net::RangeRequest& request, KeyReader& reader);

// Whether `current` (nullopt: absent) satisfies `op target`.
bool compare_matches(const std::optional<storage::VersionedValue>& current, net::CompareOp op,
                     const net::CompareTarget& target);

}  // namespace kv::server
