// The in-memory bus. Layout: topic -> partitions (a segmented log of envelopes each, with a
// mutex) and topic -> groups -> per-partition group state (committed offset, owning member, retry
// state). Members are run by dispatchers: a dispatcher is a thread that walks the assigned
// partitions of its members, takes a batch of event pointers under the partition mutex and runs
// the handler outside it. By default every member has a dispatcher of its own; with
// memory_bus_options::dispatch_threads = N all members share N dispatchers (round robin).
// Pointers stay valid because the log never moves elements, and an event is only trimmed once
// every active group has committed past it.
#include "eventshop/core/memory_bus.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "eventshop/core/batch_scope.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/logging.hpp"

namespace eventshop {

namespace {
using steady = std::chrono::steady_clock;

std::uint64_t next_id() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}
struct member;
struct dispatcher;

struct group_partition {
  std::mutex dispatch;                     // held while a member handles a batch of this partition
  std::atomic<std::int64_t> committed{0};  // next offset this group will consume
  std::atomic<member*> owner{nullptr};
  int attempt = 1;                // guarded by dispatch
  steady::time_point retry_at{};  // guarded by dispatch
};

struct group_state {
  std::string name;
  std::vector<std::unique_ptr<group_partition>> parts;
  std::vector<member*> members;  // guarded by topic_state::mutex
};

// An append-only log in fixed-capacity segments. Elements never move (each segment's vector is
// reserved up front and never grows past it) and segments are dropped whole from the front, so a
// pointer to an event stays valid until its segment is trimmed. One allocation per segment
// instead of one per event (an envelope is larger than a std::deque node); emptied segments are
// recycled. A trimmed segment is handed to the caller, who destroys its events after releasing
// the partition lock (a thousand envelopes' frees) and gives it back with recycle().
class segmented_log {
 public:
  explicit segmented_log(std::size_t segment_size) : segment_size_(segment_size) {}

  std::size_t size() const noexcept { return size_; }
  const envelope& at(std::size_t i) const {
    return (*segments_[i / segment_size_])[i % segment_size_];
  }
  void push_back(envelope&& e) {
    if (segments_.empty() || segments_.back()->size() == segment_size_) {
      std::unique_ptr<std::vector<envelope>> seg = std::move(spare_);
      if (!seg) {
        seg = std::make_unique<std::vector<envelope>>();
        seg->reserve(segment_size_);
      }
      segments_.push_back(std::move(seg));
    }
    segments_.back()->push_back(std::move(e));
    ++size_;
  }
  // Drops the first segment when it is full and all its events are among the first
  // `consumed` ones, and returns it (still holding its events), or null.
  std::unique_ptr<std::vector<envelope>> trim_front_segment(std::size_t consumed) {
    if (segments_.empty() || segments_.front()->size() < segment_size_ || consumed < segment_size_)
      return nullptr;
    auto seg = std::move(segments_.front());
    segments_.pop_front();
    size_ -= segment_size_;
    return seg;
  }
  std::size_t segment_size() const noexcept { return segment_size_; }
  // Takes back an emptied segment for reuse.
  void recycle(std::unique_ptr<std::vector<envelope>> seg) {
    if (!spare_) spare_ = std::move(seg);
  }

 private:
  std::size_t segment_size_;
  std::deque<std::unique_ptr<std::vector<envelope>>> segments_;
  std::unique_ptr<std::vector<envelope>> spare_;
  std::size_t size_ = 0;
};

struct partition_state {
  explicit partition_state(std::size_t segment_size) : log(segment_size) {}
  std::mutex mutex;
  std::condition_variable space;  // publishers waiting for retention room
  segmented_log log;
  std::int64_t base = 0;                 // offset of the log's first event
  std::atomic<std::int64_t> next{0};     // offset the next event gets (written under mutex)
  std::vector<member*> owners;           // members to wake on publish (one per active group)
  std::vector<group_partition*> active;  // offsets that hold back trimming
  std::atomic<int> waiting_publishers{0};
  // Segments trimmed by publishers, left for a dispatch thread to free (guarded by mutex), so
  // that freeing a thousand envelopes is not on the publisher's path.
  std::vector<std::unique_ptr<std::vector<envelope>>> garbage;
  std::atomic<bool> has_garbage{false};

  // Frees the trimmed segments' events outside the lock and keeps one segment for reuse.
  void collect(std::vector<std::unique_ptr<std::vector<envelope>>>& segments) {
    if (segments.empty()) return;
    for (auto& segment : segments)
      segment->clear();
    std::lock_guard lock(mutex);
    log.recycle(std::move(segments.front()));
    segments.clear();
  }
  void collect_garbage() {
    if (!has_garbage.load(std::memory_order_acquire)) return;
    std::vector<std::unique_ptr<std::vector<envelope>>> segments;
    {
      std::lock_guard lock(mutex);
      segments.swap(garbage);
      has_garbage.store(false, std::memory_order_relaxed);
    }
    collect(segments);
  }
};

struct topic_state {
  std::string name;
  std::vector<std::unique_ptr<partition_state>> parts;
  std::mutex mutex;  // groups and memberships
  std::map<std::string, std::unique_ptr<group_state>, std::less<>> groups;
};

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

const logger& bus_log() {
  static const logger log("eventshop.memory_bus");
  return log;
}

}  // namespace

struct memory_bus::impl : std::enable_shared_from_this<memory_bus::impl> {
  explicit impl(memory_bus_options o) : options(o) {}

  memory_bus_options options;
  const std::uint64_t id = next_id();
  std::atomic<bool> closed{false};
  std::shared_mutex topics_mutex;
  std::map<std::string, std::unique_ptr<topic_state>, std::less<>> topics;

  std::mutex subs_mutex;
  std::vector<std::weak_ptr<detail::subscription_state>> subs;

  std::atomic<bool> draining{false};
  std::mutex drain_mutex;
  std::condition_variable drain_cv;

  // With options.dispatch_threads > 0: the dispatchers every member shares (round robin).
  std::vector<std::shared_ptr<dispatcher>> shared;
  std::atomic<std::size_t> next_shared{0};

  // Retention is enforced in whole segments of up to 1024 events.
  std::size_t segment_size() const { return std::min<std::size_t>(1024, options.retention); }

  // Topics are never removed while the bus lives, so a publishing thread may remember the last
  // one it used (keyed by this bus's unique id, not its address, which could be reused).
  topic_state& topic(std::string_view name) {
    struct last_topic {
      std::uint64_t bus = 0;
      std::string name;
      topic_state* state = nullptr;
    };
    thread_local last_topic last;
    if (last.bus == id && last.name == name) return *last.state;
    topic_state& t = find_or_add_topic(name);
    last.bus = id;
    last.name.assign(name);
    last.state = &t;
    return t;
  }

  topic_state& find_or_add_topic(std::string_view name) {
    {
      std::shared_lock lock(topics_mutex);
      const auto it = topics.find(name);
      if (it != topics.end()) return *it->second;
    }
    validate_topic_name(name);
    std::unique_lock lock(topics_mutex);
    auto& slot = topics[std::string(name)];
    if (!slot) {
      slot = std::make_unique<topic_state>();
      slot->name = std::string(name);
      for (std::int32_t i = 0; i < options.partitions; ++i)
        slot->parts.push_back(std::make_unique<partition_state>(segment_size()));
    }
    return *slot;
  }

  void rebalance(topic_state& t, group_state& g);  // caller holds t.mutex
  bool drained();
  void notify_drain() {
    if (draining.load(std::memory_order_relaxed)) {
      std::lock_guard lock(drain_mutex);
      drain_cv.notify_all();
    }
  }
};

namespace {

struct dispatcher;

struct member {
  std::shared_ptr<memory_bus::impl> bus;
  topic_state* topic = nullptr;
  group_state* group = nullptr;
  handler fn;
  std::shared_ptr<dispatcher> home;  // the dispatcher that runs this member
  std::atomic<bool> stop{false};

  std::mutex assign_mutex;
  std::vector<std::int32_t> assigned;
  std::atomic<std::uint64_t> assign_gen{0};
  // The dispatcher's copy of `assigned` (touched only by the dispatcher's thread).
  std::vector<std::int32_t> parts;
  std::uint64_t parts_gen = ~std::uint64_t{0};

  void wake();

  // True when an assigned partition has events past the group's position, or the assignment
  // changed.
  bool has_work() const {
    if (assign_gen.load() != parts_gen) return true;
    for (const auto p : parts) {
      auto& gp = *group->parts[static_cast<std::size_t>(p)];
      if (gp.owner.load() == this &&
          topic->parts[static_cast<std::size_t>(p)]->next.load() > gp.committed.load())
        return true;
    }
    return false;
  }

  // One pass over the assigned partitions; true when some batch was handled (or the assignment
  // changed).
  bool poll(std::vector<const envelope*>& batch, steady::time_point& next_retry) {
    bool worked = false;
    if (assign_gen.load() != parts_gen) {
      std::lock_guard lock(assign_mutex);
      parts = assigned;
      parts_gen = assign_gen.load();
      worked = true;
    }
    for (const auto p : parts) {
      if (stop.load()) break;
      worked |= dispatch(p, batch, next_retry);
    }
    return worked;
  }
  // Handles one batch of partition `p`; returns false when nothing was available, and lowers
  // `next_retry` when the partition waits for a redelivery.
  bool dispatch(std::int32_t p, std::vector<const envelope*>& batch,
                steady::time_point& next_retry);
};

// The bus whose dispatcher runs on this thread, if any (publish() must not wait for retention
// room there: the group it would wait for may be one this very thread runs).
thread_local const memory_bus::impl* dispatching_for = nullptr;

// A thread running members. Its member list changes under `members_mutex` (+ `members_gen`);
// the thread picks a change up between passes and then acknowledges it (`seen_gen`), after
// which it no longer runs a removed member's handler.
struct dispatcher {
  const memory_bus::impl* bus = nullptr;
  std::thread thread;
  std::mutex wake_mutex;
  std::condition_variable wake_cv;
  std::atomic<bool> signaled{false};  // a wake-up is on its way (set once per sleep)
  std::atomic<bool> sleeping{false};
  std::atomic<bool> stop{false};

  std::mutex members_mutex;
  std::condition_variable seen_cv;
  std::vector<std::shared_ptr<member>> members;  // guarded by members_mutex
  std::atomic<std::uint64_t> members_gen{0};
  std::uint64_t seen_gen = 0;  // guarded by members_mutex

  // Only the first publisher to find the dispatcher asleep pays for the futex wake; the ones
  // that follow while it is still waking up see `signaled` and go on.
  void wake() {
    if (sleeping.load(std::memory_order_seq_cst) &&
        !signaled.exchange(true, std::memory_order_acq_rel)) {
      std::lock_guard lock(wake_mutex);
      wake_cv.notify_one();
    }
  }
  void wake_now() {
    std::lock_guard lock(wake_mutex);
    signaled.store(true);
    wake_cv.notify_one();
  }

  void add(std::shared_ptr<member> m) {
    {
      std::lock_guard lock(members_mutex);
      members.push_back(std::move(m));
      members_gen.fetch_add(1);
    }
    wake_now();
  }

  // Removes `m`; returns once this dispatcher no longer runs its handler (at once when called on
  // the dispatcher's own thread, from a handler: the member's stop flag ends its batch).
  void remove(const member* m) {
    std::unique_lock lock(members_mutex);
    std::erase_if(members, [m](const auto& x) { return x.get() == m; });
    const auto gen = members_gen.fetch_add(1) + 1;
    if (std::this_thread::get_id() == thread.get_id()) return;
    lock.unlock();
    wake_now();
    lock.lock();
    seen_cv.wait(lock, [&] { return seen_gen >= gen || stop.load(); });
  }

  void start() {
    thread = std::thread([this] { run(); });
  }
  void halt() {
    stop.store(true);
    wake_now();
    if (thread.get_id() == std::this_thread::get_id())
      thread.detach();  // stopped from one of its own handlers
    else if (thread.joinable())
      thread.join();
    std::lock_guard lock(members_mutex);
    members.clear();  // members point back at their dispatcher
  }

  void run();
};

void member::wake() {
  home->wake();
}

bool member::dispatch(std::int32_t p, std::vector<const envelope*>& batch,
                      steady::time_point& next_retry) {
  auto& gp = *group->parts[static_cast<std::size_t>(p)];
  auto& part = *topic->parts[static_cast<std::size_t>(p)];
  if (gp.owner.load() != this) return false;
  std::unique_lock guard(gp.dispatch, std::try_to_lock);
  if (!guard) return true;  // the previous owner is finishing a batch: come back soon
  if (gp.owner.load() != this) return false;
  if (gp.retry_at != steady::time_point{}) {
    const auto now = steady::now();
    if (now < gp.retry_at) {
      next_retry = std::min(next_retry, gp.retry_at);
      return false;
    }
    gp.retry_at = {};
  }
  std::int64_t first = gp.committed.load(std::memory_order_acquire);
  batch.clear();
  {
    std::lock_guard lock(part.mutex);
    if (first < part.base) {
      bus_log().warn("group resumes after retention dropped events it had not consumed",
                     {{"topic", topic->name},
                      {"group", group->name},
                      {"partition", p},
                      {"skipped", part.base - first}});
      first = part.base;
      gp.committed.store(first);
    }
    const std::int64_t available = part.next.load() - first;
    const auto n = static_cast<std::size_t>(
        std::min<std::int64_t>(available, static_cast<std::int64_t>(bus->options.max_batch)));
    const auto start = static_cast<std::size_t>(first - part.base);
    for (std::size_t i = 0; i < n; ++i)
      batch.push_back(&part.log.at(start + i));
  }
  if (batch.empty()) return false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (stop.load(std::memory_order_relaxed)) break;  // the rest goes to the next owner
    const std::int64_t offset = first + static_cast<std::int64_t>(i);
    const message m{topic->name, group->name, p, offset, gp.attempt, *batch[i]};
    try {
      fn(m);
    } catch (const std::exception& e) {
      bus_log().warn("handler failed; event will be redelivered", {{"topic", topic->name},
                                                                   {"group", group->name},
                                                                   {"partition", p},
                                                                   {"offset", offset},
                                                                   {"event_id", batch[i]->id},
                                                                   {"attempt", gp.attempt},
                                                                   {"error", e.what()}});
      ++gp.attempt;
      gp.retry_at = steady::now() + bus->options.redelivery_delay;
      next_retry = std::min(next_retry, gp.retry_at);
      break;
    } catch (...) {
      bus_log().warn("handler failed with a non-standard exception; event will be redelivered",
                     {{"topic", topic->name}, {"group", group->name}, {"offset", offset}});
      ++gp.attempt;
      gp.retry_at = steady::now() + bus->options.redelivery_delay;
      next_retry = std::min(next_retry, gp.retry_at);
      break;
    }
    gp.attempt = 1;
    gp.committed.store(offset + 1, std::memory_order_release);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (part.waiting_publishers.load() > 0) {
    std::lock_guard lock(part.mutex);
    part.space.notify_all();
  }
  part.collect_garbage();
  bus->notify_drain();
  return true;
}

void dispatcher::run() {
  dispatching_for = bus;
  std::vector<std::shared_ptr<member>> local;
  std::uint64_t gen = ~std::uint64_t{0};
  std::vector<const envelope*> batch;
  const auto any_work = [&] {
    if (members_gen.load() != gen) return true;
    for (const auto& m : local)
      if (!m->stop.load(std::memory_order_relaxed) && m->has_work()) return true;
    return false;
  };
  while (!stop.load()) {
    if (members_gen.load() != gen) {
      std::lock_guard lock(members_mutex);
      local = members;
      gen = members_gen.load();
      seen_gen = gen;
      seen_cv.notify_all();
    }
    bool worked = false;
    auto next_retry = steady::time_point::max();
    {
      // Work the handlers defer (e.g. a socket write of what they produced) runs once per pass.
      batch_scope scope;
      for (const auto& m : local) {
        if (stop.load()) break;
        if (!m->stop.load()) worked |= m->poll(batch, next_retry);
      }
    }
    if (worked) continue;
    // Spin briefly before sleeping: under load the next event usually arrives within
    // microseconds, and a futex sleep/wake pair per event would cost more than the event.
    bool arrived = false;
    for (int spin = 0; spin < 256 && !stop.load(std::memory_order_relaxed); ++spin) {
      if (any_work()) {
        arrived = true;
        break;
      }
      cpu_relax();
    }
    if (arrived) continue;
    // Sleep protocol: announce, re-check, then wait. A publisher that appends after the re-check
    // sees `sleeping`, sets `signaled` and notifies under wake_mutex, so no wake-up is lost.
    sleeping.store(true, std::memory_order_seq_cst);
    if (!any_work()) {
      std::unique_lock lock(wake_mutex);
      auto ready = [this] { return signaled.load() || stop.load(); };
      if (next_retry == steady::time_point::max())
        wake_cv.wait(lock, ready);
      else
        wake_cv.wait_until(lock, next_retry, ready);
    }
    signaled.store(false);  // a stale signal only costs one extra pass, never a lost wake-up
    sleeping.store(false, std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(members_mutex);
    seen_gen = members_gen.load();
    seen_cv.notify_all();
  }
  dispatching_for = nullptr;
}

class memory_subscription final : public detail::subscription_state {
 public:
  std::vector<std::shared_ptr<member>> members;
  std::atomic<bool> closed_{false};
  std::mutex close_mutex;

  bool closed() const noexcept override { return closed_.load(); }

  void close() override {
    std::lock_guard lock(close_mutex);
    if (closed_.exchange(true)) return;
    for (auto& m : members)
      m->stop.store(true);
    for (auto& m : members) {
      if (m->bus->shared.empty())
        m->home->halt();  // its own dispatcher
      else
        m->home->remove(m.get());
    }
    if (members.empty()) return;
    auto& t = *members.front()->topic;
    auto& g = *members.front()->group;
    std::lock_guard tl(t.mutex);
    for (auto& m : members)
      std::erase(g.members, m.get());
    members.front()->bus->rebalance(t, g);
  }
};

}  // namespace

void memory_bus::impl::rebalance(topic_state& t, group_state& g) {
  const std::size_t n = g.members.size();
  std::vector<std::vector<std::int32_t>> plan(n);
  for (std::size_t p = 0; p < g.parts.size(); ++p) {
    member* owner = n == 0 ? nullptr : g.members[p % n];
    g.parts[p]->owner.store(owner);
    if (owner) plan[p % n].push_back(static_cast<std::int32_t>(p));
  }
  for (std::size_t i = 0; i < n; ++i) {
    member* m = g.members[i];
    std::lock_guard lock(m->assign_mutex);
    m->assigned = std::move(plan[i]);
    m->assign_gen.fetch_add(1);
  }
  // Rebuild the wake lists and the trimming guards of every partition from all groups.
  for (std::size_t p = 0; p < t.parts.size(); ++p) {
    auto& part = *t.parts[p];
    std::lock_guard lock(part.mutex);
    part.owners.clear();
    part.active.clear();
    for (auto& [name, grp] : t.groups) {
      auto* gp = grp->parts[p].get();
      if (grp->members.empty()) continue;
      if (gp->committed.load() < part.base) gp->committed.store(part.base);
      part.active.push_back(gp);
      if (member* o = gp->owner.load()) part.owners.push_back(o);
    }
    part.space.notify_all();  // a group that left may have been holding publishers back
  }
  for (auto* m : g.members)
    m->wake();
}

bool memory_bus::impl::drained() {
  std::shared_lock lock(topics_mutex);
  for (auto& [name, t] : topics) {
    std::lock_guard tl(t->mutex);
    for (auto& [gname, g] : t->groups) {
      if (g->members.empty()) continue;
      for (std::size_t p = 0; p < g->parts.size(); ++p)
        if (g->parts[p]->committed.load() < t->parts[p]->next.load()) return false;
    }
  }
  return true;
}

void memory_bus_options::validate() const {
  if (partitions < 1 || partitions > 10'000)
    throw error(errc::invalid_argument, "memory_bus_options.partitions must be 1..10000");
  if (retention < 1)
    throw error(errc::invalid_argument, "memory_bus_options.retention must be >= 1");
  if (max_batch < 1)
    throw error(errc::invalid_argument, "memory_bus_options.max_batch must be >= 1");
  if (dispatch_threads > 256)
    throw error(errc::invalid_argument, "memory_bus_options.dispatch_threads must be 0..256");
  if (redelivery_delay.count() < 0)
    throw error(errc::invalid_argument, "memory_bus_options.redelivery_delay must be >= 0");
}

memory_bus::memory_bus(memory_bus_options options) {
  options.validate();
  impl_ = std::make_shared<impl>(options);
  for (std::size_t i = 0; i < options.dispatch_threads; ++i) {
    auto d = std::make_shared<dispatcher>();
    d->bus = impl_.get();
    d->start();
    impl_->shared.push_back(std::move(d));
  }
}

memory_bus::~memory_bus() {
  close(std::chrono::milliseconds(0));
}

void memory_bus::publish(std::string_view topic_name, envelope event, publish_callback on_ack) {
  if (impl_->closed.load()) {
    if (on_ack) on_ack(errc::closed, {});
    return;
  }
  auto& t = impl_->topic(topic_name);
  const auto p = partition_for(event.key(), static_cast<std::int32_t>(t.parts.size()));
  auto& part = *t.parts[static_cast<std::size_t>(p)];
  std::int64_t offset;
  // Segments trimmed for retention; declared before the lock so that, when they are freed here,
  // it is after the lock is released.
  std::vector<std::unique_ptr<std::vector<envelope>>> trimmed;
  {
    std::unique_lock lock(part.mutex);
    bool waited = false;
    while (part.log.size() >= impl_->options.retention) {
      // Announce before reading the offsets: a member that commits after this read sees the
      // announcement (both sides are sequentially consistent) and notifies `space`.
      part.waiting_publishers.fetch_add(1);
      std::int64_t floor = part.next.load();
      for (const auto* gp : part.active)
        floor = std::min(floor, gp->committed.load());
      while (part.log.size() >= impl_->options.retention) {
        auto segment = part.log.trim_front_segment(
            static_cast<std::size_t>(std::max<std::int64_t>(0, floor - part.base)));
        if (!segment) break;
        part.base += static_cast<std::int64_t>(part.log.segment_size());
        trimmed.push_back(std::move(segment));
      }
      if (part.log.size() < impl_->options.retention) {
        part.waiting_publishers.fetch_sub(1);
        break;
      }
      if (dispatching_for == impl_.get()) {
        // A handler of this bus publishing: waiting could wait for this very thread. The
        // partition goes over its bound instead, by what handlers publish while it is full.
        part.waiting_publishers.fetch_sub(1);
        break;
      }
      if (impl_->closed.load()) {
        part.waiting_publishers.fetch_sub(1);
        lock.unlock();
        if (on_ack) on_ack(errc::closed, {});
        return;
      }
      part.space.wait_for(lock, std::chrono::milliseconds(100));  // timeout: belt and braces
      part.waiting_publishers.fetch_sub(1);
      waited = true;
    }
    if (waited && impl_->closed.load()) {
      // The bus closed while this publish waited (closing can make room: its groups leave).
      lock.unlock();
      if (on_ack) on_ack(errc::closed, {});
      return;
    }
    offset = part.next.load(std::memory_order_relaxed);
    part.log.push_back(std::move(event));
    part.next.store(offset + 1, std::memory_order_release);
    for (member* m : part.owners)
      m->wake();
    if (!trimmed.empty() && !part.owners.empty()) {
      // A dispatch thread of this partition frees them after its next batch.
      for (auto& segment : trimmed)
        part.garbage.push_back(std::move(segment));
      trimmed.clear();
      part.has_garbage.store(true, std::memory_order_release);
    }
  }
  part.collect(trimmed);  // no consumer to hand them to: free them here, unlocked
  if (on_ack) on_ack({}, publish_receipt{p, offset});
}

subscription memory_bus::subscribe(std::string_view topic_name, std::string_view group_name,
                                   handler h, const subscribe_options& options) {
  if (impl_->closed.load()) throw error(errc::closed, "subscribe on a closed memory_bus");
  validate_group_name(group_name);
  if (!h) throw error(errc::invalid_argument, "subscribe needs a handler");
  if (options.concurrency < 1)
    throw error(errc::invalid_argument, "subscribe_options.concurrency must be >= 1");
  auto& t = impl_->topic(topic_name);
  auto state = std::make_shared<memory_subscription>();
  {
    std::lock_guard lock(t.mutex);
    auto& slot = t.groups[std::string(group_name)];
    if (!slot) {
      slot = std::make_unique<group_state>();
      slot->name = std::string(group_name);
      for (auto& part : t.parts) {
        auto gp = std::make_unique<group_partition>();
        std::lock_guard pl(part->mutex);
        gp->committed.store(options.start == start_position::earliest ? part->base
                                                                      : part->next.load());
        slot->parts.push_back(std::move(gp));
      }
    }
    for (int i = 0; i < options.concurrency; ++i) {
      auto m = std::make_shared<member>();
      m->bus = impl_;
      m->topic = &t;
      m->group = slot.get();
      m->fn = h;
      // Its dispatcher before anyone can wake it (rebalance below does); started below.
      if (impl_->shared.empty()) {
        m->home = std::make_shared<dispatcher>();
        m->home->bus = impl_.get();
        m->home->members.push_back(m);
        m->home->members_gen.store(1);
      } else {
        m->home = impl_->shared[impl_->next_shared.fetch_add(1) % impl_->shared.size()];
      }
      slot->members.push_back(m.get());
      state->members.push_back(std::move(m));
    }
    impl_->rebalance(t, *slot);
  }
  for (auto& m : state->members) {
    if (impl_->shared.empty())
      m->home->start();
    else
      m->home->add(m);
  }
  {
    std::lock_guard lock(impl_->subs_mutex);
    std::erase_if(impl_->subs, [](const auto& w) { return w.expired(); });
    impl_->subs.push_back(state);
  }
  return subscription(state);
}

void memory_bus::close(std::chrono::milliseconds drain) {
  if (impl_->closed.exchange(true)) return;
  {
    std::shared_lock lock(impl_->topics_mutex);
    for (auto& [name, t] : impl_->topics)
      for (auto& part : t->parts) {
        std::lock_guard pl(part->mutex);
        part->space.notify_all();
      }
  }
  if (drain.count() > 0) {
    impl_->draining.store(true);
    std::unique_lock lock(impl_->drain_mutex);
    const bool ok = impl_->drain_cv.wait_for(lock, drain, [this] { return impl_->drained(); });
    if (!ok) bus_log().warn("memory_bus closed before every group drained");
  }
  std::vector<std::shared_ptr<detail::subscription_state>> live;
  {
    std::lock_guard lock(impl_->subs_mutex);
    for (auto& w : impl_->subs)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->close();
  for (auto& d : impl_->shared)
    d->halt();
}

std::int32_t memory_bus::partitions(std::string_view topic_name) {
  return static_cast<std::int32_t>(impl_->topic(topic_name).parts.size());
}

std::int64_t memory_bus::lag(std::string_view topic_name, std::string_view group_name) {
  auto& t = impl_->topic(topic_name);
  std::lock_guard lock(t.mutex);
  const auto it = t.groups.find(group_name);
  if (it == t.groups.end()) return 0;
  std::int64_t total = 0;
  for (std::size_t p = 0; p < t.parts.size(); ++p)
    total +=
        std::max<std::int64_t>(0, t.parts[p]->next.load() - it->second->parts[p]->committed.load());
  return total;
}

}  // namespace eventshop
