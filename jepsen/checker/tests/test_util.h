// Helpers for the checker tests: a compact notation for hand-written histories, and
// one-call runners that parse and check.
//
// Notation: one event per string, whitespace-separated fields
//     "PROCESS TYPE F KEY VALUE"      e.g.  "0 invoke write x 1",  "1 ok read x 1"
// KEY and VALUE are JSON tokens without spaces; a bare word (x) is a string; "-" means
// absent (null). VALUE may be left out. Events are on consecutive lines with no t_ns, so
// the line number is the time: two ops overlap exactly when their lines interleave.
#pragma once

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "checker/append.h"
#include "checker/bank.h"
#include "checker/history.h"
#include "checker/linear.h"
#include "checker/set.h"

namespace kv::checker::test {

inline Json token(const std::string& t) {
  if (t == "-") return Json();
  if (std::optional<Json> j = parse_json(t)) return *j;
  return Json(t);  // a bare word
}

inline std::string jsonl(const std::vector<std::string>& events) {
  std::string out;
  for (const std::string& e : events) {
    std::istringstream in(e);
    std::string process, type, f, key, value;
    in >> process >> type >> f >> key >> value;
    Json j = Json::object();
    j.set("process", token(process));
    j.set("type", type);
    j.set("f", f);
    if (!key.empty() && key != "-") j.set("key", token(key));
    if (!value.empty()) j.set("value", token(value));
    out += j.dump() + "\n";
  }
  return out;
}

inline History history_of(const std::string& text) {
  std::string error;
  std::optional<History> h = parse_history(text, &error);
  INFO(error);
  REQUIRE(h.has_value());
  return std::move(*h);
}

inline Budget quick_budget() {
  Budget b;
  b.time = std::chrono::milliseconds(5000);
  b.threads = 2;
  return b;
}

inline CheckResult linear(const std::vector<std::string>& events, const Budget& b = quick_budget()) {
  History h = history_of(jsonl(events));
  std::string error;
  std::optional<CheckResult> r = check_linear(h, b, &error);
  INFO(error);
  REQUIRE(r.has_value());
  return std::move(*r);
}

inline CheckResult append(const std::vector<std::string>& events, const Budget& b = quick_budget()) {
  History h = history_of(jsonl(events));
  std::string error;
  std::optional<CheckResult> r = check_append(h, b, &error);
  INFO(error);
  REQUIRE(r.has_value());
  return std::move(*r);
}

inline std::vector<std::string> types(const CheckResult& r) {
  std::vector<std::string> t;
  for (const auto& [type, n] : r.anomaly_counts()) t.push_back(type);
  return t;
}

// Everything a failing CHECK should print: the verdict and every anomaly's text.
inline std::string report(const CheckResult& r) { return describe_result(r, "test"); }

}  // namespace kv::checker::test
