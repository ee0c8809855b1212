// The pool of exactly-once write sessions (Raft thesis §6.3). The server keeps, per
// client_id, the last seq and its response, and allows at most ONE outstanding write per
// session. So a write takes a session for itself alone, sends seq = last_seq + 1 (and the
// same pair on every retry), and gives the session back only when its outcome is known.
// A session whose last write has an unknown outcome is discarded, never reused: a later
// write on it could race the lost one.
//
// Pure bookkeeping (no I/O, no waiting); client.cc makes writes wait for a free session.
// Thread-safety: none (the client's io thread only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace kv::client::detail {

struct Session {
  std::uint64_t client_id = 0;  // never 0 (0 means "no session" on the wire)
  std::uint64_t last_seq = 0;   // the seq of the session's latest write (0 before any)

  // Takes the next sequence number for a new write and returns it.
  std::uint64_t next_seq() { return ++last_seq; }
};

class SessionPool {
 public:
  // `new_client_id` makes ids for new sessions (random 64-bit; 0 is retried).
  // REQUIRES: max_sessions > 0.
  SessionPool(std::size_t max_sessions, std::function<std::uint64_t()> new_client_id);

  // A free session (most recently used first), or a new one if fewer than max_sessions
  // are live; nullopt when every session is busy.
  std::optional<Session> try_acquire();
  // The session's write got a definitive answer: it may carry the next write.
  // REQUIRES: acquired from this pool and not yet returned.
  void release(Session session);
  // The session's write has an unknown outcome: forget it. Its slot may hold a new session.
  // REQUIRES: acquired from this pool and not yet returned.
  void discard(Session session);

  std::size_t busy() const { return busy_; }
  std::size_t idle() const { return free_.size(); }
  std::uint64_t created() const { return created_; }
  std::uint64_t discarded() const { return discarded_; }

 private:
  const std::size_t max_sessions_;
  std::function<std::uint64_t()> new_client_id_;
  std::vector<Session> free_;
  std::size_t busy_ = 0;
  std::uint64_t created_ = 0;
  std::uint64_t discarded_ = 0;
};

}  // namespace kv::client::detail
