#include "storage/options.h"

namespace kv::storage {

std::string StoreOptions::validate() const {
  if (path.empty()) return "StoreOptions.path is empty";
  if (cluster_id.empty()) return "StoreOptions.cluster_id is empty";
  if (cluster_id.size() > 255) return "StoreOptions.cluster_id is longer than 255 bytes";
  if (node_id == raft::kNoNode) return "StoreOptions.node_id is 0 (kNoNode)";
  if (write_buffer_bytes < (1u << 20)) return "StoreOptions.write_buffer_bytes is below 1 MiB";
  return {};
}

}  // namespace kv::storage
