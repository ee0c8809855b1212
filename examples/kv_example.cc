// kv_example: embedding the client library (blocking API). Against a running cluster
// (tools/up starts one):
//
//   build/kv_example                         # 127.0.0.1:7101,7102,7103
//   build/kv_example host1:7101 host2:7101   # other endpoints
//
// It writes a key, reads it back, runs a compare-and-swap on it, and moves a value between
// two keys in a transaction (the keys may live on different shards), printing each result.
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
  if (!cas->succeeded || stale->succeeded) return 1;

  // A transaction: read two keys, write both, commit atomically. run_transaction runs the
  // body again if another transaction changed what it read (a conflict) before it committed.
  if (!report("put", client.put("example/a", "10")) || !report("put", client.put("example/z", "0"))) return 1;
  kv::client::TransactionRun moved = client.run_transaction([](kv::client::BlockingTransaction& txn) -> kv::client::Result<void> {
    auto a = txn.get("example/a");
    if (!a.ok()) return a.error();
    auto z = txn.get("example/z");
    if (!z.ok()) return z.error();
    const int amount = 3;
    txn.put("example/a", std::to_string(std::stoi(a->value) - amount));
    txn.put("example/z", std::to_string(std::stoi(z->value) + amount));
    return {};
  });
  if (!report("transaction", moved.result)) return 1;
  auto a = client.get("example/a");
  auto z = client.get("example/z");
  if (!report("get", a) || !report("get", z)) return 1;
  std::printf("moved 3 from example/a to example/z in %d attempt(s): a = %s, z = %s\n", moved.attempts, a->value.c_str(),
              z->value.c_str());
  return a->value == "7" && z->value == "3" ? 0 : 1;
}
