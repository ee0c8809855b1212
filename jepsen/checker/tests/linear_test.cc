// Linearizability checker on hand-written register histories (Herlihy & Wing 1990 for the
// definition; Jepsen's :info semantics for indeterminate ops). Line order is time: ops
// overlap exactly when their lines interleave.
#include <chrono>

#include "test_util.h"

using namespace kv::checker;
using namespace kv::checker::test;

namespace {

struct Case {
  const char* name;
  std::vector<std::string> events;
};

}  // namespace

TEST_CASE("linear: valid histories are accepted", "[linear]") {
  const std::vector<Case> cases = {
      {"empty register reads null", {"0 invoke read x", "0 ok read x null"}},
      {"sequential write then read", {"0 invoke write x 1", "0 ok write x 1", "1 invoke read x", "1 ok read x 1"}},
      {"read concurrent with a write sees the old value",
       {"0 invoke write x 1", "1 invoke read x", "1 ok read x null", "0 ok write x 1"}},
      {"read concurrent with a write sees the new value",
       {"0 invoke write x 1", "1 invoke read x", "1 ok read x 1", "0 ok write x 1"}},
      {"concurrent writes, later read sees the first-invoked (order w2 w1)",
       {"0 invoke write x 1", "1 invoke write x 2", "0 ok write x 1", "1 ok write x 2", "2 invoke read x",
        "2 ok read x 1"}},
      {"concurrent writes, later read sees the second-invoked (order w1 w2)",
       {"0 invoke write x 1", "1 invoke write x 2", "0 ok write x 1", "1 ok write x 2", "2 invoke read x",
        "2 ok read x 2"}},
      {"three concurrent writes and two concurrent reads needing a middle order",
       {"0 invoke write x 1", "1 invoke write x 2", "2 invoke write x 3", "3 invoke read x", "4 invoke read x",
        "3 ok read x 2", "4 ok read x 1", "0 ok write x 1", "1 ok write x 2", "2 ok write x 3"}},
      {"info write that happened", {"0 invoke write x 5", "0 info write x 5", "1 invoke read x", "1 ok read x 5"}},
      {"info write that did not happen",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke write x 5", "1 info write x 5", "2 invoke read x",
        "2 ok read x 1"}},
      {"info write that happens late, after several reads",
       {"0 invoke write x 5", "0 info write x 5", "1 invoke read x", "1 ok read x null", "1 invoke read x",
        "1 ok read x null", "1 invoke read x", "1 ok read x 5"}},
      {"unfinished invocation counts as info", {"0 invoke write x 7", "1 invoke read x", "1 ok read x 7"}},
      {"failed write never happened",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke write x 9", "1 fail write x 9", "2 invoke read x",
        "2 ok read x 1"}},
      {"cas chain",
       {"0 invoke write x 1", "0 ok write x 1", "0 invoke cas x [1,2]", "0 ok cas x [1,2]", "1 invoke read x",
        "1 ok read x 2"}},
      {"failed cas changes nothing",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke cas x [5,6]", "1 fail cas x [5,6]", "2 invoke read x",
        "2 ok read x 1"}},
      {"info cas that happened",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke cas x [1,2]", "1 info cas x [1,2]", "2 invoke read x",
        "2 ok read x 2"}},
      {"info read is dropped, whatever it claims",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke read x", "1 info read x 42"}},
      {"keys are independent",
       {"0 invoke write x 1", "1 invoke write y 2", "0 ok write x 1", "1 ok write y 2", "2 invoke read y",
        "3 invoke read x", "2 ok read y 2", "3 ok read x 1"}},
      {"structured values compare structurally",
       {"0 invoke write k {\"a\":[1,2]}", "0 ok write k {\"a\":[1,2]}", "1 invoke read k",
        "1 ok read k {\"a\":[1,2]}"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const CheckResult r = linear(c.events);
    INFO(report(r));
    CHECK(r.validity() == Validity::valid);
  }
}

TEST_CASE("linear: invalid histories are rejected", "[linear]") {
  const std::vector<Case> cases = {
      {"stale read",
       {"0 invoke write x 1", "0 ok write x 1", "0 invoke write x 2", "0 ok write x 2", "1 invoke read x",
        "1 ok read x 1"}},
      {"lost write", {"0 invoke write x 1", "0 ok write x 1", "1 invoke read x", "1 ok read x null"}},
      {"two cas from the same value both succeed",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke cas x [1,2]", "1 ok cas x [1,2]", "2 invoke cas x [1,3]",
        "2 ok cas x [1,3]"}},
      {"cas succeeds against the wrong value",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke cas x [7,8]", "1 ok cas x [7,8]"}},
      {"read of a failed write", {"0 invoke write x 9", "0 fail write x 9", "1 invoke read x", "1 ok read x 9"}},
      {"read of a value never written", {"0 invoke read x", "0 ok read x 3"}},
      {"info write applied, then the register goes back",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke write x 2", "1 info write x 2", "2 invoke read x",
        "2 ok read x 2", "2 invoke read x", "2 ok read x 1"}},
      {"new-then-old reads while a write is in flight",
       {"0 invoke write x 1", "0 ok write x 1", "1 invoke write x 2", "2 invoke read x", "2 ok read x 2",
        "3 invoke read x", "3 ok read x 1", "1 ok write x 2"}},
      {"one bad key among good ones",
       {"0 invoke write y 1", "0 ok write y 1", "1 invoke write x 1", "1 ok write x 1", "1 invoke write x 2",
        "1 ok write x 2", "2 invoke read x", "2 ok read x 1", "3 invoke read y", "3 ok read y 1"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const CheckResult r = linear(c.events);
    INFO(report(r));
    CHECK(r.validity() == Validity::invalid);
    CHECK(types(r) == std::vector<std::string>{"nonlinearizable"});
    CHECK(r.anomaly_counts().at("nonlinearizable") == 1);
  }
}

TEST_CASE("linear: the counterexample names the op, the prefix and the possible values", "[linear]") {
  const CheckResult r = linear({
      "0 invoke write x 1", "0 ok write x 1",  // #0
      "0 invoke write x 2", "0 ok write x 2",  // #1
      "1 invoke read x", "1 ok read x 2",      // #2
      "1 invoke read x", "1 ok read x 1",      // #3: stale
      "2 invoke read x", "2 ok read x 2",      // #4
  });
  REQUIRE(r.anomalies().size() == 1);
  const Anomaly& a = r.anomalies()[0];
  INFO(a.text);
  CHECK(a.detail.find("key")->as_string() == "x");
  CHECK(a.detail.find("op")->find("index")->as_int() == 3);
  CHECK(a.detail.find("linearizable_prefix_ops")->as_int() == 3);
  CHECK(*a.detail.find("possible_values") == Json(Json::Array{2}));
  const Json& tail = *a.detail.find("witness_tail");
  REQUIRE(tail.size() == 3);
  CHECK(tail.as_array()[2].find("index")->as_int() == 2);
  CHECK(a.text.find("no linearization can place #3 p1 read(\"x\") = 1") != std::string::npos);
  CHECK(a.text.find("can hold only: 2") != std::string::npos);
  const Json verdict = result_to_json(r, "linear");
  CHECK(*verdict.find("valid") == Json(false));
  CHECK(verdict.find("anomalies")->as_array()[0].find("type")->as_string() == "nonlinearizable");
}

TEST_CASE("linear: malformed register ops are input errors", "[linear]") {
  for (const auto& events : std::vector<std::vector<std::string>>{
           {"0 invoke cas x 1", "0 ok cas x 1"},
           {"0 invoke cas x [1,2,3]", "0 ok cas x [1,2,3]"},
           {"0 invoke incr x 1", "0 ok incr x 1"},
       }) {
    const History h = history_of(jsonl(events));
    std::string error;
    CHECK_FALSE(check_linear(h, quick_budget(), &error).has_value());
    CHECK_FALSE(error.empty());
  }
}

// Many fully concurrent writes followed by an impossible read: the search must try every
// order of every subset before it can say "invalid", far beyond any budget.
std::vector<std::string> exploding_history(int writers) {
  std::vector<std::string> ev;
  for (int p = 0; p < writers; ++p) ev.push_back(std::to_string(p) + " invoke write x " + std::to_string(p + 1));
  for (int p = 0; p < writers; ++p) ev.push_back(std::to_string(p) + " ok write x " + std::to_string(p + 1));
  ev.push_back("99 invoke read x");
  ev.push_back("99 ok read x 12345");
  return ev;
}

TEST_CASE("linear: a history beyond the time budget is unknown, quickly", "[linear][budget]") {
  Budget b = quick_budget();
  b.time = std::chrono::milliseconds(200);
  const auto start = std::chrono::steady_clock::now();
  const CheckResult r = linear(exploding_history(22), b);
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(report(r));
  CHECK(r.validity() == Validity::unknown);
  REQUIRE(r.unknown_reasons().size() == 1);
  CHECK(r.unknown_reasons()[0].find("budget exceeded") != std::string::npos);
  CHECK(took < std::chrono::seconds(2));
}

TEST_CASE("linear: a history beyond the memory budget is unknown", "[linear][budget]") {
  Budget b = quick_budget();
  b.memory_bytes = 1 << 20;
  const CheckResult r = linear(exploding_history(22), b);
  INFO(report(r));
  CHECK(r.validity() == Validity::unknown);
  REQUIRE(r.unknown_reasons().size() == 1);
  CHECK(r.unknown_reasons()[0].find("memory") != std::string::npos);
}

TEST_CASE("linear: the same shape, small enough, is decided", "[linear][budget]") {
  const CheckResult r = linear(exploding_history(8));
  CHECK(r.validity() == Validity::invalid);
}
