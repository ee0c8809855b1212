#include "server/kv_reads.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::server {

std::optional<storage::VersionedValue> StoreReader::get(const std::string& key) {
  auto result = data_.get(key);
  KV_ASSERT_MSG(result.ok(), result.status().to_string().c_str());
  return std::move(*result);
}

storage::ScanResult StoreReader::scan(const std::string& start, const std::string& end, std::size_t limit) {
  const std::string& from = std::max(start, range_.start);
  const std::string* to = &end;
  if (!range_.end.empty() && (end.empty() || range_.end < end)) to = &range_.end;
  if (!to->empty() && *to <= from) return {};
  auto result = data_.scan(from, *to, limit);
  KV_ASSERT_MSG(result.ok(), result.status().to_string().c_str());
  return std::move(*result);
}

std::optional<std::string> storage_range_end(const std::string& range_end) {
  if (range_end.empty()) return std::nullopt;
  if (range_end == std::string(1, '\0')) return std::string();
  return range_end;
}

net::GetResponse execute_get(const net::GetRequest& request, KeyReader& reader) {
  net::GetResponse response;
  if (auto value = reader.get(request.key)) {
    response.found = true;
    response.value = std::move(value->value);
    response.version = value->version;
  }
  return response;
}

namespace {
net::KeyValue to_net(storage::KeyValue kv, bool keys_only) {
  return net::KeyValue{std::move(kv.key), keys_only ? std::string() : std::move(kv.value), kv.version};
}
}  // namespace

net::RangeResponse execute_range(const net::RangeRequest& request, KeyReader& reader) {
  net::RangeResponse response;
  const std::optional<std::string> end = storage_range_end(request.end);
  if (!end) {  // a single key
    if (auto value = reader.get(request.start)) {
      response.count = 1;
      if (!request.count_only) {
        response.kvs.push_back(to_net({request.start, std::move(value->value), value->version}, request.keys_only));
      }
    }
    return response;
  }
  if (request.count_only) {
    // Counting visits every key of the range, a page at a time.
    std::string start = request.start;
    for (;;) {
      storage::ScanResult page = reader.scan(start, *end, kMaxRangeItems);
      response.count += page.items.size();
      if (!page.more || page.items.empty()) return response;
      start = page.items.back().key + std::string(1, '\0');
    }
  }
  const std::size_t limit =
      request.limit == 0 ? kMaxRangeItems : std::min<std::size_t>(request.limit, kMaxRangeItems);
  storage::ScanResult page = reader.scan(request.start, *end, limit);
  response.more = page.more;
  std::size_t bytes = 0;
  for (storage::KeyValue& kv : page.items) {
    bytes += kv.key.size() + (request.keys_only ? 0 : kv.value.size());
    if (bytes > kMaxRangeBytes && !response.kvs.empty()) {
      response.more = true;
      break;
    }
    response.kvs.push_back(to_net(std::move(kv), request.keys_only));
  }
  response.count = response.kvs.size();
  return response;
}

bool compare_matches(const std::optional<storage::VersionedValue>& current, net::CompareOp op,
                     const net::CompareTarget& target) {
  std::optional<net::ComparedKey> key;
  if (current) key = net::ComparedKey{current->value, current->version};
  return net::compare_holds(key, op, target);
}

}  // namespace kv::server
