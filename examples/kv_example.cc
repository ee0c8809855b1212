// kv_example: embedding the client library (blocking API). Against a running cluster
// (tools/up starts one):
//
//   build/kv_example                         # 127.0.0.1:7101,7102,7103
//   build/kv_example host1:7101 host2:7101   # other endpoints
//
// It writes a key, reads it back, and runs a compare-and-swap on it, printing each result.
// Exit code: 0 when every step did what it should, 1 otherwise.
#include <cstdio>
#include <string>
#include <vector>

#include "client/blocking_client.h"

namespace {

// Every error carries a kind (what the caller may conclude) and a message (for people).
template <class T>
bool report(const char* what, const kv::client::Result<T>& result) {
  if (result.ok()) return true;
  std::fprintf(stderr, "%s failed: %s: %s\n", what, kv::client::to_string(result.kind()), result.message().c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  kv::client::Options options;
  options.endpoints.assign(argv + 1, argv + argc);
  if (options.endpoints.empty()) options.endpoints = {"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"};
  options.operation_timeout = std::chrono::seconds(5);
  if (const std::string invalid = options.validate(); !invalid.empty()) {
    std::fprintf(stderr, "bad options: %s\n", invalid.c_str());
    return 2;
  }
  kv::client::BlockingClient client(options);  // safe to share between threads

  // put: applied exactly once, even if the leader changes under it.
  auto put = client.put("example/greeting", "hello");
  if (!report("put", put)) return 1;
  std::printf("put example/greeting = hello (version %llu)\n", static_cast<unsigned long long>(put->version));

  // get: linearizable by default; a missing key is found == false, not an error.
  auto got = client.get("example/greeting");
  if (!report("get", got)) return 1;
  std::printf("get example/greeting -> %s (version %llu)\n", got->found ? got->value.c_str() : "(absent)",
              static_cast<unsigned long long>(got->version));

  // cas: replace the value only if nobody changed it since our read.
  auto cas = client.cas("example/greeting", kv::client::expect_version(got->version), kv::client::then_put("hello, again"));
  if (!report("cas", cas)) return 1;
  std::printf("cas on version %llu: %s\n", static_cast<unsigned long long>(got->version),
              cas->succeeded ? "swapped" : "someone else changed it first");

  // The same CAS again must fail: the version moved on. Failure is an answer, not an error.
  auto stale = client.cas("example/greeting", kv::client::expect_version(got->version), kv::client::then_put("lost"));
  if (!report("cas", stale)) return 1;
  std::printf("cas on the old version again: %s (current value: %s)\n", stale->succeeded ? "swapped (unexpected!)" : "refused",
              stale->current ? stale->current->value.c_str() : "(absent)");
  return cas->succeeded && !stale->succeeded ? 0 : 1;
}
