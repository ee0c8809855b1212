// ClientConnection: the client side of one connection to a node's client port, for the
// client library and tools. Requests are pipelined: call() may be issued many times
// concurrently (from different coroutines); each waits for its own response, matched by id,
// or for its own timeout.
//
// Threads: use it only from coroutines running on the io_context it was connected on, and run
// that io_context on one thread. (close() and the destructor may be called from any thread.)
// Lifetime: owned by shared_ptr; destroying the last reference closes the connection. The
// reader/writer coroutines keep the internals alive until they finish, so this is safe even
// with calls pending (they complete with kDisconnected).
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/client_protocol.h"
#include "net/frame.h"
#include "net/result.h"

namespace asio {
class io_context;
}

namespace kv::net {

struct ClientConnectionOptions {
  // Largest response payload accepted (a range may return many kvs). Default: 64 MiB.
  std::uint32_t max_frame_payload_bytes = 64u << 20;
  // Largest request sent; larger requests fail with kTooLarge before touching the wire. This
  // should not exceed the server's limit. Default: 4 MiB.
  std::uint32_t max_request_payload_bytes = kDefaultClientMaxPayloadBytes;
  std::chrono::milliseconds connect_timeout{3000};  // Default: 3 s
  // Bytes of requests waiting for the socket before call() fails with kOverloaded rather than
  // queue more. Default: 32 MiB.
  std::size_t max_queued_request_bytes = 32u << 20;
  std::chrono::milliseconds write_stall_timeout{10000};  // Default: 10 s: then disconnect
};

enum class CallStatus : std::uint8_t {
  kOk = 0,          // `response` is the server's answer (which may be an ErrorResponse)
  kTimeout,         // no response in time; a write may or may not have been applied
  kDisconnected,    // the connection failed or was closed; same uncertainty as kTimeout
  kTooLarge,        // the request exceeds max_request_payload_bytes; nothing was sent
  kOverloaded,      // too many request bytes queued; nothing was sent
  kBadResponse,     // the answer holds a value this build does not know (a newer server?);
                    // like kTimeout, a write may or may not have been applied
};
const char* to_string(CallStatus status);

struct CallResult {
  CallStatus status = CallStatus::kOk;
  Response response;  // valid when status == kOk
  std::string error;  // human-readable detail when status != kOk

  bool ok() const { return status == CallStatus::kOk; }
};

class ClientConnection {
 public:
  struct Impl;

  // Connects to host:port. Result: a connection, or why connecting failed.
  static asio::awaitable<Result<std::shared_ptr<ClientConnection>>> connect(
      asio::io_context& io, std::string host, std::uint16_t port,
      ClientConnectionOptions options = {});

  // Sends `request` and waits for its response. The request's id is replaced by one unique
  // on this connection; a timeout_ms of 0 is replaced by `timeout` so the server gives up
  // when the caller does. A response arriving after its timeout is discarded.
  asio::awaitable<CallResult> call(Request request, std::chrono::milliseconds timeout);

  // Closes the socket; every pending call() completes with kDisconnected. Idempotent.
  // Thread-safe (runs on the io thread).
  void close();
  bool is_open() const;
  // "host:port" of the server.
  const std::string& remote_address() const;
  std::size_t pending_calls() const;

  explicit ClientConnection(std::shared_ptr<Impl> impl);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kv::net
