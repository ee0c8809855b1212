#include "consensus/read_only.h"

#include "common/assert.h"

namespace kv::raft {

bool ReadOnly::add_request(LogIndex index, NodeId from, std::string context) {
  if (pending_.contains(context)) return false;
  queue_.push_back(context);
  Pending pending{ReadIndexRequest{index, from, context}, {}};
  pending_.emplace(std::move(context), std::move(pending));
  return true;
}

const std::set<NodeId>* ReadOnly::record_ack(NodeId id, const std::string& context) {
  auto it = pending_.find(context);
  if (it == pending_.end()) return nullptr;
  it->second.acks.insert(id);
  return &it->second.acks;
}

std::vector<ReadIndexRequest> ReadOnly::release_through(const std::string& context) {
  std::vector<ReadIndexRequest> out;
  if (!pending_.contains(context)) return out;
  while (!queue_.empty()) {
    auto it = pending_.find(queue_.front());
    KV_ASSERT(it != pending_.end());
    const bool last = queue_.front() == context;
    out.push_back(std::move(it->second.request));
    pending_.erase(it);
    queue_.pop_front();
    if (last) break;
  }
  return out;
}

std::string ReadOnly::newest_context() const { return queue_.empty() ? std::string() : queue_.back(); }

void ReadOnly::reset() {
  pending_.clear();
  queue_.clear();
}

}  // namespace kv::raft
