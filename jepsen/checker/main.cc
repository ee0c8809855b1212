// kvcheck: checks one history file and writes a JSON verdict. Usage in README.md.
// Exit status: 0 valid, 1 invalid, 2 unknown, 3 usage or input error.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "checker/append.h"
#include "checker/bank.h"
#include "checker/gen.h"
#include "checker/linear.h"
#include "checker/set.h"

namespace {

using namespace kv::checker;

constexpr int kUsageError = 3;

constexpr const char* kUsage =
    "usage: kvcheck linear|bank|append|set HISTORY.jsonl [--out RESULTS.json] [--budget-seconds N]\n"
    "                 [--memory-mb N] [--threads N] [--max-reports N] [--quiet]\n"
    "                 bank only: [--accounts a,b,c --total N] (default: the history's meta event)\n"
    "       kvcheck gen register|append|bank [--out HISTORY.jsonl] [--ops N] [--processes N] [--keys N]\n"
    "                 [--seed N] [--info-rate X] [--fail-rate X] [--stale-reads N]\n"
    "exit status: 0 valid, 1 invalid, 2 unknown, 3 usage or input error\n";

struct Args {
  std::string command;
  std::string target;  // history path, or generator name
  std::string out;
  bool quiet = false;
  Budget budget;
  BankOptions bank;
  GenOptions gen;
};

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "kvcheck: " << why << "\n" << kUsage;
  std::exit(kUsageError);
}

double number_arg(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || d < 0) usage_error(flag + " needs a non-negative number, got \"" + v + "\"");
  return d;
}

std::size_t count_arg(const std::string& flag, const std::string& v) {
  const double d = number_arg(flag, v);
  if (d != static_cast<double>(static_cast<std::size_t>(d))) usage_error(flag + " needs a whole number");
  return static_cast<std::size_t>(d);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string p; std::getline(in, p, ',');) {
    if (!p.empty()) parts.push_back(p);
  }
  return parts;
}

// Applies one "--flag value" pair; false when the flag is unknown.
bool apply_flag(Args& a, const std::string& flag, const std::string& v) {
  if (flag == "--out")
    a.out = v;
  else if (flag == "--budget-seconds")
    a.budget.time = std::chrono::milliseconds(static_cast<std::int64_t>(number_arg(flag, v) * 1000));
  else if (flag == "--memory-mb")
    a.budget.memory_bytes = count_arg(flag, v) << 20;
  else if (flag == "--threads")
    a.budget.threads = static_cast<unsigned>(count_arg(flag, v));
  else if (flag == "--max-reports")
    a.budget.max_reports_per_type = count_arg(flag, v);
  else if (flag == "--accounts")
    a.bank.accounts = split_commas(v);
  else if (flag == "--total")
    a.bank.total = static_cast<std::int64_t>(count_arg(flag, v));
  else if (flag == "--ops")
    a.gen.ops = count_arg(flag, v);
  else if (flag == "--processes")
    a.gen.processes = std::max<std::size_t>(1, count_arg(flag, v));
  else if (flag == "--keys")
    a.gen.keys = std::max<std::size_t>(1, count_arg(flag, v));
  else if (flag == "--seed")
    a.gen.seed = count_arg(flag, v);
  else if (flag == "--info-rate")
    a.gen.info_rate = number_arg(flag, v);
  else if (flag == "--fail-rate")
    a.gen.fail_rate = number_arg(flag, v);
  else if (flag == "--stale-reads")
    a.gen.stale_reads = count_arg(flag, v);
  else
    return false;
  return true;
}

Args parse_args(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  Args a;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--help" || w == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (w == "--quiet") {
      a.quiet = true;
    } else if (w.rfind("--", 0) == 0) {
      if (i + 1 >= words.size()) usage_error(w + " needs a value");
      if (!apply_flag(a, w, words[i + 1])) usage_error("unknown option " + w);
      ++i;
    } else {
      positional.push_back(w);
    }
  }
  if (positional.size() != 2) usage_error("expected a command and a history file");
  a.command = positional[0];
  a.target = positional[1];
  return a;
}

// Writes `text` to `path`, or to stdout when path is empty. False on I/O failure.
bool write_output(const std::string& path, const std::string& text) {
  if (path.empty()) {
    std::cout << text;
    return static_cast<bool>(std::cout.flush());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

int run_generator(const Args& a) {
  std::string text;
  if (a.target == "register")
    text = generate_register_history(a.gen);
  else if (a.target == "append")
    text = generate_append_history(a.gen);
  else if (a.target == "bank")
    text = generate_bank_history(a.gen);
  else
    usage_error("unknown generator \"" + a.target + "\"");
  if (!write_output(a.out, text)) usage_error("cannot write " + a.out);
  return 0;
}

int run_checker(const Args& a) {
  const std::string name = a.command == "elle-append" ? "append" : a.command;
  if (name != "linear" && name != "bank" && name != "append" && name != "set") {
    usage_error("unknown command \"" + a.command + "\"");
  }
  std::string error;
  std::optional<History> h = load_history(a.target, &error);
  if (!h) {
    std::cerr << "kvcheck: " << a.target << ": " << error << "\n";
    return kUsageError;
  }
  std::optional<CheckResult> r;
  if (name == "linear")
    r = check_linear(*h, a.budget, &error);
  else if (name == "bank")
    r = check_bank(*h, a.bank, a.budget, &error);
  else if (name == "append")
    r = check_append(*h, a.budget, &error);
  else
    r = check_set(*h, a.budget, &error);
  if (!r) {
    std::cerr << "kvcheck: " << a.target << ": " << error << "\n";
    return kUsageError;
  }
  Json verdict = result_to_json(*r, name);
  verdict.set("history", a.target);
  if (!write_output(a.out, verdict.dump_pretty() + "\n")) {
    std::cerr << "kvcheck: cannot write " << a.out << "\n";
    return kUsageError;
  }
  // People read stderr; stdout (without --out) stays pure JSON for tools.
  if (!a.quiet) std::cerr << describe_result(*r, name);
  return exit_code(r->validity());
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  return a.command == "gen" ? run_generator(a) : run_checker(a);
}
