// Loud invariant checks. KV_ASSERT stays on in every build type: a broken invariant in a
// replicated store is a safety bug, and limping on turns it into silent data loss.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace kv::detail {
[[noreturn]] inline void assert_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "FATAL %s:%d: assertion failed: %s%s%s\n", file, line, expr, msg[0] ? ": " : "", msg);
  std::fflush(stderr);
  std::abort();
}
}  // namespace kv::detail

#define KV_ASSERT_MSG(cond, msg)                                       \
  do {                                                                 \
    if (!(cond)) [[unlikely]]                                          \
      ::kv::detail::assert_failed(#cond, __FILE__, __LINE__, (msg));   \
  } while (0)

#define KV_ASSERT(cond) KV_ASSERT_MSG(cond, "")

#define KV_PANIC(msg) ::kv::detail::assert_failed("unreachable", __FILE__, __LINE__, (msg))
