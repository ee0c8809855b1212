// The simulator's trace: one line per event, a pure function of the seed.
//
// Formatting costs more than simulating, so callers guard every line with `if (trace.on())`
// and a normal seed sweep formats nothing. A failing seed is re-run with the trace kept in
// a ring buffer (`keep_tail`) to print the events that led to the violation.
#pragma once

#include <cstdint>
#include <deque>
#include <ostream>
#include <string>

#include "consensus/raw_node.h"
#include "consensus/types.h"

namespace kv::sim {

using SimTime = std::uint64_t;  // simulated time units; a node ticks every few of them

class Trace {
 public:
  Trace() = default;
  // Every line goes to `out` as it happens.
  explicit Trace(std::ostream* out) : out_(out) {}

  // Keeps only the last `lines` lines in memory instead (for failure excerpts).
  void keep_tail(std::size_t lines) { tail_capacity_ = lines; }

  bool on() const { return out_ != nullptr || tail_capacity_ > 0; }
  void set_time(SimTime now) { now_ = now; }

  // One event line, prefixed with the simulated time.
  void line(const std::string& text);

  const std::deque<std::string>& tail() const { return tail_; }

 private:
  std::ostream* out_ = nullptr;
  std::size_t tail_capacity_ = 0;
  std::deque<std::string> tail_;
  SimTime now_ = 0;
};

// describe(): short, stable, human-readable renderings used in trace lines.
std::string describe(const raft::Entry& entry);
std::string describe(const std::vector<raft::Entry>& entries);
std::string describe(const raft::HardState& hs);
std::string describe(const raft::Message& m);
std::string describe(const raft::Ready& ready);

}  // namespace kv::sim
