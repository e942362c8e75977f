// services/system/system.hpp - the six services wired on one bus, without any transport: what
// eventshop-ecommerce runs behind its HTTP ports, what BM_OrderPipeline drives, and what the
// pipeline tests check.
//
// start() starts them in dependency order (each rebuilds its state first), stop() stops them in
// reverse. Thread safety: start()/stop() from one thread; the services themselves are safe.
#pragma once

#include <cstdint>
#include <memory>

#include "common/catalog.hpp"
#include "common/runtime.hpp"
#include "inventory/inventory_service.hpp"
#include "notification/notification_service.hpp"
#include "order/order_service.hpp"
#include "payment/payment_service.hpp"
#include "shipping/shipping_service.hpp"
#include "status/status_service.hpp"

namespace eventshop::services {

struct system_config {
  catalog products{};
  payment::payment_config payment{};
  order::order_config order{};
  status::status_config status{};
  std::uint64_t seed = 0;
};

class ecommerce_system {
 public:
  ecommerce_system(service_env env, system_config config = {});
  ~ecommerce_system();

  void start();
  void stop();

  order::order_service& order() noexcept { return *order_; }
  inventory::inventory_service& inventory() noexcept { return *inventory_; }
  payment::payment_service& payment() noexcept { return *payment_; }
  notification::notification_service& notification() noexcept { return *notification_; }
  shipping::shipping_service& shipping() noexcept { return *shipping_; }
  status::status_service& status() noexcept { return *status_; }

  bool ready() const;

 private:
  std::unique_ptr<inventory::inventory_service> inventory_;
  std::unique_ptr<payment::payment_service> payment_;
  std::unique_ptr<notification::notification_service> notification_;
  std::unique_ptr<shipping::shipping_service> shipping_;
  std::unique_ptr<status::status_service> status_;
  std::unique_ptr<order::order_service> order_;
};

}  // namespace eventshop::services
