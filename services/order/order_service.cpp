#include "order/order_service.hpp"

#include <algorithm>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop::services::order {

using namespace eventshop::ecommerce;

namespace {
std::string view_fingerprint(const order_view& v) {
  order_request r;
  r.customer_id = v.customer_id;
  for (const auto& it : v.items)
    r.items.push_back({it.product_id, it.quantity});
  return request_fingerprint(r);
}
}  // namespace

order_service::order_service(service_env env, const catalog& products, order_config config,
                             shared_view shared)
    : service_base("order", env),
      catalog_(products),
      config_(config),
      view_(shared.view ? shared.view : &own_view_),
      shared_(shared.view != nullptr),
      view_group_(shared.view ? std::move(shared.group) : "order-view-" + random_hex(12)) {}

order_service::~order_service() {
  {
    std::lock_guard lock(watchdog_mutex_);
    stopping_ = true;
  }
  watchdog_cv_.notify_all();
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
  stop();
}

void order_service::on_start() {
  if (!shared_)
    for (auto topic : topics::all)
      subscribe(
          topic, view_group_, [this](const message& m) { view_->apply(m); }, 1,
          start_position::earliest, false);
  if (!catch_up(env().replay_timeout))
    throw error(errc::timeout, "order service read model did not catch up");
  log().info("order read model rebuilt", {{"orders", static_cast<std::int64_t>(view_->size())}});
  if (config_.saga_timeout.count() > 0) watchdog_thread_ = std::thread([this] { watchdog(); });
}

bool order_service::catch_up(std::chrono::milliseconds timeout) {
  std::vector<std::string_view> ts(std::begin(topics::all), std::end(topics::all));
  return wait_caught_up(event_bus(), ts, view_group_, timeout);
}

order_view order_service::create(const order_request& request, const std::string& key,
                                 bool* replayed) {
  auto v = view_->get(create_id(request, key, replayed));
  if (!v) throw api_error(500, "internal", "order vanished from the read model");
  return std::move(*v);  // not a second copy of the order
}

std::string order_service::create_id(const order_request& request, const std::string& key,
                                     bool* replayed) {
  if (replayed) *replayed = false;
  if (!key.empty()) {
    const std::string fingerprint = request_fingerprint(request);
    validate_idempotency_key(key);
    std::unique_lock lock(keys_mutex_);
    // One request per key at a time; a concurrent repeat waits for the first to finish.
    if (!keys_cv_.wait_for(lock, env().publish_timeout,
                           [&] { return !keys_in_flight_.contains(key); }))
      throw api_error(409, "idempotency_key_in_use",
                      "a request with this Idempotency-Key is still being processed",
                      "Idempotency-Key");
    if (auto existing = view_->find_by_idempotency_key(key)) {
      if (view_fingerprint(*existing) != fingerprint)
        throw api_error(409, "idempotency_key_reused",
                        "this Idempotency-Key was used with a different request",
                        "Idempotency-Key");
      if (replayed) *replayed = true;
      return existing->order_id;
    }
    keys_in_flight_.insert(key);
  }
  struct key_release {
    order_service* self;
    const std::string& k;
    ~key_release() {
      if (k.empty()) return;
      {
        std::lock_guard lock(self->keys_mutex_);
        self->keys_in_flight_.erase(k);
      }
      self->keys_cv_.notify_all();
    }
  } release{this, key};

  const std::string order_id = new_uuid_v7();
  const OrderCreated created = make_order_created(order_id, request, catalog_);
  envelope e = make_service_event(created, name(), order_id);
  if (!key.empty()) e.extensions["idempotencykey"] = key;
  // Known before it comes back from the bus (read-your-writes, repeated keys), but announced to
  // the read model's listener only when it does; its position is filled in from the receipt.
  view_->remember_created(created, e);
  const std::string event_id = e.id;
  try {
    const auto receipt =
        publish_and_wait(event_bus(), topics::orders, std::move(e), env().publish_timeout);
    view_->set_position(order_id, event_id, receipt.partition, receipt.offset);
  } catch (const std::exception& ex) {
    view_->forget(order_id);
    log().error("order not accepted by the bus", {{"order_id", order_id}, {"error", ex.what()}});
    throw api_error(503, "unavailable",
                    std::string("the event bus did not accept the order: ") + ex.what());
  }
  // At debug, like the other per-order lines of the saga: at info, the JSON line written per
  // order cost 5-15 us of CPU per POST /order and a quarter or more of the order service's
  // req/s (benchmarks/http/run-intake.sh TARGET=order-service, docs/performance/http.md).
  if (log().enabled(log_level::debug))
    log().debug("order created", {{"order_id", order_id},
                                  {"total", created.total.to_string()},
                                  {"items", static_cast<std::int64_t>(created.items.size())}});
  return order_id;
}

void order_service::request_cancel(const std::string& order_id, const std::string& reason) {
  if (!view_->get(order_id)) {
    catch_up(std::chrono::milliseconds(500));
    if (!view_->get(order_id))
      throw api_error(404, "order_not_found", "no order with id '" + order_id + "'");
  }
  // Decide on the freshest state we can get, so "shipped" is not missed.
  catch_up(std::chrono::milliseconds(2000));
  const auto v = view_->get(order_id);
  if (!v || !v->known)
    throw api_error(404, "order_not_found", "no order with id '" + order_id + "'");
  if (is_terminal(v->status))
    throw api_error(409, "order_not_cancellable",
                    "order " + order_id + " is " + std::string(to_string(v->status)) +
                        " and can no longer be cancelled");
  if (!view_->mark_cancellation_requested(order_id)) return;  // asked before: accepted again
  OrderCancellationRequested req{order_id, reason.empty() ? "cancelled by customer" : reason};
  try {
    publish_and_wait(event_bus(), topics::orders, make_service_event(req, name(), order_id),
                     env().publish_timeout);
  } catch (const std::exception& ex) {
    throw api_error(503, "unavailable",
                    std::string("the event bus did not accept the cancellation: ") + ex.what());
  }
  log().info("cancellation requested", {{"order_id", order_id}});
}

void order_service::watchdog() {
  using std::chrono::milliseconds;
  const milliseconds interval =
      config_.watchdog_interval.count() > 0
          ? config_.watchdog_interval
          : std::clamp(config_.saga_timeout / 10, milliseconds(50), milliseconds(5'000));
  std::unique_lock lock(watchdog_mutex_);
  while (!stopping_) {
    watchdog_cv_.wait_for(lock, interval);
    if (stopping_) break;
    lock.unlock();
    const auto now = clock::system().now();
    for (const auto& id : view_->stalled(now - config_.saga_timeout)) {
      const auto v = view_->get(id);
      if (!v || !view_->mark_cancellation_requested(id)) continue;
      log().warn("saga step timed out; compensating",
                 {{"order_id", v->order_id}, {"status", to_string(v->status)}});
      try {
        publish_and_wait(
            event_bus(), topics::orders,
            make_service_event(OrderCancellationRequested{v->order_id, "saga step timed out"},
                               name(), v->order_id),
            env().publish_timeout);
      } catch (const std::exception& ex) {
        log().error("timeout compensation not published",
                    {{"order_id", v->order_id}, {"error", ex.what()}});
      }
    }
    lock.lock();
  }
}

}  // namespace eventshop::services::order
