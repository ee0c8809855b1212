#include "server/storage_worker.h"

#include "common/assert.h"
#include "server/log.h"

namespace kv::server {

StorageWorker::StorageWorker(storage::NodeStore& store, std::uint64_t log_keep_entries, DoneHandler on_done)
    : store_(store), log_keep_entries_(log_keep_entries), on_done_(std::move(on_done)) {
  thread_ = std::thread([this] { run(); });
}

StorageWorker::~StorageWorker() { stop(); }

void StorageWorker::submit(Job job) {
  {
    std::lock_guard lock(mu_);
    KV_ASSERT_MSG(!stopping_, "a job submitted after stop()");
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void StorageWorker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void StorageWorker::run() {
  for (;;) {
    std::vector<Job> jobs;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted is done
      jobs.swap(queue_);
    }
    process(jobs);
  }
}

void StorageWorker::process(std::vector<Job>& jobs) {
  // 1. One synced write for every shard's snapshot, entries and hard state.
  std::vector<storage::GroupWrite> writes;
  bool must_sync = false;
  for (Job& job : jobs) {
    const raft::Ready& rd = job.ready;
    if (!rd.snapshot && rd.entries.empty() && !rd.hard_state) continue;
    must_sync = must_sync || rd.must_sync;
    writes.push_back(storage::GroupWrite{job.group, rd.snapshot ? &*rd.snapshot : nullptr,
                                         job.image ? &*job.image : nullptr, rd.entries, rd.hard_state});
  }
  if (!writes.empty()) {
    // A Ready that only moves the commit index needs no fsync (raw_node.h): a lost commit
    // index is learned again from the leader. Entries, votes and terms are always synced.
    const storage::Status status = store_.persist(writes, must_sync);
    // Nothing safe can follow a failed log write: a restart recovers from what is durable.
    KV_ASSERT_MSG(status.ok(), ("persisting the Raft log failed: " + status.to_string()).c_str());
  }
  // 3 and 5. Apply, then snapshot and compact where the core asked for it.
  std::vector<Done> done;
  done.reserve(jobs.size());
  for (Job& job : jobs) {
    if (job.ready.snapshot) {
      const storage::Status status = job.state_machine->load();  // the image replaced the sessions
      KV_ASSERT_MSG(status.ok(), status.to_string().c_str());
    }
    std::vector<ApplyResult> results = job.state_machine->apply(job.ready.committed_entries);
    if (job.ready.snapshot_request) maybe_compact(job.group, *job.ready.snapshot_request);
    done.push_back(Done{job.group, std::move(job.ready), std::move(results)});
  }
  on_done_(std::move(done));
}

void StorageWorker::maybe_compact(storage::GroupId group, raft::LogIndex snapshot_index) {
  const storage::GroupLog* log = store_.group(group);
  KV_ASSERT(log != nullptr);
  if (snapshot_index <= log->snapshot()->meta.index) return;
  // The state machine image is produced on demand when a follower needs it: the snapshot
  // record only names the index it stands for.
  storage::Status status = store_.create_snapshot(group, snapshot_index, log->initial_state().conf, {});
  KV_ASSERT_MSG(status.ok(), status.to_string().c_str());
  if (snapshot_index > log_keep_entries_) {
    status = store_.compact(group, snapshot_index - log_keep_entries_);
    KV_ASSERT_MSG(status.ok(), status.to_string().c_str());
  }
  KV_LOG(kInfo, "log compacted").kv("shard", group).kv("snapshot_index", snapshot_index).kv("first_index", log->first_index());
}

}  // namespace kv::server
