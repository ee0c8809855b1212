// Elle list-append checker on hand-written histories, one per anomaly class (Adya's thesis
// §3-4 for G0/G1a/G1b/G1c/G-single/G2; Kingsbury & Alvaro, VLDB 2020, §4-5 for the
// list-append inference and the real-time variants). Line order is time.
#include "test_util.h"

using namespace kv::checker;
using namespace kv::checker::test;

namespace {

std::string inv(int p, const std::string& mops) { return std::to_string(p) + " invoke txn - " + mops; }
std::string ok(int p, const std::string& mops) { return std::to_string(p) + " ok txn - " + mops; }
std::string fail(int p, const std::string& mops) { return std::to_string(p) + " fail txn - " + mops; }
std::string info(int p, const std::string& mops) { return std::to_string(p) + " info txn - " + mops; }

struct Case {
  const char* name;
  std::vector<std::string> events;
  std::vector<std::string> expected;  // anomaly types, sorted; empty = valid
};

}  // namespace

TEST_CASE("append: each anomaly class is found and named exactly", "[append]") {
  const std::vector<Case> cases = {
      {"valid: concurrent appends and reads, several keys",
       {inv(0, R"([["append","x",1]])"), inv(1, R"([["append","x",2]])"), inv(2, R"([["r","x",null]])"),
        ok(1, R"([["append","x",2]])"), ok(0, R"([["append","x",1]])"), ok(2, R"([["r","x",[2,1]]])"),
        inv(3, R"([["r","x",null],["append","y",1]])"), inv(4, R"([["r","y",null]])"), ok(4, R"([["r","y",[]]])"),
        ok(3, R"([["r","x",[2,1]],["append","y",1]])"), inv(5, R"([["r","y",null],["append","y",2],["r","y",null]])"),
        ok(5, R"([["r","y",[1]],["append","y",2],["r","y",[1,2]]])")},
       {}},
      {"valid: an info txn whose append was read counts as committed",
       {inv(0, R"([["append","x",1]])"), info(0, R"([["append","x",1]])"), inv(1, R"([["r","x",null]])"),
        ok(1, R"([["r","x",[1]]])"), inv(2, R"([["append","x",9]])"), info(2, R"([["append","x",9]])")},
       {}},
      {"G0: write cycle",
       {inv(0, R"([["append","x",1],["append","y",2]])"), inv(1, R"([["append","x",2],["append","y",1]])"),
        ok(0, R"([["append","x",1],["append","y",2]])"), ok(1, R"([["append","x",2],["append","y",1]])"),
        inv(2, R"([["r","x",null],["r","y",null]])"), ok(2, R"([["r","x",[1,2]],["r","y",[1,2]]])")},
       {"G0"}},
      {"G1a: aborted read",
       {inv(0, R"([["append","x",1]])"), fail(0, R"([["append","x",1]])"), inv(1, R"([["r","x",null]])"),
        ok(1, R"([["r","x",[1]]])")},
       {"G1a"}},
      // An intermediate read is also a 2-cycle: #1 -rw-> #0 (2 came after 1) -wr-> #1.
      {"G1b: intermediate read",
       {inv(0, R"([["append","x",1],["append","x",2]])"), inv(1, R"([["r","x",null]])"), ok(1, R"([["r","x",[1]]])"),
        ok(0, R"([["append","x",1],["append","x",2]])")},
       {"G-single", "G1b"}},
      {"G1c: circular information flow",
       {inv(0, R"([["append","x",1],["r","y",null]])"), inv(1, R"([["append","y",1],["r","x",null]])"),
        ok(0, R"([["append","x",1],["r","y",[1]]])"), ok(1, R"([["append","y",1],["r","x",[1]]])")},
       {"G1c"}},
      {"G-single: read skew (txn 2 only reveals x's version order)",
       {inv(2, R"([["r","x",null]])"), inv(0, R"([["r","x",null],["r","y",null]])"),
        inv(1, R"([["append","x",1],["append","y",1]])"), ok(1, R"([["append","x",1],["append","y",1]])"),
        ok(0, R"([["r","x",[]],["r","y",[1]]])"), ok(2, R"([["r","x",[1]]])")},
       {"G-single"}},
      {"G2: write skew",
       {inv(0, R"([["r","x",null],["append","y",1]])"), inv(1, R"([["r","y",null],["append","x",1]])"),
        ok(0, R"([["r","x",[]],["append","y",1]])"), ok(1, R"([["r","y",[]],["append","x",1]])"),
        inv(2, R"([["r","x",null],["r","y",null]])"), ok(2, R"([["r","x",[1]],["r","y",[1]]])")},
       {"G2"}},
      {"G-single-realtime: a stale read after the append completed (serializable, not strict)",
       {inv(0, R"([["append","x",1]])"), ok(0, R"([["append","x",1]])"), inv(1, R"([["r","x",null]])"),
        ok(1, R"([["r","x",[]]])"), inv(2, R"([["r","x",null]])"), ok(2, R"([["r","x",[1]]])")},
       {"G-single-realtime"}},
      {"G0-realtime: versions ordered against real time",
       {inv(0, R"([["append","x",1]])"), ok(0, R"([["append","x",1]])"), inv(1, R"([["append","x",2]])"),
        ok(1, R"([["append","x",2]])"), inv(2, R"([["r","x",null]])"), ok(2, R"([["r","x",[2,1]]])")},
       {"G0-realtime"}},
      {"incompatible-order",
       {inv(0, R"([["append","x",1]])"), inv(1, R"([["append","x",2]])"), inv(2, R"([["r","x",null]])"),
        inv(3, R"([["r","x",null]])"), ok(0, R"([["append","x",1]])"), ok(1, R"([["append","x",2]])"),
        ok(2, R"([["r","x",[1,2]]])"), ok(3, R"([["r","x",[2,1]]])")},
       {"incompatible-order"}},
      {"duplicate-elements",
       {inv(0, R"([["append","x",1]])"), ok(0, R"([["append","x",1]])"), inv(1, R"([["r","x",null]])"),
        ok(1, R"([["r","x",[1,1]]])")},
       {"duplicate-elements"}},
      {"garbage-read", {inv(0, R"([["r","x",null]])"), ok(0, R"([["r","x",[7]]])")}, {"garbage-read"}},
      {"internal: a txn that does not see its own append",
       {inv(0, R"([["append","x",5],["r","x",null]])"), ok(0, R"([["append","x",5],["r","x",[]]])")},
       {"internal"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const CheckResult r = append(c.events);
    INFO(report(r));
    CHECK(types(r) == c.expected);
    CHECK(r.validity() == (c.expected.empty() ? Validity::valid : Validity::invalid));
  }
}

TEST_CASE("append: a cycle report lists the txns and explains every edge", "[append]") {
  const CheckResult r =
      append({inv(0, R"([["r","x",null],["r","y",null]])"), inv(1, R"([["append","x",1],["append","y",1]])"),
              inv(2, R"([["r","x",null]])"), ok(1, R"([["append","x",1],["append","y",1]])"),
              ok(0, R"([["r","x",[]],["r","y",[1]]])"), ok(2, R"([["r","x",[1]]])")});
  REQUIRE(r.anomalies().size() == 1);
  const Anomaly& a = r.anomalies()[0];
  INFO(a.text);
  CHECK(a.type == "G-single");
  const Json& steps = *a.detail.find("steps");
  REQUIRE(steps.size() == 2);
  std::vector<std::string> kinds;
  for (const Json& s : steps.as_array()) kinds.push_back(s.find("kind")->as_string());
  std::sort(kinds.begin(), kinds.end());
  CHECK(kinds == std::vector<std::string>{"rw", "wr"});
  CHECK(a.detail.find("cycle")->size() == 2);
  CHECK(a.text.find("#0 read it empty, then #1 appended 1, the next version") != std::string::npos);
  CHECK(a.text.find("#1 -wr-> #0") != std::string::npos);
}

TEST_CASE("append: a G1a report names the failed writer", "[append]") {
  const CheckResult r = append({inv(0, R"([["append","x",1]])"), fail(0, R"([["append","x",1]])"),
                                inv(1, R"([["r","x",null]])"), ok(1, R"([["r","x",[1]]])")});
  REQUIRE(r.anomalies().size() == 1);
  CHECK(r.anomalies()[0].detail.find("writer")->find("index")->as_int() == 0);
  CHECK(r.anomalies()[0].detail.find("op")->find("index")->as_int() == 1);
}

TEST_CASE("append: histories the inference cannot use are input errors", "[append]") {
  const std::vector<std::vector<std::string>> bad = {
      {inv(0, R"([["append","x",1]])"), ok(0, R"([["append","x",1]])"), inv(1, R"([["append","x",1]])"),
       ok(1, R"([["append","x",1]])")},                                         // the same element appended twice
      {"0 invoke read x", "0 ok read x 1"},                                     // not a txn
      {inv(0, R"([["put","x",1]])"), ok(0, R"([["put","x",1]])")},              // unknown micro-op
      {inv(0, R"([["append","x",null]])"), ok(0, R"([["append","x",null]])")},  // null element
      {inv(0, R"([["r","x",5]])"), ok(0, R"([["r","x",5]])")},                  // a read that is not a list
      {inv(0, R"({"a":1})"), ok(0, R"({"a":1})")},                              // not a list of micro-ops
  };
  for (const auto& events : bad) {
    INFO(events[0]);
    const History h = history_of(jsonl(events));
    std::string error;
    CHECK_FALSE(check_append(h, quick_budget(), &error).has_value());
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("append: no successful txn means unknown", "[append]") {
  const CheckResult r = append({inv(0, R"([["append","x",1]])"), info(0, R"([["append","x",1]])")});
  CHECK(r.validity() == Validity::unknown);
}
