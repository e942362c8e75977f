#include "common/runtime.hpp"

#include <atomic>
#include <condition_variable>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eventshop/core/error.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop::services {

namespace {

// One publish's acknowledgement, shared with the callback (which may run after a timeout). The
// count is intrusive - the thread's reference plus one per callback not yet run - so that the
// callback captures a plain pointer and fits in std::function's inline storage (capturing a
// shared_ptr cost a heap block per publish). A callback a bus destroys without calling it (which
// the bus contract rules out) would leave its slot allocated.
struct ack_slot {
  std::mutex mutex;
  std::condition_variable cv;
  std::atomic<bool> done{false};
  std::error_code ec;
  publish_receipt receipt;
  std::atomic<int> refs{1};
};

void release(ack_slot* s) noexcept {
  if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;
}

struct thread_ack_slot {
  ack_slot* slot = nullptr;
  thread_ack_slot() = default;
  thread_ack_slot(const thread_ack_slot&) = delete;
  thread_ack_slot& operator=(const thread_ack_slot&) = delete;
  ~thread_ack_slot() {
    if (slot) release(slot);
  }
};

[[noreturn]] void throw_publish_failed(std::string_view topic, std::error_code ec) {
  throw error(ec, "publish to '" + std::string(topic) + "' failed: " + ec.message());
}

// The thread's acknowledgement slot, reused while no callback of an earlier publish still holds
// it (a callback that outlived its wait, after a timeout, keeps its own): a fresh slot cost an
// allocation and a mutex and condition variable set up and torn down per publish.
ack_slot* take_ack_slot() {
  thread_local thread_ack_slot mine;
  ack_slot* spare = mine.slot;
  if (spare && spare->refs.load(std::memory_order_acquire) == 1) {
    std::lock_guard lock(spare->mutex);  // orders this reuse after the last callback's writes
    spare->done.store(false, std::memory_order_relaxed);
    spare->ec = {};
    spare->receipt = {};
    return spare;
  }
  if (spare) release(spare);  // its late callback frees it
  mine.slot = new ack_slot;
  return mine.slot;
}

}  // namespace

bool known_event_type(std::string_view type) {
  thread_local std::vector<std::string> known;
  for (const auto& k : known)
    if (k == type) return true;
  if (!event_registry::global().contains(type)) return false;
  if (known.size() < 256) known.emplace_back(type);
  return true;
}

publish_receipt publish_and_wait(bus& b, std::string_view topic, envelope e,
                                 std::chrono::milliseconds timeout) {
  ack_slot* const slot = take_ack_slot();
  slot->refs.fetch_add(1, std::memory_order_relaxed);  // the callback's
  try {
    b.publish(topic, std::move(e), [slot](std::error_code ec, const publish_receipt& r) {
      {
        std::lock_guard lock(slot->mutex);
        slot->ec = ec;
        slot->receipt = r;
        slot->done.store(true, std::memory_order_release);
      }
      slot->cv.notify_one();
      release(slot);
    });
  } catch (...) {
    // Refused before taking the event (an empty topic name): the callback never runs.
    if (!slot->done.load(std::memory_order_acquire)) release(slot);
    throw;
  }
  if (!slot->done.load(std::memory_order_acquire)) {
    std::unique_lock lock(slot->mutex);
    if (!slot->cv.wait_for(lock, timeout,
                           [&] { return slot->done.load(std::memory_order_relaxed); }))
      throw error(errc::timeout, "publish to '" + std::string(topic) +
                                     "' not acknowledged within " +
                                     std::to_string(timeout.count()) + " ms");
  }
  std::lock_guard lock(slot->mutex);
  if (slot->ec) throw_publish_failed(topic, slot->ec);
  return slot->receipt;
}

void publish_output(const service_env& env, std::string_view topic, envelope e,
                    const std::function<void()>& undo) {
  if (!env.ordered_handler_acks) {
    try {
      publish_and_wait(*env.bus, topic, std::move(e), env.publish_timeout);
    } catch (...) {
      if (undo) undo();
      throw;
    }
    return;
  }
  // phase: 0 in publish(), 1 acknowledged, 2 failed inside publish(), 3 handler went on.
  struct pending {
    std::atomic<int> phase{0};
    std::error_code ec;
    std::function<void()> undo;
    std::string topic;
    std::string event_id;
  };
  auto p = std::make_shared<pending>();
  p->undo = undo;
  p->topic = topic;
  p->event_id = e.id;
  env.bus->publish(topic, std::move(e), [p](std::error_code ec, const publish_receipt&) {
    int expected = 0;
    if (!ec) {
      p->phase.compare_exchange_strong(expected, 1);
      return;
    }
    p->ec = ec;
    if (p->phase.compare_exchange_strong(expected, 2)) return;  // the handler sees it
    // The bus's write failed for good after the handler went on, so its input may count as
    // consumed: undo the state change and say so. The order's saga then stalls, and the order
    // service's saga timeout compensates it (CONTRACT §3) - it still ends in a terminal state.
    logger("services")
        .error(
            "a handler's output event was not written; its order is left to "
            "the saga timeout",
            {{"topic", p->topic}, {"event_id", p->event_id}, {"error", ec.message()}});
    if (p->undo) p->undo();
  });
  int expected = 0;
  if (p->phase.compare_exchange_strong(expected, 3) || expected == 1) return;
  if (p->undo) p->undo();
  throw_publish_failed(topic, p->ec);
}

bool wait_caught_up(bus& b, const std::vector<std::string_view>& topics, std::string_view group,
                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    bool done = true;
    for (auto t : topics)
      if (b.lag(t, group) > 0) {
        done = false;
        break;
      }
    if (done) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(5000));
  }
}

std::size_t replay(bus& b, const std::vector<std::string_view>& topics, std::string_view service,
                   const handler& h, std::chrono::milliseconds timeout) {
  const std::string group = std::string(service) + "-replay-" + random_hex(12);
  std::atomic<std::size_t> seen{0};
  std::vector<subscription> subs;
  subs.reserve(topics.size());
  for (auto t : topics)
    subs.push_back(b.subscribe(
        t, group,
        [&](const message& m) {
          try {
            h(m);
          } catch (const std::exception& e) {
            // A replayed event the state cannot take is logged, not retried forever.
            logger(std::string(service))
                .warn("replay skipped an event",
                      {{"event_id", m.event.id}, {"type", m.event.type}, {"error", e.what()}});
          }
          seen.fetch_add(1, std::memory_order_relaxed);
        },
        {.concurrency = 1, .start = start_position::earliest}));
  const bool ok = wait_caught_up(b, topics, group, timeout);
  for (auto& s : subs)
    s.close();
  if (!ok)
    throw error(errc::timeout, "replay of " + std::string(service) +
                                   " state did not catch up within " +
                                   std::to_string(timeout.count()) + " ms");
  return seen.load();
}

std::vector<middleware::middleware> worker_middleware(bus& b) {
  return {middleware::dead_letter(b), middleware::retry({.max_attempts = 5}),
          middleware::correlate()};
}

std::uint64_t fnv1a64(std::string_view text) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {

// "madvise" when the kernel gives transparent huge pages only to memory that asks for them.
std::string thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(in, line);
  const auto open = line.find('[');
  const auto close = line.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  return line.substr(open + 1, close - open - 1);
}

// Runs this program again with glibc's `glibc.malloc.hugetlb=1` tunable (glibc >= 2.35), which
// makes malloc ask for transparent huge pages. A tunable is read only when a program starts,
// hence the exec; it keeps the pid, the arguments, the environment and the open descriptors.
// Skipped when the user set the tunable (either way) or EVENTSHOP_MALLOC_HUGEPAGES=0, or when
// the kernel's setting makes it pointless ("always" or "never"); returns if exec fails.
void restart_with_malloc_hugepages() noexcept {
  try {
    if (const char* off = std::getenv("EVENTSHOP_MALLOC_HUGEPAGES");
        off != nullptr && std::string_view(off) == "0")
      return;
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables != nullptr &&
        std::string_view(tunables).find("glibc.malloc.hugetlb") != std::string_view::npos)
      return;
    if (thp_mode() != "madvise") return;
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string arg; std::getline(in, arg, '\0');)
      args.push_back(std::move(arg));
    if (args.empty()) return;
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string value = tunables != nullptr && *tunables != '\0' ? std::string(tunables) + ":" : "";
    value += "glibc.malloc.hugetlb=1";
    if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
    // The program's real path rather than /proc/self/exe, which would rename the process "exe"
    // (ps, top, pkill by name).
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    ::execv(ec ? "/proc/self/exe" : self.c_str(), argv.data());
  } catch (...) {  // out of memory reading the command line: run without huge pages
  }
}

}  // namespace

void tune_allocator() noexcept {
#ifdef __GLIBC__
  restart_with_malloc_hugepages();
  ::mallopt(M_TOP_PAD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

void step_pause(std::chrono::milliseconds d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

}  // namespace eventshop::services
