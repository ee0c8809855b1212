#include "client/session_pool.h"

#include <utility>

#include "common/assert.h"

namespace kv::client::detail {

SessionPool::SessionPool(std::size_t max_sessions, std::function<std::uint64_t()> new_client_id)
    : max_sessions_(max_sessions), new_client_id_(std::move(new_client_id)) {
  KV_ASSERT(max_sessions > 0);
  KV_ASSERT(new_client_id_ != nullptr);
}

std::optional<Session> SessionPool::try_acquire() {
  if (!free_.empty()) {
    Session s = free_.back();
    free_.pop_back();
    ++busy_;
    return s;
  }
  if (busy_ >= max_sessions_) return std::nullopt;
  std::uint64_t id = new_client_id_();
  for (int tries = 0; id == 0 && tries < 8; ++tries) id = new_client_id_();
  KV_ASSERT_MSG(id != 0, "the client id generator keeps returning 0");
  ++busy_;
  ++created_;
  return Session{id, 0};
}

void SessionPool::release(Session session) {
  KV_ASSERT(busy_ > 0);
  KV_ASSERT(session.client_id != 0);
  --busy_;
  free_.push_back(session);
  KV_ASSERT(free_.size() + busy_ <= max_sessions_);
}

void SessionPool::discard(Session session) {
  KV_ASSERT(busy_ > 0);
  KV_ASSERT(session.client_id != 0);
  --busy_;
  ++discarded_;
}

}  // namespace kv::client::detail
