// Frame headers and decoders against hostile input: every outcome must be a clean error or a
// clean value, never a crash, an exception or an unbounded allocation. Seeded and bounded.
#include <catch2/catch.hpp>

#include <chrono>
#include <random>

#include "net/client_codec.h"
#include "net/frame.h"
#include "net/raft_codec.h"
#include "test_util.h"

namespace kv::net {
namespace {

HeaderBytes header_of(std::uint32_t length, std::uint16_t kind, std::uint16_t magic = kFrameMagic) {
  HeaderBytes h{};
  for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(i)] = std::byte((length >> (8 * i)) & 0xFF);
  h[4] = std::byte(kind & 0xFF);
  h[5] = std::byte(kind >> 8);
  h[6] = std::byte(magic & 0xFF);
  h[7] = std::byte(magic >> 8);
  return h;
}

TEST_CASE("frame header layout is little-endian length, kind, 'KV'", "[net][frame]") {
  HeaderBytes h = encode_frame_header({0x01020308u, FrameKind::kPeerBatch});
  const HeaderBytes expected{std::byte{0x08}, std::byte{0x03}, std::byte{0x02}, std::byte{0x01},
                             std::byte{0x03}, std::byte{0x00}, std::byte{'K'}, std::byte{'V'}};
  CHECK(h == expected);
  Result<FrameHeader> parsed = parse_frame_header(h, 0x02000000u);
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == FrameHeader{0x01020308u, FrameKind::kPeerBatch});
}

TEST_CASE("bad frame headers are rejected with a reason", "[net][frame]") {
  const std::uint32_t max = 1024;
  CHECK(parse_frame_header(header_of(64, 5), max).ok());
  CHECK_THAT(parse_frame_header(header_of(64, 5, 0x1234), max).error(), Catch::Contains("magic"));
  CHECK_THAT(parse_frame_header(header_of(64, 0), max).error(), Catch::Contains("unknown frame kind"));
  CHECK_THAT(parse_frame_header(header_of(64, kFrameKindCount), max).error(),
             Catch::Contains("unknown frame kind"));
  CHECK_THAT(parse_frame_header(header_of(1032, 5), max).error(), Catch::Contains("exceeds"));
  CHECK_THAT(parse_frame_header(header_of(0xFFFFFFF8u, 5), max).error(), Catch::Contains("exceeds"));
  CHECK_THAT(parse_frame_header(header_of(60, 5), max).error(), Catch::Contains("multiple of 8"));
  CHECK_THAT(parse_frame_header(header_of(0, 5), max).error(), Catch::Contains("at least 16"));
  CHECK_THAT(parse_frame_header(header_of(8, 5), max).error(), Catch::Contains("at least 16"));
  // An HTTP request on the port: "GET / HT" must not be read as a length.
  HeaderBytes http{};
  const char* get = "GET / HT";
  for (std::size_t i = 0; i < 8; ++i) http[i] = std::byte(static_cast<unsigned char>(get[i]));
  CHECK_FALSE(parse_frame_header(http, kDefaultPeerMaxPayloadBytes).ok());
}

TEST_CASE("random headers: anything accepted satisfies every header rule", "[net][frame]") {
  std::mt19937_64 rng(20240601);
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    HeaderBytes h{};
    const std::uint64_t bits = rng();
    for (std::size_t b = 0; b < 8; ++b) h[b] = std::byte((bits >> (8 * b)) & 0xFF);
    if (i % 2 == 0) {  // half with the right magic, or nothing would get past it
      h[6] = std::byte{'K'};
      h[7] = std::byte{'V'};
      h[5] = std::byte{0};
      h[3] = std::byte{0};
    }
    Result<FrameHeader> parsed = parse_frame_header(h, 1u << 20);
    if (!parsed.ok()) continue;
    ++accepted;
    CHECK(parsed.value().payload_bytes % 8 == 0);
    CHECK(parsed.value().payload_bytes >= kMinPayloadBytes);
    CHECK(parsed.value().payload_bytes <= (1u << 20));
    CHECK(parsed.value().kind != FrameKind::kInvalid);
  }
  CHECK(accepted > 0);
}

// Runs every decoder on one payload; any outcome but a crash or an escaped exception passes.
int decode_everything(std::span<const std::uint64_t> payload) {
  int ok = 0;
  ok += decode_peer_hello(payload).ok();
  ok += decode_peer_hello_ack(payload).ok();
  ok += decode_peer_batch(payload).ok();
  ok += decode_snapshot_chunk(payload).ok();
  ok += decode_request(payload).ok();
  ok += decode_response(payload).ok();
  (void)peek_request_id(payload);
  return ok;
}

std::vector<std::vector<std::uint64_t>> valid_payloads() {
  std::vector<std::vector<std::uint64_t>> out;
  auto keep = [&out](const EncodedFrame& f) { out.emplace_back(f.payload().begin(), f.payload().end()); };
  std::vector<GroupMessage> msgs;
  for (int g = 0; g < 5; ++g) {
    raft::Message m = test::heartbeat(1, 2, 3);
    m.type = raft::MessageType::kAppend;
    m.entries = {raft::Entry{3, 10, {}, test::binary(40)}, raft::Entry{3, 11, {}, "x"}};
    m.context = "ctx";
    msgs.push_back(GroupMessage{static_cast<GroupId>(g), m});
  }
  keep(encode_peer_batch(1, 9, msgs));
  keep(encode_peer_hello(PeerHello{1, 9, 1, 2}));
  keep(encode_snapshot_chunk(SnapshotChunk{1, 2, 3, 4, test::binary(100), true}));
  TxnRequest txn{{TxnCompare{"a", CompareOp::kLess, CompareVersion{3}}},
                 {PutRequest{"a", "b", true}, RangeRequest{"a", "c", 5, false, false, false}},
                 {GetRequest{"z", false}}};
  keep(encode_request(Request{7, 8, 9, 10, txn}));
  keep(encode_response(Response{7, RangeResponse{{KeyValue{"k", "v", 1}, KeyValue{"k2", "v2", 2}}, true, 9}}));
  return out;
}

TEST_CASE("decoders survive random payloads", "[net][frame]") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::uint64_t> payload(2 + rng() % 40);
    for (auto& w : payload) w = rng();
    if (i % 3 == 0) payload[0] = (rng() % 4) | ((payload.size() - 1) << 32);  // plausible table
    decode_everything(payload);
  }
  SUCCEED("no crash");
}

TEST_CASE("decoders survive truncated and bit-flipped valid messages", "[net][frame]") {
  std::mt19937_64 rng(11);
  int accepted_truncations = 0;
  for (const auto& valid : valid_payloads()) {
    REQUIRE(decode_everything(valid) >= 1);
    for (std::size_t n = 0; n < valid.size(); ++n) {
      accepted_truncations += decode_everything(std::span(valid).first(n));
    }
    for (int round = 0; round < 400; ++round) {
      std::vector<std::uint64_t> mutated = valid;
      const int flips = 1 + static_cast<int>(rng() % 6);
      for (int f = 0; f < flips; ++f) {
        mutated[rng() % mutated.size()] ^= std::uint64_t{1} << (rng() % 64);
      }
      decode_everything(mutated);
    }
  }
  // A truncated message has a segment table promising more words than are there.
  CHECK(accepted_truncations == 0);
}

TEST_CASE("trailing words after a valid message are rejected", "[net][frame]") {
  EncodedFrame frame = encode_peer_hello(PeerHello{1, 2, 3, 4});
  std::vector<std::uint64_t> padded(frame.payload().begin(), frame.payload().end());
  padded.push_back(0);
  CHECK_THAT(decode_peer_hello(padded).error(), Catch::Contains("trailing"));
}

TEST_CASE("a list of zero-sized structs claiming 2^29 elements is refused quickly", "[net][frame]") {
  // Hand-built PeerBatch: root struct (2 data words, 1 pointer) whose `messages` pointer is an
  // inline-composite list of 0 words whose tag claims 2^29-1 elements of size 0. Decoding it
  // naively would allocate ~2^29 GroupMessages; the traversal limit must stop it first.
  const std::uint64_t count = (std::uint64_t{1} << 29) - 1;
  std::vector<std::uint64_t> payload = {
      std::uint64_t{5} << 32,                                // segment table: 1 segment, 5 words
      (std::uint64_t{2} << 32) | (std::uint64_t{1} << 48),   // root: struct, 2 data, 1 ptr
      1, 9,                                                  // from, clusterId
      1 | (std::uint64_t{7} << 32),                          // list ptr: composite, 0 words
      count << 2,                                            // tag: count elements, 0/0 size
  };
  const auto start = std::chrono::steady_clock::now();
  Result<PeerBatch> batch = decode_peer_batch(payload);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(batch.ok());
  CHECK_THAT(batch.error(), Catch::Contains("amplified") || Catch::Contains("traversal"));
  CHECK(took < std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace kv::net
