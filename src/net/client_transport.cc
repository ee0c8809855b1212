// ClientServer and ClientConnection (see client_server.h, client_connection.h). One
// translation unit for both because each Asio TU costs seconds to compile.
//
// Everything except Responder::respond(), stop(), close() and the destructors runs on the
// io_context thread; those post to it. No locks: all mutable state is io-thread-only.
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <limits>
#include <set>
#include <unordered_map>

#include "net/client_codec.h"
#include "net/client_connection.h"
#include "net/client_server.h"
#include "net/detail/frame_io.h"

namespace kv::net {

using detail::close_quietly;
using detail::log_line;
using detail::SocketPtr;
using Awaitable = asio::awaitable<void>;

// =============================================================================================
// ClientServer

std::string ClientServerOptions::validate() const {
  if (max_frame_payload_bytes < 4096) return "max_frame_payload_bytes must be >= 4096";
  if (max_inflight_requests == 0) return "max_inflight_requests must be > 0";
  if (max_queued_response_bytes == 0) return "max_queued_response_bytes must be > 0";
  if (write_stall_timeout.count() <= 0) return "write_stall_timeout must be > 0";
  if (max_connections == 0) return "max_connections must be > 0";
  return "";
}

namespace {
struct ServerCounters {
  std::atomic<std::uint64_t> accepted{0}, open{0}, refused{0}, dropped{0};
  std::atomic<std::uint64_t> requests{0}, responses{0}, bytes_received{0}, bytes_sent{0};
  std::atomic<std::uint64_t> bad_requests{0};
};
}  // namespace

struct ClientServer::Connection {
  Connection(std::weak_ptr<ClientServer::Impl> owner, std::uint64_t connection_id,
             SocketPtr sock, std::size_t max_queued_bytes)
      : server(std::move(owner)),
        id(connection_id),
        socket(std::move(sock)),
        remote(detail::remote_address(*socket)),
        writes(socket->get_executor(), max_queued_bytes),
        read_gate(socket->get_executor()) {}

  // Weak: the server owns its connections, not the other way round. Reset when the
  // connection closes, so late responses find no server and are dropped.
  std::weak_ptr<ClientServer::Impl> server;
  const std::uint64_t id;
  SocketPtr socket;
  const std::string remote;
  detail::FrameWriteQueue writes;
  detail::Signal read_gate;  // the reader waits here while at the in-flight limit
  std::size_t inflight = 0;
  bool closed = false;
};
using ConnectionPtr = std::shared_ptr<ClientServer::Connection>;

struct ClientServer::Impl : std::enable_shared_from_this<ClientServer::Impl> {
  Impl(asio::io_context& io_context, ClientServerOptions opts, RequestHandler handler)
      : io(io_context), options(std::move(opts)), on_request(std::move(handler)), acceptor(io) {}

  asio::io_context& io;
  const ClientServerOptions options;
  RequestHandler on_request;
  asio::ip::tcp::acceptor acceptor;
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> stopped{false};
  ServerCounters counters;
  // io thread only.
  std::uint64_t next_connection_id = 1;
  std::set<ConnectionPtr> connections;

  Awaitable accept_loop(std::shared_ptr<Impl> self);
  void admit(SocketPtr socket);
  // Spawned coroutines take `self`, copied into the frame at creation: Impl outlives them.
  Awaitable read_loop(std::shared_ptr<Impl> self, ConnectionPtr conn);
  Awaitable write_loop(std::shared_ptr<Impl> self, ConnectionPtr conn);
  bool handle_frame(const ConnectionPtr& conn, ReceivedFrame& frame);
  void reject(const ConnectionPtr& conn, std::optional<std::uint64_t> request_id,
              const std::string& reason);
  void on_response(const ConnectionPtr& conn, EncodedFrame frame);
  void close_connection(const ConnectionPtr& conn, const std::string& reason);
  void stop_on_io_thread();
};

Awaitable ClientServer::Impl::accept_loop(std::shared_ptr<Impl> /*self*/) {
  while (!stopped.load()) {
    auto socket = std::make_shared<detail::Socket>(io);
    std::error_code ec;
    co_await acceptor.async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
    if (stopped.load() || ec == asio::error::operation_aborted) break;
    if (ec) {
      log_line("client listener: accept failed: %s", ec.message().c_str());
      asio::steady_timer pause(io, std::chrono::milliseconds(100));  // e.g. out of fds
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    admit(std::move(socket));
  }
}

void ClientServer::Impl::admit(SocketPtr socket) {
  if (connections.size() >= options.max_connections) {
    // Logged sparsely: under a connection storm one line per refusal would be a second storm.
    if (counters.refused.fetch_add(1) % 1000 == 0) {
      log_line("client listener: refusing %s: %zu connections open (limit)",
               detail::remote_address(*socket).c_str(), connections.size());
    }
    close_quietly(*socket);
    return;
  }
  detail::tune_socket(*socket);
  auto conn = std::make_shared<Connection>(shared_from_this(), next_connection_id++,
                                           std::move(socket), options.max_queued_response_bytes);
  connections.insert(conn);
  counters.accepted.fetch_add(1, std::memory_order_relaxed);
  counters.open.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(io, write_loop(shared_from_this(), conn), detail::LogExceptions{"client writer"});
  asio::co_spawn(io, read_loop(shared_from_this(), conn), detail::LogExceptions{"client reader"});
}

Awaitable ClientServer::Impl::write_loop(std::shared_ptr<Impl> /*self*/, ConnectionPtr conn) {
  std::string error = co_await conn->writes.run(conn->socket, options.write_stall_timeout);
  // run() returns "" after close() (already closed) or finish() (flushed a final error).
  close_connection(conn, error.empty() ? "" : "response " + error);
}

Awaitable ClientServer::Impl::read_loop(std::shared_ptr<Impl> /*self*/, ConnectionPtr conn) {
  detail::FrameReader reader;
  while (!conn->closed) {
    if (conn->inflight >= options.max_inflight_requests) {
      co_await conn->read_gate.wait();  // on_response() or close_connection() wakes us
      continue;
    }
    detail::ReadOutcome in = co_await reader.read(*conn->socket, options.max_frame_payload_bytes);
    if (conn->closed) break;
    if (!in.ok()) {
      close_connection(conn, in.clean_close ? "" : in.error);
      break;
    }
    counters.bytes_received.fetch_add(kFrameHeaderBytes + in.frame.payload.size() * kWordBytes,
                                      std::memory_order_relaxed);
    if (!handle_frame(conn, in.frame)) break;
  }
}

// Decodes one frame and hands it to the handler. Returns false if the connection is done.
bool ClientServer::Impl::handle_frame(const ConnectionPtr& conn, ReceivedFrame& frame) {
  if (frame.kind != FrameKind::kClientRequest) {
    close_connection(conn, std::string("unexpected ") + to_string(frame.kind) + " frame");
    return false;
  }
  Result<Request> request = decode_request(frame.payload);
  if (!request.ok()) {
    const std::optional<std::uint64_t> id = peek_request_id(frame.payload);
    if (request.failure_kind() == FailureKind::kUnsupported && id) {
      // A valid message we cannot serve (e.g. a request kind from a newer client): answer it
      // and keep the connection; the framing is intact.
      counters.bad_requests.fetch_add(1, std::memory_order_relaxed);
      if (!conn->writes.push(encode_response(make_error(*id, ErrorCode::kBadRequest, request.error())))) {
        close_connection(conn, "client is not reading its responses");
        return false;
      }
      return true;
    }
    reject(conn, id, request.error());
    return false;
  }
  counters.requests.fetch_add(1, std::memory_order_relaxed);
  if (stopped.load()) return false;
  ++conn->inflight;
  const std::uint64_t request_id = request.value().id;
  on_request(std::move(request).value(), Responder(conn, conn->id, request_id));
  return true;
}

// Answers a malformed request with badRequest and the reason, then closes once that answer
// (and nothing after it) is written: after a malformed message nothing it said is trusted.
void ClientServer::Impl::reject(const ConnectionPtr& conn, std::optional<std::uint64_t> request_id,
                                const std::string& reason) {
  log_line("client %s: closing: %s", conn->remote.c_str(), reason.c_str());
  counters.dropped.fetch_add(1, std::memory_order_relaxed);
  counters.bad_requests.fetch_add(1, std::memory_order_relaxed);
  conn->writes.push(encode_response(make_error(request_id.value_or(0), ErrorCode::kBadRequest, reason)));
  conn->writes.finish();
}

void ClientServer::Impl::on_response(const ConnectionPtr& conn, EncodedFrame frame) {
  KV_ASSERT(conn->inflight > 0);
  if (conn->inflight-- == options.max_inflight_requests) conn->read_gate.notify();
  if (conn->closed || !conn->writes.accepting()) return;
  const std::size_t bytes = frame.size_bytes();
  if (!conn->writes.push(std::move(frame))) {
    close_connection(conn, "client is not reading its responses (" +
                               std::to_string(conn->writes.queued_bytes()) + " bytes queued)");
    return;
  }
  counters.responses.fetch_add(1, std::memory_order_relaxed);
  counters.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
}

void ClientServer::Impl::close_connection(const ConnectionPtr& conn, const std::string& reason) {
  if (conn->closed) return;
  conn->closed = true;
  if (!reason.empty() && !stopped.load()) {
    log_line("client %s: closing: %s", conn->remote.c_str(), reason.c_str());
    counters.dropped.fetch_add(1, std::memory_order_relaxed);
  }
  conn->writes.close();
  conn->read_gate.notify();
  close_quietly(*conn->socket);
  counters.open.fetch_sub(1, std::memory_order_relaxed);
  connections.erase(conn);
  conn->server.reset();  // late responses are dropped
}

void ClientServer::Impl::stop_on_io_thread() {
  std::error_code ignored;
  acceptor.close(ignored);
  const std::set<ConnectionPtr> all = connections;  // close_connection() erases from the set
  for (const ConnectionPtr& conn : all) close_connection(conn, "");
}

// ---- Responder

ClientServer::Responder::Responder(std::shared_ptr<Connection> connection,
                                   std::uint64_t connection_id, std::uint64_t request_id)
    : connection_(std::move(connection)), connection_id_(connection_id), request_id_(request_id) {}

ClientServer::Responder& ClientServer::Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (connection_) respond(make_error(request_id_, ErrorCode::kInternal, "request dropped by the server"));
    connection_ = std::move(other.connection_);
    connection_id_ = other.connection_id_;
    request_id_ = other.request_id_;
  }
  return *this;
}

ClientServer::Responder::~Responder() {
  if (connection_) respond(make_error(request_id_, ErrorCode::kInternal, "request dropped by the server"));
}

void ClientServer::Responder::respond(Response response) {
  KV_ASSERT_MSG(connection_ != nullptr, "a request is answered exactly once");
  response.id = request_id_;
  EncodedFrame frame = encode_response(response);  // on the caller's thread, off the io thread
  std::shared_ptr<Connection> conn = std::move(connection_);
  // conn->socket never changes after construction, so reading it here is safe; everything
  // else about the connection is read on the io thread.
  auto executor = conn->socket->get_executor();
  asio::post(executor, [conn = std::move(conn), frame = std::move(frame)]() mutable {
    if (auto server = conn->server.lock()) server->on_response(conn, std::move(frame));
  });
}

// ---- public

ClientServer::ClientServer(asio::io_context& io, ClientServerOptions options, RequestHandler on_request) {
  const std::string invalid = options.validate();
  KV_ASSERT_MSG(invalid.empty(), invalid.c_str());
  KV_ASSERT(on_request != nullptr);
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(on_request));
}

ClientServer::~ClientServer() { stop(); }

Result<std::uint16_t> ClientServer::start() {
  KV_ASSERT(impl_->port.load() == 0);
  Result<std::uint16_t> bound =
      detail::open_listener(impl_->acceptor, impl_->options.listen_host, impl_->options.listen_port);
  if (!bound.ok()) return bound;
  impl_->port = bound.value();
  asio::co_spawn(impl_->io, impl_->accept_loop(impl_), detail::LogExceptions{"client listener"});
  return impl_->port.load();
}

void ClientServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::dispatch(impl_->io, [impl = impl_] { impl->stop_on_io_thread(); });
}

std::uint16_t ClientServer::port() const { return impl_->port.load(); }

ClientServerStats ClientServer::stats() const {
  const ServerCounters& c = impl_->counters;
  auto get = [](const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  ClientServerStats s;
  s.connections_accepted = get(c.accepted);
  s.connections_open = get(c.open);
  s.connections_refused = get(c.refused);
  s.connections_dropped = get(c.dropped);
  s.requests = get(c.requests);
  s.bad_requests = get(c.bad_requests);
  s.responses = get(c.responses);
  s.bytes_received = get(c.bytes_received);
  s.bytes_sent = get(c.bytes_sent);
  return s;
}

// =============================================================================================
// ClientConnection

const char* to_string(CallStatus status) {
  switch (status) {
    case CallStatus::kOk: return "ok";
    case CallStatus::kTimeout: return "timeout";
    case CallStatus::kDisconnected: return "disconnected";
    case CallStatus::kTooLarge: return "too-large";
    case CallStatus::kOverloaded: return "overloaded";
    case CallStatus::kBadResponse: return "bad-response";
  }
  return "unknown";
}

struct ClientConnection::Impl : std::enable_shared_from_this<ClientConnection::Impl> {
  struct Pending {
    explicit Pending(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;  // expiry = the call's timeout; cancelled when answered
    std::optional<CallResult> result;
  };

  Impl(asio::io_context& io_context, SocketPtr sock, ClientConnectionOptions opts)
      : io(io_context),
        socket(std::move(sock)),
        options(opts),
        remote(detail::remote_address(*socket)),
        writes(io_context.get_executor(), options.max_queued_request_bytes) {}

  asio::io_context& io;
  SocketPtr socket;
  const ClientConnectionOptions options;
  const std::string remote;
  detail::FrameWriteQueue writes;
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<Pending>> pending;
  bool closed = false;
  std::string close_reason;

  Awaitable read_loop(std::shared_ptr<Impl> self);
  Awaitable write_loop(std::shared_ptr<Impl> self);
  asio::awaitable<CallResult> call(Request request, std::chrono::milliseconds timeout);
  void fail_all(const std::string& reason);
};

Awaitable ClientConnection::Impl::read_loop(std::shared_ptr<Impl> /*self*/) {
  detail::FrameReader reader;
  while (!closed) {
    detail::ReadOutcome in = co_await reader.read(*socket, options.max_frame_payload_bytes);
    if (closed) break;
    if (!in.ok()) {
      fail_all(in.clean_close ? "the server closed the connection" : in.error);
      break;
    }
    if (in.frame.kind != FrameKind::kClientResponse) {
      fail_all(std::string("unexpected ") + to_string(in.frame.kind) + " frame from the server");
      break;
    }
    Result<Response> response = decode_response(in.frame.payload);
    if (!response.ok()) {
      const std::optional<std::uint64_t> id = peek_response_id(in.frame.payload);
      if (response.failure_kind() != FailureKind::kUnsupported || !id) {
        fail_all(response.error());
        break;
      }
      // A valid answer we cannot read (e.g. a newer server's error code): fail that call only.
      auto it = pending.find(*id);
      if (it != pending.end()) {
        it->second->result = CallResult{CallStatus::kBadResponse, {}, response.error()};
        it->second->timer.cancel();
      }
      continue;
    }
    auto it = pending.find(response.value().id);
    if (it == pending.end()) continue;  // its call timed out already
    it->second->result = CallResult{CallStatus::kOk, std::move(response).value(), ""};
    it->second->timer.cancel();
  }
}

Awaitable ClientConnection::Impl::write_loop(std::shared_ptr<Impl> /*self*/) {
  std::string error = co_await writes.run(socket, options.write_stall_timeout);
  fail_all(error.empty() ? "connection closed" : "request " + error);
}

void ClientConnection::Impl::fail_all(const std::string& reason) {
  if (closed) return;
  closed = true;
  close_reason = reason;
  writes.close();
  close_quietly(*socket);
  for (auto& [id, call] : pending) {
    call->result = CallResult{CallStatus::kDisconnected, {}, reason};
    call->timer.cancel();
  }
}

asio::awaitable<CallResult> ClientConnection::Impl::call(Request request,
                                                         std::chrono::milliseconds timeout) {
  if (closed) co_return CallResult{CallStatus::kDisconnected, {}, close_reason};
  request.id = next_id++;
  if (request.timeout_ms == 0) {
    request.timeout_ms = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
        timeout.count(), 1, std::numeric_limits<std::uint32_t>::max()));
  }
  EncodedFrame frame = encode_request(request);
  if (frame.payload().size_bytes() > options.max_request_payload_bytes) {
    co_return CallResult{CallStatus::kTooLarge, {},
                         "request of " + std::to_string(frame.payload().size_bytes()) +
                             " bytes exceeds the limit"};
  }
  if (!writes.push(std::move(frame))) {
    co_return CallResult{CallStatus::kOverloaded, {}, "too many request bytes queued"};
  }
  auto call = std::make_shared<Pending>(io);
  call->timer.expires_after(timeout);
  pending.emplace(request.id, call);
  std::error_code ec;  // operation_aborted = answered (or failed) before the deadline
  co_await call->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  pending.erase(request.id);
  if (call->result) co_return std::move(*call->result);
  co_return CallResult{CallStatus::kTimeout, {},
                       "no response within " + std::to_string(timeout.count()) + " ms"};
}

asio::awaitable<Result<std::shared_ptr<ClientConnection>>> ClientConnection::connect(
    asio::io_context& io, std::string host, std::uint16_t port, ClientConnectionOptions options) {
  using R = Result<std::shared_ptr<ClientConnection>>;
  const std::string where = host + ":" + std::to_string(port);
  std::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return R::failure("cannot resolve " + where + ": " + ec.message());
  auto socket = std::make_shared<detail::Socket>(io);
  {
    detail::Deadline deadline(socket, options.connect_timeout);
    co_await asio::async_connect(*socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return R::failure("connect to " + where +
                           (deadline.expired() ? " timed out" : " failed: " + ec.message()));
    }
  }
  detail::tune_socket(*socket);
  auto impl = std::make_shared<Impl>(io, std::move(socket), options);
  asio::co_spawn(io, impl->read_loop(impl), detail::LogExceptions{"client connection reader"});
  asio::co_spawn(io, impl->write_loop(impl), detail::LogExceptions{"client connection writer"});
  co_return std::make_shared<ClientConnection>(std::move(impl));
}

ClientConnection::ClientConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClientConnection::~ClientConnection() { close(); }

asio::awaitable<CallResult> ClientConnection::call(Request request, std::chrono::milliseconds timeout) {
  std::shared_ptr<Impl> impl = impl_;  // the caller may drop this object while we wait
  co_return co_await impl->call(std::move(request), timeout);
}

void ClientConnection::close() {
  asio::dispatch(impl_->io, [impl = impl_] { impl->fail_all("closed by the client"); });
}

bool ClientConnection::is_open() const { return !impl_->closed; }
const std::string& ClientConnection::remote_address() const { return impl_->remote; }
std::size_t ClientConnection::pending_calls() const { return impl_->pending.size(); }

}  // namespace kv::net
