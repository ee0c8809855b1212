// kv_sim: the deterministic simulator's command line.
//
//   kv_sim --seeds 1-500            run a range of seeds, print a summary
//   kv_sim --seed 42 --trace        replay one seed, printing every event
//   kv_sim --seeds 1-2000 --fork    run each seed in a child process (survives aborts)
//   kv_sim --seeds 1-2000 --expect-failure
//                                   for mutant builds: succeed iff some seed breaks safety
//                                   (a checker violation or a core assertion; a liveness
//                                   failure proves nothing about a safety mutation and does
//                                   not count); implies --fork
//
// Exit status: 0 when every seed passed (with --expect-failure: when one failed), else 1.
// Output is a function of the arguments only: no timings, addresses or clocks, so two runs
// with the same arguments print the same bytes.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <sys/wait.h>
#include <unistd.h>

#include "sim/scenario.h"

namespace {

using kv::sim::SimResult;

struct Options {
  std::uint64_t first = 1;
  std::uint64_t last = 100;
  bool trace = false;
  bool fork = false;
  bool expect_failure = false;
};

constexpr std::size_t kTailLines = 40;
constexpr int kMaxFailuresShown = 10;

// The seed being run, preformatted so that the SIGABRT handler needs no allocation.
char g_abort_note[160] = "sim: aborted\n";

extern "C" void on_abort(int) {
  const ssize_t ignored = write(STDERR_FILENO, g_abort_note, std::strlen(g_abort_note));
  (void)ignored;
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

void note_seed(std::uint64_t seed) {
  std::snprintf(g_abort_note, sizeof g_abort_note,
                "sim: seed %llu aborted (an assertion fired); replay: kv_sim --seed %llu --trace\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

bool parse_range(std::string_view text, Options& o) {
  const auto dash = text.find('-');
  const auto a = parse_number(text.substr(0, dash));
  const auto b = dash == std::string_view::npos ? a : parse_number(text.substr(dash + 1));
  if (!a || !b || *a > *b) return false;
  o.first = *a;
  o.last = *b;
  return true;
}

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if ((arg == "--seeds" || arg == "--seed") && has_value) {
      if (!parse_range(argv[++i], o)) return std::nullopt;
    } else if (arg == "--trace") {
      o.trace = true;
    } else if (arg == "--fork") {
      o.fork = true;
    } else if (arg == "--expect-failure") {
      o.expect_failure = o.fork = true;
    } else {
      return std::nullopt;
    }
  }
  return o;
}

// Re-runs a failed seed with the trace kept in memory and prints its last events.
void print_failure(const SimResult& r) {
  std::cout << "sim: seed " << r.seed << " FAILED (" << r.node_count << " nodes, step " << r.steps
            << "): " << r.violation << "\n";
  kv::sim::Trace tail;
  tail.keep_tail(kTailLines);
  (void)kv::sim::run_seed(r.seed, tail);
  std::cout << "sim: last " << tail.tail().size() << " events of seed " << r.seed << ":\n";
  for (const auto& line : tail.tail()) std::cout << "  " << line << "\n";
  std::cout << "sim: replay: kv_sim --seed " << r.seed << " --trace\n" << std::flush;
}

struct Totals {
  std::uint64_t passed = 0;
  std::uint64_t three = 0;
  std::uint64_t five = 0;
  std::uint64_t steps = 0;
  std::uint64_t failed = 0;
  std::uint64_t liveness_failed = 0;
  std::uint64_t first_failure = 0;
  std::string first_reason;
  std::uint64_t first_safety_failure = 0;
  std::string first_safety_reason;
  // The passing seed whose liveness phase used the largest share of its budget.
  std::uint64_t liveness_percent = 0;
  std::uint64_t liveness_seed = 0;

  void add(const SimResult& r) {
    steps += r.steps;
    if (r.ok && r.liveness_budget > 0 && 100 * r.liveness_time / r.liveness_budget >= liveness_percent) {
      liveness_percent = 100 * r.liveness_time / r.liveness_budget;
      liveness_seed = r.seed;
    }
    (r.node_count == 3 ? three : five) += 1;
    if (r.ok) {
      ++passed;
      return;
    }
    if (failed++ == 0) {
      first_failure = r.seed;
      first_reason = r.violation;
    }
    if (r.liveness_failure) {
      ++liveness_failed;
    } else if (failed - liveness_failed == 1) {
      first_safety_failure = r.seed;
      first_safety_reason = r.violation;
    }
  }
  std::uint64_t safety_failed() const { return failed - liveness_failed; }
};

// Child side of --fork: runs one seed; its stderr goes to the parent through a pipe, and
// its last line there is "@@result <nodes> <steps> <ok> <liveness_failure>" (never seen
// when an assertion aborts the child first).
[[noreturn]] void run_child(std::uint64_t seed, bool trace, int pipe_fd) {
  dup2(pipe_fd, STDERR_FILENO);
  close(pipe_fd);
  kv::sim::Trace t(trace ? &std::cout : nullptr);
  const SimResult r = kv::sim::run_seed(seed, t);
  if (!r.ok) print_failure(r);
  std::cout << std::flush;
  std::fprintf(stderr, "@@violation %s\n@@result %d %llu %d %d\n", r.violation.c_str(), r.node_count,
               static_cast<unsigned long long>(r.steps), r.ok ? 1 : 0, r.liveness_failure ? 1 : 0);
  std::fflush(stderr);
  _exit(0);
}

// Runs one seed in a child process. An abort in the child becomes a failed result whose
// reason is the child's assertion message.
SimResult run_forked(std::uint64_t seed, bool trace) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  std::cout << std::flush;
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    close(fds[0]);
    run_child(seed, trace, fds[1]);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) output.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);

  SimResult r;
  r.seed = seed;
  r.node_count = kv::sim::choose_params(seed).node_count;
  const auto at = output.rfind("@@result ");
  if (WIFEXITED(status) && at != std::string::npos) {
    int ok = 0;
    int liveness = 0;
    unsigned long long steps = 0;
    std::sscanf(output.c_str() + at, "@@result %d %llu %d %d", &r.node_count, &steps, &ok, &liveness);
    r.steps = steps;
    r.ok = ok == 1;
    r.liveness_failure = liveness == 1;
    const auto v = output.find("@@violation ");
    if (!r.ok && v != std::string::npos) r.violation = output.substr(v + 12, output.find('\n', v) - v - 12);
    return r;
  }
  r.ok = false;
  const auto fatal = output.find("FATAL");
  r.violation = WIFSIGNALED(status) ? "child died of signal " + std::to_string(WTERMSIG(status)) : "child failed";
  if (fatal != std::string::npos) r.violation += ": " + output.substr(fatal, output.find('\n', fatal) - fatal);
  std::cout << "sim: seed " << seed << " FAILED: " << r.violation << "\nsim: replay: kv_sim --seed " << seed
            << " --trace\n";
  return r;
}

int run(const Options& o) {
  Totals totals;
  for (std::uint64_t seed = o.first; seed <= o.last; ++seed) {
    note_seed(seed);
    SimResult r;
    if (o.fork) {
      r = run_forked(seed, o.trace);
    } else {
      kv::sim::Trace trace(o.trace ? &std::cout : nullptr);
      r = kv::sim::run_seed(seed, trace);
      if (!r.ok && totals.failed < kMaxFailuresShown) print_failure(r);
    }
    totals.add(r);
    if (o.expect_failure && !r.ok && !r.liveness_failure) break;
    if (seed == UINT64_MAX) break;
  }
  const std::uint64_t ran = totals.passed + totals.failed;
  if (o.expect_failure) {
    if (totals.safety_failed() == 0) {
      std::cout << "sim: mutation NOT caught: no safety violation in " << ran << " seeds (" << o.first << "-"
                << o.last << "; " << totals.liveness_failed << " liveness failures do not count)\n";
      return 1;
    }
    std::cout << "sim: mutation caught at seed " << totals.first_safety_failure << " after " << ran
              << " seeds: " << totals.first_safety_reason << "\n";
    return 0;
  }
  if (totals.failed > 0) {
    std::cout << "sim: " << totals.failed << " of " << ran << " seeds FAILED (first: seed "
              << totals.first_failure << ": " << totals.first_reason << ")\n";
    return 1;
  }
  std::cout << "sim: " << ran << " seeds passed (3-node: " << totals.three << ", 5-node: " << totals.five
            << "), " << totals.steps << " steps; slowest recovery after the heal used "
            << totals.liveness_percent << "% of its liveness budget (seed " << totals.liveness_seed << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse_args(argc, argv);
  if (!options) {
    std::cerr << "usage: kv_sim [--seeds FIRST-LAST | --seed N] [--trace] [--fork] [--expect-failure]\n";
    return 2;
  }
  std::signal(SIGABRT, on_abort);
  std::ios::sync_with_stdio(false);
  return run(*options);
}
