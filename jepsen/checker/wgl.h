// The linearizability search for ONE register (one key): Wing & Gong's algorithm with
// Lowe's memoisation, as Porcupine implements it (Lowe, "Testing for linearizability",
// CCPE 2017, §3-4; porcupine/checker.go).
//
// The history becomes a doubly linked list of call and return entries in time order. The
// search walks it: at a call whose op can step the register model, it linearizes the op
// and "lifts" the op's call and return out of the list, unless the configuration
// (set of linearized ops, register state) is already in the memo table; at a return whose
// op is not yet linearized it backtracks. Success is an empty list, or reaching the return
// of an indeterminate op: those returns sit at +infinity, so every determinate op is
// linearized by then and the indeterminate ones left over "never happened".
//
// Cost: exponential in the number of concurrently pending ops in the worst case (the
// problem is NP-complete). A memo entry stores the window of the linearized-ops bitset
// from the lowest unlinearized op to the highest linearized one, so with ops ordered by
// invocation it costs O(concurrency + unplaced info ops), not O(n). Hence the Budget.
// Pure function; thread-safe (no shared state), so keys can be checked in parallel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "checker/verdict.h"

namespace kv::checker {

enum class RegKind : std::uint8_t { read, write, cas };

// One register op as the search sees it; values are interned to small integers by the
// caller (0 is the register's initial value, i.e. "no value").
struct RegOp {
  RegKind kind = RegKind::read;
  std::int32_t a = 0;  // read: value observed; write: value written; cas: expected value
  std::int32_t b = 0;  // cas: new value; unused otherwise
  std::int64_t invoke_t = 0;
  std::int64_t complete_t = 0;  // kNever for an indeterminate op
  std::size_t source = 0;       // caller's id for reports (History op index)
};

enum class WglStatus { linearizable, not_linearizable, time_exceeded, memory_exceeded };

// Where the search got stuck, for a minimal counterexample. Indices are into the ops
// vector given to check_register().
struct WglFailure {
  std::size_t blocked = 0;                // the op that can be linearized at no point
  std::size_t prefix_ops = 0;             // ops that returned before `blocked` returned: they linearize
  std::vector<std::int32_t> states;       // register values possible just before `blocked` returned
  std::vector<std::size_t> witness_tail;  // the last ops of one linearization of that prefix, in order
  std::vector<std::size_t> pending;       // other unlinearized ops invoked before `blocked` returned
};

struct WglResult {
  WglStatus status = WglStatus::linearizable;
  WglFailure failure;       // meaningful when status == not_linearizable
  std::uint64_t steps = 0;  // model steps tried
  std::size_t memo_entries = 0;
  std::size_t memo_bytes = 0;
};

inline constexpr std::size_t kWitnessTailMax = 12;
inline constexpr std::size_t kPendingShownMax = 12;
inline constexpr std::size_t kStatesShownMax = 16;

// Decides whether `ops` (one register, initial value 0) are linearizable.
// REQUIRES: every op has invoke_t <= complete_t; ops.size() < 2^30. Any order is correct;
// ordered by invoke_t (as History gives them) keeps memo entries small.
// Gives up with time_exceeded / memory_exceeded when budget.time or budget.memory_bytes
// (memo table) is exceeded; `budget.threads` is ignored here.
WglResult check_register(const std::vector<RegOp>& ops, const Budget& budget);

}  // namespace kv::checker
