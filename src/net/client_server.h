// ClientServer: the server side of the client protocol. Accepts client connections, reads
// Request frames and hands each request to the handler together with a Responder; the
// handler (the server layer) answers whenever it likes, from any thread, in any order.
//
// Pipelining: a connection may have up to max_inflight_requests unanswered requests; at the
// limit the server stops reading from it (TCP backpressure) until an answer goes out.
// Responses are written through a bounded per-connection queue: a client that does not read
// its responses (queue beyond max_queued_response_bytes, or a write stalled for
// write_stall_timeout) is disconnected instead of making the server buffer without bound.
//
// Bad input: a bad frame header (magic, kind, length) closes the connection with one logged
// line. A payload that is not a valid Cap'n Proto message gets an Error{badRequest} response
// with the reason (and the request id, if readable), then the connection is closed. A valid
// message this build cannot serve (an unknown request kind or enum value from a newer client)
// gets Error{badRequest} and the connection carries on.
//
// Threads: the injected io_context must be run by one thread; the handler is called on it.
// Responder::respond() and stop() are thread-safe.
//
// This header pulls in neither Asio nor Cap'n Proto.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/client_protocol.h"
#include "net/frame.h"
#include "net/result.h"

namespace asio {
class io_context;
}

namespace kv::net {

struct ClientServerOptions {
  // Default: 127.0.0.1:0 (port 0 picks a free port; see port()).
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  // Largest request payload accepted. Default: 4 MiB.
  std::uint32_t max_frame_payload_bytes = kDefaultClientMaxPayloadBytes;
  // Unanswered requests per connection before reading pauses. Default: 1024.
  std::size_t max_inflight_requests = 1024;
  // Response bytes queued per connection before it is cut off. Default: 32 MiB.
  std::size_t max_queued_response_bytes = 32u << 20;
  // A response write making no progress for this long disconnects the client. Default: 10 s.
  std::chrono::milliseconds write_stall_timeout{10000};
  // Connections beyond this are closed as soon as they are accepted. Default: 4096.
  std::size_t max_connections = 4096;

  std::string validate() const;
};

struct ClientServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t connections_refused = 0;   // over max_connections
  std::uint64_t connections_dropped = 0;   // closed for bad input or not reading
  std::uint64_t requests = 0;      // handed to the handler
  std::uint64_t bad_requests = 0;  // answered badRequest by the transport itself
  std::uint64_t responses = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
};

class ClientServer {
 public:
  struct Connection;

  // The one-shot answer channel of one request. Move-only.
  class Responder {
   public:
    Responder() = default;
    Responder(Responder&&) noexcept = default;
    Responder& operator=(Responder&& other) noexcept;
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;
    // A Responder destroyed without answering answers Error{internal, "request dropped"}, so
    // that a server bug costs the client one error instead of a hung request.
    ~Responder();

    // Sends the response (its id is set to the request's id). Thread-safe: encodes on the
    // calling thread and hands the frame to the io thread. A no-op if the connection closed.
    // REQUIRES: not answered before.
    void respond(Response response);
    bool answered() const { return !connection_; }
    // Identifies the client connection (for logs and per-connection state); never 0.
    std::uint64_t connection_id() const { return connection_id_; }
    std::uint64_t request_id() const { return request_id_; }

   private:
    friend class ClientServer;
    Responder(std::shared_ptr<Connection> connection, std::uint64_t connection_id,
              std::uint64_t request_id);
    std::shared_ptr<Connection> connection_;
    std::uint64_t connection_id_ = 0;
    std::uint64_t request_id_ = 0;
  };

  // Called on the io_context thread once per decoded request. It must not block; it answers
  // through the Responder now or later, from any thread.
  using RequestHandler = std::function<void(Request request, Responder responder)>;

  // REQUIRES: options.validate() is empty; `io` outlives this object.
  ClientServer(asio::io_context& io, ClientServerOptions options, RequestHandler on_request);
  ~ClientServer();  // stop()
  ClientServer(const ClientServer&) = delete;
  ClientServer& operator=(const ClientServer&) = delete;

  // Binds and starts accepting. Result: the bound port. Call once, from the io_context
  // thread or before it runs.
  Result<std::uint16_t> start();
  // Closes the listener and every connection; the handler is not called after stop() has run
  // on the io thread. Responses answered afterwards are discarded. Idempotent, thread-safe.
  void stop();

  std::uint16_t port() const;
  ClientServerStats stats() const;  // thread-safe

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kv::net
