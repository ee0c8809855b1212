// Internal to src/net: the glue between Cap'n Proto messages and frames. Includes capnp
// headers, so only the codec .cc files include it.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>

#include "net/frame.h"
#include "net/result.h"

namespace kv::net::detail {

// Thrown by decoders for semantic errors (unknown enum value, bad union tag); caught and
// turned into a Result by decode_payload(), never escapes src/net.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Serializes a built message into a frame of the given kind (one copy of the segments).
EncodedFrame finish_frame(FrameKind kind, capnp::MessageBuilder& builder);

// Reader limits for a payload of `payload_words`: traversal is capped at twice the payload
// (our decoders visit each object once; the slack covers capnp's own accounting), so a small
// frame cannot make us walk gigabytes through shared pointers. Nesting stays at capnp's 64.
capnp::ReaderOptions reader_options_for(std::size_t payload_words);

inline capnp::Data::Reader as_data(const std::string& bytes) {
  return {reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()};
}
inline std::string to_string(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}
inline std::string to_string(capnp::Text::Reader text) { return {text.cStr(), text.size()}; }

// capnp list sizes are 29-bit; frames are far smaller, so a larger list is a caller bug.
inline unsigned list_size(std::size_t n) {
  KV_ASSERT(n < (std::size_t{1} << 29));
  return static_cast<unsigned>(n);
}

// Parses `payload` as one flat-array message and runs `decode(reader)` on it, which returns a
// T or throws. A capnp/kj exception or trailing data becomes a kMalformed failure, a
// DecodeError a kUnsupported one.
template <class T, class Decode>
Result<T> decode_payload(std::span<const std::uint64_t> payload, const char* what, Decode&& decode) {
  try {
    kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(payload.data()),
                                          payload.size());
    capnp::FlatArrayMessageReader reader(words, reader_options_for(payload.size()));
    if (reader.getEnd() != words.end()) {
      return Result<T>::failure(std::string(what) + ": trailing bytes after the message",
                                FailureKind::kMalformed);
    }
    return decode(reader);
  } catch (const kj::Exception& e) {
    return Result<T>::failure(std::string(what) + ": malformed message: " + e.getDescription().cStr(),
                              FailureKind::kMalformed);
  } catch (const DecodeError& e) {
    return Result<T>::failure(std::string(what) + ": " + e.what(), FailureKind::kUnsupported);
  } catch (const std::exception& e) {  // e.g. bad_alloc: treat as malformed, drop the connection
    return Result<T>::failure(std::string(what) + ": " + e.what(), FailureKind::kMalformed);
  }
}

}  // namespace kv::net::detail
