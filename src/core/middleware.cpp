#include "eventshop/core/middleware.hpp"

#include <memory>
#include <random>
#include <thread>

#include "context_detail.hpp"
#include "eventshop/core/context.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/metrics.hpp"

namespace eventshop {

namespace {
std::string id_key(std::string_view group, std::string_view id) {
  std::string k;
  k.reserve(group.size() + 1 + id.size());
  k.append(group).append(1, '\0').append(id);
  return k;
}

const logger& mw_log() {
  static const logger log("eventshop.middleware");
  return log;
}
}  // namespace

bool memory_idempotency_store::contains(std::string_view group, std::string_view event_id) {
  std::lock_guard lock(mutex_);
  return index_.contains(id_key(group, event_id));
}

void memory_idempotency_store::insert(std::string_view group, std::string_view event_id) {
  std::string key = id_key(group, event_id);
  std::lock_guard lock(mutex_);
  if (index_.contains(key)) return;
  order_.push_back(key);
  index_.emplace(std::move(key), std::prev(order_.end()));
  while (order_.size() > capacity_) {
    index_.erase(order_.front());
    order_.pop_front();
  }
}

std::size_t memory_idempotency_store::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

namespace middleware {

handler chain(handler h, const std::vector<middleware>& layers) {
  for (auto it = layers.rbegin(); it != layers.rend(); ++it)
    h = (*it)(std::move(h));
  return h;
}

handler chain(handler h, std::initializer_list<middleware> layers) {
  return chain(std::move(h), std::vector<middleware>(layers));
}

void retry_policy::validate() const {
  if (max_attempts < 1)
    throw error(errc::invalid_argument, "retry_policy.max_attempts must be >= 1");
  if (initial_backoff.count() < 0 || max_backoff < initial_backoff)
    throw error(errc::invalid_argument, "retry_policy backoff must satisfy 0 <= initial <= max");
  if (multiplier < 1.0) throw error(errc::invalid_argument, "retry_policy.multiplier must be >= 1");
  if (jitter < 0.0 || jitter >= 1.0)
    throw error(errc::invalid_argument, "retry_policy.jitter must be in [0, 1)");
}

middleware retry(retry_policy policy) {
  policy.validate();
  if (!policy.sleep)
    policy.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  return [policy](handler next) -> handler {
    return [policy, next = std::move(next)](const message& m) {
      double backoff = static_cast<double>(policy.initial_backoff.count());
      thread_local std::minstd_rand rng{std::random_device{}()};
      for (int attempt = 1;; ++attempt) {
        try {
          next(m);
          return;
        } catch (const error& e) {
          if (!e.retriable() || attempt >= policy.max_attempts) throw;
          mw_log().debug("handler failed, retrying", {{"topic", m.topic},
                                                      {"event_id", m.event.id},
                                                      {"attempt", attempt},
                                                      {"error", e.what()}});
        } catch (const std::exception& e) {
          if (attempt >= policy.max_attempts) throw;
          mw_log().debug("handler failed, retrying", {{"topic", m.topic},
                                                      {"event_id", m.event.id},
                                                      {"attempt", attempt},
                                                      {"error", e.what()}});
        }
        std::uniform_real_distribution<double> jitter(1.0 - policy.jitter, 1.0 + policy.jitter);
        const double wait =
            std::min(backoff * jitter(rng), static_cast<double>(policy.max_backoff.count()));
        policy.sleep(std::chrono::milliseconds(static_cast<long long>(wait)));
        backoff =
            std::min(backoff * policy.multiplier, static_cast<double>(policy.max_backoff.count()));
      }
    };
  };
}

middleware dead_letter(bus& target, dead_letter_options options) {
  return [&target, options](handler next) -> handler {
    return [&target, options, next = std::move(next)](const message& m) {
      std::string reason;
      try {
        next(m);
        return;
      } catch (const std::exception& e) {
        reason = e.what();
      } catch (...) {
        reason = "unknown exception";
      }
      envelope dead = m.event;
      dead.extensions["dlqerror"] = reason.substr(0, 1024);
      dead.extensions["dlqtopic"] = std::string(m.topic);
      dead.extensions["dlqgroup"] = std::string(m.group);
      dead.extensions["dlqpartition"] = std::to_string(m.partition);
      dead.extensions["dlqoffset"] = std::to_string(m.offset);
      dead.extensions["dlqattempt"] = std::to_string(m.attempt);
      const std::string dlq_topic = std::string(m.topic) + options.suffix;
      auto ack = target.publish(dlq_topic, std::move(dead));
      if (ack.wait_for(options.publish_timeout) != std::future_status::ready)
        throw error(errc::timeout, "dead-letter publish to '" + dlq_topic +
                                       "' timed out; original error: " + reason);
      ack.get();  // throws if the dead-letter publish failed: the event is redelivered instead
      mw_log().warn("event dead-lettered", {{"topic", m.topic},
                                            {"group", m.group},
                                            {"event_id", m.event.id},
                                            {"type", m.event.type},
                                            {"dlq", dlq_topic},
                                            {"error", reason}});
    };
  };
}

middleware idempotent(idempotency_store& store) {
  return [&store](handler next) -> handler {
    return [&store, next = std::move(next)](const message& m) {
      if (store.contains(m.group, m.event.id)) return;
      next(m);
      store.insert(m.group, m.event.id);
    };
  };
}

middleware correlate() {
  return [](handler next) -> handler {
    return [next = std::move(next)](const message& m) {
      // One context per thread and nesting depth, reused: the ids are assigned into strings
      // that keep their capacity, so a warm thread allocates nothing here (a fresh context
      // copied two or three 36-character ids into new heap strings for every handled event).
      thread_local std::vector<std::unique_ptr<event_context>> pool;
      thread_local std::size_t depth = 0;
      if (depth == pool.size()) pool.push_back(std::make_unique<event_context>());
      event_context& ctx = *pool[depth];
      const event_context* outer = current_context();
      ctx.correlationid.assign(m.event.correlationid.empty() ? m.event.id : m.event.correlationid);
      ctx.causationid.assign(m.event.id);
      ctx.traceparent.assign(m.event.traceparent);
      if (outer)
        ctx.request_id.assign(outer->request_id);
      else
        ctx.request_id.clear();
      struct restore {
        const event_context* previous;
        ~restore() {
          detail::exchange_current_context(previous);
          --depth;
        }
      };
      ++depth;
      const restore scope{detail::exchange_current_context(&ctx)};
      next(m);
    };
  };
}

middleware metrics(metrics_registry& registry) {
  // The three metrics of a (topic, group) are looked up once and cached: the registry's own
  // lookup renders label strings and takes its mutex, too much for every event.
  struct instruments {
    counter* handled;
    counter* failed;
    histogram* duration;
  };
  struct cache {
    std::mutex mutex;
    std::unordered_map<std::string, instruments> by_key;
  };
  auto shared = std::make_shared<cache>();
  return [&registry, shared](handler next) -> handler {
    return [&registry, shared, next = std::move(next)](const message& m) {
      instruments* in;
      {
        std::string key = id_key(m.topic, m.group);
        std::lock_guard lock(shared->mutex);
        auto it = shared->by_key.find(key);
        if (it == shared->by_key.end()) {
          const metric_labels labels{{"topic", std::string(m.topic)},
                                     {"group", std::string(m.group)}};
          it = shared->by_key
                   .emplace(std::move(key),
                            instruments{&registry.counter("eventshop_events_handled_total",
                                                          "Events handled successfully", labels),
                                        &registry.counter("eventshop_events_failed_total",
                                                          "Handler invocations that threw", labels),
                                        &registry.histogram("eventshop_handler_duration_seconds",
                                                            "Handler duration", labels)})
                   .first;
        }
        in = &it->second;  // unordered_map never moves its elements
      }
      const auto start = std::chrono::steady_clock::now();
      try {
        next(m);
      } catch (...) {
        in->failed->inc();
        throw;
      }
      in->handled->inc();
      in->duration->observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
  };
}

}  // namespace middleware
}  // namespace eventshop
