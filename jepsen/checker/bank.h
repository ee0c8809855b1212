// Bank: transfers between accounts inside transactions must conserve the total.
//
// Every ok "read" (all accounts, read in one transaction) must contain every account,
// no negative balance, no unknown account, and sum to the constant total. Only the
// invariant is checked: read skew and lost updates show up only when they break it.
// Op encoding (README "bank"): read: result = {"<account>": balance, ...};
// transfer: value = {"from": "<account>", "to": "<account>", "amount": n}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kv::checker {

struct BankOptions {
  // The accounts and the total. Default (unset): taken from the history's meta event
  // {"type":"meta","f":"bank","value":{"accounts":[...],"total":N}}.
  std::optional<std::vector<std::string>> accounts;
  std::optional<std::int64_t> total;
};

// Returns nullopt with `error` set when the accounts or total are unknown, or an op is
// malformed (unknown f, a read result that is not an object of integers or nulls). Each bad
// read is an anomaly ("wrong-total", "negative-balance", "missing-account",
// "unexpected-account"); stats name the first bad read. Unknown when no read succeeded.
[[nodiscard]] std::optional<CheckResult> check_bank(const History& h, const BankOptions& options, const Budget& budget,
                                                    std::string* error);

}  // namespace kv::checker
