// Framing: every frame on a peer or client connection is an 8-byte header followed by one
// Cap'n Proto message in the standard flat-array ("stream") encoding.
//
//   bytes 0..3  payload length in bytes, UInt32 little-endian (excludes the header);
//               a multiple of 8, at least 8, at most the connection's limit
//   bytes 4..5  frame kind, UInt16 little-endian (FrameKind; selects the root struct)
//   bytes 6..7  magic 'K' 'V' (0x4B 0x56)
//
// The header is exactly one word, so a payload read right after it into word-aligned memory
// is word-aligned, as Cap'n Proto requires. The magic catches a client talking to the peer
// port, an HTTP probe, or a desynchronised stream before any length is trusted.
// Pure code: no I/O, no Cap'n Proto in this header. Thread-safe (no shared state).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "net/result.h"

namespace kv::net {

// Must match enum FrameKind in schema/frame.capnp (static_asserted in frame.cc).
enum class FrameKind : std::uint16_t {
  kInvalid = 0,
  kPeerHello = 1,
  kPeerHelloAck = 2,
  kPeerBatch = 3,
  kSnapshotChunk = 4,
  kClientRequest = 5,
  kClientResponse = 6,
};
inline constexpr std::uint16_t kFrameKindCount = 7;
const char* to_string(FrameKind kind);

inline constexpr std::uint16_t kFrameMagic = 0x564B;  // bytes 'K','V' read as little-endian
inline constexpr std::size_t kFrameHeaderBytes = 8;
inline constexpr std::size_t kWordBytes = 8;
static_assert(kFrameHeaderBytes == kWordBytes, "the header is one word: keeps payloads aligned");

// Default payload limits. Peers carry log entries and snapshot chunks; clients carry one
// request or response each.
inline constexpr std::uint32_t kDefaultPeerMaxPayloadBytes = 64u << 20;
inline constexpr std::uint32_t kDefaultClientMaxPayloadBytes = 4u << 20;
// The smallest legal payload: a one-segment table (one word) with no segment data would be
// empty; any real message has a segment table word plus at least a root pointer word.
inline constexpr std::uint32_t kMinPayloadBytes = 16;

struct FrameHeader {
  std::uint32_t payload_bytes = 0;
  FrameKind kind = FrameKind::kInvalid;

  bool operator==(const FrameHeader&) const = default;
};

using HeaderBytes = std::array<std::byte, kFrameHeaderBytes>;

HeaderBytes encode_frame_header(const FrameHeader& header);

// Validates a received header: magic, a known kind, and
// kMinPayloadBytes <= payload_bytes <= max_payload_bytes with payload_bytes % 8 == 0.
// Result: the header, or why the connection must be closed.
Result<FrameHeader> parse_frame_header(const HeaderBytes& bytes, std::uint32_t max_payload_bytes);

// Word-aligned storage left uninitialised: every byte is written (by a codec or a socket
// read) right after allocation, so zeroing a 64 MiB frame first would be wasted work.
class WordBuffer {
 public:
  WordBuffer() = default;
  explicit WordBuffer(std::size_t words)
      : words_(std::make_unique_for_overwrite<std::uint64_t[]>(words)), size_(words) {}

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<std::uint64_t> span() { return {words_.get(), size_}; }
  std::span<const std::uint64_t> span() const { return {words_.get(), size_}; }
  operator std::span<const std::uint64_t>() const { return span(); }  // NOLINT: implicit on purpose

 private:
  std::unique_ptr<std::uint64_t[]> words_;
  std::size_t size_ = 0;
};

// A complete outgoing frame (header + payload) in one word-aligned buffer, so it goes out
// in one write. Built by the codecs (raft_codec.h, client_codec.h).
class EncodedFrame {
 public:
  EncodedFrame() = default;
  // Allocates header + payload_words words and writes the header.
  // REQUIRES: kind != kInvalid; the payload fits in a UInt32 byte length.
  EncodedFrame(FrameKind kind, std::size_t payload_words);

  FrameKind kind() const { return kind_; }
  bool empty() const { return words_.empty(); }
  // Header and payload: what goes on the wire.
  std::span<const std::byte> bytes() const { return std::as_bytes(words_.span()); }
  std::size_t size_bytes() const { return words_.size() * kWordBytes; }
  // The payload alone (for the codec that fills it, and for decoding in tests).
  std::span<std::uint64_t> payload() { return words_.span().subspan(words_.empty() ? 0 : 1); }
  std::span<const std::uint64_t> payload() const {
    return words_.span().subspan(words_.empty() ? 0 : 1);
  }

 private:
  FrameKind kind_ = FrameKind::kInvalid;
  WordBuffer words_;  // words_[0] is the header
};

// A received frame: the validated header's kind and the word-aligned payload.
struct ReceivedFrame {
  FrameKind kind = FrameKind::kInvalid;
  WordBuffer payload;
};

}  // namespace kv::net
