#include "kvctl_args.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include "client/options.h"

namespace kv::kvctl {

namespace {

// ---------------------------------------------------------------------------------------------
// Help

constexpr const char* kOverview = R"(kvctl: a command-line client for the kv store.

Usage: kvctl [global flags] COMMAND [args] [flags]

Commands:
  put KEY [VALUE]           set a key (VALUE from stdin when omitted)
  get KEY [END]             read a key, or keys in [KEY, END); --prefix, --from-key, ...
  del KEY [END]             delete a key, or keys in [KEY, END); --prefix, --from-key
  cas KEY [NEW_VALUE] ...   compare-and-swap one key
  txn                       run a transaction read from stdin (keys on any shards)
  endpoint status           each endpoint's node, leader, term and indexes
  member list               the cluster's members
  shard list                every shard: range, replicas, leader, term, applied index
  version                   kvctl's version
  help [COMMAND]            this text, or a command's

Global flags:
  --endpoints H:P,H:P       nodes to talk to (default 127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103)
  --timeout DURATION        give up on an operation after this long, retries included
                            (default 10s; e.g. 500ms, 3s, 1m)
  -w, --write-out FORMAT    simple (default) or json
  -h, --help                help (also: kvctl COMMAND --help)

Exit codes: 0 ok; 1 the operation failed (message on stderr); 2 bad command line;
3 cas: the compare did not hold (nothing was changed).
Keys and values are bytes; in JSON output, one that is not valid UTF-8 is given base64 in
a "<field>_base64" member instead.
)";

const std::map<std::string, std::string>& command_help() {
  static const std::map<std::string, std::string> help = {
      {"put", R"(Usage: kvctl put KEY [VALUE] [--prev-kv]

Sets KEY to VALUE. Without VALUE, the value is everything read from stdin (bytes as they
are, trailing newline included). Prints OK (and, with --prev-kv, the previous key and
value when there was one).

The write is applied exactly once, even across leader changes and retries. If the outcome
cannot be known before --timeout (error "indeterminate"), it was applied once or not at all.

Flags:
  --prev-kv   also print the key's previous value
)"},
      {"get", R"(Usage: kvctl get KEY [END] [flags]

  kvctl get KEY              the key: prints KEY, then VALUE (nothing if it does not exist)
  kvctl get START END        keys in [START, END), in byte order
  kvctl get --prefix P       keys that start with P ("" = every key)
  kvctl get --from-key KEY   keys >= KEY

Each key prints as two lines: the key, then the value.

Flags:
  --prefix          treat KEY as a prefix
  --from-key        every key >= KEY
  --limit N         at most N keys
  --keys-only       print keys only
  --count-only      print only the number of keys in the range
  --serializable    read from any replica, possibly stale (default: linearizable)
)"},
      {"del", R"(Usage: kvctl del KEY [END] [flags]

  kvctl del KEY              the key
  kvctl del START END        keys in [START, END)
  kvctl del --prefix P       keys that start with P
  kvctl del --from-key KEY   keys >= KEY

Prints the number of keys deleted (0 is not an error), then, with --prev-kv, each deleted
key and value.

Flags:
  --prefix     treat KEY as a prefix
  --from-key   every key >= KEY
  --prev-kv    print the deleted keys and values
)"},
      {"cas", R"(Usage: kvctl cas KEY NEW_VALUE EXPECTATION
       kvctl cas KEY --delete EXPECTATION

Compare-and-swap: if KEY is in the expected state, set it to NEW_VALUE (or delete it),
atomically. EXPECTATION is exactly one of:
  --expect-version N    KEY exists with version N (see get -w json)
  --expect-value V      KEY exists with value V
  --expect-absent       KEY does not exist

  kvctl cas lock me --expect-absent               take a lock
  kvctl cas counter 8 --expect-value 7            increment, if nobody else did
  kvctl cas lock --delete --expect-value me       release it, if still ours

Prints OK when the swap happened (exit 0). When the compare did not hold, prints FAILED and
KEY's current key and value lines (none if absent), and exits 3: nothing was changed.
)"},
      {"txn", R"(Usage: kvctl txn < FILE

Runs one transaction read from stdin, in three sections separated by a blank line:
compares, then the ops run if every compare holds (success), then the ops run otherwise
(failure). A section may be empty; input that starts with a blank line has no compares.
Lines starting with # are comments.

Compares, one per line:
  ver("KEY") OP N       version (OP: = != < >)
  val("KEY") OP "V"     value (OP: = != < >, bytewise)
  absent("KEY")         KEY does not exist
  exists("KEY")         KEY exists

Ops, one per line (the same words and flags as the commands):
  put KEY VALUE [--prev-kv]
  get KEY [END] [--prefix] [--from-key] [--limit N] [--keys-only] [--count-only] [--serializable]
  del KEY [END] [--prefix] [--from-key] [--prev-kv]

Words are bare, "double quoted" (escapes: \" \\ \n \t \r \0 \xHH) or 'single quoted'.

Example:
  ver("balance") = 3

  put balance 90
  put audit/42 "withdrew 10"

  get balance

Prints SUCCESS or FAILURE (which branch ran), then each op's result as the command would
print it, separated by blank lines. Both branches exit 0.

The keys may lie on different shards: then kvctl reads the compared keys, evaluates the
compares itself (exactly as a node would), runs the chosen branch's reads and commits its
writes atomically as one multi-shard transaction, running it again if another transaction
got in the way. Its results look the same, except that versions the transaction's own
writes will get are not known: a put's version prints as 0 in JSON.
)"},
      {"endpoint status", R"(Usage: kvctl endpoint status [--cluster]

Asks each endpoint (no redirect) about itself: one row per endpoint with its node id, the
leader it knows, term, commit, applied and raft (last log) index, and server version —
those of shard 0, the shard map — and then one row per shard it hosts, with the shard's
key range and this node's role in it. An endpoint that does not answer is reported on
stderr, and kvctl exits 1 after printing the others.

Flags:
  --cluster   ask every member of the cluster (from member list), not only --endpoints
)"},
      {"member list", R"(Usage: kvctl member list

Prints each member: id, peer address, client address.
)"},
      {"shard list", R"(Usage: kvctl shard list

Prints one line per shard, from the cluster's shard map: the shard number, its key range
[start, end) ("end" = no upper bound), its replicas (node ids), its latest known leader
and term, and the leader's applied index (asked from the leader with endpoint status; "-"
when the leader or its answer is unknown).

  0  ["", "0")   1,2,3  1  2  1042
  1  ["0", "A")  1,2,3  2  2  998

With -w json: {"shards":[{"shard":0,"start_key":"","end_key":"0","replicas":[1,2,3],
"leader":1,"leader_endpoint":"...","term":2,"applied_index":1042}, ...]} (leader 0 and
applied_index null when unknown).
)"},
      {"version", R"(Usage: kvctl version

Prints kvctl's version.
)"},
      {"help", R"(Usage: kvctl help [COMMAND]
)"},
  };
  return help;
}

// ---------------------------------------------------------------------------------------------
// Tokens

struct Flag {
  std::string name;
  std::optional<std::string> value;
};

struct Tokens {
  std::vector<std::string> words;
  std::vector<Flag> flags;
};

// Flags that take a value; every other flag is a switch.
bool takes_value(const std::string& name) {
  static const std::vector<std::string> kValued = {"endpoints", "timeout", "write-out", "w",
                                                   "limit", "expect-version", "expect-value"};
  return std::find(kValued.begin(), kValued.end(), name) != kValued.end();
}

std::string canonical(const std::string& name) {
  if (name == "w") return "write-out";
  if (name == "h") return "help";
  return name;
}

std::string tokenize(const std::vector<std::string>& args, Tokens& out) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.words.insert(out.words.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      out.words.push_back(arg);
      continue;
    }
    const bool is_long = arg[1] == '-';
    std::string body = arg.substr(is_long ? 2 : 1);
    Flag flag;
    if (const auto eq = body.find('='); eq != std::string::npos) {
      flag.value = body.substr(eq + 1);
      body.resize(eq);
    } else if (!is_long && body.size() > 1) {
      flag.value = body.substr(1);  // -wjson
      body.resize(1);
    }
    if (!is_long && body != "w" && body != "h") return "unknown flag " + arg;
    flag.name = canonical(body);
    if (takes_value(body) && !flag.value) {
      if (i + 1 >= args.size()) return "flag " + arg + " needs a value";
      flag.value = args[++i];
    }
    if (!takes_value(body) && flag.value) return "flag --" + flag.name + " takes no value";
    out.flags.push_back(std::move(flag));
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Commands

struct Parser {
  Tokens tokens;
  std::string command;  // "get", "endpoint status", ...
  std::vector<std::string> words;  // after the command's name
  std::string error;

  bool has(const std::string& name) const {
    return std::any_of(tokens.flags.begin(), tokens.flags.end(), [&](const Flag& f) { return f.name == name; });
  }
  std::optional<std::string> value(const std::string& name) const {
    std::optional<std::string> v;
    for (const Flag& f : tokens.flags) {
      if (f.name == name) v = f.value;  // the last one wins, as in most CLIs
    }
    return v;
  }
  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  bool check_words(std::size_t min, std::size_t max, const char* usage) {
    if (words.size() < min || words.size() > max) return fail(command + ": expected " + usage);
    return true;
  }
};

bool parse_u64(const std::string& text, std::uint64_t& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

bool parse_globals(Parser& p, GlobalFlags& g) {
  std::string endpoints = p.value("endpoints").value_or(kDefaultEndpoints);
  g.endpoints.clear();
  std::size_t start = 0;
  while (start <= endpoints.size()) {
    std::size_t comma = endpoints.find(',', start);
    if (comma == std::string::npos) comma = endpoints.size();
    std::string e = endpoints.substr(start, comma - start);
    e.erase(0, e.find_first_not_of(' '));
    e.erase(e.find_last_not_of(' ') + 1);
    if (!e.empty() && !client::parse_host_port(e)) return p.fail("--endpoints: \"" + e + "\" is not host:port");
    if (!e.empty()) g.endpoints.push_back(e);
    start = comma + 1;
  }
  if (g.endpoints.empty()) return p.fail("--endpoints: no endpoint given");
  if (auto t = p.value("timeout")) {
    auto d = parse_duration(*t);
    if (!d) return p.fail("--timeout: \"" + *t + "\" is not a duration such as 500ms, 3s or 1m");
    g.timeout = *d;
  }
  if (auto w = p.value("write-out")) {
    if (*w == "simple") g.format = OutputFormat::kSimple;
    else if (*w == "json") g.format = OutputFormat::kJson;
    else return p.fail("--write-out: \"" + *w + "\" is not simple or json");
  }
  return true;
}

// The flags each command accepts (beyond the global ones).
const std::vector<std::string>& allowed_flags(const std::string& command) {
  static const std::map<std::string, std::vector<std::string>> kAllowed = {
      {"put", {"prev-kv"}},
      {"get", {"prefix", "from-key", "limit", "keys-only", "count-only", "serializable"}},
      {"del", {"prefix", "from-key", "prev-kv"}},
      {"cas", {"expect-version", "expect-value", "expect-absent", "delete"}},
      {"endpoint status", {"cluster"}},
  };
  static const std::vector<std::string> kNone;
  auto it = kAllowed.find(command);
  return it == kAllowed.end() ? kNone : it->second;
}

bool check_flags(Parser& p) {
  static const std::vector<std::string> kGlobal = {"endpoints", "timeout", "write-out", "help"};
  const std::vector<std::string>& allowed = allowed_flags(p.command);
  for (const Flag& f : p.tokens.flags) {
    const bool ok = std::find(kGlobal.begin(), kGlobal.end(), f.name) != kGlobal.end() ||
                    std::find(allowed.begin(), allowed.end(), f.name) != allowed.end();
    if (!ok) return p.fail(p.command + ": unknown flag --" + f.name);
  }
  return true;
}

// KEY [END] with --prefix / --from-key, shared by get and del.
template <class Args>
bool parse_key_range(Parser& p, Args& a) {
  if (!p.check_words(1, 2, "KEY [END]")) return false;
  a.key = p.words[0];
  if (p.words.size() == 2) a.end = p.words[1];
  a.prefix = p.has("prefix");
  a.from_key = p.has("from-key");
  if (a.prefix && a.from_key) return p.fail(p.command + ": --prefix and --from-key exclude each other");
  if ((a.prefix || a.from_key) && a.end) return p.fail(p.command + ": END cannot be combined with --prefix or --from-key");
  if (a.key.empty() && !a.prefix) return p.fail(p.command + ": the key must not be empty");
  return true;
}

std::optional<CommandArgs> parse_get(Parser& p) {
  GetArgs a;
  if (!parse_key_range(p, a)) return std::nullopt;
  a.range.serializable = p.has("serializable");
  a.range.keys_only = p.has("keys-only");
  a.range.count_only = p.has("count-only");
  if (auto limit = p.value("limit")) {
    if (!parse_u64(*limit, a.range.limit) || a.range.limit == 0) {
      p.fail("get: --limit takes a number > 0");
      return std::nullopt;
    }
  }
  return a;
}

std::optional<CommandArgs> parse_del(Parser& p) {
  DelArgs a;
  if (!parse_key_range(p, a)) return std::nullopt;
  a.prev_kv = p.has("prev-kv");
  return a;
}

std::optional<CommandArgs> parse_put(Parser& p) {
  if (!p.check_words(1, 2, "KEY [VALUE]")) return std::nullopt;
  PutArgs a{p.words[0], std::nullopt, p.has("prev-kv")};
  if (a.key.empty()) {
    p.fail("put: the key must not be empty");
    return std::nullopt;
  }
  if (p.words.size() == 2) a.value = p.words[1];
  return a;
}

std::optional<CommandArgs> parse_cas(Parser& p) {
  const bool del = p.has("delete");
  if (!p.check_words(del ? 1 : 2, del ? 1 : 2, del ? "KEY --delete (no NEW_VALUE)" : "KEY NEW_VALUE (or KEY --delete)")) {
    return std::nullopt;
  }
  CasArgs a{p.words[0], client::expect_absent(), del ? client::then_delete() : client::then_put(p.words[1])};
  const int expectations = int{p.has("expect-version")} + int{p.has("expect-value")} + int{p.has("expect-absent")};
  if (expectations != 1) {
    p.fail("cas: give exactly one of --expect-version N, --expect-value V, --expect-absent");
    return std::nullopt;
  }
  if (auto v = p.value("expect-version")) {
    std::uint64_t version = 0;
    if (!parse_u64(*v, version) || version == 0) {
      p.fail("cas: --expect-version takes a version > 0 (for a missing key use --expect-absent)");
      return std::nullopt;
    }
    a.expect = client::expect_version(version);
  } else if (auto value = p.value("expect-value")) {
    a.expect = client::expect_value(*value);
  }
  return a;
}

std::optional<CommandArgs> parse_command(Parser& p) {
  const std::string& c = p.command;
  if (c == "put") return parse_put(p);
  if (c == "get") return parse_get(p);
  if (c == "del" || c == "delete") return parse_del(p);
  if (c == "cas") return parse_cas(p);
  if (!p.check_words(0, 0, "no arguments")) return std::nullopt;
  if (c == "txn") return TxnArgs{};
  if (c == "endpoint status") return EndpointStatusArgs{p.has("cluster")};
  if (c == "member list") return MemberListArgs{};
  if (c == "shard list") return ShardListArgs{};
  if (c == "version") return VersionArgs{};
  p.fail("unknown command \"" + c + "\"");
  return std::nullopt;
}

// Splits the command's name (one or two words) from its arguments.
bool take_command(Parser& p) {
  std::vector<std::string>& w = p.tokens.words;
  p.command = w[0];
  std::size_t used = 1;
  if (p.command == "endpoint" || p.command == "member" || p.command == "shard") {
    const char* sub = p.command == "endpoint" ? "status" : "list";
    if (w.size() < 2 || w[1] != sub) return p.fail(p.command + ": expected \"" + p.command + " " + sub + "\"");
    p.command += std::string(" ") + sub;
    used = 2;
  }
  if (p.command == "delete") p.command = "del";
  p.words.assign(w.begin() + static_cast<std::ptrdiff_t>(used), w.end());
  return true;
}

}  // namespace

KeySpan key_span(const std::string& key, const std::optional<std::string>& end, bool prefix, bool from_key) {
  const std::string every(1, '\0');
  if (prefix) return KeySpan{key.empty() ? every : key, client::prefix_end(key)};
  if (from_key) return KeySpan{key, every};
  return KeySpan{key, end.value_or("")};
}

bool GetArgs::is_point_read() const {
  return !end && !prefix && !from_key && range.limit == 0 && !range.keys_only && !range.count_only;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) ++digits;
  const std::string number = text.substr(0, digits);
  const std::string unit = text.substr(digits);
  double amount = 0;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), amount);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size()) return std::nullopt;
  double scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s" || unit.empty()) scale = 1000;
  else if (unit == "m") scale = 60'000;
  else return std::nullopt;
  const double ms = std::round(amount * scale);
  if (!(ms >= 1 && ms <= 86'400'000.0)) return std::nullopt;  // 1 ms .. 1 day
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

ParseResult parse_args(const std::vector<std::string>& args) {
  Parser p;
  if (std::string e = tokenize(args, p.tokens); !e.empty()) return {std::nullopt, e};
  Invocation inv;
  if (!parse_globals(p, inv.global)) return {std::nullopt, p.error};
  if (p.tokens.words.empty()) {
    if (p.has("help")) return {Invocation{inv.global, HelpArgs{}}, ""};
    return {std::nullopt, "no command given"};
  }
  if (p.tokens.words[0] == "help") {
    std::string topic;
    for (std::size_t i = 1; i < p.tokens.words.size(); ++i) topic += (i > 1 ? " " : "") + p.tokens.words[i];
    if (!topic.empty() && help_text(topic).empty()) return {std::nullopt, "help: unknown command \"" + topic + "\""};
    return {Invocation{inv.global, HelpArgs{topic}}, ""};
  }
  if (!take_command(p)) return {std::nullopt, p.error};
  if (p.has("help")) {
    if (help_text(p.command).empty()) return {std::nullopt, "unknown command \"" + p.command + "\""};
    return {Invocation{inv.global, HelpArgs{p.command}}, ""};
  }
  if (!check_flags(p)) return {std::nullopt, p.error};
  std::optional<CommandArgs> command = parse_command(p);
  if (!command) return {std::nullopt, p.error};
  inv.command = std::move(*command);
  return {std::move(inv), ""};
}

std::string help_text(const std::string& topic) {
  if (topic.empty()) return kOverview;
  const auto& help = command_help();
  auto it = help.find(topic == "delete" ? "del" : topic);
  return it == help.end() ? std::string() : it->second;
}

}  // namespace kv::kvctl
