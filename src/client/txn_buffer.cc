#include "client/txn_buffer.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::client::detail {

bool in_range(const std::string& key, const std::string& start, const std::string& end) {
  if (key < start) return false;
  return end == std::string(1, '\0') || key < end;
}

std::optional<net::GetResponse> TxnBuffer::local_get(const std::string& key) const {
  if (auto w = writes_.find(key); w != writes_.end()) {
    if (!w->second) return net::GetResponse{};
    return net::GetResponse{true, *w->second, 0};
  }
  if (auto r = reads_.find(key); r != reads_.end()) return r->second;
  return std::nullopt;
}

void TxnBuffer::record_get(const std::string& key, const net::GetResponse& answer) {
  KV_ASSERT(!answer.found || answer.version > 0);
  KV_ASSERT(!key.empty());
  // Only the first read counts: local_get answers the later ones.
  reads_.emplace(key, answer.found ? answer : net::GetResponse{});
}

void TxnBuffer::record_range(const std::string& start, const std::string& end, const std::vector<net::KeyValue>& kvs) {
  net::TxnRangeRead range{start, end, {}};
  range.keys.reserve(kvs.size());
  for (const net::KeyValue& kv : kvs) {
    KV_ASSERT_MSG(in_range(kv.key, start, end), "a range answer holds a key outside the range");
    KV_ASSERT(range.keys.empty() || range.keys.back().key < kv.key);
    range.keys.push_back(net::TxnRead{kv.key, kv.version});
  }
  ranges_.push_back(std::move(range));
}

std::vector<net::KeyValue> TxnBuffer::overlay(const std::string& start, const std::string& end,
                                              std::vector<net::KeyValue> server, bool keys_only) const {
  std::vector<net::KeyValue> out;
  out.reserve(server.size());
  auto w = writes_.lower_bound(start);
  auto take_writes_before = [&](const std::string* key) {
    // Buffered puts that sort before `key` (all the rest when null) are new keys in the view.
    for (; w != writes_.end() && in_range(w->first, start, end) && (key == nullptr || w->first < *key); ++w) {
      if (w->second) out.push_back(net::KeyValue{w->first, keys_only ? std::string() : *w->second, 0});
    }
  };
  for (net::KeyValue& kv : server) {
    take_writes_before(&kv.key);
    if (w != writes_.end() && w->first == kv.key) {
      if (w->second) out.push_back(net::KeyValue{kv.key, keys_only ? std::string() : *w->second, 0});
      ++w;
      continue;  // overwritten or deleted by this transaction
    }
    out.push_back(std::move(kv));
  }
  take_writes_before(nullptr);
  KV_ASSERT(std::is_sorted(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; }));
  return out;
}

void TxnBuffer::put(std::string key, std::string value) { writes_[std::move(key)] = std::move(value); }

void TxnBuffer::del(std::string key) { writes_[std::move(key)] = std::nullopt; }

std::optional<std::optional<std::string>> TxnBuffer::written(const std::string& key) const {
  auto it = writes_.find(key);
  if (it == writes_.end()) return std::nullopt;
  return it->second;
}

net::TxnFootprint TxnBuffer::footprint() const {
  net::TxnFootprint out;
  out.reads.reserve(reads_.size());
  for (const auto& [key, answer] : reads_) out.reads.push_back(net::TxnRead{key, answer.found ? answer.version : 0});
  out.ranges = ranges_;
  out.writes.reserve(writes_.size());
  for (const auto& [key, value] : writes_) out.writes.push_back(net::TxnWrite{key, value});
  KV_ASSERT(out.reads.size() == reads_.size());
  KV_ASSERT(out.writes.size() == writes_.size());
  return out;
}

std::string TxnBuffer::route_key() const {
  if (!writes_.empty()) return writes_.begin()->first;
  if (!reads_.empty()) return reads_.begin()->first;
  if (!ranges_.empty()) return ranges_.front().start;
  return "";
}

}  // namespace kv::client::detail
