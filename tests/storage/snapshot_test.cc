// State-machine snapshots: chunked production, staged receipt, installation through
// persist(), and the crash cases — a half-received image never becomes visible, and an
// install interrupted after persist()'s synced write is finished by the next open().
// The group's transaction state travels with its data and sessions; images of the older
// chunk version (no transaction state) are still accepted.
#include <map>

#include "storage/coding.h"
#include "storage/crc32c.h"
#include "storage/format.h"
#include "storage/snapshot_format.h"
#include "test_util.h"

namespace kv::storage {
namespace {

using testing::entry;
using testing::open_ok;
using testing::options_for;
using testing::require_ok;
using testing::TempDir;

constexpr GroupId kGroup = 1;
const KeyRange kRange{"b", "m"};

std::string key_of(char c, int i) { return std::string(1, c) + "-" + std::to_string(1000 + i); }

using Records = std::map<std::string, std::string>;

Records txn_state_of(const NodeStore& store, GroupId group) {
  Records out;
  require_ok(store.data().for_each_txn_state(group, [&](std::string_view key, std::string_view value) {
    out.emplace(key, value);
    return true;
  }));
  return out;
}

// The leader's store: group 1 applied to 60 (log term 4 there) with keys a..z, sessions
// and txn state of group 1 and of group 2.
void fill_source(NodeStore& store) {
  REQUIRE(store.create_group(kGroup, raft::ConfState{{1, 2, 3}, {}, {}}).ok());
  std::vector<raft::Entry> ents;
  for (raft::LogIndex i = 1; i <= 70; ++i) ents.push_back(entry(i, i <= 50 ? 3 : 4));
  const GroupWrite w{kGroup, nullptr, nullptr, ents, raft::HardState{4, 1, 70}};
  require_ok(store.persist(std::span(&w, 1)));
  ApplyBatch b = store.data().new_batch(kGroup);
  for (char c = 'a'; c <= 'z'; ++c) {
    for (int i = 0; i < 40; ++i) b.put(key_of(c, i), std::string(300 + static_cast<std::size_t>(i), c), 10 + i);
  }
  b.put("b", "range start itself", 5);
  for (ClientId client = 1; client <= 300; ++client) b.put_session(ClientSession{client, client * 2, 40, std::string(client % 7, 'r')});
  for (int i = 0; i < 200; ++i) b.put_txn_state("txn/" + std::to_string(1000 + i), std::string(100, 't'));
  b.put_txn_state("", "the empty key travels too");
  b.set_conf_state(raft::ConfState{{1, 2, 3}, {}, {9}});
  b.set_applied_index(60);
  require_ok(store.data().apply(b));
  ApplyBatch other = store.data().new_batch(2);
  other.put_session(ClientSession{5, 5, 5, "group 2"});
  other.put_txn_state("txn/1000", "group 2: must not travel");
  other.set_applied_index(3);
  require_ok(store.data().apply(other));
}

// The follower's store: group 1 with an older log, stale data inside the range that the
// image must remove, data outside it that must stay, a stale session, stale txn state, and
// txn state of group 2 that must stay.
void fill_target(NodeStore& store) {
  REQUIRE(store.create_group(kGroup, raft::ConfState{{1, 2, 3}, {}, {}}).ok());
  std::vector<raft::Entry> ents;
  for (raft::LogIndex i = 1; i <= 20; ++i) ents.push_back(entry(i, 2));
  const GroupWrite w{kGroup, nullptr, nullptr, ents, raft::HardState{2, 2, 20}};
  require_ok(store.persist(std::span(&w, 1)));
  ApplyBatch b = store.data().new_batch(kGroup);
  b.put("a-outside", "keep", 1);
  b.put("c-stale", "remove", 1);
  b.put("lzzz", "remove", 1);
  b.put("m", "keep: the range end is exclusive", 1);
  b.put("zz", "keep", 1);
  b.put_session(ClientSession{9999, 1, 1, "stale"});
  b.put_txn_state("txn/1000", "an older value");
  b.put_txn_state("txn/stale", "remove");
  b.set_applied_index(15);
  require_ok(store.data().apply(b));
  ApplyBatch other = store.data().new_batch(2);
  other.put_txn_state("lock/x", "group 2: keep");
  other.set_applied_index(1);
  require_ok(store.data().apply(other));
}

std::vector<std::string> produce(NodeStore& store, std::uint64_t max_chunk_bytes, raft::SnapshotMeta* meta) {
  auto source = store.open_snapshot_source(kGroup, kRange, SnapshotSourceOptions{max_chunk_bytes});
  INFO(source.status().to_string());
  REQUIRE(source.ok());
  *meta = source.value()->meta();
  std::vector<std::string> chunks;
  std::string chunk;
  for (;;) {
    auto more = source.value()->next_chunk(&chunk);
    REQUIRE(more.ok());
    if (!*more) break;
    chunks.push_back(chunk);
  }
  return chunks;
}

StagedSnapshot receive(NodeStore& store, const std::vector<std::string>& chunks) {
  auto sink = store.begin_snapshot_receive(kGroup);
  REQUIRE(sink.ok());
  for (const auto& c : chunks) {
    REQUIRE_FALSE(sink.value()->complete());
    require_ok(sink.value()->add_chunk(c));
  }
  REQUIRE(sink.value()->complete());
  auto staged = sink.value()->finish();
  INFO(staged.status().to_string());
  REQUIRE(staged.ok());
  return std::move(staged.value());
}

Status install(NodeStore& store, StagedSnapshot& staged) {
  raft::Snapshot snap{staged.meta(), {}};
  const GroupWrite w{kGroup, &snap, &staged, {}, std::nullopt};
  return store.persist(std::span(&w, 1));
}

// The follower's data outside the range and its group-2 txn state, which no install touches.
void check_untouched(NodeStore& target) {
  CHECK(target.data().get("a-outside")->value() == VersionedValue{"keep", 1});
  CHECK(target.data().get("m")->has_value());
  CHECK(target.data().get("zz")->has_value());
  CHECK(txn_state_of(target, 2) == Records{{"lock/x", "group 2: keep"}});
}

// What the follower must hold after the install: the source's range, group-1 sessions and
// group-1 txn state.
void check_installed(NodeStore& target, NodeStore& source, raft::LogIndex last_index = 60) {
  check_untouched(target);
  const Records want_txn = txn_state_of(source, kGroup);
  CHECK(want_txn.size() == 201);
  CHECK(txn_state_of(target, kGroup) == want_txn);  // and so no "txn/stale"
  auto in_range = target.data().scan(kRange.start, kRange.end, 100000);
  auto expected = source.data().scan(kRange.start, kRange.end, 100000);
  REQUIRE(in_range->items.size() == expected->items.size());
  CHECK(in_range->items == expected->items);
  CHECK_FALSE(target.data().get("c-stale")->has_value());
  CHECK(target.data().applied_index(kGroup) == 60);
  std::vector<ClientSession> got, want;
  require_ok(target.data().for_each_session(kGroup, [&](const ClientSession& s) { got.push_back(s); return true; }));
  require_ok(source.data().for_each_session(kGroup, [&](const ClientSession& s) { want.push_back(s); return true; }));
  CHECK(got == want);
  const GroupLog& log = *target.group(kGroup);
  CHECK(log.first_index() == 61);
  CHECK(log.last_index() == last_index);
  CHECK(log.term(60) == 4);
  CHECK(log.snapshot()->meta == raft::SnapshotMeta{60, 4, raft::ConfState{{1, 2, 3}, {}, {9}}});
  CHECK(log.initial_state().conf == raft::ConfState{{1, 2, 3}, {}, {9}});
}

TEST_CASE("a snapshot image round-trips in bounded chunks and replaces exactly its range", "[storage][snapshot]") {
  TempDir src_dir, dst_dir;
  auto source = open_ok(options_for(src_dir.path(), "c", 1));
  fill_source(*source);
  raft::SnapshotMeta meta;
  const std::vector<std::string> chunks = produce(*source, 8192, &meta);
  CHECK(meta == raft::SnapshotMeta{60, 4, raft::ConfState{{1, 2, 3}, {}, {9}}});
  CHECK(chunks.size() > 18);  // 441 keys x ~350 B in 8 KiB chunks, 300 sessions, 201 txn records, header, end
  for (const auto& c : chunks) CHECK(c.size() <= 8192);

  const StoreOptions dst_options = options_for(dst_dir.path(), "c", 2);
  {
    auto target = open_ok(dst_options);
    fill_target(*target);
    StagedSnapshot staged = receive(*target, chunks);
    CHECK(staged.meta() == meta);
    CHECK(staged.data_records() == 11 * 40 + 1);
    CHECK(staged.session_records() == 300);
    CHECK(staged.txn_state_records() == 201);
    require_ok(install(*target, staged));
    CHECK(staged.directory_name().empty());  // consumed
    check_installed(*target, *source);
    // The log continues after the snapshot.
    std::vector<raft::Entry> next{entry(61, 4, "after")};
    const GroupWrite w{kGroup, nullptr, nullptr, next, raft::HardState{4, 1, 61}};
    require_ok(target->persist(std::span(&w, 1)));
  }
  auto target = open_ok(dst_options);
  check_installed(*target, *source, 61);
  CHECK(target->group(kGroup)->entries(61, 62, 100)[0].data == "after");
}

TEST_CASE("a half-received snapshot never becomes visible", "[storage][snapshot]") {
  TempDir src_dir, dst_dir;
  auto source = open_ok(options_for(src_dir.path(), "c", 1));
  fill_source(*source);
  raft::SnapshotMeta meta;
  const std::vector<std::string> chunks = produce(*source, 4096, &meta);
  const StoreOptions dst_options = options_for(dst_dir.path(), "c", 2);
  const std::string staging = dst_dir.sub("snapshots");
  const std::string saved = dst_dir.sub("saved-staging");
  {
    auto target = open_ok(dst_options);
    fill_target(*target);
    auto sink = target->begin_snapshot_receive(kGroup);
    REQUIRE(sink.ok());
    for (std::size_t i = 0; i < chunks.size() / 2; ++i) require_ok(sink.value()->add_chunk(chunks[i]));
    // A crash now leaves the half-written staging files behind: keep a copy of them.
    std::filesystem::copy(staging, saved, std::filesystem::copy_options::recursive);
    CHECK(target->data().get("c-stale")->has_value());
    CHECK_FALSE(target->data().get(key_of('c', 1))->has_value());
  }  // the sink is dropped first, then the store closes
  CHECK(std::filesystem::is_empty(staging));
  std::filesystem::remove_all(staging);
  std::filesystem::rename(saved, staging);  // the crash's leftovers
  REQUIRE_FALSE(std::filesystem::is_empty(staging));
  auto target = open_ok(dst_options);
  CHECK(std::filesystem::is_empty(staging));  // open() removed them
  CHECK(target->data().get("c-stale")->has_value());
  CHECK_FALSE(target->data().get(key_of('c', 1))->has_value());
  CHECK(target->data().applied_index(kGroup) == 15);
  CHECK(target->group(kGroup)->last_index() == 20);
}

TEST_CASE("an install interrupted after persist's synced write is finished by open()", "[storage][snapshot]") {
  TempDir src_dir, dst_dir;
  auto source = open_ok(options_for(src_dir.path(), "c", 1));
  fill_source(*source);
  raft::SnapshotMeta meta;
  const std::vector<std::string> chunks = produce(*source, 1 << 20, &meta);
  StoreOptions crashy = options_for(dst_dir.path(), "c", 2);
  crashy.testing_skip_install_after_persist = true;
  {
    auto target = open_ok(crashy);
    fill_target(*target);
    StagedSnapshot staged = receive(*target, chunks);
    require_ok(install(*target, staged));
    // "Crashed" before the install: the log was reset, the data not yet replaced.
    CHECK(target->group(kGroup)->first_index() == 61);
    CHECK(target->data().get("c-stale")->has_value());
  }
  StoreOptions normal = crashy;
  normal.testing_skip_install_after_persist = false;
  auto target = open_ok(normal);
  check_installed(*target, *source);
  CHECK(std::filesystem::is_empty(dst_dir.sub("snapshots")));
}

TEST_CASE("an empty range and no sessions make a valid image", "[storage][snapshot]") {
  TempDir src_dir, dst_dir;
  auto source = open_ok(options_for(src_dir.path(), "c", 1));
  REQUIRE(source->create_group(kGroup, raft::ConfState{{1}, {}, {}}).ok());
  raft::SnapshotMeta meta;
  const std::vector<std::string> chunks = produce(*source, 4096, &meta);
  CHECK(chunks.size() == 2);  // header and end
  CHECK(meta.index == 0);
  auto target = open_ok(options_for(dst_dir.path(), "c", 2));
  fill_target(*target);
  StagedSnapshot staged = receive(*target, chunks);
  CHECK(staged.data_records() == 0);
  CHECK(staged.txn_state_records() == 0);
}

// Feeds `feed` to a new receive of kGroup, requires it refused with `fragment` in the
// message, and returns the (now dead) sink.
std::unique_ptr<SnapshotSink> require_refused(NodeStore& target, const std::vector<std::string>& feed,
                                              const std::string& fragment) {
  auto sink = target.begin_snapshot_receive(kGroup);
  REQUIRE(sink.ok());
  Status last;
  for (const auto& c : feed) {
    last = sink.value()->add_chunk(c);
    if (!last.ok()) break;
  }
  INFO(last.to_string());
  REQUIRE(last.code() == Status::Code::kInvalidArgument);
  CHECK_THAT(last.message(), Catch::Contains(fragment));
  return std::move(sink.value());
}

TEST_CASE("malformed chunks are refused and kill the receive", "[storage][snapshot]") {
  TempDir src_dir, dst_dir;
  auto source = open_ok(options_for(src_dir.path(), "c", 1));
  fill_source(*source);
  raft::SnapshotMeta meta;
  const std::vector<std::string> chunks = produce(*source, 4096, &meta);
  auto target = open_ok(options_for(dst_dir.path(), "c", 2));
  fill_target(*target);
  auto refused = [&](const std::vector<std::string>& feed, const std::string& fragment) {
    const std::unique_ptr<SnapshotSink> sink = require_refused(*target, feed, fragment);
    CHECK(sink->add_chunk(chunks[0]).code() == Status::Code::kInvalidArgument);  // dead
  };
  std::string flipped = chunks[1];
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 1);
  refused({chunks[0], flipped}, "checksum mismatch");
  refused({chunks[0], chunks[2]}, "out of sequence");
  refused({chunks[1]}, "out of sequence");
  refused({chunks[0], chunks[0]}, "out of sequence");
  refused({"short"}, "shorter than its header");
  auto other_group = target->begin_snapshot_receive(kGroup + 1);
  REQUIRE(other_group.ok());
  CHECK(other_group.value()->add_chunk(chunks[0]).code() == Status::Code::kInvalidArgument);
  std::vector<std::string> without_last(chunks.begin(), chunks.end() - 1);
  auto sink = target->begin_snapshot_receive(kGroup);
  for (const auto& c : without_last) require_ok(sink.value()->add_chunk(c));
  CHECK_FALSE(sink.value()->complete());
}

// ---- the chunk version and the txn-state chunk (snapshot_format.h) ----

using snapfmt::ChunkKind;

ChunkKind kind_of(const std::string& chunk) { return static_cast<ChunkKind>(chunk[5]); }

// Renumbers seq 0, 1, 2, ... and recomputes every crc, as a sender would have.
std::vector<std::string> resealed(std::vector<std::string> chunks) {
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    std::string& c = chunks[i];
    coding::put_le32(c.data() + 16, static_cast<std::uint32_t>(i));
    coding::put_le32(c.data(), crc32c::value(c.data() + 4, c.size() - 4));
  }
  return chunks;
}

// What a version 1 sender makes of the same image: no txn-state chunks, a two-count end.
std::vector<std::string> as_version_1(const std::vector<std::string>& chunks) {
  std::vector<std::string> out;
  for (std::string c : chunks) {
    if (kind_of(c) == ChunkKind::kTxnState) continue;
    c[4] = 1;
    if (kind_of(c) == ChunkKind::kEnd) c.resize(c.size() - 8);
    out.push_back(std::move(c));
  }
  return resealed(std::move(out));
}

TEST_CASE("an image from a version 1 sender installs and leaves the group no txn state", "[storage][snapshot]") {
  TempDir src_dir, dst_dir;
  auto source = open_ok(options_for(src_dir.path(), "c", 1));
  fill_source(*source);
  raft::SnapshotMeta meta;
  const std::vector<std::string> v1 = as_version_1(produce(*source, 8192, &meta));
  auto target = open_ok(options_for(dst_dir.path(), "c", 2));
  fill_target(*target);
  StagedSnapshot staged = receive(*target, v1);
  CHECK(staged.data_records() == 11 * 40 + 1);
  CHECK(staged.session_records() == 300);
  CHECK(staged.txn_state_records() == 0);
  require_ok(install(*target, staged));
  check_untouched(*target);
  CHECK(txn_state_of(*target, kGroup).empty());  // the stale records went with the old state
  CHECK(target->data().scan(kRange.start, kRange.end, 100000)->items ==
        source->data().scan(kRange.start, kRange.end, 100000)->items);
  CHECK(target->data().get_session(kGroup, 300)->has_value());
  CHECK(target->data().applied_index(kGroup) == 60);
}

TEST_CASE("txn-state chunks out of place or of the wrong version are refused", "[storage][snapshot]") {
  TempDir src_dir, dst_dir;
  auto source = open_ok(options_for(src_dir.path(), "c", 1));
  fill_source(*source);
  raft::SnapshotMeta meta;
  const std::vector<std::string> chunks = produce(*source, 8192, &meta);
  std::map<ChunkKind, std::vector<std::string>> by_kind;
  for (const auto& c : chunks) by_kind[kind_of(c)].push_back(c);
  const auto& header = by_kind[ChunkKind::kHeader];
  const auto& data = by_kind[ChunkKind::kData];
  const auto& sessions = by_kind[ChunkKind::kSessions];
  const auto& txn = by_kind[ChunkKind::kTxnState];
  const auto& end = by_kind[ChunkKind::kEnd];
  REQUIRE(txn.size() >= 3);  // 201 records of ~110 B in 8 KiB chunks
  REQUIRE(kind_of(chunks[chunks.size() - 2]) == ChunkKind::kTxnState);  // after sessions, before end
  auto target = open_ok(options_for(dst_dir.path(), "c", 2));
  fill_target(*target);
  auto concat = [](std::initializer_list<std::vector<std::string>> parts) {
    std::vector<std::string> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return resealed(std::move(out));
  };
  require_refused(*target, concat({header, txn, data}), "a data chunk out of place");
  require_refused(*target, concat({header, data, txn, sessions}), "a session chunk out of place");
  require_refused(*target, concat({header, data, sessions, {txn[1], txn[0]}}), "txn-state keys not in ascending order");
  require_refused(*target, concat({header, data, sessions, {txn[0], txn[2]}, end}), "the end chunk counts");

  std::vector<std::string> v1_with_txn = chunks;
  for (auto& c : v1_with_txn) c[4] = 1;
  require_refused(*target, resealed(v1_with_txn), "unknown kind 5 in a version 1 chunk");
  std::vector<std::string> mixed = chunks;
  mixed[1][4] = 1;
  require_refused(*target, resealed(mixed), "chunk versions differ within one image");
  std::vector<std::string> future = chunks;
  future[0][4] = 3;
  require_refused(*target, resealed(future), "unknown version 3");
  std::vector<std::string> short_end = chunks;
  short_end.back().resize(short_end.back().size() - 8);  // a version 1 end in a version 2 image
  require_refused(*target, resealed(short_end), "bad end payload");
}

TEST_CASE("a staged manifest without txn state records decodes as having none", "[storage][snapshot]") {
  snapfmt::Manifest m;
  m.info.group = 1;
  m.info.meta.index = 9;
  m.counts = snapfmt::RecordCounts{0, 1, 0};
  std::string sessions;
  snapfmt::append_session(sessions, ClientSession{3, 4, 5, "r"});
  std::string_view body;
  const std::string current = snapfmt::encode_manifest(m, sessions, "");
  require_ok(format::unseal(snapfmt::kManifestKey, current, &body));
  // A format 1 node ended the manifest after the sessions, without a txn-state count.
  const std::string from_format_1 = format::seal(snapfmt::kManifestKey, body.substr(0, body.size() - 8));
  snapfmt::Manifest decoded;
  require_ok(snapfmt::decode_manifest(from_format_1, &decoded));
  CHECK(decoded.sessions == std::vector<ClientSession>{{3, 4, 5, "r"}});
  CHECK(decoded.counts == m.counts);
  CHECK(decoded.txn_states.empty());

  std::string txn_states;
  snapfmt::append_txn_state(txn_states, "a", "1");
  snapfmt::append_txn_state(txn_states, std::string("\0", 1), "");
  m.counts.txn_states = 2;
  require_ok(snapfmt::decode_manifest(snapfmt::encode_manifest(m, sessions, txn_states), &decoded));
  CHECK(decoded.txn_states == std::vector<snapfmt::TxnStateRecord>{{"a", "1"}, {std::string("\0", 1), ""}});
  m.counts.txn_states = 3;
  const Status s = snapfmt::decode_manifest(snapfmt::encode_manifest(m, sessions, txn_states), &decoded);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK_THAT(s.message(), Catch::Contains("truncated txn-state records"));
}

}  // namespace
}  // namespace kv::storage
