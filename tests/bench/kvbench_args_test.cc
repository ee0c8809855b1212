// kvbench's flags, /proc parsers, key names and JSON quoting: the parts a benchmark run
// trusts without a cluster to check them against.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <string>
#include <vector>

#include "kvbench_args.h"
#include "kvbench_keys.h"
#include "kvbench_report.h"
#include "proc_stats.h"

namespace {

using namespace kv::bench;

ParseResult parse(std::vector<std::string> args) { return parse_args(args); }

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

TEST_CASE("kvbench keys: fixed size, index order is byte order, shard placement", "[bench]") {
  REQUIRE(key_name("p", 42, 16) == "p000000000000042");
  REQUIRE(key_name("c1a2b", 7, 16) == "c1a2b00000000007");
  REQUIRE(key_name("p", 123456, 4) == "p123456");  // grows rather than collide
  REQUIRE(key_name("p", 9, 16) < key_name("p", 10, 16));
  // An unbounded first shard takes the fallback prefix; a bounded one its own start key.
  REQUIRE(prefix_inside("", "m", "c", 1000, 16) == std::optional<std::string>("c"));
  REQUIRE(prefix_inside("m", "", "c", 1000, 16) == std::optional<std::string>("m"));
  REQUIRE_FALSE(prefix_inside("", "c00", "c", 1000, 16));   // "c000..." is not below "c00"
  REQUIRE_FALSE(prefix_inside("m", "", "c", 1000, 3));      // 1000 indexes do not fit 3 bytes
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
  RunReport r;
  r.config.workload = Workload::kTxn;
  r.config.cross_shard = true;
  r.available = false;
  r.note = "not available yet";
  const std::string json = format_json(r);
  REQUIRE(json.find("\"workload\":\"txn-cross-shard\"") != std::string::npos);
  REQUIRE(json.find("\"available\":false") != std::string::npos);
  REQUIRE(format_table(r).find("not available yet") != std::string::npos);
}
