// Bank checker: conservation of money across transfers (Jepsen's bank workload).
#include "test_util.h"

using namespace kv::checker;
using namespace kv::checker::test;

namespace {

const char* kMeta = R"({"type":"meta","f":"bank","value":{"accounts":["a","b","c"],"total":30}})";

CheckResult bank(const std::vector<std::string>& events, const BankOptions& o = {}) {
  History h = history_of(std::string(kMeta) + "\n" + jsonl(events));
  std::string error;
  std::optional<CheckResult> r = check_bank(h, o, quick_budget(), &error);
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

TEST_CASE("bank: reads must conserve the total", "[bank]") {
  const std::vector<Case> cases = {
      {"valid: transfers between consistent reads",
       {R"(0 invoke read - -)", R"(0 ok read - {"a":10,"b":10,"c":10})",
        R"(1 invoke transfer - {"from":"a","to":"b","amount":4})", R"(2 invoke read - -)",
        R"(2 ok read - {"a":6,"b":14,"c":10})", R"(1 ok transfer - {"from":"a","to":"b","amount":4})",
        R"(3 invoke transfer - {"from":"c","to":"a","amount":50})",
        R"(3 fail transfer - {"from":"c","to":"a","amount":50})",
        R"(4 invoke transfer - {"from":"b","to":"c","amount":1})",
        R"(4 info transfer - {"from":"b","to":"c","amount":1})", R"(0 invoke read - -)",
        R"(0 ok read - {"a":6,"b":13,"c":11})", R"(5 invoke read - -)", R"(5 info read - -)"},
       {}},
      {"partial transfer: the debit is visible, the credit is not",
       {R"(1 invoke transfer - {"from":"a","to":"b","amount":4})", R"(0 invoke read - -)",
        R"(0 ok read - {"a":6,"b":10,"c":10})", R"(1 ok transfer - {"from":"a","to":"b","amount":4})"},
       {"wrong-total"}},
      {"negative balance (the total still adds up)",
       {R"(0 invoke read - -)", R"(0 ok read - {"a":-5,"b":25,"c":10})"},
       {"negative-balance"}},
      {"missing account", {R"(0 invoke read - -)", R"(0 ok read - {"a":10,"b":20})"}, {"missing-account"}},
      {"null balance counts as missing",
       {R"(0 invoke read - -)", R"(0 ok read - {"a":10,"b":20,"c":null})"},
       {"missing-account"}},
      {"unknown account",
       {R"(0 invoke read - -)", R"(0 ok read - {"a":10,"b":10,"c":10,"zz":0})"},
       {"unexpected-account"}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const CheckResult r = bank(c.events);
    INFO(report(r));
    CHECK(types(r) == c.expected);
    CHECK(r.validity() == (c.expected.empty() ? Validity::valid : Validity::invalid));
  }
}

TEST_CASE("bank: the first bad read is the first to complete", "[bank]") {
  const CheckResult r = bank({
      R"(0 invoke read - -)",  // invoked first, completes last
      R"(1 invoke read - -)",
      R"(1 ok read - {"a":1,"b":1,"c":1})",
      R"(0 ok read - {"a":9,"b":9,"c":9})",
  });
  CHECK(r.validity() == Validity::invalid);
  CHECK(r.stats.find("bad_reads")->as_int() == 2);
  CHECK(r.stats.find("first_bad_read")->find("process")->as_int() == 1);
  REQUIRE(r.anomalies().size() == 2);
  CHECK(r.anomalies()[0].detail.find("sum")->as_int() == 3);
  CHECK(r.anomalies()[0].text.find("balances sum to 3, not 30") != std::string::npos);
}

TEST_CASE("bank: options override the meta event", "[bank]") {
  BankOptions o;
  o.accounts = std::vector<std::string>{"a", "b"};
  o.total = 20;
  const CheckResult r = bank({R"(0 invoke read - -)", R"(0 ok read - {"a":10,"b":10})"}, o);
  CHECK(r.validity() == Validity::valid);
}

TEST_CASE("bank: no successful read is unknown; bad input is an error", "[bank]") {
  CHECK(bank({R"(0 invoke read - -)", R"(0 info read - -)"}).validity() == Validity::unknown);
  const std::vector<std::string> bad_texts = {
      jsonl({R"(0 invoke read - -)", R"(0 ok read - {"a":10,"b":10,"c":10})"}),  // no meta, no options
      std::string(kMeta) + "\n" + jsonl({R"(0 invoke read - -)", R"(0 ok read - [10,10,10])"}),
      std::string(kMeta) + "\n" + jsonl({R"(0 invoke read - -)", R"(0 ok read - {"a":"ten","b":10,"c":10})"}),
      std::string(kMeta) + "\n" + jsonl({R"(0 invoke deposit - 5)", R"(0 ok deposit - 5)"}),
  };
  for (const std::string& text : bad_texts) {
    INFO(text);
    const History h = history_of(text);
    std::string error;
    CHECK_FALSE(check_bank(h, BankOptions{}, quick_budget(), &error).has_value());
    CHECK_FALSE(error.empty());
  }
}
