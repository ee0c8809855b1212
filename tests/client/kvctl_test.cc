// kvctl without a cluster: the command-line parser, the txn stdin syntax, and the output
// formats (plain and JSON, including keys that are not UTF-8).
#include <catch2/catch.hpp>

#include "kvctl_args.h"
#include "kvctl_output.h"
#include "kvctl_txn.h"

namespace kv::kvctl {
namespace {

using namespace std::chrono_literals;

Invocation parse_ok(std::vector<std::string> args) {
  ParseResult r = parse_args(args);
  INFO(r.error);
  REQUIRE(r.invocation.has_value());
  return *r.invocation;
}

std::string parse_error(std::vector<std::string> args) {
  ParseResult r = parse_args(args);
  REQUIRE_FALSE(r.invocation.has_value());
  REQUIRE_FALSE(r.error.empty());
  return r.error;
}

template <class T>
T command(std::vector<std::string> args) {
  Invocation inv = parse_ok(std::move(args));
  REQUIRE(std::holds_alternative<T>(inv.command));
  return std::get<T>(inv.command);
}

TEST_CASE("kvctl args: global flags anywhere, with defaults", "[kvctl]") {
  Invocation inv = parse_ok({"get", "k"});
  CHECK(inv.global.endpoints == std::vector<std::string>{"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"});
  CHECK(inv.global.timeout == 10s);
  CHECK(inv.global.format == OutputFormat::kSimple);

  inv = parse_ok({"--endpoints", "h1:1, h2:2", "get", "k", "-w", "json", "--timeout=1s"});
  CHECK(inv.global.endpoints == std::vector<std::string>{"h1:1", "h2:2"});
  CHECK(inv.global.timeout == 1s);
  CHECK(inv.global.format == OutputFormat::kJson);
  CHECK(parse_ok({"get", "k", "--write-out=json"}).global.format == OutputFormat::kJson);
  CHECK(parse_ok({"-wjson", "get", "k"}).global.format == OutputFormat::kJson);

  CHECK_THAT(parse_error({"--endpoints", "nohost", "get", "k"}), Catch::Contains("nohost"));
  CHECK_THAT(parse_error({"--endpoints", "", "get", "k"}), Catch::Contains("no endpoint"));
  CHECK_THAT(parse_error({"--timeout", "soon", "get", "k"}), Catch::Contains("--timeout"));
  CHECK_THAT(parse_error({"-w", "yaml", "get", "k"}), Catch::Contains("yaml"));
  CHECK_THAT(parse_error({"get", "k", "--timeout"}), Catch::Contains("needs a value"));
  CHECK_THAT(parse_error({}), Catch::Contains("no command"));
  CHECK_THAT(parse_error({"frobnicate"}), Catch::Contains("unknown command"));
  CHECK_THAT(parse_error({"get", "k", "--prev-kv"}), Catch::Contains("unknown flag --prev-kv"));
  CHECK_THAT(parse_error({"get", "k", "-x"}), Catch::Contains("unknown flag -x"));
}

TEST_CASE("kvctl args: durations", "[kvctl]") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("3s") == 3s);
  CHECK(parse_duration("1.5s") == 1500ms);
  CHECK(parse_duration("2m") == 120s);
  CHECK(parse_duration("7") == 7s);
  for (const char* bad : {"", "s", "0s", "-1s", "1h", "1 s", "1.2.3s", "0.0001ms"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("kvctl args: put takes the value from the command line or stdin", "[kvctl]") {
  PutArgs put = command<PutArgs>({"put", "k", "v"});
  CHECK(put.key == "k");
  CHECK(put.value == std::optional<std::string>("v"));
  CHECK_FALSE(put.prev_kv);
  put = command<PutArgs>({"put", "--prev-kv", "k"});
  CHECK_FALSE(put.value.has_value());  // read from stdin
  CHECK(put.prev_kv);
  put = command<PutArgs>({"put", "--", "-k", "-v"});  // keys and values that look like flags
  CHECK(put.key == "-k");
  CHECK(put.value == std::optional<std::string>("-v"));
  CHECK_THAT(parse_error({"put"}), Catch::Contains("KEY [VALUE]"));
  CHECK_THAT(parse_error({"put", "k", "v", "extra"}), Catch::Contains("KEY [VALUE]"));
  CHECK_THAT(parse_error({"put", "", "v"}), Catch::Contains("empty"));
}

TEST_CASE("kvctl args: get's point reads and ranges", "[kvctl]") {
  GetArgs get = command<GetArgs>({"get", "k"});
  CHECK(get.is_point_read());
  get = command<GetArgs>({"get", "k", "--serializable"});
  CHECK(get.is_point_read());
  CHECK(get.range.serializable);

  get = command<GetArgs>({"get", "a", "c", "--limit", "5", "--keys-only"});
  CHECK_FALSE(get.is_point_read());
  CHECK(get.range.limit == 5);
  CHECK(get.range.keys_only);
  CHECK(key_span(get.key, get.end, get.prefix, get.from_key) == KeySpan{"a", "c"});

  get = command<GetArgs>({"get", "--prefix", "ab", "--count-only"});
  CHECK(get.range.count_only);
  CHECK(key_span(get.key, get.end, get.prefix, get.from_key) == KeySpan{"ab", "ac"});
  get = command<GetArgs>({"get", "--prefix", ""});
  const std::string every(1, '\0');
  CHECK(key_span(get.key, get.end, get.prefix, get.from_key) == KeySpan{every, every});
  get = command<GetArgs>({"get", "--from-key", "m"});
  CHECK(key_span(get.key, get.end, get.prefix, get.from_key) == KeySpan{"m", every});
  CHECK(command<GetArgs>({"get", "k", "--keys-only"}).is_point_read() == false);  // a one-key range

  CHECK_THAT(parse_error({"get", "a", "b", "--prefix"}), Catch::Contains("END"));
  CHECK_THAT(parse_error({"get", "a", "--prefix", "--from-key"}), Catch::Contains("exclude"));
  CHECK_THAT(parse_error({"get", "a", "--limit", "many"}), Catch::Contains("--limit"));
  CHECK_THAT(parse_error({"get", "a", "--limit", "0"}), Catch::Contains("--limit"));
  CHECK_THAT(parse_error({"get", ""}), Catch::Contains("empty"));
}

TEST_CASE("kvctl args: del, and its alias delete", "[kvctl]") {
  DelArgs del = command<DelArgs>({"del", "k"});
  CHECK(key_span(del.key, del.end, del.prefix, del.from_key) == KeySpan{"k", ""});
  del = command<DelArgs>({"delete", "--prefix", "p", "--prev-kv"});
  CHECK(del.prev_kv);
  CHECK(key_span(del.key, del.end, del.prefix, del.from_key) == KeySpan{"p", "q"});
  del = command<DelArgs>({"del", "a", "b"});
  CHECK(key_span(del.key, del.end, del.prefix, del.from_key) == KeySpan{"a", "b"});
  CHECK_THAT(parse_error({"del", "a", "--limit", "3"}), Catch::Contains("unknown flag --limit"));
}

TEST_CASE("kvctl args: cas needs one expectation and one action", "[kvctl]") {
  CasArgs cas = command<CasArgs>({"cas", "k", "new", "--expect-version", "4"});
  CHECK(cas.key == "k");
  CHECK(cas.expect == client::expect_version(4));
  CHECK(cas.then == client::then_put("new"));
  cas = command<CasArgs>({"cas", "k", "--delete", "--expect-value", "old"});
  CHECK(cas.expect == client::expect_value("old"));
  CHECK(cas.then == client::then_delete());
  cas = command<CasArgs>({"cas", "--expect-absent", "lock", "me"});
  CHECK(cas.expect == client::expect_absent());
  CHECK(cas.then == client::then_put("me"));

  CHECK_THAT(parse_error({"cas", "k", "v"}), Catch::Contains("exactly one"));
  CHECK_THAT(parse_error({"cas", "k", "v", "--expect-absent", "--expect-value", "x"}), Catch::Contains("exactly one"));
  CHECK_THAT(parse_error({"cas", "k", "--expect-absent"}), Catch::Contains("NEW_VALUE"));
  CHECK_THAT(parse_error({"cas", "k", "v", "--delete", "--expect-absent"}), Catch::Contains("--delete"));
  CHECK_THAT(parse_error({"cas", "k", "v", "--expect-version", "0"}), Catch::Contains("--expect-absent"));
  CHECK_THAT(parse_error({"cas", "k", "v", "--expect-version", "x"}), Catch::Contains("version"));
}

TEST_CASE("kvctl args: two-word commands, version, help everywhere", "[kvctl]") {
  CHECK_FALSE(command<EndpointStatusArgs>({"endpoint", "status"}).cluster);
  CHECK(command<EndpointStatusArgs>({"endpoint", "status", "--cluster"}).cluster);
  command<MemberListArgs>({"member", "list"});
  command<ShardListArgs>({"shard", "list"});
  command<VersionArgs>({"version"});
  command<TxnArgs>({"txn"});
  CHECK_THAT(parse_error({"endpoint"}), Catch::Contains("endpoint status"));
  CHECK_THAT(parse_error({"member", "add"}), Catch::Contains("member list"));
  CHECK_THAT(parse_error({"shard"}), Catch::Contains("shard list"));
  CHECK_THAT(parse_error({"shard", "list", "x"}), Catch::Contains("no arguments"));
  CHECK_THAT(parse_error({"txn", "extra"}), Catch::Contains("no arguments"));

  CHECK(command<HelpArgs>({"--help"}).topic.empty());
  CHECK(command<HelpArgs>({"-h"}).topic.empty());
  CHECK(command<HelpArgs>({"help"}).topic.empty());
  CHECK(command<HelpArgs>({"get", "--help"}).topic == "get");
  CHECK(command<HelpArgs>({"endpoint", "status", "-h"}).topic == "endpoint status");
  CHECK(command<HelpArgs>({"help", "member", "list"}).topic == "member list");
  CHECK_THAT(parse_error({"help", "nothing"}), Catch::Contains("unknown"));
  for (const char* topic : {"", "put", "get", "del", "delete", "cas", "txn", "endpoint status", "member list", "shard list", "version"}) {
    INFO(topic);
    CHECK_FALSE(help_text(topic).empty());
  }
  CHECK_THAT(help_text(""), Catch::Contains(kDefaultEndpoints));
  CHECK_THAT(help_text(""), Catch::Contains("shard list"));
  CHECK_THAT(help_text("txn"), Catch::Contains("ver(\"KEY\")"));
}

// ---- txn syntax

client::TxnRequest txn_ok(std::string_view text) {
  TxnParseResult r = parse_txn(text);
  INFO(r.error);
  REQUIRE(r.txn.has_value());
  return *r.txn;
}

std::string txn_error(std::string_view text) {
  TxnParseResult r = parse_txn(text);
  REQUIRE_FALSE(r.txn.has_value());
  return r.error;
}

TEST_CASE("kvctl txn: three blank-line separated sections", "[kvctl]") {
  const client::TxnRequest txn = txn_ok(
      "# move 10 from a to b\n"
      "ver(\"a\") = 3\n"
      "val(b) != \"x y\"\n"
      "absent(\"lock\")\n"
      "exists('c')\n"
      "ver(\"a\") > \"2\"\n"
      "\n"
      "put a 90\n"
      "put \"b\" \"has \\\"quotes\\\"\\n\" --prev-kv\n"
      "get --prefix acct/ --limit 2\n"
      "\n"
      "get a\n"
      "del a c\n");
  REQUIRE(txn.compares.size() == 5);
  CHECK(txn.compares[0] == net::TxnCompare{"a", net::CompareOp::kEqual, net::CompareVersion{3}});
  CHECK(txn.compares[1] == net::TxnCompare{"b", net::CompareOp::kNotEqual, net::CompareValue{"x y"}});
  CHECK(txn.compares[2] == net::TxnCompare{"lock", net::CompareOp::kEqual, net::CompareAbsent{}});
  CHECK(txn.compares[3] == net::TxnCompare{"c", net::CompareOp::kNotEqual, net::CompareAbsent{}});
  CHECK(txn.compares[4] == net::TxnCompare{"a", net::CompareOp::kGreater, net::CompareVersion{2}});
  REQUIRE(txn.success.size() == 3);
  CHECK(txn.success[0] == net::TxnOp{net::PutRequest{"a", "90", false}});
  CHECK(txn.success[1] == net::TxnOp{net::PutRequest{"b", "has \"quotes\"\n", true}});
  CHECK(txn.success[2] == net::TxnOp{net::RangeRequest{"acct/", "acct0", 2, false, false, false}});
  REQUIRE(txn.failure.size() == 2);
  CHECK(txn.failure[0] == net::TxnOp{net::GetRequest{"a", false}});
  CHECK(txn.failure[1] == net::TxnOp{net::DeleteRequest{"a", "c", false}});
}

TEST_CASE("kvctl txn: empty sections, padding and binary words", "[kvctl]") {
  client::TxnRequest txn = txn_ok("\nput k v\n");  // no compares: starts with a blank line
  CHECK(txn.compares.empty());
  CHECK(txn.success.size() == 1);
  CHECK(txn.failure.empty());

  txn = txn_ok("absent(k)\n\n\nput k v\n\n\n");  // no success ops; padding after the failure ops
  CHECK(txn.success.empty());
  CHECK(txn.failure == std::vector<net::TxnOp>{net::PutRequest{"k", "v", false}});

  txn = txn_ok("\r\nput \"\\x00\\xff\" '-not a flag'\r\n");  // CRLF input; quoted words are never flags
  CHECK(txn.success == std::vector<net::TxnOp>{net::PutRequest{std::string("\0\xff", 2), "-not a flag", false}});
}

TEST_CASE("kvctl txn: errors name the line", "[kvctl]") {
  CHECK_THAT(txn_error(""), Catch::Contains("empty"));
  CHECK_THAT(txn_error("ver(a) = 1\n\nput k v\n\nput k w\n\nput k x\n"), Catch::Contains("line 7"));
  CHECK_THAT(txn_error("ver(a) = x\n"), Catch::Contains("line 1: a version is a number"));
  CHECK_THAT(txn_error("ver(a)\n"), Catch::Contains("operator"));
  CHECK_THAT(txn_error("mod(a) = 1\n"), Catch::Contains("unknown compare"));
  CHECK_THAT(txn_error("absent(a) = 1\n"), Catch::Contains("no operator"));
  CHECK_THAT(txn_error("a = 1\n"), Catch::Contains("looks like"));
  CHECK_THAT(txn_error("val(a) = \"open\n"), Catch::Contains("unterminated"));
  CHECK_THAT(txn_error("\nput k \"\\q\"\n"), Catch::Contains("line 2: unknown escape"));
  CHECK_THAT(txn_error("\nput k\n"), Catch::Contains("KEY and VALUE"));
  CHECK_THAT(txn_error("\ncas k v\n"), Catch::Contains("put, get or del"));
  CHECK_THAT(txn_error("\nput k v --endpoints x:1\n"), Catch::Contains("unknown flag --endpoints"));
  CHECK_THAT(txn_error("\nget a --limit\n"), Catch::Contains("--limit"));
}

TEST_CASE("kvctl txn: split_words", "[kvctl]") {
  std::string error;
  auto words = split_words("val(\"k\")!=v", true, error);
  REQUIRE(words);
  CHECK(*words == std::vector<Word>{{"val", false}, {"(", false}, {"k", true}, {")", false}, {"!=", false}, {"v", false}});
  words = split_words("put a=b \"(\"", false, error);
  REQUIRE(words);
  CHECK(*words == std::vector<Word>{{"put", false}, {"a=b", false}, {"(", true}});
  CHECK_FALSE(split_words("'open", false, error));
  CHECK_FALSE(split_words("\"\\x4\"", false, error));
}

// ---- output

TEST_CASE("kvctl output: plain text like etcdctl", "[kvctl]") {
  const auto simple = OutputFormat::kSimple;
  CHECK(format_put(simple, {3, std::nullopt}) == "OK\n");
  CHECK(format_put(simple, {3, net::KeyValue{"k", "old", 2}}) == "OK\nk\nold\n");
  CHECK(format_get(simple, "k", {true, "v", 3}) == "k\nv\n");
  CHECK(format_get(simple, "k", {false, "", 0}).empty());
  const client::RangeResult range{{{"a", "1", 1}, {"b", "2", 2}}, false, 2};
  CHECK(format_range(simple, range, {}) == "a\n1\nb\n2\n");
  CHECK(format_range(simple, range, {.keys_only = true}) == "a\nb\n");
  CHECK(format_range(simple, {{}, false, 9}, {.count_only = true}) == "9\n");
  CHECK(format_delete(simple, {2, {}}) == "2\n");
  CHECK(format_cas(simple, {true, 5, std::nullopt}) == "OK\n");
  CHECK(format_cas(simple, {false, 0, net::KeyValue{"k", "cur", 4}}) == "FAILED\nk\ncur\n");

  client::TxnRequest request;
  request.success = {net::PutRequest{"a", "1", false}, net::GetRequest{"a", false}};
  const client::TxnResult result{true, {net::PutResponse{7, std::nullopt}, net::GetResponse{true, "1", 7}}};
  CHECK(format_txn(simple, request, result) == "SUCCESS\n\nOK\n\na\n1\n");
  CHECK(format_txn(simple, request, {false, {}}) == "FAILURE\n");

  const std::string members = format_members(simple, {{{1, "127.0.0.1:7001", "127.0.0.1:7101"}}});
  CHECK_THAT(members, Catch::StartsWith("ID  PEER ADDR       CLIENT ADDR\n"));
  CHECK_THAT(members, Catch::Contains("1   127.0.0.1:7001  127.0.0.1:7101\n"));
}

TEST_CASE("kvctl output: JSON, with base64 for bytes that are not UTF-8", "[kvctl]") {
  const auto json = OutputFormat::kJson;
  CHECK(format_get(json, "k", {true, "v", 3}) == "{\"kvs\":[{\"key\":\"k\",\"value\":\"v\",\"version\":3}],\"more\":false,\"count\":1}\n");
  CHECK(format_get(json, "k", {false, "", 0}) == "{\"kvs\":[],\"more\":false,\"count\":0}\n");
  CHECK(format_put(json, {3, std::nullopt}) == "{\"version\":3}\n");
  CHECK(format_cas(json, {false, 0, std::nullopt}) == "{\"succeeded\":false,\"version\":0,\"current\":null}\n");
  CHECK(json_string("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  CHECK(json_bytes("key", "h\xc3\xa9") == "\"key\":\"h\xc3\xa9\"");
  CHECK(json_bytes("key", std::string_view("\xff\x00", 2)) == "\"key_base64\":\"/wA=\"");
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xe2\x82\xac"));
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));      // truncated
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
}

TEST_CASE("kvctl output: endpoint status, one row per endpoint and per shard", "[kvctl]") {
  net::StatusResponse s;
  s.node_id = 2;
  s.leader = 1;
  s.term = 4;
  s.commit_index = 10;
  s.applied_index = 9;
  s.raft_index = 11;
  s.version = "0.1.0";
  s.shards.push_back(net::ShardStatus{0, 1, 4, 10, 9, 11, net::ReplicaRole::kFollower, "", "m"});
  std::vector<EndpointStatus> rows;
  rows.push_back(EndpointStatus{"h:1", s});
  rows.push_back(EndpointStatus{"h:2", client::Error{client::ErrorKind::kUnavailable, "down"}});
  const std::string text = format_status(OutputFormat::kSimple, rows);
  CHECK_THAT(text, Catch::Contains("ENDPOINT  SHARD  RANGE"));
  CHECK_THAT(text, Catch::Contains("h:1       -      -"));
  CHECK_THAT(text, Catch::Contains("h:1       0      [\"\", \"m\")  follower"));
  CHECK_THAT(text, !Catch::Contains("h:2"));  // failures go to stderr
  const std::string json = format_status(OutputFormat::kJson, rows);
  CHECK_THAT(json, Catch::Contains("\"node_id\":2,\"leader\":1,\"term\":4"));
  CHECK_THAT(json, Catch::Contains("{\"endpoint\":\"h:2\",\"error\":\"unavailable: down\"}"));
}

TEST_CASE("kvctl output: shard list, one line per shard beginning with its number", "[kvctl]") {
  std::vector<ShardRow> rows;
  rows.push_back(ShardRow{net::ShardInfo{0, "", "0", {1, 2, 3}, 1, 2}, "h:1", 1042});
  rows.push_back(ShardRow{net::ShardInfo{1, "0", "", {2, 3, 4}, 0, 2}, "", std::nullopt});  // leader unknown
  rows.push_back(ShardRow{net::ShardInfo{12, std::string("\xff", 1), "", {}, 3, 5}, "h:3", std::nullopt});
  const std::string text = format_shards(OutputFormat::kSimple, rows);
  CHECK(text ==
        "0   [\"\", \"0\")      1,2,3  1  2  1042\n"
        "1   [\"0\", end)     2,3,4  -  2  -\n"
        "12  [\"\\xff\", end)  -      3  5  -\n");
  const std::string json = format_shards(OutputFormat::kJson, rows);
  CHECK_THAT(json, Catch::StartsWith("{\"shards\":[{\"shard\":0,\"start_key\":\"\",\"end_key\":\"0\",\"replicas\":[1,2,3],"
                                     "\"leader\":1,\"leader_endpoint\":\"h:1\",\"term\":2,\"applied_index\":1042}"));
  CHECK_THAT(json, Catch::Contains("\"leader\":0,\"leader_endpoint\":\"\",\"term\":2,\"applied_index\":null}"));
  CHECK_THAT(json, Catch::Contains("\"start_key_base64\":\"/w==\""));
}

}  // namespace
}  // namespace kv::kvctl
