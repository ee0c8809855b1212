#include "server/overlay_reader.h"

namespace kv::server {

std::optional<storage::VersionedValue> OverlayReader::get(const std::string& key) {
  if (auto it = overlay_.find(key); it != overlay_.end()) return it->second;
  return base_.get(key);
}

storage::ScanResult OverlayReader::scan(const std::string& start, const std::string& end, std::size_t limit) {
  auto first = overlay_.lower_bound(start);
  auto last = end.empty() ? overlay_.end() : overlay_.lower_bound(end);
  const auto shadowed = static_cast<std::size_t>(std::distance(first, last));
  storage::ScanResult base = base_.scan(start, end, limit + shadowed);
  std::map<std::string, storage::VersionedValue> merged;
  for (storage::KeyValue& kv : base.items) merged[kv.key] = {std::move(kv.value), kv.version};
  const std::string base_last = base.items.empty() ? std::string() : base.items.back().key;
  for (auto it = first; it != last; ++it) {
    // Past the base page's end, the base may hold keys we did not see: stop there.
    if (base.more && it->first > base_last) break;
    if (it->second) merged[it->first] = *it->second;
    else merged.erase(it->first);
  }
  storage::ScanResult out;
  out.more = base.more;
  for (auto& [key, value] : merged) {
    if (out.items.size() == limit) {
      out.more = true;
      break;
    }
    out.items.push_back(storage::KeyValue{key, std::move(value.value), value.version});
  }
  return out;
}

}  // namespace kv::server
