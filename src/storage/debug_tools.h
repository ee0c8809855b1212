// Raw access to a CLOSED store's column families, below every check: for corruption tests
// and for inspecting a refused directory by hand. Never use it on a store that is open.
// Keys and values are raw bytes in the formats of storage/format.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace kv::storage::debug {

// `node_path` is StoreOptions::path; `cf` a column family name ("raft_log", "meta", ...).
Status raw_get(const std::string& node_path, const std::string& cf, std::string_view key, std::string* value);
Status raw_put(const std::string& node_path, const std::string& cf, std::string_view key, std::string_view value);
Status raw_delete(const std::string& node_path, const std::string& cf, std::string_view key);
// All keys of `cf`, in order.
Status raw_keys(const std::string& node_path, const std::string& cf, std::vector<std::string>* keys);
Status drop_column_family(const std::string& node_path, const std::string& cf);

}  // namespace kv::storage::debug
