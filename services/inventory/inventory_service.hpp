// services/inventory/inventory_service.hpp - the inventory service on the bus.
//
// Consumes `orders` (OrderCreated -> reserve; OrderCancelled -> release) and `payment`
// (PaymentFailed -> release) as consumer group "inventory"; publishes to `inventory`
// (InventoryConfirmed, InventoryRejected, InventoryReleased, StockReplenished, LowStockDetected).
// A handler returns only after its outgoing event is acknowledged; its state is rebuilt on start
// by replaying the `inventory` topic, so a redelivered event changes nothing twice.
// Thread safety: safe; handlers run on the bus's dispatch threads.
#pragma once

#include "common/catalog.hpp"
#include "common/service_base.hpp"
#include "inventory/inventory.hpp"

namespace eventshop::services::inventory {

class inventory_service final : public service_base {
 public:
  inventory_service(service_env env, const catalog& products);
  ~inventory_service() override;

  inventory& domain() noexcept { return inventory_; }
  const inventory& domain() const noexcept { return inventory_; }
  const catalog& products() const noexcept { return catalog_; }

  // Restocks and publishes StockReplenished; returns it once acknowledged. Throws
  // eventshop::error(not_found / invalid_argument) for bad input, or the bus error.
  ecommerce::StockReplenished restock(const std::string& product_id, int quantity);

 private:
  void on_start() override;
  void handle_order(const message& m);
  void handle_payment(const message& m);
  void release(const std::string& order_id, const std::string& reason);

  catalog catalog_;
  inventory inventory_;
};

}  // namespace eventshop::services::inventory
