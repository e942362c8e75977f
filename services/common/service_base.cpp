#include "common/service_base.hpp"

#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services {

service_base::service_base(std::string name, service_env env)
    : name_(std::move(name)), env_(env), log_(name_) {
  if (!env_.bus) throw error(errc::invalid_argument, "service '" + name_ + "' needs a bus");
  if (!env_.metrics) env_.metrics = &metrics_registry::global();
}

service_base::~service_base() = default;

void service_base::start() {
  if (started_.exchange(true)) return;
  on_start();
}

void service_base::stop() {
  std::vector<subscription> subs;
  {
    std::lock_guard lock(mutex_);
    subs.swap(subs_);
  }
  for (auto& s : subs)
    s.close();
}

void service_base::subscribe(std::string_view topic, std::string_view group, handler h,
                             int concurrency, start_position start, bool with_middleware) {
  // An event type outside the catalog is not ours to guess at: it goes to the dead-letter topic.
  auto checked = [inner = std::move(h)](const message& m) {
    if (!known_event_type(m.event.type))
      throw error(errc::unknown_event_type,
                  "no decoder registered for event type '" + m.event.type.substr(0, 128) + "'");
    inner(m);
  };
  handler wrapped;
  if (with_middleware) {
    // middleware::metrics' counters, resolved here once instead of looked up on every event.
    const metric_labels labels{{"topic", std::string(topic)}, {"group", std::string(group)}};
    auto& m = *env_.metrics;
    wrapped = middleware::chain(
        [inner = std::move(checked),
         handled =
             &m.counter("eventshop_events_handled_total", "Events handled successfully", labels),
         failed =
             &m.counter("eventshop_events_failed_total", "Handler invocations that threw", labels),
         duration = &m.histogram("eventshop_handler_duration_seconds", "Handler duration", labels)](
            const message& msg) {
          const auto began = std::chrono::steady_clock::now();
          try {
            inner(msg);
          } catch (...) {
            failed->inc();
            throw;
          }
          handled->inc();
          duration->observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
        },
        worker_middleware(*env_.bus));
  } else {
    wrapped = std::move(checked);
  }
  auto sub = env_.bus->subscribe(topic, group, std::move(wrapped),
                                 {.concurrency = concurrency, .start = start});
  std::lock_guard lock(mutex_);
  subs_.push_back(std::move(sub));
  consumers_.emplace_back(std::string(topic), std::string(group));
}

std::vector<std::pair<std::string, std::string>> service_base::consumers() const {
  std::lock_guard lock(mutex_);
  return consumers_;
}

std::int64_t service_base::total_lag() const {
  std::int64_t sum = 0;
  for (const auto& [t, g] : consumers())
    sum += env_.bus->lag(t, g);
  return sum;
}

bool service_base::ready(std::int64_t max_lag) const {
  if (!started_.load()) return false;
  for (const auto& [t, g] : consumers())
    if (env_.bus->lag(t, g) > max_lag) return false;
  return true;
}

}  // namespace eventshop::services
