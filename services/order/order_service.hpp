// services/order/order_service.hpp - the order service: accepts orders and cancellations,
// publishes OrderCreated and OrderCancellationRequested to `orders`, and watches every order's
// saga through its own read model (an order_projection fed by all five topics, rebuilt on start
// by replay - the order aggregate is event-sourced).
//
// - create(): validated request in, OrderCreated published and acknowledged, the order out. With
//   an Idempotency-Key, a repeat returns the first order and publishes nothing (the key travels
//   in OrderCreated's "idempotencykey" extension, so it survives restarts); the same key with a
//   different request is a 409.
// - request_cancel(): 404 for an unknown order, 409 once it is shipped or failed, else the request
//   is published once (a repeat is accepted and publishes nothing). The shipping service decides.
// - Saga timeouts (CONTRACT §3): an order whose saga has not moved for `saga_timeout` is
//   compensated through the same cancellation path (reason "saga step timed out").
// Thread safety: safe.
#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/catalog.hpp"
#include "common/order_projection.hpp"
#include "common/service_base.hpp"
#include "order/order_request.hpp"

namespace eventshop::services::order {

struct order_config {
  std::chrono::milliseconds saga_timeout{30'000};  // 0 disables the watchdog
  // How often the watchdog looks for stalled sagas (a scan of every order in the read model).
  // 0: saga_timeout / 10, between 50 ms and 5 s - a stalled saga is compensated at most a tenth
  // of its timeout late (3 s for the default 30 s; a scan per second cost about 3 % of the
  // all-in-one's CPU under order intake once tens of thousands of orders were kept).
  std::chrono::milliseconds watchdog_interval{0};
};

// A read model fed by another service in the same process (the status service, in
// ecommerce_system): the order service then keeps no copy of its own. `group` is the consumer
// group feeding it, whose lag catch_up() waits on; it must be started before the order service.
struct shared_view {
  order_projection* view = nullptr;
  std::string group;
};

class order_service final : public service_base {
 public:
  order_service(service_env env, const catalog& products, order_config config = {},
                shared_view shared = {});
  ~order_service() override;

  const catalog& products() const noexcept { return catalog_; }
  order_projection& view() noexcept { return *view_; }

  // Throws api_error (409 idempotency conflict, 503 when the bus does not acknowledge).
  // `replayed` tells whether the answer is a repeat of an earlier request with the same key.
  order_view create(const order_request& request, const std::string& idempotency_key = {},
                    bool* replayed = nullptr);
  // The same, answering only the order's id (no copy of the order out of the read model): for
  // callers that already know the rest (the seed route answers from the request; a replayed
  // key's first request had the same customer and items).
  std::string create_id(const order_request& request, const std::string& idempotency_key = {},
                        bool* replayed = nullptr);

  // Throws api_error 404 / 409 / 503.
  void request_cancel(const std::string& order_id, const std::string& reason);

  // Lets the read model catch up with everything published so far (read-your-writes).
  bool catch_up(std::chrono::milliseconds timeout);

 private:
  void on_start() override;
  void watchdog();

  catalog catalog_;
  order_config config_;
  order_projection own_view_;
  order_projection* view_;  // &own_view_, or the shared one
  bool shared_ = false;
  std::string view_group_;

  std::mutex keys_mutex_;
  std::condition_variable keys_cv_;
  std::set<std::string, std::less<>> keys_in_flight_;

  std::mutex watchdog_mutex_;
  std::condition_variable watchdog_cv_;
  bool stopping_ = false;
  std::thread watchdog_thread_;
};

}  // namespace eventshop::services::order
