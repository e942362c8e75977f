// The SQLite bus. Layout of the file: es_topics / es_partitions (next offset per partition) /
// es_log_<topic>_<partition> (offset = rowid, global seq, key, envelope JSON: one table per
// partition, so appends are at the end of a b-tree) / es_sequence / es_offsets (group
// positions) / es_members + es_leases (who dispatches which partition, across processes).
//
// In this process: one writer thread owns the write connection and commits queued publishes and
// offset commits in batches (group commit). One maintenance thread polls PRAGMA data_version to
// notice other processes' commits, heartbeats the local members and rebalances partitions. Each
// subscription member has a dispatch thread with its own read connection.
#include "eventshop/sqlite/sqlite_bus.hpp"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "db.hpp"
#include "eventshop/core/batch_scope.hpp"
#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/uuid.hpp"
#include "stored_envelope.hpp"

namespace eventshop::sqlite {

namespace {
using steady = std::chrono::steady_clock;
using detail::connection;
using detail::statement;

// A bus file gets 16 KiB pages when the bus creates it: a quarter of the WAL frames (and write
// system calls) per appended event compared with SQLite's 4 KiB default. Bus connections read
// through SQLite's page cache (pread), not a memory map: on the measured VM the page faults of
// first touching mapped pages cost a consumer about twice the CPU per event of the pread path.
constexpr int bus_page_size = 16384;

// Checkpoints: the maintenance thread copies the WAL back into the database file (PASSIVE: it
// never blocks the writer or readers) once the WAL holds `checkpoint_frames`, so the writer's
// commits do not pay for checkpoints. Should it fall behind, the writer checkpoints itself at
// `writer_checkpoint_frames`, which bounds the WAL.
constexpr int checkpoint_frames = 1000;
constexpr const char* writer_cache = "PRAGMA cache_size=-2048";  // KiB (see the constructor)
constexpr int writer_checkpoint_frames = 8000;

const logger& bus_log() {
  static const logger log("eventshop.sqlite_bus");
  return log;
}

// CPU time of the calling thread (vDSO clock: no system call).
std::int64_t thread_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool pid_alive(std::int64_t pid) {
  if (pid == ::getpid()) return true;
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

struct topic_info {
  std::int64_t id = 0;
  std::int32_t partitions = 0;
  std::string name;
  // Per partition: the first offset this process committed but has not yet fsync'ed (INT64_MAX:
  // none). Local dispatch threads read only below it, so they never handle an event a power loss
  // could still take away (see the pipelined sync in writer_loop). Guarded by impl::gate_mutex
  // for writes; read lock-free.
  std::unique_ptr<std::atomic<std::int64_t>[]> durable_below;
  void init_gates() {
    durable_below =
        std::make_unique<std::atomic<std::int64_t>[]>(static_cast<std::size_t>(partitions));
    for (std::int32_t p = 0; p < partitions; ++p)
      durable_below[static_cast<std::size_t>(p)].store(no_gate);
  }
  static constexpr std::int64_t no_gate = std::numeric_limits<std::int64_t>::max();
};

struct publish_req {
  const topic_info* topic = nullptr;  // owned by impl::topics, which never drops an entry
  std::int32_t partition = 0;
  std::string key;
  std::string json;
  publish_callback cb;
};

struct commit_req {
  std::int64_t topic_id = 0;
  std::string group;
  std::int32_t partition = 0;
  std::int64_t expected = 0;
  std::int64_t next = 0;
  std::promise<bool> done;  // false: another owner moved the offset (compare-and-set failed)
};

// A committed write transaction waiting for its fsync (pipelined mode) or its callbacks.
struct written_batch {
  std::error_code failure;  // the transaction failed: every publish gets this error
  std::string failure_text;
  std::vector<publish_req> pubs;
  std::vector<publish_receipt> receipts;
  std::vector<std::unique_ptr<commit_req>> commits;
  std::vector<char> commit_ok;
  // (topic, partition, first offset) this batch appended: gates to lift once it is durable.
  struct gate {
    const topic_info* topic;
    std::int32_t partition;
    std::int64_t first;
  };
  std::vector<gate> gates;
  std::uint64_t number = 0;
  void clear() {
    pubs.clear();
    receipts.clear();
    commits.clear();
    commit_ok.clear();
    gates.clear();
  }
};

struct member;
struct local_group;

struct part_state {
  std::mutex dispatch;                  // held while a member handles a batch of this partition
  std::atomic<member*> owner{nullptr};  // the local member dispatching it (null: not ours)
  // Guarded by dispatch:
  std::int64_t next = 0;       // next offset to hand to the handler
  std::int64_t committed = 0;  // what the database holds once `pending` completed
  std::optional<std::future<bool>> pending;
  int attempt = 1;
  steady::time_point retry_at{};
};

}  // namespace

struct sqlite_bus::impl : std::enable_shared_from_this<sqlite_bus::impl> {
  explicit impl(bus_options o) : options(std::move(o)) {}

  bus_options options;
  detail::open_params params() const {
    return {options.path,
            options.synchronous == sync_mode::full ? detail::sync_level::full
                                                   : detail::sync_level::normal,
            options.busy_timeout,
            true,
            bus_page_size,
            false};
  }

  std::atomic<bool> closed{false};

  // Topics (cache of es_topics).
  std::shared_mutex topics_mutex;
  std::map<std::string, std::shared_ptr<const topic_info>, std::less<>> topics;

  // The maintenance connection, shared by the maintenance thread and API calls.
  std::mutex maint_mutex;
  connection maint;

  // Writer.
  connection writer_conn;
  std::vector<statement> writer_stmts;  // prepared once, used by the writer thread only
  std::map<std::pair<std::int64_t, std::int32_t>, statement> insert_stmts;  // writer thread only
  std::mutex queue_mutex;
  std::condition_variable queue_cv;  // writer waits for work
  std::condition_variable space_cv;  // publishers wait for room; close() waits for a flush
  // Publishes waiting for the writer. A vector the writer swaps with its (empty, recycled) batch
  // vector: O(1) under the lock, and the capacity circulates instead of being reallocated.
  std::vector<publish_req> queue;
  std::vector<std::unique_ptr<commit_req>> commits;
  bool writing = false;
  bool writer_stop = false;
  std::thread writer;
  std::atomic<std::thread::id> writer_id{};

  std::atomic<std::int64_t> stat_transactions{0}, stat_events{0}, stat_commits{0};
  std::atomic<std::int64_t> stat_writer_cpu_ns{0}, stat_syncs{0};

  // Pipelined sync (sync_mode::full): the writer connection commits with synchronous=NORMAL
  // (SQLite writes the WAL frames but does not fsync them) and hands the committed batch to the
  // syncer thread, which fdatasync's the WAL and only then acknowledges the batch, while the
  // writer already inserts the next one. An acknowledgement still means "fsync'ed"; the fsync
  // no longer stalls the single writer. See docs/sqlite.md ("Durability and group commit").
  bool pipelined = false;
  int wal_fd = -1;  // our own descriptor of the WAL file (same inode as SQLite's)
  std::mutex sync_mutex;
  std::condition_variable sync_cv;    // the syncer waits for committed batches
  std::condition_variable synced_cv;  // the writer waits for room; close() for the drain
  std::deque<std::unique_ptr<written_batch>> unsynced;
  std::vector<std::unique_ptr<written_batch>> spare;  // recycled batches keep their capacity
  bool syncing = false;
  bool sync_stop = false;
  std::thread syncer;
  std::atomic<std::thread::id> syncer_id{};
  static constexpr std::size_t max_unsynced = 4;  // committed batches the writer may run ahead

  // Durability gates (topic_info::durable_below): per partition, the first offsets of committed
  // but not yet fsync'ed batches, oldest first.
  std::mutex gate_mutex;
  std::map<std::pair<const topic_info*, std::int32_t>,
           std::deque<std::pair<std::uint64_t, std::int64_t>>>
      open_gates;
  void lower_gates(const written_batch& b);
  void lift_gates(const written_batch& b);
  std::atomic<int> wal_frames{0};  // frames in the WAL after the writer's last commit

  // Local groups.
  std::mutex groups_mutex;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<local_group>> groups;

  // Maintenance thread.
  std::mutex maint_thread_mutex;
  std::condition_variable maint_cv;
  bool maint_stop = false;
  std::thread maintainer;

  std::mutex subs_mutex;
  std::vector<std::weak_ptr<eventshop::detail::subscription_state>> subs;

  // Drain waiters.
  std::mutex progress_mutex;
  std::condition_variable progress_cv;

  std::shared_ptr<const topic_info> topic(std::string_view name, bool create = true);
  // The same without copying the shared_ptr: publishers on many threads would otherwise all
  // increment and decrement one reference count per event.
  const topic_info* topic_ref(std::string_view name) {
    {
      std::shared_lock lock(topics_mutex);
      if (auto it = topics.find(name); it != topics.end()) return it->second.get();
    }
    return topic(name).get();  // the map keeps it alive as long as the bus
  }
  void writer_loop();
  void syncer_loop();
  bool write_batch(written_batch& b);  // false: failed (b.failure set)
  void complete(written_batch& b, std::error_code ec, const std::string& why);
  std::unique_ptr<written_batch> take_spare();
  void recycle(std::unique_ptr<written_batch> b);
  void maintenance_loop();
  void wake_all();
  std::future<bool> submit_commit(std::int64_t topic_id, const std::string& group,
                                  std::int32_t part, std::int64_t expected, std::int64_t next);
  void rebalance(local_group& g);
  std::vector<std::shared_ptr<local_group>> group_list() {
    std::lock_guard lock(groups_mutex);
    std::vector<std::shared_ptr<local_group>> out;
    for (auto& [k, g] : groups)
      out.push_back(g);
    return out;
  }
  std::int64_t lag_of(std::int64_t topic_id, const std::string& group);
  std::int64_t compact(std::string_view topic);
};

namespace {

struct local_group {
  sqlite_bus::impl* bus = nullptr;
  std::shared_ptr<const topic_info> topic;
  std::string name;
  std::mutex mutex;       // membership and assignment changes (may wait for a batch)
  std::mutex list_mutex;  // guards `members` only; never held while waiting
  std::vector<std::shared_ptr<member>> members;
  std::vector<std::shared_ptr<member>> member_list() {
    std::lock_guard lock(list_mutex);
    return members;
  }
  std::vector<std::unique_ptr<part_state>> parts;
  std::int64_t last_write = 0;  // unix ms of the last heartbeat transaction (guarded by mutex)
};

struct member {
  std::shared_ptr<sqlite_bus::impl> bus;
  std::shared_ptr<local_group> group;
  std::string id;
  handler fn;
  std::thread thread;
  connection conn;
  std::vector<statement> reads;              // per partition, prepared on first use
  statement begin_read, snapshot, end_read;  // pipelined sync only (see dispatch)
  struct slot {
    std::int64_t off = 0;
    bool ok = false;
    envelope ev;
    std::string problem;
  };
  std::vector<slot> batch;  // dispatch thread only

  std::mutex wake_mutex;
  std::condition_variable wake_cv;
  bool signaled = false;
  std::atomic<bool> stop{false};

  void wake() {
    std::lock_guard lock(wake_mutex);
    signaled = true;
    wake_cv.notify_one();
  }
  void run();
  bool dispatch(part_state& ps, std::int32_t p, steady::time_point& next_retry);
  // Waits for the partition's in-flight offset commit; reloads the position if it lost a race.
  void settle(part_state& ps, std::int32_t p);
  // Queues the commit of what was handled but not yet committed (after the in-flight one).
  void commit_handled(part_state& ps, std::int32_t p) {
    settle(ps, p);
    if (ps.next == ps.committed) return;
    ps.pending = bus->submit_commit(group->topic->id, group->name, p, ps.committed, ps.next);
    ps.committed = ps.next;
  }
  // Settles everything: nothing handled stays uncommitted, nothing is in flight.
  void flush(part_state& ps, std::int32_t p) {
    commit_handled(ps, p);
    settle(ps, p);
  }
};

std::int64_t load_committed(connection& c, const std::string& group, std::int64_t topic_id,
                            std::int32_t part) {
  auto s = c.prepare("SELECT next_offset FROM es_offsets WHERE grp=? AND topic_id=? AND part=?");
  s.bind(1, std::string_view(group)).bind(2, topic_id).bind(3, part);
  return s.step() ? s.int64(0) : 0;
}

void member::settle(part_state& ps, std::int32_t p) {
  if (!ps.pending) return;
  bool ok = false;
  try {
    ok = ps.pending->get();
  } catch (const std::exception& e) {
    bus_log().warn("offset commit failed; the batch will be redelivered",
                   {{"group", group->name}, {"partition", p}, {"error", e.what()}});
  }
  ps.pending.reset();
  if (!ok) {
    std::lock_guard lock(bus->maint_mutex);
    ps.committed = ps.next = load_committed(bus->maint, group->name, group->topic->id, p);
  }
}

bool member::dispatch(part_state& ps, std::int32_t p, steady::time_point& next_retry) {
  if (ps.owner.load() != this) return false;
  std::unique_lock guard(ps.dispatch, std::try_to_lock);
  if (!guard) return false;
  if (ps.owner.load() != this) return false;
  if (ps.retry_at != steady::time_point{}) {
    if (steady::now() < ps.retry_at) {
      next_retry = std::min(next_retry, ps.retry_at);
      return false;
    }
    ps.retry_at = {};
  }
  // Decode while stepping, straight from SQLite's buffer into envelopes reused across batches
  // (their strings keep their capacity); handlers run after the read transaction ended.
  const codec_limits limits{std::size_t{1} << 40};
  std::string problem;
  std::size_t n = 0;
  bool in_read = false;
  statement* read = nullptr;
  try {
    // With the pipelined sync, events this process committed may not be fsync'ed yet: read only
    // below the partition's durability gate. The gate is loaded after the read snapshot was
    // taken: the writer lowers it before its commit, so a commit in the snapshot is covered.
    std::int64_t below = topic_info::no_gate;
    if (bus->pipelined) {
      begin_read.run();
      in_read = true;
      snapshot.run();
      below = group->topic->durable_below[static_cast<std::size_t>(p)].load();
    }
    auto& stmt = reads[static_cast<std::size_t>(p)];
    if (!stmt.get())
      stmt =
          conn.prepare("SELECT off, envelope FROM " + detail::partition_table(group->topic->id, p) +
                       " WHERE off>=? AND off<? ORDER BY off LIMIT ?");
    read = &stmt;
    read->bind(1, ps.next)
        .bind(2, below)
        .bind(3, static_cast<std::int64_t>(bus->options.max_batch));
    while (read->step()) {
      if (batch.size() <= n) batch.emplace_back();
      auto& s = batch[n++];
      s.off = read->int64(0);
      const auto stored = read->text(1);
      s.ok = detail::decode_canonical(stored, s.ev) || !decode(stored, s.ev, problem, limits);
      if (!s.ok) s.problem = problem;
    }
    read->reset();
    if (in_read) end_read.run();
  } catch (const std::exception& e) {
    if (read) read->reset();
    if (in_read) sqlite3_exec(conn.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    bus_log().warn("reading events failed; will retry",
                   {{"topic", group->topic->name}, {"partition", p}, {"error", e.what()}});
    ps.retry_at = steady::now() + bus->options.redelivery_delay;
    next_retry = std::min(next_retry, ps.retry_at);
    return false;
  }
  if (n == 0) {
    commit_handled(ps, p);  // caught up: commit what a deferred commit left (see below)
    return false;
  }
  if (batch.front().off > ps.next) {
    bus_log().warn("group resumes after compaction removed events it had not consumed",
                   {{"topic", group->topic->name},
                    {"group", group->name},
                    {"partition", p},
                    {"skipped", batch.front().off - ps.next}});
  }
  std::int64_t done_to = ps.next;
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = batch[i];
    const envelope& ev = r.ev;
    if (stop.load(std::memory_order_relaxed) || ps.owner.load() != this) break;
    if (!r.ok) {
      bus_log().error("stored event cannot be decoded; skipped", {{"topic", group->topic->name},
                                                                  {"partition", p},
                                                                  {"offset", r.off},
                                                                  {"error", r.problem}});
      done_to = r.off + 1;
      continue;
    }
    const message m{group->topic->name, group->name, p, r.off, ps.attempt, ev};
    bool failed = false;
    try {
      fn(m);
    } catch (const std::exception& e) {
      bus_log().warn("handler failed; event will be redelivered", {{"topic", group->topic->name},
                                                                   {"group", group->name},
                                                                   {"partition", p},
                                                                   {"offset", r.off},
                                                                   {"event_id", ev.id},
                                                                   {"attempt", ps.attempt},
                                                                   {"error", e.what()}});
      failed = true;
    } catch (...) {
      bus_log().warn("handler failed with a non-standard exception; event will be redelivered",
                     {{"topic", group->topic->name}, {"group", group->name}, {"offset", r.off}});
      failed = true;
    }
    if (failed) {
      ++ps.attempt;
      ps.retry_at = steady::now() + bus->options.redelivery_delay;
      next_retry = std::min(next_retry, ps.retry_at);
      break;
    }
    ps.attempt = 1;
    done_to = r.off + 1;
  }
  if (done_to == ps.next) return false;
  // Pipelined commit: the previous batch's commit must have landed before this one is queued.
  // While it has not, keep consuming and commit later: the next commit carries the newest
  // position (a crash redelivers at most what was handled during one commit's fsync).
  if (ps.pending && ps.pending->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    ps.next = done_to;
    return true;
  }
  settle(ps, p);
  if (done_to <= ps.next) return true;  // the position was reloaded: another owner moved it
  ps.next = done_to;
  ps.pending = bus->submit_commit(group->topic->id, group->name, p, ps.committed, done_to);
  ps.committed = done_to;
  return true;
}

void member::run() {
  auto& parts = group->parts;
  while (!stop.load()) {
    {
      std::lock_guard lock(wake_mutex);
      signaled = false;
    }
    bool worked = false;
    auto next_retry = steady::time_point::max();
    {
      // Work the handlers defer (e.g. a socket write of what they produced) runs once per pass.
      batch_scope scope;
      for (std::size_t i = 0; i < parts.size() && !stop.load(); ++i)
        worked |= dispatch(*parts[i], static_cast<std::int32_t>(i), next_retry);
    }
    if (worked) continue;
    std::unique_lock lock(wake_mutex);
    auto until = steady::now() + std::chrono::milliseconds(100);  // belt and braces
    if (next_retry < until) until = next_retry;
    wake_cv.wait_until(lock, until, [this] { return signaled || stop.load(); });
  }
  // Leave nothing in flight: commits of what was handled land before the member is gone.
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto& ps = *parts[i];
    std::unique_lock guard(ps.dispatch, std::try_to_lock);
    if (guard) flush(ps, static_cast<std::int32_t>(i));
  }
}

class sqlite_subscription final : public eventshop::detail::subscription_state {
 public:
  std::shared_ptr<local_group> group;
  std::vector<std::shared_ptr<member>> members;
  std::atomic<bool> closed_{false};
  std::mutex close_mutex;

  bool closed() const noexcept override { return closed_.load(); }
  void close() override;
};

}  // namespace

// ---- topics --------------------------------------------------------------------------------

std::shared_ptr<const topic_info> sqlite_bus::impl::topic(std::string_view name, bool create) {
  {
    std::shared_lock lock(topics_mutex);
    if (auto it = topics.find(name); it != topics.end()) return it->second;
  }
  validate_topic_name(name);
  auto info = std::make_shared<topic_info>();
  info->name = std::string(name);
  {
    std::lock_guard lock(maint_mutex);
    auto find = [&] {
      auto s = maint.prepare("SELECT id, partitions FROM es_topics WHERE name=?");
      s.bind(1, name);
      if (!s.step()) return false;
      info->id = s.int64(0);
      info->partitions = static_cast<std::int32_t>(s.int64(1));
      return true;
    };
    if (!find()) {
      if (!create) return nullptr;
      detail::transaction_guard tx(maint);
      if (!find()) {
        maint.prepare("INSERT INTO es_topics(name, partitions) VALUES (?, ?)")
            .bind(1, name)
            .bind(2, options.partitions)
            .run();
        info->id = sqlite3_last_insert_rowid(maint.get());
        info->partitions = options.partitions;
        auto ins = maint.prepare(
            "INSERT OR IGNORE INTO es_partitions(topic_id, part, next_offset) VALUES (?, ?, 0)");
        for (std::int32_t p = 0; p < info->partitions; ++p) {
          ins.bind(1, info->id).bind(2, p).run();
          detail::create_partition_table(maint, info->id, p);
        }
      }
      tx.commit();
    }
  }
  info->init_gates();
  std::unique_lock lock(topics_mutex);
  auto& slot = topics[info->name];
  if (!slot) slot = info;
  return slot;
}

// ---- writer --------------------------------------------------------------------------------

std::future<bool> sqlite_bus::impl::submit_commit(std::int64_t topic_id, const std::string& group,
                                                  std::int32_t part, std::int64_t expected,
                                                  std::int64_t next) {
  auto req = std::make_unique<commit_req>();
  req->topic_id = topic_id;
  req->group = group;
  req->partition = part;
  req->expected = expected;
  req->next = next;
  auto f = req->done.get_future();
  {
    std::lock_guard lock(queue_mutex);
    if (writer_stop) {
      req->done.set_value(false);
      return f;
    }
    commits.push_back(std::move(req));
  }
  queue_cv.notify_one();
  return f;
}

std::unique_ptr<written_batch> sqlite_bus::impl::take_spare() {
  {
    std::lock_guard lock(sync_mutex);
    if (!spare.empty()) {
      auto b = std::move(spare.back());
      spare.pop_back();
      return b;
    }
  }
  return std::make_unique<written_batch>();
}

void sqlite_bus::impl::recycle(std::unique_ptr<written_batch> b) {
  b->clear();
  b->failure = {};
  b->failure_text.clear();
  std::lock_guard lock(sync_mutex);
  if (spare.size() < max_unsynced + 2) spare.push_back(std::move(b));
}

void sqlite_bus::impl::writer_loop() {
  std::uint64_t number = 0;
  for (;;) {
    auto b = take_spare();
    {
      std::unique_lock lock(queue_mutex);
      writing = false;
      space_cv.notify_all();
      queue_cv.wait(lock, [&] { return writer_stop || !queue.empty() || !commits.empty(); });
      if (queue.empty() && commits.empty()) return;  // stopping, nothing left
      if (queue.size() <= options.max_commit_batch) {
        b->pubs.swap(queue);  // b->pubs is empty (recycled)
      } else {
        const auto n = static_cast<std::ptrdiff_t>(options.max_commit_batch);
        b->pubs.assign(std::make_move_iterator(queue.begin()),
                       std::make_move_iterator(queue.begin() + n));
        queue.erase(queue.begin(), queue.begin() + n);
      }
      b->commits.swap(commits);
      writing = true;
    }
    space_cv.notify_all();
    b->number = ++number;
    write_batch(*b);
    if (pipelined) {
      // Acknowledged by the syncer once fsync'ed (failed batches too, to keep the order).
      {
        std::unique_lock lock(sync_mutex);
        synced_cv.wait(lock, [&] { return unsynced.size() < max_unsynced; });
        unsynced.push_back(std::move(b));
      }
      sync_cv.notify_one();
    } else {
      complete(*b, b->failure, b->failure_text);
      recycle(std::move(b));
      wake_all();
      std::lock_guard lock(progress_mutex);
      progress_cv.notify_all();
    }
    stat_writer_cpu_ns.store(thread_cpu_ns(), std::memory_order_relaxed);
  }
}

void sqlite_bus::impl::syncer_loop() {
  std::vector<std::unique_ptr<written_batch>> mine;
  for (;;) {
    {
      std::unique_lock lock(sync_mutex);
      syncing = false;
      synced_cv.notify_all();
      sync_cv.wait(lock, [&] { return sync_stop || !unsynced.empty(); });
      if (unsynced.empty()) return;  // stopping, nothing left
      for (auto& b : unsynced)
        mine.push_back(std::move(b));
      unsynced.clear();
      syncing = true;
    }
    synced_cv.notify_all();  // room for the writer
    // One fdatasync covers every frame written before it started: all of `mine` committed
    // (their frames were written) before the writer queued them.
    std::error_code sync_error;
    std::string why;
    if (::fdatasync(wal_fd) != 0) {
      sync_error = make_error_code(errc::io_error);
      why = std::string("fdatasync of the WAL failed: ") + std::strerror(errno);
      bus_log().error("fsync failed; the batches it covered are not acknowledged",
                      {{"error", why}});
    }
    stat_syncs.fetch_add(1, std::memory_order_relaxed);
    // Acknowledge, then let local dispatch threads read the batch: a handler in this process
    // never sees an event before its publisher's callback ran.
    for (auto& b : mine) {
      if (b->failure)
        complete(*b, b->failure, b->failure_text);
      else
        complete(*b, sync_error, why);
      lift_gates(*b);
    }
    wake_all();
    {
      std::lock_guard lock(progress_mutex);
      progress_cv.notify_all();
    }
    for (auto& b : mine)
      recycle(std::move(b));
    mine.clear();
  }
}

void sqlite_bus::impl::lower_gates(const written_batch& b) {
  std::lock_guard lock(gate_mutex);
  for (const auto& g : b.gates) {
    auto& q = open_gates[{g.topic, g.partition}];
    if (q.empty()) g.topic->durable_below[static_cast<std::size_t>(g.partition)].store(g.first);
    q.emplace_back(b.number, g.first);
  }
}

void sqlite_bus::impl::lift_gates(const written_batch& b) {
  std::lock_guard lock(gate_mutex);
  for (const auto& g : b.gates) {
    auto it = open_gates.find({g.topic, g.partition});
    if (it == open_gates.end()) continue;
    auto& q = it->second;
    std::erase_if(q, [&](const auto& e) { return e.first == b.number; });
    g.topic->durable_below[static_cast<std::size_t>(g.partition)].store(
        q.empty() ? topic_info::no_gate : q.front().second);
    if (q.empty()) open_gates.erase(it);
  }
}

bool sqlite_bus::impl::write_batch(written_batch& b) {
  connection& c = writer_conn;
  auto& pubs = b.pubs;
  auto& cs = b.commits;
  const auto deadline = steady::now() + options.write_timeout;
  b.receipts.resize(pubs.size());
  b.commit_ok.assign(cs.size(), 0);
  for (int attempt = 1;; ++attempt) {
    bool gated = false;
    try {
      c.begin_immediate(deadline);
      auto& st = writer_stmts;
      if (st.empty()) {
        st.push_back(
            c.prepare("SELECT next_offset FROM es_partitions WHERE topic_id=? AND part=?"));
        st.emplace_back();  // appends: insert_stmts, one per partition table
        st.push_back(
            c.prepare("UPDATE es_partitions SET next_offset=? WHERE topic_id=? AND part=?"));
        st.push_back(c.prepare(
            "UPDATE es_offsets SET next_offset=? WHERE grp=? AND topic_id=? AND part=? AND "
            "next_offset=?"));
        st.push_back(c.prepare("SELECT next_seq FROM es_sequence WHERE id=1"));
        st.push_back(c.prepare("UPDATE es_sequence SET next_seq=? WHERE id=1"));
      }
      auto& sel = st[0];
      auto& upd = st[2];
      auto& off = st[3];
      std::int64_t seq = 0;
      if (!pubs.empty()) {
        seq = st[4].step() ? st[4].int64(0) : 1;
        st[4].reset();
      }
      struct position {
        std::int64_t first = 0;  // first offset of this batch
        std::int64_t next = 0;
        statement* insert = nullptr;
      };
      std::map<std::pair<const topic_info*, std::int32_t>, position> next;
      for (std::size_t i = 0; i < pubs.size(); ++i) {
        auto& r = pubs[i];
        const auto k = std::make_pair(r.topic, r.partition);
        auto it = next.find(k);
        if (it == next.end()) {
          sel.bind(1, r.topic->id).bind(2, r.partition);
          const std::int64_t v = sel.step() ? sel.int64(0) : 0;
          sel.reset();
          auto& ins = insert_stmts[{r.topic->id, r.partition}];
          if (!ins.get())
            ins = c.prepare("INSERT INTO " + detail::partition_table(r.topic->id, r.partition) +
                            "(off, seq, key, envelope) VALUES (?, ?, ?, ?)");
          it = next.emplace(k, position{v, v, &ins}).first;
        }
        const auto o = it->second.next++;
        it->second.insert->bind(1, o)
            .bind(2, seq++)
            .bind_static(3, r.key)
            .bind_blob_static(4, r.json)
            .run();
        b.receipts[i] = {r.partition, o};
      }
      for (auto& [k, v] : next)
        upd.bind(1, v.next).bind(2, k.first->id).bind(3, k.second).run();
      if (!pubs.empty()) st[5].bind(1, seq).run();
      for (std::size_t i = 0; i < cs.size(); ++i) {
        auto& r = *cs[i];
        off.bind(1, r.next)
            .bind_static(2, r.group)
            .bind(3, r.topic_id)
            .bind(4, r.partition)
            .bind(5, r.expected)
            .run();
        b.commit_ok[i] = c.changes() == 1;
      }
      if (pipelined) {
        // Before the commit makes them visible: local readers stay below the new events until
        // the syncer has fsync'ed them.
        b.gates.clear();
        for (auto& [k, v] : next)
          b.gates.push_back({k.first, k.second, v.first});
        lower_gates(b);
        gated = true;
      }
      c.commit();
      stat_transactions.fetch_add(1, std::memory_order_relaxed);
      stat_events.fetch_add(static_cast<std::int64_t>(pubs.size()), std::memory_order_relaxed);
      stat_commits.fetch_add(static_cast<std::int64_t>(cs.size()), std::memory_order_relaxed);
      if (!pipelined) stat_syncs.fetch_add(1, std::memory_order_relaxed);
      return true;
    } catch (const error& e) {
      c.rollback();
      if (gated) lift_gates(b);
      b.gates.clear();
      if (e.retriable() && steady::now() < deadline) {
        bus_log().warn("write transaction failed; retrying",
                       {{"attempt", attempt}, {"error", e.what()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt, 50)));
        continue;
      }
      b.failure = e.code();
      b.failure_text = e.what();
      break;
    } catch (const std::exception& e) {
      c.rollback();
      if (gated) lift_gates(b);
      b.gates.clear();
      b.failure = make_error_code(errc::backend_error);
      b.failure_text = e.what();
      break;
    }
  }
  bus_log().error("write transaction failed; publishes are not acknowledged",
                  {{"events", pubs.size()}, {"error", b.failure_text}});
  return false;
}

void sqlite_bus::impl::complete(written_batch& b, std::error_code ec, const std::string& why) {
  if (ec) {
    for (auto& r : b.pubs)
      if (r.cb) {
        try {
          r.cb(ec, {});
        } catch (const std::exception& e) {
          bus_log().error("publish callback threw", {{"error", e.what()}});
        }
      }
    for (auto& r : b.commits) {
      if (!b.failure)
        bus_log().warn("offset commit not confirmed durable; position reloaded",
                       {{"group", r->group}, {"partition", r->partition}, {"error", why}});
      r->done.set_value(false);
    }
    return;
  }
  for (std::size_t i = 0; i < b.pubs.size(); ++i) {
    if (!b.pubs[i].cb) continue;
    try {
      b.pubs[i].cb({}, b.receipts[i]);
    } catch (const std::exception& e) {
      bus_log().error("publish callback threw", {{"error", e.what()}});
    }
  }
  for (std::size_t i = 0; i < b.commits.size(); ++i) {
    if (!b.commit_ok[i])
      bus_log().warn("offset commit lost a race with another member; position reloaded",
                     {{"group", b.commits[i]->group}, {"partition", b.commits[i]->partition}});
    b.commits[i]->done.set_value(b.commit_ok[i] != 0);
  }
}

void sqlite_bus::impl::wake_all() {
  for (auto& g : group_list())
    for (auto& m : g->member_list())
      m->wake();
}

// ---- membership ----------------------------------------------------------------------------

void sqlite_bus::impl::rebalance(local_group& g) {
  // Caller holds g.mutex.
  const auto now = detail::unix_ms();
  const std::int64_t my_pid = ::getpid();
  const auto n_parts = g.parts.size();
  const auto members = g.member_list();
  std::set<std::string> local;
  for (auto& m : members)
    local.insert(m->id);

  struct lease {
    std::string member;
    std::int64_t pid = 0;
    std::int64_t expires = 0;
  };
  std::vector<std::string> live;
  std::set<std::string> rows_seen;
  std::vector<std::optional<lease>> leases(n_parts);
  {
    std::lock_guard lock(maint_mutex);
    auto s =
        maint.prepare("SELECT member, pid, heartbeat FROM es_members WHERE grp=? AND topic_id=?");
    s.bind(1, std::string_view(g.name)).bind(2, g.topic->id);
    while (s.step()) {
      std::string id(s.text(0));
      rows_seen.insert(id);
      const bool fresh = s.int64(2) >= now - options.session_timeout.count();
      if (local.count(id) || (fresh && pid_alive(s.int64(1)))) live.push_back(std::move(id));
    }
    auto l = maint.prepare(
        "SELECT part, member, pid, expires FROM es_leases WHERE grp=? AND topic_id=?");
    l.bind(1, std::string_view(g.name)).bind(2, g.topic->id);
    while (l.step()) {
      const auto p = static_cast<std::size_t>(l.int64(0));
      if (p < n_parts) leases[p] = lease{std::string(l.text(1)), l.int64(2), l.int64(3)};
    }
  }
  for (auto& id : local)
    if (std::find(live.begin(), live.end(), id) == live.end()) live.push_back(id);
  std::sort(live.begin(), live.end());
  std::map<std::string, member*> by_id;
  for (auto& m : members)
    by_id[m->id] = m.get();

  // Phase A: take partitions away from local members that should no longer dispatch them.
  std::vector<member*> desired(n_parts, nullptr);
  std::vector<std::string> desired_id(n_parts);
  for (std::size_t p = 0; p < n_parts && !live.empty(); ++p) {
    desired_id[p] = live[p % live.size()];
    if (auto it = by_id.find(desired_id[p]); it != by_id.end()) desired[p] = it->second;
  }
  for (std::size_t p = 0; p < n_parts; ++p) {
    auto& ps = *g.parts[p];
    member* cur = ps.owner.load();
    const bool lease_ours = leases[p] && local.count(leases[p]->member);
    if (cur && (cur != desired[p] || !lease_ours)) {
      ps.owner.store(nullptr);
      std::lock_guard wait_batch(ps.dispatch);  // the in-flight batch finishes first
      cur->flush(ps, static_cast<std::int32_t>(p));
    }
  }

  // Phase B: heartbeat, forget dead members, take/renew/release leases - one transaction. It is
  // skipped (no fsync) while nothing changes and the last heartbeat is recent enough.
  std::vector<bool> acquired(n_parts, false);
  bool need_write = g.last_write < now - options.session_timeout.count() / 3;
  for (auto& id : local)
    need_write |= rows_seen.count(id) == 0;
  for (std::size_t p = 0; p < n_parts && !need_write; ++p) {
    const auto& l = leases[p];
    const bool mine = l && desired[p] && l->member == desired_id[p] && l->pid == my_pid;
    if (desired[p] && !mine) {
      need_write |= !l || local.count(l->member) || l->expires < now || !pid_alive(l->pid) ||
                    std::find(live.begin(), live.end(), l->member) == live.end();
    } else if (!desired[p] && l && local.count(l->member)) {
      need_write = true;
    }
    acquired[p] = mine;
  }
  if (need_write) {
    std::fill(acquired.begin(), acquired.end(), false);
    g.last_write = now;
    std::lock_guard lock(maint_mutex);
    detail::transaction_guard tx(maint);
    auto hb = maint.prepare(
        "INSERT INTO es_members(grp, topic_id, member, pid, heartbeat) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(grp, topic_id, member) DO UPDATE SET pid=excluded.pid, "
        "heartbeat=excluded.heartbeat");
    for (auto& id : local)
      hb.bind(1, std::string_view(g.name))
          .bind(2, g.topic->id)
          .bind(3, std::string_view(id))
          .bind(4, my_pid)
          .bind(5, now)
          .run();
    auto del = maint.prepare("DELETE FROM es_members WHERE grp=? AND topic_id=? AND member=?");
    {
      auto s =
          maint.prepare("SELECT member, pid, heartbeat FROM es_members WHERE grp=? AND topic_id=?");
      s.bind(1, std::string_view(g.name)).bind(2, g.topic->id);
      std::vector<std::string> dead;
      while (s.step()) {
        const bool fresh = s.int64(2) >= now - options.session_timeout.count();
        if (!fresh || !pid_alive(s.int64(1))) dead.emplace_back(s.text(0));
      }
      s.reset();
      for (auto& d : dead)
        del.bind(1, std::string_view(g.name))
            .bind(2, g.topic->id)
            .bind(3, std::string_view(d))
            .run();
    }
    auto put = maint.prepare(
        "INSERT INTO es_leases(grp, topic_id, part, member, pid, expires) VALUES (?, ?, ?, ?, ?, "
        "?) "
        "ON CONFLICT(grp, topic_id, part) DO UPDATE SET member=excluded.member, pid=excluded.pid, "
        "expires=excluded.expires");
    auto drop = maint.prepare("DELETE FROM es_leases WHERE grp=? AND topic_id=? AND part=?");
    for (std::size_t p = 0; p < n_parts; ++p) {
      const auto& l = leases[p];
      const bool held_locally = l && local.count(l->member);
      if (desired[p]) {
        const bool free = !l || held_locally || l->expires < now || !pid_alive(l->pid) ||
                          std::find(live.begin(), live.end(), l->member) == live.end();
        if (!free) continue;
        put.bind(1, std::string_view(g.name))
            .bind(2, g.topic->id)
            .bind(3, static_cast<std::int64_t>(p))
            .bind(4, std::string_view(desired_id[p]))
            .bind(5, my_pid)
            .bind(6, now + options.session_timeout.count())
            .run();
        acquired[p] = true;
      } else if (held_locally) {
        drop.bind(1, std::string_view(g.name))
            .bind(2, g.topic->id)
            .bind(3, static_cast<std::int64_t>(p))
            .run();
      }
    }
    tx.commit();
  }

  // Phase C: hand the acquired partitions to their local members.
  for (std::size_t p = 0; p < n_parts; ++p) {
    auto& ps = *g.parts[p];
    if (!acquired[p] || ps.owner.load() == desired[p]) continue;
    {
      std::lock_guard d(ps.dispatch);
      std::lock_guard lock(maint_mutex);
      ps.committed = ps.next =
          load_committed(maint, g.name, g.topic->id, static_cast<std::int32_t>(p));
      ps.attempt = 1;
      ps.retry_at = {};
      ps.pending.reset();
    }
    ps.owner.store(desired[p]);
    desired[p]->wake();
  }
}

void sqlite_subscription::close() {
  std::lock_guard lock(close_mutex);
  if (closed_.exchange(true)) return;
  for (auto& m : members) {
    m->stop.store(true);
    m->wake();
  }
  bool self = false;
  for (auto& m : members) {
    if (m->thread.get_id() == std::this_thread::get_id()) {
      m->thread.detach();  // closed from its own handler
      self = true;
    } else if (m->thread.joinable()) {
      m->thread.join();
    }
  }
  if (members.empty()) return;
  auto& g = *group;
  auto* bus = g.bus;
  std::lock_guard gl(g.mutex);
  for (auto& ps : g.parts) {
    member* o = ps->owner.load();
    for (auto& m : members)
      if (o == m.get()) ps->owner.store(nullptr);
  }
  {
    std::lock_guard ll(g.list_mutex);
    std::erase_if(g.members, [&](const std::shared_ptr<member>& m) {
      return std::find(members.begin(), members.end(), m) != members.end();
    });
  }
  try {
    {
      std::lock_guard ml(bus->maint_mutex);
      detail::transaction_guard tx(bus->maint);
      auto dm =
          bus->maint.prepare("DELETE FROM es_members WHERE grp=? AND topic_id=? AND member=?");
      auto dl = bus->maint.prepare("DELETE FROM es_leases WHERE grp=? AND topic_id=? AND member=?");
      for (auto& m : members) {
        dm.bind(1, std::string_view(g.name))
            .bind(2, g.topic->id)
            .bind(3, std::string_view(m->id))
            .run();
        dl.bind(1, std::string_view(g.name))
            .bind(2, g.topic->id)
            .bind(3, std::string_view(m->id))
            .run();
      }
      tx.commit();
    }
    if (!g.member_list().empty() && !self) bus->rebalance(g);
  } catch (const std::exception& e) {
    bus_log().warn("leaving the group did not complete; leases expire instead",
                   {{"group", g.name}, {"error", e.what()}});
  }
}

// ---- maintenance -----------------------------------------------------------------------------

void sqlite_bus::impl::maintenance_loop() {
  connection watch;
  std::optional<statement> version;
  try {
    watch = connection(params());
    version.emplace(watch.prepare("PRAGMA data_version"));
  } catch (const std::exception& e) {
    bus_log().error("watcher could not open the database", {{"error", e.what()}});
  }
  std::int64_t last = -1;
  int checkpointed_at = 0;
  auto next_beat = steady::now() + options.heartbeat_interval;
  auto next_compact = steady::now() + options.compact_interval;
  std::unique_lock lock(maint_thread_mutex);
  while (!maint_stop) {
    maint_cv.wait_for(lock, options.poll_interval, [&] { return maint_stop; });
    if (maint_stop) break;
    lock.unlock();
    if (version) {
      try {
        const std::int64_t v = version->step() ? version->int64(0) : last;
        version->reset();
        if (v != last) {
          last = v;
          wake_all();
        }
      } catch (const std::exception&) {
        version->reset();
      }
    }
    if (const int frames = wal_frames.load(std::memory_order_relaxed);
        version && frames >= checkpoint_frames && frames != checkpointed_at) {
      checkpointed_at = frames;
      const int rc = sqlite3_wal_checkpoint_v2(watch.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               nullptr, nullptr);
      if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
        bus_log().warn("checkpoint failed; will retry", {{"error", sqlite3_errstr(rc)}});
    }
    if (options.compact_interval.count() > 0 && steady::now() >= next_compact) {
      next_compact = steady::now() + options.compact_interval;
      try {
        if (const auto n = compact({}); n > 0)
          bus_log().info("compacted consumed events", {{"deleted", n}});
      } catch (const std::exception& e) {
        bus_log().warn("compaction failed; will retry", {{"error", e.what()}});
      }
    }
    if (steady::now() >= next_beat) {
      next_beat = steady::now() + options.heartbeat_interval;
      for (auto& g : group_list()) {
        try {
          std::lock_guard gl(g->mutex);
          if (!g->member_list().empty()) rebalance(*g);
        } catch (const std::exception& e) {
          bus_log().warn("heartbeat/rebalance failed; will retry",
                         {{"group", g->name}, {"error", e.what()}});
        }
      }
    }
    lock.lock();
  }
}

// ---- options -------------------------------------------------------------------------------

void bus_options::validate() const {
  auto bad = [](const std::string& what) {
    throw error(errc::invalid_argument, "sqlite::bus_options." + what);
  };
  if (path.empty()) bad("path must not be empty");
  if (partitions < 1 || partitions > 10'000) bad("partitions must be 1..10000");
  if (redelivery_delay.count() < 0) bad("redelivery_delay must be >= 0");
  if (max_batch < 1) bad("max_batch must be >= 1");
  if (max_commit_batch < 1) bad("max_commit_batch must be >= 1");
  if (max_pending < 1) bad("max_pending must be >= 1");
  if (busy_timeout.count() < 0) bad("busy_timeout must be >= 0");
  if (write_timeout.count() < 1) bad("write_timeout must be >= 1 ms");
  if (poll_interval.count() < 1) bad("poll_interval must be >= 1 us");
  if (heartbeat_interval.count() < 1) bad("heartbeat_interval must be >= 1 ms");
  if (session_timeout <= heartbeat_interval) bad("session_timeout must exceed heartbeat_interval");
  if (retain_events < 0) bad("retain_events must be >= 0");
  if (compact_interval.count() < 0) bad("compact_interval must be >= 0 (0 = never)");
}

bus_options bus_options::from_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("sqlite://"))
    rest = url.substr(9);
  else if (url.starts_with("sqlite:"))
    rest = url.substr(7);
  else
    throw error(errc::invalid_argument,
                "sqlite bus URL '" + std::string(url) + "' must look like sqlite:PATH");
  if (rest.empty())
    throw error(errc::invalid_argument, "sqlite bus URL '" + std::string(url) + "' has no path");
  bus_options o;
  o.path = std::string(rest);
  return o;
}

// ---- the bus -------------------------------------------------------------------------------

sqlite_bus::sqlite_bus(bus_options options) {
  options.validate();
  impl_ = std::make_shared<impl>(std::move(options));
  auto& i = *impl_;
  i.maint = connection(i.params());
  auto writer_params = i.params();
  if (i.options.synchronous == sync_mode::full) {
    // Pipelined sync: the WAL exists now (the maintenance connection read the file in WAL mode)
    // and is not deleted while a connection of ours has it open (WAL-mode connections hold a
    // shared lock on the database file; only the last one to close removes the WAL).
    // SQLite's own name for the WAL (the database's full path with symlinks resolved + "-wal"),
    // not options.path + "-wal": through a symlink those are different files.
    const char* db_name = sqlite3_db_filename(i.maint.get(), "main");
    const char* wal_name = db_name ? sqlite3_filename_wal(db_name) : nullptr;
    const std::string wal_path = wal_name ? wal_name : "";
    i.wal_fd = wal_path.empty() ? -1 : ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (i.wal_fd >= 0) {
      // The WAL's directory entry must be durable before an fdatasync of the WAL can vouch for
      // anything (SQLite syncs it on the WAL's first sync, which NORMAL may never do).
      const auto dir = std::filesystem::path(wal_path).parent_path();
      if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        ::fsync(d);
        ::close(d);
      }
      i.pipelined = true;
      writer_params.sync = detail::sync_level::normal;
    } else {
      bus_log().warn("cannot open the WAL file; commits fsync inline",
                     {{"path", wal_path}, {"error", std::strerror(errno)}});
    }
  }
  try {
    i.writer_conn = connection(writer_params);
  } catch (...) {
    if (i.wal_fd >= 0) ::close(i.wal_fd);
    throw;
  }
  // The writer only appends: it needs the partitions' tail pages and their parents, not a big
  // cache. A small one keeps the page buffers it recycles in the CPU's caches (measured on the
  // insert loop: 16 MiB 3.5-3.9 us/row, 4 MiB 1.9, 2 MiB 1.8-2.0, 1 MiB 1.7 us/row).
  i.writer_conn.exec(writer_cache);
  // Replaces SQLite's automatic checkpoint on the writer connection (see checkpoint_frames).
  sqlite3_wal_hook(
      i.writer_conn.get(),
      [](void* arg, sqlite3* db, const char* name, int frames) {
        static_cast<impl*>(arg)->wal_frames.store(frames, std::memory_order_relaxed);
        if (frames >= writer_checkpoint_frames)
          sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        return SQLITE_OK;
      },
      &i);
  i.writer = std::thread([&i] {
    i.writer_id.store(std::this_thread::get_id());
    i.writer_loop();
  });
  if (i.pipelined)
    i.syncer = std::thread([&i] {
      i.syncer_id.store(std::this_thread::get_id());
      i.syncer_loop();
    });
  i.maintainer = std::thread([&i] { i.maintenance_loop(); });
}

sqlite_bus::~sqlite_bus() {
  close(std::chrono::milliseconds(0));
}

const bus_options& sqlite_bus::options() const noexcept {
  return impl_->options;
}

sqlite_bus::stats_t sqlite_bus::stats() const noexcept {
  return {impl_->stat_transactions.load(), impl_->stat_events.load(), impl_->stat_commits.load(),
          impl_->stat_writer_cpu_ns.load(), impl_->stat_syncs.load()};
}

void sqlite_bus::publish(std::string_view topic_name, envelope event, publish_callback on_ack) {
  if (topic_name.empty())
    throw error(errc::invalid_argument, "publish: topic name must not be empty");
  auto& i = *impl_;
  if (i.closed.load()) {
    if (on_ack) on_ack(errc::closed, {});
    return;
  }
  publish_req r;
  try {
    r.topic = i.topic_ref(topic_name);  // throws invalid_argument for a bad name: caller's bug
  } catch (const error& e) {
    if (e.code() == make_error_code(errc::invalid_argument)) throw;
    if (on_ack) on_ack(e.code(), {});
    return;
  }
  try {
    encode_to(r.json, event);
  } catch (const error& e) {
    if (on_ack) on_ack(e.code(), {});
    return;
  }
  r.key = event.key();
  r.partition = partition_for(r.key, r.topic->partitions);
  r.cb = std::move(on_ack);
  {
    std::unique_lock lock(i.queue_mutex);
    // Never block the threads that run callbacks: they are what makes room.
    if (const auto self = std::this_thread::get_id();
        self != i.writer_id.load() && self != i.syncer_id.load())
      i.space_cv.wait(lock,
                      [&] { return i.queue.size() < i.options.max_pending || i.writer_stop; });
    if (i.writer_stop) {
      lock.unlock();
      if (r.cb) r.cb(errc::closed, {});
      return;
    }
    i.queue.push_back(std::move(r));
  }
  i.queue_cv.notify_one();
}

subscription sqlite_bus::subscribe(std::string_view topic_name, std::string_view group_name,
                                   handler h, const subscribe_options& options) {
  auto& i = *impl_;
  if (i.closed.load()) throw error(errc::closed, "subscribe on a closed sqlite_bus");
  validate_topic_name(topic_name);
  validate_group_name(group_name);
  if (!h) throw error(errc::invalid_argument, "subscribe needs a handler");
  if (options.concurrency < 1)
    throw error(errc::invalid_argument, "subscribe_options.concurrency must be >= 1");
  auto t = i.topic(topic_name);
  const std::string gname(group_name);
  {
    // Record the group's start position once: from then on compaction keeps what it has not
    // consumed, and `latest` means "after this moment" even across restarts.
    std::lock_guard lock(i.maint_mutex);
    detail::transaction_guard tx(i.maint);
    if (options.start == start_position::earliest) {
      for (std::int32_t p = 0; p < t->partitions; ++p)
        i.maint
            .prepare(
                "INSERT OR IGNORE INTO es_offsets(grp, topic_id, part, next_offset) SELECT ?1, "
                "?2, ?3, coalesce((SELECT min(off) FROM " +
                detail::partition_table(t->id, p) +
                "), p.next_offset) FROM es_partitions p WHERE p.topic_id=?2 AND p.part=?3")
            .bind(1, std::string_view(gname))
            .bind(2, t->id)
            .bind(3, p)
            .run();
    } else {
      i.maint
          .prepare(
              "INSERT OR IGNORE INTO es_offsets(grp, topic_id, part, next_offset) SELECT ?, "
              "p.topic_id, p.part, p.next_offset FROM es_partitions p WHERE p.topic_id=?")
          .bind(1, std::string_view(gname))
          .bind(2, t->id)
          .run();
    }
    tx.commit();
  }
  std::shared_ptr<local_group> g;
  {
    std::lock_guard lock(i.groups_mutex);
    auto& slot = i.groups[{t->name, gname}];
    if (!slot) {
      slot = std::make_shared<local_group>();
      slot->bus = &i;
      slot->topic = t;
      slot->name = gname;
      for (std::int32_t p = 0; p < t->partitions; ++p)
        slot->parts.push_back(std::make_unique<part_state>());
    }
    g = slot;
  }
  auto state = std::make_shared<sqlite_subscription>();
  state->group = g;
  for (int n = 0; n < options.concurrency; ++n) {
    auto m = std::make_shared<member>();
    m->bus = impl_;
    m->group = g;
    m->id = new_uuid_v7();
    m->fn = h;
    m->conn = connection(i.params());
    m->reads.resize(static_cast<std::size_t>(t->partitions));
    if (i.pipelined) {
      m->begin_read = m->conn.prepare("BEGIN");
      m->snapshot = m->conn.prepare("SELECT next_seq FROM es_sequence WHERE id=1");
      m->end_read = m->conn.prepare("COMMIT");
    }
    state->members.push_back(std::move(m));
  }
  {
    std::lock_guard gl(g->mutex);
    {
      std::lock_guard ll(g->list_mutex);
      for (auto& m : state->members)
        g->members.push_back(m);
    }
    for (auto& m : state->members) {
      m->thread = std::thread([m] { m->run(); });
    }
    i.rebalance(*g);
  }
  {
    std::lock_guard lock(i.subs_mutex);
    std::erase_if(i.subs, [](const auto& w) { return w.expired(); });
    i.subs.push_back(state);
  }
  return subscription(state);
}

std::int64_t sqlite_bus::impl::lag_of(std::int64_t topic_id, const std::string& group) {
  auto s = maint.prepare(
      "SELECT coalesce(sum(max(p.next_offset - o.next_offset, 0)), 0) FROM es_offsets o JOIN "
      "es_partitions p ON p.topic_id=o.topic_id AND p.part=o.part WHERE o.grp=? AND o.topic_id=?");
  s.bind(1, std::string_view(group)).bind(2, topic_id);
  return s.step() ? s.int64(0) : 0;
}

void sqlite_bus::close(std::chrono::milliseconds drain) {
  auto& i = *impl_;
  if (i.closed.exchange(true)) return;
  // Flush what was queued before close(): those publishes were accepted and get their acks.
  {
    std::unique_lock lock(i.queue_mutex);
    i.space_cv.wait(lock, [&] { return (i.queue.empty() && !i.writing) || i.writer_stop; });
  }
  if (i.pipelined) {
    std::unique_lock lock(i.sync_mutex);
    i.synced_cv.wait(lock, [&] { return (i.unsynced.empty() && !i.syncing) || i.sync_stop; });
  }
  if (drain.count() > 0) {
    const auto deadline = steady::now() + drain;
    for (;;) {
      bool done = true;
      try {
        for (auto& g : i.group_list()) {
          if (g->member_list().empty()) continue;
          std::lock_guard ml(i.maint_mutex);
          if (i.lag_of(g->topic->id, g->name) > 0) {
            done = false;
            break;
          }
        }
      } catch (const std::exception& e) {
        bus_log().warn("checking the drain failed", {{"error", e.what()}});
      }
      if (done) break;
      if (steady::now() >= deadline) {
        bus_log().warn("sqlite_bus closed before every group drained");
        break;
      }
      std::unique_lock lock(i.progress_mutex);
      i.progress_cv.wait_for(lock, std::chrono::milliseconds(5));
    }
  }
  // Stop the subscriptions (their last offset commits go through the writer).
  std::vector<std::shared_ptr<eventshop::detail::subscription_state>> live;
  {
    std::lock_guard lock(i.subs_mutex);
    for (auto& w : i.subs)
      if (auto st = w.lock()) live.push_back(std::move(st));
  }
  for (auto& st : live)
    st->close();
  {
    std::lock_guard lock(i.maint_thread_mutex);
    i.maint_stop = true;
  }
  i.maint_cv.notify_all();
  if (i.maintainer.joinable()) i.maintainer.join();
  {
    std::lock_guard lock(i.queue_mutex);
    i.writer_stop = true;
  }
  i.queue_cv.notify_all();
  i.space_cv.notify_all();
  if (i.writer.joinable()) i.writer.join();
  {
    std::lock_guard lock(i.sync_mutex);
    i.sync_stop = true;
  }
  i.sync_cv.notify_all();
  i.synced_cv.notify_all();
  if (i.syncer.joinable()) i.syncer.join();
  if (i.wal_fd >= 0) {
    ::close(i.wal_fd);
    i.wal_fd = -1;
  }
}

std::int32_t sqlite_bus::partitions(std::string_view topic_name) {
  return impl_->topic(topic_name)->partitions;
}

std::int64_t sqlite_bus::lag(std::string_view topic_name, std::string_view group_name) {
  auto t = impl_->topic(topic_name, false);
  if (!t) return 0;
  std::lock_guard ml(impl_->maint_mutex);
  return impl_->lag_of(t->id, std::string(group_name));
}

std::int64_t sqlite_bus::committed(std::string_view topic_name, std::string_view group_name,
                                   std::int32_t partition) {
  auto t = impl_->topic(topic_name, false);
  if (!t) return -1;
  std::lock_guard ml(impl_->maint_mutex);
  auto s = impl_->maint.prepare(
      "SELECT next_offset FROM es_offsets WHERE grp=? AND topic_id=? AND part=?");
  s.bind(1, group_name).bind(2, t->id).bind(3, partition);
  return s.step() ? s.int64(0) : -1;
}

std::int64_t sqlite_bus::impl::compact(std::string_view topic_name) {
  auto& i = *this;
  std::lock_guard ml(i.maint_mutex);
  detail::transaction_guard tx(i.maint);
  auto parts = i.maint.prepare(
      "SELECT p.topic_id, p.part, p.next_offset, (SELECT min(o.next_offset) FROM es_offsets o "
      "WHERE o.topic_id=p.topic_id AND o.part=p.part) FROM es_partitions p JOIN es_topics t ON "
      "t.id=p.topic_id WHERE ?1='' OR t.name=?1");
  parts.bind(1, topic_name);
  struct cut {
    std::int64_t topic, part, below;
  };
  std::vector<cut> cuts;
  while (parts.step()) {
    const std::int64_t next = parts.int64(2);
    const std::int64_t floor = parts.is_null(3) ? next : std::min(next, parts.int64(3));
    const std::int64_t below = std::min(floor, next - i.options.retain_events);
    if (below > 0) cuts.push_back({parts.int64(0), parts.int64(1), below});
  }
  parts.reset();
  std::int64_t deleted = 0;
  for (auto& c : cuts) {
    i.maint
        .prepare("DELETE FROM " +
                 detail::partition_table(c.topic, static_cast<std::int32_t>(c.part)) +
                 " WHERE off<?")
        .bind(1, c.below)
        .run();
    deleted += i.maint.changes();
  }
  tx.commit();
  return deleted;
}

std::int64_t sqlite_bus::compact(std::string_view topic_name) {
  return impl_->compact(topic_name);
}

}  // namespace eventshop::sqlite
