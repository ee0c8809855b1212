// Oracle property tests: histories from a simulated correct store (gen.h) must be accepted,
// and the same histories with injected anomalies must be rejected. Seeds are fixed and
// printed on failure; sizes are bounded so the whole file runs in well under 5 s.
#include <chrono>

#include "checker/gen.h"
#include "test_util.h"

using namespace kv::checker;
using namespace kv::checker::test;

namespace {

GenOptions register_options(std::uint64_t seed) {
  GenOptions o;
  o.seed = seed;
  o.ops = 1200;
  o.keys = 4;       // ~300 ops per key
  o.processes = 5;  // concurrent clients per key
  o.info_rate = 0.03;
  o.fail_rate = 0.02;
  return o;
}

CheckResult check_text(const std::string& text, const char* which) {
  const History h = history_of(text);
  std::string error;
  std::optional<CheckResult> r;
  if (std::string(which) == "linear") r = check_linear(h, quick_budget(), &error);
  if (std::string(which) == "append") r = check_append(h, quick_budget(), &error);
  if (std::string(which) == "bank") r = check_bank(h, BankOptions{}, quick_budget(), &error);
  INFO(error);
  REQUIRE(r.has_value());
  return std::move(*r);
}

}  // namespace

TEST_CASE("random: generated register histories are linearizable", "[linear][random]") {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    const std::string text = generate_register_history(register_options(seed));
    const CheckResult r = check_text(text, "linear");
    INFO(report(r));
    CHECK(r.validity() == Validity::valid);
  }
}

TEST_CASE("random: one injected stale read is always caught", "[linear][random]") {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    GenOptions o = register_options(seed);
    o.stale_reads = 1;
    const std::string text = generate_register_history(o);
    REQUIRE(text != generate_register_history(register_options(seed)));  // the injection happened
    const CheckResult r = check_text(text, "linear");
    INFO(report(r));
    CHECK(r.validity() == Validity::invalid);
    CHECK(r.anomaly_counts().at("nonlinearizable") == 1);
  }
}

TEST_CASE("random: high concurrency and many info ops stay within budget", "[linear][random]") {
  GenOptions o = register_options(99);
  o.keys = 1;
  o.ops = 600;
  o.processes = 10;
  o.info_rate = 0.05;
  const auto start = std::chrono::steady_clock::now();
  const CheckResult r = check_text(generate_register_history(o), "linear");
  INFO(report(r));
  CHECK(r.validity() == Validity::valid);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("random: generated list-append histories are strictly serializable", "[append][random]") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    INFO("seed " << seed);
    GenOptions o;
    o.seed = seed;
    o.ops = 1500;
    o.keys = 6;
    o.processes = 6;
    o.info_rate = 0.03;
    const CheckResult r = check_text(generate_append_history(o), "append");
    INFO(report(r));
    CHECK(r.validity() == Validity::valid);
    CHECK(r.stats.find("edges_rw")->as_int() > 0);  // the history has real dependencies
  }
}

TEST_CASE("random: an injected stale list read is caught", "[append][random]") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    INFO("seed " << seed);
    GenOptions o;
    o.seed = seed;
    o.ops = 1500;
    o.keys = 6;
    o.processes = 6;
    o.stale_reads = 1;
    const CheckResult r = check_text(generate_append_history(o), "append");
    INFO(report(r));
    CHECK(r.validity() == Validity::invalid);
  }
}

TEST_CASE("random: generated bank histories conserve money", "[bank][random]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    INFO("seed " << seed);
    GenOptions o;
    o.seed = seed;
    o.ops = 2000;
    const CheckResult r = check_text(generate_bank_history(o), "bank");
    INFO(report(r));
    CHECK(r.validity() == Validity::valid);
    CHECK(r.stats.find("reads_ok")->as_int() > 100);
  }
}
