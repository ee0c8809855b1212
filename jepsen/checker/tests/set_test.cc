// Set checker: no acknowledged add may be lost (Jepsen's set workload).
#include "test_util.h"

using namespace kv::checker;
using namespace kv::checker::test;

namespace {

CheckResult set_check(const std::vector<std::string>& events) {
  History h = history_of(jsonl(events));
  std::string error;
  std::optional<CheckResult> r = check_set(h, quick_budget(), &error);
  INFO(error);
  REQUIRE(r.has_value());
  return std::move(*r);
}

struct Case {
  const char* name;
  std::vector<std::string> events;
  std::vector<std::string> expected;  // anomaly types, sorted; empty = valid
};

}  // namespace

TEST_CASE("set: acknowledged adds survive; indeterminate ones may", "[set]") {
  const std::vector<Case> cases = {
      {"valid: every ok add is read",
       {"0 invoke add - 1", "0 ok add - 1", "1 invoke add - 2", "1 ok add - 2", "2 invoke read - -",
        "2 ok read - [2,1]"},
       {}},
      {"valid: info add present", {"0 invoke add - 1", "0 info add - 1", "1 invoke read - -", "1 ok read - [1]"}, {}},
      {"valid: info add absent", {"0 invoke add - 1", "0 info add - 1", "1 invoke read - -", "1 ok read - []"}, {}},
      {"valid: an add concurrent with the final read may be missing",
       {"1 invoke read - -", "0 invoke add - 1", "0 ok add - 1", "1 ok read - []"},
       {}},
      {"valid: only the last read counts",
       {"1 invoke read - -", "1 ok read - []", "0 invoke add - 1", "0 ok add - 1", "1 invoke read - -",
        "1 ok read - [1]"},
       {}},
      {"lost add",
       {"0 invoke add - 1", "0 ok add - 1", "0 invoke add - 2", "0 ok add - 2", "1 invoke read - -", "1 ok read - [2]"},
       {"lost-add"}},
      {"a failed add is present",
       {"0 invoke add - 1", "0 fail add - 1", "1 invoke read - -", "1 ok read - [1]"},
       {"unexpected-element"}},
      {"an element nobody added", {"1 invoke read - -", "1 ok read - [5]"}, {"unexpected-element"}},
      {"an element read twice",
       {"0 invoke add - 1", "0 ok add - 1", "1 invoke read - -", "1 ok read - [1,1]"},
       {"duplicate-element"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const CheckResult r = set_check(c.events);
    INFO(report(r));
    CHECK(types(r) == c.expected);
    CHECK(r.validity() == (c.expected.empty() ? Validity::valid : Validity::invalid));
  }
}

TEST_CASE("set: the lost add is named with its op", "[set]") {
  const CheckResult r = set_check({"0 invoke add - 7", "0 ok add - 7", "1 invoke read - -", "1 ok read - []"});
  REQUIRE(r.anomalies().size() == 1);
  CHECK(r.anomalies()[0].detail.find("element")->as_int() == 7);
  CHECK(r.anomalies()[0].detail.find("add")->find("index")->as_int() == 0);
  CHECK(r.stats.find("adds_ok")->as_int() == 1);
}

TEST_CASE("set: never read is unknown; bad input is an error", "[set]") {
  CHECK(set_check({"0 invoke add - 1", "0 ok add - 1"}).validity() == Validity::unknown);
  for (const auto& events : std::vector<std::vector<std::string>>{
           {"0 invoke read - -", "0 ok read - 5"},
           {"0 invoke remove - 1", "0 ok remove - 1"},
       }) {
    const History h = history_of(jsonl(events));
    std::string error;
    CHECK_FALSE(check_set(h, quick_budget(), &error).has_value());
  }
}
