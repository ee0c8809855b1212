// The history loader: pairing invocations with completions, time, and input errors.
#include "test_util.h"

using namespace kv::checker;
using namespace kv::checker::test;

TEST_CASE("history: invocations pair with completions per process", "[history]") {
  const History h = history_of(jsonl({
      "0 invoke write x 1",
      "1 invoke read x",
      "1 ok read x 1",
      "0 ok write x 1",
      "1 invoke read x",
      "1 info read x",
      "2 invoke write x 2",  // never completes
      "3 invoke cas x [1,2]",
      "3 fail cas x [1,2]",
  }));
  REQUIRE(h.ops.size() == 5);
  CHECK(h.events == 9);
  CHECK(h.unfinished_ops == 1);
  const Op& w = h.ops[0];
  CHECK(w.f == "write");
  CHECK(w.ok());
  CHECK(w.invoke_t == 1);
  CHECK(w.complete_t == 4);
  CHECK(w.complete_line == 4);
  CHECK(h.ops[1].result == Json(1));
  CHECK(h.ops[2].indeterminate());
  CHECK(h.ops[2].complete_t == kNever);
  CHECK(h.ops[3].indeterminate());  // the unfinished write
  CHECK(h.ops[3].complete_line == 0);
  CHECK(h.ops[4].failed());
  for (std::size_t i = 0; i < h.ops.size(); ++i) CHECK(h.ops[i].index == i);
}

TEST_CASE("history: t_ns orders ops; nemesis events and meta are set aside", "[history]") {
  const std::string text =
      R"({"type":"meta","f":"bank","value":{"total":3}})"
      "\n"
      R"({"t_ns":500,"process":1,"type":"invoke","f":"read","key":"x","node":"n1"})"
      "\n"
      R"({"t_ns":100,"process":0,"type":"invoke","f":"write","key":"x","value":1})"
      "\n"
      R"({"t_ns":150,"process":"nemesis","type":"info","f":"partition","value":"majority"})"
      "\n\n"
      R"({"t_ns":600,"process":1,"type":"ok","f":"read","key":"x","value":1,"error":"ignored field"})"
      "\n"
      R"({"t_ns":700,"process":0,"type":"ok","f":"write","key":"x","value":1})"
      "\n";
  const History h = history_of(text);
  REQUIRE(h.ops.size() == 2);
  CHECK(h.ops[0].f == "write");  // invoked first in time, though logged second
  CHECK(h.ops[0].invoke_t == 100);
  CHECK(h.ops[0].complete_t == 700);
  CHECK(h.ops[1].node == "n1");
  CHECK(h.ignored_events == 1);
  REQUIRE(h.meta.size() == 1);
  CHECK(*h.meta[0].find("f") == Json("bank"));
}

TEST_CASE("history: malformed histories are rejected with the line number", "[history]") {
  struct Case {
    const char* name;
    std::string text;
    const char* expect;  // a substring of the error
  };
  const std::vector<Case> cases = {
      {"not JSON", "{\"process\":0,\n", "line 1"},
      {"not an object", "[1,2]\n", "must be a JSON object"},
      {"no type", R"({"process":0,"f":"read"})", "\"type\""},
      {"unknown type", R"({"process":0,"type":"done","f":"read"})", "unknown type"},
      {"no process", R"({"type":"invoke","f":"read"})", "\"process\""},
      {"no f", R"({"process":0,"type":"invoke"})", "\"f\""},
      {"t_ns not an integer", R"({"t_ns":1.5,"process":0,"type":"invoke","f":"read"})", "t_ns"},
      {"completion without invocation", jsonl({"0 ok read x 1"}), "no open invocation"},
      {"double invocation", jsonl({"0 invoke read x", "0 invoke read x"}), "line 2: process 0 invokes"},
      {"f mismatch", jsonl({"0 invoke read x", "0 ok write x 1"}), "does not match"},
      {"t_ns on some events only",
       R"({"t_ns":1,"process":0,"type":"invoke","f":"read"})"
       "\n"
       R"({"process":0,"type":"ok","f":"read"})",
       "line 2: field \"t_ns\" must be on every event or on none"},
      {"completion before invocation",
       R"({"t_ns":10,"process":0,"type":"invoke","f":"read"})"
       "\n"
       R"({"t_ns":5,"process":0,"type":"ok","f":"read"})",
       "line 2: completion is timestamped before its invocation"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::string error;
    CHECK_FALSE(parse_history(c.text, &error).has_value());
    INFO(error);
    CHECK(error.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("history: an empty file is an empty history; a missing file is an error", "[history]") {
  const History h = history_of("\n  \n");
  CHECK(h.ops.empty());
  std::string error;
  CHECK_FALSE(load_history("/nonexistent/history.jsonl", &error).has_value());
  CHECK(error.find("cannot open") != std::string::npos);
  const CheckResult r = linear({});
  CHECK(r.validity() == Validity::valid);
}

TEST_CASE("history: describe_op reads like a call", "[history]") {
  const History h =
      history_of(jsonl({"0 invoke read x", "0 ok read x 3", "1 invoke cas x [3,4]", "1 info cas x [3,4]"}));
  CHECK(describe_op(h.ops[0]) == "#0 p0 read(\"x\") = 3 ok [1..2] (line 1)");
  CHECK(describe_op(h.ops[1]) == "#1 p1 cas(\"x\", [3,4]) info [3..inf] (line 3)");
}
