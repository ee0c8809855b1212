// kvctl's command line, parsed into plain structs with no I/O, so that every rule here is
// unit-tested (tests/client/kvctl_args_test.cc). kvctl.cc runs what this returns.
//
// Shape (etcdctl's habits): kvctl [global flags] COMMAND [args] [flags]. Flags may come
// before or after the command's words; `--` ends the flags (for keys that start with '-').
// Flags take values as `--flag value` or `--flag=value`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "client/types.h"

namespace kv::kvctl {

// Exit codes: what scripts can rely on.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;          // the operation failed (the message says why)
inline constexpr int kExitUsage = 2;          // bad command line
inline constexpr int kExitCompareFailed = 3;  // cas: the compare did not hold; nothing changed

inline constexpr const char* kDefaultEndpoints = "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103";

enum class OutputFormat { kSimple, kJson };

struct GlobalFlags {
  std::vector<std::string> endpoints;  // default: kDefaultEndpoints
  std::chrono::milliseconds timeout{10000};
  OutputFormat format = OutputFormat::kSimple;
};

struct HelpArgs {
  std::string topic;  // a command ("get", "endpoint status"), or empty for the overview
};
struct VersionArgs {};

struct PutArgs {
  std::string key;
  std::optional<std::string> value;  // nullopt: read the value from stdin
  bool prev_kv = false;
};

// get KEY | get KEY END | get --prefix P | get --from-key KEY; a single key without range
// flags is a point read (GetRequest), everything else a range read.
struct GetArgs {
  std::string key;
  std::optional<std::string> end;
  bool prefix = false;
  bool from_key = false;
  client::RangeOptions range;  // limit, keys_only, count_only, serializable
  bool is_point_read() const;
};

struct DelArgs {
  std::string key;
  std::optional<std::string> end;
  bool prefix = false;
  bool from_key = false;
  bool prev_kv = false;
};

struct CasArgs {
  std::string key;
  client::Compare expect;
  client::CasThen then;
};

struct TxnArgs {};  // the transaction comes from stdin (kvctl_txn.h)

struct EndpointStatusArgs {
  bool cluster = false;  // ask every member (from the member list), not just --endpoints
};
struct MemberListArgs {};
struct ShardListArgs {};

using CommandArgs = std::variant<HelpArgs, VersionArgs, PutArgs, GetArgs, DelArgs, CasArgs, TxnArgs,
                                 EndpointStatusArgs, MemberListArgs, ShardListArgs>;

struct Invocation {
  GlobalFlags global;
  CommandArgs command;
};

struct ParseResult {
  std::optional<Invocation> invocation;  // set when the command line is good
  std::string error;                     // else: what is wrong (print with the usage hint)
};

// The [start, end) that a get or del names (end empty: `key` alone). A prefix is
// [P, prefix_end(P)); the empty prefix and --from-key use end "\0" ("every key >= start"), and
// as keys are never empty, every key starts at "\0".
struct KeySpan {
  std::string start;
  std::string end;

  bool operator==(const KeySpan&) const = default;
};
KeySpan key_span(const std::string& key, const std::optional<std::string>& end, bool prefix, bool from_key);

// `args` excludes the program name.
ParseResult parse_args(const std::vector<std::string>& args);

// The help of `topic` (a command name such as "get" or "endpoint status"; "" for the
// overview). Empty for an unknown topic.
std::string help_text(const std::string& topic);

// "500ms", "5s", "1.5s", "2m"; a bare number is seconds. nullopt unless > 0.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

}  // namespace kv::kvctl
