// Invariant checks for the checker. They stay on in every build: a checker that limps on past
// a broken invariant could print "valid" for a broken store, which is worse than crashing.
// (This mirrors src/common/assert.h on purpose: the checker links nothing from src/.)
#pragma once

#include <cstdio>
#include <cstdlib>

namespace kv::checker::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "FATAL %s:%d: checker invariant failed: %s\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}
}  // namespace kv::checker::detail

#define CHECKER_ASSERT(cond)                                          \
  do {                                                                \
    if (!(cond)) [[unlikely]]                                         \
      ::kv::checker::detail::check_failed(#cond, __FILE__, __LINE__); \
  } while (0)
