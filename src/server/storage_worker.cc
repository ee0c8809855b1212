#include "server/storage_worker.h"

#include "common/assert.h"

namespace kv::server {

StorageWorker::StorageWorker(storage::NodeStore& store, DoneHandler on_done)
    : store_(store), on_done_(std::move(on_done)) {
  thread_ = std::thread([this] { run(); });
}

StorageWorker::~StorageWorker() { stop(); }

void StorageWorker::submit(std::vector<Job> jobs) {
  {
    std::lock_guard lock(mu_);
    KV_ASSERT_MSG(!stopping_, "a job submitted after stop()");
    for (Job& job : jobs) queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

bool StorageWorker::idle() const {
  std::lock_guard lock(mu_);
  return !busy_ && queue_.empty();
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
  storage::disable_perf_counters_on_this_thread();
  for (;;) {
    std::vector<Job> jobs;
    {
      std::unique_lock lock(mu_);
      busy_ = false;
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything submitted is done
      jobs.swap(queue_);
      busy_ = true;
    }
    on_done_(process(store_, jobs));
  }
}

std::vector<StorageWorker::Done> StorageWorker::process(storage::NodeStore& store, std::vector<Job>& jobs) {
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
    const storage::Status status = store.persist(writes, must_sync);
    // Nothing safe can follow a failed log write: a restart recovers from what is durable.
    KV_ASSERT_MSG(status.ok(), ("persisting the Raft log failed: " + status.to_string()).c_str());
  }
  // 3. Apply. (Step 5, compaction, runs on the network thread: the core reads the log
  // there, and a compaction between its bounds check and its read would trip it.)
  std::vector<Done> done;
  done.reserve(jobs.size());
  for (Job& job : jobs) {
    if (job.ready.snapshot) {
      const storage::Status status = job.state_machine->load();  // the image replaced the sessions
      KV_ASSERT_MSG(status.ok(), status.to_string().c_str());
    }
    std::vector<ApplyResult> results = job.state_machine->apply(job.ready.committed_entries);
    done.push_back(Done{job.group, std::move(job.ready), std::move(results)});
  }
  return done;
}

}  // namespace kv::server
