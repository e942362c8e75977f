// services/shipping/shipping_service.hpp - the shipping service on the bus.
//
// Consumes `payment` (PaymentCompleted -> ship) and `orders` (OrderCancellationRequested ->
// decide; OrderCancelled -> never ship) as consumer group "shipping"; publishes Shipped to
// `shipping` and OrderCancelled / OrderCancellationRejected to `orders`. State is rebuilt on start
// from `shipping` and the cancellations on `orders`. Thread safety: safe.
#pragma once

#include "common/service_base.hpp"
#include "shipping/shipping.hpp"

namespace eventshop::services::shipping {

class shipping_service final : public service_base {
 public:
  shipping_service(service_env env, std::uint64_t seed = 0);
  ~shipping_service() override;

  shipping& domain() noexcept { return shipping_; }
  const shipping& domain() const noexcept { return shipping_; }

 private:
  void on_start() override;
  void handle_payment(const message& m);
  void handle_order(const message& m);

  shipping shipping_;
};

}  // namespace eventshop::services::shipping
