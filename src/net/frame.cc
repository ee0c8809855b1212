#include "net/frame.h"

#include <kj/io.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "net/detail/capnp_frame.h"
#include "net/schema/frame.capnp.h"

namespace kv::net {

// The wire constants live in two places (schema for other languages, C++ for us): pin them.
static_assert(wire::FRAME_MAGIC == kFrameMagic);
static_assert(wire::FRAME_HEADER_BYTES == kFrameHeaderBytes);
static_assert(static_cast<std::uint16_t>(wire::FrameKind::PEER_HELLO) ==
              static_cast<std::uint16_t>(FrameKind::kPeerHello));
static_assert(static_cast<std::uint16_t>(wire::FrameKind::PEER_HELLO_ACK) ==
              static_cast<std::uint16_t>(FrameKind::kPeerHelloAck));
static_assert(static_cast<std::uint16_t>(wire::FrameKind::PEER_BATCH) ==
              static_cast<std::uint16_t>(FrameKind::kPeerBatch));
static_assert(static_cast<std::uint16_t>(wire::FrameKind::SNAPSHOT_CHUNK) ==
              static_cast<std::uint16_t>(FrameKind::kSnapshotChunk));
static_assert(static_cast<std::uint16_t>(wire::FrameKind::CLIENT_REQUEST) ==
              static_cast<std::uint16_t>(FrameKind::kClientRequest));
static_assert(static_cast<std::uint16_t>(wire::FrameKind::CLIENT_RESPONSE) ==
              static_cast<std::uint16_t>(FrameKind::kClientResponse));
static_assert(sizeof(capnp::word) == kWordBytes && alignof(capnp::word) <= alignof(std::uint64_t));

const char* to_string(FrameKind kind) {
  switch (kind) {
    case FrameKind::kInvalid: return "invalid";
    case FrameKind::kPeerHello: return "peer-hello";
    case FrameKind::kPeerHelloAck: return "peer-hello-ack";
    case FrameKind::kPeerBatch: return "peer-batch";
    case FrameKind::kSnapshotChunk: return "snapshot-chunk";
    case FrameKind::kClientRequest: return "client-request";
    case FrameKind::kClientResponse: return "client-response";
  }
  return "unknown";
}

HeaderBytes encode_frame_header(const FrameHeader& header) {
  KV_ASSERT(header.kind != FrameKind::kInvalid);
  KV_ASSERT(header.payload_bytes % kWordBytes == 0);
  const auto kind = static_cast<std::uint16_t>(header.kind);
  HeaderBytes out{};
  for (std::size_t i = 0; i < 4; ++i) {
    out[i] = static_cast<std::byte>((header.payload_bytes >> (8 * i)) & 0xFFu);
  }
  out[4] = static_cast<std::byte>(kind & 0xFFu);
  out[5] = static_cast<std::byte>(kind >> 8);
  out[6] = static_cast<std::byte>(kFrameMagic & 0xFFu);
  out[7] = static_cast<std::byte>(kFrameMagic >> 8);
  return out;
}

namespace {
std::uint32_t load_u32(const HeaderBytes& b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(b[at + i]) << (8 * i);
  return v;
}
std::uint16_t load_u16(const HeaderBytes& b, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[at]) |
                                    (std::to_integer<unsigned>(b[at + 1]) << 8));
}
}  // namespace

Result<FrameHeader> parse_frame_header(const HeaderBytes& bytes, std::uint32_t max_payload_bytes) {
  const std::uint16_t magic = load_u16(bytes, 6);
  if (magic != kFrameMagic) {
    char text[64];
    std::snprintf(text, sizeof text, "bad frame magic 0x%04x (not a kv frame stream)", magic);
    return Result<FrameHeader>::failure(text);
  }
  const std::uint16_t kind = load_u16(bytes, 4);
  if (kind == 0 || kind >= kFrameKindCount) {
    return Result<FrameHeader>::failure("unknown frame kind " + std::to_string(kind));
  }
  const std::uint32_t length = load_u32(bytes, 0);
  if (length > max_payload_bytes) {
    return Result<FrameHeader>::failure("frame of " + std::to_string(length) +
                                        " bytes exceeds the limit of " +
                                        std::to_string(max_payload_bytes));
  }
  if (length < kMinPayloadBytes || length % kWordBytes != 0) {
    return Result<FrameHeader>::failure("bad frame length " + std::to_string(length) +
                                        " (must be a multiple of 8, at least 16)");
  }
  return FrameHeader{length, static_cast<FrameKind>(kind)};
}

EncodedFrame::EncodedFrame(FrameKind kind, std::size_t payload_words)
    : kind_(kind), words_(1 + payload_words) {
  KV_ASSERT(kind != FrameKind::kInvalid);
  KV_ASSERT(payload_words <= std::numeric_limits<std::uint32_t>::max() / kWordBytes);
  const HeaderBytes header =
      encode_frame_header({static_cast<std::uint32_t>(payload_words * kWordBytes), kind});
  std::memcpy(words_.span().data(), header.data(), header.size());
}

namespace detail {

EncodedFrame finish_frame(FrameKind kind, capnp::MessageBuilder& builder) {
  const std::size_t payload_words = capnp::computeSerializedSizeInWords(builder);
  EncodedFrame frame(kind, payload_words);
  std::span<std::uint64_t> payload = frame.payload();
  kj::ArrayOutputStream out(kj::arrayPtr(reinterpret_cast<kj::byte*>(payload.data()),
                                         payload.size_bytes()));
  capnp::writeMessage(out, builder);
  KV_ASSERT(out.getArray().size() == payload.size_bytes());
  return frame;
}

capnp::ReaderOptions reader_options_for(std::size_t payload_words) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 2 * payload_words + 64;
  options.nestingLimit = 64;
  return options;
}

}  // namespace detail
}  // namespace kv::net
