#include "net/detail/frame_io.h"

#include <asio/buffer.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

namespace kv::net::detail {

Result<std::uint16_t> open_listener(asio::ip::tcp::acceptor& acceptor, const std::string& host,
                                    std::uint16_t port) {
  const std::string where = host + ":" + std::to_string(port);
  std::error_code ec;
  asio::ip::tcp::resolver resolver(acceptor.get_executor());
  const auto endpoints = resolver.resolve(host, std::to_string(port),
                                          asio::ip::tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return Result<std::uint16_t>::failure("cannot resolve listen address " + where + ": " +
                                          (ec ? ec.message() : "no address"));
  }
  const asio::ip::tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  // Lets a restarted node bind its port while old connections sit in TIME_WAIT.
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
    return Result<std::uint16_t>::failure("cannot listen on " + where + ": " + ec.message());
  }
  return acceptor.local_endpoint().port();
}

void log_line(const char* format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  std::fprintf(stderr, "kv-net: %s\n", text);
}

std::string remote_address(const Socket& socket) {
  std::error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "?";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void tune_socket(Socket& socket) {
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
}

void close_quietly(Socket& socket) {
  std::error_code ignored;
  socket.shutdown(Socket::shutdown_both, ignored);
  socket.close(ignored);
}

Signal::Signal(const asio::any_io_executor& executor)
    : timer_(executor, asio::steady_timer::time_point::max()) {}

void Signal::notify() {
  pending_ = true;
  timer_.cancel();
}

asio::awaitable<void> Signal::wait() {
  if (!pending_) {
    std::error_code ec;  // operation_aborted is the wakeup
    timer_.expires_at(asio::steady_timer::time_point::max());
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  pending_ = false;
}

Deadline::Deadline(const SocketPtr& socket, std::chrono::milliseconds after)
    : timer_(socket->get_executor()), state_(std::make_shared<State>()) {
  timer_.expires_after(after);
  timer_.async_wait([weak = std::weak_ptr<Socket>(socket), state = state_](std::error_code ec) {
    if (ec || !state->armed) return;
    state->expired = true;
    if (auto s = weak.lock()) close_quietly(*s);
  });
}

Deadline::~Deadline() {
  state_->armed = false;
  timer_.cancel();
}

asio::awaitable<ReadOutcome> read_frame(Socket& socket, std::uint32_t max_payload_bytes) {
  ReadOutcome out;
  HeaderBytes header{};
  std::error_code ec;
  const std::size_t got = co_await asio::async_read(
      socket, asio::buffer(header), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.clean_close = got == 0 && ec == asio::error::eof;
    out.error = out.clean_close ? "connection closed by the remote end"
                : got > 0       ? "truncated frame header (" + ec.message() + ")"
                                : ec.message();
    co_return out;
  }
  Result<FrameHeader> parsed = parse_frame_header(header, max_payload_bytes);
  if (!parsed.ok()) {
    out.error = parsed.error();
    co_return out;
  }
  out.frame.kind = parsed.value().kind;
  out.frame.payload = WordBuffer(parsed.value().payload_bytes / kWordBytes);
  const std::span<std::uint64_t> payload = out.frame.payload.span();
  co_await asio::async_read(socket, asio::buffer(payload.data(), payload.size_bytes()),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = "truncated " + std::string(to_string(out.frame.kind)) + " frame (" +
                ec.message() + ")";
  }
  co_return out;
}

FrameReader::FrameReader(std::size_t buffer_bytes) : buffer_(buffer_bytes) {
  KV_ASSERT(buffer_bytes >= kFrameHeaderBytes);
}

asio::awaitable<std::string> FrameReader::fill(Socket& socket) {
  if (begin_ > 0) {  // compact: unconsumed bytes to the front
    std::memmove(buffer_.data(), buffer_.data() + begin_, buffered());
    end_ -= begin_;
    begin_ = 0;
  }
  std::error_code ec;
  const std::size_t got = co_await socket.async_read_some(
      asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
      asio::redirect_error(asio::use_awaitable, ec));
  end_ += got;
  if (ec) co_return ec == asio::error::eof ? "end of file" : ec.message();
  co_return "";
}

asio::awaitable<ReadOutcome> FrameReader::read(Socket& socket, std::uint32_t max_payload_bytes) {
  ReadOutcome out;
  while (buffered() < kFrameHeaderBytes) {
    std::string error = co_await fill(socket);
    if (error.empty()) continue;
    out.clean_close = buffered() == 0 && error == "end of file";
    out.error = out.clean_close ? "connection closed by the remote end"
                : buffered() > 0 ? "truncated frame header (" + error + ")"
                                 : error;
    co_return out;
  }
  HeaderBytes header{};
  std::memcpy(header.data(), buffer_.data() + begin_, header.size());
  Result<FrameHeader> parsed = parse_frame_header(header, max_payload_bytes);
  if (!parsed.ok()) {
    out.error = parsed.error();
    co_return out;
  }
  begin_ += kFrameHeaderBytes;
  out.frame.kind = parsed.value().kind;
  out.frame.payload = WordBuffer(parsed.value().payload_bytes / kWordBytes);
  const std::span<std::byte> payload = std::as_writable_bytes(out.frame.payload.span());
  const std::size_t have = std::min(buffered(), payload.size());
  std::memcpy(payload.data(), buffer_.data() + begin_, have);
  begin_ += have;
  if (have == payload.size()) co_return out;
  std::error_code ec;  // the buffer is empty now: read the rest straight into the payload
  co_await asio::async_read(socket, asio::buffer(payload.data() + have, payload.size() - have),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = "truncated " + std::string(to_string(out.frame.kind)) + " frame (" +
                ec.message() + ")";
  }
  co_return out;
}

asio::awaitable<std::string> write_frames(const SocketPtr& socket, std::deque<EncodedFrame>& frames,
                                          std::chrono::milliseconds stall_timeout) {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(frames.size());
  for (const EncodedFrame& f : frames) buffers.emplace_back(f.bytes().data(), f.bytes().size());
  Deadline deadline(socket, stall_timeout);
  std::error_code ec;
  co_await asio::async_write(*socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
  if (deadline.expired()) co_return "write stalled for " + std::to_string(stall_timeout.count()) + " ms";
  if (ec) co_return "write failed: " + ec.message();
  co_return "";
}

FrameWriteQueue::FrameWriteQueue(const asio::any_io_executor& executor, std::size_t max_queued_bytes)
    : max_queued_bytes_(max_queued_bytes), signal_(executor) {}

bool FrameWriteQueue::push(EncodedFrame frame) {
  KV_ASSERT(!frame.empty());
  if (!accepting()) return false;
  if (!frames_.empty() && queued_bytes_ + frame.size_bytes() > max_queued_bytes_) return false;
  queued_bytes_ += frame.size_bytes();
  frames_.push_back(std::move(frame));
  signal_.notify();
  return true;
}

asio::awaitable<std::string> FrameWriteQueue::run(SocketPtr socket,
                                                  std::chrono::milliseconds stall_timeout) {
  std::deque<EncodedFrame> writing;
  while (!closed_) {
    if (frames_.empty()) {
      if (finishing_) co_return "";
      co_await signal_.wait();
      continue;
    }
    writing.swap(frames_);  // frames pushed during the write wait for the next round
    std::string error = co_await write_frames(socket, writing, stall_timeout);
    for (const EncodedFrame& f : writing) queued_bytes_ -= f.size_bytes();
    writing.clear();
    if (!error.empty()) co_return error;
  }
  co_return "";
}

void FrameWriteQueue::finish() {
  finishing_ = true;
  signal_.notify();
}

void FrameWriteQueue::close() {
  closed_ = true;
  signal_.notify();
}

}  // namespace kv::net::detail

namespace kv::net::detail {

void LogExceptions::operator()(std::exception_ptr error) const {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    log_line("%s ended by an exception: %s", what, e.what());
  } catch (...) {
    log_line("%s ended by an unknown exception", what);
  }
}

}  // namespace kv::net::detail
