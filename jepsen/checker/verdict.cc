#include "checker/verdict.h"

#include <utility>

#include "checker/check_assert.h"

namespace kv::checker {

std::string_view validity_name(Validity v) {
  switch (v) {
    case Validity::valid:
      return "valid";
    case Validity::invalid:
      return "invalid";
    case Validity::unknown:
      return "unknown";
  }
  return "?";
}

int exit_code(Validity v) {
  switch (v) {
    case Validity::valid:
      return 0;
    case Validity::invalid:
      return 1;
    case Validity::unknown:
      return 2;
  }
  return 2;
}

void CheckResult::add_anomaly(Anomaly a, std::size_t max_per_type) {
  CHECKER_ASSERT(!a.type.empty());
  std::size_t& n = counts_[a.type];
  ++n;
  if (n <= max_per_type) anomalies_.push_back(std::move(a));
}

void CheckResult::mark_unknown(std::string reason) {
  CHECKER_ASSERT(!reason.empty());
  unknown_reasons_.push_back(std::move(reason));
}

Validity CheckResult::validity() const {
  if (!counts_.empty()) return Validity::invalid;
  if (!unknown_reasons_.empty()) return Validity::unknown;
  return Validity::valid;
}

Json result_to_json(const CheckResult& r, std::string_view checker) {
  Json j = Json::object();
  j.set("checker", checker);
  switch (r.validity()) {
    case Validity::valid:
      j.set("valid", true);
      break;
    case Validity::invalid:
      j.set("valid", false);
      break;
    case Validity::unknown:
      j.set("valid", "unknown");
      break;
  }
  Json types = Json::array();
  Json counts = Json::object();
  for (const auto& [type, n] : r.anomaly_counts()) {
    types.push_back(type);
    counts.set(type, static_cast<std::int64_t>(n));
  }
  j.set("anomaly_types", std::move(types));
  Json anomalies = Json::array();
  for (const Anomaly& a : r.anomalies()) {
    Json e = a.detail.is_object() ? a.detail : Json::object();
    e.set("type", a.type);
    e.set("text", a.text);
    anomalies.push_back(std::move(e));
  }
  j.set("anomalies", std::move(anomalies));
  Json reasons = Json::array();
  for (const auto& s : r.unknown_reasons()) reasons.push_back(s);
  j.set("unknown_reasons", std::move(reasons));
  Json stats = r.stats;
  stats.set("anomaly_counts", std::move(counts));
  j.set("stats", std::move(stats));
  return j;
}

std::string describe_result(const CheckResult& r, std::string_view checker) {
  std::string s(checker);
  s += ": ";
  s += validity_name(r.validity());
  for (const auto& [type, n] : r.anomaly_counts()) s += "  " + type + "=" + std::to_string(n);
  s += "\n";
  for (const auto& reason : r.unknown_reasons()) s += "  unknown: " + reason + "\n";
  for (const Anomaly& a : r.anomalies()) s += "\n[" + a.type + "] " + a.text + "\n";
  return s;
}

}  // namespace kv::checker
