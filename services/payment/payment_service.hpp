// services/payment/payment_service.hpp - the payment service on the bus.
//
// Consumes `inventory` (InventoryConfirmed -> charge) and `orders` (OrderCancelled -> refund if
// charged) as consumer group "payment"; publishes PaymentCompleted, PaymentFailed and
// PaymentRefunded to `payment`. State is rebuilt on start by replaying `payment` and the
// cancellations on `orders`. Thread safety: safe.
#pragma once

#include "common/service_base.hpp"
#include "payment/payment.hpp"

namespace eventshop::services::payment {

class payment_service final : public service_base {
 public:
  payment_service(service_env env, const catalog& prices, payment_config config);
  ~payment_service() override;

  payments& domain() noexcept { return payments_; }
  const payments& domain() const noexcept { return payments_; }

 private:
  void on_start() override;
  void handle_inventory(const message& m);
  void handle_order(const message& m);

  payments payments_;
};

}  // namespace eventshop::services::payment
