// Loading a history (JSON Lines, format in jepsen/checker/README.md) and pairing each
// client's invocation with its completion into an Op. Every checker starts from a History.
// Pure functions over values; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/json.h"

namespace kv::checker {

// The completion time of an op whose outcome is unknown: it may take effect at any time
// after its invocation, or never.
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

enum class Outcome {
  ok,    // happened, and its result is known
  fail,  // certainly never happened
  info,  // indeterminate: may or may not have happened (timeout, crash, no completion)
};

std::string_view outcome_name(Outcome o);

// One client operation: an invocation paired with its completion.
struct Op {
  std::size_t index = 0;     // position in History::ops (ops are sorted by invoke_t)
  std::int64_t process = 0;  // the client "process" (a worker takes a new id after info)
  std::string f;             // read, write, cas, txn, transfer, add, ...
  Json key;                  // null when the op has no single key (txn, bank)
  Json value;                // the invocation's value (what was asked)
  Json result;               // the completion's value (what came back); checkers ignore it for info
  Outcome outcome = Outcome::info;
  std::int64_t invoke_t = 0;         // ns, or the invocation's line number when t_ns is absent
  std::int64_t complete_t = kNever;  // kNever when outcome == info
  std::size_t invoke_line = 0;       // 1-based line numbers in the history file
  std::size_t complete_line = 0;     // 0 when the op never completed
  std::string node;                  // the node that served it, when known

  bool ok() const { return outcome == Outcome::ok; }
  bool failed() const { return outcome == Outcome::fail; }
  bool indeterminate() const { return outcome == Outcome::info; }
};

struct History {
  std::vector<Op> ops;             // client ops, sorted by (invoke_t, invoke_line)
  std::vector<Json> meta;          // "meta" events (workload parameters), in file order
  std::size_t events = 0;          // non-blank lines read
  std::size_t ignored_events = 0;  // events of non-client processes (e.g. "nemesis")
  std::size_t unfinished_ops = 0;  // invocations with no completion: treated as info
};

// Parses a whole history. Fails (nullopt, `error` set with the line number) on malformed
// JSON, missing or ill-typed fields, a completion without an open invocation, a second
// invocation by a busy process, a completion whose f differs from its invocation, a
// completion timestamped before its invocation, or t_ns present on some events only.
[[nodiscard]] std::optional<History> parse_history(std::string_view text, std::string* error);

// Reads `path` and parses it as above; also fails when the file cannot be read.
[[nodiscard]] std::optional<History> load_history(const std::string& path, std::string* error);

// "p3 write x 5 ok [100..250]": one line for reports.
std::string describe_op(const Op& op);
// The op as a JSON object for verdict files (index, process, f, key, value, result, type,
// times and line numbers).
Json op_to_json(const Op& op);

}  // namespace kv::checker
