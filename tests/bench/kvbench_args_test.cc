// kvbench's flags, /proc parsers, key names and shard placement, transaction counts and the
// JSON: the parts a benchmark run trusts without a cluster to check them against.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "kvbench_args.h"
#include "kvbench_keys.h"
#include "kvbench_report.h"
#include "proc_stats.h"

namespace {

using namespace kv::bench;

ParseResult parse(std::vector<std::string> args) { return parse_args(args); }

// kvd's default map (src/server/shard_map.cc, split_points(8)): the first two bytes of
// printable keys, "0" up to just past "z", cut in eight.
const std::vector<ShardRange> kDefaultEight = {
    {"", "9`"}, {"9`", "B\xc0"}, {"B\xc0", "L "}, {"L ", "U\x80"},
    {"U\x80", "^\xe0"}, {"^\xe0", "h@"}, {"h@", "q\xa0"}, {"q\xa0", ""}};

std::size_t shard_of_key(const std::vector<ShardRange>& map, const std::string& key) {
  std::size_t found = map.size();
  for (std::size_t s = 0; s < map.size(); ++s) {
    if (key_in_range(key, map[s].start, map[s].end)) {
      REQUIRE(found == map.size());  // exactly one shard holds it
      found = s;
    }
  }
  REQUIRE(found < map.size());
  return found;
}

}  // namespace

TEST_CASE("kvbench args: the issue's command shape", "[bench]") {
  const ParseResult r = parse({"put", "--clients", "64", "--connections", "8", "--duration", "15",
                               "--endpoints", "127.0.0.1:7101,127.0.0.1:7102"});
  REQUIRE(r.config);
  REQUIRE(r.config->workload == Workload::kPut);
  REQUIRE(r.config->clients == 64);
  REQUIRE(r.config->connections == 8);
  REQUIRE(r.config->duration_s == 15.0);
  REQUIRE(r.config->endpoints == std::vector<std::string>{"127.0.0.1:7101", "127.0.0.1:7102"});
  REQUIRE(r.config->key_size == 16);
  REQUIRE(r.config->value_size == 256);
  REQUIRE_FALSE(r.config->count);
}

TEST_CASE("kvbench args: --count replaces the window and the warm-up", "[bench]") {
  const ParseResult r = parse({"get", "--count=1000", "--consistency", "s", "--server-pids", "11,12,13"});
  REQUIRE(r.config);
  REQUIRE(*r.config->count == 1000);
  REQUIRE(r.config->warmup_s == 0.0);
  REQUIRE(r.config->serializable);
  REQUIRE(r.config->server_pids == std::vector<int>{11, 12, 13});
}

TEST_CASE("kvbench args: connections are capped at clients; flags switch defaults", "[bench]") {
  const ParseResult r = parse({"txn", "--clients", "4", "--connections", "16", "--cross-shard", "--no-progress"});
  REQUIRE(r.config);
  REQUIRE(r.config->connections == 4);
  REQUIRE(r.config->cross_shard);
  REQUIRE_FALSE(r.config->progress);
  REQUIRE(r.config->populate);
}

TEST_CASE("kvbench args: bad command lines name what is wrong", "[bench]") {
  auto error_of = [](std::vector<std::string> args) {
    const ParseResult r = parse_args(args);
    REQUIRE_FALSE(r.config);
    return r.error;
  };
  CHECK(error_of({}).find("no workload") != std::string::npos);
  CHECK(error_of({"scan"}).find("unknown workload") != std::string::npos);
  CHECK(error_of({"put", "--clients"}).find("needs a value") != std::string::npos);
  CHECK(error_of({"put", "--clients", "x"}).find("bad value") != std::string::npos);
  CHECK(error_of({"put", "--bogus", "1"}).find("unknown flag") != std::string::npos);
  CHECK(error_of({"put", "--count", "0"}).find("--count") != std::string::npos);
  CHECK(error_of({"put", "--endpoints", "nohost"}).find("host:port") != std::string::npos);
  CHECK(error_of({"put", "--endpoints", ""}).find("no endpoint") != std::string::npos);
  CHECK(error_of({"put", "--cross-shard"}).find("txn only") != std::string::npos);
  CHECK(error_of({"get", "--consistency", "x"}).find("l or s") != std::string::npos);
  CHECK(error_of({"put", "--key-size", "4"}).find("--key-size") != std::string::npos);
  REQUIRE(parse({"--help"}).help);
}

TEST_CASE("kvbench args: transfer and --max-attempts", "[bench]") {
  const ParseResult r = parse({"transfer", "--clients", "64", "--key-space", "16", "--max-attempts", "20"});
  REQUIRE(r.config);
  REQUIRE(r.config->workload == Workload::kTransfer);
  REQUIRE(r.config->key_space == 16);
  REQUIRE(r.config->max_attempts == 20);
  REQUIRE(uses_run_transaction(*r.config));
  REQUIRE(workload_name(*r.config) == "transfer");
  // run_transaction's own default, unless told otherwise.
  REQUIRE(parse({"txn", "--cross-shard"}).config->max_attempts == 10);
  REQUIRE(uses_run_transaction(*parse({"txn", "--cross-shard"}).config));
  REQUIRE_FALSE(uses_run_transaction(*parse({"txn"}).config));

  auto error_of = [](std::vector<std::string> args) {
    const ParseResult bad = parse_args(args);
    REQUIRE_FALSE(bad.config);
    return bad.error;
  };
  CHECK(error_of({"transfer", "--key-space", "1"}).find("at least 2") != std::string::npos);
  CHECK(error_of({"transfer", "--max-attempts", "0"}).find("--max-attempts") != std::string::npos);
  CHECK(error_of({"transfer", "--cross-shard"}).find("txn only") != std::string::npos);
  CHECK(error_of({"bank"}).find("transfer") != std::string::npos);  // the list names it
}

TEST_CASE("kvbench keys: fixed size, index order is byte order", "[bench]") {
  REQUIRE(key_name("p", 42, 16) == "p000000000000042");
  REQUIRE(key_name("c1a2b", 7, 16) == "c1a2b00000000007");
  REQUIRE(key_name("p", 123456, 4) == "p123456");  // grows rather than collide
  REQUIRE(key_name("p", 9, 16) < key_name("p", 10, 16));
  REQUIRE(keys_fit("m", "m", "", 1000, 16));
  REQUIRE_FALSE(keys_fit("c", "", "c00", 1000, 16));  // "c000..." is not below "c00"
  REQUIRE_FALSE(keys_fit("m", "m", "", 1000, 3));     // 1000 indexes do not fit 3 bytes
}

TEST_CASE("kvbench keys: one fresh prefix inside each shard of the default map", "[bench]") {
  const std::vector<std::string> prefixes = shard_prefixes(kDefaultEight, "t1a2b", 100000, 16);
  // The first shard has no start and "t1a2b" sorts above its end: "0" goes in front. A
  // start that is not visible ASCII gives way to the next byte ("B\xc0": "C"; "L ": "M").
  REQUIRE(prefixes == std::vector<std::string>{"0t1a2b", "9`t1a2b", "Ct1a2b", "Mt1a2b", "Vt1a2b", "_t1a2b",
                                               "h@t1a2b", "rt1a2b"});
  for (std::size_t s = 0; s < prefixes.size(); ++s) {
    REQUIRE(visible_ascii(prefixes[s]));
    // Both ends of the key space, so every key between them, on shard s and no other.
    REQUIRE(shard_of_key(kDefaultEight, key_name(prefixes[s], 0, 16)) == s);
    REQUIRE(shard_of_key(kDefaultEight, key_name(prefixes[s], 99999, 16)) == s);
  }
  // A shard whose start is a prefix of its end is too narrow for a tag: left out.
  REQUIRE_FALSE(shard_prefix("A", "A\x01", "t1a2b", 10, 16));
  REQUIRE(shard_prefixes({{"", "A"}, {"A", "A\x01"}, {"A\x01", ""}}, "t1a2b", 10, 16).size() == 2);
  // A narrow first shard, and starts that are not visible at all.
  REQUIRE(shard_prefix("", "0", "t1a2b", 10, 16) == std::optional<std::string>("!t1a2b"));
  REQUIRE(shard_prefix("\xc0", "", "t1a2b", 10, 16) == std::optional<std::string>("\xc0t1a2b"));
  // One shard only: nothing for a cross-shard workload to use but the one.
  REQUIRE(shard_prefixes({{"", ""}}, "c0001", 10, 16) == std::vector<std::string>{"c0001"});
}

TEST_CASE("kvbench transfer pool: keys dealt over every shard, partners on another shard", "[bench]") {
  const std::vector<std::string> prefixes = shard_prefixes(kDefaultEight, "t0001", 16, 16);
  const TransferPool pool(prefixes, 16, 16);
  REQUIRE(pool.shards() == 8);
  std::vector<std::uint64_t> per_shard(8, 0);
  std::set<std::string> keys;
  for (std::uint64_t j = 0; j < pool.keys(); ++j) {
    const std::string key = pool.key(j);
    REQUIRE(key.size() == 16);
    REQUIRE(shard_of_key(kDefaultEight, key) == pool.shard_of(j));
    ++per_shard[pool.shard_of(j)];
    keys.insert(key);
  }
  REQUIRE(keys.size() == 16);
  for (std::size_t s = 0; s < 8; ++s) REQUIRE(per_shard[s] == pool.keys_on(s));
  REQUIRE(per_shard == std::vector<std::uint64_t>(8, 2));

  // Every draw lands on another shard, inside the pool, and over many draws every shard is hit.
  std::mt19937_64 rng(7);
  std::set<std::size_t> partner_shards;
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t a = rng() % pool.keys();
    const std::uint64_t r1 = rng();
    const std::uint64_t b = pool.partner(a, r1, rng());
    REQUIRE(b < pool.keys());
    REQUIRE(shard_of_key(kDefaultEight, pool.key(b)) != shard_of_key(kDefaultEight, pool.key(a)));
    partner_shards.insert(pool.shard_of(b));
  }
  REQUIRE(partner_shards.size() == 8);

  // Uneven and tiny pools: shards beyond the keys are dropped, so every shard has a key.
  const TransferPool uneven(prefixes, 11, 16);
  REQUIRE(uneven.keys_on(0) == 2);
  REQUIRE(uneven.keys_on(3) == 1);
  for (int i = 0; i < 1000; ++i) REQUIRE(uneven.partner(10, rng(), rng()) < 11);
  const TransferPool two(prefixes, 2, 16);
  REQUIRE(two.shards() == 2);
  REQUIRE(two.partner(0, rng(), rng()) == 1);
  REQUIRE(two.partner(1, rng(), rng()) == 0);
}

TEST_CASE("kvbench transfer balances: decimal, signed, nothing else", "[bench]") {
  REQUIRE(parse_balance("0") == std::optional<std::int64_t>(0));
  REQUIRE(parse_balance("-17") == std::optional<std::int64_t>(-17));
  REQUIRE(parse_balance("42") == std::optional<std::int64_t>(42));
  REQUIRE_FALSE(parse_balance(""));
  REQUIRE_FALSE(parse_balance("4x"));
  REQUIRE_FALSE(parse_balance(" 4"));
  REQUIRE_FALSE(parse_balance("99999999999999999999"));
}

TEST_CASE("proc parsers: /proc/PID/stat, /proc/PID/status, /proc/stat", "[bench]") {
  // A command name with spaces and a ')' must not shift the fields.
  const std::string stat = "1234 (kv d) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 99 1000 200";
  REQUIRE(parse_stat_cpu_ticks(stat) == std::optional<std::uint64_t>(325));
  REQUIRE_FALSE(parse_stat_cpu_ticks("garbage"));
  const std::string status = "Name:\tkvd\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\nRssAnon:\t 1000 kB\n";
  REQUIRE(parse_status_kib(status, "VmHWM") == std::optional<std::uint64_t>(123456));
  REQUIRE(parse_status_kib(status, "VmRSS") == std::optional<std::uint64_t>(65432));
  REQUIRE_FALSE(parse_status_kib(status, "VmSwap"));
  const std::string proc_stat = "cpu  100 5 50 9000 30 7 3 11 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
  REQUIRE(parse_host_busy_ticks(proc_stat) == std::optional<std::uint64_t>(165));  // user nice system irq softirq
  REQUIRE_FALSE(parse_host_busy_ticks("intr 1 2 3\n"));
}

TEST_CASE("proc readers: this process is alive and uses CPU", "[bench]") {
  REQUIRE(process_alive(static_cast<int>(::getpid())));
  REQUIRE(process_cpu_seconds(static_cast<int>(::getpid())));
  const auto memory = process_memory(static_cast<int>(::getpid()));
  REQUIRE(memory);
  REQUIRE(memory->vm_hwm_kib >= memory->vm_rss_kib);  // the peak is never below now
  REQUIRE(memory->vm_hwm_kib > 0);
}

TEST_CASE("report: JSON strings are escaped", "[bench]") {
  REQUIRE(json_quote("a\"b\\c\n") == "\"a\\\"b\\\\c\\u000a\"");
  // Keys in error messages are bytes: one above 0x7f becomes its code point, so the line
  // stays valid JSON (UTF-8 text turns into Latin-1 look-alikes, a price a report can pay).
  REQUIRE(json_quote("key 'q\xa0t'") == "\"key 'q\\u00a0t'\"");
}

TEST_CASE("report: transaction runs, conflicts and the abort rate", "[bench]") {
  TxnStats t;
  t.record(TxnEnd::kCommitted, 1, 2);      // no conflict
  t.record(TxnEnd::kCommitted, 3, 2);      // two conflicts, then committed
  t.record(TxnEnd::kGaveUp, 10, 0);        // ten conflicts: every attempt
  t.record(TxnEnd::kIndeterminate, 2, 0);  // one conflict, then no answer
  t.record(TxnEnd::kFailed, 1, 0);
  t.record(TxnEnd::kCommitted, 1, 12);     // 8 or more participants share the last slot
  REQUIRE(t.runs == 6);
  REQUIRE(t.committed == 3);
  REQUIRE(t.gave_up == 1);
  REQUIRE(t.indeterminate == 1);
  REQUIRE(t.failed == 1);
  REQUIRE(t.attempts == 18);
  REQUIRE(t.conflicts == 13);
  REQUIRE(t.most_attempts == 10);
  REQUIRE(t.committed_by_participants[2] == 2);
  REQUIRE(t.committed_by_participants[8] == 1);
  REQUIRE(t.abort_rate() == Approx(13.0 / 18.0));
  TxnStats sum;
  sum.merge(t);
  sum.merge(t);
  REQUIRE(sum.attempts == 36);
  REQUIRE(sum.conflicts == 26);
  REQUIRE(sum.most_attempts == 10);
  REQUIRE(sum.committed_by_participants[2] == 4);
  REQUIRE(TxnStats{}.abort_rate() == 0.0);

  RunReport r;
  r.config.workload = Workload::kTransfer;
  r.seconds = 2;
  r.txns = t;
  r.balance_check = BalanceCheck{16, 0, 0, ""};
  const std::string json = format_json(r);
  CHECK(json.find("\"workload\":\"transfer\"") != std::string::npos);
  CHECK(json.find("\"txn_runs\":6,\"txn_committed\":3,\"committed_per_s\":1.5,\"txn_attempts\":18,"
                  "\"txn_conflicts\":13,\"abort_rate\":0.72222,\"txn_gave_up\":1,\"txn_indeterminate\":1,"
                  "\"txn_failed\":1") != std::string::npos);
  CHECK(json.find("\"committed_by_participants\":{\"2\":2,\"8+\":1}") != std::string::npos);
  CHECK(json.find("\"balance_check\":{\"ok\":true,\"keys\":16,\"sum\":0") != std::string::npos);
  const std::string table = format_table(r);
  CHECK(table.find("abort rate 72.2% (conflicts / attempts)") != std::string::npos);
  CHECK(table.find("committed by participant shards: 2=2 8+=1") != std::string::npos);
  CHECK(table.find("balance check: 16 keys sum to 0, 0 unreadable values: ok") != std::string::npos);
  r.balance_check->sum = 3;
  CHECK(format_table(r).find("FAILED") != std::string::npos);
  CHECK(format_json(r).find("\"balance_check\":{\"ok\":false") != std::string::npos);

  // Plain workloads carry none of it.
  r.config.workload = Workload::kPut;
  CHECK(format_json(r).find("txn_runs") == std::string::npos);
}
