# Frame kinds: the value in bytes 4..5 of every frame header (see docs/protocol.md).
# This file defines no message; it exists so that the numbers are part of the schema set that
# other-language implementations compile, and src/net/frame.h static_asserts against it.
@0xdd907112d5ccac7b;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("kv::net::wire");

# Bytes 6..7 of every header: 'K' 'V' (0x4B 0x56), i.e. 0x564B read as little-endian UInt16.
const frameMagic :UInt16 = 0x564b;
# Size of the fixed header that precedes every Cap'n Proto message.
const frameHeaderBytes :UInt32 = 8;

enum FrameKind {
  invalid @0;         # never sent
  peerHello @1;       # raft.capnp Hello: first frame of a peer connection (dialer -> acceptor)
  peerHelloAck @2;    # raft.capnp HelloAck: the acceptor's answer
  peerBatch @3;       # raft.capnp PeerBatch
  snapshotChunk @4;   # raft.capnp SnapshotChunk
  clientRequest @5;   # kv.capnp Request (client -> server)
  clientResponse @6;  # kv.capnp Response (server -> client)
}
