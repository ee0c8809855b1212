// Helpers for the transport tests: bounded event-loop runs and sample data.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "consensus/types.h"

namespace kv::net::test {

// Runs `io` until `done()` holds or `limit` passes; returns done(). Every wait in the
// transport tests goes through here, so no test can hang.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  // An io_context whose work ran out (e.g. when a previous guard was released) is stopped
  // and would return at once from every run call: restart it.
  if (io.stopped()) io.restart();
  auto guard = asio::make_work_guard(io);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Runs `io` for `duration` regardless (to let things settle / to show something does NOT happen).
inline void run_for(asio::io_context& io, std::chrono::milliseconds duration) {
  run_until(io, [] { return false; }, duration);
}

// A string with every byte value, including NUL: keys and values are binary.
inline std::string binary(std::size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) & 0xFF);
  return s;
}

inline raft::Message heartbeat(raft::NodeId from, raft::NodeId to, raft::Term term) {
  raft::Message m;
  m.type = raft::MessageType::kHeartbeat;
  m.from = from;
  m.to = to;
  m.term = term;
  m.commit = term * 10;
  return m;
}

}  // namespace kv::net::test
