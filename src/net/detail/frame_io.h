// Internal to src/net: Asio building blocks shared by the peer and client transports.
// Everything here runs on one io_context thread; nothing is thread-safe unless it says so.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "net/frame.h"
#include "net/result.h"

namespace kv::net::detail {

using Socket = asio::ip::tcp::socket;
using SocketPtr = std::shared_ptr<Socket>;

// Opens, binds and listens on host:port (host: an IP literal or a resolvable name; port 0
// picks a free port). Result: the bound port, or why it failed. Blocking (name resolution).
Result<std::uint16_t> open_listener(asio::ip::tcp::acceptor& acceptor, const std::string& host,
                                    std::uint16_t port);

// One line to stderr, prefixed "kv-net: ". Thread-safe (one fprintf per line).
void log_line(const char* format, ...) __attribute__((format(printf, 1, 2)));

// "ip:port" of the remote end, or "?" once the socket is closed.
std::string remote_address(const Socket& socket);

// TCP_NODELAY (Raft heartbeats and client requests are small and latency-bound) and keepalive
// (detects a peer that vanished without a FIN). Errors are ignored: both are optimisations.
void tune_socket(Socket& socket);

// Closes without throwing; safe on an already closed socket.
void close_quietly(Socket& socket);

// An edge-triggered wakeup for one waiting coroutine: notify() before wait() is not lost.
class Signal {
 public:
  explicit Signal(const asio::any_io_executor& executor);
  void notify();
  // Returns after notify() (or at once if one is pending), or when the signal is cancelled.
  asio::awaitable<void> wait();

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

// Closes `socket` if the deadline passes before this object is destroyed: bounds connects,
// handshakes and writes. The expiry is only acted on while armed, so a timer that fired just
// as the guarded operation completed cannot close the socket under the next operation.
class Deadline {
 public:
  Deadline(const SocketPtr& socket, std::chrono::milliseconds after);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  bool expired() const { return state_->expired; }

 private:
  struct State {
    bool armed = true;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

struct ReadOutcome {
  bool ok() const { return error.empty(); }
  ReceivedFrame frame;
  std::string error;         // empty on success
  bool clean_close = false;  // the peer closed between frames (not an error worth logging)
};

// Reads one frame without buffering ahead (for a connection's handshake replies, where
// nothing else is expected): header, validation against max_payload_bytes, then the payload
// into word-aligned memory. Never throws; failures are in the outcome.
asio::awaitable<ReadOutcome> read_frame(Socket& socket, std::uint32_t max_payload_bytes);

// Reads frames through a receive buffer, so that a stream of small pipelined frames costs one
// recv per buffer-full rather than two per frame. Frames larger than what is buffered are
// completed with a direct read into their own payload. One reader per connection, used for
// every read on it (a second reader would miss what this one buffered).
class FrameReader {
 public:
  explicit FrameReader(std::size_t buffer_bytes = 32 * 1024);
  // As read_frame().
  asio::awaitable<ReadOutcome> read(Socket& socket, std::uint32_t max_payload_bytes);

 private:
  // Appends what the socket has (at least one byte) after compacting. "" or the error.
  asio::awaitable<std::string> fill(Socket& socket);
  std::size_t buffered() const { return end_ - begin_; }

  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
};

// Writes one frame (or several, gathered) with a stall deadline. Returns "" or the error.
asio::awaitable<std::string> write_frames(const SocketPtr& socket, std::deque<EncodedFrame>& frames,
                                          std::chrono::milliseconds stall_timeout);

// A bounded queue of outgoing frames and the coroutine that writes them, coalescing whatever
// has queued up into one gather write.
class FrameWriteQueue {
 public:
  FrameWriteQueue(const asio::any_io_executor& executor, std::size_t max_queued_bytes);

  // Queues a frame. Returns false, queuing nothing, when it would push the queue past
  // max_queued_bytes (an empty queue always accepts one frame) or after close()/finish().
  bool push(EncodedFrame frame);
  // Writes frames until close() or an error. Returns the reason it stopped ("" after close()).
  asio::awaitable<std::string> run(SocketPtr socket, std::chrono::milliseconds stall_timeout);
  void close();
  // Writes what is queued, then run() returns "". push() refuses frames from now on.
  void finish();
  bool accepting() const { return !closed_ && !finishing_; }
  std::size_t queued_bytes() const { return queued_bytes_; }

 private:
  std::deque<EncodedFrame> frames_;
  std::size_t queued_bytes_ = 0;
  std::size_t max_queued_bytes_;
  bool closed_ = false;
  bool finishing_ = false;
  Signal signal_;
};

}  // namespace kv::net::detail

namespace kv::net::detail {

// co_spawn completion handler: an exception escaping a connection's coroutine (a bug, or a
// handler that threw) is logged and ends that coroutine only; it never leaves io_context::run.
struct LogExceptions {
  const char* what;
  void operator()(std::exception_ptr error) const;
};

}  // namespace kv::net::detail
