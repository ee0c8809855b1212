// Set: no acknowledged add is lost.
//
// The final read is the ok read that completed last. Every ok add that completed before
// the final read was invoked must be in it ("lost-add"); adds that were indeterminate, or
// concurrent with the final read, may be present or absent; an element that was never
// added, or whose add failed, must be absent ("unexpected-element"); an element read twice
// is a "duplicate-element". Op encoding (README "set"): add: value = element;
// read: result = [elements].
#pragma once

#include <optional>
#include <string>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kv::checker {

// Returns nullopt with `error` set when an op is not an add or read, or a read result is
// not an array. Unknown when the set was never read successfully.
[[nodiscard]] std::optional<CheckResult> check_set(const History& h, const Budget& budget, std::string* error);

}  // namespace kv::checker
