// The state machine's view while it applies a batch: the applied state of its shard plus
// the writes of the batch so far (which are not in the store until the batch is written).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "server/kv_reads.h"

namespace kv::server {

using Overlay = std::map<std::string, std::optional<storage::VersionedValue>>;

class OverlayReader final : public KeyReader {
 public:
  OverlayReader(const storage::DataStore& data, const storage::KeyRange& range, const Overlay& overlay)
      : base_(data, range), overlay_(overlay) {}

  std::optional<storage::VersionedValue> get(const std::string& key) override;
  storage::ScanResult scan(const std::string& start, const std::string& end, std::size_t limit) override;

 private:
  StoreReader base_;
  const Overlay& overlay_;
};

}  // namespace kv::server
