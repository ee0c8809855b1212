// Linearizability of registers (read / write / cas), one independent register per key.
//
// Linearizability is local (Herlihy & Wing 1990, Theorem 1: P-compositionality), so each
// key is checked alone, keys in parallel on Budget::threads workers, each under its own time
// and memory budget (wgl.h). Per key: `fail` ops never happened and are dropped; `info`
// reads are dropped (their result is unknown and a read changes nothing); `info` writes and
// CASes may take effect at any time after their invocation, or never, and those whose
// written value nothing observes are pruned before the search (sound; see linear.cc).
// Every register starts empty (JSON null).
//
// Op encoding (README "register"): read: result = value read (null: empty); write: value =
// value written; cas: value = [expected, new], ok = swapped, fail = not swapped.
#pragma once

#include <optional>
#include <string>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kv::checker {

// Checks every key of `h`. Returns nullopt with `error` set when an op is not a register
// op (unknown f, a cas value that is not a 2-element array). The verdict is invalid when
// some key is not linearizable (one "nonlinearizable" anomaly per such key, with a minimal
// counterexample), else unknown when some key ran out of budget, else valid.
[[nodiscard]] std::optional<CheckResult> check_linear(const History& h, const Budget& budget, std::string* error);

}  // namespace kv::checker
