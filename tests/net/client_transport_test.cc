// ClientServer + ClientConnection over loopback: pipelining with out-of-order answers,
// per-request timeouts, answers from other threads, in-flight limits, clients that do not
// read, and hostile bytes on the client port.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <capnp/message.h>
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <thread>

#include "net/client_codec.h"
#include "net/client_connection.h"
#include "net/client_server.h"
#include "net/detail/capnp_frame.h"
#include "net/schema/kv.capnp.h"
#include "test_util.h"

namespace kv::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;
using Responder = ClientServer::Responder;

struct Held {
  Request request;
  Responder responder;
};

// A server whose handler only records requests; tests answer them when and how they like.
struct Server {
  explicit Server(asio::io_context& io, ClientServerOptions options = {})
      : server(io, options, [this](Request request, Responder responder) {
          held.push_back(Held{std::move(request), std::move(responder)});
        }) {
    Result<std::uint16_t> port = server.start();
    INFO(port.error());
    REQUIRE(port.ok());
  }
  std::uint16_t port() const { return server.port(); }

  std::vector<Held> held;
  ClientServer server;
};

GetResponse echo(const Request& request) {
  return GetResponse{true, std::get<GetRequest>(request.op).key, request.seq};
}

std::shared_ptr<ClientConnection> connect(asio::io_context& io, std::uint16_t port,
                                          ClientConnectionOptions options = {}) {
  std::shared_ptr<ClientConnection> conn;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await ClientConnection::connect(io, "127.0.0.1", port, options);
        if (r.ok()) conn = std::move(r).value();
      },
      asio::detached);
  REQUIRE(run_until(io, [&] { return conn != nullptr; }));
  return conn;
}

// Issues `request` as its own coroutine; the result lands in *out.
void start_call(asio::io_context& io, std::shared_ptr<ClientConnection> conn, Request request,
                std::chrono::milliseconds timeout, std::shared_ptr<std::optional<CallResult>> out) {
  asio::co_spawn(
      io,
      [conn, request = std::move(request), timeout, out]() -> asio::awaitable<void> {
        *out = co_await conn->call(request, timeout);
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);  // a test failure, not something to swallow
      });
}

Request get(const std::string& key, std::uint64_t seq = 0) { return Request{0, 0, seq, 0, GetRequest{key, false}}; }

TEST_CASE("client: pipelined requests answered out of order reach the right callers", "[net][client]") {
  asio::io_context io;
  Server server(io);
  auto conn = connect(io, server.port());
  constexpr int kCalls = 100;
  std::vector<std::shared_ptr<std::optional<CallResult>>> results;
  for (int i = 0; i < kCalls; ++i) {
    results.push_back(std::make_shared<std::optional<CallResult>>());
    start_call(io, conn, get("key-" + std::to_string(i), static_cast<std::uint64_t>(i)), 5s, results.back());
  }
  // All requests reach the server before any answer: they are pipelined on one connection.
  REQUIRE(run_until(io, [&] { return server.held.size() == kCalls; }));
  CHECK(conn->pending_calls() == kCalls);
  for (auto it = server.held.rbegin(); it != server.held.rend(); ++it) {  // answer in reverse
    it->responder.respond(Response{0, echo(it->request)});
  }
  REQUIRE(run_until(io, [&] {
    return std::all_of(results.begin(), results.end(), [](auto& r) { return r->has_value(); });
  }));
  for (int i = 0; i < kCalls; ++i) {
    const CallResult& r = **results[static_cast<std::size_t>(i)];
    REQUIRE(r.ok());
    const auto* body = std::get_if<GetResponse>(&r.response.body);
    REQUIRE(body != nullptr);
    CHECK(body->value == "key-" + std::to_string(i));
    CHECK(body->version == static_cast<std::uint64_t>(i));
  }
  CHECK(server.server.stats().requests == kCalls);
  CHECK(server.server.stats().responses == kCalls);
  CHECK(conn->pending_calls() == 0);
}

TEST_CASE("client: a request times out alone, the connection keeps working", "[net][client]") {
  asio::io_context io;
  Server server(io);
  auto conn = connect(io, server.port());
  auto slow = std::make_shared<std::optional<CallResult>>();
  start_call(io, conn, get("slow"), 100ms, slow);
  REQUIRE(run_until(io, [&] { return slow->has_value(); }));
  CHECK((*slow)->status == CallStatus::kTimeout);
  REQUIRE(server.held.size() == 1);
  CHECK(server.held[0].request.timeout_ms == 100);  // the server learns the caller's deadline
  server.held[0].responder.respond(Response{0, echo(server.held[0].request)});  // too late: dropped

  auto fast = std::make_shared<std::optional<CallResult>>();
  start_call(io, conn, get("fast"), 2s, fast);
  REQUIRE(run_until(io, [&] { return server.held.size() == 2; }));
  server.held[1].responder.respond(Response{0, echo(server.held[1].request)});
  REQUIRE(run_until(io, [&] { return fast->has_value(); }));
  REQUIRE((*fast)->ok());
  CHECK(std::get<GetResponse>((*fast)->response.body).value == "fast");
  CHECK(conn->is_open());
}

TEST_CASE("client: answers from another thread, and dropped responders answer internal", "[net][client]") {
  asio::io_context io;
  Server server(io);
  auto conn = connect(io, server.port());
  auto a = std::make_shared<std::optional<CallResult>>();
  auto b = std::make_shared<std::optional<CallResult>>();
  start_call(io, conn, get("a"), 2s, a);
  start_call(io, conn, get("b"), 2s, b);
  REQUIRE(run_until(io, [&] { return server.held.size() == 2; }));
  std::thread worker([held = std::move(server.held[0])]() mutable {
    held.responder.respond(Response{0, echo(held.request)});
  });
  worker.join();
  { Responder dropped = std::move(server.held[1].responder); }  // never answered
  REQUIRE(run_until(io, [&] { return a->has_value() && b->has_value(); }));
  REQUIRE((*a)->ok());
  CHECK(std::get<GetResponse>((*a)->response.body).value == "a");
  REQUIRE((*b)->ok());
  const auto& error = std::get<ErrorResponse>((*b)->response.body);
  CHECK(error.code == ErrorCode::kInternal);
}

TEST_CASE("client server: reading pauses at max_inflight_requests", "[net][client]") {
  asio::io_context io;
  ClientServerOptions options;
  options.max_inflight_requests = 4;
  Server server(io, options);
  auto conn = connect(io, server.port());
  std::vector<std::shared_ptr<std::optional<CallResult>>> results;
  for (int i = 0; i < 10; ++i) {
    results.push_back(std::make_shared<std::optional<CallResult>>());
    start_call(io, conn, get(std::to_string(i)), 5s, results.back());
  }
  REQUIRE(run_until(io, [&] { return server.held.size() == 4; }));
  test::run_for(io, 50ms);
  CHECK(server.held.size() == 4);  // the other six wait in the socket
  for (std::size_t answered = 0; answered < 10; ++answered) {
    REQUIRE(run_until(io, [&] { return server.held.size() > answered; }));
    server.held[answered].responder.respond(Response{0, echo(server.held[answered].request)});
  }
  REQUIRE(run_until(io, [&] {
    return std::all_of(results.begin(), results.end(), [](auto& r) { return r->has_value() && (*r)->ok(); });
  }));
}

TEST_CASE("client: pending calls fail with kDisconnected when the server goes away", "[net][client]") {
  asio::io_context io;
  auto server = std::make_unique<Server>(io);
  auto conn = connect(io, server->port());
  auto r = std::make_shared<std::optional<CallResult>>();
  start_call(io, conn, get("x"), 5s, r);
  REQUIRE(run_until(io, [&] { return server->held.size() == 1; }));
  server->held.clear();  // (drops the responder: its answer is discarded with the server)
  server.reset();
  REQUIRE(run_until(io, [&] { return r->has_value(); }));
  CHECK(((*r)->status == CallStatus::kDisconnected || (*r)->ok()));
  REQUIRE(run_until(io, [&] { return !conn->is_open(); }));
  auto after = std::make_shared<std::optional<CallResult>>();
  start_call(io, conn, get("y"), 1s, after);
  REQUIRE(run_until(io, [&] { return after->has_value(); }));
  CHECK((*after)->status == CallStatus::kDisconnected);
}

TEST_CASE("client server: listens on a host name, a bad address is an error, not a crash",
          "[net][client]") {
  asio::io_context io;
  ClientServerOptions by_name;
  by_name.listen_host = "localhost";
  Server named(io, by_name);
  CHECK(named.port() != 0);
  ClientServerOptions bad;
  bad.listen_host = "256.1.1.1";
  ClientServer unusable(io, bad, [](Request, Responder) {});
  Result<std::uint16_t> port = unusable.start();
  CHECK_FALSE(port.ok());
  CHECK_THAT(port.error(), Catch::Contains("256.1.1.1"));
  ClientServerOptions taken;
  taken.listen_port = named.port();
  taken.listen_host = "127.0.0.1";
  ClientServer clash(io, taken, [](Request, Responder) {});
  CHECK_FALSE(clash.start().ok());  // the port is in use
}

// A raw client that sends requests and never reads: the server must cut it off rather than
// buffer its responses without bound.
TEST_CASE("client server: a client that does not read is disconnected", "[net][client]") {
  asio::io_context io;
  ClientServerOptions options;
  options.max_queued_response_bytes = 2u << 20;
  options.write_stall_timeout = 300ms;
  ClientServer server(io, options, [](Request request, Responder responder) {
    responder.respond(Response{request.id, GetResponse{true, std::string(256 * 1024, 'v'), 1}});
  });
  REQUIRE(server.start().ok());
  asio::ip::tcp::socket raw(io);
  raw.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  std::vector<std::byte> requests;
  for (std::uint64_t i = 1; i <= 400; ++i) {  // 400 x 256 KiB = 100 MiB of responses
    EncodedFrame f = encode_request(Request{i, 0, 0, 0, GetRequest{"k", false}});
    requests.insert(requests.end(), f.bytes().begin(), f.bytes().end());
  }
  asio::async_write(raw, asio::buffer(requests), [](std::error_code, std::size_t) {});
  REQUIRE(run_until(io, [&] { return server.stats().connections_dropped == 1; }));
  CHECK(server.stats().connections_open == 0);
}

bool server_closes_after(std::uint16_t port, const std::vector<std::byte>& bytes,
                         std::vector<char>* reply = nullptr) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  std::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return false;
  asio::write(socket, asio::buffer(bytes), ec);
  struct timeval tv {2, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::array<char, 4096> buffer{};
  for (int i = 0; i < 100; ++i) {
    const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    if (ec) return ec != asio::error::would_block && ec != asio::error::try_again;
    if (reply) reply->insert(reply->end(), buffer.begin(), buffer.begin() + static_cast<long>(n));
  }
  return false;
}

std::vector<std::byte> bytes_of(const EncodedFrame& f) { return {f.bytes().begin(), f.bytes().end()}; }

TEST_CASE("client port: hostile bytes close that connection only, good clients still work",
          "[net][client][fuzz]") {
  asio::io_context io;
  int handled = 0;
  ClientServer server(io, {}, [&handled](Request request, Responder responder) {
    ++handled;
    responder.respond(Response{request.id, GetResponse{true, "ok", 1}});
  });
  REQUIRE(server.start().ok());
  const std::uint16_t port = server.port();
  auto guard = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });

  std::mt19937_64 rng(1234);
  std::vector<std::vector<std::byte>> inputs;
  for (int i = 0; i < 20; ++i) {
    std::vector<std::byte> junk(8 + rng() % 300);
    for (auto& byte : junk) byte = std::byte(rng() & 0xFF);
    inputs.push_back(junk);
  }
  const auto good = bytes_of(encode_request(Request{42, 0, 0, 0, GetRequest{"key", false}}));
  auto oversized = good;
  oversized[2] = std::byte{0x50};  // 5 MiB > the 4 MiB client limit
  inputs.push_back(oversized);
  auto unaligned = good;
  unaligned[0] = std::byte{static_cast<unsigned char>(std::to_integer<unsigned>(unaligned[0]) + 4)};
  inputs.push_back(unaligned);
  auto peer_kind = good;
  peer_kind[4] = std::byte{static_cast<unsigned char>(FrameKind::kPeerBatch)};
  inputs.push_back(peer_kind);
  for (const auto& input : inputs) CHECK(server_closes_after(port, input));

  // A valid header with a garbage body: answered with badRequest, then closed.
  auto garbage_body = good;
  for (std::size_t i = 16; i < garbage_body.size(); ++i) garbage_body[i] = std::byte(rng() & 0xFF);
  std::vector<char> reply;
  CHECK(server_closes_after(port, garbage_body, &reply));
  if (reply.size() >= kFrameHeaderBytes + 16 && reply.size() % 8 == 0) {
    std::vector<std::uint64_t> payload((reply.size() - kFrameHeaderBytes) / 8);
    std::memcpy(payload.data(), reply.data() + kFrameHeaderBytes, payload.size() * 8);
    Result<Response> response = decode_response(payload);
    REQUIRE(response.ok());
    CHECK(std::get<ErrorResponse>(response.value().body).code == ErrorCode::kBadRequest);
  }
  // A truncated frame: the server waits for the rest; the client gives up and closes; the
  // server notices and cleans up.
  {
    asio::io_context raw_io;
    asio::ip::tcp::socket raw(raw_io);
    raw.connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(raw, asio::buffer(good.data(), good.size() - 8));
  }
  io.stop();
  runner.join();
  io.restart();
  REQUIRE(run_until(io, [&] { return server.stats().connections_open == 0; }));
  CHECK(handled == 0);
  CHECK(server.stats().connections_dropped >= inputs.size() + 1);

  auto conn = connect(io, port);
  auto r = std::make_shared<std::optional<CallResult>>();
  start_call(io, conn, get("k"), 2s, r);
  REQUIRE(run_until(io, [&] { return r->has_value(); }));
  REQUIRE((*r)->ok());
  CHECK(handled == 1);
}

}  // namespace
}  // namespace kv::net

namespace kv::net {
namespace {

// Reads one whole frame from a blocking socket and decodes it as a Response.
Result<Response> read_response(asio::ip::tcp::socket& socket) {
  HeaderBytes header{};
  asio::read(socket, asio::buffer(header));
  Result<FrameHeader> parsed = parse_frame_header(header, kDefaultClientMaxPayloadBytes);
  if (!parsed.ok()) return Result<Response>::failure(parsed.error());
  std::vector<std::uint64_t> payload(parsed.value().payload_bytes / 8);
  asio::read(socket, asio::buffer(payload));
  return decode_response(payload);
}

TEST_CASE("client server: a request kind it does not know is answered and the connection stays",
          "[net][client]") {
  asio::io_context io;
  ClientServer server(io, {}, [](Request request, Responder responder) {
    responder.respond(Response{request.id, GetResponse{true, "ok", 1}});
  });
  REQUIRE(server.start().ok());
  auto guard = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });

  capnp::MallocMessageBuilder builder;
  auto request = builder.initRoot<wire::Request>();
  request.setId(5);
  request.initTxn().initCompares(1)[0].setOp(static_cast<wire::CompareOp>(9));  // from the future
  EncodedFrame unknown = detail::finish_frame(FrameKind::kClientRequest, builder);
  EncodedFrame good = encode_request(Request{6, 0, 0, 0, GetRequest{"k", false}});
  asio::io_context raw_io;
  asio::ip::tcp::socket raw(raw_io);
  raw.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  asio::write(raw, std::array{asio::buffer(unknown.bytes().data(), unknown.bytes().size()),
                              asio::buffer(good.bytes().data(), good.bytes().size())});
  Result<Response> first = read_response(raw);
  Result<Response> second = read_response(raw);
  io.stop();
  runner.join();
  REQUIRE(first.ok());
  CHECK(first.value().id == 5);
  const auto* error = std::get_if<ErrorResponse>(&first.value().body);
  REQUIRE(error != nullptr);
  CHECK(error->code == ErrorCode::kBadRequest);
  CHECK_THAT(error->message, Catch::Contains("unknown compare op 9"));
  REQUIRE(second.ok());
  CHECK(second.value().id == 6);
  CHECK(std::holds_alternative<GetResponse>(second.value().body));
  CHECK(server.stats().bad_requests == 1);
  CHECK(server.stats().connections_dropped == 0);
}

}  // namespace
}  // namespace kv::net

namespace kv::net {
namespace {

TEST_CASE("client server: frames split at any byte or glued together are read correctly",
          "[net][client]") {
  asio::io_context io;
  ClientServer server(io, {}, [](Request request, Responder responder) {
    responder.respond(Response{request.id, echo(request)});
  });
  REQUIRE(server.start().ok());
  auto guard = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });

  asio::io_context raw_io;
  asio::ip::tcp::socket raw(raw_io);
  raw.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  raw.set_option(asio::ip::tcp::no_delay(true));
  std::vector<std::byte> stream;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    EncodedFrame f = encode_request(Request{id, 0, id, 0, GetRequest{test::binary(40000 * (id - 1) + 5), false}});
    stream.insert(stream.end(), f.bytes().begin(), f.bytes().end());
  }
  // The first frame dribbles in byte by byte (header and payload split everywhere); the
  // rest arrive glued together with it in larger pieces, one of them bigger than the
  // reader's buffer.
  std::size_t sent = 0;
  const std::size_t first_frame_bytes = encode_request(Request{1, 0, 1, 0, GetRequest{test::binary(5), false}}).size_bytes();
  for (; sent < first_frame_bytes + 3; ++sent) asio::write(raw, asio::buffer(&stream[sent], 1));
  while (sent < stream.size()) {
    const std::size_t n = std::min<std::size_t>(7001, stream.size() - sent);
    asio::write(raw, asio::buffer(&stream[sent], n));
    sent += n;
  }
  std::vector<Result<Response>> responses;
  for (int i = 0; i < 3; ++i) responses.push_back(read_response(raw));
  io.stop();
  runner.join();
  for (std::uint64_t id = 1; id <= 3; ++id) {
    const Result<Response>& r = responses[id - 1];
    REQUIRE(r.ok());
    CHECK(r.value().id == id);
    CHECK(std::get<GetResponse>(r.value().body).value == test::binary(40000 * (id - 1) + 5));
  }
}

}  // namespace
}  // namespace kv::net

// ---- measurements (hidden: run with  kv_net_tests "[bench]")

namespace kv::net {
namespace {

TEST_CASE("bench: client round trip and pipelined throughput", "[.][bench]") {
  // Server on its own io thread, as in kvd; the client on this thread.
  asio::io_context server_io;
  ClientServer server(server_io, {}, [](Request request, Responder responder) {
    responder.respond(Response{request.id, GetResponse{true, "value-of-64-bytes-" + std::string(46, 'x'), 1}});
  });
  REQUIRE(server.start().ok());
  auto guard = asio::make_work_guard(server_io);
  std::thread server_thread([&server_io] { server_io.run(); });

  asio::io_context io;
  auto conn = connect(io, server.port());
  constexpr int kPingPongs = 20000;
  std::vector<double> rtt_us;
  rtt_us.reserve(kPingPongs);
  bool done = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < kPingPongs; ++i) {
      const auto start = std::chrono::steady_clock::now();
      CallResult r = co_await conn->call(get("key"), 5s);
      rtt_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
      if (!r.ok()) break;
    }
    done = true;
    io.stop();
  }, asio::detached);
  io.restart();
  io.run();
  REQUIRE(done);
  REQUIRE(rtt_us.size() == kPingPongs);
  std::sort(rtt_us.begin(), rtt_us.end());
  std::printf("client ping-pong (2 threads, 64 B value): median %.1f us, p99 %.1f us, %d calls\n",
              rtt_us[rtt_us.size() / 2], rtt_us[rtt_us.size() * 99 / 100], kPingPongs);

  constexpr int kCallers = 64;
  const auto window = 2s;
  std::uint64_t completed = 0;
  int finished = 0;
  io.restart();
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < kCallers; ++c) {
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      while (std::chrono::steady_clock::now() - start < window) {
        CallResult r = co_await conn->call(get("key"), 5s);
        if (!r.ok()) break;
        ++completed;
      }
      if (++finished == kCallers) io.stop();
    }, asio::detached);
  }
  io.run();  // the last caller stops it (run_until's one-handler steps would dominate the cost)
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("client pipelined (%d callers, 1 connection): %.0f requests/s\n", kCallers,
              static_cast<double>(completed) / seconds);
  server.stop();
  guard.reset();
  server_thread.join();
}

}  // namespace
}  // namespace kv::net
