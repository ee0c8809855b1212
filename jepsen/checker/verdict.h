// What every checker returns: a three-valued verdict, the anomalies found, and statistics.
// The JSON form is the contract with the harness (jepsen/checker/README.md, "Verdict").
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "checker/json.h"

namespace kv::checker {

enum class Validity {
  valid,    // no anomaly found and the search was complete
  invalid,  // at least one anomaly (a definite violation) found
  unknown,  // no anomaly found, but the check could not finish (budget) or had nothing to check
};

std::string_view validity_name(Validity v);
// The CLI's exit status: 0 valid, 1 invalid, 2 unknown (3 is usage/input error, not here).
int exit_code(Validity v);

struct Anomaly {
  std::string type;  // the anomaly's name, e.g. "G-single", "nonlinearizable", "lost-add"
  std::string text;  // one readable paragraph (may span lines) for people
  Json detail;       // a JSON object: the ops, keys, cycle, ... for tools
};

// Checker limits. A limit that is hit turns a would-be "valid" into "unknown", never into
// "invalid": only evidence makes a history invalid.
struct Budget {
  // Wall-clock time for one search unit (linear: one key; append: the cycle search).
  // Default: 60 s.
  std::chrono::milliseconds time{60'000};
  // Memory for one search unit's memo table (linear: one key). Default: 1 GiB.
  std::size_t memory_bytes = std::size_t{1} << 30;
  // Worker threads (linear: keys checked in parallel). 0 means hardware_concurrency().
  unsigned threads = 0;
  // Reports kept per anomaly type; the rest are only counted. Default: 20.
  std::size_t max_reports_per_type = 20;
};

class CheckResult {
 public:
  // Records an anomaly: counted always, kept while fewer than max_per_type of its type are
  // kept. Makes the result invalid.
  void add_anomaly(Anomaly a, std::size_t max_per_type);
  // Marks the result unknown (unless it is already invalid) with a reason for the report.
  void mark_unknown(std::string reason);

  Validity validity() const;
  const std::vector<Anomaly>& anomalies() const { return anomalies_; }
  const std::map<std::string, std::size_t>& anomaly_counts() const { return counts_; }
  const std::vector<std::string>& unknown_reasons() const { return unknown_reasons_; }
  bool has(std::string_view type) const { return counts_.count(std::string(type)) != 0; }

  // Checker-specific numbers (ops checked, keys, time); merged into the "stats" object.
  Json stats = Json::object();

 private:
  std::vector<Anomaly> anomalies_;
  std::map<std::string, std::size_t> counts_;
  std::vector<std::string> unknown_reasons_;
};

// {"checker":..,"valid":true|false|"unknown","anomaly_types":[..],"anomalies":[..],
//  "unknown_reasons":[..],"stats":{..}}
Json result_to_json(const CheckResult& r, std::string_view checker);
// A short report for a terminal: verdict line, then each kept anomaly's text.
std::string describe_result(const CheckResult& r, std::string_view checker);

}  // namespace kv::checker
