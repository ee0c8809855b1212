// Elle-style list-append checker for strict serializability (Kingsbury & Alvaro, "Elle:
// Inferring Isolation Anomalies from Experimental Observations", VLDB 2020, §4-5).
//
// Transactions (f "txn") are lists of micro-ops ["append", k, v] and ["r", k, list|null]
// with values unique per key (README "append"). Because every read returns a whole list,
// the longest read of a key reveals that key's version order, and dependencies between
// transactions can be inferred instead of guessed:
//   ww  T1 -> T2  T2 appended the element right after T1's in the version order
//   wr  T1 -> T2  T2 read a list whose last element T1 appended
//   rw  T1 -> T2  T1 read a list that T2's append (the next version) then extended
//   rt  T1 -> T2  T1 completed before T2 was invoked (real time; "strict")
// A cycle in these edges is an anomaly, named as Elle names it by its edges:
//   G0 (ww only), G1c (ww and wr, at least one wr), G-single (exactly one rw),
//   G2 (two or more rw); a cycle that needs an rt edge gets the suffix "-realtime"
//   (e.g. "G-single-realtime": serializable, but not strictly).
// Non-cycle anomalies found from reads alone:
//   incompatible-order  two reads of a key where neither is a prefix of the other
//   G1a                 aborted read: a read saw an element appended by a failed txn
//   G1b                 intermediate read: a read ended at an element that was not its
//                       writer's last append to that key
//   duplicate-elements  an element appears twice in one read
//   garbage-read        a read saw an element that no txn appended
//   internal            a read disagreed with its own txn's earlier reads/appends of the key
// Also, an append by a committed txn that no read saw came after every version read, so
// the last-read version's writer ww-precedes it and every reader of the key rw-precedes it.
// Indeterminate (info) txns count as committed when some read saw one of their appends;
// failed txns never happened. Reads of info txns are unknown and ignored.
#pragma once

#include <optional>
#include <string>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kv::checker {

// Returns nullopt with `error` set when an op is not a well-formed txn, or one value is
// appended twice to the same key (the inference needs unique appends). The cycle search
// runs under budget.time; if it runs out before finding any anomaly the verdict is unknown.
[[nodiscard]] std::optional<CheckResult> check_append(const History& h, const Budget& budget, std::string* error);

}  // namespace kv::checker
